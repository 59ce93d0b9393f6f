"""``POST /ingest/{source}``: HTTP bulk ingest through the main API port.

The same handler as an ``http`` source's own listener (NDJSON or plain lines,
the *source's* bearer token, 413/400/401 as documented in ``docs/transports.md``),
for sites that expose only the API port. The source must be configured with
``type = "http"`` and the ingest service must be running (``soc run``).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from connectors.sources.http_bulk import handle_bulk
from soc.api.deps import get_ctx
from soc.context import AppContext

router = APIRouter()


@router.post("/ingest/{source}", tags=["ingest"], response_class=JSONResponse)
async def ingest(source: str, request: Request, ctx: AppContext = Depends(get_ctx)) -> JSONResponse:
    cfg = next((s for s in ctx.settings.sources if s.name == source and s.type == "http" and s.enabled), None)
    if cfg is None:
        raise HTTPException(404, f"no enabled http source named {source!r}; add one to soc.toml "
                                 "([[sources]] type = \"http\")")
    if ctx.ingest is None:
        raise HTTPException(503, "the ingest service is not running in this process (start it with `soc run`)")
    return await handle_bulk(request, cfg, ctx.ingest.spool, ctx.ingest.sources.get(source))
