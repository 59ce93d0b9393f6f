"""Palo Alto PAN-OS CSV syslog parser."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.parsers import ParseContext, ParseError, detect, panos

CTX = ParseContext(received=datetime(2024, 1, 1, tzinfo=UTC))
TRAFFIC = ("Oct 30 09:46:12 pa-fw 1,2012/10/30 09:46:12,01606001116,TRAFFIC,end,1,2012/04/10 04:39:58,192.168.0.2,"
           "204.232.231.46,198.51.100.1,0.0.0.0,rule1,corp\\crusher,,web-browsing,vsys1,trust,untrust,ethernet1/2,"
           "ethernet1/1,forwardAll,2012/04/10 04:39:59,11449,1,59324,80,40001,0,0x400000,tcp,allow,1078,78,1000,9,"
           "2012/04/10 04:39:50,9,any,0,0,0x0,192.168.0.0-192.168.255.255,United States,0,4,5,tcp-fin")
THREAT = ("1,2024/03/01 10:00:00,0123,THREAT,url,2561,2024/03/01 10:00:00,10.0.0.5,93.184.216.34,,,web-out,,,"
          "web-browsing,vsys1,trust,untrust,ethernet1/1,ethernet1/2,fwd,2024/03/01 10:00:00,77,1,50000,80,0,0,0x0,"
          "tcp,block-url,\"www.example.com/bad/path.exe?x=1\",(9999),malware,medium,client-to-server")


def test_traffic_end() -> None:
    doc = panos.parse(TRAFFIC, CTX)
    assert doc["event"]["dataset"] == "panw.panos"
    assert doc["event"]["action"] == "flow_terminated"
    assert set(doc["event"]["type"]) == {"allowed", "end", "connection"}
    assert doc["event"]["outcome"] == "success"
    assert doc["source"]["ip"] == "192.168.0.2" and doc["source"]["nat"] == {"ip": "198.51.100.1", "port": 40001}
    assert "nat" not in doc["destination"]
    assert doc["source"]["user"] == {"name": "crusher", "domain": "corp"}
    assert doc["user"]["name"] == "crusher"
    assert doc["source"]["bytes"] == 78 and doc["destination"]["bytes"] == 1000
    assert doc["network"]["bytes"] == 1078 and doc["network"]["packets"] == 9
    assert doc["event"]["duration"] == 9_000_000_000
    assert doc["observer"]["ingress"] == {"interface": {"name": "ethernet1/2"}, "zone": "trust"}
    assert doc["observer"]["hostname"] == "pa-fw" and doc["observer"]["serial_number"] == "01606001116"
    assert doc["rule"]["name"] == "rule1"
    assert doc["labels"] == {"nat_translated": True}
    assert doc["panw"]["panos"]["endreason"] == "tcp-fin"
    assert doc["@timestamp"] == "2012-04-09T21:39:58.000Z"


def test_threat_url() -> None:
    doc = panos.parse(THREAT, CTX)
    assert doc["event"]["kind"] == "alert" and doc["event"]["action"] == "url_filtering"
    assert doc["event"]["type"] == ["denied"] and doc["event"]["outcome"] == "failure"
    assert doc["url"] == {"original": "www.example.com/bad/path.exe?x=1", "path": "/bad/path.exe", "query": "x=1",
                          "extension": "exe", "domain": "www.example.com"}
    assert doc["panw"]["panos"]["threat"] == {"name": "URL-filtering", "id": "9999"}
    assert doc["log"]["level"] == "medium" and doc["event"]["severity"] == 3
    assert doc["network"]["direction"] == "inbound"


def test_system_with_high_resolution_offset() -> None:
    line = ('1,2021/10/26 15:05:03,,SYSTEM,general,2561,2021/10/26 15:05:03,,general,,0,0,general,informational,'
            '"Connection closed: updates.example.com, source: 81.2.69.193",1234567890,0x0,0,0,0,0,,PA-VM,0,0,'
            '2021-10-26T15:05:03.440-07:00')
    doc = panos.parse(line, CTX)
    assert doc["event"]["code"] == "general" and doc["event"]["severity"] == 5
    assert doc["panw"]["panos"]["description"].startswith("Connection closed: updates.example.com, source")
    # The device's offset from the high-resolution timestamp applies to its naive times.
    assert doc["@timestamp"] == "2021-10-26T22:05:03.000Z"
    assert doc["observer"]["hostname"] == "PA-VM"


def test_globalprotect() -> None:
    line = ("1,2024/02/01 08:00:00,0123,GLOBALPROTECT,0,2817,2024/02/01 08:00:00,vsys1,gateway-auth,login,"
            "SAML,tunnel,corp\\bob,Hanoi,LAPTOP-1,203.0.113.4,0.0.0.0,10.20.0.8,0.0.0.0,host-1,SN1,5.2.4,Windows,"
            "10,1,,,\"\",success,Vietnam,,,,,42,0x0,,,,,,,,,,,,fw1,1")
    doc = panos.parse(line, CTX)
    assert doc["event"]["code"] == "gateway-auth" and doc["event"]["outcome"] == "success"
    assert doc["source"]["ip"] == "10.20.0.8" and doc["source"]["nat"]["ip"] == "203.0.113.4"
    assert doc["source"]["user"] == {"name": "bob", "domain": "corp"}
    assert doc["host"]["name"] == "LAPTOP-1"


def test_truncated_and_unknown_types() -> None:
    doc = panos.parse("Apr 30 06:00:00 fw 1,2020/02/09 00:00:00,00000000,SYSTEM,", CTX)
    assert doc["panw"]["panos"]["type"] == "SYSTEM"
    doc2 = panos.parse("1,2020/00/00 00:00:00,00000000,OTHERS,x,0,2020/00/00 00:00:00,a,b", CTX)
    assert doc2["panw"]["panos"]["type"] == "OTHERS"
    assert doc2["@timestamp"] == "2024-01-01T00:00:00.000Z"  # no valid time in the record


def test_detect_and_reject() -> None:
    assert detect(TRAFFIC) == "panos"
    with pytest.raises(ParseError):
        panos.parse("a,b,c", CTX)
