"""``nginx``: nginx access logs (combined, with ``$host`` prefix, with forwarded-for lists) and error logs.

Maps like Elastic's nginx integration (``nginx.access`` / ``nginx.error``): the
client is the first public address of the remote list (else the first), the
whole list is kept in ``nginx.access.remote_ip_list``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from soc import ecs

from . import _srv_http as h
from .base import ParseContext, ParseError
from .syslog_header import iso

NAME = "nginx"

#: ``2016/10/25 14:49:34 [error] 54053#0: *1 message``
_ERROR = re.compile(
    r"(?P<ts>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) \[(?P<level>[a-z]+)\] (?:(?P<pid>\d+)[#:](?P<tid>\d+):?(?: |$))?"
    r"(?:\*(?P<cid>\d+) )?(?P<msg>.*)$",
    re.S,
)
_ERR_FIELDS = re.compile(r', (client|server|request|upstream|host|referrer): ("(?:[^"\\]|\\.)*"|[^,]*)')
_ACCESS_HINT = re.compile(r'\S \S+ \S+ \[\d{1,2}/[A-Za-z]{3}/\d{4}:[^\]]*\] "')


def sniff(line: str) -> bool:
    return bool(_ERROR.match(line)) or (" [" in line and bool(_ACCESS_HINT.search(line[:600])))


def _error(line: str, m: re.Match[str], ctx: ParseContext) -> dict[str, Any]:
    doc = h.new_doc(line, "nginx", "nginx.error", ctx.source)
    doc["event"]["type"] = ["error"]
    try:
        ts = datetime.strptime(m.group("ts"), "%Y/%m/%d %H:%M:%S").replace(tzinfo=ctx.tz)
    except ValueError:
        raise ParseError(f"bad nginx error-log time {m.group('ts')!r}") from None
    doc["@timestamp"] = iso(ts)
    ecs.put(doc, "log.level", m.group("level"))
    if m.group("pid"):
        ecs.put(doc, "process.pid", int(m.group("pid")[:18]))
        ecs.put(doc, "process.thread.id", int(m.group("tid")[:18]))
    if m.group("cid"):
        ecs.put(doc, "nginx.error.connection_id", int(m.group("cid")[:18]))
    msg = m.group("msg")
    doc["message"] = msg
    for key, raw in _ERR_FIELDS.findall(msg):
        val = raw[1:-1] if raw.startswith('"') else raw
        if key == "client":
            h.set_address(doc, "source", val)
        elif key == "server":
            ecs.put(doc, "nginx.error.server", val)
        elif key == "host":
            ecs.put(doc, "url.domain", val.rsplit(":", 1)[0] if val.count(":") == 1 else val)
        elif key == "referrer":
            ecs.put(doc, "http.request.referrer", val)
        elif key == "upstream":
            ecs.put(doc, "nginx.error.upstream", val)
        elif key == "request":
            parts = val.split(" ")
            if len(parts) == 3 and parts[2].startswith("HTTP/"):
                ecs.put(doc, "http.request.method", parts[0])
                h.fill_url(doc, parts[1])
                ecs.put(doc, "http.version", parts[2][5:])
    if m.group("level") in ("error", "crit", "alert", "emerg"):
        doc["event"]["outcome"] = "failure"
    return h.finish(doc)


def parse(line: str, ctx: ParseContext) -> dict[str, Any]:
    line = line.rstrip("\r\n")
    m = _ERROR.match(line)
    if m:
        return _error(line, m, ctx)
    doc = h.new_doc(line, "nginx", "nginx.access", ctx.source)
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
    if not h.parse_access(doc, body, ctx.tz, "nginx"):
        raise ParseError("not an nginx access or error log line")
    remotes: list[str] = doc["_remotes"]
    xff: list[str] = doc["_xff"]
    if remotes:
        ecs.put(doc, "nginx.access.remote_ip_list", remotes)
        chosen = next((r for r in remotes if h.ip_or_none(r) and h.is_public(r)), remotes[0])
        h.set_address(doc, "source", chosen)
    if xff:
        ecs.put(doc, "network.forwarded_ip", xff[0])
    return h.finish(doc)
