"""pfSense / OPNsense parser: filterlog CSV and the other appliance programs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.parsers import ParseContext, ParseError, pfsense

CTX = ParseContext(received=datetime(2024, 1, 1, tzinfo=UTC))


def test_filterlog_ipv4_tcp_block() -> None:
    line = ("<134>1 2022-06-09T14:44:11-06:00 OPNsense.example.com filterlog 76404 - [meta sequenceId=\"1\"] "
            "146,,,1535324496,igb1.12,match,block,in,4,0x0,,63,12617,0,DF,6,tcp,60,10.170.12.50,175.16.199.1,"
            "49724,853,0,S,1891286705,,64240,,mss;sackOK;TS;nop;wscale")
    doc = pfsense.parse(line, CTX)
    assert doc["@timestamp"] == "2022-06-09T20:44:11.000Z"
    assert doc["event"]["action"] == "block" and doc["event"]["type"] == ["connection", "denied"]
    assert doc["event"]["provider"] == "filterlog" and doc["event"]["dataset"] == "pfsense.log"
    assert doc["rule"]["id"] == "1535324496"
    assert doc["observer"]["ingress"] == {"interface": {"name": "igb1.12"}, "vlan": {"id": "12"}}
    assert doc["source"] == {"address": "10.170.12.50", "ip": "10.170.12.50", "port": 49724}
    assert doc["destination"]["port"] == 853
    assert doc["network"]["direction"] == "inbound"
    assert doc["network"]["transport"] == "tcp" and doc["network"]["iana_number"] == "6"
    # Same flow hash as Elastic's community_id processor gives for this record.
    assert doc["network"]["community_id"] == "1:tVSUn9UzCrzCUQ+t4rluKGR9bZg="
    assert doc["pfsense"]["tcp"]["options"] == ["mss", "sackOK", "TS", "nop", "wscale"]
    assert doc["pfsense"]["ip"]["ttl"] == 63


def test_filterlog_ipv6_udp_and_icmp() -> None:
    v6 = ("<134>Dec 31 22:02:55 fw filterlog[1]: 6,,,1000000105,igb1.27,match,block,in,6,0x00,0xf6279,1,UDP,17,32,"
          "fe80::208:9bff:fef3:652b,ff02::1:2,546,547,32")
    doc = pfsense.parse(v6, CTX)
    assert doc["network"]["type"] == "ipv6" and doc["network"]["transport"] == "udp"
    assert doc["destination"]["ip"] == "ff02::1:2" and doc["destination"]["port"] == 547
    assert doc["pfsense"]["ip"]["flow_label"] == "0xf6279" and doc["pfsense"]["ip"]["ttl"] == 1
    icmp = ("<134>Jul  3 19:10:30 filterlog[1]: 5,,,1000000103,igb0,match,pass,out,4,0x0,,64,40000,0,none,1,icmp,"
            "84,10.0.0.1,8.8.8.8,request,37728,164")
    d2 = pfsense.parse(icmp, CTX)
    assert d2["pfsense"]["icmp"] == {"type": "request", "id": 37728, "seq": 164}
    assert d2["event"]["type"] == ["connection", "allowed"]
    assert d2["network"]["community_id"].startswith("1:")


def test_openvpn_and_phpfpm() -> None:
    d = pfsense.parse("<37>Jul  3 21:42:57 openvpn[19830]: user 'bob' authenticated", CTX)
    assert d["user"]["name"] == "bob" and d["event"]["outcome"] == "success"
    assert d["network"]["protocol"] == "openvpn"
    d2 = pfsense.parse("<134>Jul  3 19:10:30 php-fpm[9]: /index.php: webConfigurator authentication error for "
                       "user 'asdf' from: 175.16.199.1", CTX)
    assert d2["event"]["outcome"] == "failure" and d2["source"]["ip"] == "175.16.199.1"
    assert d2["related"]["user"] == ["asdf"]


def test_unbound_and_dhcp() -> None:
    d = pfsense.parse("<30>Aug 15 16:19:02 unbound[26931]: [26931:0] info: 192.168.1.1 api.example.org. A IN", CTX)
    assert d["dns"]["question"]["name"] == "api.example.org"
    assert d["dns"]["question"]["registered_domain"] == "example.org"
    assert d["client"]["ip"] == "192.168.1.1"
    d2 = pfsense.parse("<190>Dec 31 22:06:16 fw dhcpd[1]: DHCPACK on 10.150.60.56 to 4c:55:41:a0:fa:99 "
                       "(pc-1) via eth0.60", CTX)
    assert d2["event"]["action"] == "DHCPACK"
    assert d2["client"] == {"address": "10.150.60.56", "ip": "10.150.60.56", "mac": "4C-55-41-A0-FA-99"}
    assert d2["pfsense"]["dhcp"]["hostname"] == "pc-1"


def test_other_programs_give_syslog_level_events() -> None:
    d = pfsense.parse("<13>Jul  3 19:10:30 pfSense syslogd: restart", CTX)
    assert d["process"]["name"] == "syslogd" and d["message"] == "restart"
    assert d["observer"]["name"] == "pfSense"


def test_headerless_filterlog_csv_and_garbage() -> None:
    d = pfsense.parse("65,,,0,vmx1,match,pass,out,4,0x0,,63,21011,0,none,1,icmp,56,192.168.105.11,"
                      "192.168.105.1,datalength=36", CTX)
    assert d["event"]["provider"] == "filterlog" and d["source"]["ip"] == "192.168.105.11"
    with pytest.raises(ParseError):
        pfsense.parse("just some words", CTX)
