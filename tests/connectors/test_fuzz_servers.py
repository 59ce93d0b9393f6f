"""Robustness: server parsers return documents or raise ParseError, whatever the input.

Inputs: random text, text decoded from random bytes with ``surrogateescape``
(invalid UTF-8), NUL bytes, mutations (cut, splice, noise, duplication,
rotation) of real lines from Elastic's and Wazuh's samples plus built-in ones,
and megabyte-long pathological lines. The hypothesis deadline catches
catastrophic regex backtracking.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.parsers import ParseContext, ParseError, get_parser
from tests.connectors.elastic_compare import sample_lines

FORMATS = ("squid", "nginx", "apache", "auth", "syslog", "auditd", "winlog")
BUILTIN = [
    "1286536309.450     70 192.168.0.68 TCP_MISS/200 507 GET http://www.example.com/ bob DIRECT/1.2.3.4 text/html",
    '1773416971.100 220 10.1.2.3 32890 TCP_TUNNEL/200 15432 1980 39 120 - CONNECT a.b:443 1.1 u HIER_DIRECT/1.2.3.4 '
    '443 - - - "-" "curl/8" "a.b:443" "-" "a.b" 42 -',
    'example.com:80 "10.5.102.222, 199.96.1.1" 10.2.1.185 - - [22/Jan/2016:13:18:29 +0000] "GET /x?q=1 HTTP/1.1" '
    '200 25507 "-" "Amazon CloudFront" X-Forwarded-For="1.2.3.4"',
    '2016/10/25 14:49:34 [error] 54053#0: *1 open() "/x" failed (2: No such file), client: 127.0.0.1, server: a, '
    'request: "GET / HTTP/1.1", host: "a"',
    "[Tue Sep 30 14:25:44.895897 2014] [authz_core:error] [pid 31858] [client 99.47.227.95:38870] AH01630: x",
    "Feb 21 21:54:44 localhost sshd[3402]: Accepted publickey for vagrant from 10.0.2.2 port 63673 ssh2: RSA x",
    "Feb 24 00:13:02 precise32 sudo:      tsg : user NOT in sudoers ; TTY=pts/1 ; PWD=/h ; USER=root ; COMMAND=/bin/ls",
    "Jun  2 19:08:43 h sudo[1]: pam_unix(sudo:auth): authentication failure; logname=bob uid=1 euid=0 tty=x "
    "ruser=alice rhost= user=root",
    "<165>1 2022-01-11T22:14:15.003Z host app 1 ID47 [id@1 a=\"b\"] message",
    "type=USER_LOGIN msg=audit(1489636960.072:19623791): pid=28281 uid=0 auid=700 ses=6793 msg='op=login "
    "acct=\"root\" exe=\"/usr/sbin/sshd\" hostname=? addr=1.2.3.4 terminal=sshd res=success'",
    "type=PROCTITLE msg=audit(1451781471.394:194440): proctitle=737368643A206275726E205B707269765D",
    json.dumps({"winlog": {"event_id": 4624, "channel": "Security", "event_data": {"TargetUserName": "a",
                                                                                     "IpAddress": "1.2.3.4"}}}),
    json.dumps({"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                                     "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}}},
                          "EventData": {"Image": "C:\\a.exe", "CommandLine": "a -b", "Hashes": "MD5=AA"}}}),
    json.dumps({"EventID": 4625, "Channel": "Security", "EventTime": "2024-01-01 00:00:00", "TargetUserName": "x"}),
    "2014 Dec 20 09:29:47 WinEvtLog: Security: AUDIT_FAILURE(4625): Microsoft-Windows-Security-Auditing: (no user): "
    "no domain: PC1: An account failed to log on.  Account Name: bob  Source Network Address: 1.2.3.4",
]


def _real_lines() -> list[str]:
    return list(BUILTIN) + sample_lines(("squid", "nginx", "apache", "system/auth", "auditd"), ("sshd", "sudo", "su", "pam", "apache", "nginx", "squid_rules", "auditd", "sysmon"), 30, "pass|fail")


REAL = _real_lines()
CTX = ParseContext()
FUZZ = settings(max_examples=120, deadline=timedelta(milliseconds=1500),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _check(fmt: str, line: str) -> None:
    try:
        out: Any = get_parser(fmt)(line, CTX)
    except ParseError as exc:
        assert isinstance(exc.reason, str) and exc.reason
        return
    docs = out if isinstance(out, list) else [out]
    for doc in docs:
        assert isinstance(doc, dict)
        assert doc["event"]["original"] in (line, line.rstrip("\r\n"), line.strip())
        assert isinstance(doc["@timestamp"], str) and doc["@timestamp"].endswith("Z")
        assert doc["event"]["dataset"] and doc["event"]["module"]
        json.dumps(doc, default=str)  # plain, serialisable values only


@st.composite
def mutated(draw: st.DrawFn) -> str:
    line = draw(st.sampled_from(REAL))
    op = draw(st.sampled_from(("cut", "splice", "noise", "dup", "swap", "nul")))
    if not line:
        return line
    i = draw(st.integers(0, len(line)))
    j = draw(st.integers(i, len(line)))
    if op == "cut":
        return line[:i] + line[j:]
    if op == "splice":
        other = draw(st.sampled_from(REAL))
        return line[:i] + other[i:]
    if op == "noise":
        return line[:i] + draw(st.text(max_size=20)) + line[i:]
    if op == "dup":
        return line[:j] + line[i:j] * draw(st.integers(1, 30)) + line[j:]
    if op == "nul":
        return line[:i] + "\x00" * draw(st.integers(1, 5)) + line[i:]
    return line[i:] + line[:i]


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(text=st.text(max_size=400))
def test_random_text(fmt: str, text: str) -> None:
    _check(fmt, text)


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(data=st.binary(max_size=400))
def test_invalid_utf8(fmt: str, data: bytes) -> None:
    _check(fmt, data.decode("utf-8", errors="surrogateescape"))


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(line=mutated())
def test_mutated_real_lines(fmt: str, line: str) -> None:
    _check(fmt, line)


PATHOLOGICAL = [
    "a " * 500_000, "a=" * 300_000, "," * 1_000_000, "<13>" + "x" * 1_000_000, '"' * 300_000,
    "Jan  1 00:00:00 h sshd[1]: " + "Failed password for " * 50_000,
    "Jan  1 00:00:00 h sudo: u : " + "TTY=x ; " * 100_000,
    "1286536309.450 70 1.2.3.4 TCP_MISS/200 " + "1 " * 300_000,
    "1.2.3.4 - - [" + "10/Oct/2000:13:55:36 -0700] \"" * 30_000,
    "type=SYSCALL msg=audit(1.1:1): " + "a=b c " * 150_000,
    "type=X msg=audit(1.1:1): msg='" + "k=v " * 200_000,
    '{"winlog": {"event_id": 1, "channel": "Security", "event_data": {' + ",".join(
        f'"k{i}": "{"v" * 10}"' for i in range(50_000)) + "}}}",
    "[" * 100_000 + "{" * 100_000,
    "Jan  1 00:00:00 h klogind[1]: " + "authentication failed for " * 40_000,
    "2014 Dec 20 09:29:47 WinEvtLog: S: I(1): P: u: d: h: x:  " + "K: v  " * 100_000,
]


@pytest.mark.timeout(120)  # a hang (catastrophic backtracking) fails here instead of stalling the suite
@pytest.mark.parametrize("fmt", FORMATS)
def test_megabyte_lines(fmt: str) -> None:
    for line in PATHOLOGICAL:
        _check(fmt, line)
