"""FortiGate (FortiOS) syslog: traffic, UTM (webfilter, ips, virus, app-ctrl, dns, ssl...) and event logs.

Records are ``key=value`` lists with quoted values, optionally after a syslog
header. Field mapping follows Elastic's ``fortinet_fortigate`` integration
(default, traffic, utm, event and login pipelines); keys ECS has no place for
stay under ``fortinet.firewall.*`` as strings, as Elastic keeps them.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from . import syslog_header
from ._fw_common import (
    IANA_TRANSPORT,
    add_list,
    clean_ip,
    direction_from_ips,
    registered_domain,
    syslog_fields,
    to_int,
    tz_from_offset,
)
from .base import ParseContext, ParseError
from .syslog_header import FACILITIES, SEVERITIES

NAME = "fortigate"
DATASET = "fortinet.firewall"

_CTRL = re.compile(r"[\x00-\x1f\x7f]")
#: key=value like ``kv.PAIR``, but a key with non-word (ASCII) characters leaves group 1 empty: Elastic drops those.
#: The blank before each key is part of the match (the text is searched with a blank in front): the regex
#: engine finds a literal-class start faster than it tests a look-behind at every position. The value
#: quantifiers are possessive (same matches: nothing after them could succeed with fewer characters), which
#: spares the engine its backtracking bookkeeping: ~20 % less time in ``findall``.
_PAIR = re.compile(r'\s(?:(\w++)|[^\s="]++)=(?:"([^"]*+)"|(\S*+))', re.ASCII)


def _pairs_py(msg: str) -> dict[str, str]:
    """The record's pairs. Like Elastic: drop empty and "N/A" values and keys with non-word characters."""
    return {k: val for k, q, u in _PAIR.findall(" " + msg) if k and (val := q or u) and val != "N/A"}


try:  # the same tokeniser in C (connectors/parsers/_kvscan.c, built by `pip install`): ~3x less time
    from ._kvscan import pairs as _pairs
except ImportError:  # no compiler where it was installed
    _pairs = _pairs_py


_FAST_PRI = re.compile(r"<(\d{1,3})>(?=[a-z_]+=)")
_SNIFF = re.compile(r"(?:^|\s)(?:logid|devid|devname)=\"?\w")
#: Counters Elastic keeps as numbers under ``fortinet.firewall`` (a tuple: probing 12 keys beats a set operation
#: over the record's keys).
_LONG_KEYS = ("auditid", "audittime", "quotamax", "quotaused", "size", "disklograte", "fazlograte",
              "lanin", "lanout", "setuprate", "wanin", "wanout")
_DIRECTIONS = {"outgoing": "outbound", "incoming": "inbound"}
_ECS_DIRECTIONS = frozenset(("ingress", "egress", "inbound", "outbound", "internal", "external"))
_LOGIN_ACTIONS_START = ("FSSO-logon", "auth-logon")
_LOGIN_ACTIONS_END = ("FSSO-logoff", "auth-logout")
_SSH_LOGIN = re.compile(r"Login from ssh: (\S+) for (\S+) from (\S+) port (\d+)")
_ADMIN_LOGIN = re.compile(r"(\S+) (\S+) login (\S+) from [^(]*\(([^)]*)\)")
_ADMIN_LOGGED = re.compile(r"(\S+) (\S+) logged in (\S+) from [^(]*\(([^)]*)\)")
_TLSVER = re.compile(r"\d")
_LEGACY = {"src": "srcip", "dst": "dstip", "sent": "sentbyte", "rcvd": "rcvdbyte", "src_port": "srcport",
           "dst_port": "dstport"}


#: (date, time, tz, ctx zone) -> (@timestamp, event.timezone) of records whose ``date``/``time`` were valid:
#: a firewall sends many records per second, so most lookups hit. Bounded; cleared when full.
_TS_CACHE: dict[tuple[str, str, str | None, tzinfo], tuple[str, str | None]] = {}
_TS_CACHE_MAX = 4096


def sniff(line: str) -> bool:
    return "=" in line and _SNIFF.search(line[:400]) is not None and "type=" in line


def _sub(doc: dict[str, Any], key: str) -> dict[str, Any]:
    d = doc.get(key)
    if d is None:
        d = doc[key] = {}
    return d  # type: ignore[no-any-return]


