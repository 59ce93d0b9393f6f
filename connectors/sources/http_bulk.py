"""HTTP bulk ingest: ``POST`` NDJSON or plain lines with the source's bearer token.

Served on the source's own port by uvicorn in a thread (TLS when the source has
``tls_cert``/``tls_key``); the same handler also backs ``POST /api/v1/ingest/{source}``
on the main API. The reply is 200 only after the records are fsync'd in the spool:
a client that got 200 may forget the data. Errors say what to fix:

* 401 missing or wrong token (or the source has none configured);
* 413 body over ``max_body_bytes`` or a line over ``max_line_bytes``;
* 400 malformed NDJSON, naming the first bad line number; nothing of that request is kept;
* 503 with ``Retry-After`` when the spool stays full (the pipeline is behind).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import socket
import threading
import time
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectors.record import Record
from connectors.spool import Spool, SpoolFull
from soc.config import SourceConfig

from .base import Source

NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines",
                "application/json")


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def token_ok(cfg: SourceConfig, header: str | None) -> bool:
    if cfg.token is None or not header or not header.lower().startswith("bearer "):
        return False
    return hmac.compare_digest(header[7:].strip().encode(), cfg.token.get_secret_value().encode())


async def handle_bulk(request: Request, cfg: SourceConfig, spool: Spool, source: Source | None = None) -> JSONResponse:
    """Authenticate, bound, split, validate and spool one bulk request."""
    if cfg.token is None:
        return _error(401, f"source {cfg.name!r} has no token configured; set sources.token in soc.toml",
                      **{"WWW-Authenticate": "Bearer"})
    if not token_ok(cfg, request.headers.get("authorization")):
        return _error(401, "missing or wrong bearer token for this source", **{"WWW-Authenticate": "Bearer"})
    limit = cfg.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return _error(413, f"request body of {declared} bytes is over this source's {limit}-byte limit; "
                           "send smaller batches")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return _error(413, f"request body is over this source's {limit}-byte limit; send smaller batches")
        chunks.append(chunk)
    body = b"".join(chunks)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    ndjson = ctype in NDJSON_TYPES
    fmt = "json" if ndjson and cfg.format == "auto" else cfg.format
    peer = request.client.host if request.client else None
    now = time.time()
    records: list[Record] = []
    for n, raw in enumerate(body.split(b"\n"), start=1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        if len(raw) > cfg.max_line_bytes:
            return _error(413, f"line {n} is {len(raw)} bytes, over this source's {cfg.max_line_bytes}-byte "
                               "line limit; nothing from this request was kept")
        line = raw.decode("utf-8", "surrogateescape")
        if ndjson:
            try:
                value = json.loads(raw)
            except ValueError as exc:
                return _error(400, f"line {n}: not valid JSON ({exc}); nothing from this request was kept")
            if not isinstance(value, dict):
                return _error(400, f"line {n}: expected a JSON object per line, got {type(value).__name__}; "
                                   "nothing from this request was kept")
        records.append(Record(cfg.name, fmt, line, now, peer, cfg.timezone, cfg.host_name))
    if not records:
        return JSONResponse({"accepted": 0})
    try:
        await run_in_threadpool(spool.append, records, timeout=30.0)
    except SpoolFull:
        return _error(503, "the ingest queue is full; retry later", **{"Retry-After": "5"})
    if source is not None:
        source.counted(len(records))
    return JSONResponse({"accepted": len(records)})


class HttpBulkSource(Source):
    def __init__(self, cfg: SourceConfig, spool: Spool) -> None:
        super().__init__(cfg, spool)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._addr: tuple[str, int] | None = None

    @property
    def address(self) -> tuple[str, int] | None:
        return self._addr

    def app(self) -> Starlette:
        async def ingest(request: Request) -> JSONResponse:
            return await handle_bulk(request, self.cfg, self.spool, self)

        async def health(request: Request) -> JSONResponse:
            return JSONResponse({"status": "ok", "source": self.name})

        return Starlette(routes=[Route("/", ingest, methods=["POST"]), Route("/ingest", ingest, methods=["POST"]),
                                 Route("/health", health, methods=["GET"])])

    def start(self) -> None:
        if self._thread is not None:
            return
        import uvicorn

        sock = socket.socket(socket.AF_INET6 if ":" in self.cfg.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.cfg.host, self.cfg.port or 0))
        except OSError as exc:
            sock.close()
            raise RuntimeError(f"source {self.name}: cannot listen on {self.cfg.host}:{self.cfg.port} ({exc})") from None
        self._addr = sock.getsockname()[:2]
        kwargs: dict[str, Any] = {}
        if self.cfg.tls_cert and self.cfg.tls_key:
            kwargs.update(ssl_certfile=self.cfg.tls_cert, ssl_keyfile=self.cfg.tls_key)
        config = uvicorn.Config(self.app(), log_level="warning", lifespan="off", access_log=False,
                                limit_concurrency=self.cfg.max_connections, timeout_keep_alive=15, **kwargs)
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                        name=f"source-{self.name}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not server.started:
            raise RuntimeError(f"source {self.name}: HTTP server did not start")

    def stop(self) -> None:
        if self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(10)
        with contextlib.suppress(Exception):
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(5)
        self._thread = None
