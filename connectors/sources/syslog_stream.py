"""Syslog over TCP and over TLS (RFC 5425), newline or octet-counted framing (RFC 6587).

One asyncio loop in its own thread serves every connection, so a client that
never finishes its TLS handshake (cut off after ``handshake_timeout_seconds``)
or never sends anything (``idle_timeout_seconds``) costs a socket, not a
thread, and never holds up the others. Backpressure is natural: a connection
reads its next chunk only after the previous one is fsync'd in the spool, so
when the spool is full the kernel buffers fill and the sender slows down.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from connectors.spool import Spool, SpoolFull
from soc.config import SourceConfig

from .base import Source, log
from .framing import Framer

READ_CHUNK = 256 * 1024


def tls_context(cfg: SourceConfig) -> ssl.SSLContext:
    """Server context: TLS 1.2+, the source's certificate; client certificates required when ``tls_ca`` is set."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(str(cfg.tls_cert), str(cfg.tls_key))
    except (OSError, ssl.SSLError) as exc:
        raise RuntimeError(f"source {cfg.name}: cannot load tls_cert/tls_key ({exc}); check the paths and that "
                           "the key matches the certificate") from None
    if cfg.tls_ca:
        ctx.load_verify_locations(cfg.tls_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


class SyslogStreamSource(Source):
    def __init__(self, cfg: SourceConfig, spool: Spool) -> None:
        super().__init__(cfg, spool)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._addr: tuple[str, int] | None = None
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix=f"spool-{cfg.name}")
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def address(self) -> tuple[str, int] | None:
        return self._addr

    def start(self) -> None:
        if self._thread is not None:
            return
        ssl_ctx = tls_context(self.cfg) if self.cfg.type == "syslog_tls" else None
        sock = socket.socket(socket.AF_INET6 if ":" in self.cfg.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.cfg.host, self.cfg.port or 0))
        except OSError as exc:
            sock.close()
            raise RuntimeError(f"source {self.name}: cannot listen on {self.cfg.host}:{self.cfg.port} ({exc})") from None
        sock.listen(512)
        sock.setblocking(False)
        self._addr = sock.getsockname()[:2]
        self._loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(asyncio.start_server(
                self._handle, sock=sock, ssl=ssl_ctx, limit=READ_CHUNK,
                ssl_handshake_timeout=self.cfg.handshake_timeout_seconds if ssl_ctx else None))
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name=f"source-{self.name}", daemon=True)
        self._thread.start()
        started.wait(10)

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for t in list(self._tasks):
                t.cancel()
            await asyncio.sleep(0)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        self._thread = None
        self._loop = None
        # Lines already read from sockets are written before we return (the consumer is still running).
        self._pool.shutdown(wait=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        peername = writer.get_extra_info("peername")
        peer = str(peername[0]) if peername else None
        with self._stats_lock:
            over = self.stats.connections >= self.cfg.max_connections
            if over:
                self.stats.refused_connections += 1
            else:
                self.stats.connections += 1
                self.stats.connections_total += 1
        if over:
            writer.close()
            if task is not None:
                self._tasks.discard(task)
            return
        framer = Framer(self.cfg.max_line_bytes)
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(READ_CHUNK), self.cfg.idle_timeout_seconds)
                except TimeoutError:
                    break
                frames = framer.feed(data) if data else framer.close()
                if frames:
                    recs = self.records(frames, peer)
                    # Blocks (in a worker thread) while the spool is full: we stop reading this socket.
                    await loop.run_in_executor(self._pool, self._append, recs)
                if not data:
                    break
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            log.info("source %s: connection from %s ended: %s", self.name, peer, exc)
        except SpoolFull as exc:
            self.error(f"closing connection from {peer}: {exc}")
        except asyncio.CancelledError:
            pass
        finally:
            with self._stats_lock:
                self.stats.connections -= 1
            with contextlib.suppress(Exception):
                writer.close()
            if task is not None:
                self._tasks.discard(task)

    def _append(self, recs: list[Any]) -> None:
        while True:
            try:
                self.spool.append(recs, timeout=60)
                break
            except SpoolFull:
                if self._loop is None or self.spool.closed:
                    raise
        self.counted(len(recs))