def _timestamp(fw: dict[str, str], ctx: ParseContext, hdr_ts: datetime | None) -> tuple[str, str | None]:
    """``@timestamp`` (ISO, UTC) and ``event.timezone``: ``date``+``time`` in ``tz`` (or the source's zone),
    else ``eventtime``, else the syslog header time, else the arrival time."""
    date, time, tz_text = fw.get("date"), fw.get("time"), fw.get("tz")
    key = None
    if date and time:
        key = (date, time, tz_text, ctx.tz)
        hit = _TS_CACHE.get(key)
        if hit is not None:
            return hit
    tz = tz_from_offset(tz_text)
    zone = tz_text if tz is not None else None
    if key is not None:
        dt = _date_time(date, time, tz or ctx.tz)  # type: ignore[arg-type]
        if dt is not None:
            out = (syslog_header.iso(dt), zone)
            if len(_TS_CACHE) >= _TS_CACHE_MAX:
                _TS_CACHE.clear()
            _TS_CACHE[key] = out
            return out
    ev = _eventtime(fw.get("eventtime"))
    return syslog_header.iso(ev or hdr_ts or ctx.received), zone


def _date_time(date: str, time: str, tz: tzinfo) -> datetime | None:
    """``2020-04-23`` + ``12:17:48`` without ``strptime`` (ten times slower)."""
    if len(date) != 10 or date[4] != "-" or date[7] != "-" or len(time) not in (7, 8):
        return None
    try:
        hh, mm, ss = time.split(":")
        return datetime(int(date[:4]), int(date[5:7]), int(date[8:]), int(hh), int(mm), int(ss), tzinfo=tz)
    except ValueError:
        return None


def _eventtime(text: str | None) -> datetime | None:
    """FortiOS ``eventtime`` is seconds, milliseconds or nanoseconds since the epoch."""
    if not text or not text.isdigit():
        return None
    if len(text) > 18:
        text = text[:-6]
    try:
        n = int(text)
        return datetime.fromtimestamp(n / 1000 if len(text) > 11 else n, UTC)
    except (OverflowError, OSError, ValueError):
        return None


@lru_cache(maxsize=4096)
def _second_iso(sec: int) -> str | None:
    try:
        return datetime.fromtimestamp(sec, UTC).isoformat()[:19]
    except (OverflowError, OSError, ValueError):
        return None


def _eventtime_iso(text: str | None) -> str | None:
    """``event.start`` from ``eventtime`` (what ``_eventtime`` gives, to the millisecond, as ``...Z``)
    built from a per-second cache: ``eventtime`` changes with every record."""
    if not text or not text.isdigit():
        return None
    if len(text) > 18:
        text = text[:-6]
    n = int(text)
    sec, ms = divmod(n, 1000) if len(text) > 11 else (n, 0)
    if sec >= 1 << 32:
        # Far beyond 2106 the float arithmetic of ``_eventtime`` rounds differently: keep its result.
        start = _eventtime(text)
        return None if start is None else start.isoformat(timespec="milliseconds")[:-6] + "Z"
    prefix = _second_iso(sec)
    return None if prefix is None else prefix + _MILLIS[ms]


#: ``.000Z`` ... ``.999Z``: a table lookup instead of formatting the milliseconds of every record.
_MILLIS = tuple(f".{ms:03d}Z" for ms in range(1000))


def _syslog_log(pri: int) -> dict[str, Any]:
    """``log.syslog`` for a bare ``<PRI>`` header (what ``syslog_fields`` writes): copies of per-PRI dicts."""
    fac, sev = _PRI_PARTS[pri]
    return {"priority": pri, "facility": fac.copy(), "severity": sev.copy()}


_PRI_PARTS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"code": p >> 3, "name": FACILITIES[p >> 3]} if p >> 3 < len(FACILITIES) else {"code": p >> 3},
     {"code": p & 7, "name": SEVERITIES[p & 7]})
    for p in range(192)
]


