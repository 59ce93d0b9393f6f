"""The per-record half of the pipeline: parse -> normalise -> enrich -> tag -> storage row.

Everything here is a pure function of the record, the inventory and the default
time zone, so it can run in worker processes: on a 2-core machine one Python
process cannot parse, build rows, receive syslog and run detectors fast enough
(the GIL), so :class:`PreparePool` spreads this stage over ``pipeline.workers``
processes while the service process keeps the transports, storage writes,
detection and state. With ``workers = 0`` (tests, small batches, a broken pool)
the same code runs in-process: one code path, two places to run it.

A run of records gives a :class:`Prepared`: per record a dead-letter reason or
its number of events, and the events as one Arrow table in the storage layout
(:data:`soc.storage.schema.SCHEMA`, whose ``doc`` column is the event as JSON)
with the partition each event is filed under. Workers send that table back, not
Python objects, so the service process does little per event: write the table,
and decode ``doc`` for the detectors.

Events of a spool batch are tagged ``soc.batch`` (the batch key) and
``soc.batch_seq`` = record index x :data:`SEQ_STRIDE` + event index within the
record, so a replay after a crash can tell which events are already stored
without knowing how many events earlier records produced.
"""

from __future__ import annotations

import contextlib
import gc
import glob
import itertools
import logging
import multiprocessing as mp
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa

from connectors.parsers import ParseContext, ParseError, get_parser
from connectors.parsers.syslog_header import iso
from connectors.record import Record
from soc import ecs
from soc.inventory import Inventory, InventoryModel
from soc.storage.columns import table_builder
from soc.storage.schema import DOC, parse_ts, warm_up

log = logging.getLogger("soc.pipeline")

SEQ_STRIDE = 1_000_000
"""``soc.batch_seq`` = record index x SEQ_STRIDE + event index: a record is at most 1 MB (``max_line_bytes``),
so it cannot give a million events."""

CHUNK = 500
"""Records per task sent to a worker: large enough to amortise the hand-over, small enough to keep both
sides busy. (250 did better while tables came back pickled through the pipe; with shared-memory files 500
gave ~10 % more events/s end to end, 4 alternated pairs.)"""

MIN_PARALLEL = 2 * CHUNK
"""Smaller batches are prepared in-process: the hand-over would cost more than it saves."""


@dataclass(slots=True)
class Prepared:
    """Records ``first .. first + len(reasons)`` of a batch, prepared."""

    reasons: list[str | None]
    """Per record: why it was dead-lettered, or None."""
    counts: list[int]
    """Per record: how many events it gave (0 when dead-lettered)."""
    newest: list[int | None]
    """Per record: its newest event time, in epoch milliseconds (as stored; see :func:`ms_datetime`)."""
    table: pa.Table
    """The events, in record order, as :data:`~soc.storage.schema.SCHEMA` rows."""
    partitions: list[tuple[str, str]]
    """Per event: ``(day, dataset)``, the partition it is filed under."""
    seqs: list[int]
    """Per event: ``soc.batch_seq`` (empty without a batch)."""
    docs: list[dict[str, Any]] | None = None
    """The events as dicts when prepared in-process (workers send only the table; see :meth:`events`)."""
    table_file: str | None = None
    """Set by a worker that left :attr:`table` in a shared-memory file (see :func:`_ship`) instead of sending it."""

    def events(self) -> list[dict[str, Any]]:
        if self.docs is None:
            self.docs = [orjson.loads(d) for d in self.table.column(DOC).to_pylist()]
        return self.docs

    @classmethod
    def concat(cls, parts: list[Prepared]) -> Prepared:
        if len(parts) == 1:
            return parts[0]
        docs = None if any(p.docs is None for p in parts) else [d for p in parts for d in p.docs or ()]
        return cls(reasons=[r for p in parts for r in p.reasons], counts=[c for p in parts for c in p.counts],
                   newest=[t for p in parts for t in p.newest],
                   table=pa.concat_tables([p.table for p in parts]),
                   partitions=[k for p in parts for k in p.partitions], seqs=[q for p in parts for q in p.seqs],
                   docs=docs)


def ms_datetime(ms: int) -> datetime:
    """Epoch milliseconds (:attr:`Prepared.newest`) as an aware UTC datetime, exactly."""
    return _EPOCH + timedelta(milliseconds=ms)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=64)
def _zone(name: str | None, default: str) -> ZoneInfo:
    return ZoneInfo(name or default)


