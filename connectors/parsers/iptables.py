"""Linux netfilter (iptables/nftables ``LOG`` target) kernel lines, including UFW and Ubiquiti prefixes.

``[prefix] IN=eth0 OUT= MAC=dst:src:type SRC=... DST=... LEN= TOS= PREC= TTL= ID= [DF]
PROTO=TCP SPT= DPT= WINDOW= RES= SYN URGP=0``, with or without a syslog header or the
``kernel:`` tag. The log prefix gives the action: ``[UFW BLOCK]``, ``DROP_INPUT:``,
Ubiquiti ``[ruleset-rule-D]``. Mapping follows Elastic's ``iptables`` integration.
"""

from __future__ import annotations

import re
from typing import Any

from . import syslog_header
from ._fw_common import TRANSPORT_IANA, community_id, syslog_fields
from .base import ParseContext, ParseError

NAME = "iptables"
DATASET = "iptables.log"

_IN = re.compile(r"(?<![A-Za-z0-9_])IN=\S* OUT=")
_KTIME = re.compile(r"^\[\s*\d+\.\d+\]\s*")
_UBNT = re.compile(r"\[([^\[\]]*)-([^-\[\]]*)-([^-\[\]]*)\]\s*")
_UFW = re.compile(r"\[UFW ([A-Z ]+)\]")
_WORD_ACTION = re.compile(r"(?:^|\s)(?:iptables\s+)?([A-Za-z][\w-]*):?\s*$")
_TCP_FLAGS = frozenset(("CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN"))
_FRAG_FLAGS = frozenset(("CE", "DF", "MF"))
_ACTION_TYPE = {"drop": "denied", "deny": "denied", "drop_input": "denied", "block": "denied", "reject": "denied",
                "accept": "allowed", "allow": "allowed"}
_UBNT_ACTION = {"d": "drop", "a": "accept", "r": "reject"}
_ETHER = {"08:00": "ipv4", "86:dd": "ipv6"}


def sniff(line: str) -> bool:
    return " SRC=" in line and " DST=" in line and _IN.search(line) is not None


def _hex(v: str) -> int | None:
    try:
        return int(v[2:] if v[:2] in ("0x", "0X") else v, 16)
    except ValueError:
        return None


def _int(v: str) -> int | None:
    return int(v) if v.isdigit() else None


def _mac(m: str) -> str:
    return m.upper().replace(":", "-")


