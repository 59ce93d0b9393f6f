"""Helpers shared by the firewall parsers (FortiGate, pfSense, iptables, Cisco ASA, PAN-OS).

Documents are built as plain nested dicts; these helpers avoid the cost of
dotted-path writes on the hot path where it matters.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
import struct
from datetime import UTC, timedelta, timezone, tzinfo
from typing import Any

from soc.ecs import ipv4_int

from .syslog_header import FACILITIES, SEVERITIES, Syslog

#: IANA protocol number -> ECS ``network.transport`` name (what Elastic's pipelines emit).
IANA_TRANSPORT: dict[str, str] = {
    "0": "hopopt", "1": "icmp", "2": "igmp", "4": "ipv4", "6": "tcp", "8": "egp", "17": "udp",
    "41": "ipv6", "47": "gre", "50": "esp", "51": "ah", "58": "ipv6-icmp", "89": "ospf",
    "103": "pim", "112": "vrrp", "115": "l2tp", "132": "sctp",
}
TRANSPORT_IANA: dict[str, str] = {v: k for k, v in IANA_TRANSPORT.items()}
TRANSPORT_IANA["icmpv6"] = "58"
TRANSPORT_IANA["ipv6-icmp"] = "58"

_TZ = re.compile(r"^(?:[A-Za-z]{1,5})?\s*([+-])(\d{1,2}):?(\d{2})$")
_TZ_CACHE: dict[str, tzinfo | None] = {}


def tz_from_offset(text: str | None) -> tzinfo | None:
    """``-0500``, ``+02:00``, ``GMT+7:00``, ``UTC``... -> tzinfo, or ``None`` if not an offset."""
    if not text:
        return None
    hit = _TZ_CACHE.get(text, False)
    if hit is not False:
        return hit  # type: ignore[return-value]
    t = text.strip()
    out: tzinfo | None
    if t.upper() in ("UTC", "GMT", "Z", "UTC+0", "GMT+0"):
        out = UTC
    else:
        m = _TZ.match(t)
        if m:
            mins = int(m.group(2)) * 60 + int(m.group(3))
            out = timezone(timedelta(minutes=-mins if m.group(1) == "-" else mins)) if mins < 24 * 60 else None
        else:
            out = None
    if len(_TZ_CACHE) < 1024:
        _TZ_CACHE[text] = out
    return out



def syslog_fields(doc: dict[str, Any], sl: Syslog) -> None:
    """Put ``log.syslog.*`` from the header (priority, facility, severity, hostname, app)."""
    if sl.pri is None and not sl.hostname and not sl.appname:
        return
    sysl: dict[str, Any] = doc.setdefault("log", {}).setdefault("syslog", {})
    if sl.pri is not None:
        fac, sev = sl.pri >> 3, sl.pri & 7
        sysl["priority"] = sl.pri
        sysl["facility"] = {"code": fac, "name": FACILITIES[fac]} if fac < len(FACILITIES) else {"code": fac}
        sysl["severity"] = {"code": sev, "name": SEVERITIES[sev]}
    if sl.hostname and sl.hostname != "-":
        sysl["hostname"] = sl.hostname
    if sl.appname and sl.appname != "-":
        sysl["appname"] = sl.appname
    if sl.procid and sl.procid != "-":
        sysl["procid"] = sl.procid


def to_int(value: Any) -> int | None:
    """``int(value)`` or ``None``; avoids exceptions on the common cases (hot path)."""
    if value is None:
        return None
    if type(value) is str:
        if value.isdigit() and value.isascii():
            return int(value)
        if not value:
            return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


_MISS: Any = object()
_IP_CACHE: dict[str, str | None] = {}


def clean_ip(text: str | None) -> str | None:
    """Normalise an IP address text; ``None`` when it is not one. Cached: addresses repeat."""
    if not text:
        return None
    hit = _IP_CACHE.get(text, _MISS)
    if hit is not _MISS:
        return hit  # type: ignore[return-value]
    try:
        out: str | None = str(ipaddress.ip_address(text))
    except ValueError:
        out = None
    if len(_IP_CACHE) >= 65536:
        _IP_CACHE.clear()
    _IP_CACHE[text] = out
    return out


def is_ip(text: str | None) -> bool:
    return clean_ip(text) is not None


def add_list(doc: dict[str, Any], section: str, key: str, value: Any) -> None:
    """Append ``value`` to ``doc[section][key]`` (a list) unless empty or already present."""
    if value is None or value == "":
        return
    sec = doc.setdefault(section, {})
    cur = sec.get(key)
    if cur is None:
        sec[key] = [value]
    elif value not in cur:
        cur.append(value)



# ICMP type -> the reply type that makes a flow two-way (Community ID spec, v1).
_ICMP4_EQUIV = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17, 9: 10, 10: 9}
_ICMP6_EQUIV = {128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131, 131: 130,
                144: 145, 145: 144}


def community_id(src_ip: str | None, dst_ip: str | None, proto: str | int | None,
                 sport: int | None = None, dport: int | None = None,
                 icmp_type: int | None = None, icmp_code: int | None = None) -> str | None:
    """Community ID v1 flow hash (seed 0) for TCP/UDP/SCTP and ICMP flows, else ``None``."""
    if not src_ip or not dst_ip or proto is None:
        return None
    try:
        a = ipaddress.ip_address(src_ip).packed
        b = ipaddress.ip_address(dst_ip).packed
        p = int(proto)
    except ValueError:
        return None
    if len(a) != len(b) or not 0 <= p <= 255:
        return None
    one_way = False
    if p in (1, 58):
        if icmp_type is None:
            return None
        equiv = _ICMP4_EQUIV if p == 1 else _ICMP6_EQUIV
        sp, dp = icmp_type, icmp_code or 0
        if icmp_type in equiv:
            dp = equiv[icmp_type]
        else:
            one_way = True
    elif p in (6, 17, 132):
        if sport is None or dport is None:
            return None
        sp, dp = sport, dport
    else:
        # Protocols without ports hash addresses and protocol only.
        if a > b:
            a, b = b, a
        data = struct.pack("!H", 0) + a + b + struct.pack("!BB", p, 0)
        return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()  # noqa: S324
    if not (0 <= sp <= 65535 and 0 <= dp <= 65535):
        return None
    if not one_way and (a, sp) > (b, dp) or one_way and a > b:
        a, b, sp, dp = b, a, dp, sp
    data = struct.pack("!H", 0) + a + b + struct.pack("!BBHH", p, 0, sp, dp)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()  # noqa: S324 - spec mandates SHA-1


_TWO_LEVEL = frozenset({
    "co.uk", "org.uk", "ac.uk", "gov.uk", "com.au", "net.au", "org.au", "co.jp", "co.kr", "com.br",
    "com.cn", "com.vn", "gov.vn", "edu.vn", "net.vn", "org.vn", "ac.vn", "co.nz", "com.sg", "com.tw",
})


def registered_domain(name: str) -> dict[str, str]:
    """Split a DNS name into ``registered_domain``/``subdomain``/``top_level_domain``.

    A small built-in suffix list (generic TLDs plus common two-level ones such as
    ``gov.vn``) stands in for the full public suffix list.
    """
    labels = name.strip(".").lower().split(".")
    if len(labels) < 2 or not all(labels):
        return {}
    n = 2 if ".".join(labels[-2:]) in _TWO_LEVEL and len(labels) >= 3 else 1
    out = {"top_level_domain": ".".join(labels[-n:]), "registered_domain": ".".join(labels[-n - 1:])}
    if len(labels) > n + 1:
        out["subdomain"] = ".".join(labels[:-n - 1])
    return out



_PRIV_CACHE: dict[str, bool | None] = {}
_PRIV_BLOCKS: dict[int, bool] = {}
#: /24 blocks that are not wholly private or wholly public (``192.0.0.0/29``, ``192.0.0.170/31``, the broadcast
#: address): every other private, loopback or link-local range is a union of whole /24 blocks.
_MIXED_BLOCKS = frozenset((0xC00000, 0xFFFFFF))


def _private(ip: str) -> bool | None:
    """Private, loopback or link-local (``ipaddress``'s definitions); None when ``ip`` is not an address.

    Cached per address, and for IPv4 per /24 block: a city network has far more addresses than blocks."""
    hit = _PRIV_CACHE.get(ip, _MISS)
    if hit is not _MISS:
        return hit  # type: ignore[return-value]
    n = ipv4_int(ip)
    if n is not None and (n >> 8) not in _MIXED_BLOCKS:
        block = _PRIV_BLOCKS.get(n >> 8)
        if block is None:
            a4 = ipaddress.IPv4Address(n)
            block = _PRIV_BLOCKS[n >> 8] = a4.is_private or a4.is_loopback or a4.is_link_local
        if len(_PRIV_CACHE) < 65536:
            _PRIV_CACHE[ip] = block
        return block
    try:
        a = ipaddress.ip_address(ip)
        out: bool | None = a.is_private or a.is_loopback or a.is_link_local
    except ValueError:
        out = None
    if len(_PRIV_CACHE) < 65536:
        _PRIV_CACHE[ip] = out
    return out


def direction_from_ips(src: str | None, dst: str | None) -> str | None:
    """``network.direction`` from address ranges, like Elastic's ``network_direction``
    processor with ``internal_networks: [private]`` (RFC 1918, ULA, loopback, link-local)."""
    if not src or not dst:
        return None
    # The cache lookups inline: this runs once per record of every firewall parser.
    s = _PRIV_CACHE.get(src, _MISS)
    if s is _MISS:
        s = _private(src)
    d = _PRIV_CACHE.get(dst, _MISS)
    if d is _MISS:
        d = _private(dst)
    if s is None or d is None:
        return None
    if s and d:
        return "internal"
    if s:
        return "outbound"
    if d:
        return "inbound"
    return "external"
