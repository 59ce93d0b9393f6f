"""HTTP bulk ingest on the source's own port: token, limits, NDJSON validation, durable 200."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from connectors.sources.http_bulk import HttpBulkSource
from connectors.spool import Spool

from .conftest import drain, source_cfg


@pytest.fixture
def http_src(spool: Spool) -> Iterator[tuple[HttpBulkSource, str]]:
    cfg = source_cfg("web", "http", token=SecretStr("s3cret-token"), max_body_bytes=4096, max_line_bytes=1024)
    src = HttpBulkSource(cfg, spool)
    src.start()
    assert src.address is not None
    yield src, f"http://127.0.0.1:{src.address[1]}"
    src.stop()


AUTH = {"Authorization": "Bearer s3cret-token"}


def test_ndjson_is_durable_before_200(http_src: tuple[HttpBulkSource, str], spool: Spool) -> None:
    src, url = http_src
    body = "\n".join(json.dumps({"message": f"m{i}", "@timestamp": "2026-01-01T00:00:00Z"}) for i in range(3))
    r = httpx.post(url + "/ingest", content=body, headers={**AUTH, "Content-Type": "application/x-ndjson"})
    assert r.status_code == 200 and r.json() == {"accepted": 3}
    # 200 means it is in the spool already: a spool opened afresh on the same files sees it.
    assert Spool.peek_backlog(spool.dir) == 3
    got = drain(spool, 3)
    assert [json.loads(g.line)["message"] for g in got] == ["m0", "m1", "m2"]
    assert {g.format for g in got} == {"json"} and got[0].peer == "127.0.0.1"


def test_plain_lines_keep_source_format(http_src: tuple[HttpBulkSource, str], spool: Spool) -> None:
    _, url = http_src
    r = httpx.post(url, content=b"<13>one\r\n\n<13>two\xff\n", headers={**AUTH, "Content-Type": "text/plain"})
    assert r.status_code == 200 and r.json()["accepted"] == 2
    got = drain(spool, 2)
    assert [g.raw_bytes() for g in got] == [b"<13>one", b"<13>two\xff"] and got[0].format == "auto"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-token"}])
def test_bad_token_401(http_src: tuple[HttpBulkSource, str], spool: Spool, headers: dict[str, str]) -> None:
    _, url = http_src
    r = httpx.post(url, content=b"x\n", headers=headers)
    assert r.status_code == 401 and "token" in r.json()["error"]
    assert spool.backlog == 0


def test_too_large_413(http_src: tuple[HttpBulkSource, str], spool: Spool) -> None:
    _, url = http_src
    r = httpx.post(url, content=b"a" * 5000, headers=AUTH)
    assert r.status_code == 413 and "4096" in r.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is enforced while streaming
        for _ in range(10):
            yield b"b" * 1000 + b"\n"

    r = httpx.post(url, content=chunks(), headers=AUTH)
    assert r.status_code == 413
    r = httpx.post(url, content=b"c" * 2000 + b"\n", headers=AUTH)
    assert r.status_code == 413 and "line 1" in r.json()["error"]
    assert spool.backlog == 0


def test_malformed_ndjson_400_names_the_line(http_src: tuple[HttpBulkSource, str], spool: Spool) -> None:
    _, url = http_src
    body = b'{"a": 1}\n{"b": 2}\n{"c": \n'
    r = httpx.post(url, content=body, headers={**AUTH, "Content-Type": "application/x-ndjson"})
    assert r.status_code == 400 and r.json()["error"].startswith("line 3:")
    r = httpx.post(url, content=b'{"a": 1}\n[1, 2]\n', headers={**AUTH, "Content-Type": "application/x-ndjson"})
    assert r.status_code == 400 and "line 2" in r.json()["error"]
    assert spool.backlog == 0


def test_no_token_configured_refuses(spool: Spool) -> None:
    src = HttpBulkSource(source_cfg("open", "http"), spool)
    src.start()
    try:
        r = httpx.post(f"http://127.0.0.1:{src.address[1]}/", content=b"x\n",  # type: ignore[index]
                       headers={"Authorization": "Bearer anything"})
        assert r.status_code == 401 and "no token configured" in r.json()["error"]
    finally:
        src.stop()


def test_https_when_the_source_has_a_certificate(spool: Spool, tls_cert: tuple[str, str]) -> None:
    cert, key = tls_cert
    src = HttpBulkSource(source_cfg("sec", "http", token=SecretStr("t"), tls_cert=cert, tls_key=key), spool)
    src.start()
    try:
        url = f"https://127.0.0.1:{src.address[1]}/ingest"  # type: ignore[index]
        r = httpx.post(url, content=b"<13>over https\n", headers={"Authorization": "Bearer t"}, verify=cert)
        assert r.status_code == 200
        with pytest.raises(httpx.HTTPError):
            httpx.post(url.replace("https", "http"), content=b"x\n", headers={"Authorization": "Bearer t"})
        assert [g.line for g in drain(spool, 1)] == ["<13>over https"]
    finally:
        src.stop()
