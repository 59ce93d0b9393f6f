"""Source health: is each log source sending, is it parseable, is its clock right?

Per source: received, parsed, dead-lettered (received = parsed + dead), UDP
drops, lines cut at the length limit, last event time, events/s over a moving
window, parse-error rate and clock skew (received time minus the newest event's
``@timestamp``: large positive means the device's clock is behind or it sends
late; negative means it is ahead; both times are the newest of the batch). Totals are persisted to the ``kv`` table every
few seconds, so ``soc sources status`` and ``GET /api/v1/sources`` show them even
from another process, and they survive restarts.

A source that has sent before and then stays silent longer than its
``silent_after_minutes`` raises one "Log source silent" alert (kind ``health``);
the next record from it re-arms the check.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from soc.config import SourceConfig
from soc.storage.models import KeyValue
from soc.storage.schema import parse_ts
from soc.storage.state import State

KV_KEY = "sources.health"
WINDOW_SECONDS = 60.0
SILENT_RULE = {"id": "soc-source-silent", "name": "Log source silent", "level": "high",
               "tags": ["soc.health"], "author": "Hai Phong SOC",
               "description": "A log source that normally sends has been silent longer than its "
                              "silent_after_minutes; its devices may be down, misconfigured, or tampered with."}


@dataclass
class SourceHealth:
    name: str
    type: str = ""
    received: int = 0
    parsed: int = 0
    dead: int = 0
    events: int = 0
    dropped: int = 0
    cut: int = 0
    last_event: str | None = None
    """Newest event ``@timestamp`` seen (ISO 8601)."""
    last_received: float | None = None
    """When the last record from this source was processed (epoch seconds)."""
    clock_skew_s: float | None = None
    silent_alerted: bool = False
    _window: deque[tuple[float, int]] = field(default_factory=deque, repr=False)
    _base_dropped: int = field(default=0, repr=False)
    _base_cut: int = field(default=0, repr=False)

    def rate(self, now: float) -> float:
        while self._window and self._window[0][0] < now - WINDOW_SECONDS:
            self._window.popleft()
        if not self._window:
            return 0.0
        return sum(n for _, n in self._window) / WINDOW_SECONDS

    def as_dict(self, now: float) -> dict[str, Any]:
        # Public fields are plain values; asdict() would deep-copy the rate window only to drop it.
        d: dict[str, Any] = {k: getattr(self, k) for k in _PUBLIC}
        d["events_per_s"] = round(self.rate(now), 2)
        d["parse_error_rate"] = round(self.dead / self.received, 4) if self.received else 0.0
        d["last_received_at"] = (datetime.fromtimestamp(self.last_received, UTC).isoformat()
                                 if self.last_received else None)
        d["reconciles"] = self.received == self.parsed + self.dead
        return d


_PUBLIC = tuple(f.name for f in fields(SourceHealth) if not f.name.startswith("_"))


class HealthTracker:
    """Thread-safe counters fed by the runner after every batch."""

    def __init__(self, sources: list[SourceConfig]) -> None:
        self.configs = {s.name: s for s in sources}
        self._lock = threading.Lock()
        self.sources: dict[str, SourceHealth] = {s.name: SourceHealth(s.name, s.type) for s in sources}

    def _get(self, name: str) -> SourceHealth:
        h = self.sources.get(name)
        if h is None:
            cfg = self.configs.get(name)
            h = self.sources[name] = SourceHealth(name, cfg.type if cfg else "")
        return h

    def record(self, name: str, *, received: int, parsed: int, dead: int, events: int,
               last_event: str | None, now: float | None = None, arrived: float | None = None) -> None:
        """Add one batch's counts; ``arrived`` is when its newest record reached us (for the clock skew)."""
        now = time.time() if now is None else now
        with self._lock:
            h = self._get(name)
            h.received += received
            h.parsed += parsed
            h.dead += dead
            h.events += events
            if received:
                h.last_received = now
                h.silent_alerted = False
                h._window.append((now, received))
            if last_event and (h.last_event is None or last_event > h.last_event):
                h.last_event = last_event
            ts = parse_ts(last_event) if last_event else None
            if ts is not None:
                h.clock_skew_s = round((arrived or now) - ts.timestamp(), 3)

    def transport(self, name: str, *, dropped: int, cut: int) -> None:
        """Set transport counters (cumulative since the source started, added to persisted totals)."""
        with self._lock:
            h = self._get(name)
            h.dropped = h._base_dropped + dropped
            h.cut = h._base_cut + cut

    def snapshot(self, now: float | None = None) -> dict[str, dict[str, Any]]:
        now = time.time() if now is None else now
        with self._lock:
            return {n: h.as_dict(now) for n, h in sorted(self.sources.items())}

    # -- persistence -------------------------------------------------------------------------------
    def load(self, state: State) -> None:
        """Start from the persisted totals (so counts and silence survive a restart)."""
        saved = load_health(state)
        with self._lock:
            for name, d in saved.items():
                h = self._get(name)
                for k in ("received", "parsed", "dead", "events", "last_event", "last_received", "clock_skew_s",
                          "silent_alerted"):
                    if k in d:
                        setattr(h, k, d[k])
                h._base_dropped = int(d.get("dropped", 0))
                h._base_cut = int(d.get("cut", 0))
                h.dropped, h.cut = h._base_dropped, h._base_cut

    def persist(self, state: State, extra: dict[str, dict[str, Any]] | None = None) -> None:
        snap = self.snapshot()
        for name, d in (extra or {}).items():
            snap.setdefault(name, {}).update(d)
        value = {"updated": datetime.now(UTC).isoformat(), "sources": snap}
        with state.session() as s:
            row = s.get(KeyValue, KV_KEY)
            if row is None:
                s.add(KeyValue(key=KV_KEY, value=value))
            else:
                row.value = value

    # -- silence -----------------------------------------------------------------------------------
    def silent(self, now: float | None = None) -> list[SourceHealth]:
        """Sources newly silent past their threshold (each reported once until it sends again)."""
        now = time.time() if now is None else now
        out = []
        with self._lock:
            for name, h in self.sources.items():
                cfg = self.configs.get(name)
                if cfg is None or not cfg.enabled or cfg.silent_after_minutes is None:
                    continue
                if h.last_received is None or h.silent_alerted:
                    continue  # never sent: nothing "normal" to miss yet
                if now - h.last_received > cfg.silent_after_minutes * 60:
                    h.silent_alerted = True
                    out.append(h)
        return out


