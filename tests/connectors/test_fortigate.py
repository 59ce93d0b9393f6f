"""FortiGate parser and the shared key=value tokenizer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.parsers import ParseContext, ParseError, detect, fortigate, syslog_header
from connectors.parsers.kv import parse_kv

CTX = ParseContext(received=datetime(2024, 1, 1, tzinfo=UTC))

TRAFFIC = ('<189>date=2020-04-23 time=01:16:08 devname="fw1" devid="FG100E" logid="0000000013" type="traffic" '
           'subtype="forward" level="notice" vd="root" eventtime=1592961368 srcip=10.10.10.10 srcport=60899 '
           'srcintf="port1" srcintfrole="lan" dstip=67.43.156.13 dstport=161 dstintf="wan1" dstintfrole="wan" '
           'sessionid=155313 proto=17 action="deny" policyid=0 policytype="policy" service="SNMP" duration=3 '
           'sentbyte=10 rcvdbyte=20 sentpkt=1 rcvdpkt=2 appcat="unscanned"')
WEBFILTER = ('<188>date=2020-04-23 time=12:17:48 devname="fw1" devid="FG100E" logid="0316013056" type="utm" '
             'subtype="webfilter" eventtype="ftgd_blk" level="warning" vd="root" tz="-0500" policyid=7 '
             'user="alice" srcip=192.168.2.1 srcport=61930 dstip=67.43.156.13 dstport=443 proto=6 '
             'hostname="example.com" action="blocked" url="/a?b=c d" direction="outgoing" '
             'msg="URL belongs to a denied category in policy" catdesc="Malicious Websites"')
ADMIN_LOGIN = ('date=2024-05-01 time=08:00:00 devname="fw1" devid="FG100E" logid="0100032002" type="event" '
               'subtype="system" level="alert" vd="root" logdesc="Admin login failed" user="admin" ui="ssh(10.0.0.5)" '
               'action="login" status="failed" reason="passwd_invalid" '
               'msg="Administrator admin login failed from ssh(10.0.0.5) because of invalid password"')


def test_kv_quoted_values_keep_spaces_and_equals() -> None:
    kv = parse_kv('a=1 msg="x y=z" empty= q="" url=/p?x=1 tail="unterminated')
    assert kv == {"a": "1", "msg": "x y=z", "empty": "", "q": "", "url": "/p?x=1", "tail": '"unterminated'}


def test_traffic_deny() -> None:
    doc = fortigate.parse(TRAFFIC, CTX)
    assert doc["event"]["dataset"] == "fortinet.firewall"
    assert doc["event"]["action"] == "deny"
    assert set(doc["event"]["type"]) == {"connection", "end", "denied"}
    assert doc["source"] == {"ip": "10.10.10.10", "port": 60899, "bytes": 10, "packets": 1}
    assert doc["destination"]["port"] == 161
    assert doc["network"]["transport"] == "udp"
    assert doc["network"]["bytes"] == 30 and doc["network"]["packets"] == 3
    assert doc["network"]["direction"] == "outbound"  # private -> public
    assert doc["event"]["duration"] == 3_000_000_000
    assert doc["observer"]["ingress"]["interface"]["name"] == "port1"
    assert doc["observer"]["serial_number"] == "FG100E" and doc["observer"]["name"] == "fw1"
    assert doc["rule"] == {"id": "0", "ruleset": "policy", "category": "unscanned"}
    # No tz in the record: the source's zone (Vietnam, UTC+7) applies.
    assert doc["@timestamp"] == "2020-04-22T18:16:08.000Z"
    assert doc["fortinet"]["firewall"]["sessionid"] == "155313"
    assert "date" not in doc["fortinet"]["firewall"] and "devid" not in doc["fortinet"]["firewall"]
    assert doc["log"]["syslog"]["priority"] == 189


def test_webfilter_uses_line_offset() -> None:
    doc = fortigate.parse(WEBFILTER, CTX)
    assert doc["@timestamp"] == "2020-04-23T17:17:48.000Z"
    assert doc["event"]["timezone"] == "-0500"
    assert doc["event"]["type"] == ["denied"]
    assert doc["url"] == {"domain": "example.com", "path": "/a?b=c d"}
    assert doc["source"]["user"]["name"] == "alice"
    assert doc["related"]["user"] == ["alice"]
    assert doc["message"] == "URL belongs to a denied category in policy"
    assert doc["rule"]["category"] == "Malicious Websites"
    assert doc["network"]["direction"] == "outbound"


def test_admin_login_failure() -> None:
    doc = fortigate.parse(ADMIN_LOGIN, CTX)
    assert doc["event"]["action"] == "login"
    assert "authentication" in doc["event"]["category"]
    assert doc["event"]["outcome"] == "failure"
    assert doc["user"]["name"] == "admin"
    assert doc["source"]["ip"] == "10.0.0.5"
    assert doc["rule"]["description"] == "Admin login failed"


def test_legacy_fortios4_names() -> None:
    line = ('date=2011-07-24 time=10:13:03 devname=fw log_id=0038016004 type=traffic subtype=other pri=notice '
            'status=deny src=10.3.3.3 dst=10.4.4.4 proto=6 sent=5 rcvd=7')
    doc = fortigate.parse(line, CTX)
    assert doc["source"]["ip"] == "10.3.3.3" and doc["destination"]["ip"] == "10.4.4.4"
    assert doc["event"]["action"] == "deny"
    assert doc["network"]["bytes"] == 12


def test_sniff_and_detect() -> None:
    assert fortigate.sniff(TRAFFIC)
    assert detect(TRAFFIC) == "fortigate"
    assert not fortigate.sniff("Jan  1 00:00:00 host sshd[1]: Accepted password for x")


@pytest.mark.parametrize("line", ["", "hello world", "<13>Jan  1 00:00:00 host app: no pairs here"])
def test_not_fortigate(line: str) -> None:
    with pytest.raises(ParseError):
        fortigate.parse(line, CTX)


def test_pair_regex_matches_lookbehind_form() -> None:
    """``_PAIR`` (blank consumed, searched with a blank in front) finds exactly the pairs of the plain
    look-behind tokenizer, on real lines and on mutations of them (quotes, blanks, tabs, ``=``)."""
    import random
    import re

    from tests.connectors.test_fuzz_firewalls import REAL

    plain = re.compile(r'(?<!\S)(?:(\w++)|[^\s="]++)=(?:"([^"]*)"|(\S*))', re.ASCII)
    lines = [s for s in REAL if "=" in s] + [TRAFFIC, WEBFILTER, ADMIN_LOGIN]
    rnd = random.Random(11)
    for _ in range(3000):
        s = rnd.choice(lines)
        i = rnd.randrange(len(s) + 1)
        lines.append(s[:i] + rnd.choice(['"', "=", " ", "\t", "  ", "a=", '=""', "\x0b", "é"]) + s[i:])
    for s in lines:
        assert fortigate._PAIR.findall(" " + s) == plain.findall(s), s


@pytest.mark.parametrize("text", ["1592961368", "1592961368123", "1659097034396946116", "1592961368999",
                                  "0", "99999999999", "253402300799999", "253402300800000", "9" * 18,
                                  "5000000000123", "", "12a", None])
def test_event_start_from_eventtime(text: str | None) -> None:
    """The per-second cached ``event.start`` string equals the datetime-based conversion."""
    dt = fortigate._eventtime(text)
    expect = None if dt is None else dt.isoformat(timespec="milliseconds")[:-6] + "Z"
    assert fortigate._eventtime_iso(text) == expect


def test_timestamp_cache_only_keeps_date_time_results() -> None:
    """Records whose date/time cannot be read fall back to their own eventtime, never to a cached value."""
    bad = '<189>date=2020-04-23 time=xx devname="fw1" logid="1" type="event" subtype="system" eventtime={}'
    a = fortigate.parse(bad.format(1592961368), CTX)
    b = fortigate.parse(bad.format(1592961400), CTX)
    assert a["@timestamp"] == "2020-06-24T01:16:08.000Z" and b["@timestamp"] == "2020-06-24T01:16:40.000Z"
    line = '<189>date=2020-04-23 time=01:16:08 devname="fw1" logid="1" type="event" subtype="system"'
    hanoi = fortigate.parse(line, CTX)["@timestamp"]
    utc = fortigate.parse(line, ParseContext(tz=UTC))["@timestamp"]
    assert (hanoi, utc) == ("2020-04-22T18:16:08.000Z", "2020-04-23T01:16:08.000Z")
    assert fortigate.parse(line + ' tz="+0200"', CTX)["@timestamp"] == "2020-04-22T23:16:08.000Z"


def test_traffic_counters_that_are_not_numbers_are_dropped() -> None:
    """A counter that is not an integer gives no ECS field and is not kept as text either."""
    line = TRAFFIC.replace("sentbyte=10", "sentbyte=ten").replace("dstport=161", "dstport=+161")
    doc = fortigate.parse(line, CTX)
    assert "bytes" not in doc["source"] and "sentbyte" not in doc["fortinet"]["firewall"]
    assert doc["destination"]["port"] == 161  # int() accepts a sign, as to_int always did
    assert "bytes" not in doc["network"] and doc["network"]["packets"] == 3


def test_related_ip_order_and_nat() -> None:
    """related.ip: source, destination, source NAT, destination NAT, each once, in that order."""
    line = TRAFFIC + " transip=10.10.10.10 tranip=198.51.100.7 tranport=8161 transport=40000"
    doc = fortigate.parse(line, CTX)
    assert doc["related"]["ip"] == ["10.10.10.10", "67.43.156.13", "198.51.100.7"]
    assert doc["source"]["nat"] == {"ip": "10.10.10.10", "port": 40000}
    assert doc["destination"]["nat"] == {"ip": "198.51.100.7", "port": 8161}


@pytest.mark.parametrize(("extra", "users"), [(' user="alice" dstunauthuser="alice"', ["alice"]),
                                              (' user="alice" dstunauthuser="bob"', ["alice", "bob"]),
                                              (' dstunauthuser="bob"', ["bob"]), ("", None)])
def test_related_user_once_each(extra: str, users: list[str] | None) -> None:
    doc = fortigate.parse(TRAFFIC + extra, CTX)
    assert doc.get("related", {}).get("user") == users


def test_documents_share_no_nested_dicts() -> None:
    """Per-PRI tables are copied: changing one document's ``log.syslog`` leaves the next one intact."""
    a = fortigate.parse(TRAFFIC, CTX)
    a["log"]["syslog"]["facility"]["name"] = "changed"
    a["log"]["syslog"]["severity"]["code"] = 99
    b = fortigate.parse(TRAFFIC, CTX)
    assert b["log"]["syslog"]["facility"] == {"code": 23, "name": "local7"}
    assert b["log"]["syslog"]["severity"] == {"code": 5, "name": "notice"}


