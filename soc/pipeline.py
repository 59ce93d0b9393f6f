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
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from connectors.parsers import ParseContext, ParseError, parse_line
from connectors.parsers.syslog_header import iso
from connectors.record import Record
from detectors.base import Detector
from soc import ecs
from soc.alerts import AlertSink
from soc.inventory import Inventory
from soc.storage.events import EventStore
from soc.storage.models import Alert, DeadLetter
from soc.storage.schema import parse_ts
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


@lru_cache(maxsize=64)
def _zone(name: str | None, default: str) -> ZoneInfo:
    return ZoneInfo(name or default)


class Pipeline:
    """Wires the stages; holds no per-event state of its own."""

    def __init__(self, *, state: State, events: EventStore, inventory: Inventory,
                 detectors: Sequence[Detector], alert_sink: AlertSink | None = None,
                 alert_hooks: Sequence[AlertHook] = (), default_tz: str = "Asia/Ho_Chi_Minh") -> None:
        self.state = state
        self.events = events
        self.inventory = inventory
        self.detectors = list(detectors)
        self.alert_sink = alert_sink or AlertSink()
        self.alert_hooks = list(alert_hooks)
        self.default_tz = default_tz
        self.detector_errors: dict[str, int] = {}
        self._lock = threading.Lock()

    # -- stages ------------------------------------------------------------------------------------
    def parse(self, rec: Record) -> tuple[list[dict[str, Any]], str | None]:
        """Parse one record; returns ``(documents, None)`` or ``([], reason)``. Never raises."""
        if "\x00" in rec.line:
            return [], "line contains NUL bytes"
        try:
            rec.line.encode("utf-8")
        except UnicodeEncodeError:
            return [], "invalid UTF-8 in line"
        received = datetime.fromtimestamp(rec.received, UTC)
        ctx = ParseContext(tz=_zone(rec.tz, self.default_tz), source=rec.source, received=received,
                           peer=rec.peer)
        try:
            docs = parse_line(rec.format, rec.line, ctx)
        except ParseError as exc:
            return [], f"{rec.format}: {exc.reason}"
        except KeyError as exc:  # unknown format name
            return [], str(exc.args[0]) if exc.args else "unknown format"
        except RecursionError:
            return [], f"{rec.format}: record nested too deeply"
        except Exception as exc:  # a parser bug must not lose the line
            log.exception("parser %s failed on a record from %s", rec.format, rec.source)
            return [], f"{rec.format}: parser error ({type(exc).__name__}: {exc})"
        out = []
        for doc in docs:
            if not isinstance(doc, dict):
                return [], f"{rec.format}: parser returned {type(doc).__name__}, not an object"
            ts = doc.get("@timestamp")
            if ts is None:
                doc["@timestamp"] = iso(received)
            else:
                parsed_ts = parse_ts(ts)
                if parsed_ts is None:
                    return [], f"{rec.format}: @timestamp {str(ts)[:40]!r} is not an ISO 8601 time"
                try:
                    parsed_ts.astimezone(UTC)
                except (OverflowError, ValueError):
                    return [], f"{rec.format}: @timestamp {str(ts)[:40]!r} is out of range"
            soc = doc.setdefault("soc", {})
            if isinstance(soc, dict):
                soc["input"] = rec.source
            if rec.host and not ecs.get(doc, "host.name"):
                ecs.put(doc, "host.name", rec.host)
            out.append(doc)
        return out, None

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
    def process(self, records: Sequence[Record]) -> BatchResult:
        """Run ``records`` through every stage; thread-safe (batches are serialised)."""
        with self._lock:
            return self._process(records)

    def _process(self, records: Sequence[Record]) -> BatchResult:
        res = BatchResult(received=len(records))
        docs: list[dict[str, Any]] = []
        dead: list[DeadLetter] = []
        for rec in records:
            sc = res.per_source.get(rec.source)
            if sc is None:
                sc = res.per_source[rec.source] = SourceCounts()
            sc.received += 1
            parsed, reason = self.parse(rec)
            if reason is not None:
                sc.dead += 1
                res.dead += 1
                dead.append(DeadLetter(source=rec.source, format=rec.format, reason=reason[:2000],
                                       raw=rec.raw_bytes(),
                                       received_at=datetime.fromtimestamp(rec.received, UTC)))
                continue
            sc.parsed += 1
            res.parsed += 1
            for doc in parsed:
                self.inventory.enrich(doc)
                docs.append(doc)
                sc.events += 1
                ts = doc.get("@timestamp")
                if isinstance(ts, str) and (sc.last_event is None or ts > sc.last_event):
                    sc.last_event = ts
        res.events = len(docs)
        # Store first: an event is kept even if a detector later fails on it.
        self.events.write(docs)
        raw_alerts: list[dict[str, Any]] = []
        for doc in docs:
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
            rows = self.alert_sink.persist(s, raw_alerts) if raw_alerts else []
            s.flush()
            for hook in self.alert_hooks:
                if rows:
                    hook(s, rows)
            res.alert_rows = [r.id for r in rows]
        res.alerts = len(raw_alerts)
        return res
