"""Threat-intelligence API: feeds, indicators (search, add by hand) and layer-4 sharing of an incident."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from detectors.indicators import normalise as norm
from detectors.indicators.store import IndicatorInput, IndicatorStore
from soc.api.deps import agency_scope, get_ctx, require_role
from soc.auth import Principal
from soc.context import AppContext
from soc.sharing import tlp as tlpmod
from soc.sharing.models import IntelFeed, ShareDelivery

router = APIRouter(tags=["intel"])


class IndicatorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: str = Field(min_length=1, max_length=4096)
    type: str | None = None
    feed: str = Field(default="manual", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    tlp: str = "green"
    days: int = Field(default=30, ge=1, le=3650)
    name: str | None = Field(default=None, max_length=255)
    level: str | None = Field(default=None, pattern=r"^(low|medium|high|critical)$")


@router.get("/intel/feeds")
def list_feeds(p: Principal = Depends(require_role("admin", "analyst", "auditor", "rule_author")),
               ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    store = IndicatorStore(ctx.state.session)
    counts = store.counts()
    with ctx.state.session() as s:
        rows = {r.name: r for r in s.execute(select(IntelFeed)).scalars()}
        feeds = []
        for name in sorted(set(rows) | set(counts)):
            r = rows.get(name)
            feeds.append({"name": name, "type": r.type if r else "manual", "indicators": counts.get(name, 0),
                          "last_pull_at": r.last_pull_at.isoformat() if r and r.last_pull_at else None,
                          "last_status": r.last_status if r else None, "last_error": r.last_error if r else None,
                          "rejected": r.rejected if r else 0, "detail": r.detail if r else {}})
    return {"feeds": feeds}


@router.get("/intel/indicators")
def search_indicators(feed: str | None = None, kind: str | None = None, q: str | None = Query(None, max_length=200),
                      limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0),
                      p: Principal = Depends(require_role("admin", "analyst", "auditor", "rule_author")),
                      ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    store = IndicatorStore(ctx.state.session)
    with ctx.state.session() as s:
        rows = store.search(s, feed=feed, kind=kind, q=q, limit=limit, offset=offset)
        items = [{"id": r.id, "feed": r.feed, "kind": r.kind, "value": r.value, "tlp": r.tlp, "name": r.name,
                  "stix_id": r.stix_id, "level": r.level, "confidence": r.confidence,
                  "valid_until": r.valid_until.isoformat() if r.valid_until else None,
                  "last_seen": r.last_seen.isoformat()} for r in rows
                 if p.role in ("admin", "analyst") or r.tlp != "red"]
    return {"indicators": items, "limit": limit, "offset": offset}


@router.post("/intel/indicators", status_code=status.HTTP_201_CREATED)
def add_indicator(body: IndicatorIn, p: Principal = Depends(require_role("admin", "analyst")),
                  ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    try:
        k, v = norm.normalise(body.type, body.value) if body.type else norm.guess(body.value)
        level_tlp = tlpmod.normalise(body.tlp)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    until = datetime.now(UTC) + timedelta(days=body.days)
    new, _, _ = IndicatorStore(ctx.state.session).upsert(body.feed, [IndicatorInput(
        kind=k, value=v, tlp=level_tlp, name=body.name, level=body.level, valid_until=until)])
    ctx.state.audit(p.name, "intel.add", f"{k}:{v}", feed=body.feed, tlp=level_tlp)
    return {"kind": k, "value": v, "feed": body.feed, "tlp": level_tlp, "valid_until": until.isoformat(),
            "created": bool(new)}


@router.post("/intel/feeds/{name}/pull")
def pull_feed_now(name: str, p: Principal = Depends(require_role("admin", "analyst")),
                  ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    from detectors.indicators.feeds import FeedError, feed_configs, pull_feed

    try:
        feeds = {f.name: f for f in feed_configs(ctx.settings.sharing.feeds)}
    except FeedError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    if name not in feeds:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no feed named {name!r}")
    res = pull_feed(IndicatorStore(ctx.state.session), feeds[name])
    ctx.state.audit(p.name, "intel.pull", name, status=res["status"], new=res["new"])
    return res


@router.get("/incidents/{incident_id}/sharing")
def incident_sharing(incident_id: int, p: Principal = Depends(require_role("admin", "analyst", "auditor", "agency")),
                     ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    """Layer-4 deliveries of an incident (the four-layer model's connection status)."""
    from soc.storage.models import Incident

    with ctx.state.session() as s:
        inc = s.get(Incident, incident_id)
        scope = agency_scope(p)
        if inc is None or (scope is not None and inc.agency_id != scope):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"incident {incident_id} not found")
        rows = s.execute(select(ShareDelivery).where(ShareDelivery.incident_id == incident_id)
                         .order_by(ShareDelivery.id)).scalars().all()
        return {"incident_id": incident_id, "deliveries": [
            {"destination": r.destination, "channel": r.channel, "status": r.status, "attempts": r.attempts,
             "bundle_id": r.bundle_id, "remote_status_id": r.remote_status_id, "last_error": r.last_error,
             "updated_at": r.updated_at.isoformat(), "detail": r.detail} for r in rows]}


@router.get("/incidents/{incident_id}/stix")
def incident_stix(incident_id: int, p: Principal = Depends(require_role("admin", "analyst")),
                  ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    """The incident's STIX 2.1 bundle as it would be shared (after data minimisation)."""
    from soc.sharing.stix_export import ExportError, export_incident

    try:
        with ctx.state.session() as s:
            return export_incident(s, incident_id, ctx.settings.sharing, ctx.inventory)
    except ExportError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None


class ShareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    destinations: list[str] | None = Field(default=None, max_length=20)
    """Only these destinations (default: every enabled one)."""


@router.post("/incidents/{incident_id}/share", status_code=status.HTTP_202_ACCEPTED)
def share_incident(incident_id: int, body: ShareIn | None = None,
                   p: Principal = Depends(require_role("admin", "analyst")),
                   ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    """Queue the incident for layer-4 delivery; the outbox worker sends it (with retries)."""
    from soc.sharing.destinations import DestinationError
    from soc.sharing.stix_export import ExportError
    from soc.sharing.taxii_push import queue_incident

    if not ctx.settings.sharing.enabled:
        raise HTTPException(status.HTTP_409_CONFLICT, "layer-4 sharing is disabled (sharing.enabled = false in "
                                                      "soc.toml)")
    try:
        with ctx.state.session() as s:
            queued = queue_incident(s, incident_id, ctx.settings, inventory=ctx.inventory,
                                    only=(body.destinations if body else None) or None)
            ctx.state.audit(p.name, "incident.share", str(incident_id), session=s,
                            destinations=[q["destination"] for q in queued])
    except ExportError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except DestinationError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return {"incident_id": incident_id, "queued": queued}