@pytest.mark.parametrize("text", ["1592961368123", "0001592961368123", "1592961368١23", "1592961368²23",
                                  "1659097034396946116", "1659097034396946١16", "4294967296123"])
def test_event_start_cached_seconds(text: str) -> None:
    """The per-second text cache answers only for ASCII digits: after one record of a second has filled it,
    a record of the same second whose milliseconds are other digits still gets the datetime-based answer."""
    fortigate._eventtime_iso("1592961368000")
    fortigate._eventtime_iso("1659097034396000000")
    dt = fortigate._eventtime(text)
    expect = None if dt is None else dt.isoformat(timespec="milliseconds")[:-6] + "Z"
    assert fortigate._eventtime_iso(text) == expect


@pytest.mark.parametrize("eventtime", ["1592961368²23", "²" * 19, "¹²³"])
def test_eventtime_digits_int_refuses_are_ignored_not_a_crash(eventtime: str) -> None:
    """``str.isdigit`` accepts "²", which ``int`` refuses: such an eventtime gives no ``event.start``, and the
    record still parses (it used to raise ValueError out of the parser)."""
    assert "eventtime=1592961368 " in TRAFFIC
    doc = fortigate.parse(TRAFFIC.replace("eventtime=1592961368 ", f"eventtime={eventtime} "), CTX)
    assert "start" not in doc["event"]


