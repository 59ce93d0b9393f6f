"""Shared start of the syslog-borne server parsers (``auth``, ``syslog``).

Splits the header with :func:`syslog_header.split`, fills ``log.syslog.*``,
``host.*``, ``process.*`` and ``@timestamp``, and returns the message body.
"""

from __future__ import annotations

import re
from typing import Any

from soc import ecs

from .base import ParseContext, ParseError
from .syslog_header import Syslog, iso, split

#: Solaris ``[ID 800047 auth.notice] `` prefix before the message.
_SOLARIS_ID = re.compile(r"\[ID \d+ [a-z0-9]+\.[a-z]+\] ")
#: ``su(pam_unix)[123]:``: the old PAM tag style, where the program is before the parenthesis.
_PAM_TAG = re.compile(r"(?P<prog>[^\s(\[]+)\((?P<mod>pam_[a-z_]+)\)$")


def start(line: str, ctx: ParseContext, dataset: str, module: str = "system") -> tuple[dict[str, Any], Syslog]:
    """Return ``(doc, header)`` with the common fields filled; raises on an empty line."""
    line = line.rstrip("\r\n")
    if not line.strip():
        raise ParseError("empty line")
    sl = split(line, ctx)
    doc: dict[str, Any] = {
        "event": {"original": line, "kind": "event", "dataset": dataset, "module": module},
        "soc": {"input": ctx.source},
    }
    if sl.appname:
        mp = _PAM_TAG.match(sl.appname)
        if mp:
            sl.appname = mp.group("prog")
            ecs.put(doc, "system.auth.pam.module", mp.group("mod"))
    sl.to_ecs(doc)
    if sl.hostname and sl.hostname != "-":
        ecs.put(doc, "host.name", sl.hostname)
    if "@timestamp" not in doc:
        doc["@timestamp"] = iso(ctx.received)
    msg = sl.message
    ms = _SOLARIS_ID.match(msg)
    if ms:
        msg = msg[ms.end():]
    sl.message = msg
    doc["message"] = msg
    return doc, sl
