"""Palo Alto Networks PAN-OS syslog (CSV): TRAFFIC, THREAT, SYSTEM, CONFIG, GLOBALPROTECT, HIPMATCH,
USERID, AUTHENTICATION, DECRYPTION, GTP, SCTP, tunnel inspection (START/END), IPTAG, CORRELATION, audit.

Columns follow Palo Alto's documented syslog field order (see ``_fw_panos_fields``);
ECS mapping, ``event.*`` categorisation and ``panw.panos.*`` names follow Elastic's ``panw``
integration. Unknown log types and short records still give an event (type, subtype,
serial, times) rather than a dead letter.
"""

from __future__ import annotations

import csv
import re
from datetime import datetime, timedelta, tzinfo
from typing import Any

from . import syslog_header
from ._fw_common import TRANSPORT_IANA, add_list, clean_ip, community_id, syslog_fields, to_int
from ._fw_panos_fields import LAYOUTS
from .base import ParseContext, ParseError

NAME = "panos"
DATASET = "panw.panos"

_HEAD = re.compile(r"^[^,]*,(?:\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}|[^,]*),[^,]*,[A-Z][A-Z0-9_-]*,")
_AUDIT = re.compile(r"^[^,]*,\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2},audit,")
_USER_RE = re.compile(r"^(?:(?P<dom>[^\\@]+)\\{1,2})?(?P<name>[^\\@]+?)(?:@(?P<dom2>[^\\@]+))?$")
_THREAT_ID = re.compile(r"^(?P<name>.*?)\(\s*(?P<id>\d+)\s*\)$")
_INT_FIELDS = frozenset((
    "repeat_count", "source.port", "destination.port", "source.nat.port", "destination.nat.port", "network.bytes",
    "bytes_sent", "bytes_received", "network.packets", "packets_sent", "packets_received", "elapsed_time", "timeout",
    "error_code", "factorno", "sctp.chunks", "sctp.chunks_sent", "sctp.chunks_received", "max_encapsulation",
    "unknown_protocol", "strict_check", "tunnel_fragment", "sessions.closed", "sessions.created",
    "application.risk_level", "response_time", "login_duration", "link.change_count", "certificate.size",
    "issuer_common_name.length", "root_common_name.length", "subject_common_name.length",
    "server_name_indication.length",
))
_DATE_FIELDS = ("start_time", "parent_session.start_time", "factorcompletiontime", "certificate.not_before",
                "certificate.not_after")
#: Copies into ECS that Elastic removes from ``panw.panos`` afterwards (no duplicates kept).
_DROP_DUPLICATES = frozenset((
    "bytes_received", "bytes_sent", "certificate.not_after", "certificate.not_before", "certificate.serial_number",
    "certificate.size", "certificate.version", "client.os", "client.os_version", "destination.ip",
    "destination.nat.ip", "destination.nat.port", "destination.port", "destination.zone", "device_name",
    "elapsed_time", "elliptic_curve", "event.id", "event.reason", "event.status", "file.type", "host.id", "host.ip",
    "http_method", "inbound_interface", "location", "login_duration", "machine.mac_address", "machine.name",
    "machine.os", "misc", "network.application", "network.bytes", "network.packets", "normalize_user",
    "outbound_interface", "packets_received", "packets_sent", "private.ip", "protocol", "public.ip", "recipient",
    "referrer", "rule_uuid", "sender", "server_name_indication.value", "severity", "source.ip", "source.nat.ip",
    "source.nat.port", "source.port", "source.zone", "start_time", "tls.encryption", "tunnel_inspection_rule",
    "user_by_source", "subject_common_name.value", "issuer_common_name.value",
))
_ALLOWED = frozenset(("alert", "allow", "continue"))
_DENIED = frozenset(("deny", "drop", "reset-client", "reset-server", "reset-both", "block-url", "block-ip",
                     "random-drop", "sinkhole", "block", "drop-icmp"))
_SUBTYPE_ACTION = {"data": "data_match", "file": "file_match", "flood": "flood_detected", "packet": "packet_attack",
                   "scan": "scan_detected", "spyware": "spyware_detected", "url": "url_filtering",
                   "virus": "virus_detected", "vulnerability": "exploit_detected", "wildfire": "wildfire_verdict",
                   "wildfire-virus": "wildfire_virus_detected"}
