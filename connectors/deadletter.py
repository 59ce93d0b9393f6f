"""Dead letters: records the pipeline could not parse, kept byte for byte with the reason.

:func:`list_dead` filters them (source, reason text, time range); :func:`replay`
runs the raw bytes through the *current* parser (after a parser fix or a
config change of the source's format) and, for those that now parse, stores
the events and marks the dead letter ``replayed_at``. Those that still fail
keep their row, with the new reason. Counts reconcile: selected = replayed + still dead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from connectors.record import Record
from soc.storage.models import DeadLetter
from soc.storage.state import State

PREVIEW = 300


@dataclass
class ReplaySummary:
    selected: int = 0
    replayed: int = 0
    still_dead: int = 0
    events: int = 0
    alerts: int = 0
    per_source: dict[str, dict[str, int]] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    """Reasons of the records that still fail, with counts."""

    @property
    def reconciles(self) -> bool:
        return self.selected == self.replayed + self.still_dead


def to_dict(d: DeadLetter, *, raw: bool = False) -> dict[str, Any]:
    text = d.raw.decode("utf-8", "replace")
    out: dict[str, Any] = {"id": d.id, "received_at": d.received_at.isoformat() if d.received_at else None,
                           "source": d.source, "format": d.format, "reason": d.reason, "size": len(d.raw),
                           "preview": text[:PREVIEW], "replayed_at": d.replayed_at.isoformat() if d.replayed_at else None}
    if raw:
        out["raw"] = text
    return out


def _query(source: str | None, reason: str | None, since: datetime | None, until: datetime | None,
           ids: Sequence[int] | None, include_replayed: bool) -> Any:
    q = select(DeadLetter)
    if not include_replayed:
        q = q.where(DeadLetter.replayed_at.is_(None))
    if source:
        q = q.where(DeadLetter.source == source)
    if reason:
        q = q.where(DeadLetter.reason.contains(reason))
    if since:
        q = q.where(DeadLetter.received_at >= since)
    if until:
        q = q.where(DeadLetter.received_at < until)
    if ids:
        q = q.where(DeadLetter.id.in_(list(ids)))
    return q


def list_dead(state: State, *, source: str | None = None, reason: str | None = None,
              since: datetime | None = None, until: datetime | None = None, limit: int = 50, offset: int = 0,
              include_replayed: bool = False) -> tuple[int, list[dict[str, Any]]]:
    """``(total matching, newest first page)``."""
    q = _query(source, reason, since, until, None, include_replayed)
    with state.session() as s:
        total = s.execute(select(func.count()).select_from(q.subquery())).scalar_one()
        rows = s.execute(q.order_by(DeadLetter.id.desc()).limit(limit).offset(offset)).scalars().all()
        return int(total), [to_dict(r) for r in rows]


def counts_by_source(state: State) -> dict[str, int]:
    """Dead letters not yet replayed, per source."""
    with state.session() as s:
        rows = s.execute(select(DeadLetter.source, func.count()).where(DeadLetter.replayed_at.is_(None))
                         .group_by(DeadLetter.source)).all()
    return {str(src): int(n) for src, n in rows}


def replay(state: State, pipeline: Any, *, source: str | None = None, ids: Sequence[int] | None = None,
           reason: str | None = None, tz: dict[str, str] | None = None, formats: dict[str, str] | None = None,
           batch: int = 500, limit: int | None = None) -> ReplaySummary:
    """Re-parse the selected dead letters with the current parsers; store what now parses.

    ``tz``/``formats`` map source names to their configured zone and format (a source
    whose format was corrected in the config is replayed with the new one).
    """
    tz = tz or {}
    formats = formats or {}
    summary = ReplaySummary()
    last_id = 0
    while True:
        with state.session() as s:
            q = _query(source, reason, None, None, ids, False).where(DeadLetter.id > last_id)
            rows = s.execute(q.order_by(DeadLetter.id).limit(batch)).scalars().all()
        if limit is not None:
            rows = rows[:max(0, limit - summary.selected)]
        if not rows:
            break
        last_id = rows[-1].id
        good: list[Record] = []
        good_ids: list[int] = []
        failed: dict[int, str] = {}
        for d in rows:
            fmt = formats.get(d.source, d.format)
            received = (d.received_at or datetime.now(UTC)).timestamp()
            rec = Record(d.source, fmt, d.raw.decode("utf-8", "surrogateescape"), received, None, tz.get(d.source))
            _, why = pipeline.parse(rec)
            per = summary.per_source.setdefault(d.source, {"selected": 0, "replayed": 0, "still_dead": 0})
            per["selected"] += 1
            summary.selected += 1
            if why is None:
                good.append(rec)
                good_ids.append(d.id)
                per["replayed"] += 1
            else:
                failed[d.id] = why
                per["still_dead"] += 1
                summary.reasons[why[:120]] = summary.reasons.get(why[:120], 0) + 1
        if good:
            res = pipeline.process(good)
            summary.events += res.events
            summary.alerts += res.alerts
        now = datetime.now(UTC)
        with state.session() as s:
            for d in s.execute(select(DeadLetter).where(DeadLetter.id.in_([r.id for r in rows]))).scalars():
                if d.id in failed:
                    d.reason = failed[d.id][:2000]
                else:
                    d.replayed_at = now
        summary.replayed += len(good)
        summary.still_dead += len(failed)
        if limit is not None and summary.selected >= limit:
            break
    return summary
