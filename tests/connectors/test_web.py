"""``nginx`` and ``apache`` parsers: access logs (common, combined, vhost, forwarded-for) and error logs."""

from __future__ import annotations

import pytest

from connectors.parsers import ParseContext, ParseError, parse_line

CTX = ParseContext()
UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.12; rv:49.0) Gecko/20100101 Firefox/49.0"


def one(fmt: str, line: str) -> dict:
    return parse_line(fmt, line, CTX)[0]


@pytest.mark.parametrize("fmt", ["nginx", "apache"])
def test_combined(fmt: str) -> None:
    d = one(fmt, f'10.1.2.3 - frank [07/Dec/2016:11:05:07 +0100] "GET /a%20b/c.PHP?id=1 HTTP/1.1" 404 169 '
                 f'"http://ref.example/" "{UA}"')
    assert d["@timestamp"] == "2016-12-07T10:05:07.000Z"
    assert d["event"]["dataset"] == f"{fmt}.access" and d["event"]["module"] == fmt
    assert d["event"]["category"] == ["web"] and d["event"]["type"] == ["access"]
    assert d["event"]["outcome"] == "failure"
    assert d["source"]["ip"] == "10.1.2.3" and d["user"]["name"] == "frank"
    assert d["http"] == {"request": {"method": "GET", "referrer": "http://ref.example/"}, "version": "1.1",
                         "response": {"status_code": 404, "body": {"bytes": 169}}}
    assert d["url"]["original"] == "/a%20b/c.PHP?id=1" and d["url"]["path"] == "/a b/c.PHP"
    assert d["url"]["extension"] == "php" and d["url"]["query"] == "id=1"
    assert d["user_agent"]["original"] == UA
    assert d["user_agent"]["name"] == "Firefox" and d["user_agent"]["os"]["name"] == "Mac OS X"
    assert d["related"] == {"ip": ["10.1.2.3"], "user": ["frank"]}


def test_nginx_forwarded_list_picks_first_public() -> None:
    d = one("nginx", 'example.com:80 "10.5.102.222, 199.96.1.1, 204.246.1.1" 10.2.1.185 - - '
                     '[22/Jan/2016:13:18:29 +0000] "GET /assets/x?q=100 HTTP/1.1" 200 25507 "-" "Amazon CloudFront"')
    assert d["nginx"]["access"]["remote_ip_list"] == ["10.5.102.222", "199.96.1.1", "204.246.1.1", "10.2.1.185"]
    assert d["source"]["ip"] == "199.96.1.1"
    assert d["destination"] == {"domain": "example.com", "port": 80}
    assert d["url"]["domain"] == "example.com"


def test_apache_x_forwarded_for() -> None:
    d = one("apache", '89.160.20.112 - - [29/May/2017:19:02:48 +0000] "GET /x.mp4 HTTP/1.1" 200 612 "-" "-" '
                      'X-Forwarded-For="10.0.0.2,10.0.0.1"')
    assert d["source"]["ip"] == "89.160.20.112"
    assert d["client"]["ip"] == "10.0.0.2" and d["network"]["forwarded_ip"] == "10.0.0.2"
    assert d["apache"]["access"]["remote_addresses"] == ["10.0.0.2", "10.0.0.1", "89.160.20.112"]
    assert "user_agent" not in d


def test_apache_vhost_and_bad_request() -> None:
    d = one("apache", 'vhost1.example.vn 192.168.33.2 - - [26/Dec/2016:16:22:14 +0000] "-" 408 -')
    assert d["destination"]["domain"] == "vhost1.example.vn" and d["source"]["ip"] == "192.168.33.2"
    assert d["http"]["response"]["status_code"] == 408 and "method" not in d.get("http", {}).get("request", {})
    d = one("apache", '127.0.0.1 - - [13/Nov/2023:10:44:01 +0000] "<SCRIPT>NXSSTEST</SCRIPT> / HTTP/1.1" 400 3386')
    assert d["apache"]["access"]["request"] == "<SCRIPT>NXSSTEST</SCRIPT> / HTTP/1.1"


def test_access_over_syslog() -> None:
    d = one("nginx", 'Jan 11 10:13:05 web01 nginx: 10.10.10.11 - - [10/Apr/2017:13:18:05 -0700] '
                     '"GET /x HTTP/1.1" 404 271 "-"  "curl/7.1"')
    assert d["host"]["name"] == "web01" and d["source"]["ip"] == "10.10.10.11"
    assert d["user_agent"]["original"] == "curl/7.1"