def silent_alert(h: SourceHealth, cfg: SourceConfig, now: float | None = None) -> dict[str, Any]:
    """The alert dict for a silent source (``detectors.base`` shape, kind ``health``)."""
    from detectors.base import make_alert

    now = time.time() if now is None else now
    last = datetime.fromtimestamp(h.last_received or now, UTC)
    minutes = int((now - (h.last_received or now)) // 60)
    ts = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    event = {"@timestamp": ts,
             "event": {"kind": "alert", "category": ["host"], "type": ["info"], "dataset": "soc.health",
                       "module": "soc"},
             "observer": {"name": h.name, "type": cfg.type},
             "soc": {"input": h.name},
             "message": (f"Nguồn log '{h.name}' im lặng {minutes} phút (lần cuối {last:%Y-%m-%d %H:%M} UTC). / "
                         f"Log source '{h.name}' has been silent for {minutes} minutes (last record "
                         f"{last:%Y-%m-%d %H:%M} UTC).")}
    return make_alert(kind="health", rule=dict(SILENT_RULE), events=[event],
                      match={"source": h.name, "silent_minutes": minutes, "threshold_minutes": cfg.silent_after_minutes,
                             "last_received": last.isoformat()},
                      entity={"type": "source", "value": h.name}, timestamp=ts)


def load_health(state: State) -> dict[str, dict[str, Any]]:
    """Persisted per-source health (empty when nothing was ever persisted)."""
    with state.session() as s:
        row = s.get(KeyValue, KV_KEY)
        if row is None or not isinstance(row.value, dict):
            return {}
        src = row.value.get("sources")
        return src if isinstance(src, dict) else {}