_FLOW = {"start": ("flow_started", ["start", "connection"]), "end": ("flow_terminated", ["end", "connection"]),
         "drop": ("flow_dropped", ["denied", "connection"]), "deny": ("flow_denied", ["denied", "connection"])}
_SEVERITY = {"critical": 1, "high": 2, "medium": 3, "low": 4, "informational": 5}
_CATEGORY = {"TRAFFIC": ["network"], "THREAT": ["intrusion_detection", "threat", "network"],
             "SYSTEM": ["configuration"], "CONFIG": ["configuration"], "GLOBALPROTECT": ["network"],
             "HIPMATCH": ["network"], "HIP-MATCH": ["network"], "USERID": ["network", "iam"],
             "AUTHENTICATION": ["authentication"], "DECRYPTION": ["network"], "GTP": ["network", "malware"],
             "SCTP": ["network"], "START": ["network"], "END": ["network"], "IPTAG": ["network"],
             "CORRELATION": ["threat"], "audit": ["configuration"]}
_LABELS = {"pcap_included": 0x80000000, "connect_to_destination_host": 0x40000000,
           "file_submitted_to_WildFire": 0x20000000, "enterprise_credential_submission": 0x10000000,
           "source_flow_allow_list": 0x08000000, "ipv6_session": 0x02000000, "ssl_decrypted": 0x01000000,
           "url_filter_denied": 0x00800000, "nat_translated": 0x00400000, "captive_portal": 0x00200000,
           "non_standard_port_usage": 0x00100000, "x_forwarded_for": 0x00080000, "http_proxy": 0x00040000,
           "client_server_policy_based_forwarding": 0x00020000,
           "server_client_policy_based_forwarding": 0x00010000, "container_page": 0x00008000,
           "temporary_match": 0x00002000, "symmetric_return": 0x00000800, "decrypted_traffic": 0x00000400,
           "payload_outer_tunnel": 0x00000100}


def sniff(line: str) -> bool:
    i = line.find(",")
    if i < 0:
        return False
    j = line.rfind(" ", 0, i)
    rest = line[j + 1:] if j >= 0 else line
    return bool(_HEAD.match(rest) or _AUDIT.match(rest))


def _time(text: str | None, tz: tzinfo) -> datetime | None:
    """``yyyy/MM/dd HH:mm:ss`` (zone from the source) or ISO 8601 with offset."""
    if not text:
        return None
    t = text.strip()
    if len(t) == 19 and t[4] == "/" and t[7] == "/" and t[13] == ":" and t[16] == ":":
        try:  # without strptime, which costs ten times more
            return datetime(int(t[:4]), int(t[5:7]), int(t[8:10]), int(t[11:13]), int(t[14:16]), int(t[17:19]),
                            tzinfo=tz)
        except ValueError:
            return None
    if len(t) >= 19 and t[4] == "-":
        return syslog_header.parse_iso(t, tz)
    return None


def _split(body: str) -> list[str]:
    if '"' not in body and "{" not in body:
        return body.split(",")
    if "{" in body:
        # Link Switches are a brace-wrapped list whose commas are not separators.
        out, depth, quoted = [], 0, False
        for ch in body:
            if ch == '"':
                quoted = not quoted
            elif not quoted and ch == "{":
                depth += 1
            elif not quoted and ch == "}" and depth:
                depth -= 1
            elif not quoted and depth and ch == ",":
                out.append("\x1f")
                continue
            out.append(ch)
        if depth == 0:
            body = "".join(out)
    try:
        row = next(csv.reader([body]))
    except (csv.Error, StopIteration):
        return body.split(",")
    return [c.replace("\x1f", ",") for c in row]


def _after_commas(text: str, n: int) -> str:
    """The raw text after the ``n``-th comma (Elastic keeps it as ``message``)."""
    pos = -1
    for _ in range(n):
        pos = text.find(",", pos + 1)
        if pos < 0:
            return ""
    return text[pos + 1:]


_PARTS: dict[str, list[str]] = {}


def _put(d: dict[str, Any], path: str, value: Any) -> None:
    parts = _PARTS.get(path)
    if parts is None:
        parts = path.split(".")
        if len(_PARTS) < 4096:
            _PARTS[path] = parts
    cur = d
    for p in parts[:-1]:
        nxt = cur.get(p)
        if not isinstance(nxt, dict):
            nxt = cur[p] = {}
        cur = nxt
    cur[parts[-1]] = value


