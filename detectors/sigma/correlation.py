"""Streaming evaluation of Sigma correlation rules over event time.

Window semantics (also in ``docs/sigma.md``):

* Time is *event time* (``@timestamp``). Each correlation rule tracks the latest
  event time among its own hits; its *watermark* is that minus the allowed lateness.
  A hit older than ``watermark - timespan`` can no longer belong to any open window
  and is dropped (counted in ``stats["late"]``); anything newer is inserted in time
  order. The clock is per rule, not global, so a source that lags (or a file
  imported after another) does not make another source's hits "late".
* **Sliding, fire on arrival** for conditions that only become true as events
  accumulate: ``event_count``/``value_count``/``value_sum`` with ``gt``/``gte``,
  ``temporal`` and ``temporal_ordered``. On each hit the window is the
  ``timespan`` ending at that hit; when the condition holds an alert is raised and
  the group's state is cleared, so the next alert needs a fresh set of events.
* **Tumbling, fire on close** for everything else (``lt``/``lte``/``eq``/``neq``,
  ``value_avg``, ``value_median``, ``value_percentile``): a group's window opens
  at its first hit and is evaluated once the watermark (or ``flush(now)`` minus
  lateness) passes its end. A group with no hit has no window, so "fewer than N"
  means "at least one and fewer than N".
* State is bounded: at most ``max_state`` hits are kept over all groups; beyond
  that the least recently updated groups are evicted. Each group keeps at most
  ``SAMPLES`` events to attach to its alert.
"""

from __future__ import annotations

import bisect
import json
import os
import statistics
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sigma.correlations import (
    CorrelationConditionAND,
    CorrelationConditionNOT,
    CorrelationConditionOR,
    SigmaRuleReference,
)

from detectors.base import make_alert

from .compiler import to_str

SAMPLES = 20
Getter = Callable[[str], Any]
ARRIVAL_TYPES = {"event_count", "value_count", "value_sum"}


@dataclass
class CorrelationSpec:
    """A loaded correlation rule with its references resolved to engine keys (``r:<idx>``/``c:<idx>``)."""

    id: str
    name: str | None
    title: str
    level: str
    tags: list[str]
    description: str
    author: str
    path: str
    type: str
    refs: list[str]
    ref_labels: list[str]
    group_by: list[str]
    aliases: dict[str, dict[str, str]]  # alias -> ref key -> field
    timespan: float
    op: str | None
    threshold: float | None
    field: str | list[str] | None
    percentile: int | None
    extended: Any = None  # parsed extended condition (temporal types)
    generate: bool = False
    key: str = ""
    standalone: bool = True  # False when only feeding another correlation (without generate)
    enabled: bool = True

    @property
    def arrival(self) -> bool:
        if self.type in ("temporal", "temporal_ordered"):
            return True
        return self.type in ARRIVAL_TYPES and self.op in ("gt", "gte")

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.title, "level": self.level, "tags": self.tags,
                "description": self.description, "author": self.author}


def _cmp(op: str | None, value: float, threshold: float | None) -> bool:
    if op is None or threshold is None:
        return False
    return {"gt": value > threshold, "gte": value >= threshold, "lt": value < threshold,
            "lte": value <= threshold, "eq": value == threshold, "neq": value != threshold}[op]


@dataclass
class _Group:
    entries: list[tuple[float, int, Any]] = field(default_factory=list)  # (ts, ref position, value), by ts
    samples: deque[tuple[float, dict[str, Any]]] = field(default_factory=lambda: deque(maxlen=SAMPLES))
    group: dict[str, Any] = field(default_factory=dict)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _eval_extended(node: Any, present: set[str]) -> bool:
    if isinstance(node, SigmaRuleReference):
        return node.reference in present
    if isinstance(node, CorrelationConditionAND):
        return all(_eval_extended(a, present) for a in node.args)
    if isinstance(node, CorrelationConditionOR):
        return any(_eval_extended(a, present) for a in node.args)
    if isinstance(node, CorrelationConditionNOT):
        return not _eval_extended(node.args[0], present)
    return False