def parse(line: str, ctx: ParseContext) -> dict[str, Any]:
    fast = _FAST_PRI.match(line)
    pri = int(fast.group(1)) if fast is not None else 192
    sl: syslog_header.Syslog | None = None
    hostname: str | None = None
    if pri <= 191:
        # "<189>date=..." (what FortiGate sends): skip the general header parser.
        msg = line[fast.end():]  # type: ignore[union-attr]
    else:
        sl = syslog_header.split(line, ctx, expect_tag=False)
        msg = sl.message
        hostname = sl.hostname
    if "\x00" in msg or "\r" in msg or "\x1f" in msg:
        msg = _CTRL.sub("", msg)
    fw: dict[str, Any] = _pairs(msg)
    # No pair at all is an error; only pairs that are dropped is a (bare) record.
    if not fw and not _PAIR.findall(" " + msg):
        raise ParseError("not a FortiGate record: no key=value pairs")
    get = fw.get
    pop = fw.pop

    # FortiOS 4.x names (src=, dst=, sent=, rcvd=, status=) -> current names.
    if "src" in fw or "dst" in fw:
        for old, cur in _LEGACY.items():
            if old in fw and cur not in fw:
                fw[cur] = pop(old)
        if get("type") == "traffic" and "status" in fw and "action" not in fw:
            fw["action"] = pop("status")

    event: dict[str, Any] = {"kind": "event", "module": "fortinet", "dataset": DATASET, "original": line}
    observer: dict[str, Any] = {"vendor": "Fortinet", "product": "Fortigate", "type": "firewall"}
    doc: dict[str, Any] = {"event": event, "observer": observer}
    if sl is None:
        doc["log"] = {"syslog": _syslog_log(pri)}
    else:
        syslog_fields(doc, sl)

    date, time = get("date"), get("time")
    hit = _TS_CACHE.get((date, time, get("tz"), ctx.tz)) if date and time else None
    if hit is None:
        hit = _timestamp(fw, ctx, None if sl is None else sl.timestamp)
    doc["@timestamp"], tz_text = hit
    if tz_text:
        event["timezone"] = tz_text
    if "eventtime" in fw and (start := _eventtime_iso(fw["eventtime"])) is not None:
        event["start"] = start

    v: Any = pop("devname", None) or hostname
    if v:
        observer["name"] = v
    if "duration" in fw:
        d = to_int(fw["duration"])
        if d is not None:
            event["duration"] = d * 1_000_000_000
    if (v := pop("devid", None)) is not None:
        observer["serial_number"] = v
    if (v := pop("dstintf", None) or pop("dst_int", None)) is not None:
        observer.setdefault("egress", {"interface": {"name": v}})
    if (v := pop("srcintf", None) or pop("src_int", None)) is not None:
        observer.setdefault("ingress", {"interface": {"name": v}})
    if (v := pop("level", None)) is not None:
        doc["log"] = doc.get("log") or {}
        doc["log"]["level"] = v
    if (v := get("subject")) is not None:
        doc["email"] = {"subject": v}
    if (v := get("srcname")) is not None:
        doc["host"] = {"name": v.lower()}
    m = pop("msg", None)
    if m is not None:
        doc["message"] = m
    if (v := pop("dstmac", None)) is not None:
        _sub(doc, "destination")["mac"] = v.replace(":", "-").upper()

    ftype = get("type")
    subtype = get("subtype")
    if ftype == "event":
        _event(doc, fw, subtype)
        m = doc.get("message")
    if isinstance(m, str) and "log" in (low := m.lower()) and ("login" in low or "logged in" in low):
        _login(doc, fw)
    if ftype == "traffic":
        _traffic(doc, fw)
    elif ftype in ("utm", "dns"):
        _utm(doc, fw, subtype)

    if "action" not in event and (v := pop("eventtype", None)) is not None:
        event["action"] = v
    if "reason" not in event:
        v = pop("reason", None) or pop("eventsubtype", None)
        if v is not None:
            event["reason"] = v
    src = doc.get("source") or {}
    dst = doc.get("destination") or {}
    net = doc.get("network") or {}
    if "direction" not in net:
        v = pop("dir", None) or pop("direction", None)
        if v is not None:
            k = v.lower()
            k = _DIRECTIONS.get(k, k)
            net["direction"] = k if k in _ECS_DIRECTIONS else "unknown"
        else:
            v = direction_from_ips(src.get("ip"), dst.get("ip"))
            if v is not None:
                net["direction"] = v
    if "interface" in fw:
        direction = net.get("direction")
        if "ingress" not in observer and direction in ("ingress", "inbound", "internal"):
            observer["ingress"] = {"interface": {"name": pop("interface")}}
        elif "egress" not in observer and direction in ("egress", "outbound", "external"):
            observer["egress"] = {"interface": {"name": pop("interface")}}
    for k in _LONG_KEYS:
        if k in fw and (n := to_int(fw[k])) is not None:
            fw[k] = n

    if "bytes" in src and "bytes" in dst:
        net["bytes"] = src["bytes"] + dst["bytes"]
    if "packets" in src and "packets" in dst:
        net["packets"] = src["packets"] + dst["packets"]
    iana = net.get("iana_number")
    if iana is not None and iana in IANA_TRANSPORT:
        net["transport"] = IANA_TRANSPORT[iana]
    if net:
        doc["network"] = net
    if "mac" in src:
        src["mac"] = src["mac"].upper().replace(":", "-").replace(".", "-")

    # related.*
    snat = src.get("nat")
    dnat = dst.get("nat")
    sip, dip = src.get("ip"), dst.get("ip")
    rel_ip: list[str] = [sip] if sip else []
    if dip and dip not in rel_ip:
        rel_ip.append(dip)
    if snat or dnat or "ip" in fw or "assignip" in fw or "tunnelip" in fw:
        for ip in (snat.get("ip") if snat else None, dnat.get("ip") if dnat else None, get("ip"), get("assignip"),
                   get("tunnelip")):
            if ip and ip not in rel_ip:
                rel_ip.append(ip)
    dns = doc.get("dns")
    if dns:
        for ip in dns.get("resolved_ip") or ():
            if ip not in rel_ip:
                rel_ip.append(ip)
    rel: dict[str, Any] = {}
    if rel_ip:
        rel["ip"] = rel_ip
    su = src.get("user")
    du = dst.get("user")
    sname = su.get("name") if su else None
    dname = du.get("name") if du else None
    if sname or dname:
        rel["user"] = [sname, dname] if sname and dname and sname != dname else [sname or dname]
    hd = doc.get("host")
    host = hd.get("name") if hd else None
    question = dns.get("question") if dns else None
    qname = question.get("name") if question else None
    sa, da = src.get("address"), dst.get("address")
    if da or sa or host or qname:
        rel["hosts"] = list(dict.fromkeys([h for h in (da, sa, host, qname) if h]))
    if rel:
        doc["related"] = rel

    for k in ("tz", "date", "eventtime", "time", "duration"):  # (devid was popped above)
        pop(k, None)
    if fw:
        doc["fortinet"] = {"firewall": fw}
    return doc


