"""What every transport shares: its config, the spool, counters, and start/stop."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from connectors.record import Record
from connectors.spool import RejectedRecord, Spool
from soc.config import SourceConfig

from .framing import Frame

log = logging.getLogger("soc.sources")


@dataclass
class SourceStats:
    """Transport-level counters (parse counts come from the pipeline; see ``connectors.health``)."""

    received: int = 0
    """Records written to the spool, good or cut."""
    dropped: int = 0
    """UDP datagrams refused because the spool was full (or the socket buffer overflowed)."""
    cut: int = 0
    """Records the transport itself rejected (cut at ``max_line_bytes``, octet frame cut short); dead-lettered."""
    connections: int = 0
    """Open connections now (stream sources)."""
    connections_total: int = 0
    refused_connections: int = 0
    errors: int = 0
    last_error: str | None = None
    last_received: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Source:
    """A transport. Subclasses implement :meth:`start` and :meth:`stop`; both are idempotent."""

    def __init__(self, cfg: SourceConfig, spool: Spool) -> None:
        self.cfg = cfg
        self.spool = spool
        self.name = cfg.name
        self.stats = SourceStats()
        self._stats_lock = threading.Lock()

    @property
    def address(self) -> tuple[str, int] | None:
        """Where a network source listens once started (the real port when configured as 0)."""
        return None

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def status(self) -> dict[str, Any]:
        out = self.stats.as_dict()
        out.update(name=self.name, type=self.cfg.type, format=self.cfg.format)
        addr = self.address
        if addr:
            out["listen"] = f"{addr[0]}:{addr[1]}"
        return out

    # -- helpers -----------------------------------------------------------------------------------
    def records(self, frames: list[Frame], peer: str | None, received: float | None = None) -> list[Record]:
        """Frames -> records (bytes decoded with surrogateescape so that nothing is lost)."""
        now = received if received is not None else time.time()
        cfg = self.cfg
        out: list[Record] = []
        cut = 0
        for f in frames:
            line = f.data.decode("utf-8", "surrogateescape")
            if f.reason is None:
                out.append(Record(cfg.name, cfg.format, line, now, peer, cfg.timezone, cfg.host_name))
            else:
                cut += 1
                out.append(RejectedRecord(cfg.name, cfg.format, line, now, peer, cfg.timezone, cfg.host_name,
                                           reason=f.reason))
        if cut:
            with self._stats_lock:
                self.stats.cut += cut
        return out

    def counted(self, n: int) -> None:
        with self._stats_lock:
            self.stats.received += n
            self.stats.last_received = time.time()

    def error(self, message: str) -> None:
        with self._stats_lock:
            self.stats.errors += 1
            self.stats.last_error = message[:500]
        log.warning("source %s: %s", self.name, message)


class PollingSource(Source):
    """A source that polls files from one background thread (file tail, EVTX folder).

    Subclasses implement :meth:`_run`, looping until ``self._stop`` is set, and may override
    :meth:`_close` to release what the loop held open.
    """

    join_seconds = 10.0

    def __init__(self, cfg: Any, spool: Spool, poll_seconds: float = 5.0) -> None:
        super().__init__(cfg, spool)
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"source-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(self.join_seconds)
        self._thread = None
        self._close()

    def _run(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        """Release resources once the polling thread has stopped."""