def _user(doc: dict[str, Any], side: str, raw: str | None) -> None:
    if not raw:
        return
    m = _USER_RE.match(raw.strip())
    user: dict[str, Any] = {}
    if m:
        user["name"] = m.group("name")
        dom = m.group("dom") or m.group("dom2")
        if dom:
            user["domain"] = dom
    else:
        user["name"] = raw.strip()
    doc.setdefault(side, {})["user"] = user


def parse(line: str, ctx: ParseContext) -> dict[str, Any]:
    sl = syslog_header.split(line, ctx, expect_tag=False)
    body = sl.message
    if not _HEAD.match(body) and not _AUDIT.match(body):
        # "host 1,2020/..." when the header had no host name, or a leading tag.
        sp = body.find(" ")
        if sp > 0 and (_HEAD.match(body[sp + 1:]) or _AUDIT.match(body[sp + 1:])):
            if not sl.hostname:
                sl.hostname = body[:sp].rstrip(":")
            body = body[sp + 1:]
        else:
            raise ParseError("not a PAN-OS CSV record: expected 'n,receive time,serial,TYPE,...'")
    f = _split(body.rstrip("\r\n"))
    if len(f) < 4:
        f = body.rstrip("\r\n").split(",")
    doc: dict[str, Any] = {"event": {"kind": "event", "module": "panw", "dataset": DATASET, "original": line}}
    event = doc["event"]
    observer: dict[str, Any] = {"vendor": "Palo Alto Networks", "product": "PAN-OS", "type": "firewall"}
    doc["observer"] = observer
    syslog_fields(doc, sl)
    if sl.hostname:
        if clean_ip(sl.hostname):
            observer["ip"] = sl.hostname
        else:
            observer["hostname"] = sl.hostname
    p: dict[str, Any] = {}
    tz = ctx.tz
    if len(f) >= 3 and f[2] == "audit":
        ptype = "audit"
        if f[0]:
            observer["serial_number"] = f[0]
        gen_text: str | None = f[1]
        rest = f[3:]
        for name, val in zip(("event.code", "event.id", "user.name", "event.action", "event.outcome"), rest,
                             strict=False):
            if val:
                _put(p, name, val)
        msg = _after_commas(body, 3)
        received_text: str | None = None
        p["type"] = "audit"
    else:
        ptype = f[3]
        subtype: str = f[4] if len(f) > 4 else ""
        p["type"] = ptype
        if subtype:
            p["sub_type"] = subtype
        if f[2]:
            observer["serial_number"] = f[2]
        received_text = f[1]
        gen_text = f[6] if len(f) > 6 else None
        if len(f) > 5 and f[5] and ptype == "DECRYPTION":
            p["config_version"] = f[5]
        msg = _after_commas(body, 7)
        rest = f[7:]
        layout = LAYOUTS.get(ptype)
        if layout is not None:
            for col, val in zip(layout, rest, strict=False):
                if col is None or val == "":
                    continue
                p[col] = val
    if msg:
        doc["message"] = msg
    hires = _time(p.pop("_high_res_timestamp", None), tz)
    if hires is not None:
        p["high_resolution_timestamp"] = syslog_header.iso(hires)
        if hires.year >= 2000 and hires.tzinfo is not tz:
            # PAN-OS 10+ writes the device's UTC offset here: use it for the naive times too.
            tz = hires.tzinfo or tz
    gen = _time(gen_text, tz)
    received = _time(received_text, tz)
    ts = gen or (hires if hires is not None and hires.year >= 2000 else None) or sl.timestamp or ctx.received
    doc["@timestamp"] = syslog_header.iso(ts)
    if received is not None:
        event["created"] = syslog_header.iso(received)
    _map(doc, p, ptype, tz)
    return doc


