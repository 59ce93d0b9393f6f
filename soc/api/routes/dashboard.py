"""Dashboard figures, saved views and event export for the console."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from statistics import mean
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from soc import ecs
from soc.api.deps import agency_scope, get_ctx, require_role
from soc.auth import Principal
from soc.context import AppContext
from soc.query import QueryError
from soc.storage.models import Alert, Incident, KeyValue

router = APIRouter(tags=["dashboard"])
SEVERITIES = ("low", "medium", "high", "critical")


def _parse(ts: Any) -> datetime | None:
    if not ts:
        return None
    try:
        d = datetime.fromisoformat(str(ts))
    except ValueError:
        return None
    return d if d.tzinfo else d.replace(tzinfo=UTC)


#: Figures are recomputed at most this often: every open dashboard (wall displays included) polls it, and
#: on a large state database each computation scans the period's alerts.
CACHE_SECONDS = 15.0
_cache: dict[tuple[int, int], tuple[float, dict[str, Any]]] = {}
_cache_lock = threading.Lock()


@router.get("/dashboard")
def dashboard(days: int = Query(7, ge=1, le=365), p: Principal = Depends(require_role("admin", "analyst", "auditor")),
              ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    """Alerts over time by severity, top rules, alerts per agency, MTTA/MTTR and four-layer compliance per agency.

    The same for every SOC role (none of them is confined to an agency), so one cached copy per period
    serves all callers for :data:`CACHE_SECONDS`; log source health is always live.
    """
    key = (id(ctx), days)
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return {**hit[1], "sources": source_health(ctx), "cached": True}
    out = _compute(ctx, days)
    with _cache_lock:
        _cache[key] = (time.monotonic(), out)
    return {**out, "sources": source_health(ctx), "cached": False}


def _compute(ctx: AppContext, days: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    start = now - timedelta(days=days)
    hourly = days <= 3
    buckets: dict[str, dict[str, int]] = defaultdict(dict)
    recent = Alert.last_seen >= start
    with ctx.state.session() as s:
        # Aggregated in the database: the dashboard must not pull every alert of the period into Python.
        if s.get_bind().dialect.name == "sqlite":
            # SQLite keeps UTC timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff': a prefix is the bucket (cheaper than strftime).
            bucket = func.substr(Alert.last_seen, 1, 13 if hourly else 10)
        else:
            bucket = func.to_char(func.date_trunc("hour" if hourly else "day", Alert.last_seen), "YYYY-MM-DD HH24")
        for key, severity, n in s.execute(select(bucket, Alert.severity, func.count()).where(recent)
                                          .group_by(bucket, Alert.severity)):
            k = str(key)
            buckets[f"{k[:10]}T{k[11:13] if hourly else '00'}:00:00+00:00"][severity] = int(n)
        n_col = func.count().label("n")
        top_rules = [{"rule": r, "count": int(n)} for r, n in s.execute(
            select(Alert.rule_name, n_col).where(recent).group_by(Alert.rule_name).order_by(n_col.desc()).limit(10))]
        per_agency_alerts = [{"agency": a or "unassigned", "count": int(n)} for a, n in s.execute(
            select(Alert.agency_id, n_col).where(recent).group_by(Alert.agency_id).order_by(n_col.desc()))]
        # Only the columns needed (the JSON of tactics and deadlines is not decoded).
        incidents = s.execute(select(Incident.agency_id, Incident.t0, Incident.resolved_at, Incident.serious,
                                     Incident.data).where(Incident.t0 >= start)).all()
        per_agency: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for agency_id, t0, resolved_at, serious, data in incidents:
            a = agency_id or "unassigned"
            data = data or {}
            ack = _parse((data.get("milestones") or {}).get("ack"))
            due = (data.get("sla_due") or {}).get("ack")
            per_agency[a]["incidents"].append(1)
            if ack:
                per_agency[a]["tta"].append((ack - t0).total_seconds())
            if resolved_at:
                per_agency[a]["ttr"].append((resolved_at - t0).total_seconds())
            if due:
                on_time = ack is not None and ack <= (_parse(due) or ack)
                per_agency[a]["ack_on_time"].append(1.0 if on_time else 0.0)
            if serious:
                l4 = (data.get("layer4") or {}).get("status")
                per_agency[a]["l4_reported"].append(1.0 if l4 in ("delivered", "sent", "accepted", "complete") else 0.0)
    compliance = {}
    for a, v in per_agency.items():
        compliance[a] = {
            "incidents": len(v["incidents"]),
            "mtta_seconds": mean(v["tta"]) if v["tta"] else None,
            "mttr_seconds": mean(v["ttr"]) if v["ttr"] else None,
            "layer1_ack_on_time": mean(v["ack_on_time"]) if v["ack_on_time"] else None,
            "layer4_reported": mean(v["l4_reported"]) if v["l4_reported"] else None,
        }
    return {
        "from": start.isoformat(), "to": now.isoformat(), "bucket": "hour" if hourly else "day",
        "alerts_over_time": _all_buckets(buckets, start, now, hourly),
        "top_rules": top_rules,
        "alerts_per_agency": per_agency_alerts,
        "agencies": compliance,
    }


def _all_buckets(buckets: dict[str, dict[str, int]], start: datetime, end: datetime,
                 hourly: bool) -> list[dict[str, Any]]:
    """Every hour (or day) of the period, empty ones included, so that the chart's time axis is true."""
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    t = start.replace(minute=0, second=0, microsecond=0)
    if not hourly:
        t = t.replace(hour=0)
    out = []
    while t <= end:
        key = t.strftime("%Y-%m-%dT%H:00:00+00:00")
        out.append({"t": key, "values": buckets.get(key, {})})
        t += step
    return out