_UNSEEN = object()
_TS_VERDICT: dict[str, str | None] = {}
"""``@timestamp`` text -> why it is refused (None: it is fine). Events of one second share their text. Bounded."""


def _ts_problem(ts: Any) -> str | None:
    """Why ``ts`` cannot be an event's ``@timestamp``, or None; remembered for text."""
    parsed = parse_ts(ts)
    if parsed is None:
        bad: str | None = "is not an ISO 8601 time"
    else:
        try:
            parsed.astimezone(UTC)
            bad = None
        except (OverflowError, ValueError):
            bad = "is out of range"
    if ts.__class__ is str:
        if len(_TS_VERDICT) >= 4096:
            _TS_VERDICT.clear()
        _TS_VERDICT[ts] = bad
    return bad


class Preparer:
    """Parse, normalise, enrich, tag and build rows; holds no per-event state."""

    def __init__(self, inventory: Inventory, default_tz: str = "Asia/Ho_Chi_Minh") -> None:
        self.inventory = inventory
        self.default_tz = default_tz
        self._ctx_key: tuple[Any, ...] | None = None
        self._ctx = ParseContext()
        self._parsers: dict[str, Callable[[str, ParseContext], Any]] = {}

    def parse(self, rec: Record) -> tuple[list[dict[str, Any]], str | None]:
        """Parse one record; returns ``(documents, None)`` or ``([], reason)``. Never raises."""
        line = rec.line
        if "\x00" in line:
            return [], "line contains NUL bytes"
        if not line.isascii():
            try:
                line.encode("utf-8")
            except UnicodeEncodeError:
                return [], "invalid UTF-8 in line"
        # Records of one network read share their arrival time, source and peer: so does their context
        # (parsers only read it), which saves building a datetime and a context per record.
        key = (rec.received, rec.source, rec.peer, rec.tz, self.default_tz)
        if key == self._ctx_key:
            ctx = self._ctx
        else:
            ctx = ParseContext(tz=_zone(rec.tz, self.default_tz), source=rec.source,
                               received=datetime.fromtimestamp(rec.received, UTC), peer=rec.peer)
            self._ctx, self._ctx_key = ctx, key
        received = ctx.received
        try:
            parser = self._parsers.get(rec.format)
            if parser is None:
                parser = self._parsers[rec.format] = get_parser(rec.format)
            docs = parser(line, ctx)
        except ParseError as exc:
            return [], f"{rec.format}: {exc.reason}"
        except KeyError as exc:  # unknown format name
            return [], str(exc.args[0]) if exc.args else "unknown format"
        except RecursionError:
            return [], f"{rec.format}: record nested too deeply"
        except Exception as exc:  # a parser bug must not lose the line
            log.exception("parser %s failed on a record from %s", rec.format, rec.source)
            return [], f"{rec.format}: parser error ({type(exc).__name__}: {exc})"
        if not isinstance(docs, list):
            docs = [docs]
        out = []
        for doc in docs:
            if not isinstance(doc, dict):
                return [], f"{rec.format}: parser returned {type(doc).__name__}, not an object"
            ts = doc.get("@timestamp")
            if ts is None:
                doc["@timestamp"] = iso(received)
            else:
                bad = _TS_VERDICT.get(ts, _UNSEEN) if ts.__class__ is str else _UNSEEN
                if bad is _UNSEEN:
                    bad = _ts_problem(ts)
                if bad is not None:
                    return [], f"{rec.format}: @timestamp {str(ts)[:40]!r} {bad}"
            soc = doc.setdefault("soc", {})
            if isinstance(soc, dict):
                soc["input"] = rec.source
            if rec.host and not ecs.get(doc, "host.name"):
                ecs.put(doc, "host.name", rec.host)
            out.append(doc)
        return out, None

    def prepare(self, records: Sequence[Record], batch: str | None = None, first: int = 0,
                keep_docs: bool = True) -> Prepared:
        """Prepare ``records``; ``first`` is the index of ``records[0]`` among the batch's records."""
        reasons: list[str | None] = []
        counts: list[int] = []
        seqs: list[int] = []
        docs: list[dict[str, Any]] = []
        builder = table_builder()
        enrich = self.inventory.enrich
        for i, rec in enumerate(records, first):
            parsed, reason = self.parse(rec)
            reasons.append(reason)
            counts.append(len(parsed))
            for j, doc in enumerate(parsed):
                enrich(doc)
                if batch is not None:
                    soc = doc.get("soc")
                    if isinstance(soc, dict):
                        soc["batch"] = batch
                        soc["batch_seq"] = i * SEQ_STRIDE + j
                    seqs.append(i * SEQ_STRIDE + j)
                # The row now, while the document is fresh in the cache; workers then drop it (its memory
                # is reused by the next one), which is measurably faster than keeping a chunk's documents.
                builder.add(doc)
                if keep_docs:
                    docs.append(doc)
        table, partitions, times = builder.finish()
        newest: list[int | None] = []
        k = 0
        for n in counts:
            newest.append(None if not n else times[k] if n == 1 else max(times[k:k + n]))
            k += n
        return Prepared(reasons=reasons, counts=counts, newest=newest, table=table,
                        partitions=partitions, seqs=seqs, docs=docs if keep_docs else None)