def _map(doc: dict[str, Any], p: dict[str, Any], ptype: str, tz: tzinfo) -> None:
    event = doc["event"]
    observer = doc["observer"]
    cats = _CATEGORY.get(ptype)
    if cats:
        event["category"] = list(cats)
    if ptype in ("THREAT", "CORRELATION"):
        event["kind"] = "alert"
    for k in _INT_FIELDS & p.keys():
        n = to_int(p[k])
        if n is None:
            del p[k]
        else:
            p[k] = n
    for k in _DATE_FIELDS:
        if k in p:
            dt = _time(p[k], tz)
            if dt is None:
                del p[k]
            else:
                p[k] = syslog_header.iso(dt)
    src: dict[str, Any] = {}
    dst: dict[str, Any] = {}
    net: dict[str, Any] = {}
    for key, side, f in (("source.ip", src, "ip"), ("destination.ip", dst, "ip")):
        ip = clean_ip(p.get(key))
        if ip:
            side[f] = ip
        elif key in p:
            del p[key]
    for key, side in (("source.nat.ip", src), ("destination.nat.ip", dst)):
        ip = clean_ip(p.get(key))
        if ip:
            side.setdefault("nat", {})["ip"] = ip
    for key, side in (("source.nat.port", src), ("destination.nat.port", dst)):
        if key in p:
            side.setdefault("nat", {})["port"] = p[key]
    for key, side, f in (("source.port", src, "port"), ("destination.port", dst, "port"),
                         ("bytes_sent", src, "bytes"), ("bytes_received", dst, "bytes"),
                         ("packets_sent", src, "packets"), ("packets_received", dst, "packets")):
        if key in p:
            side[f] = p[key]
    for key, f in (("network.bytes", "bytes"), ("network.packets", "packets")):
        if key in p:
            net[f] = p[key]
    if "network.application" in p:
        net["application"] = p["network.application"].lower()
    if "protocol" in p:
        net["transport"] = p["protocol"].lower()
    for key, path in (("inbound_interface", ("ingress", "interface")), ("outbound_interface", ("egress", "interface"))):
        if key in p:
            observer.setdefault(path[0], {})["interface"] = {"name": p[key]}
    for key, obs_side in (("source.zone", "ingress"), ("destination.zone", "egress")):
        if key in p:
            observer.setdefault(obs_side, {})["zone"] = p[key]
    if "device_name" in p:
        observer["hostname"] = p["device_name"]
    rule: dict[str, Any] = {}
    if "rule_uuid" in p:
        rule["uuid"] = p["rule_uuid"]
    if "tunnel_inspection_rule" in p:
        rule["name"] = p["tunnel_inspection_rule"]
    elif "ruleset" in p:
        rule["name"] = p["ruleset"]
    if "start_time" in p and ptype in ("TRAFFIC", "GTP", "START", "END"):
        event["start"] = p["start_time"]
    if "elapsed_time" in p and ptype in ("TRAFFIC", "GTP", "START", "END"):
        nanos = p["elapsed_time"] * 1_000_000_000
        event["duration"] = nanos
        if "start" in event:
            st = datetime.fromisoformat(event["start"].replace("Z", "+00:00"))
            event["end"] = syslog_header.iso(st + timedelta(seconds=p["elapsed_time"]))
    for key, side, loc in (("_srcloc", src, "source"), ("_dstloc", dst, "destination")):
        v = p.pop(key, None)
        if v:
            side.setdefault("geo", {})["name"] = v
            _put(p, f"{loc}.location", v)
    _user(doc, "source", p.pop("_srcuser", None))
    _user(doc, "destination", p.pop("_dstuser", None))
    if "user_by_source" in p:
        doc.setdefault("source", {}).setdefault("user", {})["name"] = p["user_by_source"]
    if "_user" in p or "normalize_user" in p:
        names = list(dict.fromkeys(v for v in (p.pop("_user", None), p.get("normalize_user")) if v))
        if names:
            doc.setdefault("source", {})["user"] = {"name": names[0] if len(names) == 1 else names}
            p["user"] = names[0]
    # doc may already hold source/destination users; merge with the address parts.
    if "source" in doc:
        src = {**doc["source"], **src}
    if "destination" in doc:
        dst = {**doc["destination"], **dst}
    if "user" in src and src["user"].get("name") is not None and not isinstance(src["user"]["name"], list):
        _put(p, "source.user", src["user"]["name"])
        doc["user"] = dict(src["user"])
    if "user" in dst:
        _put(p, "destination.user", dst["user"]["name"])

    labels_raw = p.pop("_labels", None)
    if labels_raw:
        try:
            val = int(labels_raw, 16) if labels_raw.lower().startswith("0x") else int(labels_raw)
        except ValueError:
            val = 0
        labels = {k: True for k, bit in _LABELS.items() if val & bit}
        if labels:
            doc["labels"] = labels

    action = p.get("action")
    if isinstance(action, str):
        action = {"drop icmp": "drop-icmp", "drop ICMP": "drop-icmp", "reset both": "reset-both",
                  "reset client": "reset-client", "reset server": "reset-server"}.get(action, action)
        p["action"] = action
    types: list[str] = []
    if action in _ALLOWED:
        types.append("allowed")
    elif action in _DENIED:
        types.append("denied")
    sub = p.get("sub_type")
    if ptype in ("TRAFFIC", "GTP", "START", "END", "SCTP") and sub in _FLOW:
        event["action"], extra = _FLOW[sub]
        types += extra
    if ptype in ("THREAT", "GLOBALPROTECT") and sub in _SUBTYPE_ACTION:
        event["action"] = _SUBTYPE_ACTION[sub]
    if types:
        event["type"] = list(dict.fromkeys(types))

    sev = p.get("severity")
    if sev is not None and ptype in ("THREAT", "SYSTEM", "GTP", "SCTP", "START", "END", "CORRELATION"):
        doc.setdefault("log", {})["level"] = sev
        if sev in _SEVERITY:
            event["severity"] = _SEVERITY[sev]

    if ptype in ("TRAFFIC", "START", "END"):
        event["outcome"] = "success" if action == "allow" else "failure"
    elif ptype == "THREAT":
        _threat(doc, p, src, dst, net)
    elif ptype == "SYSTEM":
        if "event.id" in p:
            event["code"] = p["event.id"]
    elif ptype == "CONFIG":
        cmd = p.get("cmd")
        if cmd in ("add", "clone", "commit", "delete", "edit", "move", "rename", "set"):
            event["action"] = f"cmd-{cmd}"
        result = p.get("result")
        event["outcome"] = "success" if result == "Succeeded" else "failure" if result == "Failed" else "unknown"
        if clean_ip(p.get("host.ip")):
            doc["host"] = {"ip": p["host.ip"]}
    elif ptype == "GLOBALPROTECT":
        _globalprotect(doc, p, src)
    elif ptype in ("HIPMATCH", "HIP-MATCH"):
        v6 = p.pop("_source_ipv6", None)
        if v6 and v6 != "0.0.0.0" and clean_ip(v6):
            src["ip"] = clean_ip(v6)
            _put(p, "source.ipv6", v6)
        host: dict[str, Any] = {}
        if "host.id" in p:
            host["id"] = p["host.id"]
        if "machine.mac_address" in p:
            host["mac"] = p["machine.mac_address"].replace(":", "-").replace(".", "-").upper()
        if "machine.name" in p:
            host["name"] = p["machine.name"].lower()
        if "machine.os" in p:
            host["os"] = {"full": p["machine.os"]}
        if host:
            doc["host"] = host
    elif ptype == "SCTP":
        if "serial_number" in observer:
            p["serial_number"] = observer["serial_number"]
    elif ptype in ("USERID", "IPTAG"):
        if "event.id" in p:
            event["code"] = p["event.id"]
    elif ptype == "AUTHENTICATION":
        event["outcome"] = "success"
    elif ptype == "DECRYPTION":
        _decryption(doc, p)
    elif ptype == "audit":
        ip = clean_ip(observer.get("ip"))
        if ip:
            src["ip"] = ip

    if "_user_agent" in p:
        p["user_agent"] = p.pop("_user_agent")
    if "http2_connection" in p and p["http2_connection"] not in ("0", 0):
        doc.setdefault("http", {})["version"] = "2"
    if "ip" in src:
        net.setdefault("type", "ipv6" if ":" in src["ip"] else "ipv4")
    if net.get("transport") in TRANSPORT_IANA and "community_id" not in net:
        proto = TRANSPORT_IANA[net["transport"]]
        if src.get("port") and dst.get("port"):
            cid = community_id(src.get("ip"), dst.get("ip"), proto, src.get("port"), dst.get("port"))
            if cid:
                net["community_id"] = cid
        sn, dn = src.get("nat") or {}, dst.get("nat") or {}
        if sn.get("port") and dn.get("port"):
            ncid = community_id(sn.get("ip"), dn.get("ip"), proto, sn.get("port"), dn.get("port"))
            if ncid:
                _put(p, "network.nat.community_id", ncid)
                if "community_id" in net and ncid != net["community_id"]:
                    net["community_id"] = [net["community_id"], ncid]
    tn = p.get("threat.name")
    if isinstance(tn, str):
        m = _THREAT_ID.match(tn)
        if m:
            p["threat.name"], p["threat.id"] = m.group("name"), m.group("id")
        if p.get("threat.id") == "9999":
            p["threat.name"] = "URL-filtering"

    # related.*
    rel: dict[str, Any] = {}
    for ip in (src.get("ip"), dst.get("ip"), (src.get("nat") or {}).get("ip"), (dst.get("nat") or {}).get("ip"),
               (doc.get("host") or {}).get("ip"), clean_ip(p.get("xff.ip")), net.get("forwarded_ip"),
               clean_ip(p.get("remote_user.ip")), clean_ip(p.get("end_ip_address"))):
        if ip not in ("0.0.0.0", "::"):
            add_list(rel, "r", "ip", ip)
    su = (src.get("user") or {}).get("name")
    for u in (su if isinstance(su, list) else [su]):
        add_list(rel, "r", "user", u)
    add_list(rel, "r", "user", (dst.get("user") or {}).get("name"))
    for h in (observer.get("hostname"), (doc.get("host") or {}).get("name"), p.get("dst.host"), p.get("src.host")):
        add_list(rel, "r", "hosts", h)
    if "file.hash" in p:
        add_list(rel, "r", "hash", p["file.hash"])

    # Drop NAT fields when no translation was done (0.0.0.0:0).
    for side in (src, dst):
        nat = side.get("nat")
        if nat and nat.get("ip", "0.0.0.0") == "0.0.0.0" and not nat.get("port"):
            del side["nat"]
    if src:
        doc["source"] = src
    if dst:
        doc["destination"] = dst
    if net:
        doc["network"] = net
    if rule:
        doc["rule"] = rule
    if rel:
        doc["related"] = rel["r"]
    for k in _DROP_DUPLICATES & p.keys():
        del p[k]
    out: dict[str, Any] = {}
    for k, v in p.items():
        if k.startswith("_"):
            continue
        _put(out, k, v)
    doc["panw"] = {"panos": out}


