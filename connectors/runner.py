"""The ingest service ``soc run`` starts: sources -> spool -> pipeline, with health.

Sources write to the durable :class:`~connectors.spool.Spool`; one consumer
thread reads it in batches (``pipeline.batch_size`` records, or whatever came in
``flush_interval_ms``), calls :meth:`Pipeline.process`, then commits the spool.

Exactly once across a crash: before a batch goes to the pipeline its end is
written to the spool checkpoint ("in flight"); the pipeline tags every event with
its batch (``soc.batch``) and its place in it (``soc.batch_seq``, see
:mod:`soc.prepare`). A restart replays an in-flight batch whole, first asking
the event store which of its events are already there (:func:`stored_seqs`),
and the pipeline skips those.
Alerts of a replayed batch may be raised again; the alert store's
de-duplication folds them into the existing rows.

:func:`ingest_files` is the one-shot path of ``soc ingest FILE...``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.health import HealthTracker, silent_alert
from connectors.record import Record
from connectors.sources import Source, build_source
from connectors.spool import RejectedRecord, Spool
from soc.config import Settings
from soc.prepare import SEQ_STRIDE
from soc.storage.models import DeadLetter
from soc.storage.schema import parse_ts
from soc.storage.state import State

log = logging.getLogger("soc.ingest")

HEALTH_PERSIST_SECONDS = 5.0
SILENCE_CHECK_SECONDS = 30.0
ISOLATE_AFTER = 3
"""Failures of one batch before its records are tried one by one (a poison record must not stall ingest)."""


def stored_seqs(store: Any, key: str, start: datetime | None = None, end: datetime | None = None) -> set[int]:
    """``soc.batch_seq`` of the events of batch ``key`` already in ``store`` (searched in event time
    ``[start, end)``)."""
    out: set[int] = set()
    try:
        for ev in store.iter_events(start=start, end=end, query=f'soc.batch:"{key}"'):
            seq = (ev.get("soc") or {}).get("batch_seq")
            if isinstance(seq, int):
                out.add(seq)
    except Exception:  # a store that cannot answer: store again rather than lose (at least once)
        log.exception("could not ask the event store which events of batch %s it holds; the batch is "
                      "stored again, some events may be duplicated", key)
    return out


class IngestService:
    """All enabled sources, the spool and the consumer; ``start()``, ``stop()``, ``health()``."""

    def __init__(self, settings: Settings, pipeline: Any, state: State, *, spool_dir: Path | None = None) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.state = state
        pc = settings.pipeline
        self.spool = Spool(spool_dir or settings.data_dir / "spool", max_records=pc.queue_max_records)
        self.spool_id = self._spool_id()
        self.sources: dict[str, Source] = {}
        self.tracker = HealthTracker([s for s in settings.sources])
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.batches = 0
        self.errors = 0
        self.last_error: str | None = None
        self.last_latency_s: float | None = None
        self._check_next = False
        self._failures: dict[str, int] = {}
        self.prefetched = 0
        """Batches handed to the parse workers while the one before them was being stored."""
        self._ahead: tuple[list[Record], Any, Any] | None = None
        """The next batch, read and handed to the parse workers while the current one is stored."""

    def _spool_id(self) -> str:
        p = self.spool.dir / "id"
        if not p.exists():
            p.write_text(uuid.uuid4().hex[:12])
        return p.read_text().strip()

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self.tracker.load(self.state)
        start = getattr(self.pipeline, "start", None)
        if start is not None:
            start()  # parse workers up before the first record arrives
        try:
            for cfg in self.settings.sources:
                if not cfg.enabled:
                    continue
                src = build_source(cfg, self.spool)
                src.start()
                self.sources[cfg.name] = src
                log.info("source %s (%s) started%s", cfg.name, cfg.type,
                         f" on {src.address[0]}:{src.address[1]}" if src.address else "")
        except Exception:
            for src in self.sources.values():
                src.stop()
            raise
        self._stop.clear()
        self._thread = threading.Thread(target=self._consume, name="ingest-consumer", daemon=True)
        self._thread.start()

    def stop(self, drain_seconds: float = 5.0) -> None:
        """Stop sources, let the consumer empty the spool for up to ``drain_seconds``, persist health."""
        for src in self.sources.values():
            try:
                src.stop()
            except Exception:
                log.exception("source %s did not stop cleanly", src.name)
        deadline = time.monotonic() + drain_seconds
        while self.spool.backlog and time.monotonic() < deadline and self._thread and self._thread.is_alive():
            time.sleep(0.05)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
        self._persist_health()
        self.spool.close()

    # -- the consumer ------------------------------------------------------------------------------
    def _consume(self) -> None:
        pc = self.settings.pipeline
        last_persist = last_silence = 0.0
        while not self._stop.is_set():
            try:
                self._one_batch(pc.batch_size, pc.flush_interval_ms / 1000)
            except Exception as exc:  # storage down...: keep the batch in the spool and retry
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("ingest batch failed; it stays in the spool and is retried")
                self._drop_ahead()
                self.spool.rewind()
                self._check_next = True  # part of it may be stored already
                self._stop.wait(min(30.0, 0.5 * 2 ** min(self.errors, 6)))
            now = time.monotonic()
            if now - last_persist >= HEALTH_PERSIST_SECONDS:
                last_persist = now
                self._persist_health()
            if now - last_silence >= SILENCE_CHECK_SECONDS:
                last_silence = now
                self.check_silence()
        self._drop_ahead()  # read, not committed: the spool gives it again after a restart

    def _drop_ahead(self) -> None:
        if self._ahead is not None:
            if self._ahead[2] is not None:
                self._ahead[2].cancel()
            self._ahead = None

    def _prefetch(self, records: Sequence[Record], key: str) -> Any:
        prefetch = getattr(self.pipeline, "prefetch", None)
        if prefetch is None:
            return None
        return prefetch([r for r in records if not isinstance(r, RejectedRecord)], key)

    def _read_ahead(self, size: int) -> None:
        """Read the next batch now and hand it to the parse workers, so they parse it while this one is
        stored. Nothing is committed or marked in flight until its turn comes, and preparing has no side
        effect: a crash or a failed batch simply reads it again."""
        if not self.spool.readable():
            return
        records, cur = self.spool.read(size, 0)
        pending = self._prefetch(records, f"{self.spool_id}-{cur.key}") if records else None
        self._ahead = (records, cur, pending)
        if pending is not None:
            self.prefetched += 1

    def _one_batch(self, size: int, wait: float) -> int:
        pending: Any = None
        if self._ahead is not None:
            (records, cur, pending), self._ahead = self._ahead, None
        else:
            records, cur = self.spool.read(size, wait)
        if not records:
            if cur.key != f"{cur.segment}:{cur.offset}":
                self.spool.commit(cur, sync=False)  # only source marks were read: move past them
            self.spool.flush()  # idle: persist the deferred commit
            return 0
        t0 = time.monotonic()
        key = f"{self.spool_id}-{cur.key}"
        skip: set[int] = set()
        if cur.replay or self._check_next:
            skip = stored_seqs(self.pipeline.events, key, *self._time_range(records))
            if skip:
                log.warning("replaying a batch interrupted by a crash: %d of its events were already stored "
                            "and are skipped", len(skip))
        if not cur.replay:
            # Persists the previous batch's commit and marks this one in flight: one checkpoint write.
            self.spool.begin(cur)
            if pending is None:
                pending = self._prefetch(records, key)
            self._read_ahead(size)
        try:
            self.process(records, key, skip, pending)
        except Exception:
            self._failures[key] = self._failures.get(key, 0) + 1
            if self._failures[key] < ISOLATE_AFTER:
                raise
            # The same batch failed again and again: find the record(s) that break the pipeline.
            self._isolate(records, key)
        self._failures.pop(key, None)
        self._check_next = False
        self.spool.commit(cur, sync=False)
        self.batches += 1
        self.errors = 0
        now = time.time()
        oldest = min(r.received for r in records)
        self.last_latency_s = round(now - oldest, 3)
        log.debug("batch of %d in %.3f s", len(records), time.monotonic() - t0)
        return len(records)

    def _time_range(self, records: Sequence[Record]) -> tuple[datetime | None, datetime | None]:
        """Event-time span the batch's events can have been stored under, so a replay check reads only those
        days of the store: the events' own times (parsing is deterministic), and from the oldest arrival to now
        for events whose time the store could not read (it files them at write time)."""
        try:
            lo = min(r.received for r in records)
            hi = time.time()
            for r in records:
                if isinstance(r, RejectedRecord):
                    continue
                for doc in self.pipeline.parse(r)[0]:
                    ts = parse_ts(doc.get("@timestamp"))
                    if ts is not None:
                        lo, hi = min(lo, ts.timestamp()), max(hi, ts.timestamp())
            return (datetime.fromtimestamp(lo, UTC) - timedelta(seconds=1),
                    datetime.fromtimestamp(hi, UTC) + timedelta(seconds=1))
        except (OverflowError, ValueError, OSError):  # absurd event times: search the whole store
            return None, None

    def process(self, records: Sequence[Record], key: str | None = None, skip: set[int] | None = None,
                pending: Any = None) -> Any:
        """Pipeline for good records, dead letters for those a source already rejected; updates health.
        ``pending``: the pipeline's ``prefetch`` of the good records (see :meth:`_read_ahead`)."""
        good = [r for r in records if not isinstance(r, RejectedRecord)]
        bad = [r for r in records if isinstance(r, RejectedRecord)]
        if pending is not None:
            res = self.pipeline.process(good, key, skip or frozenset(), pending=pending)
        else:
            res = self.pipeline.process(good, key, skip or frozenset())
        if bad:
            with self.state.session() as s:
                s.add_all([DeadLetter(source=r.source, format=r.format, reason=r.reason[:2000], raw=r.raw_bytes(),
                                      received_at=datetime.fromtimestamp(r.received, UTC)) for r in bad])
        now = time.time()
        arrived: dict[str, float] = {}
        for r in good:  # skew = arrival time (not processing time: the spool may hold a backlog) - event time
            if r.received > arrived.get(r.source, 0.0):
                arrived[r.source] = r.received
        for name, sc in res.per_source.items():
            self.tracker.record(name, received=sc.received, parsed=sc.parsed, dead=sc.dead, events=sc.events,
                                last_event=sc.last_event, now=now, arrived=arrived.get(name))
        for r in bad:
            self.tracker.record(r.source, received=1, parsed=0, dead=1, events=0, last_event=None, now=now)
        return res

    def _isolate(self, records: Sequence[Record], key: str) -> None:
        """Process records one at a time; dead-letter those the pipeline itself fails on.

        If every record fails the cause is not the data (storage down...): raise, keep the batch, retry.
        Records whose events the failed attempts already stored are skipped.
        """
        stored = stored_seqs(self.pipeline.events, key, *self._time_range(records))
        # Which records did the failed attempts store in full? Parsing is deterministic, and the pipeline sees
        # the good records only: the k-th good record's events carry batch_seq k * SEQ_STRIDE + 0..n-1.
        done: set[int] = set()
        k = 0
        for i, rec in enumerate(records):
            if isinstance(rec, RejectedRecord):
                continue
            n = len(self.pipeline.parse(rec)[0])
            if n and all(k * SEQ_STRIDE + j in stored for j in range(n)):
                done.add(i)
            k += 1
        failed: list[tuple[Record, str]] = []
        for i, rec in enumerate(records):
            if i in done:
                continue
            try:
                self.process([rec], f"{key}/{i}")
            except Exception as exc:
                failed.append((rec, f"pipeline error: {type(exc).__name__}: {exc}"))
        if failed and len(failed) == len(records):
            raise RuntimeError(f"every record of the batch failed ({failed[0][1]}); retrying later")
        if failed:
            log.error("%d record(s) broke the pipeline and were dead-lettered: %s", len(failed), failed[0][1])
            with self.state.session() as s:
                s.add_all([DeadLetter(source=r.source, format=r.format, reason=why[:2000], raw=r.raw_bytes(),
                                      received_at=datetime.fromtimestamp(r.received, UTC)) for r, why in failed])
            now = time.time()
            for r, _ in failed:
                self.tracker.record(r.source, received=1, parsed=0, dead=1, events=0, last_event=None, now=now)

    # -- health ------------------------------------------------------------------------------------
    def _transport_stats(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name, src in self.sources.items():
            self.tracker.transport(name, dropped=src.stats.dropped, cut=src.stats.cut)
            st = src.status()
            out[name] = {k: st[k] for k in ("connections", "connections_total", "refused_connections", "errors",
                                           "last_error", "listen") if k in st}
        return out

    def _persist_health(self) -> None:
        try:
            self.tracker.persist(self.state, self._transport_stats())
        except Exception:
            log.exception("could not persist source health")

    def check_silence(self, now: float | None = None) -> int:
        """Raise a "Log source silent" alert for each source newly silent past its threshold."""
        alerts = []
        for h in self.tracker.silent(now):
            cfg = self.tracker.configs[h.name]
            alerts.append(silent_alert(h, cfg, now))
            log.warning("source %s is silent (threshold %s min)", h.name, cfg.silent_after_minutes)
        if alerts:
            with self.state.session() as s:
                rows = self.pipeline.alert_sink.persist(s, alerts)
                s.flush()
                for hook in getattr(self.pipeline, "alert_hooks", []):
                    if rows:
                        hook(s, rows)
            self._persist_health()
        return len(alerts)

    def health(self) -> dict[str, Any]:
        """Live view: per-source health plus the spool and consumer state."""
        extra = self._transport_stats()
        snap = self.tracker.snapshot()
        for name, d in extra.items():
            snap.setdefault(name, {}).update(d)
        return {"sources": snap,
                "spool": {"backlog": self.spool.backlog, "capacity": self.spool.max_records,
                          "appended": self.spool.appended},
                "consumer": {"running": bool(self._thread and self._thread.is_alive()), "batches": self.batches,
                             "errors": self.errors, "last_error": self.last_error,
                             "latency_s": self.last_latency_s}}


# -- soc ingest FILE... -----------------------------------------------------------------------------
def _add(total: Any, res: Any) -> None:
    total.received += res.received
    total.parsed += res.parsed
    total.dead += res.dead
    total.events += res.events
    total.alerts += res.alerts
    for name, sc in res.per_source.items():
        t = total.per_source.get(name)
        if t is None:
            total.per_source[name] = sc
        else:
            t.received += sc.received
            t.parsed += sc.parsed
            t.dead += sc.dead
            t.events += sc.events
            if sc.last_event and (t.last_event is None or sc.last_event > t.last_event):
                t.last_event = sc.last_event


def ingest_files(paths: Iterable[str | Path], fmt: str, pipeline: Any, progress: bool = True, *,
                 source: str = "cli", tz: str | None = None, batch_size: int = 2000,
                 max_line_bytes: int = 1_048_576, host: str | None = None) -> Any:
    """Read whole files (plain, ``.gz`` or ``.evtx``) through ``pipeline``; returns the summed BatchResult.

    ``.evtx`` files use format ``winlog`` whatever ``fmt`` says. ``host`` is the machine the files come from,
    for formats that do not name it (``Record.host``). Shows a rich progress bar (bytes read) and a summary
    when ``progress``.
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    from connectors.reading import is_evtx, iter_lines
    from soc.pipeline import BatchResult

    total = BatchResult()
    names = [str(p) for p in paths]
    sizes = {p: (Path(p).stat().st_size if p != "-" and Path(p).exists() else 0) for p in names}
    console = Console(stderr=True)
    t0 = time.monotonic()
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[lines]} lines"),
                  TransferSpeedColumn(), TimeRemainingColumn(), console=console, disable=not progress,
                  transient=False) as bar:
        for path in names:
            if path != "-" and not Path(path).is_file():
                raise FileNotFoundError(f"{path}: no such file; check the path")
            task = bar.add_task(Path(path).name, total=sizes[path] or None, lines=0)
            f = "winlog" if is_evtx(path) else fmt
            batch: list[Record] = []
            lines = read_bytes = 0
            for line in iter_lines(path, max_line_bytes):
                batch.append(Record(source, f, line, time.time(), None, tz, host))
                lines += 1
                read_bytes += len(line) + 1
                if len(batch) >= batch_size:
                    _add(total, pipeline.process(batch))
                    batch = []
                    bar.update(task, completed=min(read_bytes, sizes[path]) if sizes[path] else None, lines=lines)
            if batch:
                _add(total, pipeline.process(batch))
            bar.update(task, completed=sizes[path] or None, lines=lines)
    if progress:
        took = time.monotonic() - t0
        ok = total.received == total.parsed + total.dead
        console.print(f"received {total.received:,}  parsed {total.parsed:,}  dead-lettered {total.dead:,}  "
                      f"events {total.events:,}  alerts {total.alerts:,}  in {took:.1f} s  "
                      f"({total.received / took if took else 0:,.0f} records/s)  "
                      + ("[green]counts reconcile[/]" if ok else "[red]COUNTS DO NOT RECONCILE[/]"))
        if total.dead:
            console.print("see them with `soc deadletter list`; after fixing the format, `soc deadletter replay`")
    return total

