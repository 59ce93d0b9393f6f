"""Cisco ASA / FTD parser."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.parsers import ParseContext, ParseError, cisco_asa, detect

CTX = ParseContext(received=datetime(2024, 1, 1, tzinfo=UTC))


def test_106023_interface_prefix_and_rule() -> None:
    line = ('LOCAL4.WARNING: fw-1 %ASA-4-106023: Deny udp src v1:outside:10.8.1.9/54864 dst inside:172.16.1.3/53 '
            'by access-group "outside_acl" [0x0, 0x0]')
    doc = cisco_asa.parse(line, CTX)
    assert doc["event"]["code"] == "106023" and doc["event"]["severity"] == 4
    assert doc["log"]["level"] == "warning"
    assert doc["event"]["action"] == "firewall-rule" and doc["event"]["type"] == ["connection", "denied"]
    assert doc["cisco"]["asa"]["source_interface"] == "v1:outside"
    assert doc["cisco"]["asa"]["rule_name"] == "outside_acl"
    assert doc["source"] == {"address": "10.8.1.9", "port": 54864, "ip": "10.8.1.9"}
    assert doc["network"]["community_id"] == "1:dudHo5r42F4kwuAPy9BPVn2H2x4="
    assert doc["host"]["name"] == "fw-1" and doc["process"]["name"] == "LOCAL4.WARNING"


def test_302013_outbound_swaps_and_nat() -> None:
    line = ("<166>Jan 05 2024 10:00:00 asa1 : %ASA-6-302013: Built outbound TCP connection 9 for "
            "outside:93.184.216.34/443 (93.184.216.34/443) to inside:10.1.1.2/53496 (198.51.100.7/40001)")
    doc = cisco_asa.parse(line, CTX)
    assert doc["event"]["action"] == "flow-creation"
    assert doc["network"]["direction"] == "outbound"
    assert doc["source"]["ip"] == "10.1.1.2" and doc["source"]["port"] == 53496
    assert doc["source"]["nat"] == {"ip": "198.51.100.7", "port": 40001}
    assert doc["destination"]["ip"] == "93.184.216.34" and "nat" not in doc["destination"]
    assert doc["observer"]["ingress"]["interface"]["name"] == "inside"
    assert doc["host"]["hostname"] == "asa1"
    assert doc["@timestamp"] == "2024-01-05T03:00:00.000Z"


def test_302014_teardown_duration() -> None:
    line = ("%ASA-6-302014: Teardown TCP connection 4211 for external:171.70.168.183/53 to mgmt:192.168.1.185/1032 "
            "duration 0:01:05 bytes 526 TCP FINs from external")
    doc = cisco_asa.parse(line, CTX)
    assert doc["source"]["ip"] == "171.70.168.183" and doc["destination"]["port"] == 1032
    assert doc["event"]["duration"] == 65_000_000_000
    assert doc["network"]["bytes"] == 526
    assert doc["event"]["reason"] == "TCP FINs"
    assert doc["cisco"]["asa"]["termination_initiator"] == "external"


def test_113004_with_zone_abbreviation() -> None:
    line = ("Sep 25 15:47:07 host1.example.com : Sep 25 15:47:07 EDT: %ASA-auth-4-113004: AAA user authentication "
            "Successful : server = myservername : user = myusername")
    doc = cisco_asa.parse(line, CTX)
    assert doc["@timestamp"] == "2023-09-25T19:47:07.000Z"
    assert doc["event"]["timezone"] == "EDT"
    assert doc["event"]["action"] == "logged-in" and doc["event"]["outcome"] == "success"
    assert doc["source"]["user"]["name"] == "myusername"
    assert doc["destination"]["domain"] == "myservername"
    assert doc["cisco"]["asa"]["suffix"] == "auth"


def test_733100_escaped_newline() -> None:
    line = ("<164>Jun 26 2024 20:54:29: %ASA-4-733100: [ LOCAL\\alice#012   ] drop rate-1 exceeded. Current burst "
            "rate is 40 per second, max configured rate is 40; Current average rate is 4 per second, max configured "
            "rate is 20; Cumulative total count is 2435")
    doc = cisco_asa.parse(line, CTX)
    assert doc["cisco"]["asa"]["burst"]["object"] == "LOCAL\\alice"
    assert doc["cisco"]["asa"]["burst"]["cumulative_count"] == "2435"
    assert doc["event"]["type"] == ["info"]


def test_ftd_security_event() -> None:
    line = ("%FTD-6-430003: DeviceUUID: 1234, InstanceID: 1, FirstPacketSecond: 2024-01-01T00:00:00Z, "
            "ConnectionID: 1, AccessControlRuleAction: Allow, SrcIP: 10.0.0.1, DstIP: 8.8.8.8, SrcPort: 5353, "
            "DstPort: 53, Protocol: udp, IngressInterface: inside, EgressInterface: outside, "
            "ACPolicy: Default, AccessControlRuleName: Allow-DNS, InitiatorBytes: 70, ResponderBytes: 120")
    doc = cisco_asa.parse(line, CTX)
    assert doc["observer"]["product"] == "ftd"
    assert doc["event"]["action"] == "connection-finished" and doc["event"]["outcome"] == "allow"
    assert doc["source"]["ip"] == "10.0.0.1" and doc["destination"]["port"] == 53
    assert doc["network"]["transport"] == "udp" and doc["network"]["iana_number"] == "17"
    assert doc["source"]["bytes"] == 70 and doc["destination"]["bytes"] == 120
    assert doc["cisco"]["asa"]["security"]["access_control_rule_name"] == "Allow-DNS"
    assert doc["cisco"]["asa"]["rule_name"] == "Default"


def test_unknown_message_id_still_parses() -> None:
    doc = cisco_asa.parse("%ASA-1-105005: (Secondary) Lost Failover communications with mate on interface in", CTX)
    assert doc["event"]["code"] == "105005" and doc["log"]["level"] == "alert"
    assert doc["message"].startswith("(Secondary)")
    assert detect("%ASA-1-105005: (Secondary) Lost Failover") == "cisco_asa"


def test_not_asa() -> None:
    with pytest.raises(ParseError):
        cisco_asa.parse("Jan  1 00:00:00 host sshd[1]: Accepted publickey for root", CTX)
