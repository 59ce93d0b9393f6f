"""Core routes: health, the caller, event search, alerts, suppressions and the audit log."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, or_, select

from soc.alerts import alert_to_api
from soc.api.deps import READ_ALERTS, WRITE_ALERTS, agency_scope, current_user, get_ctx, require_role
from soc.auth import Principal
from soc.context import AppContext
from soc.query import QueryError
from soc.storage.models import Alert, AuditEntry, Suppression
from soc.storage.state import verify_audit

router = APIRouter()

ALERT_STATUSES = ("open", "acknowledged", "closed", "false_positive")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


@router.get("/health", tags=["system"])
def health(ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    """Liveness and a few counters; no authentication so that monitors can poll it."""
    with ctx.state.session() as s:
        alerts = s.execute(select(func.count()).select_from(Alert)).scalar_one()
    return {"status": "ok", "time": datetime.now(UTC).isoformat(), "alerts": alerts,
            "events_backend": ctx.settings.storage.events_backend}


@router.get("/me", tags=["system"])
def me(p: Principal = Depends(current_user)) -> dict[str, Any]:
    return {"name": p.name, "role": p.role, "agency_id": p.agency_id, "via": p.via, "language": p.language,
            "csrf_token": p.csrf}


def _time_range(start: datetime | None, end: datetime | None, default_hours: int = 24) -> tuple[datetime, datetime]:
    end = end or datetime.now(UTC) + timedelta(minutes=1)
    start = start or end - timedelta(hours=default_hours)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    if start >= end:
        raise HTTPException(422, "'from' must be before 'to'")
    return start, end


@router.get("/events", tags=["events"])
def search_events(
    q: str = Query("", max_length=4000, description="Search query: field:value, wildcards, CIDR, AND/OR/NOT"),
    start: datetime | None = Query(None, alias="from"),
    end: datetime | None = Query(None, alias="to"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=100_000),
    sort: Literal["asc", "desc"] = "desc",
    histogram: bool = False,
    p: Principal = Depends(require_role("admin", "analyst", "auditor", "rule_author", "agency")),
    ctx: AppContext = Depends(get_ctx),
) -> dict[str, Any]:
    """Search stored events. Agency officers only ever see their own agency's events."""
    start, end = _time_range(start, end, default_hours=24 * 7)
    scope = agency_scope(p)
    if scope is not None:
        q = f'soc.agency.id:"{scope}"' + (f" AND ({q})" if q.strip() else "")
    try:
        kwargs: dict[str, Any] = {"histogram": histogram} if histogram else {}
        res = ctx.events.search(q, start, end, limit=limit, offset=offset, sort=sort, **kwargs)
    except QueryError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"bad query: {exc}") from None
    return {"total": res.total, "took_ms": round(res.took_ms, 1), "events": res.events,
            "histogram": res.histogram, "from": start.isoformat(), "to": end.isoformat()}


@router.get("/events/fields/{field}/top", tags=["events"])
def top_values(field: str, q: str = "", start: datetime | None = Query(None, alias="from"),
               end: datetime | None = Query(None, alias="to"), n: int = Query(10, ge=1, le=100),
               p: Principal = Depends(require_role("admin", "analyst", "auditor", "rule_author", "agency")),
               ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    start, end = _time_range(start, end, default_hours=24 * 7)
    scope = agency_scope(p)
    if scope is not None:
        q = f'soc.agency.id:"{scope}"' + (f" AND ({q})" if q.strip() else "")
    top = getattr(ctx.events, "top_values", None)
    if top is None:
        raise HTTPException(status.HTTP_501_NOT_IMPLEMENTED, "top values not supported by this event store")
    try:
        return {"field": field, "values": [{"value": v, "count": c} for v, c in top(field, q, start, end, n)]}
    except QueryError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"bad query: {exc}") from None