def _threat(doc: dict[str, Any], p: dict[str, Any], src: dict[str, Any], dst: dict[str, Any],
            net: dict[str, Any]) -> None:
    event = doc["event"]
    d = p.pop("_direction", None)
    if d is not None:
        p["network.direction"] = d
    net["direction"] = ("inbound" if d in ("0", "client-to-server") else
                        "outbound" if d in ("1", "server-to-client") else "unknown")
    event["outcome"] = "success" if p.get("action") in _ALLOWED else "failure"
    fwd = p.pop("_forwarded_ip", None)
    if fwd:
        if clean_ip(fwd):
            net["forwarded_ip"] = clean_ip(fwd)
        else:
            p["x_forwarded_for"] = fwd
    if "recipient" in p:
        dst.setdefault("user", {})["email"] = p["recipient"]
    if "sender" in p:
        src.setdefault("user", {})["email"] = p["sender"]
    if "file.type" in p:
        doc.setdefault("file", {})["type"] = p["file.type"]
    req: dict[str, Any] = {}
    if "http_method" in p:
        req["method"] = p["http_method"]
    if "referrer" in p:
        req["referrer"] = p["referrer"]
    if req:
        doc.setdefault("http", {})["request"] = req
    sub = p.get("sub_type")
    misc = p.get("misc")
    if isinstance(misc, str):
        if sub == "url" or (sub in ("virus", "vulnerability") and "/" in misc):
            doc["url"] = _url(misc, dst)
        if sub == "file" and ("/" in misc or "\\" in misc):
            idx = max(misc.rfind("/"), misc.rfind("\\"))
            doc.setdefault("file", {}).update({"path": misc, "name": misc[idx + 1:]})
        elif sub in ("file", "virus", "vulnerability") and "/" not in misc and "\\" not in misc:
            doc.setdefault("file", {})["name"] = misc
        if sub == "vulnerability" and (doc.get("file") or {}).get("name"):
            doc.pop("url", None)
    if "url_category_list" in p:
        p["url_category_list"] = [c for c in p["url_category_list"].strip().split(",") if c]