def _event(doc: dict[str, Any], fw: dict[str, Any], subtype: str | None) -> None:
    """``type=event``: system, user, vpn, update... (Elastic's event pipeline)."""
    event = doc["event"]
    pop = fw.pop
    action = fw.get("action")
    if fw.get("result") == "ERROR" or fw.get("status") == "negotiate_error":
        event["outcome"] = "failure"
    if fw.get("result") == "OK" or action in _LOGIN_ACTIONS_START or action in _LOGIN_ACTIONS_END:
        event["outcome"] = "success"
    types: list[str] = []
    cats: list[str] = []
    if action in _LOGIN_ACTIONS_START:
        types.append("start")
    if action in _LOGIN_ACTIONS_END:
        types.append("end")
    if subtype == "vpn":
        types.append("connection")
        cats.append("network")
    if action == "perf-stats":
        types.append("info")
        cats.append("host")
    if subtype == "update":
        types.append("info")
        cats += ["host", "malware"]
    if subtype == "user":
        cats.append("authentication")
    if types:
        event["type"] = types
    if cats:
        event["category"] = cats
    src = _sub(doc, "source")
    dst = _sub(doc, "destination")
    v = pop("dstip", None) or pop("remip", None)
    if v:
        dst["ip"] = v
    p = to_int(pop("dstport")) if "dstport" in fw else None
    if p is None:
        p = to_int(fw["remport"]) if "remport" in fw else None
    if p is not None:
        dst["port"] = p
    fw.pop("remport", None)
    if "rcvdbyte" in fw and (b := to_int(pop("rcvdbyte"))) is not None:
        dst["bytes"] = b
    v = pop("daddr", None) or pop("dst_host", None)
    if v:
        dst["address"] = v
    if (v := pop("group", None)) is not None:
        src.setdefault("user", {})["group"] = {"name": v}
    if "sentbyte" in fw and (b := to_int(pop("sentbyte"))) is not None:
        src["bytes"] = b
    v = pop("srcip", None) or pop("locip", None)
    if v:
        src["ip"] = v
    v = pop("srcmac", None) or pop("source_mac", None)
    if v:
        src["mac"] = v
    p = to_int(pop("srcport")) if "srcport" in fw else None
    if p is None:
        p = to_int(fw["locport"]) if "locport" in fw else None
    if p is not None:
        src["port"] = p
    fw.pop("locport", None)
    if (v := pop("user", None)) is not None:
        src.setdefault("user", {})["name"] = v
    if (v := pop("saddr", None)) is not None:
        src["address"] = v
    if (v := pop("agent", None)) is not None:
        doc["user_agent"] = {"original": v}
    if (v := pop("file", None)) is not None:
        doc.setdefault("file", {})["name"] = v
    if "filesize" in fw and (n := to_int(pop("filesize"))) is not None:
        doc.setdefault("file", {})["size"] = n
    if (v := pop("logid", None)) is not None:
        event.setdefault("code", v)
    if (v := pop("policyid", None)) is not None:
        _sub(doc, "rule")["id"] = v
    net = doc.get("network")
    if net is None:
        net = doc["network"] = {}
    if (v := pop("proto", None)) is not None:
        net["iana_number"] = v
    if (v := pop("service", None)) is not None:
        net["protocol"] = v.lower()
    if (v := pop("error_num", None)) is not None:
        doc["error"] = {"code": v}
    if (v := pop("logdesc", None)) is not None:
        _sub(doc, "rule")["description"] = v
    addr = fw.get("addr")
    if addr is not None and "addrgrp" not in fw and clean_ip(addr) is None:
        fw["addrgrp"] = pop("addr")
    url = pop("url", None)
    if url is not None:
        doc["url"] = _url_parts(url)
    if (v := pop("hostname", None)) is not None:
        _sub(doc, "url")["domain"] = v
    sd = to_int(pop("sess_duration")) if "sess_duration" in fw else None
    if sd is not None and "duration" not in event:
        event["duration"] = sd
    for k, conv in (("mem", int), ("jitter", float), ("latency", float)):
        if k in fw:
            with contextlib.suppress(ValueError):
                fw[k] = conv(fw[k])
    if subtype == "vpn":
        if fw.get("xauthuser") is not None:
            src.setdefault("user", {})["name"] = fw["xauthuser"]
        if fw.get("eapuser") is not None:
            src.setdefault("user", {})["name"] = fw["eapuser"]
    if "advpnsc" in fw:
        fw["advpnsc"] = fw["advpnsc"] != "0"
    if subtype == "vpn":
        # remip (the client) is the source, locip (the firewall) the destination.
        user = src.pop("user", None)
        doc["source"], doc["destination"] = dst, src
        if user is not None:
            dst_now = doc["source"]
            dst_now["user"] = user
    for k in ("source", "destination", "network", "rule"):
        if not doc.get(k):
            doc.pop(k, None)