class CorrelationState:
    """Groups and windows of every correlation rule; owned by the engine, survives reloads."""

    def __init__(self, lateness: float = 60.0, max_state: int = 200_000) -> None:
        self.lateness = float(lateness)
        self.max_state = max_state
        self.specs: dict[str, CorrelationSpec] = {}
        self.groups: OrderedDict[tuple[str, tuple[Any, ...]], _Group] = OrderedDict()
        self.total = 0
        self.max_ts = float("-inf")
        self.max_ts_by: dict[str, float] = {}  # per correlation rule: its own event-time clock
        self.stats = {"late": 0, "evicted": 0, "fired": 0}

    def set_specs(self, specs: dict[str, CorrelationSpec]) -> None:
        """Install (re)loaded specs; state of correlations that disappeared is dropped."""
        self.specs = specs
        for k in [k for k in self.groups if k[0] not in specs]:
            self.total -= len(self.groups.pop(k).entries)

    @property
    def watermark(self) -> float:
        return self.max_ts - self.lateness

    def watermark_of(self, spec_id: str) -> float:
        return self.max_ts_by.get(spec_id, float("-inf")) - self.lateness

    # -- input

    def feed(self, spec: CorrelationSpec, pos: int, ts: float, event: dict[str, Any], getter: Getter,
             src_key: str) -> list[tuple[CorrelationSpec, dict[str, Any], float, Getter]]:
        """Record one hit of the ``pos``-th referenced rule; returns fired (spec, alert, ts, getter)."""
        if not spec.enabled:
            return []
        if ts > self.max_ts:
            self.max_ts = ts
        if ts > self.max_ts_by.get(spec.id, float("-inf")):
            self.max_ts_by[spec.id] = ts
        if ts < self.watermark_of(spec.id) - spec.timespan:
            self.stats["late"] += 1
            return []
        group: dict[str, Any] = {}
        for g in spec.group_by:
            fname = spec.aliases.get(g, {}).get(src_key, g)
            v = getter(fname)
            group[g] = v if not isinstance(v, list) else tuple(v)
        gkey = (spec.id, tuple(json.dumps(group.get(g), default=str) for g in spec.group_by))
        st = self.groups.get(gkey)
        if st is None:
            st = _Group(group=group)
            self.groups[gkey] = st
        else:
            self.groups.move_to_end(gkey)
        value: Any = None
        if spec.field is not None:
            if isinstance(spec.field, list):
                value = tuple(to_str(getter(f)) for f in spec.field)
                value = None if all(v is None for v in value) else value
            else:
                value = getter(spec.field)
                if isinstance(value, list):
                    value = tuple(value)
        entry = (ts, pos, value)
        if not st.entries or ts >= st.entries[-1][0]:
            st.entries.append(entry)
        else:
            bisect.insort(st.entries, entry, key=lambda e: e[0])
        st.samples.append((ts, event))
        self.total += 1
        self._bound()
        if not spec.arrival:
            return []
        # every window of length timespan that contains this hit: those ending at this hit or at a later
        # one (a late hit can complete a window that already ended at a newer event)
        ends = sorted({e[0] for e in st.entries if ts <= e[0] <= ts + spec.timespan})[:64]
        for end in ends:
            window = [e for e in st.entries if end - spec.timespan <= e[0] <= end]
            fired, value_out = self._evaluate(spec, window)
            if fired:
                return [self._fire(spec, gkey, st, window, value_out, getter)]
        return []

    # -- evaluation

    def _evaluate(self, spec: CorrelationSpec, window: list[tuple[float, int, Any]]) -> tuple[bool, Any]:
        t = spec.type
        if not window:
            return False, None
        if t == "event_count":
            n = len(window)
            return _cmp(spec.op, n, spec.threshold), n
        if t == "value_count":
            n = len({e[2] for e in window if e[2] is not None})
            return _cmp(spec.op, n, spec.threshold), n
        if t in ("temporal", "temporal_ordered"):
            if t == "temporal":
                present = {e[1] for e in window}
                if spec.extended is not None:
                    names = {spec.ref_labels[p] for p in present}
                    return _eval_extended(spec.extended, names), sorted(names)
                return len(present) == len(spec.refs), len(present)
            want = 0
            for e in window:
                if e[1] == want:
                    want += 1
                    if want == len(spec.refs):
                        return True, want
            return False, want
        nums = [f for f in (_num(e[2]) for e in window) if f is not None]
        if t == "value_sum":
            s = sum(nums)
            return _cmp(spec.op, s, spec.threshold), s
        if not nums and t != "value_percentile":
            return False, None
        if t == "value_avg":
            a = sum(nums) / len(nums)
            return _cmp(spec.op, a, spec.threshold), a
        if t == "value_median":
            m = statistics.median(nums)
            return _cmp(spec.op, m, spec.threshold), m
        if t == "value_percentile":
            if spec.percentile is not None:
                if not nums:
                    return False, None
                q = _percentile(sorted(nums), spec.percentile)
                return _cmp(spec.op, q, spec.threshold), q
            # spec example: values whose share of the group's events (in percent) meets the condition
            counts: dict[Any, int] = {}
            for e in window:
                if e[2] is not None:
                    counts[e[2]] = counts.get(e[2], 0) + 1
            total = sum(counts.values())
            rare = {str(k): round(100.0 * c / total, 3) for k, c in counts.items()
                    if total and _cmp(spec.op, 100.0 * c / total, spec.threshold)}
            return bool(rare), rare
        return False, None

    def _fire(self, spec: CorrelationSpec, gkey: tuple[str, tuple[Any, ...]], st: _Group,
              window: list[tuple[float, int, Any]], value: Any,
              getter: Getter) -> tuple[CorrelationSpec, dict[str, Any], float, Getter]:
        start, end = window[0][0], window[-1][0]
        events = [ev for ts, ev in st.samples if start <= ts <= end]
        match = {
            "type": spec.type, "group": {k: v for k, v in st.group.items()}, "value": value,
            "count": len(window), "timespan": spec.timespan, "rules": spec.ref_labels,
            "window": {"start": _iso(start), "end": _iso(end)},
        }
        if spec.op is not None:
            match["condition"] = {spec.op: spec.threshold, **({"field": spec.field} if spec.field else {})}
        alert = make_alert(kind="correlation", rule=spec.summary(), events=events, match=match,
                           timestamp=_iso(end), entity=group_entity(st.group))
        self.stats["fired"] += 1
        # remove the window's hits (and anything older) from the group
        keep = [e for e in st.entries if e[0] > end]
        self.total -= len(st.entries) - len(keep)
        st.entries = keep
        st.samples = deque(((t, e) for t, e in st.samples if t > end), maxlen=SAMPLES)
        if not keep:
            self.groups.pop(gkey, None)
        group = dict(st.group)

        def chained_getter(f: str) -> Any:
            return group[f] if f in group else getter(f)

        return spec, alert, end, chained_getter

    def close(self, until: float | None = None) -> list[tuple[CorrelationSpec, dict[str, Any], float, Getter]]:
        """Evaluate tumbling windows ending before ``until`` (default: each rule's watermark); prune old hits."""
        out = []
        for gkey in list(self.groups):
            st = self.groups.get(gkey)
            spec = self.specs.get(gkey[0])
            if st is None or spec is None:
                continue
            own = self.watermark_of(spec.id)
            limit = own if until is None else max(until, own)
            if spec.arrival:
                keep = [e for e in st.entries if e[0] >= limit - spec.timespan]
                if len(keep) != len(st.entries):
                    self.total -= len(st.entries) - len(keep)
                    st.entries = keep
                    if not keep:
                        del self.groups[gkey]
                continue
            while st.entries and st.entries[0][0] + spec.timespan <= limit:
                start = st.entries[0][0]
                window = [e for e in st.entries if e[0] <= start + spec.timespan]
                fired, value = self._evaluate(spec, window)
                if fired:
                    ev_last = st.samples[-1][1] if st.samples else {}

                    def getter(f: str, ev: dict[str, Any] = ev_last) -> Any:
                        return ev.get(f)

                    out.append(self._fire(spec, gkey, st, window, value, getter))
                    if gkey not in self.groups:
                        break
                else:
                    rest = st.entries[len(window):]
                    self.total -= len(window)
                    st.entries = rest
                    if not rest:
                        del self.groups[gkey]
                        break
        return out

    def _bound(self) -> None:
        while self.total > self.max_state and self.groups:
            _, st = self.groups.popitem(last=False)
            self.total -= len(st.entries)
            self.stats["evicted"] += len(st.entries)

    # -- persistence

    def save(self, path: Path) -> None:
        data = {
            "version": 1, "max_ts": self.max_ts if self.max_ts != float("-inf") else None,
            "max_ts_by": self.max_ts_by,
            "groups": [
                {"corr": k[0], "key": list(k[1]), "group": st.group, "entries": [list(e) for e in st.entries],
                 "samples": [[t, ev] for t, ev in st.samples]}
                for k, st in self.groups.items()
            ],
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(data, default=str), encoding="utf-8")
        os.replace(tmp, path)

    def load(self, path: Path) -> int:
        """Restore saved groups of known correlations; returns how many groups were restored."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return 0
        if not isinstance(data, dict) or data.get("version") != 1:
            raise ValueError(f"{path}: not a Sigma correlation state file (version 1)")
        if data.get("max_ts") is not None:
            self.max_ts = max(self.max_ts, float(data["max_ts"]))
        for sid, t in (data.get("max_ts_by") or {}).items():
            self.max_ts_by[sid] = max(self.max_ts_by.get(sid, float("-inf")), float(t))
        n = 0
        for g in data.get("groups", []):
            if g.get("corr") not in self.specs:
                continue
            st = _Group(group=g.get("group") or {})
            st.entries = [(float(e[0]), int(e[1]), tuple(e[2]) if isinstance(e[2], list) else e[2])
                          for e in g.get("entries", [])]
            st.samples.extend((float(t), ev) for t, ev in g.get("samples", []))
            self.groups[(g["corr"], tuple(g.get("key", [])))] = st
            self.total += len(st.entries)
            n += 1
        self._bound()
        return n


def group_entity(group: dict[str, Any]) -> dict[str, str] | None:
    """What a correlation alert is about: its group-by value (the attacking address, the user...).

    Repeats of the rule for the same group then de-duplicate into one alert, whatever the
    last contributing event's user or host was.
    """
    for name, value in group.items():
        if value is None or value == "":
            continue
        low = name.lower()
        kind = ("ip" if low.endswith("ip") or ".ip" in low or low.endswith("address")
                else "user" if "user" in low else "host" if "host" in low or "computer" in low else "value")
        text = ",".join(map(str, value)) if isinstance(value, tuple | list) else str(value)
        return {"type": kind, "value": text}
    return None


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v))
    except ValueError:
        return None


def _percentile(sorted_vals: list[float], p: int) -> float:
    if len(sorted_vals) == 1:
        return sorted_vals[0]
    k = (len(sorted_vals) - 1) * max(0, min(100, p)) / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (k - lo)
