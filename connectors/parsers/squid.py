"""``squid``: Squid proxy access logs.

Three layouts are recognised from the line itself:

* native ``squid`` logformat: ``time elapsed client code/status bytes method URL user hier/peer type``;
* the extended layout of Elastic's squid integration (client port, byte and header sizes,
  HTTP version, quoted referer, user agent, Host header, forwarded-for, SNI, server time);
* ``common``/``combined`` with the Squid ``code:hierarchy`` suffix.

Maps like Elastic's squid integration (``squid.*``, ``event.duration`` in ns,
``destination`` from the hierarchy peer) and adds ``http.response.status_code``
and ``user.name`` that Sigma proxy rules and correlation need.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from soc import ecs

from . import _srv_ecs
from . import _srv_http as h
from .base import ParseContext, ParseError
from .syslog_header import split

NAME = "squid"

_NATIVE = re.compile(
    r"\s*(?P<ts>\d{9,11}(?:\.\d{1,6})?)\s+(?P<elapsed>-?\d+)\s+(?P<client>\S+)\s+"
    r"(?:(?P<cport>\d{1,5})\s+)?(?P<code>[A-Z_]+|NONE|-)/(?P<status>\d{1,3}|-)\s+(?P<rest>.*)$",
    re.S,
)
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_SQUID_SUFFIX = re.compile(r"\s*(?P<code>[A-Z_]+):(?P<hier>[A-Z_]+)")


@lru_cache(maxsize=4096)
def _second_iso(sec: int) -> str:
    return datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _epoch_iso(text: str) -> str:
    """``1286536309.450`` -> ``2010-10-08T11:11:49.450Z`` (cached per second: lines share seconds)."""
    sec_text, _, frac = text.partition(".")
    try:
        prefix = _second_iso(int(sec_text))
    except (ValueError, OverflowError, OSError):
        raise ParseError(f"bad squid epoch time {text!r}") from None
    return f"{prefix}.{(frac + '000')[:3]}Z"


def sniff(line: str) -> bool:
    return bool(_NATIVE.match(line[:300]))


def _base(line: str, ctx: ParseContext) -> dict[str, Any]:
    return {
        "event": {"original": line, "kind": "event", "category": ["web"], "type": ["access"],
                  "dataset": "squid.log", "module": "squid"},
        "observer": {"product": "Squid", "type": "proxy", "vendor": "Squid"},
        "soc": {"input": ctx.source},
    }


def _num(tok: str) -> int | None:
    return h.to_int(tok)


def _result(doc: dict[str, Any], code: str, status_text: str) -> None:
    sq = _srv_ecs.sub(doc, "squid")
    if code not in ("-", ""):
        sq["result_code"] = code
    status = _num(status_text)
    if status is not None:
        sq["status_code"] = status
        _srv_ecs.sub(_srv_ecs.sub(doc, "http"), "response")["status_code"] = status
    if "DENIED" in code:
        doc["event"]["type"] = ["access", "denied"]
        doc["event"]["outcome"] = "failure"
    elif status is not None and status != 0:
        doc["event"]["outcome"] = "failure" if status >= 400 else "success"


def _user(doc: dict[str, Any], user: str) -> None:
    if user and user != "-":
        _srv_ecs.sub(doc, "source")["user"] = {"name": user}
        doc["user"] = {"name": user}


def _peer(doc: dict[str, Any], hier: str) -> None:
    status, _, peer = hier.partition("/")
    if status and status != "-":
        _srv_ecs.sub(doc, "squid")["peer_status"] = status
    if peer and peer != "-":
        h.set_address(doc, "destination", peer)


def _native(doc: dict[str, Any], m: re.Match[str]) -> None:
    """Fields after ``code/status`` of the native (and extended) layouts."""
    rest = m.group("rest")
    if m.group("cport") is None:
        toks = rest.split()
        if len(toks) < 3:
            raise ParseError("squid native line too short: expected bytes method URL")
        b = _num(toks[0])
        if b is not None:
            _srv_ecs.sub(_srv_ecs.sub(doc, "http"), "response")["bytes"] = b
        _method_url(doc, toks[1], toks[2])
        n = len(toks)
        if n > 3:
            _user(doc, toks[3])
        if n > 4:
            _peer(doc, toks[4])
        if n > 5 and toks[5] != "-":
            _srv_ecs.sub(doc, "squid")["content_type"] = toks[5]
            _srv_ecs.sub(_srv_ecs.sub(doc, "http"), "response")["mime_type"] = toks[5]
        return
    # Extended layout (client port present).
    ecs.put(doc, "source.port", _num(m.group("cport")))
    head, _, quoted_part = rest.partition('"')
    toks = head.split()
    if len(toks) < 7:
        raise ParseError("squid extended line too short")
    for key, tok in zip(("destination.bytes", "source.bytes", "squid.reply_header_size",
                         "squid.request_header_size", "http.response.body.bytes"), toks[:5], strict=False):
        ecs.put(doc, key, _num(tok))
    _method_url(doc, toks[5], toks[6])
    if len(toks) > 7 and toks[7] != "-":
        ecs.put(doc, "http.version", toks[7])
    if len(toks) > 8:
        _user(doc, toks[8])
    if len(toks) > 9:
        _peer(doc, toks[9])
    if len(toks) > 10:
        dport = _num(toks[10])
        if dport is not None and 0 < dport < 65536:
            ecs.put(doc, "destination.port", dport)
    if len(toks) > 11 and toks[11] != "-":
        ecs.put(doc, "squid.content_type", toks[11])
    quoted = _QUOTED.findall('"' + quoted_part) if quoted_part else []
    names = ("http.request.referrer", "user_agent.original", "squid.host_header", "network.forwarded_ip",
             "tls.client.server_name")
    for name, val in zip(names, quoted, strict=False):
        if val in ("", "-"):
            continue
        if name == "user_agent.original":
            h.fill_user_agent(doc, val)
        elif name == "network.forwarded_ip":
            ecs.put(doc, name, h.ip_or_none(val.split(",")[0]) or None)
        else:
            ecs.put(doc, name, val)
    tail = quoted_part.rsplit('"', 1)[-1].split() if quoted_part else []
    if tail:
        ecs.put(doc, "squid.server_time", _num(tail[0]))


def _method_url(doc: dict[str, Any], method: str, url: str) -> None:
    if method != "-" and method.isalpha():
        ecs.put(doc, "http.request.method", method)
    h.fill_url(doc, url, authority=True)


#: The native layout with single spaces after ``code/status`` (nearly every real line): the head is
#: ``_NATIVE`` without the client port, the tail ``bytes method URL [user [hierarchy/peer [type]]]``.
_FAST = re.compile(
    r"\s*(\d{9,11}(?:\.\d{1,6})?)\s+(-?\d+)\s+(\S+)\s+([A-Z_]+|NONE|-)/(\d{1,3}|-)\s+"
    r"(\d+) ([A-Za-z]{1,20}) (\S+)(?: (\S+)(?: (\S+)(?: (\S+))?)?)?$",
    re.S,
)
_OBSERVER = (("product", "Squid"), ("type", "proxy"), ("vendor", "Squid"))


def _fast_native(line: str, m: re.Match[str], ctx: ParseContext) -> dict[str, Any]:
    """Build the document of a ``_FAST`` line in one go (same output as the general path)."""
    ts, elapsed_text, client, code, status_text, nbytes, method, url_text, user, hier, ctype = m.groups()
    client_ip = h.ip_or_none(client)
    event: dict[str, Any] = {"original": line, "kind": "event", "category": ["web"], "type": ["access"],
                             "dataset": "squid.log", "module": "squid"}
    elapsed = int(elapsed_text[:15])
    if elapsed >= 0:
        event["duration"] = elapsed * 1_000_000
    sq: dict[str, Any] = {}
    response: dict[str, Any] = {"bytes": int(nbytes[:18])}
    if code != "-":
        sq["result_code"] = code
        if "DENIED" in code:
            event["type"] = ["access", "denied"]
    if status_text != "-":
        status = int(status_text)
        sq["status_code"] = status
        response["status_code"] = status
        if status:
            event["outcome"] = "failure" if status >= 400 else "success"
    if "DENIED" in code:
        event["outcome"] = "failure"
    source: dict[str, Any] = {"address": client}
    if client_ip is not None:
        source["ip"] = client_ip
    else:
        source["domain"] = client
    doc: dict[str, Any] = {
        "@timestamp": _epoch_iso(ts),
        "event": event,
        "observer": dict(_OBSERVER),
        "soc": {"input": ctx.source},
        "source": source,
        "squid": sq,
        "http": {"request": {"method": method}, "response": response},
    }
    url = h.url_fields(url_text, authority=True)
    if url is not None:
        doc["url"] = url
    ips = [client_ip] if client_ip else []
    rel: dict[str, Any] = {"ip": ips}
    if user and user != "-":
        source["user"] = {"name": user}
        doc["user"] = {"name": user}
        rel["user"] = [user]
    hosts = []
    if hier:
        peer_status, _, peer = hier.partition("/")
        if peer_status and peer_status != "-":
            sq["peer_status"] = peer_status
        if peer and peer != "-":
            dest: dict[str, Any] = {"address": peer}
            doc["destination"] = dest
            peer_ip = h.ip_or_none(peer)
            if peer_ip is not None:
                dest["ip"] = peer_ip
                if peer_ip not in ips:
                    ips.append(peer_ip)
            else:
                dest["domain"] = peer
                hosts.append(peer)
    if ctype and ctype != "-":
        sq["content_type"] = ctype
        response["mime_type"] = ctype
    # related.* straight from what was just set (same content as _srv_ecs.related).
    if client_ip is None and client not in hosts:
        hosts.append(client)
    if url is not None:
        domain = url.get("domain")
        if domain and domain not in hosts:
            hosts.append(domain)
    if hosts:
        rel["hosts"] = hosts
    if not ips:
        del rel["ip"]
    if rel:
        doc["related"] = rel
    return doc


def parse(line: str, ctx: ParseContext) -> dict[str, Any]:
    line = line.rstrip("\r\n")
    fast = _FAST.match(line)
    if fast is not None:
        return _fast_native(line, fast, ctx)
    return _parse_general(line, ctx)


def _parse_general(line: str, ctx: ParseContext) -> dict[str, Any]:
    """Every layout (the tests check that native lines give the same document as ``_fast_native``)."""
    body = line
    m = _NATIVE.match(body)
    syslog = None
    if not m:
        # Access log shipped over syslog ("squid[123]: 1286536309.450 ...").
        syslog = split(line, ctx)
        if syslog.message is not line:
            body = syslog.message
            m = _NATIVE.match(body)
    doc = _base(line, ctx)
    if syslog is not None and body is not line:
        syslog.to_ecs(doc)
        doc.pop("@timestamp", None)
    if m:
        doc["@timestamp"] = _epoch_iso(m.group("ts"))
        elapsed = int(m.group("elapsed")[:15])
        if elapsed >= 0:
            doc["event"]["duration"] = elapsed * 1_000_000
        h.set_address(doc, "source", m.group("client"))
        _result(doc, m.group("code"), m.group("status"))
        _native(doc, m)
        return h.finish(doc)
    if h.parse_access(doc, body, ctx.tz, "squid"):
        remotes: list[str] = doc["_remotes"]
        if remotes:
            h.set_address(doc, "source", remotes[-1])
        if "user" in doc:
            ecs.put(doc, "source.user.name", doc["user"]["name"])
        ms = _SQUID_SUFFIX.match(doc.pop("_rest", "") or "")
        if ms:
            ecs.put(doc, "squid.result_code", ms.group("code"))
            ecs.put(doc, "squid.peer_status", ms.group("hier"))
            if "DENIED" in ms.group("code"):
                doc["event"]["type"] = ["access", "denied"]
                doc["event"]["outcome"] = "failure"
        status = ecs.get(doc, "http.response.status_code")
        if status is not None:
            ecs.put(doc, "squid.status_code", status)
        return h.finish(doc)
    raise ParseError("not a squid access log line (native, extended, common or combined)")