def _url_parts(url: str) -> dict[str, Any]:
    try:
        u = urlsplit(url)
        port = u.port
    except ValueError:
        return {"original": url}
    if not u.scheme:
        return {"original": url}
    out: dict[str, Any] = {"scheme": u.scheme, "path": u.path or None, "query": u.query or None,
                           "fragment": u.fragment or None, "domain": u.hostname, "port": port,
                           "username": u.username, "password": u.password}
    return {k: v for k, v in out.items() if v is not None}


def _login(doc: dict[str, Any], fw: dict[str, Any]) -> None:
    """Administrator / SSH / user logins (Elastic's login pipeline)."""
    event = doc["event"]
    event.setdefault("action", "login")
    cats = event.setdefault("category", [])
    cats.append("authentication")
    src = doc.get("source") or {}
    user: dict[str, Any] = doc.get("user") or {}
    sname = (src.get("user") or {}).get("name")
    if sname is not None:
        user["name"] = sname
    roles: list[str] = []
    if (v := fw.get("adminprof")) is not None:
        roles.append(v)
    uf = fw.get("userfrom")
    if isinstance(uf, str) and uf.startswith("JSON(") and uf.endswith(")"):
        src["ip"] = uf[5:-1]
    msg: str = doc.get("message", "")
    outcome: str | None = None
    if msg.startswith("user") and isinstance(fw.get("desc"), str) and fw["desc"].startswith("User login/logout "):
        outcome = fw["desc"][len("User login/logout "):]
    if msg.startswith("Login from ssh:"):
        m = _SSH_LOGIN.match(msg)
        if m:
            outcome, user["name"], src["ip"], src["port"] = m.group(1), m.group(2), m.group(3), int(m.group(4))
    elif msg.startswith("Administrator"):
        m = (_ADMIN_LOGGED if "logged in" in msg.lower() else _ADMIN_LOGIN).match(msg)
        if m:
            if m.group(1) not in roles:
                roles.append(m.group(1))
            user["name"], outcome, src["ip"] = m.group(2), m.group(3), m.group(4)
    if outcome is not None:
        low = outcome.lower()
        event["outcome"] = "failure" if low.startswith("fail") else "success" if low.startswith("success") else outcome
    if (v := fw.pop("log_id", None)) is not None:
        event["id"] = v
    if (v := fw.pop("pri", None)) is not None:
        doc.setdefault("log", {})["level"] = v
    if (v := fw.pop("device_id", None)) is not None:
        doc["observer"]["serial_number"] = v
    if roles:
        user["roles"] = roles
        src.setdefault("user", {})["roles"] = list(roles)
    if "valid" in fw:
        n = to_int(fw["valid"])
        if n is not None:
            fw["valid"] = n
    for k in ("adminprof", "userfrom", "remote_ip", "remote_port", "ui", "status"):
        fw.pop(k, None)
    if user:
        doc["user"] = user
    if src:
        doc["source"] = src


