"""Incident states, allowed transitions, SLA timers and the timeline helper."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soc.incidents.models import TimelineEntry
from soc.storage.models import Incident

STATES = ("new", "triage", "investigating", "contained", "resolved", "closed", "false_positive")
OPEN_STATES = ("new", "triage", "investigating", "contained")
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"triage", "investigating", "false_positive"}),
    "triage": frozenset({"investigating", "contained", "resolved", "false_positive"}),
    "investigating": frozenset({"contained", "resolved", "false_positive"}),
    "contained": frozenset({"investigating", "resolved"}),
    "resolved": frozenset({"closed", "investigating"}),
    "closed": frozenset({"investigating"}),
    "false_positive": frozenset({"triage", "closed"}),
}
#: Which state first reached marks which SLA milestone as achieved.
MILESTONE_OF_STATE = {"triage": "triage", "investigating": "triage", "contained": "contain",
                      "resolved": "resolve", "false_positive": "resolve", "closed": "resolve"}
SEVERITY_VI = {"low": "Thấp", "medium": "Trung bình", "high": "Cao", "critical": "Rất cao"}
STATUS_VI = {"new": "Mới", "triage": "Đang phân loại", "investigating": "Đang điều tra", "contained": "Đã ngăn chặn",
             "resolved": "Đã xử lý", "closed": "Đã đóng", "false_positive": "Cảnh báo sai"}


class TransitionError(Exception):
    """A state change that the lifecycle does not allow; the message says what is allowed."""


def check_transition(current: str, target: str) -> None:
    if target not in STATES:
        raise TransitionError(f"unknown status {target!r}; expected one of: {', '.join(STATES)}")
    if target == current:
        raise TransitionError(f"incident is already {current!r}")
    allowed = TRANSITIONS[current]
    if target not in allowed:
        raise TransitionError(f"cannot go from {current!r} to {target!r}; allowed: {', '.join(sorted(allowed))}")


def add_timeline(s: Session, incident_id: int, actor: str, kind: str, now: datetime | None = None,
                 **detail: Any) -> TimelineEntry:
    entry = TimelineEntry(incident_id=incident_id, actor=actor, kind=kind, detail=detail)
    if now is not None:
        entry.ts = now
    s.add(entry)
    return entry


def met_times(s: Session, incident_id: int, kinds: set[str]) -> dict[str, datetime]:
    """Earliest time each of ``kinds`` occurred on the timeline (what deadlines' ``satisfied_by`` name)."""
    if not kinds:
        return {}
    q = (select(TimelineEntry.kind, func.min(TimelineEntry.ts))
         .where(TimelineEntry.incident_id == incident_id, TimelineEntry.kind.in_(sorted(kinds)))
         .group_by(TimelineEntry.kind))
    return {kind: ts for kind, ts in s.execute(q)}


def sla_due(t0: datetime, minutes: dict[str, int]) -> dict[str, str]:
    return {k: (t0 + timedelta(minutes=m)).isoformat() for k, m in minutes.items()}


def sla_view(inc: Incident, now: datetime) -> dict[str, dict[str, Any]]:
    """Per milestone: due time, when achieved, seconds remaining (negative once overdue), breached flag."""
    due = (inc.data or {}).get("sla_due") or {}
    done = (inc.data or {}).get("milestones") or {}
    out = {}
    for name, due_s in due.items():
        d = datetime.fromisoformat(due_s)
        achieved = done.get(name)
        a = datetime.fromisoformat(achieved) if achieved else None
        out[name] = {"due": due_s, "achieved_at": achieved,
                     "remaining_seconds": None if a else int((d - now).total_seconds()),
                     "breached": (a > d) if a else now > d}
    return out