@router.get("/alerts", tags=["alerts"])
def list_alerts(
    status_: str | None = Query(None, alias="status"),
    severity: str | None = None,
    agency: str | None = None,
    rule: str | None = None,
    kind: str | None = None,
    assignee: str | None = None,
    incident_id: int | None = None,
    start: datetime | None = Query(None, alias="from"),
    end: datetime | None = Query(None, alias="to"),
    sort: Literal["ts", "-ts", "severity", "-severity", "count", "-count", "last_seen", "-last_seen"] = "-last_seen",
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
    p: Principal = Depends(require_role(*READ_ALERTS)),
    ctx: AppContext = Depends(get_ctx),
) -> dict[str, Any]:
    stmt = select(Alert)
    scope = agency_scope(p)
    if scope is not None:
        stmt = stmt.where(Alert.agency_id == scope)
    elif agency == "unassigned":
        stmt = stmt.where(Alert.agency_id.is_(None))
    elif agency:
        stmt = stmt.where(Alert.agency_id == agency)
    for col, val in ((Alert.status, status_), (Alert.severity, severity), (Alert.kind, kind),
                     (Alert.assignee, assignee), (Alert.incident_id, incident_id)):
        if val is not None:
            stmt = stmt.where(col.in_(str(val).split(",")) if isinstance(val, str) else col == val)
    if rule:
        stmt = stmt.where(or_(Alert.rule_id == rule, Alert.rule_name.ilike(f"%{rule}%")))
    if start:
        stmt = stmt.where(Alert.last_seen >= start)
    if end:
        stmt = stmt.where(Alert.ts < end)
    sev_rank = func.instr("lowmediumhighcritical", Alert.severity)
    order = {"ts": Alert.ts, "severity": sev_rank, "count": Alert.count, "last_seen": Alert.last_seen}[sort.lstrip("-")]
    stmt_sorted = stmt.order_by(order.desc() if sort.startswith("-") else order.asc(), Alert.id)
    with ctx.state.session() as s:
        total = s.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        rows = s.execute(stmt_sorted.limit(limit).offset(offset)).scalars().all()
        items = [alert_to_api(r, with_events=False) for r in rows]
    return {"total": total, "items": items, "limit": limit, "offset": offset}


def _get_alert(s: Any, alert_id: str, p: Principal) -> Alert:
    row = s.get(Alert, alert_id)
    if row is None or not p.can_see_agency(row.agency_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"alert {alert_id} not found")
    return row


