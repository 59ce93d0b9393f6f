"""From detector output to stored alerts: severity, suppression, de-duplication.

An alert dict (see ``detectors/base.py``) becomes an :class:`~soc.storage.models.Alert`
row. Repeats of the same rule on the same entity and agency within
``dedup_window`` do not make new rows: the open row's ``count`` and
``last_seen`` grow, and a few more sample events are kept, so a brute force of
10,000 lines is one alert with count 10,000, not 10,000 alerts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from soc import ecs
from soc.storage.models import Alert, Suppression
from soc.storage.schema import parse_ts

SEVERITY_ORDER = ("low", "medium", "high", "critical")
MAX_SAMPLE_EVENTS = 20


def severity_for(level: str, system_level: int | None) -> str:
    """Severity from the rule level, raised one step for a level 4-5 system (High/Medium/Low in VN practice)."""
    base = {"informational": 0, "low": 0, "medium": 1, "high": 2, "critical": 3}.get(level, 1)
    if system_level is not None and system_level >= 4:
        base = min(base + 1, 3)
    return SEVERITY_ORDER[base]


def tactics_of(tags: Iterable[str]) -> list[str]:
    known = {"reconnaissance", "resource_development", "initial_access", "execution", "persistence",
             "privilege_escalation", "defense_evasion", "credential_access", "discovery", "lateral_movement",
             "collection", "command_and_control", "exfiltration", "impact"}
    out = []
    for t in tags:
        t = str(t).lower().replace("-", "_")
        if t.startswith("attack.") and t[7:] in known and t[7:] not in out:
            out.append(t[7:])
    return out


def dedup_key(alert: dict[str, Any]) -> str:
    ent = alert.get("entity") or {}
    agency = ((alert.get("soc") or {}).get("agency") or {}).get("id") or "-"
    raw = f"{alert['rule'].get('id')}|{ent.get('type')}|{ent.get('value')}|{agency}"
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def _matches(cond: dict[str, Any], alert: dict[str, Any]) -> bool:
    events = alert.get("events") or [{}]
    for field, want in cond.items():
        wants = want if isinstance(want, list) else [want]
        wants = [str(w).lower() for w in wants]
        got = {str(ecs.get(e, field)).lower() for e in events if ecs.get(e, field) is not None}
        if field.startswith("entity."):
            got = {str((alert.get("entity") or {}).get(field[7:])).lower()}
        if not got & set(wants):
            return False
    return True


class AlertSink:
    """Persists alerts; also the place where suppressions apply (before anything is raised)."""

    def __init__(self, dedup_window: timedelta = timedelta(hours=1)) -> None:
        self.dedup_window = dedup_window
        self.suppressed = 0

    def suppression_for(self, s: Session, alert: dict[str, Any], now: datetime) -> Suppression | None:
        rid = str(alert["rule"].get("id"))
        rows = s.execute(select(Suppression).where(Suppression.enabled.is_(True),
                                                   Suppression.rule_id.in_([rid, "*"]))).scalars()
        for sup in rows:
            if sup.expires_at and sup.expires_at < now:
                continue
            if _matches(sup.conditions or {}, alert):
                return sup
        return None

    def persist(self, s: Session, alerts: Sequence[dict[str, Any]]) -> list[Alert]:
        """Store ``alerts``; returns rows created or updated (suppressed alerts are counted, not stored)."""
        now = datetime.now(UTC)
        out: list[Alert] = []
        for a in alerts:
            if self.suppression_for(s, a, now) is not None:
                self.suppressed += 1
                continue
            rule = a.get("rule") or {}
            ts = parse_ts(a.get("@timestamp")) or now
            soc = a.get("soc") or {}
            agency = (soc.get("agency") or {}).get("id")
            system = soc.get("system") or {}
            key = dedup_key(a)
            row = s.execute(
                select(Alert).where(Alert.dedup_key == key, Alert.status.in_(("open", "acknowledged")))
                .order_by(Alert.last_seen.desc()).limit(1)).scalar_one_or_none()
            if row is not None and abs(ts - row.last_seen) <= self.dedup_window:
                row.count += max(1, int(a.get("count", 1)))
                row.first_seen = min(row.first_seen, ts)
                row.last_seen = max(row.last_seen, ts)
                data = dict(row.data)
                evs = list(data.get("events") or [])
                room = MAX_SAMPLE_EVENTS - len(evs)
                if room > 0:
                    evs.extend((a.get("events") or [])[:room])
                    data["events"] = evs
                row.data = data
                out.append(row)
                continue
            ent = a.get("entity") or {}
            level = str(rule.get("level") or "medium")
            row = Alert(
                id=a["id"], ts=ts, kind=a.get("kind", "sigma"), rule_id=str(rule.get("id") or "unknown"),
                rule_name=str(rule.get("name") or rule.get("title") or "unnamed rule")[:255], level=level,
                severity=severity_for(level, system.get("level")), agency_id=agency, system_id=system.get("id"),
                system_level=system.get("level"), entity_type=ent.get("type"),
                entity_value=(str(ent["value"])[:255] if ent.get("value") is not None else None),
                count=max(1, int(a.get("count", 1))), first_seen=ts, last_seen=ts, dedup_key=key,
                tactics=tactics_of(rule.get("tags") or []), data=dict(a),
            )
            s.add(row)
            s.flush()
            out.append(row)
        return out


def alert_to_api(row: Alert, *, with_events: bool = True) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": row.id, "@timestamp": row.ts.isoformat(), "kind": row.kind, "status": row.status,
        "severity": row.severity, "count": row.count, "first_seen": row.first_seen.isoformat(),
        "last_seen": row.last_seen.isoformat(), "created_at": row.created_at.isoformat(),
        "rule": {"id": row.rule_id, "name": row.rule_name, "level": row.level,
                 "tags": (row.data.get("rule") or {}).get("tags", [])},
        "agency_id": row.agency_id, "system_id": row.system_id, "system_level": row.system_level,
        "entity": {"type": row.entity_type, "value": row.entity_value} if row.entity_value else None,
        "assignee": row.assignee, "verdict": row.verdict, "verdict_reason": row.verdict_reason,
        "incident_id": row.incident_id, "tactics": row.tactics,
    }
    if with_events:
        d["events"] = row.data.get("events", [])
        d["match"] = row.data.get("match", {})
        d["soc"] = row.data.get("soc")
    return d
