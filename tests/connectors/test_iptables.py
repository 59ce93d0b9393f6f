"""Linux netfilter / UFW kernel log lines."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.parsers import ParseContext, ParseError, detect, iptables

CTX = ParseContext(received=datetime(2024, 6, 1, tzinfo=UTC))
UFW = ("Jan  2 10:00:00 web01 kernel: [1234567.890] [UFW BLOCK] IN=eth0 OUT= MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 "
       "SRC=203.0.113.9 DST=10.0.0.1 LEN=60 TOS=0x10 PREC=0x00 TTL=50 ID=4321 DF PROTO=TCP SPT=4444 DPT=22 "
       "WINDOW=29200 RES=0x00 SYN URGP=0")


def test_ufw_block() -> None:
    doc = iptables.parse(UFW, CTX)
    assert doc["event"]["action"] == "block"
    assert doc["event"]["type"] == ["denied", "connection"]
    assert doc["observer"]["name"] == "web01"
    assert doc["source"] == {"mac": "66-77-88-99-AA-BB", "ip": "203.0.113.9", "port": 4444}
    assert doc["destination"] == {"mac": "00-11-22-33-44-55", "ip": "10.0.0.1", "port": 22}
    assert doc["network"]["transport"] == "tcp" and doc["network"]["type"] == "ipv4"
    ipt = doc["iptables"]
    assert ipt["tcp"] == {"window": 29200, "reserved_bits": 0, "flags": ["SYN"]}
    assert ipt["fragment_flags"] == ["DF"] and ipt["tos"] == 16 and ipt["ttl"] == 50 and ipt["ether_type"] == 2048
    assert ipt["output_device"] == "" and ipt["input_device"] == "eth0"
    assert doc["@timestamp"] == "2024-01-02T03:00:00.000Z"


def test_community_id_matches_elastic() -> None:
    line = ("<161>Oct 10 07:25:12 Hostname kernel: [wan-lan-default-D]IN=eth0 OUT= "
            "MAC=90:10:20:76:8d:20:90:10:65:29:b6:2a:08:00 SRC=67.43.156.15 DST=10.4.0.5 LEN=52 TOS=0x00 PREC=0x00 "
            "TTL=63 ID=0 DF PROTO=TCP SPT=38842 DPT=443 WINDOW=2853 RES=0x00 ACK URGP=0")
    doc = iptables.parse(line, CTX)
    assert doc["network"]["community_id"] == "1:jc/7ajWLmm0xdpLA7mOyvas9TyE="
    assert doc["event"]["action"] == "drop"
    assert doc["rule"] == {"id": "default", "name": "wan-lan"}
    assert doc["observer"]["ingress"]["zone"] == "wan" and doc["observer"]["egress"]["zone"] == "lan"


def test_headerless_ipv6_icmp() -> None:
    line = ("IN=eth0 OUT= MAC=33:33:00:00:00:01:00:11:22:33:44:55:86:dd SRC=fe80::1 DST=ff02::1 LEN=72 TC=0 "
            "HOPLIMIT=255 FLOWLBL=0 PROTO=ICMPv6 TYPE=134 CODE=0")
    doc = iptables.parse(line, CTX)
    assert doc["network"]["transport"] == "ipv6-icmp" and doc["network"]["iana_number"] == "58"
    assert doc["network"]["type"] == "ipv6"
    assert doc["iptables"]["icmp"] == {"type": 134, "code": 0}
    assert "network" in doc and doc["network"]["community_id"].startswith("1:")
    assert detect(line) == "iptables"


def test_icmp_error_keeps_outer_packet() -> None:
    line = ("Jan  8 03:37:09 DENY: IN=eth0 OUT= SRC=192.168.2.71 DST=192.168.2.83 LEN=88 TOS=0x00 PREC=0x00 TTL=118 "
            "ID=21684 PROTO=ICMP TYPE=3 CODE=3 [SRC=192.168.2.83 DST=192.168.173.191 LEN=60 TOS=0x00 PREC=0x00 "
            "TTL=54 ID=0 DF PROTO=UDP SPT=21458 DPT=62936 LEN=40 ]")
    doc = iptables.parse(line, CTX)
    assert doc["source"]["ip"] == "192.168.2.71" and doc["event"]["action"] == "deny"
    assert doc["iptables"]["length"] == 88 and "udp" not in doc["iptables"]


def test_not_netfilter() -> None:
    with pytest.raises(ParseError):
        iptables.parse("Jan  2 10:00:00 web01 kernel: eth0: link up", CTX)