def test_traffic_without_msg_maps_like_with_msg() -> None:
    """A traffic record without ``msg`` runs the common and traffic tables in one pass; with ``msg`` it runs them
    apart (the login pipeline may come in between): both give the same fields."""
    variants = [TRAFFIC, TRAFFIC + ' dst_int="x" srcname="PC1" dstmac="aa:bb:cc:dd:ee:ff" unauthuser="u"',
                TRAFFIC.replace('action="deny"', 'action="accept" app="HTTPS" utmaction="block"') + " tranip=1.2.3.4",
                TRAFFIC.replace("dstport=161", "dstport=x") + ' subject="s" collectedemail="a@b.c"']
    for line in variants:
        plain = fortigate.parse(line, CTX)
        with_msg = fortigate.parse(line + ' msg="session closed"', CTX)
        assert with_msg.pop("message") == "session closed"
        assert with_msg["event"].pop("original") == line + ' msg="session closed"'
        plain["event"].pop("original")
        assert with_msg == plain, line


def test_tables_run_in_any_order() -> None:
    """Every table target is distinct and none is inside another, so visiting the record's keys or the table's
    (whichever is smaller) cannot change a document."""
    for table, parts, extra in ((fortigate._MOVE_COMMON_TRAFFIC, fortigate._MOVE_TRAFFIC, set()),
                                (fortigate._MOVE_COMMON_UTM, fortigate._MOVE_UTM, {"srcport"}),
                                (fortigate._MOVE_COMMON_EVENT, fortigate._MOVE_EVENT, set())):
        for t in (table, parts, fortigate._MOVE_COMMON):
            assert fortigate._table(t) == t
        assert set(table) == set(fortigate._MOVE_COMMON) | set(parts) | extra


