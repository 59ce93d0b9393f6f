"""The demo rules (rules/haiphong) fire on the demo attack's log lines, parsed by the project's parsers."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.parsers import ParseContext, parse_line
from detectors.sigma import SigmaEngine

RULES = Path(__file__).resolve().parents[2] / "rules" / "haiphong"


@pytest.fixture(scope="module")
def eng() -> SigmaEngine:
    e = SigmaEngine.from_paths([RULES])
    assert not e.errors, e.errors
    return e


def run(eng: SigmaEngine, fmt: str, lines: list[str]) -> list[str]:
    names = []
    for line in lines:
        for ev in parse_line(fmt, line, ParseContext()):
            names += [a["rule"]["name"] for a in eng.process(ev)]
    names += [a["rule"]["name"] for a in eng.flush(datetime(9000, 1, 1, tzinfo=UTC))]
    return names


def test_every_demo_rule_is_well_formed(eng):
    for r in eng.compiled_rules:
        assert r.id and r.title and r.level and r.status and r.description
    for path in RULES.rglob("*.yml"):
        text = path.read_text(encoding="utf-8")
        assert "falsepositives:" in text and "attack." in text, path


def test_web_attacks(eng):
    names = run(eng, "nginx", [
        '203.0.113.9 - - [30/Nov/2026:09:00:00 +0700] "GET /dl.php?f=../../../../etc/passwd HTTP/1.1" 200 5 "-" "curl/8"',
        '203.0.113.9 - - [30/Nov/2026:09:01:00 +0700] "POST /uploads/shell.php HTTP/1.1" 200 12 "-" "Mozilla/5.0"',
        '203.0.113.9 - - [30/Nov/2026:09:02:00 +0700] "GET /news?id=1%20union%20select%20user,pass%20from%20users HTTP/1.1" 200 9 "-" "sqlmap"',
        '10.0.0.5 - - [30/Nov/2026:09:03:00 +0700] "GET /index.html HTTP/1.1" 200 12 "-" "Mozilla/5.0"',
    ])
    assert sorted(names) == ["Path Traversal Attempt In Web Server Access Log",
                             "SQL Injection Attempt In Web Server Access Log", "Web Shell Upload Or Use"]


def test_proxy(eng):
    b64 = base64.urlsafe_b64encode(b"secret-data" * 15).decode()
    names = run(eng, "squid", [
        "1764493200.123    120 10.1.2.3 TCP_MISS/200 3456 GET http://evil-c2.xyz/beacon - HIER_DIRECT/198.51.100.20 text/html",
        f"1764493201.123    120 10.1.2.3 TCP_MISS/200 3456 GET http://cdn.example.com/p/{b64} - HIER_DIRECT/198.51.100.21 text/html",
        "1764493202.123    120 10.1.2.3 TCP_MISS/200 3456 GET http://www.haiphong.gov.vn/ - HIER_DIRECT/198.51.100.22 text/html",
    ])
    assert sorted(names) == ["Proxy Access To Often-Abused Top-Level Domain",
                             "Proxy Request With Long Base64 Data In The URL"]


def test_fortigate_ips_block_and_port_scan(eng):
    ips = ('date=2026-11-30 time=09:12:01 devname="FGT-HP" devid="FG200" logid="0419016384" type="utm" subtype="ips" '
           'eventtype="signature" level="alert" vd="root" severity="critical" srcip=203.0.113.50 srcport=51111 '
           'dstip=10.10.1.20 dstport=443 srcintf="wan1" dstintf="dmz" sessionid=1 action="dropped" proto=6 '
           'attack="Apache.Log4j.Error.Log.Remote.Code.Execution" attackid=51006 crlevel="critical"')
    low = ips.replace('severity="critical"', 'severity="low"').replace('crlevel="critical"', 'crlevel="low"')
    denies = [f'date=2026-11-30 time=09:20:{p:02d} devname="FGT-HP" devid="FG200" logid="0000000013" type="traffic" '
              f'subtype="forward" level="notice" vd="root" srcip=198.51.100.7 srcport=51111 dstip=10.10.1.20 '
              f'dstport={1000 + p} srcintf="wan1" dstintf="dmz" action="deny" proto=6 policyid=0' for p in range(25)]
    names = run(eng, "fortigate", [ips, low, *denies])
    assert sorted(names) == ["FortiGate IPS, Antivirus Or Web Filter Block Of High Severity",
                             "Port Scan Seen In Firewall Denies"]


def test_windows_process_creation_and_new_user(eng):
    def winlog(channel: str, eid: int, data: dict) -> str:
        return json.dumps({"winlog": {"channel": channel, "event_id": str(eid), "computer_name": "PC-01",
                                      "provider_name": "x", "event_data": data},
                           "@timestamp": "2026-11-30T02:00:00Z"})

    names = run(eng, "winlog", [
        winlog("Microsoft-Windows-Sysmon/Operational", 1, {
            "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "CommandLine": "powershell.exe -nop /enc SQBFAFgA", "ParentImage": "C:\\Windows\\explorer.exe"}),
        winlog("Security", 4688, {"NewProcessName": "C:\\Windows\\System32\\cmd.exe",
                                  "ParentProcessName": "C:\\Program Files\\Microsoft Office\\WINWORD.EXE",
                                  "CommandLine": "cmd /c whoami"}),
        winlog("Microsoft-Windows-Sysmon/Operational", 1, {"Image": "C:\\Windows\\notepad.exe", "CommandLine": "notepad"}),
        winlog("Security", 4720, {"TargetUserName": "backdoor", "SubjectUserName": "admin"}),
    ])
    assert sorted(names) == ["New Local Or Domain User Account Created On Windows",
                             "Suspicious Process Creation - Encoded PowerShell Or Office Spawning A Shell",
                             "Suspicious Process Creation - Encoded PowerShell Or Office Spawning A Shell"]