def _traffic(doc: dict[str, Any], fw: dict[str, Any]) -> None:
    """``type=traffic`` (forward, local, multicast, sniffer): Elastic's traffic pipeline.

    Straight-line code with the integer conversions inline: a call to ``to_int`` per counter cost more than
    probing the keys a record lacks."""
    event = doc["event"]
    pop = fw.pop
    get = fw.get
    action = get("action")
    if action:
        event["action"] = action
        event["outcome"] = "success"
    cats = event.get("category")
    if cats is None:
        event["category"] = ["network"]
    elif "network" not in cats:
        cats.append("network")
    types = event.setdefault("type", [])
    types.append("connection")
    if action == "start":
        types.append("start")
    if action is not None and action != "start":
        types.append("end")
    if action != "deny":
        if get("app") is not None:
            types.append("protocol")
        if get("utmaction") is None:
            types.append("allowed")
    if action == "deny" or get("utmaction") == "block":
        types.append("denied")
    src = _sub(doc, "source")
    dst = _sub(doc, "destination")
    # Counters: int() inline (what ``to_int`` does for text), the key is dropped even when it is not a number.
    if (v := pop("dstip", None)) is not None:
        dst["ip"] = v
    if "tranip" in fw and (v := clean_ip(fw["tranip"])) is not None:
        dst["nat"] = {"ip": v}
    if (v := pop("dstport", None)) is not None:
        try:  # noqa: SIM105 - faster than contextlib.suppress
            dst["port"] = int(v)
        except ValueError:
            pass
    if "tranport" in fw and (n := to_int(pop("tranport"))) is not None:
        dst.setdefault("nat", {})["port"] = n
    if (v := pop("rcvdbyte", None)) is not None:
        try:  # noqa: SIM105 - faster than contextlib.suppress
            dst["bytes"] = int(v)
        except ValueError:
            pass
    if (v := pop("rcvdpkt", None)) is not None:
        try:  # noqa: SIM105 - faster than contextlib.suppress
            dst["packets"] = int(v)
        except ValueError:
            pass
    if (v := get("dstcollectedemail")) is not None:
        add_list(doc.setdefault("email", {}), "to", "address", v)
    if (v := pop("dstname", None)) is not None:
        dst["address"] = v
    if (v := pop("dstunauthuser", None)) is not None:
        dst["user"] = {"name": v}
    if (v := pop("group", None)) is not None:
        src.setdefault("user", {})["group"] = {"name": v}
    if (v := pop("sentbyte", None)) is not None:
        try:  # noqa: SIM105 - faster than contextlib.suppress
            src["bytes"] = int(v)
        except ValueError:
            pass
    if (v := pop("srcdomain", None)) is not None:
        src["domain"] = v
    if (v := pop("srcip", None)) is not None:
        src["ip"] = v
    if (v := pop("srcmac", None)) is not None:
        src["mac"] = v
    if (v := pop("srcport", None)) is not None:
        try:  # noqa: SIM105 - faster than contextlib.suppress
            src["port"] = int(v)
        except ValueError:
            pass
    v = pop("unauthuser", None)
    if v is None and "name" not in src.get("user", {}):
        v = pop("user", None)
    if v is not None:
        src.setdefault("user", {})["name"] = v
    if (v := get("collectedemail")) is not None:
        add_list(doc.setdefault("email", {}), "from", "address", v)
    if (v := pop("sentpkt", None)) is not None:
        try:  # noqa: SIM105 - faster than contextlib.suppress
            src["packets"] = int(v)
        except ValueError:
            pass
    if "transip" in fw and (v := clean_ip(fw["transip"])) is not None:
        src["nat"] = {"ip": v}
    if "transport" in fw and (n := to_int(pop("transport"))) is not None:
        src.setdefault("nat", {})["port"] = n
    net = doc.get("network")
    if net is None:
        net = doc["network"] = {}
    if (v := pop("app", None)) is not None:
        net["application"] = v
    if (v := pop("filename", None)) is not None:
        doc.setdefault("file", {})["name"] = v
    if (v := pop("logid", None)) is not None:
        event.setdefault("code", v)
    rule = doc.get("rule")
    if rule is None:
        rule = doc["rule"] = {}
    if (v := pop("comment", None)) is not None:
        rule["description"] = v
    if (v := pop("policyid", None)) is not None:
        rule.setdefault("id", v)
    if (v := pop("poluuid", None)) is not None:
        rule["uuid"] = v
    if (v := pop("policytype", None)) is not None:
        rule["ruleset"] = v
    if (v := pop("policyname", None)) is not None:
        rule["name"] = v
    if (v := pop("appcat", None)) is not None:
        rule["category"] = v.replace(".", "-")
    if (v := pop("proto", None)) is not None:
        net["iana_number"] = v
    if (v := pop("service", None)) is not None:
        net["protocol"] = v.lower()
    if (v := pop("srcthreatfeed", None)) is not None:
        doc["threat"] = {"feed": {"name": v}}
    if (v := pop("url", None)) is not None:
        _sub(doc, "url")["path"] = v
    if not src:
        del doc["source"]
    if not dst:
        del doc["destination"]
    if not net:
        del doc["network"]
    if not rule:
        del doc["rule"]