def _fields(doc: dict[str, object], *paths: str) -> list[object]:
    out: list[object] = []
    for path in paths:
        cur: object = doc
        for name in path.split("."):
            cur = cur.get(name, "<absent>") if isinstance(cur, dict) else "<absent>"
        out.append(cur)
    return out


UTM_BARE = ('<188>date=2020-04-23 time=12:17:48 devname="fw1" devid="FG100E" logid="0316013056" type="utm" '
            'subtype="webfilter" level="warning" ')


@pytest.mark.parametrize(("extra", "paths", "expected"), [
    # a first choice wins, the second stays in fortinet.firewall
    ("dstip=1.1.1.1 remip=2.2.2.2", ("destination.ip", "fortinet.firewall.remip"), ["1.1.1.1", "2.2.2.2"]),
    ("remip=2.2.2.2", ("destination.ip", "fortinet.firewall.remip"), ["2.2.2.2", "<absent>"]),
    ("locip=3.3.3.3 srcip=4.4.4.4", ("source.ip", "fortinet.firewall.srcip"), ["3.3.3.3", "4.4.4.4"]),
    ("unauthuser=u user=v", ("source.user.name", "fortinet.firewall.user"), ["u", "v"]),
    ("appcat=a.b catdesc=c.d", ("rule.category", "fortinet.firewall.catdesc"), ["a-b", "c.d"]),
    ("catdesc=c.d", ("rule.category",), ["c-d"]),
    ("applist=L profile=P", ("rule.ruleset", "fortinet.firewall.profile"), ["L", "P"]),
    ("policy_id=1 policyid=2", ("rule.id", "fortinet.firewall.policyid"), ["1", "2"]),
    ("event_id=1 eventid=2", ("event.id", "fortinet.firewall.eventid"), ["1", "2"]),
    # ports: the first number of dst_port, remport, dstport wins; all three leave the record
    ("dstport=443 remport=80", ("destination.port", "fortinet.firewall.remport"), [80, "<absent>"]),
    ("dstport=443 remport=x", ("destination.port", "fortinet.firewall.remport"), [443, "<absent>"]),
    ("dstport=x remport=y", ("destination.port", "fortinet.firewall.dstport"), ["<absent>", "<absent>"]),
    ("srcport=5 src_port=6 locport=7", ("source.port",), [7]),
    # errorcode before logid
    ("errorcode=E1", ("event.code",), ["E1"]),
    ("", ("event.code",), ["0316013056"]),
    # filesize that is no number: infectedfilesize takes the field
    ("filesize=x infectedfilesize=9 filename=a infectedfilename=b",
     ("file.size", "file.name", "fortinet.firewall.infectedfilename"), ["9", "a", "b"]),
    ('qname="www.example.co.uk" qtype=A xid=7', ("dns.question.name", "dns.question.registered_domain", "dns.id"),
     ["www.example.co.uk", "example.co.uk", "7"]),
    ("size=12 lanin=x", ("fortinet.firewall.size", "fortinet.firewall.lanin"), [12, "x"]),
    # TLS keys (the table marks them): mapped, and the ones Elastic only reads leave the record
    ("tlsver=TLSv1.2 cn=a.example san=b.example;a.example sni=a.example",
     ("tls.version", "tls.server.x509.alternative_names", "destination.domain", "fortinet.firewall.cn"),
     ["1.2", ["b.example", "a.example"], "a.example", "<absent>"]),
    ("matchedfilename=m matchedfiletype=exe", ("file.name", "file.extension"), ["m", "exe"]),
])
def test_utm_table_and_second_choices(extra: str, paths: tuple[str, ...], expected: list[object]) -> None:
    doc = fortigate.parse(UTM_BARE + extra, CTX)
    assert _fields(doc, *paths) == expected
    assert not {"date", "time", "logid", "devname"} & set(doc.get("fortinet", {}).get("firewall", {}))


