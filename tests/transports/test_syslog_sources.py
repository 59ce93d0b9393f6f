"""Syslog over real sockets on 127.0.0.1: TCP, TLS and UDP."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from pathlib import Path

from connectors.sources.syslog_stream import SyslogStreamSource
from connectors.sources.syslog_udp import SyslogUdpSource
from connectors.spool import RejectedRecord, Spool

from .conftest import drain, source_cfg, wait_for


def test_tcp_mixed_framing_two_clients_and_peer(spool: Spool) -> None:
    src = SyslogStreamSource(source_cfg("fw", "syslog_tcp", format="syslog"), spool)
    src.start()
    try:
        addr = src.address
        assert addr is not None
        a = socket.create_connection(addr)
        b = socket.create_connection(addr)
        a.sendall(b"<13>a1\n<13>a2\n")
        msg = b"<13>b1 octet"
        b.sendall(str(len(msg)).encode() + b" " + msg)
        a.sendall(b"<13>a3 no newline")
        a.close()
        b.close()
        got = drain(spool, 4)
    finally:
        src.stop()
    assert sorted(r.line for r in got) == ["<13>a1", "<13>a2", "<13>a3 no newline", "<13>b1 octet"]
    assert {r.peer for r in got} == {"127.0.0.1"}
    assert {(r.source, r.format, r.tz) for r in got} == {("fw", "syslog", "Asia/Ho_Chi_Minh")}
    assert src.stats.received == 4


def test_tcp_bad_input_is_kept_and_flow_continues(spool: Spool) -> None:
    src = SyslogStreamSource(source_cfg("fw", "syslog_tcp", max_line_bytes=4096), spool)
    src.start()
    try:
        s = socket.create_connection(src.address)  # type: ignore[arg-type]
        s.sendall(b"<13>before\n" + b"Z" * 3_000_000 + b"\n" + b"<13>inv\xff\xfe utf8\n<13>nul\x00byte\n"
                  + b"<13>after\n")
        s.close()
        got = drain(spool, 5)
    finally:
        src.stop()
    lines = [r.line for r in got]
    assert lines[0] == "<13>before" and lines[-1] == "<13>after"
    cut = [r for r in got if isinstance(r, RejectedRecord)]
    assert len(cut) == 1 and len(cut[0].line) == 4096 and "4096-byte" in cut[0].reason
    assert got[2].raw_bytes() == b"<13>inv\xff\xfe utf8"  # invalid bytes survive for the dead-letter store
    assert "\x00" in got[3].line


def test_tcp_backpressure_bounds_the_spool_and_loses_nothing(tmp_path: Path) -> None:
    sp = Spool(tmp_path / "sp", max_records=500)
    src = SyslogStreamSource(source_cfg("fw", "syslog_tcp"), sp)
    src.start()
    n = 300_000
    try:
        s = socket.create_connection(src.address)  # type: ignore[arg-type]
        s.setblocking(False)
        payload = b"".join(b"<13>msg %d padding-padding-padding-padding-padding-padding-padding-padding\n" % i for i in range(n))
        sent = 0
        deadline = time.monotonic() + 3
        while sent < len(payload) and time.monotonic() < deadline:
            try:
                sent += s.send(payload[sent:sent + 65536])
            except BlockingIOError:
                time.sleep(0.01)
        # Nobody reads the spool: the sender is held back by TCP flow control.
        assert sent < len(payload)
        assert sp.backlog < 500 + 5_000  # at most one read chunk past the bound
        s.setblocking(True)
        def rest() -> None:
            s.sendall(payload[sent:])
            s.close()

        t = threading.Thread(target=rest)
        t.start()
        got = drain(sp, n, timeout=60)
        t.join()
    finally:
        src.stop()
        sp.close()
    assert len(got) == n
    assert got[0].line.startswith("<13>msg 0 ") and got[-1].line.startswith(f"<13>msg {n - 1} ")
    assert len({r.line for r in got}) == n


def _tls_client(addr: tuple[str, int]) -> ssl.SSLSocket:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx.wrap_socket(socket.create_connection(addr), server_hostname="localhost")


def test_tls_and_a_stalled_handshake_does_not_block(spool: Spool, tls_cert: tuple[str, str]) -> None:
    cert, key = tls_cert
    src = SyslogStreamSource(source_cfg("tls", "syslog_tls", tls_cert=cert, tls_key=key,
                                        handshake_timeout_seconds=1.0), spool)
    src.start()
    try:
        addr = src.address
        assert addr is not None
        stalled = socket.create_connection(addr)  # connects, never says hello
        silent = socket.create_connection(addr)
        silent.sendall(b"\x16\x03\x01")  # three bytes of a ClientHello, then nothing
        c = _tls_client(addr)
        msg = b"<34>1 2026-01-01T00:00:00Z host app - - - over tls"
        c.sendall(str(len(msg)).encode() + b" " + msg + b"<13>newline framed\n")
        c.close()
        got = drain(spool, 2)
        assert sorted(r.line for r in got) == ["<13>newline framed", msg.decode()]
        # The stalled clients are cut off after the handshake timeout.
        stalled.settimeout(5)
        t0 = time.monotonic()
        assert stalled.recv(10) == b""
        assert time.monotonic() - t0 < 4
        silent.settimeout(5)
        with contextlib.suppress(ConnectionResetError):  # a reset is as good as a close here
            assert silent.recv(10) == b""
    finally:
        src.stop()


def test_udp_datagrams_and_counted_drops(tmp_path: Path) -> None:
    sp = Spool(tmp_path / "sp", max_records=100)
    src = SyslogUdpSource(source_cfg("udp", "syslog_udp", max_line_bytes=1024), sp)
    src.start()
    try:
        addr = src.address
        assert addr is not None
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        c.sendto(b"<13>one\n", addr)
        c.sendto(b"<13>" + b"L" * 5000, addr)
        got = drain(sp, 2)
        assert got[0].line == "<13>one" and got[0].peer == "127.0.0.1"
        assert isinstance(got[1], RejectedRecord) and len(got[1].line) == 1024
        # Flood with nobody reading: the spool fills at 100, the rest is dropped and counted.
        for i in range(1000):
            c.sendto(b"<13>flood %d" % i, addr)
            if i % 100 == 0:
                time.sleep(0.01)
        assert wait_for(lambda: src.stats.received + src.stats.dropped >= 1002, 10)
        assert sp.backlog <= 100 + 1000
        assert src.stats.dropped > 0
        assert src.stats.received + src.stats.dropped == 1002
        rest = drain(sp, sp.backlog)
        assert len(rest) == src.stats.received - 2
    finally:
        src.stop()
        sp.close()


def test_connections_over_the_limit_are_refused_and_counted(spool: Spool) -> None:
    src = SyslogStreamSource(source_cfg("fw", "syslog_tcp", max_connections=2), spool)
    src.start()
    try:
        addr = src.address
        assert addr is not None
        held = [socket.create_connection(addr) for _ in range(2)]
        assert wait_for(lambda: src.stats.connections == 2)
        extra = socket.create_connection(addr)
        extra.settimeout(5)
        assert extra.recv(10) == b""  # closed at once
        assert src.stats.refused_connections == 1
        held[0].sendall(b"<13>still served\n")
        held[0].close()
        assert [r.line for r in drain(spool, 1)] == ["<13>still served"]
        for s in held[1:] + [extra]:
            s.close()
    finally:
        src.stop()