_UTM_FILE = (("filename", "name"), ("filetype", "extension"), ("infectedfilename", "name"),
             ("infectedfilesize", "size"), ("infectedfiletype", "extension"), ("matchedfilename", "name"),
             ("matchedfiletype", "extension"))


_UTM_FILE_KEYS = frozenset(k for k, _ in _UTM_FILE)
_TLS_KEYS = frozenset(("scertcname", "scertissuer", "ccertissuer", "sender", "issuer", "authalgo", "keyalgo",
                       "notbefore", "notafter", "keysize", "sn", "certhash", "san", "cn", "kxcurve", "cipher", "sni",
                       "handshake", "tlsver"))


def _utm(doc: dict[str, Any], fw: dict[str, Any], subtype: str | None) -> None:
    """``type=utm``: webfilter, virus, ips, app-ctrl, dns, ssl, emailfilter... (Elastic's utm pipeline)."""
    event = doc["event"]
    pop = fw.pop
    action = fw.get("action")
    types: list[str] = event.get("type", [])
    if action in ("block", "blocked"):
        types.append("denied")
    if subtype == "dns":
        types.append("info")
    if action in ("pass", "passthrough"):
        types.append("allowed")
    if types:
        event["type"] = types
    if action is not None:
        event["outcome"] = "success"
    cats = event.get("category")
    if cats is None:
        event["category"] = ["network"]
    elif "network" not in cats:
        cats.append("network")
    src = _sub(doc, "source")
    dst = _sub(doc, "destination")
    v = pop("dstip", None) or pop("remip", None)
    if v is not None:
        dst["ip"] = v
    if "dst_port" in fw or "remport" in fw or "dstport" in fw:
        for k in ("dst_port", "remport", "dstport"):
            if "port" not in dst and (n := to_int(fw.get(k))) is not None:
                dst["port"] = n
            fw.pop(k, None)
    if "rcvdbyte" in fw and (n := to_int(pop("rcvdbyte"))) is not None:
        dst["bytes"] = n
    if (v := pop("recipient", None)) is not None:
        doc.setdefault("email", {})["to"] = {"address": [v]}
    if (v := pop("group", None)) is not None:
        src.setdefault("user", {})["group"] = {"name": v}
    if (v := pop("locip", None)) is not None:
        src["ip"] = v
    if "locport" in fw or "src_port" in fw or "srcport" in fw:
        for k in ("locport", "src_port", "srcport"):
            if "port" not in src and (n := to_int(fw.get(k))) is not None:
                src["port"] = n
            fw.pop(k, None)
    if "sentbyte" in fw and (n := to_int(pop("sentbyte"))) is not None:
        src["bytes"] = n
    if (v := pop("srcdomain", None)) is not None:
        src["domain"] = v
    if "ip" not in src and (v := pop("srcip", None)) is not None:
        src["ip"] = v
    if (v := pop("httpmethod", None)) is not None:
        doc.setdefault("http", {}).setdefault("request", {})["method"] = v
    if (v := pop("referralurl", None)) is not None:
        doc.setdefault("http", {}).setdefault("request", {})["referrer"] = v
    if (v := pop("srcmac", None)) is not None:
        src["mac"] = v
    v = pop("unauthuser", None)
    if v is None and "name" not in src.get("user", {}):
        v = pop("user", None)
    if v is not None:
        src.setdefault("user", {})["name"] = v
    if (v := fw.get("sender")) is not None:
        add_list(doc.setdefault("email", {}), "sender", "address", v)
    if (v := fw.get("from")) is not None:
        add_list(doc.setdefault("email", {}), "from", "address", v)
    if (v := pop("agent", None)) is not None:
        doc["user_agent"] = {"original": v}
    net = doc.get("network")
    if net is None:
        net = doc["network"] = {}
    if (v := pop("app", None)) is not None:
        net["application"] = v
    rule = doc.get("rule")
    if rule is None:
        rule = doc["rule"] = {}
    if (v := pop("appcat", None)) is not None:
        rule["category"] = v
    if (v := pop("applist", None)) is not None:
        rule["ruleset"] = v
    if "category" not in rule and (v := pop("catdesc", None)) is not None:
        rule["category"] = v
    if "category" in rule:
        rule["category"] = rule["category"].replace(".", "-")
    if (v := pop("error", None)) is not None:
        event["message"] = v
    if (v := pop("errorcode", None)) is not None:
        event["code"] = v
    v = pop("event_id", None) or pop("eventid", None)
    if v is not None:
        event["id"] = v
    file: dict[str, Any] = doc.get("file") or {}
    if "filesize" in fw and (n := to_int(fw["filesize"])) is not None:
        file["size"] = n
    if not _UTM_FILE_KEYS.isdisjoint(fw):
        for k, f in _UTM_FILE:
            if f not in file and (v := pop(k, None)) is not None:
                file[f] = v
    if file:
        doc["file"] = file
    if (v := pop("hostname", None)) is not None:
        _sub(doc, "url")["domain"] = v
    if (v := pop("ipaddr", None)) is not None:
        doc.setdefault("dns", {})["resolved_ip"] = v.split(", ")
    if (v := pop("logid", None)) is not None:
        event.setdefault("code", v)
    v = pop("policy_id", None) or pop("policyid", None)
    if v is not None:
        rule.setdefault("id", v)
    if "ruleset" not in rule and (v := pop("profile", None)) is not None:
        rule["ruleset"] = v
    if (v := pop("proto", None)) is not None:
        net["iana_number"] = v
    q: dict[str, Any] = {}
    for k, f in (("qclass", "class"), ("qname", "name"), ("qtype", "type")):
        if (v := pop(k, None)) is not None:
            q[f] = v
    if (v := pop("service", None)) is not None:
        net["protocol"] = v.lower()
    if (v := pop("url", None)) is not None:
        _sub(doc, "url")["path"] = v
    if (v := pop("xid", None)) is not None:
        doc.setdefault("dns", {})["id"] = v
    if not _TLS_KEYS.isdisjoint(fw):
        _utm_tls(doc, fw)
    if (v := fw.pop("dtype", None)) is not None:
        doc["vulnerability"] = {"category": [v]}
    if (v := pop("ref", None)) is not None:
        event["reference"] = v
    if (v := pop("filehash", None)) is not None:
        doc.setdefault("fortinet", {})["file"] = {"hash": {"crc32": v}}
        add_list(doc, "related", "hash", v)
    if q:
        if "name" in q:
            q.update(registered_domain(q["name"]))
        doc.setdefault("dns", {})["question"] = q
    for k in ("cn", "san", "scertcname", "filesize", "tlsver"):
        fw.pop(k, None)
    for k in ("source", "destination", "network", "rule"):
        if not doc.get(k):
            doc.pop(k, None)


