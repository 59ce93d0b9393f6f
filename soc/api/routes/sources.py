"""Source health and dead letters, for the console and monitoring."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query

from connectors.deadletter import counts_by_source, list_dead
from connectors.health import load_health
from soc.api.deps import get_ctx, require_role
from soc.auth import Principal
from soc.context import AppContext

router = APIRouter()

READERS = ("admin", "analyst", "auditor")


@router.get("/sources", tags=["sources"])
def sources(ctx: AppContext = Depends(get_ctx), _: Principal = Depends(require_role(*READERS))) -> dict[str, Any]:
    """Per-source health: live from the running ingest service, else as last persisted."""
    configured = {s.name: s for s in ctx.settings.sources}
    if ctx.ingest is not None:
        live = ctx.ingest.health()
        per, spool, consumer = live["sources"], live.get("spool"), live.get("consumer")
    else:
        per, spool, consumer = load_health(ctx.state), None, None
    dead = counts_by_source(ctx.state)
    out = []
    for name in list(configured) + [n for n in per if n not in configured]:
        d = dict(per.get(name) or {"name": name})
        cfg = configured.get(name)
        d.update(name=name, configured=cfg is not None, enabled=bool(cfg and cfg.enabled),
                 type=cfg.type if cfg else d.get("type", ""), format=cfg.format if cfg else d.get("format"),
                 dead_letters_pending=dead.get(name, 0))
        out.append(d)
    return {"sources": out, "spool": spool, "consumer": consumer}


@router.get("/deadletters", tags=["sources"])
def deadletters(
    source: str | None = Query(None, max_length=64),
    reason: str | None = Query(None, max_length=200, description="Reason contains this text"),
    start: datetime | None = Query(None, alias="from"),
    end: datetime | None = Query(None, alias="to"),
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    replayed: bool = Query(False, description="Include dead letters already replayed"),
    ctx: AppContext = Depends(get_ctx),
    _: Principal = Depends(require_role(*READERS)),
) -> dict[str, Any]:
    total, rows = list_dead(ctx.state, source=source, reason=reason, since=start, until=end, limit=limit,
                            offset=offset, include_replayed=replayed)
    return {"total": total, "items": rows}
