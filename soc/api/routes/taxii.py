"""Our own TAXII 2.1 server (read-only): agencies and the national centre pull what they may see.

Endpoints (media type ``application/taxii+json;version=2.1``): discovery ``/taxii2/``, the API root
``/taxii2/soc/``, ``collections/``, one collection, its ``objects/`` (filters ``added_after``,
``match[id]``, ``match[type]``, ``match[version]``, ``match[spec_version]``; pagination with ``limit`` and
``next``), one object, and the ``manifest/``. Authentication as for the rest of the API (bearer token);
what each role sees is decided by :func:`soc.sharing.collections.visibility` (TLP RED only to its audience).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from soc.api.deps import current_user, get_ctx
from soc.auth import Principal
from soc.context import AppContext
from soc.sharing.collections import COLLECTION_BY_ID, COLLECTIONS, collections_for, visibility
from soc.sharing.models import SharedObject

router = APIRouter(tags=["taxii"])

MEDIA_TAXII = "application/taxii+json;version=2.1"
API_ROOT = "/taxii2/soc/"


def _resp(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status_code=status, media_type=MEDIA_TAXII,
                    headers=headers)


def _error(status: int, title: str, description: str) -> Response:
    return _resp({"title": title, "description": description, "http_status": str(status)}, status)


def _accepts(request: Request) -> bool:
    acc = request.headers.get("accept", "")
    return not acc or "*/*" in acc or "application/taxii+json" in acc or "application/json" in acc


def _not_acceptable() -> Response:
    return _error(406, "Not Acceptable", f"send 'Accept: {MEDIA_TAXII}'")


def _ts(dt: Any) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}Z"


@router.get("/taxii2/")
def discovery(request: Request, p: Principal = Depends(current_user), ctx: AppContext = Depends(get_ctx)) -> Response:
    if not _accepts(request):
        return _not_acceptable()
    base = str(request.base_url).rstrip("/")
    return _resp({"title": f"{ctx.settings.sharing.organisation_name} TAXII",
                  "description": "Read-only TAXII 2.1 server of the Hai Phong city SOC (incidents and indicators). "
                                 "Máy chủ TAXII 2.1 chỉ đọc của SOC thành phố Hải Phòng.",
                  "contact": ctx.settings.sharing.organisation_email or ctx.settings.incidents.soc_lead_email,
                  "default": base + API_ROOT, "api_roots": [base + API_ROOT]})


@router.get(API_ROOT)
def api_root(request: Request, p: Principal = Depends(current_user)) -> Response:
    if not _accepts(request):
        return _not_acceptable()
    return _resp({"title": "Hai Phong SOC", "versions": [MEDIA_TAXII], "max_content_length": 0,
                  "description": "Incidents and indicators / Sự cố và chỉ dấu tấn công"})


@router.get(API_ROOT + "collections/")
def list_collections(request: Request, p: Principal = Depends(current_user),
                     ctx: AppContext = Depends(get_ctx)) -> Response:
    if not _accepts(request):
        return _not_acceptable()
    with ctx.state.session() as s:
        return _resp({"collections": collections_for(p, s)})


def _collection_name(collection_id: str, p: Principal) -> str | None:
    name = COLLECTION_BY_ID.get(collection_id)
    if name is None or (p.role == "rule_author" and name != "indicators"):
        return None
    return name


@router.get(API_ROOT + "collections/{collection_id}/")
def get_collection(collection_id: str, request: Request, p: Principal = Depends(current_user),
                   ctx: AppContext = Depends(get_ctx)) -> Response:
    if not _accepts(request):
        return _not_acceptable()
    name = _collection_name(collection_id, p)
    if name is None:
        return _error(404, "Collection not found", f"no collection {collection_id!r} here; list them at "
                      f"{API_ROOT}collections/")
    with ctx.state.session() as s:
        return _resp(next(c for c in collections_for(p, s) if c["id"] == COLLECTIONS[name]["id"]))


def _select(ctx: AppContext, name: str, p: Principal, *, added_after: str | None, ids: list[str] | None,
            types: list[str] | None, versions: str, spec_versions: list[str] | None,
            ) -> list[SharedObject] | Response:
    from datetime import datetime

    stmt = select(SharedObject).where(SharedObject.collection == name, visibility(p))
    if added_after:
        try:
            after = datetime.fromisoformat(added_after.replace("Z", "+00:00"))
        except ValueError:
            return _error(400, "Bad filter", f"added_after {added_after!r} is not a timestamp "
                          "(use 2026-12-01T00:00:00.000Z)")
        stmt = stmt.where(SharedObject.date_added > after)
    if ids:
        stmt = stmt.where(SharedObject.stix_id.in_(ids))
    if types:
        stmt = stmt.where(SharedObject.type.in_(types))
    if spec_versions and "2.1" not in spec_versions:
        return []
    with ctx.state.session() as s:
        rows = list(s.execute(stmt.order_by(SharedObject.date_added, SharedObject.id)).scalars())
    wanted = [v.strip() for v in versions.split(",") if v.strip()] or ["last"]
    if "all" in wanted:
        return rows
    by_id: dict[str, list[SharedObject]] = {}
    for r in rows:
        by_id.setdefault(r.stix_id, []).append(r)
    keep: set[int] = set()
    for group in by_id.values():
        ordered = sorted(group, key=lambda r: r.version)
        for w in wanted:
            if w == "last":
                keep.add(ordered[-1].id)
            elif w == "first":
                keep.add(ordered[0].id)
            else:
                keep.update(r.id for r in group if r.version == w)
    return [r for r in rows if r.id in keep]


def _page(rows: list[SharedObject], limit: int | None, nxt: str | None, page_max: int,
          ) -> tuple[list[SharedObject], bool, str | None] | Response:
    try:
        start = int(nxt) if nxt else 0
    except ValueError:
        return _error(400, "Bad next", "'next' must be the value a previous page returned")
    size = min(limit or page_max, page_max)
    page = rows[start:start + size]
    more = start + size < len(rows)
    return page, more, (str(start + size) if more else None)


def _headers(page: list[SharedObject]) -> dict[str, str]:
    if not page:
        return {}
    return {"X-TAXII-Date-Added-First": _ts(page[0].date_added), "X-TAXII-Date-Added-Last": _ts(page[-1].date_added)}


def _filters(request: Request) -> dict[str, Any]:
    q = request.query_params

    def multi(key: str) -> list[str] | None:
        v = q.get(key)
        return [x.strip() for x in v.split(",") if x.strip()] if v else None

    return {"added_after": q.get("added_after"), "ids": multi("match[id]"), "types": multi("match[type]"),
            "versions": q.get("match[version]") or "last", "spec_versions": multi("match[spec_version]")}


@router.get(API_ROOT + "collections/{collection_id}/objects/")
def get_objects(collection_id: str, request: Request, limit: int | None = Query(None, ge=1),
                next: str | None = Query(None), p: Principal = Depends(current_user),  # noqa: A002 - TAXII name
                ctx: AppContext = Depends(get_ctx)) -> Response:
    if not _accepts(request):
        return _not_acceptable()
    name = _collection_name(collection_id, p)
    if name is None:
        return _error(404, "Collection not found", f"no collection {collection_id!r}")
    rows = _select(ctx, name, p, **_filters(request))
    if isinstance(rows, Response):
        return rows
    paged = _page(rows, limit, next, ctx.settings.sharing.taxii_page_size)
    if isinstance(paged, Response):
        return paged
    page, more, nxt = paged
    body: dict[str, Any] = {"more": more, "objects": [r.data for r in page]}
    if nxt:
        body["next"] = nxt
    return _resp(body, headers=_headers(page))


@router.get(API_ROOT + "collections/{collection_id}/objects/{object_id}/")
def get_object(collection_id: str, object_id: str, request: Request, p: Principal = Depends(current_user),
               ctx: AppContext = Depends(get_ctx)) -> Response:
    if not _accepts(request):
        return _not_acceptable()
    name = _collection_name(collection_id, p)
    if name is None:
        return _error(404, "Collection not found", f"no collection {collection_id!r}")
    f = _filters(request)
    f["ids"] = [object_id]
    rows = _select(ctx, name, p, **f)
    if isinstance(rows, Response):
        return rows
    if not rows:
        return _error(404, "Object not found", f"no object {object_id!r} you may read in this collection")
    return _resp({"more": False, "objects": [r.data for r in rows]}, headers=_headers(rows))


@router.get(API_ROOT + "collections/{collection_id}/manifest/")
def get_manifest(collection_id: str, request: Request, limit: int | None = Query(None, ge=1),
                 next: str | None = Query(None), p: Principal = Depends(current_user),  # noqa: A002
                 ctx: AppContext = Depends(get_ctx)) -> Response:
    if not _accepts(request):
        return _not_acceptable()
    name = _collection_name(collection_id, p)
    if name is None:
        return _error(404, "Collection not found", f"no collection {collection_id!r}")
    rows = _select(ctx, name, p, **_filters(request))
    if isinstance(rows, Response):
        return rows
    paged = _page(rows, limit, next, ctx.settings.sharing.taxii_page_size)
    if isinstance(paged, Response):
        return paged
    page, more, nxt = paged
    body: dict[str, Any] = {"more": more, "objects": [
        {"id": r.stix_id, "date_added": _ts(r.date_added), "version": r.version,
         "media_type": "application/stix+json;version=2.1"} for r in page]}
    if nxt:
        body["next"] = nxt
    return _resp(body, headers=_headers(page))
