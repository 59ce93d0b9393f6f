"""Fixtures for transport tests: free ports, a self-signed certificate, a spool, source configs."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.record import Record
from connectors.spool import Spool
from soc.config import SourceConfig


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    sp = Spool(tmp_path / "spool", max_records=100_000)
    yield sp
    if not sp.closed:
        sp.close()


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not installed (apt-get install openssl)")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    return str(cert), str(key)


def source_cfg(name: str, type_: str, **kw: Any) -> SourceConfig:
    if type_ in ("syslog_udp", "syslog_tcp", "syslog_tls", "http") and "port" not in kw:
        kw["port"] = free_port(socket.SOCK_DGRAM if type_ == "syslog_udp" else socket.SOCK_STREAM)
    return SourceConfig.model_validate({"name": name, "type": type_, **kw})


def drain(spool: Spool, want: int, timeout: float = 10.0) -> list[Record]:
    """Read (and commit) from the spool until ``want`` records arrived or ``timeout``."""
    out: list[Record] = []
    deadline = time.monotonic() + timeout
    while len(out) < want and time.monotonic() < deadline:
        recs, cur = spool.read(10_000, 0.1)
        out.extend(recs)
        spool.commit(cur)
    return out


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()
