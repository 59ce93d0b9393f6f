"""Syslog over UDP (RFC 5426): one datagram, one record.

UDP cannot slow a sender down, so when the spool is full datagrams are dropped
and *counted* (``stats.dropped``, shown in source health) instead of piling up
in memory. Datagrams are gathered for up to ``FLUSH_SECONDS`` and written to the
spool together (one fsync for many), by one writer thread, while the socket
keeps being read.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from connectors.spool import Spool
from soc.config import SourceConfig

from .base import Source
from .framing import Frame

FLUSH_SECONDS = 0.05
MAX_PENDING = 20_000
MAX_PENDING_BYTES = 32 * 1024 * 1024
"""Datagrams (and bytes) held in memory while the writer is busy; beyond this they are dropped and counted."""


class SyslogUdpSource(Source):
    def __init__(self, cfg: SourceConfig, spool: Spool) -> None:
        super().__init__(cfg, spool)
        self._sock: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._pending: list[tuple[bytes, str | None, float]] = []
        self._pending_bytes = 0
        self._cond = threading.Condition()
        self._addr: tuple[str, int] | None = None

    @property
    def address(self) -> tuple[str, int] | None:
        return self._addr

    def start(self) -> None:
        if self._sock is not None:
            return
        sock = socket.socket(socket.AF_INET6 if ":" in self.cfg.host else socket.AF_INET, socket.SOCK_DGRAM)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        try:
            sock.bind((self.cfg.host, self.cfg.port or 0))
        except OSError as exc:
            sock.close()
            raise RuntimeError(f"source {self.name}: cannot listen on udp {self.cfg.host}:{self.cfg.port} "
                               f"({exc})") from None
        sock.settimeout(0.2)
        self._sock = sock
        self._addr = sock.getsockname()[:2]
        self._stop.clear()
        for target, name in ((self._recv_loop, "recv"), (self._write_loop, "write")):
            t = threading.Thread(target=target, name=f"source-{self.name}-{name}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        if self._sock is None:
            return
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        for t in self._threads:
            t.join(5)
        self._threads.clear()
        self._sock.close()
        self._sock = None

    def _recv_loop(self) -> None:
        assert self._sock is not None
        sock = self._sock
        while not self._stop.is_set():
            try:
                data, addr = sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError as exc:
                if self._stop.is_set():
                    break
                self.error(f"receive failed: {exc}")
                time.sleep(0.1)
                continue
            with self._cond:
                if len(self._pending) >= MAX_PENDING or self._pending_bytes >= MAX_PENDING_BYTES:
                    with self._stats_lock:
                        self.stats.dropped += 1
                    continue
                self._pending.append((data, str(addr[0]), time.time()))
                self._pending_bytes += len(data)
                if len(self._pending) == 1:
                    self._cond.notify()

    def _write_loop(self) -> None:
        max_line = self.cfg.max_line_bytes
        while True:
            with self._cond:
                if not self._pending and not self._stop.is_set():
                    self._cond.wait(0.5)
                if self._stop.is_set() and not self._pending:
                    return
            time.sleep(FLUSH_SECONDS)  # let a burst gather: one fsync for many datagrams
            with self._cond:
                batch, self._pending, self._pending_bytes = self._pending, [], 0
            if not batch:
                continue
            recs = []
            for data, peer, ts in batch:
                data = data.rstrip(b"\r\n\x00")
                if not data:
                    continue
                frame = Frame(data) if len(data) <= max_line else Frame(
                    data[:max_line], f"datagram of {len(data)} bytes cut at the {max_line}-byte line limit")
                recs.extend(self.records([frame], peer, ts))
            try:
                ok = self.spool.append(recs, block=False)
            except Exception as exc:  # the spool is closed or the disk failed: count, keep serving
                self.error(f"spool write failed: {exc}")
                ok = False
            if ok:
                self.counted(len(recs))
            else:
                with self._stats_lock:
                    self.stats.dropped += len(recs)