def _url(original: str, dst: dict[str, Any]) -> dict[str, Any]:
    """Elastic's scheme-less URL split for THREAT ``misc``."""
    url: dict[str, Any] = {"original": original}
    domain_port = original
    slash = original.find("/")
    if slash >= 0:
        domain_port = original[:slash]
        after = original[slash:]
        q = after.find("?")
        url["path"] = after if q < 0 else after[:q]
        if q >= 0:
            url["query"] = after[q + 1:]
        dot = url["path"].rfind(".")
        if dot >= 0:
            url["extension"] = url["path"][dot + 1:]
    else:
        q = original.find("?")
        if q >= 0:
            domain_port = original[:q]
            url["query"] = original[q + 1:]
    if ":" in domain_port:
        host, _, port = domain_port.partition(":")
        url["domain"] = host
        if port.isdigit():
            url["port"] = int(port)
    else:
        url["domain"] = domain_port
        dst["domain"] = domain_port
    return url


def _globalprotect(doc: dict[str, Any], p: dict[str, Any], src: dict[str, Any]) -> None:
    event = doc["event"]
    priv6 = p.pop("_private_ipv6", None)
    pub6 = p.pop("_public_ipv6", None)
    ip = clean_ip(p.get("private.ip"))
    if (not ip or ip == "0.0.0.0") and priv6 and priv6 != "0.0.0.0":
        ip = clean_ip(priv6)
    if ip:
        src["ip"] = ip
        doc.setdefault("host", {})["ip"] = ip
    nat = clean_ip(p.get("public.ip"))
    if (not nat or nat == "0.0.0.0") and pub6 and pub6 != "0.0.0.0":
        nat = clean_ip(pub6)
    if nat:
        src.setdefault("nat", {})["ip"] = nat
    if priv6:
        _put(p, "private.ipv6", priv6)
    if pub6:
        _put(p, "public.ipv6", pub6)
    if "event.id" in p:
        event["code"] = p["event.id"]
    if "login_duration" in p:
        event["duration"] = p["login_duration"]
    if "event.status" in p:
        event["outcome"] = p["event.status"]
    if "event.reason" in p:
        event["reason"] = p["event.reason"]
    host = doc.setdefault("host", {})
    if "host.id" in p:
        host["id"] = p["host.id"]
    if "machine.name" in p:
        host["name"] = p["machine.name"]
    os_: dict[str, Any] = {}
    if "client.os" in p:
        os_["family"] = p["client.os"]
    if "client.os_version" in p:
        os_["full"] = p["client.os_version"]
    if os_:
        host["os"] = os_
    if not host:
        doc.pop("host")
    if "location" in p:
        doc["observer"]["geo"] = {"name": p["location"]}


