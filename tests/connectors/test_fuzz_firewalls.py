"""Robustness: firewall parsers return documents or raise ParseError, whatever the input.

Inputs are random text and mutations (cut, duplicate, splice, byte noise) of real
lines: Elastic's and Wazuh's samples when ``../shared`` is present, plus a few
built-in lines. The hypothesis deadline catches catastrophic regex backtracking.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.parsers import ParseContext, ParseError, get_parser
from tests.connectors.elastic_compare import sample_lines

FORMATS = ("fortigate", "pfsense", "iptables", "cisco_asa", "panos")
BUILTIN = [
    'date=2020-04-23 time=12:17:48 devname="fw" devid="FG1" logid="0316013056" type="utm" subtype="webfilter" '
    'srcip=10.0.0.1 dstip=1.2.3.4 dstport=443 proto=6 action="blocked" msg="a b=c"',
    "<134>Jul  3 19:10:30 filterlog[1]: 146,,,1535324496,igb1.12,match,block,in,4,0x0,,63,12617,0,DF,6,tcp,60,"
    "10.170.12.50,1.1.1.1,49724,853,0,S,1891286705,,64240,,mss;sackOK;TS;nop;wscale",
    "Jan  2 10:00:00 h kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 SRC=1.2.3.4 "
    "DST=10.0.0.1 LEN=60 TOS=0x10 PREC=0x00 TTL=50 ID=1 DF PROTO=TCP SPT=1 DPT=22 WINDOW=1 RES=0x00 SYN URGP=0",
    "%ASA-6-302013: Built outbound TCP connection 9 for outside:1.2.3.4/443 (1.2.3.4/443) to inside:10.1.1.2/5 "
    "(10.1.1.2/5)",
    "%ASA-6-302014: Teardown TCP connection 1 for a:1.2.3.4/53 to b:10.0.0.1/1032 duration 0:00:01 bytes 5 x",
    "%FTD-6-430003: SrcIP: 10.0.0.1, DstIP: 8.8.8.8, SrcPort: 5, DstPort: 53, Protocol: udp",
    "1,2012/10/30 09:46:12,0160,TRAFFIC,end,1,2012/04/10 04:39:58,192.168.0.2,1.2.3.4,0.0.0.0,0.0.0.0,r,u,,web,"
    "vsys1,t,u,e1,e2,f,2012/04/10 04:39:59,1,1,5,80,0,0,0x0,tcp,allow,78,78,0,1,2012/04/10 04:39:59,0,any",
    '1,2024/03/01 10:00:00,0123,THREAT,url,2561,2024/03/01 10:00:00,10.0.0.5,1.2.3.4,,,w,,,web,v,t,u,e1,e2,f,'
    '2024/03/01 10:00:00,77,1,5,80,0,0,0x0,tcp,block-url,"a/b?c",(9999),m,medium,client-to-server',
]


def _real_lines() -> list[str]:
    return list(BUILTIN) + sample_lines(("fortinet_fortigate", "pfsense", "iptables", "cisco_asa", "panw"), ("fortigate", "pfsense", "iptables", "cisco_asa", "paloalto"), 40, "pass")


REAL = _real_lines()
CTX = ParseContext()
FUZZ = settings(max_examples=150, deadline=timedelta(milliseconds=1000),
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
        assert doc["event"]["original"] == line
        assert isinstance(doc["@timestamp"], str)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    line = draw(st.sampled_from(REAL))
    op = draw(st.sampled_from(("cut", "splice", "noise", "dup", "swap")))
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
    return line[i:] + line[:i]


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(text=st.text(max_size=400))
def test_random_text(fmt: str, text: str) -> None:
    _check(fmt, text)


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(line=mutated())
def test_mutated_real_lines(fmt: str, line: str) -> None:
    _check(fmt, line)


@pytest.mark.parametrize("fmt", FORMATS)
def test_long_pathological_lines(fmt: str) -> None:
    # Repetitive input that would make a backtracking pattern explode.
    for line in ("%ASA-6-302014: Teardown TCP connection " + "a " * 5000, "a=" * 20000, "," * 50000,
                 "IN= OUT= " + "SRC= " * 10000, "<13>" + "x" * 100000, '"' * 30000,
                 "[a-b-" * 5000 + "IN=x OUT= SRC=1 DST=2", "%ASA-4-106023: Deny tcp src " + "a:" * 10000,
                 "1," + "a," * 20000, "<13>Jan  1 00:00:00 h " + "a[" * 10000):
        _check(fmt, line)
