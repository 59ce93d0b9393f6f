"""``network.direction`` rests on :func:`_private`; its /24 block cache must agree with ``ipaddress`` everywhere."""

from __future__ import annotations

import ipaddress
import random

from connectors.parsers import _fw_common

EDGES = ["0.0.0.0/8", "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
         "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4",
         "255.255.255.0/24", "100.64.0.0/10", "224.0.0.0/4"]


def _reference(ip: str) -> bool | None:
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return None
    return a.is_private or a.is_loopback or a.is_link_local


def test_private_agrees_with_ipaddress_inside_and_around_every_special_range() -> None:
    rnd = random.Random(7)
    ips: list[str] = []
    for text in EDGES:
        net = ipaddress.ip_network(text)
        lo, hi = int(net.network_address), int(net.broadcast_address)
        ips += [str(ipaddress.IPv4Address(rnd.randint(lo, hi))) for _ in range(500)]
        ips += [str(ipaddress.IPv4Address(n)) for n in (lo, hi, max(lo - 1, 0), min(hi + 1, 2**32 - 1))]
    ips += [f"192.0.0.{i}" for i in range(256)]  # a block that is partly private
    ips += [str(ipaddress.IPv4Address(rnd.getrandbits(32))) for _ in range(20_000)]
    ips += ["01.2.3.4", "1.2.3", "1.2.3.4 ", "::1", "fe80::1", "2001:db8::1", "x", "1.2.3.256"]
    rnd.shuffle(ips)  # blocks are cached by whichever address comes first
    assert [ip for ip in ips if _fw_common._private(ip) != _reference(ip)] == []