def test_ipv4_mapped_address_is_unwrapped() -> None:
    d = one("nginx", '::ffff:202.194.15.192 - - [18/Oct/2010:10:48:55 -0500] "GET / HTTP/1.1" 200 1 "-" "-"')
    assert d["source"]["ip"] == "202.194.15.192" and d["source"]["address"] == "::ffff:202.194.15.192"


def test_nginx_error() -> None:
    d = one("nginx", '2016/10/25 14:49:34 [error] 54053#0: *1 open() "/x/favicon.ico" failed (2: No such file), '
                     'client: 127.0.0.1, server: localhost, request: "GET /favicon.ico HTTP/1.1", host: '
                     '"localhost:8080", referrer: "http://localhost:8080/"')
    assert d["event"]["dataset"] == "nginx.error" and d["log"]["level"] == "error"
    assert d["@timestamp"] == "2016-10-25T07:49:34.000Z"  # no zone in the line: the source's (+07:00)
    assert d["process"] == {"pid": 54053, "thread": {"id": 0}}
    assert d["nginx"]["error"]["connection_id"] == 1
    assert d["source"]["ip"] == "127.0.0.1" and d["url"]["domain"] == "localhost"
    assert d["http"]["request"]["method"] == "GET" and d["url"]["path"] == "/favicon.ico"


def test_apache_error_24() -> None:
    d = one("apache", "[Tue Sep 30 14:25:44.895897 2014] [authz_core:error] [pid 31858:tid 12] "
                      "[client 99.47.227.95:38870] AH01630: client denied by server configuration: /var/www/")
    assert d["event"]["dataset"] == "apache.error" and d["log"]["level"] == "error"
    assert d["apache"]["error"]["module"] == "authz_core" and d["error"]["code"] == "AH01630"
    assert d["source"] == {"address": "99.47.227.95", "ip": "99.47.227.95", "port": 38870}
    assert d["process"] == {"pid": 31858, "thread": {"id": 12}}
    assert d["@timestamp"] == "2014-09-30T07:25:44.895Z"


def test_apache_error_22_and_untimed() -> None:
    d = one("apache", "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties")
    assert d["log"]["level"] == "notice" and d["message"].startswith("workerEnv.init()")
    d = one("apache", "[error] [client 66.31.142.16] File does not exist: /var/www/html/default.ida")
    assert d["source"]["ip"] == "66.31.142.16" and d["event"]["outcome"] == "failure"


@pytest.mark.parametrize("fmt", ["nginx", "apache"])
@pytest.mark.parametrize("line", ["", "GET / HTTP/1.1", '1.2.3.4 - - [99/Foo/2016:11:05:07 +0100] "GET / HTTP/1.1" 200 1',
                                  "just some text [with brackets] here"])
def test_rejects(fmt: str, line: str) -> None:
    with pytest.raises(ParseError):
        one(fmt, line)


def test_url_fast_path_matches_regex() -> None:
    """``_split_http_url`` (str methods) and the general URL regex give the same ``url.*``."""
    import random

    from connectors.parsers import _srv_http as h

    urls = ["http://a.com", "http://a.com:8080/x?y=1#z", "https://u:p@a.com/x", "http://[::1]:80/x",
            "http://a.com?x=1", "http://a.com#f", "http://a.com:/x", "http://a.com:99999/x", "http://a.com:12a/",
            "HTTP://A.COM/%41", "http://a.com/x y", "ftp://f.example/a.txt", "http://a.com/a?b#c?d", "http://",
            "http:///x", "http://a.com/%zz", "http://a.b.example.com/p/q.PHP", "http://a.com:٣/x"]
    rnd = random.Random(7)
    for _ in range(2000):
        u = rnd.choice(urls)
        i = rnd.randrange(len(u) + 1)
        urls.append(u[:i] + rnd.choice("/?#:@[] x1%") + u[i:])
    fast_used = 0
    for u in urls:
        parts = h._split_http_url(u)
        if parts is None:
            continue  # the regex handles it anyway
        fast_used += 1
        m = h._URL.match(u)
        assert m is not None, u
        assert (m.group("scheme"), m.group("host"), m.group("port"), m.group("path"), m.group("query"),
                m.group("fragment"), m.group("userinfo")) == parts, u
    assert fast_used > 50