@router.get("/alerts/{alert_id}", tags=["alerts"])
def get_alert(alert_id: str, p: Principal = Depends(require_role(*READ_ALERTS)),
              ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    with ctx.state.session() as s:
        return alert_to_api(_get_alert(s, alert_id, p))


class AlertUpdate(_Strict):
    status: Literal["open", "acknowledged", "closed", "false_positive"] | None = None
    assignee: str | None = Field(None, max_length=64)
    verdict: Literal["true_positive", "false_positive", "benign", "undetermined"] | None = None
    reason: str | None = Field(None, max_length=4000)
    incident_id: int | None = None


def apply_alert_update(s: Any, row: Alert, body: AlertUpdate, p: Principal, ctx: AppContext) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if body.status is not None and body.status != row.status:
        if body.status == "false_positive" and not (body.reason or "").strip():
            raise HTTPException(422,
                                "closing an alert as false positive needs a 'reason'")
        changes["status"] = (row.status, body.status)
        row.status = body.status
        if body.status == "false_positive":
            row.verdict = row.verdict or "false_positive"
    if body.assignee is not None and body.assignee != row.assignee:
        changes["assignee"] = (row.assignee, body.assignee or None)
        row.assignee = body.assignee or None
    if body.verdict is not None and body.verdict != row.verdict:
        changes["verdict"] = (row.verdict, body.verdict)
        row.verdict = body.verdict
    if body.reason is not None:
        row.verdict_reason = body.reason
    if body.incident_id is not None and body.incident_id != row.incident_id:
        from soc.storage.models import Incident

        inc = s.get(Incident, body.incident_id)
        if inc is None or not p.can_see_agency(inc.agency_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"incident {body.incident_id} not found")
        changes["incident_id"] = (row.incident_id, body.incident_id)
        row.incident_id = body.incident_id
    if changes:
        ctx.state.audit(p.name, "alert.update", f"alert:{row.id}", session=s, changes=changes, reason=body.reason)
        if row.kind == "anomaly" and row.verdict in ("false_positive", "benign") and (
                "verdict" in changes or "status" in changes):
            # Confirmed-benign behaviour is left out of the next training and similar alerts are suppressed.
            from detectors.anomaly import record_benign

            try:
                record_benign(ctx.settings.data_dir, [row.data], by=p.name, note=body.reason or "")
            except (ValueError, KeyError, TypeError) as exc:  # the verdict itself is kept either way
                logging.getLogger("soc.api").warning("anomaly feedback not recorded for %s: %s", row.id, exc)
    return changes


@router.patch("/alerts/{alert_id}", tags=["alerts"])
def update_alert(alert_id: str, body: AlertUpdate, p: Principal = Depends(require_role(*WRITE_ALERTS)),
                 ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    with ctx.state.session() as s:
        row = _get_alert(s, alert_id, p)
        apply_alert_update(s, row, body, p, ctx)
        s.flush()
        return alert_to_api(row)


class BulkUpdate(AlertUpdate):
    ids: list[str] = Field(min_length=1, max_length=1000)


@router.post("/alerts/bulk", tags=["alerts"])
def bulk_update(body: BulkUpdate, p: Principal = Depends(require_role(*WRITE_ALERTS)),
                ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    updated = 0
    with ctx.state.session() as s:
        for aid in body.ids:
            row = _get_alert(s, aid, p)
            if apply_alert_update(s, row, AlertUpdate(**body.model_dump(exclude={"ids"})), p, ctx):
                updated += 1
    return {"updated": updated}


class SuppressionIn(_Strict):
    rule_id: str = Field("*", max_length=64)
    conditions: dict[str, str | int | list[str | int]] = {}
    reason: str = Field(min_length=3, max_length=2000)
    expires_at: datetime | None = None


@router.get("/suppressions", tags=["rules"])
def list_suppressions(p: Principal = Depends(require_role("admin", "rule_author", "analyst", "auditor")),
                      ctx: AppContext = Depends(get_ctx)) -> list[dict[str, Any]]:
    with ctx.state.session() as s:
        return [{"id": r.id, "rule_id": r.rule_id, "conditions": r.conditions, "owner": r.owner, "reason": r.reason,
                 "expires_at": r.expires_at.isoformat() if r.expires_at else None, "enabled": r.enabled,
                 "created_at": r.created_at.isoformat()}
                for r in s.execute(select(Suppression).order_by(Suppression.id)).scalars()]


@router.post("/suppressions", status_code=201, tags=["rules"])
def add_suppression(body: SuppressionIn, p: Principal = Depends(require_role("admin", "rule_author", "analyst")),
                    ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    if body.rule_id == "*" and not body.conditions:
        raise HTTPException(422,
                            "a global suppression ('*') needs at least one condition, or it would hide every alert")
    with ctx.state.session() as s:
        row = Suppression(rule_id=body.rule_id, conditions=body.conditions, owner=p.name, reason=body.reason,
                          expires_at=body.expires_at)
        s.add(row)
        s.flush()
        ctx.state.audit(p.name, "suppression.add", f"suppression:{row.id}", session=s, rule_id=body.rule_id,
                        conditions=body.conditions, reason=body.reason,
                        expires_at=body.expires_at.isoformat() if body.expires_at else None)
        return {"id": row.id}


@router.delete("/suppressions/{sid}", tags=["rules"])
def disable_suppression(sid: int, p: Principal = Depends(require_role("admin", "rule_author", "analyst")),
                        ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    with ctx.state.session() as s:
        row = s.get(Suppression, sid)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"suppression {sid} not found")
        row.enabled = False
        ctx.state.audit(p.name, "suppression.disable", f"suppression:{sid}", session=s)
    return {"id": sid, "enabled": False}


@router.get("/audit", tags=["system"])
def audit_log(limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0),
              actor: str | None = None, action: str | None = None,
              p: Principal = Depends(require_role("admin", "auditor")),
              ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    stmt = select(AuditEntry)
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if action:
        stmt = stmt.where(AuditEntry.action.like(f"{action}%"))
    with ctx.state.session() as s:
        total = s.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        rows = s.execute(stmt.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)).scalars().all()
        ok, bad = verify_audit(s)
        return {"total": total, "chain_valid": ok, "first_bad_id": bad,
                "items": [{"id": r.id, "ts": r.ts.isoformat(), "actor": r.actor, "action": r.action,
                           "target": r.target, "detail": r.detail, "hash": r.hash} for r in rows]}
