"""``squid`` parser: native, extended (Elastic's layout) and common/combined access logs."""

from __future__ import annotations

import pytest

from connectors.parsers import ParseContext, ParseError, detect, parse_line

CTX = ParseContext()


def one(line: str) -> dict:
    return parse_line("squid", line, CTX)[0]


def test_native_miss() -> None:
    d = one("1286536309.450     70 192.168.0.68 TCP_MISS/200 507 GET http://www.example.com/a/b.php?x=1 bob "
            "DIRECT/93.184.216.34 text/html")
    assert d["@timestamp"] == "2010-10-08T11:11:49.450Z"
    assert d["event"]["duration"] == 70_000_000
    assert d["event"]["dataset"] == "squid.log" and d["event"]["outcome"] == "success"
    assert d["source"]["ip"] == "192.168.0.68"
    assert d["user"]["name"] == "bob" and d["source"]["user"]["name"] == "bob"
    assert d["squid"] == {"result_code": "TCP_MISS", "status_code": 200, "peer_status": "DIRECT",
                          "content_type": "text/html"}
    assert d["http"]["request"]["method"] == "GET" and d["http"]["response"]["status_code"] == 200
    assert d["url"]["domain"] == "www.example.com" and d["url"]["path"] == "/a/b.php"
    assert d["url"]["query"] == "x=1" and d["url"]["extension"] == "php"
    assert d["destination"]["ip"] == "93.184.216.34"
    assert set(d["related"]["ip"]) == {"192.168.0.68", "93.184.216.34"}


def test_native_denied_connect() -> None:
    d = one("1140701230.827    781 192.168.1.210 TCP_DENIED/407 1785 CONNECT evil.example.org:443 - NONE/- -")
    assert d["event"]["type"] == ["access", "denied"] and d["event"]["outcome"] == "failure"
    assert d["url"]["original"] == "evil.example.org:443"
    assert d["url"]["domain"] == "evil.example.org" and d["url"]["port"] == 443
    assert "user" not in d and "destination" not in d


def test_extended_layout() -> None:
    d = one('1773416971.100    220 10.105.21.199 32890 TCP_TUNNEL/200 15432 1980 39 120 - CONNECT '
            'secure.example.com:443 1.1 badeyek HIER_DIRECT/198.51.100.20 443 - - - "-" "curl/8.14.1" '
            '"secure.example.com:443" "192.168.1.50" "secure.example.com" 42 -')
    assert d["source"]["port"] == 32890 and d["destination"]["port"] == 443
    assert d["destination"]["bytes"] == 15432 and d["source"]["bytes"] == 1980
    assert d["squid"]["host_header"] == "secure.example.com:443" and d["squid"]["server_time"] == 42
    assert d["tls"]["client"]["server_name"] == "secure.example.com"
    assert d["network"]["forwarded_ip"] == "192.168.1.50" and "192.168.1.50" in d["related"]["ip"]
    assert d["user_agent"]["original"] == "curl/8.14.1"


def test_common_with_squid_suffix() -> None:
    d = one('192.168.0.1 - alice [10/Oct/2020:13:55:36 +0700] "GET http://a.b.com/ HTTP/1.1" 403 2326 '
            "TCP_DENIED:HIER_NONE")
    assert d["@timestamp"] == "2020-10-10T06:55:36.000Z"
    assert d["squid"]["result_code"] == "TCP_DENIED" and d["squid"]["status_code"] == 403
    assert d["event"]["outcome"] == "failure" and d["user"]["name"] == "alice"


def test_over_syslog() -> None:
    d = one("<134>Oct  8 11:11:49 proxy1 squid[812]: 1286536309.450 70 10.0.0.1 TCP_MISS/200 507 GET "
            "http://x.example/ - DIRECT/1.2.3.4 text/html")
    assert d["host"]["hostname"] == "proxy1" and d["source"]["ip"] == "10.0.0.1"
    assert d["@timestamp"] == "2010-10-08T11:11:49.450Z"


@pytest.mark.parametrize("line", ["", "hello world", "1286536309.450 70 1.2.3.4 TCP_MISS/200",
                                  "99999999999999.1 1 1.2.3.4 TCP_MISS/200 1 GET / - - -"])
def test_rejects(line: str) -> None:
    with pytest.raises(ParseError):
        one(line)


def test_sniffed() -> None:
    assert detect("1286536309.450     70 192.168.0.68 TCP_MISS/200 507 GET http://a/ - DIRECT/1.2.3.4 -") == "squid"


def test_fast_native_path_matches_general_path() -> None:
    """The one-regex path for usual native lines builds exactly what the general path builds."""
    import random

    from connectors.parsers import squid

    base = ["1286536309.450     70 192.168.0.68 TCP_MISS/200 507 GET http://a.example.com/x/y.html?q=1 bob "
            "HIER_DIRECT/203.0.113.5 text/html",
            "1764464000.123   1200 10.1.2.3 TCP_TUNNEL/200 3000 CONNECT api.service.com.vn:443 - HIER_DIRECT/a.b.c -",
            "1764464000.9 5 pc1.hp.gov.vn TCP_DENIED/407 3900 GET http://blocked.example.net/a.js - HIER_NONE/- "
            "text/html",
            "1764464000 0 2001:db8::1 NONE/000 0 NONE error:invalid-request - HIER_NONE/- -",
            "1764464000.1 -1 10.0.0.1 TCP_HIT/- 12 GET /relative",
            "1764464000.1 3 10.0.0.1 - 12 GET http://[::1]:8080/%41?b#c u HIER_DIRECT/::ffff:10.0.0.2 x/y",
            "1764464000.1 3 ::ffff:10.0.0.9 TCP_MISS/200 12 POST ftp://u:p@h.example.org:21/f.txt u -/- -"]
    rnd = random.Random(3)
    lines = list(base)
    for _ in range(3000):
        line = rnd.choice(base)
        i = rnd.randrange(len(line) + 1)
        lines.append(line[:i] + rnd.choice([" ", "  ", "-", "/", ":", "x", "1", "[", "%", "."]) + line[i:])
    fast = 0
    for line in lines:
        if squid._FAST.match(line) is None:
            continue
        fast += 1
        try:
            general = squid._parse_general(line, CTX)
        except ParseError:
            with pytest.raises(ParseError):
                squid.parse(line, CTX)
            continue
        assert squid.parse(line, CTX) == general, line
    assert fast > 1000