def _utm_tls(doc: dict[str, Any], fw: dict[str, Any]) -> None:
    pop = fw.pop
    tls: dict[str, Any] = {}
    server: dict[str, Any] = {}
    x509: dict[str, Any] = {}
    if (v := fw.get("scertcname")) is not None:
        x509["subject"] = {"common_name": [v]}
    if (v := pop("scertissuer", None)) is not None:
        server["issuer"] = v
        x509["issuer"] = {"common_name": [v]}
    if (v := pop("ccertissuer", None)) is not None:
        tls["client"] = {"issuer": v, "x509": {"issuer": {"common_name": [v]}}}
    if (v := pop("sender", None)) is not None:
        server["issuer"] = v
    if "issuer" not in server and (v := pop("issuer", None)) is not None:
        server["issuer"] = v
    v = pop("authalgo", None) or pop("keyalgo", None)
    if v is not None:
        x509["public_key_algorithm"] = v
    if (v := pop("notbefore", None)) is not None:
        server["not_before"] = x509["not_before"] = v
    if (v := pop("notafter", None)) is not None:
        server["not_after"] = x509["not_after"] = v
    if "keysize" in fw and (n := to_int(pop("keysize"))) is not None:
        x509["public_key_size"] = n
    if (v := pop("sn", None)) is not None:
        x509["serial_number"] = v
    if (v := pop("certhash", None)) is not None:
        server["hash"] = {"sha1": v}
        add_list(doc, "related", "hash", v)
    if (v := fw.get("san")) is not None:
        x509["alternative_names"] = v.split(";")
    if (v := fw.get("cn")) is not None:
        alts = x509.setdefault("alternative_names", [])
        if v not in alts:
            alts.append(v)
    if "public_key_algorithm" in x509:
        tls.setdefault("client", {}).setdefault("x509", {})["public_key_algorithm"] = x509["public_key_algorithm"]
    if (v := pop("kxcurve", None)) is not None:
        tls["curve"] = v
    if (v := pop("cipher", None)) is not None:
        tls["cipher"] = v
    if (v := pop("sni", None)) is not None:
        tls.setdefault("client", {})["server_name"] = v
        dst = _sub(doc, "destination")
        dst.setdefault("domain", v)
    if fw.get("handshake") == "full":
        tls["established"] = True
    tv = fw.get("tlsver")
    if isinstance(tv, str):
        low = tv.lower()
        m = _TLSVER.search(low)
        if m:
            tls["version_protocol"] = low[:m.start()]
            ver = low[m.start():]
            tls["version"] = ver if "." in ver else ver + ".0"
    if x509:
        server["x509"] = x509
    if server:
        tls["server"] = server
    if tls:
        doc["tls"] = tls