@dataclass(slots=True)
class Pending:
    """A batch handed to the parse workers: one future per chunk, in order."""

    records: Sequence[Record]
    batch: str | None
    futures: list[Future[Prepared]]
    pool: ProcessPoolExecutor

    def cancel(self) -> None:
        """Drop the work not started yet (the batch will be read and handed out again), and the tables of the
        chunks already prepared, now or when they finish."""
        for f in self.futures:
            if not f.cancel():
                f.add_done_callback(_discard)


def _discard(f: Future[Prepared]) -> None:
    if f.cancelled() or f.exception() is not None:
        return
    path = f.result().table_file
    if path:
        with contextlib.suppress(OSError):
            os.unlink(path)


# -- worker processes -------------------------------------------------------------------------------
_WORKER: Preparer | None = None
_SHIP_DIR: str | None = None
_SHIP_SEQ = itertools.count()
_NO_TABLE = pa.table({})
"""Stands in for a table left in a file: pickles to a few bytes."""
SHIP_PREFIX = "soc-prepare-"
"""Folders (in /dev/shm) through which workers hand tables back: ``soc-prepare-<service pid>-<random>``."""


def _init_worker(model: InventoryModel, default_tz: str, ship_dir: str | None = None) -> None:
    global _WORKER, _SHIP_DIR
    _WORKER = Preparer(Inventory(model), default_tz)
    _SHIP_DIR = ship_dir
    warm_up()
    # The imported modules are never freed: keep them out of every collection, and collect less often.
    # A chunk's events are acyclic and freed by reference counting; the cyclic collector only slowed
    # their building down (~10 % of a worker's time with the defaults).
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def _work(records: list[tuple[str, str, str, float, str | None, str | None, str | None]], batch: str | None,
          first: int) -> Prepared:
    assert _WORKER is not None, "worker not initialised"
    return _ship(_WORKER.prepare([Record(*t) for t in records], batch, first, keep_docs=False))


def _ship(prep: Prepared) -> Prepared:
    """Leave the table in an Arrow file in shared memory and send its name instead.

    A chunk's table is ~2 KB per event; pickled through the result pipe it cost the service process ~7 us of
    CPU per event to receive (pipe reads of 64 KB, copies, rebuilding every column), which the service then
    lacked for its own work. Mapping the file costs it almost nothing. If the file cannot be written, the
    table is sent inline as before.
    """
    if _SHIP_DIR is None or not prep.table.num_rows:
        return prep
    path = os.path.join(_SHIP_DIR, f"{os.getpid()}-{next(_SHIP_SEQ)}.arrow")
    try:
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, prep.table.schema) as writer:
            writer.write_table(prep.table)
    except (OSError, pa.ArrowException):
        with contextlib.suppress(OSError):
            os.unlink(path)
        return prep
    prep.table, prep.table_file = _NO_TABLE, path
    return prep


def _receive(prep: Prepared) -> Prepared:
    """The service's side of :func:`_ship`: map the table (no copy) and remove its name at once; the
    mapping lives as long as the table."""
    path = prep.table_file
    if path is not None:
        try:
            prep.table = pa.ipc.open_file(pa.memory_map(path)).read_all()
        finally:
            os.unlink(path)
        prep.table_file = None
    return prep


def _ship_root() -> str:
    """Shared memory when the machine has it (a tmpfs: the files never reach a disk), else the temp folder."""
    shm = "/dev/shm"  # noqa: S108 (a private folder is made in it with mkdtemp, mode 0700)
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else tempfile.gettempdir()


