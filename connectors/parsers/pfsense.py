"""pfSense / OPNsense syslog: ``filterlog`` (pf firewall CSV, IPv4 and IPv6) and the
other programs the appliances log (openvpn, unbound, dhcpd, php-fpm, squid, charon...).

The filterlog CSV layout is documented by Netgate ("Filter Log Format"):
``rule,subrule,anchor,tracker,iface,reason,action,dir,ipver`` then IPv4
``tos,ecn,ttl,id,offset,flags,proto_id,proto,length,src,dst`` or IPv6
``class,flowlabel,hoplimit,proto,proto_id,length,src,dst``, then protocol data.
Programs without a specific mapping still give a syslog-level event (host,
process, message), never a dead letter. Mapping follows Elastic's ``pfsense``
integration.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from . import syslog_header
from ._fw_common import community_id, direction_from_ips, is_ip, registered_domain, syslog_fields, to_int
from .base import ParseContext, ParseError

NAME = "pfsense"
DATASET = "pfsense.log"

_FILTERLOG_CSV = re.compile(r"^\d+,\d*,[^,]*,[^,]*,[^,]*,[\w-]+,\w+,\w+,[46],")
_WORD = re.compile(r"\w+")
_VLAN = re.compile(r".+\.(\d+)$")
_OVPN_SOURCE = re.compile(r"(?P<ip>[0-9a-fA-F.:]+?):(?P<port>\d+)")
_OVPN_PEER = re.compile(r"^(?P<ip>[0-9a-fA-F.:]+?):(?P<port>\d+)\s+peer\s+info:\s+(?P<info>.*)$")
_OVPN_USER_BRACKET = re.compile(r"^(?P<ip>[0-9a-fA-F.:]+?):(?P<port>\d+)\s+\[(?P<user>[a-zA-Z0-9._@-]+)\]\s")
_OVPN_USER_QUOTE = re.compile(r"^user\s+'(?P<user>[a-zA-Z0-9._@-]+)'")
_OVPN_POOL = re.compile(r"^(?P<user>[a-zA-Z0-9._@-]+)/(?P<ip>[0-9a-fA-F.:]+?):(?P<port>\d+).*?IPv4=(?P<v4>[^,\s]*),\s*IPv6=(?P<v6>\S*)")
_OVPN_ANY_SOURCE = re.compile(r"(?P<ip>\d{1,3}(?:\.\d{1,3}){3}):(?P<port>\d+)\s*$")
_UNBOUND = re.compile(r"(?P<level>[a-z]+): (?P<ip>[0-9a-fA-F.:]+) (?P<name>[^\s]+?)\.? (?P<type>\w+) (?P<class>\w+)")
_PHP_LOGIN = re.compile(r"^[^:]*: (?:(?P<a1>.*?) for user '(?P<u1>[^']*)' from: (?P<ip1>[0-9a-fA-F.:]+)"
                        r"|User (?P<a2>.*?) for user '(?P<u2>[^']*)' from: (?P<ip2>[0-9a-fA-F.:]+))")
_MAC = r"[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}"
_DHCP_V4 = re.compile(
    rf"^(?P<action>[A-Z]+) (?:from (?P<mac1>{_MAC})"
    rf"|on (?P<ip2>[\d.]+) to (?P<mac2>{_MAC})(?: \((?P<host2>[^)]*)\))?"
    rf"|for (?P<ip3>[\d.]+) (?:\((?P<srv3>[\d.]+)\) )?from (?P<mac3>{_MAC})(?: \((?P<host3>[^)]*)\))?)"
    r".*? via (?P<iface>[A-Za-z0-9._]+)")
_DHCP_V6 = re.compile(r"^(?P<action>.+?) (?:from |to |for: )?(?P<ip>[0-9a-fA-F]*:[0-9a-fA-F:]+)")


def sniff(line: str) -> bool:
    head = line[:200]
    return "filterlog" in head or _FILTERLOG_CSV.match(line) is not None


def parse(line: str, ctx: ParseContext) -> dict[str, Any]:
    sl = syslog_header.split(line, ctx)
    body = sl.message
    prog = sl.appname
    if prog is None:
        if _FILTERLOG_CSV.match(body):
            prog = "filterlog"
        elif sl.timestamp is None and sl.pri is None:
            raise ParseError("not a pfSense/OPNsense record: no syslog header and not filterlog CSV")
    doc: dict[str, Any] = {
        "@timestamp": syslog_header.iso(sl.timestamp or ctx.received),
        "event": {"kind": "event", "module": "pfsense", "dataset": DATASET, "original": line},
        "observer": {"vendor": "netgate", "type": "firewall"},
    }
    syslog_fields(doc, sl)
    host = sl.hostname
    if host and host != "-":
        if is_ip(host):
            doc["observer"]["ip"] = host
        else:
            doc["observer"]["name"] = host
    if body:
        doc["message"] = body
    provider = None
    if prog:
        pname = prog[1:-1] if prog.startswith("(") and prog.endswith(")") else prog
        pname = pname.rsplit("/", 1)[-1]
        proc: dict[str, Any] = {"name": pname}
        if sl.procid and sl.procid.isdigit():
            proc["pid"] = int(sl.procid)
        doc["process"] = proc
        m = _WORD.match(pname)
        provider = m.group(0) if m else pname
        if pname.startswith("php-fpm"):
            provider = "php-fpm"
        doc["event"]["provider"] = provider
    if provider == "filterlog":
        _filterlog(doc, body)
    elif provider == "openvpn":
        _openvpn(doc, body)
    elif provider in ("dhcpd", "dhclient", "dhcp6c"):
        _dhcp(doc, body, provider)
    elif provider == "unbound":
        _unbound(doc, body)
    elif provider == "php-fpm":
        _phpfpm(doc, body)
    elif provider == "squid":
        _squid(doc, body)
    elif provider == "charon":
        doc["network"] = {"protocol": "ipsec"}
    _finish(doc)
    return doc


def _finish(doc: dict[str, Any]) -> None:
    net = doc.get("network")
    if net is not None:
        cats = doc["event"].setdefault("category", [])
        if "network" not in cats:
            cats.append("network")
    src = doc.get("source") or {}
    dst = doc.get("destination") or {}
    sip = src.get("ip")
    if sip:
        doc.setdefault("network", {})["type"] = "ipv6" if ":" in sip else "ipv4"
    rel_ip = [ip for ip in (dst.get("ip"), sip, (src.get("nat") or {}).get("ip")) if ip]
    rel: dict[str, Any] = {}
    if rel_ip:
        rel["ip"] = list(dict.fromkeys(rel_ip))
    if dst.get("domain"):
        rel["hosts"] = [dst["domain"]]
    user = (doc.get("user") or {}).get("name")
    if user:
        rel["user"] = [user]
    if rel:
        doc["related"] = rel
    if "event" in doc and not doc["event"].get("category"):
        doc["event"].pop("category", None)


def _filterlog(doc: dict[str, Any], body: str) -> None:
    f = body.rstrip().split(",")
    if len(f) < 9:
        doc["event"]["type"] = ["info"]
        return
    event = doc["event"]
    if f[3]:
        doc["rule"] = {"id": f[3]}
    iface = f[4]
    obs = doc["observer"]
    if iface:
        obs["ingress"] = {"interface": {"name": iface}}
        mv = _VLAN.match(iface)
        if mv:
            obs["ingress"]["vlan"] = {"id": mv.group(1)}
            doc["network"] = {"vlan": {"id": mv.group(1)}}
    if f[5]:
        event["reason"] = f[5]
    action = f[6]
    if action:
        event["action"] = action
    direction = f[7]
    net: dict[str, Any] = doc.setdefault("network", {})
    pf: dict[str, Any] = {}
    ip: dict[str, Any] = {}
    version = f[8]
    rest: list[str]
    if version == "4" and len(f) >= 20:
        tos, ecn, ttl, ipid, offset, flags, proto_id, proto, length, src, dst = f[9:20]
        ip["tos"] = tos
        if ecn:
            ip["ecn"] = ecn
        for k, v in (("ttl", ttl), ("id", ipid), ("offset", offset)):
            n = to_int(v)
            if n is not None:
                ip[k] = n
        if flags:
            ip["flags"] = flags
        rest = f[20:]
    elif version == "6" and len(f) >= 17:
        tos, flow, hoplimit, proto, proto_id, length, src, dst = f[9:17]
        ip["tos"] = tos
        if flow:
            ip["flow_label"] = flow
        n = to_int(hoplimit)
        if n is not None:
            ip["ttl"] = n
        rest = f[17:]
    else:
        if ip:
            pf["ip"] = ip
        event["type"] = ["info"]
        return
    pf["ip"] = ip
    proto = proto.lower()
    net["iana_number"] = proto_id
    net["transport"] = proto
    n = to_int(length)
    if n is not None:
        net["bytes"] = n
    source: dict[str, Any] = {"address": src}
    destination: dict[str, Any] = {"address": dst}
    if is_ip(src):
        source["ip"] = src
    if is_ip(dst):
        destination["ip"] = dst
    doc["source"] = source
    doc["destination"] = destination
    types = ["connection"]
    if action == "block":
        types.append("denied")
    elif action == "pass":
        types.append("allowed")
    event["type"] = types
    icmp_type: int | None = None
    if proto in ("tcp", "udp") and len(rest) >= 3:
        sp, dp = to_int(rest[0]), to_int(rest[1])
        if sp is not None:
            source["port"] = sp
        if dp is not None:
            destination["port"] = dp
        sec: dict[str, Any] = {}
        n = to_int(rest[2])
        if n is not None:
            sec["length"] = n
        if proto == "tcp":
            opt = rest[3:]
            if len(opt) >= 1 and opt[0]:
                sec["flags"] = opt[0]
            if len(opt) >= 2 and opt[1]:
                sec["seq"] = opt[1]
            if len(opt) >= 3 and (n := to_int(opt[2])) is not None:
                sec["ack"] = n
            if len(opt) >= 4 and (n := to_int(opt[3])) is not None:
                sec["window"] = n
            if len(opt) >= 5 and opt[4]:
                sec["urg"] = opt[4]
            if len(opt) >= 6 and opt[5]:
                sec["options"] = opt[5].split(";")
        pf[proto] = sec
    elif proto in ("icmp", "ipv6-icmp", "icmp6") and rest:
        icmp: dict[str, Any] = {}
        if rest[0].startswith("datalength="):
            n = to_int(rest[0][len("datalength="):])
            if n is not None:
                icmp["datalength"] = n
        else:
            icmp["type"] = rest[0]
            vals = rest[1:]
            kind = rest[0]
            if kind in ("request", "reply", "tstamp") and len(vals) >= 2:
                for k, v in zip(("id", "seq"), vals, strict=False):
                    if (n := to_int(v)) is not None:
                        icmp[k] = n
            elif kind == "tstampreply" and len(vals) >= 5:
                for k, v in zip(("id", "seq", "otime", "rtime", "ttime"), vals, strict=False):
                    if (n := to_int(v)) is not None:
                        icmp[k] = n
            elif kind in ("unreachport", "unreachproto") and len(vals) >= 2:
                icmp["destination"] = {"ip": vals[0]}
                icmp["unreachable"] = {"iana_number": vals[1]}
                if kind == "unreachport" and len(vals) >= 3 and (n := to_int(vals[2])) is not None:
                    icmp["unreachable"]["port"] = n
            elif kind == "needfrag" and len(vals) >= 2:
                icmp["destination"] = {"ip": vals[0]}
                if (n := to_int(vals[1])) is not None:
                    icmp["mtu"] = n
            elif vals:
                icmp["unreachable"] = {"other": ",".join(vals)}
            icmp_type = {"request": 8, "reply": 0}.get(kind) if proto == "icmp" else None
        pf["icmp"] = icmp
    elif proto == "igmp" and rest and rest[0].startswith("datalength="):
        n = to_int(rest[0][len("datalength="):])
        if n is not None:
            net["packets"] = n
    elif proto == "carp" and len(rest) >= 6:
        pf["carp"] = dict(zip(("type", "ttl", "vhid", "version", "advbase", "advskew"), rest[:6], strict=False))
    if pf:
        doc["pfsense"] = pf
    if direction in ("in", "out"):
        net["direction"] = direction + "bound"
    else:
        d = direction_from_ips(source.get("ip"), destination.get("ip"))
        if d:
            net["direction"] = d
    cid = community_id(source.get("ip"), destination.get("ip"), proto_id, source.get("port"),
                       destination.get("port"), icmp_type, 0)
    if cid:
        net["community_id"] = cid


def _openvpn(doc: dict[str, Any], msg: str) -> None:
    src: dict[str, Any] = {}
    user = None
    if m := _OVPN_PEER.match(msg):
        src = {"address": m.group("ip"), "port": int(m.group("port"))}
        doc["pfsense"] = {"openvpn": {"peer_info": m.group("info")}}
    elif m := _OVPN_USER_BRACKET.match(msg):
        src = {"address": m.group("ip"), "port": int(m.group("port"))}
        user = m.group("user")
    elif m := _OVPN_USER_QUOTE.match(msg):
        user = m.group("user")
    elif m := _OVPN_POOL.match(msg):
        user = m.group("user")
        src = {"address": m.group("ip"), "port": int(m.group("port"))}
        for v in (m.group("v4"), m.group("v6")):
            if is_ip(v):
                src["nat"] = {"ip": v}
                break
    elif m := _OVPN_ANY_SOURCE.search(msg):
        src = {"address": m.group("ip"), "port": int(m.group("port"))}
    elif (m2 := re.search(r"\[AF_INET6?\]([0-9a-fA-F.:]+?):(\d+)", msg)) is not None:
        src = {"address": m2.group(1), "port": int(m2.group(2))}
    event = doc["event"]
    if "auth" in msg:
        event["category"] = ["authentication"]
    low = msg.lower()
    types = []
    if src.get("address"):
        types.append("connection")
        if is_ip(src["address"]):
            src["ip"] = src["address"]
        doc["source"] = src
    if "error" in low or "not auth" in low:
        types.append("error")
    if "initiat" in low:
        types.append("start")
    types.append("info")
    event["type"] = types
    if user:
        doc["user"] = {"name": user}
    if "could not authenticate" in low or "auth_failed" in low or "authentication failed" in low:
        event["outcome"] = "failure"
    elif re.search(r"\bauthenticated\b", low):
        event["outcome"] = "success"
    doc["network"] = {"protocol": "openvpn"}


def _dhcp(doc: dict[str, Any], msg: str, provider: str) -> None:
    client: dict[str, Any] = {}
    server: dict[str, Any] = {}
    dhcp: dict[str, Any] = {}
    event = doc["event"]
    if m := _DHCP_V4.match(msg):
        event["action"] = m.group("action")
        mac = m.group("mac1") or m.group("mac2") or m.group("mac3")
        if mac:
            client["mac"] = mac.upper().replace(":", "-")
        ip = m.group("ip2") or m.group("ip3")
        if ip:
            client["address"] = ip
        if m.group("srv3"):
            server["address"] = m.group("srv3")
        hn = m.group("host2") or m.group("host3")
        if hn:
            dhcp["hostname"] = hn
        iface = m.group("iface")
        doc["observer"]["ingress"] = {"interface": {"name": iface}}
        if mv := _VLAN.match(iface):
            doc["observer"]["ingress"]["vlan"] = {"id": mv.group(1)}
            doc["network"] = {"vlan": {"id": mv.group(1)}}
    elif m := _DHCP_V6.match(msg):
        event["action"] = m.group("action").lower().replace(" ", "-")
        client["address"] = m.group("ip")
    event["type"] = ["connection", "protocol", "info"]
    net = doc.setdefault("network", {})
    v6 = provider == "dhcp6c" or ":" in client.get("address", "") or ":" in server.get("address", "")
    net["protocol"] = "dhcpv6" if v6 else "dhcp"
    net["transport"] = "udp"
    for d in (client, server):
        if is_ip(d.get("address")):
            d["ip"] = d["address"]
    if client:
        doc["client"] = client
        doc["source"] = dict(client)
    if server:
        doc["server"] = server
        doc["destination"] = dict(server)
    if dhcp:
        doc["pfsense"] = {"dhcp": dhcp}
        doc["related"] = {"hosts": [dhcp["hostname"]]}


def _unbound(doc: dict[str, Any], msg: str) -> None:
    m = _UNBOUND.search(msg)
    doc["network"] = {"protocol": "dns"}
    if not m:
        doc["event"]["type"] = ["info"]
        return
    doc["log"] = doc.get("log") or {}
    doc["log"]["level"] = m.group("level")
    src: dict[str, Any] = {"address": m.group("ip")}
    if is_ip(src["address"]):
        src["ip"] = src["address"]
    doc["source"] = src
    doc["client"] = dict(src)
    name = m.group("name").rstrip(".")
    q: dict[str, Any] = {"name": name, "type": m.group("type"), "class": m.group("class")}
    q.update(registered_domain(name))
    doc["dns"] = {"type": "question", "question": q}
    types = ["connection"]
    if "disconnected" in msg.lower():
        types.append("end")
    doc["event"]["type"] = types


def _phpfpm(doc: dict[str, Any], msg: str) -> None:
    event = doc["event"]
    event["category"] = ["authentication"]
    m = _PHP_LOGIN.match(msg)
    if m:
        action = m.group("a1") if m.group("a1") is not None else m.group("a2")
        user = m.group("u1") if m.group("u1") is not None else m.group("u2")
        ip = m.group("ip1") or m.group("ip2")
        if user:
            doc["user"] = {"name": user}
        src: dict[str, Any] = {"address": ip}
        if is_ip(ip):
            src["ip"] = ip
        doc["source"] = src
        low = (action or "").lower()
        if "success" in low:
            event["outcome"] = "success"
        elif "authentication error" in low:
            event["outcome"] = "failure"
    obs = doc["observer"]
    if "ip" in obs:
        doc.setdefault("host", {})["ip"] = obs.pop("ip")
    if "name" in obs:
        doc.setdefault("host", {})["name"] = obs.pop("name")


def _squid(doc: dict[str, Any], msg: str) -> None:
    """OPNsense's squid logs access records as ECS-like JSON."""
    doc["event"]["category"] = ["web"]
    try:
        j = json.loads(msg)
    except ValueError:
        return
    if not isinstance(j, dict):
        return
    http: dict[str, Any] = {}
    h = _obj(j, "http")
    req = _obj(h, "request")
    resp = _obj(h, "response")
    if req.get("method"):
        http["request"] = {"method": req["method"]}
    r: dict[str, Any] = {}
    if isinstance(resp.get("bytes"), int):
        r["bytes"] = resp["bytes"]
    body = _obj(resp, "body")
    status = body.get("status_code", resp.get("status_code"))
    if isinstance(status, int):
        r["status_code"] = status
        doc["event"]["outcome"] = "failure" if status >= 400 else "success"
    if r:
        http["response"] = r
    if h.get("version"):
        http["version"] = str(h["version"])
    if http:
        doc["http"] = http
    s = _obj(j, "source")
    if isinstance(s.get("ip"), str) and s["ip"]:
        doc["source"] = {"address": s["ip"], "ip": s["ip"]} if is_ip(s["ip"]) else {"address": s["ip"]}
    u = _obj(j, "url")
    if isinstance(u.get("original"), str):
        doc["url"] = _url(u["original"])
    labels = _obj(j, "labels")
    sq = {k: labels[k] for k in ("request_status", "hierarchy_status") if isinstance(labels.get(k), str)}
    if sq:
        doc["squid"] = sq
    user = _obj(j, "user")
    if isinstance(user.get("name"), str) and user["name"] not in ("", "-"):
        doc["user"] = {"name": user["name"]}


def _obj(d: dict[str, Any], key: str) -> dict[str, Any]:
    v = d.get(key)
    return v if isinstance(v, dict) else {}


def _url(original: str) -> dict[str, Any]:
    out: dict[str, Any] = {"original": original}
    if "://" not in original:
        # CONNECT host:port
        host, _, port_text = original.rpartition(":")
        if host and port_text.isdigit():
            out.update({"domain": host, "port": int(port_text)})
        return out
    try:
        u = urlsplit(original)
        port = u.port
    except ValueError:
        return out
    out["scheme"] = u.scheme
    if u.hostname:
        out["domain"] = u.hostname
    if port is not None:
        out["port"] = port
    if u.path:
        out["path"] = u.path
        last = u.path.rsplit("/", 1)[-1]
        if "." in last:
            out["extension"] = last.rsplit(".", 1)[-1]
    if u.query or original.endswith("?"):
        out["query"] = u.query
    if u.fragment:
        out["fragment"] = u.fragment
    return out