def test_utm_login_message_runs_the_tables_apart() -> None:
    """A UTM record whose message is a login runs ``_login`` before the UTM keys: the address and port the
    login pipeline takes from the message stay, and ``srcip``/``srcport`` stay in ``fortinet.firewall``."""
    line = UTM_BARE + 'srcip=1.2.3.4 srcport=99 msg="Login from ssh: failed for root from 5.6.7.8 port 22"'
    doc = fortigate.parse(line, CTX)
    assert _fields(doc, "source.ip", "source.port", "user.name", "fortinet.firewall.srcip",
                   "fortinet.firewall.srcport") == ["5.6.7.8", 22, "root", "1.2.3.4", "<absent>"]
    assert "authentication" in doc["event"]["category"]
    plain = fortigate.parse(line.replace("Login from ssh", "Notice from ssh"), CTX)
    assert _fields(plain, "source.ip", "source.port", "fortinet.firewall.srcip") == ["1.2.3.4", 99, "<absent>"]


EVENT_BARE = ('<189>date=2020-04-23 time=12:17:48 devname="fw1" devid="FG100E" logid="0101037127" type="event" '
              'level="notice" ')


@pytest.mark.parametrize(("extra", "paths", "expected"), [
    ("subtype=system dstip=1.1.1.1 remip=2.2.2.2", ("destination.ip", "fortinet.firewall.remip"),
     ["1.1.1.1", "2.2.2.2"]),
    ("subtype=system dstport=x remport=80", ("destination.port", "fortinet.firewall.remport"), [80, "<absent>"]),
    ("subtype=system dstport=443 remport=80", ("destination.port", "fortinet.firewall.remport"),
     [443, "<absent>"]),
    ("subtype=system srcip=1.1.1.1 locip=2.2.2.2 srcmac=aa:bb source_mac=cc:dd",
     ("source.ip", "fortinet.firewall.locip", "source.mac", "fortinet.firewall.source_mac"),
     ["1.1.1.1", "2.2.2.2", "AA-BB", "cc:dd"]),
    ("subtype=system daddr=a dst_host=b", ("destination.address", "fortinet.firewall.dst_host"), ["a", "b"]),
    ("subtype=system mem=12 jitter=1.5 latency=x", ("fortinet.firewall.mem", "fortinet.firewall.jitter",
                                                    "fortinet.firewall.latency"), [12, 1.5, "x"]),
    ("subtype=system filesize=3 file=f service=HTTPS", ("file.size", "file.name", "network.protocol"),
     [3, "f", "https"]),
    # vpn: remip (the client) is the source
    ("subtype=vpn remip=9.9.9.9 locip=10.0.0.1 user=bob", ("source.ip", "destination.ip", "source.user.name"),
     ["9.9.9.9", "10.0.0.1", "bob"]),
])
def test_event_table_and_second_choices(extra: str, paths: tuple[str, ...], expected: list[object]) -> None:
    doc = fortigate.parse(EVENT_BARE + extra, CTX)
    assert _fields(doc, *paths) == expected
    assert doc["event"]["code"] == "0101037127"