def parse(line: str, ctx: ParseContext) -> dict[str, Any]:
    sl = syslog_header.split(line, ctx, expect_tag=False)
    msg = sl.message
    m = _IN.search(msg)
    if m is None:
        raise ParseError("not a netfilter log line: no 'IN=... OUT=' fields")
    prefix = msg[:m.start()].strip()
    rest = msg[m.start():]
    # Drop the nested packet of ICMP errors ("[SRC=... ]"): it describes the offending packet.
    br = rest.find(" [SRC=")
    if br >= 0:
        rest = rest[:br]

    doc: dict[str, Any] = {"@timestamp": syslog_header.iso(sl.timestamp or ctx.received)}
    event: dict[str, Any] = {"kind": "event", "module": "iptables", "dataset": DATASET, "category": ["network"],
                             "original": line}
    doc["event"] = event
    syslog_fields(doc, sl)
    observer: dict[str, Any] = {}
    if sl.hostname:
        observer["name"] = sl.hostname
    # Like Elastic: the message is what follows the syslog timestamp (host name included).
    doc["message"] = f"{sl.hostname} {msg}" if sl.hostname else msg

    # Prefix: "[host] kernel: [123.4] [UFW BLOCK] " / "iptables DROP_INPUT:" / "[wan-lan-default-D]".
    p = prefix
    ki = p.find("kernel:")
    if ki >= 0:
        if not observer and ki > 0:
            observer["name"] = p[:ki].split()[-1]
        sysl = doc.setdefault("log", {}).setdefault("syslog", {})
        sysl.setdefault("appname", "kernel")
        p = p[ki + 7:].strip()
    p = _KTIME.sub("", p)
    ipt: dict[str, Any] = {}
    rule: dict[str, Any] = {}
    action: str | None = None
    if p:
        ipt["prefix"] = p
        lb = p.rfind("[")
        mu = _UBNT.fullmatch(p, lb) if lb >= 0 else None
        if mu:
            rule_set, rule_no, act = mu.groups()
            ub: dict[str, Any] = {"rule_set": rule_set, "rule_number": rule_no}
            z = rule_set.split("-")
            if len(z) == 2:
                ub["input_zone"], ub["output_zone"] = z
                observer["ingress"] = {"zone": z[0]}
                observer["egress"] = {"zone": z[1]}
            ipt["ubiquiti"] = ub
            rule = {"id": rule_no, "name": rule_set}
            action = _UBNT_ACTION.get(act.lower(), act.lower()) if act else None
        elif mf := _UFW.search(p):
            action = mf.group(1).strip().lower().replace(" ", "-")
            rule = {"name": "UFW " + mf.group(1).strip()}
        elif mw := _WORD_ACTION.search(p):
            action = mw.group(1).lower()
    if action:
        event["action"] = action

    src: dict[str, Any] = {}
    dst: dict[str, Any] = {}
    net: dict[str, Any] = {}
    tcp: dict[str, Any] = {}
    udp: dict[str, Any] = {}
    icmp: dict[str, Any] = {}
    frag: list[str] = []
    tflags: list[str] = []
    in_payload = False
    transport = ""
    toks = rest.split()
    i = 0
    n = len(toks)
    while i < n:
        tok = toks[i]
        i += 1
        k, eq, v = tok.partition("=")
        if not eq:
            if tok in _TCP_FLAGS and in_payload:
                tflags.append(tok)
            elif tok in _FRAG_FLAGS and not in_payload:
                frag.append(tok)
            elif tok == "INCOMPLETE" and i < n and toks[i].startswith("["):
                val = _int(toks[i][1:])
                if val is not None:
                    ipt["incomplete_bytes"] = val
                i += 2
            elif tok == "FRAG:" and i < n:
                val = _int(toks[i])
                if val is not None:
                    ipt["fragment_offset"] = val
                i += 1
            continue
        if not in_payload:
            if k == "IN":
                ipt["input_device"] = v
            elif k == "OUT":
                ipt["output_device"] = v
            elif k == "MAC":
                parts = v.split(":")
                if len(parts) >= 6:
                    dst["mac"] = _mac(":".join(parts[:6]))
                if len(parts) >= 12:
                    src["mac"] = _mac(":".join(parts[6:12]))
                if len(parts) >= 14:
                    et = ":".join(parts[12:14]).lower()
                    ev = _hex(et.replace(":", ""))
                    if ev is not None:
                        ipt["ether_type"] = ev
                    if et in _ETHER:
                        net["type"] = _ETHER[et]
            elif k == "SRC":
                src["ip"] = v
            elif k == "DST":
                dst["ip"] = v
            elif k == "LEN":
                if (val := _int(v)) is not None:
                    ipt["length"] = val
            elif k in ("TOS", "PREC"):
                if (val := _hex(v)) is not None:
                    ipt["tos" if k == "TOS" else "precedence_bits"] = val
            elif k == "TC":
                if (val := _int(v)) is not None:
                    ipt["tos"] = val
            elif k in ("TTL", "HOPLIMIT"):
                if (val := _int(v)) is not None:
                    ipt["ttl"] = val
            elif k == "ID":
                if (val := _int(v)) is not None:
                    ipt["id"] = val
            elif k == "FLOWLBL":
                if (val := _int(v)) is not None:
                    ipt["flow_label"] = val
            elif k == "PHYSIN":
                ipt["physical_input_device"] = v
            elif k == "PHYSOUT":
                ipt["physical_output_device"] = v
            elif k == "PROTO":
                in_payload = True
                transport = v.lower()
                if transport.isdigit():
                    net["iana_number"] = transport
                    transport = ""
                else:
                    if transport == "icmpv6":
                        transport = "ipv6-icmp"
                    net["transport"] = transport
                    if transport in TRANSPORT_IANA:
                        net["iana_number"] = TRANSPORT_IANA[transport]
            elif k == "MARK":
                ipt["mark"] = v
            continue
        # Protocol payload.
        if k == "SPT":
            if (val := _int(v)) is not None:
                src["port"] = val
        elif k == "DPT":
            if (val := _int(v)) is not None:
                dst["port"] = val
        elif transport == "tcp":
            if k in ("SEQ", "ACK", "WINDOW"):
                if (val := _int(v)) is not None:
                    tcp[k.lower()] = val
            elif k == "RES" and (val := _hex(v)) is not None:
                tcp["reserved_bits"] = val
        elif transport in ("udp", "udplite"):
            if k == "LEN" and (val := _int(v)) is not None:
                udp["length"] = val
        elif transport in ("icmp", "ipv6-icmp"):
            if k in ("TYPE", "CODE", "ID", "SEQ", "PARAMETER", "MTU"):
                if (val := _int(v)) is not None:
                    icmp[k.lower()] = val
            elif k == "GATEWAY":
                icmp["redirect"] = v
        if k in ("UID", "GID"):
            ipt[k.lower()] = v

    if frag:
        ipt["fragment_flags"] = frag
    if tflags:
        tcp["flags"] = tflags
    if tcp:
        ipt["tcp"] = tcp
    if udp:
        ipt["udp"] = udp
    if icmp:
        ipt["icmp"] = icmp
    if "type" not in net and "ip" in src:
        net["type"] = "ipv6" if ":" in src["ip"] else "ipv4"
    types: list[str] = []
    if action and action in _ACTION_TYPE:
        types.append(_ACTION_TYPE[action])
    if "ip" in src and "ip" in dst:
        types.append("connection")
        cid = community_id(src["ip"], dst["ip"], net.get("iana_number"), src.get("port"), dst.get("port"),
                           icmp.get("type"), icmp.get("code"))
        if cid:
            net["community_id"] = cid
    if types:
        event["type"] = types
    if src:
        doc["source"] = src
    if dst:
        doc["destination"] = dst
    if net:
        doc["network"] = net
    if observer:
        doc["observer"] = observer
    if rule:
        doc["rule"] = rule
    doc["iptables"] = ipt
    rel = [ip for ip in (src.get("ip"), dst.get("ip")) if ip]
    if rel:
        doc["related"] = {"ip": list(dict.fromkeys(rel))}
    return doc
