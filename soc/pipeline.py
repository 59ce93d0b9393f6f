"""The pipeline: one direction, one batch at a time.

    records -> parse -> normalise (ECS) -> enrich (asset) -> store -> detect -> alerts -> incidents

Sources (``connectors/sources``) put raw :class:`~connectors.record.Record` objects
in a durable spool; the runner hands batches to :meth:`Pipeline.process` and
commits the spool only after it returns, so a crash replays the batch instead of
losing it. Every record ends up either as a stored event or as a dead letter with
its reason, and :class:`BatchResult` counts both (received = parsed + dead-lettered).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors.parsers.syslog_header import iso
from connectors.record import Record
from detectors.base import Detector
from soc.alerts import AlertSink
from soc.inventory import Inventory
from soc.prepare import Pending, Prepared, PreparePool, Preparer, ms_datetime
from soc.storage.events import EventStore
from soc.storage.models import Alert, DeadLetter
from soc.storage.state import State

log = logging.getLogger("soc.pipeline")

AlertHook = Callable[[Any, list[Alert]], None]
"""Called with ``(session, alert rows)`` after alerts are stored (incident engine, live updates)."""


@dataclass
class SourceCounts:
    received: int = 0
    parsed: int = 0
    dead: int = 0
    events: int = 0
    last_event: str | None = None
    max_skew_s: float = 0.0


@dataclass
class BatchResult:
    received: int = 0
    parsed: int = 0
    dead: int = 0
    events: int = 0
    alerts: int = 0
    per_source: dict[str, SourceCounts] = field(default_factory=dict)
    alert_rows: list[str] = field(default_factory=list)


class Pipeline:
    """Wires the stages; holds no per-event state of its own."""

    def __init__(self, *, state: State, events: EventStore, inventory: Inventory,
                 detectors: Sequence[Detector], alert_sink: AlertSink | None = None,
                 alert_hooks: Sequence[AlertHook] = (), default_tz: str = "Asia/Ho_Chi_Minh",
                 workers: int = 0) -> None:
        self.state = state
        self.events = events
        self.preparer = Preparer(inventory, default_tz)
        self.pool = PreparePool(self.preparer, workers)
        self.detectors = list(detectors)
        self.alert_sink = alert_sink or AlertSink()
        self.alert_hooks = list(alert_hooks)
        self.default_tz = default_tz
        self.detector_errors: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def inventory(self) -> Inventory:
        return self.preparer.inventory

    @inventory.setter
    def inventory(self, value: Inventory) -> None:
        self.preparer.inventory = value  # worker processes are restarted with it on the next batch

    def start(self) -> None:
        """Start the parse worker processes (if any); otherwise they start with the first large batch."""
        self.pool.start()

    def close(self) -> None:
        """Stop the parse worker processes (if any)."""
        self.pool.close()

    # -- stages ------------------------------------------------------------------------------------
    def parse(self, rec: Record) -> tuple[list[dict[str, Any]], str | None]:
        """Parse one record; returns ``(documents, None)`` or ``([], reason)``. Never raises."""
        return self.preparer.parse(rec)

    def detect(self, doc: dict[str, Any]) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = []
        for det in self.detectors:
            try:
                alerts.extend(det.process(doc))
            except Exception:
                name = getattr(det, "name", type(det).__name__)
                self.detector_errors[name] = self.detector_errors.get(name, 0) + 1
                log.exception("detector %s failed on an event; the event is stored, detection skipped", name)
        return alerts

    def submit_alerts(self, alerts: Sequence[dict[str, Any]]) -> list[str]:
        """Alerts from detectors that run outside the per-event path (anomaly jobs, source health):
        stored, de-duplicated and handed to the hooks (incidents) like any other. Returns the alert ids."""
        if not alerts:
            return []
        with self._lock, self.state.session() as s:
            rows = self.alert_sink.persist(s, list(alerts))
            s.flush()
            for hook in self.alert_hooks:
                if rows:
                    hook(s, rows)
            return [r.id for r in rows]

    # -- the batch ---------------------------------------------------------------------------------
    def prefetch(self, records: Sequence[Record], batch: str | None = None) -> Pending | None:
        """Start preparing ``records`` in the parse workers now; pass the result to :meth:`process` as
        ``pending``. Preparing has no side effect, so a batch prefetched and then abandoned costs nothing but
        the work. None when the batch would be prepared in-process."""
        with self._lock:
            return self.pool.submit(records, batch)

    def process(self, records: Sequence[Record], batch: str | None = None,
                skip: frozenset[int] | set[int] = frozenset(), pending: Pending | None = None) -> BatchResult:
        """Run ``records`` through every stage; thread-safe (batches are serialised).

        ``batch`` tags the events with their spool batch (``soc.batch``, ``soc.batch_seq``, see
        :mod:`soc.prepare`); events whose ``batch_seq`` is in ``skip`` were stored by an interrupted
        earlier attempt and are not stored again (they still go through detection). ``pending`` is what
        :meth:`prefetch` returned for these same records and batch.
        """
        if pending is not None and (pending.batch != batch or len(pending.records) != len(records)
                                    or any(a is not b for a, b in zip(pending.records, records, strict=True))):
            pending.cancel()  # not this batch's work (a caller's mistake): prepare it afresh
            pending = None
        with self._lock:
            return self._process(records, batch, skip, pending)

    def _process(self, records: Sequence[Record], batch: str | None,
                 skip: frozenset[int] | set[int], pending: Pending | None) -> BatchResult:
        res = BatchResult(received=len(records))
        prep = self.pool.prepare(records, batch) if pending is None else self.pool.result(pending)
        dead: list[DeadLetter] = []
        newest: dict[str, int] = {}
        for rec, reason, n, ts in zip(records, prep.reasons, prep.counts, prep.newest, strict=True):
            sc = res.per_source.get(rec.source)
            if sc is None:
                sc = res.per_source[rec.source] = SourceCounts()
            sc.received += 1
            if reason is not None:
                sc.dead += 1
                dead.append(DeadLetter(source=rec.source, format=rec.format, reason=reason[:2000],
                                       raw=rec.raw_bytes(), received_at=datetime.fromtimestamp(rec.received, UTC)))
                continue
            sc.parsed += 1
            sc.events += n
            if ts is not None and (rec.source not in newest or ts > newest[rec.source]):
                newest[rec.source] = ts
        for name, ms in newest.items():
            res.per_source[name].last_event = iso(ms_datetime(ms))
        res.dead = len(dead)
        res.parsed = res.received - res.dead
        res.events = prep.table.num_rows
        # Store first: an event is kept even if a detector later fails on it.
        self._store(prep, skip)
        raw_alerts: list[dict[str, Any]] = []
        if self.detectors and prep.table.num_rows:
            for doc in prep.events():
                raw_alerts.extend(self.detect(doc))
        for det in self.detectors:
            flush = getattr(det, "flush", None)
            if flush is not None:
                try:
                    raw_alerts.extend(flush(None))
                except Exception:
                    log.exception("detector %s failed to flush", getattr(det, "name", det))
        with self.state.session() as s:
            if dead:
                s.add_all(dead)
            alert_rows = self.alert_sink.persist(s, raw_alerts) if raw_alerts else []
            s.flush()
            for hook in self.alert_hooks:
                if alert_rows:
                    hook(s, alert_rows)
            res.alert_rows = [r.id for r in alert_rows]
        res.alerts = len(raw_alerts)
        return res

    def _store(self, prep: Prepared, skip: frozenset[int] | set[int]) -> None:
        keep = [i for i, q in enumerate(prep.seqs) if q not in skip] if skip else None
        if keep is not None and len(keep) == prep.table.num_rows:
            keep = None
        write_table = getattr(self.events, "write_table", None)
        if write_table is not None:
            if keep is None:
                write_table(prep.table, prep.partitions)
            elif keep:
                write_table(prep.table.take(keep), [prep.partitions[i] for i in keep])
        else:  # a store that builds its own documents (Elasticsearch)
            docs = prep.events()
            self.events.write(docs if keep is None else [docs[i] for i in keep])