@pytest.mark.parametrize("line", [TRAFFIC[len("<189>"):], WEBFILTER[len("<188>"):], ADMIN_LOGIN])
def test_bare_record_maps_like_the_general_header_parser(line: str) -> None:
    """A record without a syslog header skips the header parser: the same document as the general path, which
    a leading blank takes (no ``<PRI>``, so no ``log.syslog``)."""
    doc = fortigate.parse(line, CTX)
    general = fortigate.parse(" " + line, CTX)
    general["event"]["original"] = line
    assert repr(doc) == repr(general)
    assert "log" not in doc or "syslog" not in doc["log"]


@pytest.mark.parametrize(("value", "expected"), [("outgoing", "outbound"), ("INCOMING", "inbound"),
                                                 ("Internal", "internal"), ("sideways", "unknown")])
def test_direction_key_wins_over_addresses(value: str, expected: str) -> None:
    doc = fortigate.parse(TRAFFIC + f" dir={value}", CTX)
    assert doc["network"]["direction"] == expected
    assert "dir" not in doc["fortinet"]["firewall"]


@pytest.mark.parametrize("text", ["1592961368", "1592961368123", "1659097034396946116", "0", "253402300799999",
                                  "253402300800000", "9" * 18, "5000000000123", "12a", "²", "١٥٩٢٩٦١٣٦٨"])
def test_timestamp_from_eventtime_without_date(text: str) -> None:
    """Without ``date``/``time``, ``@timestamp`` is ``eventtime`` (as ``_eventtime`` reads it), else the arrival
    time."""
    doc = fortigate.parse(f'<189>devname="fw1" type="traffic" eventtime={text} srcip=10.0.0.1', CTX)
    dt = fortigate._eventtime(text)
    assert doc["@timestamp"] == syslog_header.iso(dt or CTX.received)


#: Syslog headers of every form ``syslog_header.split`` reads, and look-alikes it reads only in part or not at all.
_HEADERS = ["Dec 23 11:13:03 ", "Dec 31 23:59:59 fw01 ", "Jan  1 00:00:01 10.1.1.1 ", "<13>Feb 29 12:00:00 fw ",
            "<13>Feb 28 12:00:00 fw ", "<190>2026-11-30T08:01:02+07:00 fw ", "<14>1 2026-11-30T08:01:02Z host app - - - ",
            "<14>1 - - - - - - ", "Dec 23 11:13:03.123 2025 UTC: ", "Mar  2 01:02:03 +07:00 fw ", "Feb 30 10:00:00 fw ",
            "\ufeff<13>Dec 30 10:00:00 fw ", "<192>Dec 30 10:00:00 fw ", "<192>", "2018 Apr 09 16:03:37 host->ip ",
            "fw01 ", "<34>Oct 11 22:14:15 mymachine su: ", "Jan  1 00:00:00 ICT fw ", "<13>1 a b c d "]
_RECEIVED = [datetime(2026, 12, 31, 23, 59, 30, tzinfo=UTC), datetime(2027, 1, 1, 0, 0, 30, tzinfo=UTC),
             datetime(2027, 1, 2, 12, 0, tzinfo=UTC), datetime(2028, 2, 29, 12, 0, tzinfo=UTC),
             datetime(2026, 3, 1, tzinfo=UTC)]


@pytest.mark.parametrize("header", _HEADERS)
def test_header_cache_splits_like_the_header_parser(header: str) -> None:
    """``_header`` (cached header texts) gives what ``syslog_header.split`` gives, time aside, for every header
    form, around New Year and 29 February, whether the cache was filled by another record or not."""
    bodies = ['date=2026-12-31 time=23:59:59 type="traffic" srcip=10.0.0.1', "type=event x=1", "_a=1 b=2",
              "logid=1 - y=2", 'devname="fw" msg="a b"']
    for received in _RECEIVED:
        ctx = ParseContext(received=received)
        fortigate._HEADERS.clear()
        for _ in range(2):  # (cold, then from the cache)
            for body in bodies:
                line = header + body
                sl, msg = fortigate._header(line, ctx)
                want = syslog_header.split(line, ctx, expect_tag=False)
                assert msg == want.message, line
                assert (sl.pri, sl.hostname, sl.appname, sl.procid, sl.msgid, sl.version, sl.structured_data) == (
                    want.pri, want.hostname, want.appname, want.procid, want.msgid, want.version,
                    want.structured_data), line


