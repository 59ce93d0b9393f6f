"""``apache``: Apache httpd access logs (common, combined, vhost_combined, with
``X-Forwarded-For="..."``) and error logs (2.2 and 2.4 layouts).

Maps like Elastic's apache integration (``apache.access`` / ``apache.error``):
``source`` is the connecting peer (``%h``); forwarded-for addresses go to
``client.ip``/``network.forwarded_ip`` and ``apache.access.remote_addresses``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from soc import ecs

from . import _srv_http as h
from .base import ParseContext, ParseError
from .syslog_header import iso

NAME = "apache"

#: ``[Wed Oct 11 14:32:52.123456 2000] [module:level] [pid 1:tid 2] [client 1.2.3.4:5] msg``
_ERROR = re.compile(
    r"(?:\[(?:[A-Za-z]{3} )?(?P<mon>[A-Za-z]{3}) +(?P<day>\d{1,2}) (?P<time>\d{2}:\d{2}:\d{2})(?P<frac>\.\d+)? "
    r"(?P<year>\d{4})\] )?\[(?:(?P<module>[^:\]\s]*):)?(?P<level>emerg|alert|crit|error|warn|notice|info|debug|trace\d)\]"
    r"(?: \[pid (?P<pid>\d+)(?::tid (?P<tid>\d+))?\])?"
    r"(?: \[client (?P<client>[^\]]+)\])?"
    r"(?: (?P<msg>.*))?$",
    re.S,
)
_ERRCODE = re.compile(r"(AH\d{5}): ")
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_ACCESS_HINT = re.compile(r'\S \S+ \S+ \[\d{1,2}/[A-Za-z]{3}/\d{4}:[^\]]*\] "')
_CLIENT_PORT = re.compile(r"(?P<ip>.+?):(?P<port>\d{1,5})$")


def sniff(line: str) -> bool:
    return bool(_ERROR.match(line)) or (" [" in line and bool(_ACCESS_HINT.search(line[:600])))


def _error(line: str, m: re.Match[str], ctx: ParseContext) -> dict[str, Any]:
    doc = h.new_doc(line, "apache", "apache.error", ctx.source)
    doc["event"]["type"] = ["error"]
    if m.group("mon") is None:
        # Some forwarders strip the time: the line's arrival time stands in.
        doc["@timestamp"] = iso(ctx.received)
    else:
        mon = _MONTHS.get(m.group("mon").lower())
        if mon is None:
            raise ParseError(f"bad month in apache error-log time {m.group('mon')!r}")
        try:
            h_, mi, s = (int(x) for x in m.group("time").split(":"))
            micro = int((m.group("frac") or ".0")[1:7].ljust(6, "0"))
            ts = datetime(int(m.group("year")), mon, int(m.group("day")), h_, mi, s, micro, tzinfo=ctx.tz)
        except ValueError:
            raise ParseError("bad apache error-log time") from None
        doc["@timestamp"] = iso(ts)
    level = m.group("level")
    ecs.put(doc, "log.level", level)
    ecs.put(doc, "apache.error.module", m.group("module"))
    if m.group("pid"):
        ecs.put(doc, "process.pid", int(m.group("pid")[:18]))
    if m.group("tid"):
        ecs.put(doc, "process.thread.id", int(m.group("tid")[:18]))
    client = m.group("client")
    if client:
        cp = _CLIENT_PORT.match(client)
        if cp and h.ip_or_none(cp.group("ip")):
            h.set_address(doc, "source", cp.group("ip").strip("[]"))
            ecs.put(doc, "source.port", int(cp.group("port")))
        else:
            h.set_address(doc, "source", client)
    msg = m.group("msg") or ""
    doc["message"] = msg
    mc = _ERRCODE.match(msg)
    if mc:
        ecs.put(doc, "error.code", mc.group(1))
    if level.startswith(("error", "crit", "alert", "emerg")):
        doc["event"]["outcome"] = "failure"
    return h.finish(doc)


def parse(line: str, ctx: ParseContext) -> dict[str, Any]:
    line = line.rstrip("\r\n")
    m = _ERROR.match(line)
    if m:
        return _error(line, m, ctx)
    doc = h.new_doc(line, "apache", "apache.access", ctx.source)
    doc["event"]["type"] = ["access"]
    body = h.strip_syslog(line, ctx, doc)
    if body is not line:
        m = _ERROR.match(body)
        if m:
            err = _error(line, m, ctx)
            for key in ("log", "host", "process"):
                if key in doc:
                    err.setdefault(key, {}).update({k: v for k, v in doc[key].items() if k not in err.get(key, {})})
            return err
    if not h.parse_access(doc, body, ctx.tz, "apache"):
        raise ParseError("not an apache access or error log line")
    remotes: list[str] = doc["_remotes"]
    xff: list[str] = doc["_xff"]
    if xff:
        ecs.put(doc, "client.ip", h.ip_or_none(xff[0]))
        ecs.put(doc, "network.forwarded_ip", xff[0])
    if remotes:
        ecs.put(doc, "apache.access.remote_addresses", [*xff, *remotes])
        h.set_address(doc, "source", remotes[-1])
    return h.finish(doc)
