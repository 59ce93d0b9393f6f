"""``syslog``: any RFC 3164 / RFC 5424 line that no vendor parser claims.

Keeps the header (``log.syslog.*``, ``host.*``, ``process.*``, ``@timestamp``)
and the body in ``message``; ``event.dataset`` is ``system.syslog`` as in
Elastic's system integration. A line with no recognisable header is still
accepted (the whole line becomes ``message``) because plain-text logs read
from files have none; only empty lines are refused.
"""

from __future__ import annotations

from typing import Any

from . import _srv_ecs, _srv_syslog
from .base import ParseContext
from .syslog_header import split

NAME = "syslog"

_SNIFF_CTX = ParseContext()


def sniff(line: str) -> bool:
    sl = split(line[:512], _SNIFF_CTX)
    return sl.timestamp is not None or sl.pri is not None


def parse(line: str, ctx: ParseContext) -> dict[str, Any]:
    doc, sl = _srv_syslog.start(line, ctx, "system.syslog")
    if sl.severity is not None and sl.severity <= 3:
        doc["event"]["type"] = ["error"]
    _srv_ecs.related(doc)
    return doc

