"""``syslog`` parser: generic RFC 3164 / RFC 5424 lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from connectors.parsers import ParseContext, ParseError, parse_line, syslog_header
from connectors.parsers.base import VIETNAM_TZ

CTX = ParseContext(received=datetime(2024, 1, 3, tzinfo=UTC), source="edge")


def one(line: str) -> dict:
    return parse_line("syslog", line, CTX)[0]


def test_rfc3164() -> None:
    d = one("<27>Jan  2 10:00:00 gw01 ntpd[812]: time reset +0.3 s")
    assert d["@timestamp"] == "2024-01-02T03:00:00.000Z"
    assert d["event"] == {"original": "<27>Jan  2 10:00:00 gw01 ntpd[812]: time reset +0.3 s", "kind": "event",
                          "dataset": "system.syslog", "module": "system", "type": ["error"]}
    assert d["log"]["syslog"]["facility"] == {"code": 3, "name": "daemon"}
    assert d["log"]["syslog"]["severity"] == {"code": 3, "name": "error"}
    assert d["process"] == {"name": "ntpd", "pid": 812} and d["host"]["name"] == "gw01"
    assert d["message"] == "time reset +0.3 s" and d["soc"]["input"] == "edge"


def test_rfc5424_with_structured_data() -> None:
    d = one('<165>1 2022-01-11T22:14:15.003Z mymachine.example.com evntslog 1024 ID47 '
            '[exampleSDID@32473 iut="3" eventSource="Application"] this is the message')
    assert d["@timestamp"] == "2022-01-11T22:14:15.003Z"
    assert d["log"]["syslog"]["msgid"] == "ID47" and d["log"]["syslog"]["version"] == "1"
    assert d["log"]["syslog"]["structured_data"] == {"exampleSDID@32473": {"iut": "3", "eventSource": "Application"}}
    assert d["message"] == "this is the message" and d["process"]["pid"] == 1024


def test_headerless_line_kept_whole() -> None:
    d = one("plain text from a file")
    assert d["message"] == "plain text from a file" and d["@timestamp"] == "2024-01-03T00:00:00.000Z"


def test_empty_rejected() -> None:
    with pytest.raises(ParseError):
        one("")


EDGE = ["<13>Jan  2 10:00:00 h sshd: x", "Jan  2 10:00:00 h sshd:x", "<200>Jan  2 10:00:00 h a[1]: x",
        "Jan 22 10:00:00 h a[]: x", "Feb 30 10:00:00 h a: x", "Jan  2 10:00:00 h a[1]:  two spaces",
        "Jan  2 10:00:00 sshd[1]: no host", "Jan  2 10:00:00 h-1.x.vn su(pam_unix)[9]: m", "Dec 31 23:59:59 h a: y",
        "Jan  2 10:00:00 2001:db8::1 a: v6 host", "Jan  2 10:00:00 host: x: y"]


def test_fast_header_path_matches_split() -> None:
    """The one-regex fast path in ``_srv_syslog`` gives exactly what ``syslog_header.split`` gives."""
    from connectors.parsers._srv_syslog import fast_split
    from connectors.parsers.syslog_header import split
    from tests.connectors.elastic_compare import SHARED

    lines = list(EDGE)
    for rel in ("Linux/Linux_2k.log", "OpenSSH/OpenSSH_2k.log"):
        p = SHARED / "logs" / "loghub" / rel
        if p.is_file():
            lines += p.read_bytes().decode("utf-8", errors="surrogateescape").splitlines()
    for ctx in (CTX, ParseContext(received=datetime(2024, 12, 30, tzinfo=UTC))):
        for line in lines:
            assert fast_split(line, ctx) == split(line, ctx), line


def test_fast_header_year_follows_each_records_arrival_time() -> None:
    """The fast path caches per (timestamp, zone, year), not per arrival time: records that arrive
    around New Year (in UTC and in the source's zone) still get the year ``split`` gives them."""
    from datetime import timedelta, timezone

    from connectors.parsers._srv_syslog import fast_split
    from connectors.parsers.syslog_header import split

    lines = ["Dec 31 23:59:59 h sshd[1]: x", "Jan  1 00:00:01 h sshd[1]: x", "Jan  3 10:00:00 h sshd[1]: x",
             "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: y", "Dec 28 08:00:00 h su: z", "Feb 29 12:00:00 h a: leap"]
    arrivals = [datetime(2025, 12, 31, 20, tzinfo=UTC), datetime(2026, 1, 1, 1, tzinfo=UTC),
                datetime(2025, 12, 25, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC),
                datetime(2024, 2, 26, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)]
    for tz in (UTC, timezone(timedelta(hours=7)), timezone(timedelta(hours=-10))):
        for received in arrivals:
            ctx = ParseContext(tz=tz, received=received)
            for line in lines:
                assert fast_split(line, ctx) == split(line, ctx), (line, received, tz)
    # 29 February seen days before it (a skewed clock) stays in its leap year instead of failing.
    early = ParseContext(tz=UTC, received=datetime(2024, 2, 20, tzinfo=UTC))
    ts = fast_split("Feb 29 12:00:00 h a: leap", early).timestamp
    assert ts is not None and ts.year == 2024


_HEADERS = ["<13>Feb 29 12:00:00 fw ", "Dec 31 23:59:59 fw ", "Jan  1 00:00:01 10.1.1.1 ", "<189>Feb 30 10:00:00 fw ",
            "Dec 23 11:13:03.123 2025 UTC: ", "Mar  2 01:02:03 -0500 fw ", "Jan  1 00:00:00 ICT fw ", "Xyz 1 00:00:00 fw ",
            "<190>2026-11-30T08:01:02+07:00 fw ", "2026-02-30 10:00:00 fw ", "<14>1 2026-11-30T08:01:02Z h app - - - ",
            "<14>1 - - - - - - ", "<999>Jan  2 03:04:05 fw ", "\ufeffDec 30 10:00:00 fw ", "fw01 ", "<34>"]


@pytest.mark.parametrize("header", _HEADERS)
def test_header_time_is_splits_timestamp_for_every_arrival_time(header: str) -> None:
    """``header_time`` (kept per header text by parsers) gives ``split``'s timestamp for any arrival time and zone:
    a year-less BSD time takes its year from each arrival (a December line read in January is last year's;
    29 February only exists in leap years)."""
    line = header + "type=event x=1"
    arrivals = [datetime(2026, 12, 31, 23, 59, tzinfo=UTC), datetime(2027, 1, 1, 0, 30, tzinfo=UTC),
                datetime(2028, 2, 29, 12, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC), datetime(2026, 6, 15, tzinfo=UTC)]
    for tz in (VIETNAM_TZ, UTC, timezone(timedelta(hours=-5))):
        clock = syslog_header.header_time(line, tz)
        for when in arrivals:
            expected = syslog_header.split(line, ParseContext(tz=tz, received=when), expect_tag=False).timestamp
            got = clock.at(when) if isinstance(clock, syslog_header.YearlessTime) else clock
            assert got == expected, (line, tz, when)
