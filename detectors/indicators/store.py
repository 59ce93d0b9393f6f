"""Durable indicator store (table ``intel_indicators``) and the in-memory index built from it.

Feeds write here (bulk upsert keyed by feed + kind + value, so a re-pull refreshes ``last_seen`` and
validity instead of adding rows); the matcher reads an :class:`~detectors.indicators.index.IndicatorIndex`
built from the rows valid now. Expired rows are purged by :meth:`IndicatorStore.purge_expired`.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from detectors.indicators import normalise as norm
from detectors.indicators.index import Indicator, IndicatorIndex
from soc.sharing.models import IntelFeed, IntelIndicator


@dataclass
class IndicatorInput:
    """One indicator as a feed delivers it (value not yet normalised)."""

    kind: str
    value: str
    tlp: str = "green"
    stix_id: str | None = None
    name: str | None = None
    level: str | None = None
    confidence: int | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None


def row_key(feed: str, kind: str, value: str) -> str:
    return hashlib.sha1(f"{feed}|{kind}|{value}".encode(), usedforsecurity=False).hexdigest()


def _epoch(dt: datetime | None) -> float | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


class IndicatorStore:
    """Indicators in the state database. ``sessionmaker``: a callable returning a SQLAlchemy session
    context manager (``State.session``)."""

    def __init__(self, session_factory: Any) -> None:
        self.session = session_factory

    def upsert(self, feed: str, items: Iterable[IndicatorInput], *, now: datetime | None = None,
               batch: int = 5000) -> tuple[int, int, list[tuple[str, str]]]:
        """Insert or refresh indicators of ``feed``. Returns ``(new, updated, rejected[(value, reason)])``."""
        now = now or datetime.now(UTC)
        new = updated = 0
        rejected: list[tuple[str, str]] = []
        buf: dict[str, dict[str, Any]] = {}

        def flush() -> None:
            nonlocal new, updated
            if not buf:
                return
            with self.session() as s:
                existing = set(s.execute(select(IntelIndicator.key).where(IntelIndicator.key.in_(list(buf))))
                               .scalars())
                rows_new = [v for k, v in buf.items() if k not in existing]
                if rows_new:
                    s.execute(insert(IntelIndicator), rows_new)
                if existing:
                    t = cast(Table, IntelIndicator.__table__)
                    cols = ("tlp", "stix_id", "name", "level", "confidence", "valid_from", "valid_until")
                    stmt = update(t).where(t.c.key == bindparam("b_key")).values(
                        {c: bindparam(f"b_{c}") for c in (*cols, "last_seen")})
                    s.execute(stmt, [{"b_key": k, "b_last_seen": now, **{f"b_{c}": buf[k][c] for c in cols}}
                                     for k in existing])
                new += len(rows_new)
                updated += len(existing)
            buf.clear()

        for it in items:
            try:
                kind, value = norm.normalise(it.kind, it.value)
            except ValueError as exc:
                rejected.append((it.value, str(exc)))
                continue
            k = row_key(feed, kind, value)
            buf[k] = {"key": k, "feed": feed, "kind": kind, "value": value, "stix_id": it.stix_id,
                      "name": (it.name or None) and it.name[:255], "tlp": it.tlp, "level": it.level,
                      "confidence": it.confidence, "valid_from": it.valid_from, "valid_until": it.valid_until,
                      "first_seen": now, "last_seen": now}
            if len(buf) >= batch:
                flush()
        flush()
        return new, updated, rejected

    def iter_valid(self, now: datetime | None = None, chunk: int = 50_000) -> Iterator[Indicator]:
        now = now or datetime.now(UTC)
        with self.session() as s:
            q = (select(IntelIndicator.kind, IntelIndicator.value, IntelIndicator.feed, IntelIndicator.tlp,
                        IntelIndicator.stix_id, IntelIndicator.name, IntelIndicator.valid_from,
                        IntelIndicator.valid_until, IntelIndicator.level, IntelIndicator.confidence)
                 .where(or_(IntelIndicator.valid_until.is_(None), IntelIndicator.valid_until > now))
                 .execution_options(yield_per=chunk))
            for r in s.execute(q):
                yield Indicator(r[0], r[1], r[2], r[3], r[4], r[5], _epoch(r[6]), _epoch(r[7]), r[8], r[9])

    def build_index(self, now: datetime | None = None) -> IndicatorIndex:
        ix = IndicatorIndex()
        # Millions of small tuples make the cyclic GC rescan the heap again and again; none of them can
        # form a cycle, so collection is paused while loading.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            for ind in self.iter_valid(now):
                ix.add(ind)
        finally:
            if was_enabled:
                gc.enable()
        return ix.freeze()

    def purge_expired(self, now: datetime | None = None) -> int:
        now = now or datetime.now(UTC)
        with self.session() as s:
            return int(s.execute(delete(IntelIndicator).where(IntelIndicator.valid_until <= now)).rowcount or 0)

    def remove(self, feed: str, kind: str, value: str) -> bool:
        k, v = norm.normalise(kind, value)
        with self.session() as s:
            return bool(s.execute(delete(IntelIndicator).where(IntelIndicator.key == row_key(feed, k, v))).rowcount)

    def counts(self) -> dict[str, int]:
        with self.session() as s:
            return {f: n for f, n in s.execute(select(IntelIndicator.feed, func.count()).group_by(
                IntelIndicator.feed))}

    def search(self, s: Session, *, feed: str | None = None, kind: str | None = None, q: str | None = None,
               limit: int = 100, offset: int = 0) -> list[IntelIndicator]:
        stmt = select(IntelIndicator)
        if feed:
            stmt = stmt.where(IntelIndicator.feed == feed)
        if kind:
            stmt = stmt.where(IntelIndicator.kind == kind)
        if q:
            stmt = stmt.where(IntelIndicator.value.contains(q.lower()))
        return list(s.execute(stmt.order_by(IntelIndicator.id.desc()).limit(limit).offset(offset)).scalars())

    def feed_state(self, s: Session, name: str, type_: str) -> IntelFeed:
        row = s.get(IntelFeed, name)
        if row is None:
            row = IntelFeed(name=name, type=type_, last_status="never", indicators=0, rejected=0, detail={})
            s.add(row)
            s.flush()
        return row