def source_health(ctx: AppContext) -> list[dict[str, Any]]:
    """Per-source last seen, events/s and parse errors: live from the ingest service, else as last persisted.

    ``connectors.health`` keeps the figures: ``ctx.ingest.health()["sources"]`` in the
    process that ingests, ``load_health(state)`` (the ``kv`` row it persists) anywhere else.
    """
    from connectors.health import load_health

    per: dict[str, dict[str, Any]] = {}
    if ctx.ingest is not None:
        live = ctx.ingest.health()
        per = dict(live.get("sources") or {}) if isinstance(live, dict) else {}
    if not per:
        per = load_health(ctx.state)
    names = [s.name for s in ctx.settings.sources] + sorted(n for n in per if n not in
                                                            {s.name for s in ctx.settings.sources})
    out = []
    for name in names:
        d = per.get(name) or {}
        out.append({"name": name, "type": d.get("type", ""), "last_event": d.get("last_event"),
                    "last_received_at": d.get("last_received_at"), "events_per_s": d.get("events_per_s", 0.0),
                    "received": d.get("received", 0), "dead": d.get("dead", 0),
                    "parse_error_rate": d.get("parse_error_rate", 0.0), "clock_skew_s": d.get("clock_skew_s"),
                    "silent": bool(d.get("silent_alerted"))})
    return out


class ViewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    filters: dict[str, str] = {}


def _views_key(p: Principal, page: str) -> str:
    return f"views:{p.name}:{page}"


@router.get("/views/{page}")
def list_views(page: Literal["triage", "incidents", "search"], p: Principal = Depends(require_role(
        "admin", "analyst", "auditor", "rule_author", "agency")), ctx: AppContext = Depends(get_ctx)) -> list[Any]:
    with ctx.state.session() as s:
        row = s.get(KeyValue, _views_key(p, page))
        return list((row.value if row else {}).get("views", []))


@router.post("/views/{page}", status_code=201)
def save_view(page: Literal["triage", "incidents", "search"], body: ViewIn,
              p: Principal = Depends(require_role("admin", "analyst", "auditor", "rule_author", "agency")),
              ctx: AppContext = Depends(get_ctx)) -> list[Any]:
    with ctx.state.session() as s:
        row = s.get(KeyValue, _views_key(p, page))
        views = [v for v in (row.value if row else {}).get("views", []) if v["name"] != body.name]
        views.append(body.model_dump())
        if len(views) > 50:
            raise HTTPException(422, "at most 50 saved views per page; delete some first")
        if row is None:
            s.add(KeyValue(key=_views_key(p, page), value={"views": views}))
        else:
            row.value = {"views": views}
        return views


@router.delete("/views/{page}/{name}")
def delete_view(page: Literal["triage", "incidents", "search"], name: str,
                p: Principal = Depends(require_role("admin", "analyst", "auditor", "rule_author", "agency")),
                ctx: AppContext = Depends(get_ctx)) -> list[Any]:
    with ctx.state.session() as s:
        row = s.get(KeyValue, _views_key(p, page))
        views = [v for v in (row.value if row else {}).get("views", []) if v["name"] != name]
        if row is not None:
            row.value = {"views": views}
        return views


#: First characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

EXPORT_COLUMNS = ("@timestamp", "event.dataset", "event.action", "event.outcome", "source.ip", "source.port",
                  "destination.ip", "destination.port", "user.name", "host.name", "url.original",
                  "soc.agency.id", "soc.system.id", "message", "event.original")


@router.get("/events/export")
def export_events(q: str = Query("", max_length=4000), start: datetime | None = Query(None, alias="from"),
                  end: datetime | None = Query(None, alias="to"), format: Literal["csv", "json"] = "csv",
                  limit: int = Query(10_000, ge=1, le=100_000),
                  p: Principal = Depends(require_role("admin", "analyst", "auditor", "rule_author", "agency")),
                  ctx: AppContext = Depends(get_ctx)) -> StreamingResponse:
    """Matching events as CSV (main ECS columns) or JSON lines (whole events), newest first."""
    end = end or datetime.now(UTC) + timedelta(minutes=1)
    start = start or end - timedelta(days=7)
    scope = agency_scope(p)
    if scope is not None:
        q = f'soc.agency.id:"{scope}"' + (f" AND ({q})" if q.strip() else "")
    try:
        res = ctx.events.search(q, start, end, limit=limit)
    except QueryError as exc:
        raise HTTPException(400, f"bad query: {exc}") from None
    ctx.state.audit(p.name, "events.export", None, query=q, format=format, count=len(res.events))

    def rows() -> Iterator[str]:
        if format == "json":
            for ev in res.events:
                yield json.dumps(ev, ensure_ascii=False, default=str) + "\n"
            return
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(EXPORT_COLUMNS)
        for ev in res.events:
            # Neutralise spreadsheet formulas in exported values (CSV injection).
            vals = [str(ecs.get(ev, c) if ecs.get(ev, c) is not None else "") for c in EXPORT_COLUMNS]
            w.writerow(["'" + v if v[:1] in FORMULA_START else v for v in vals])
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
        yield buf.getvalue()

    media = "application/x-ndjson" if format == "json" else "text/csv; charset=utf-8"
    return StreamingResponse(rows(), media_type=media,
                             headers={"Content-Disposition": f'attachment; filename="events.{format}"'})