def test_header_time_is_read_per_record() -> None:
    """A cached header still gives each record its own header time when the record has no date/time (and the
    missing year from its own arrival time)."""
    fortigate._HEADERS.clear()
    docs = [fortigate.parse("Dec 31 23:59:59 fw01 type=event devname=fw", ParseContext(received=r))
            for r in (datetime(2027, 1, 1, 0, 0, 30, tzinfo=UTC), datetime(2026, 12, 31, 16, 0, 30, tzinfo=UTC))]
    assert [d["@timestamp"] for d in docs] == ["2026-12-31T16:59:59.000Z", "2026-12-31T16:59:59.000Z"]
    assert all(d["observer"]["name"] == "fw" for d in docs)  # (devname wins over the header's host)
    assert fortigate._HEADERS["Dec 31 23:59:59 fw01 "].hostname == "fw01"


@pytest.mark.parametrize("header", [*_HEADERS, "<13>Feb 29 12:00:00.5 fw ", "Feb 29 12:00:00 2028 fw ",
                                    "<14>1 2026-11-30T08:01:02 - - - - - ", "Jan  1 00:00:00 GMT fw ",
                                    "Dec 31 23:59:59 -0500 fw ", "2026-12-31 23:59:59 fw ", "Xyz 1 00:00:00 fw "])
def test_header_time_cache_times_like_the_header_parser(header: str) -> None:
    """``_header_iso`` (per header text: the fixed time, or a year-less BSD time's parts with the year inferred per
    record) gives ``iso(split(line).timestamp or received)`` for every header form, arrival times around New Year
    and 29 February in several zones, cold and from the cache (filled by another arrival time and zone)."""
    from datetime import timedelta, timezone

    from connectors.parsers.base import VIETNAM_TZ
    received = [*_RECEIVED, datetime(2026, 12, 31, 17, 30, tzinfo=UTC), datetime(2026, 12, 29, 23, 59, 59, tzinfo=UTC),
                datetime(2027, 2, 28, 20, tzinfo=UTC), datetime(2027, 1, 1, 7, tzinfo=timezone(timedelta(hours=7)))]
    zones = [VIETNAM_TZ, UTC, timezone(timedelta(hours=-5))]
    fortigate._HEADER_TIMES.clear()
    cached = whole = 0
    for _ in range(2):
        for tz in zones:
            for when in received:
                ctx = ParseContext(tz=tz, received=when)
                for body in ("type=event x=1", 'date=2026-12-31 type="traffic"'):
                    line = header + body
                    sl = syslog_header.split(line, ctx, expect_tag=False)
                    assert fortigate._header_iso(line, ctx) == syslog_header.iso(sl.timestamp or when), (line, tz, when)
                    cached += (header, tz) in fortigate._HEADER_TIMES
                    whole += len(sl.message) == len(body)  # (the header ends at the first key: cached)
    assert bool(cached) == bool(whole)


def test_event_start_from_cached_seconds() -> None:
    """A 10-digit ``eventtime`` (seconds) gives the same ``event.start`` from the per-second cache as without it."""
    line = 'date=2020-04-23 time=12:17:48 type=event devname=fw eventtime={}'
    fortigate._SEC_ISO.clear()
    first = fortigate.parse(line.format("1592961368"), CTX)["event"]["start"]
    assert "1592961368" in fortigate._SEC_ISO
    assert fortigate.parse(line.format("1592961368"), CTX)["event"]["start"] == first == "2020-06-24T01:16:08.000Z"


def test_fortinet_firewall_keeps_what_no_field_took() -> None:
    doc = fortigate.parse('date=2020-04-23 time=12:17:48 type=event subtype=system devname=fw interface=port1 '
                          'eventtype=x eventsubtype=y lanin=12 vd=root', CTX)
    assert doc["event"]["action"] == "x" and doc["event"]["reason"] == "y"
    assert doc["fortinet"]["firewall"] == {"type": "event", "subtype": "system", "interface": "port1", "lanin": 12,
                                           "vd": "root"}