def _decryption(doc: dict[str, Any], p: dict[str, Any]) -> None:
    event = doc["event"]
    event["outcome"] = "failure" if p.get("error_message") else "success"
    tls: dict[str, Any] = {}
    client: dict[str, Any] = {}
    x509: dict[str, Any] = {}
    if "subject_common_name.value" in p:
        x509["subject"] = {"common_name": [p["subject_common_name.value"]]}
    if "issuer_common_name.value" in p:
        x509["issuer"] = {"common_name": [p["issuer_common_name.value"]]}
    if "tls.encryption" in p:
        tls["cipher"] = p["tls.encryption"]
    if "certificate.not_after" in p:
        client["not_after"] = p["certificate.not_after"]
    if "certificate.not_before" in p:
        client["not_before"] = p["certificate.not_before"]
    if "server_name_indication.value" in p:
        client["server_name"] = p["server_name_indication.value"]
    if "certificate.size" in p:
        x509["public_key_size"] = p["certificate.size"]
    if "certificate.serial_number" in p:
        x509["serial_number"] = p["certificate.serial_number"]
    if "certificate.version" in p:
        x509["version_number"] = p["certificate.version"]
    if "elliptic_curve" in p:
        tls["curve"] = p["elliptic_curve"]
    h = p.pop("_hash", None)
    if h:
        p["hash"] = h
        kind = {32: "md5", 40: "sha1", 64: "sha256"}.get(len(h))
        if kind:
            client["hash"] = {kind: h}
    t = p.pop("_tls", None)
    if t and len(t) >= 6:
        tls["version_protocol"] = t[:3].lower()
        tls["version"] = t[3:6]
        _put(p, "tls.version", t)
    if x509:
        client["x509"] = x509
    if client:
        tls["client"] = client
    if tls:
        doc["tls"] = tls