def _sweep_stale(root: str) -> None:
    """Remove hand-back folders left by service processes that died (kill -9): they hold RAM in /dev/shm."""
    for d in glob.glob(os.path.join(glob.escape(root), SHIP_PREFIX + "*")):
        pid = os.path.basename(d)[len(SHIP_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except OSError:  # alive, another user's
            pass


def _ready() -> int:
    return os.getpid()


def resolve_workers(setting: int | str) -> int:
    """``"auto"``: one worker per CPU core when there are at least two (the service process needs the rest)."""
    if setting == "auto":
        cores = os.cpu_count() or 1
        return cores if cores >= 2 else 0
    return max(0, int(setting))


class PreparePool:
    """Runs :meth:`Preparer.prepare` over worker processes, in order, falling back to in-process.

    Workers are started with ``spawn`` (the service has threads; ``fork`` would copy their locks) and
    given the inventory once; a new inventory object restarts them. If a worker dies or a task cannot be
    sent, the batch is prepared in-process and the pool is rebuilt for the next one: slower, never lost.
    """

    def __init__(self, preparer: Preparer, workers: int) -> None:
        self.preparer = preparer
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._pool_inventory: int | None = None
        self._ship_dir: str | None = None
        self.parallel_batches = 0
        """Batches prepared by the workers (health and tests)."""
        self.fallbacks = 0
        """Batches the workers failed, prepared in-process instead."""

    def _get_pool(self) -> ProcessPoolExecutor | None:
        if self.workers <= 0:
            return None
        if self._pool is not None and self._pool_inventory != id(self.preparer.inventory):
            self.close()
        if self._pool is None:
            root = _ship_root()
            _sweep_stale(root)
            try:
                self._ship_dir = tempfile.mkdtemp(prefix=f"{SHIP_PREFIX}{os.getpid()}-", dir=root)
            except OSError:
                self._ship_dir = None  # tables come back through the pipe
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                initargs=(self.preparer.inventory.model, self.preparer.default_tz, self._ship_dir))
            self._pool_inventory = id(self.preparer.inventory)
        return self._pool

    def start(self) -> None:
        """Start the workers now (imports take a second or two each) rather than on the first large batch."""
        warm_up()  # for batches prepared in-process
        pool = self._get_pool()
        if pool is not None:
            try:
                for f in [pool.submit(_ready) for _ in range(self.workers)]:
                    f.result(timeout=120)
            except Exception:
                log.exception("parse workers did not start; batches are prepared in-process until they do")
                self.close()

    def submit(self, records: Sequence[Record], batch: str | None = None) -> Pending | None:
        """Hand ``records`` to the workers and return at once (:meth:`result` collects them). None when they
        would be prepared in-process anyway: no workers, a small batch, or a pool that cannot take work.

        The ingest service submits the next batch before it stores the current one, so the workers parse
        while the service writes instead of waiting for it.
        """
        pool = self._get_pool() if len(records) >= MIN_PARALLEL else None
        if pool is None:
            return None
        try:
            futures: list[Future[Prepared]] = []
            for k in range(0, len(records), CHUNK):
                chunk = [(r.source, r.format, r.line, r.received, r.peer, r.tz, r.host)
                         for r in records[k:k + CHUNK]]
                futures.append(pool.submit(_work, chunk, batch, k))
        except Exception:
            log.exception("could not hand a batch to the parse workers; preparing it in-process and restarting them")
            self.fallbacks += 1
            self.close()
            return None
        return Pending(records, batch, futures, pool)

    def result(self, pending: Pending) -> Prepared:
        """The batch :meth:`submit` handed out, prepared; in-process if a worker failed on it."""
        if pending.pool is not self._pool:  # the pool was restarted since (new inventory): its work is void
            pending.cancel()
            return self.prepare(pending.records, pending.batch)
        parts: list[Prepared] = []
        try:
            for f in pending.futures:
                parts.append(_receive(f.result()))
            out = Prepared.concat(parts)
            self.parallel_batches += 1
            return out
        except Exception:
            log.exception("parse workers failed; preparing this batch in-process and restarting them")
            pending.cancel()  # and remove the files of the chunks not received
            self.fallbacks += 1
            self.close()
            return self.preparer.prepare(pending.records, pending.batch)

    def prepare(self, records: Sequence[Record], batch: str | None = None) -> Prepared:
        pending = self.submit(records, batch)
        return self.preparer.prepare(records, batch) if pending is None else self.result(pending)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        if self._ship_dir is not None:
            # Tables already received stay mapped; a worker still writing into the folder fails and its
            # result is not waited for.
            shutil.rmtree(self._ship_dir, ignore_errors=True)
            self._ship_dir = None
