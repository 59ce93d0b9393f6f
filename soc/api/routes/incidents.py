"""Incidents API: the SOC queue (layer 2), agency views and acknowledgements (layer 1), forms and reports.

Roles: admin/analyst read and write; auditor reads; an agency officer sees and
acknowledges only their own agency's incidents (others answer 404, so their
existence is not revealed); rule_author has no incident access. Every change is
audited. ``/ack/{token}`` is public: the signed link itself is the credential.
"""

from __future__ import annotations

from datetime import date, timedelta
from html import escape
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from soc.api.deps import get_ctx, require_role
from soc.auth import Principal
from soc.incidents.engine import IncidentEngine, IncidentError
from soc.incidents.forms import FORM_FIELDS, render_form
from soc.incidents.lifecycle import STATES
from soc.incidents.models import Notice
from soc.incidents.playbooks import PlaybookError
from soc.incidents.profiles import ProfileError
from soc.incidents.reports import assessor_report as build_assessor_report
from soc.incidents.reports import render_assessor
from soc.incidents.service import get_engine
from soc.incidents.signing import TokenError
from soc.incidents.views import agency_to_api, incident_detail, incident_summary, notices_with_deliveries
from soc.storage.models import Incident

router = APIRouter(tags=["incidents"])

READ = ("admin", "analyst", "auditor", "agency")
WRITE = ("admin", "analyst")
SEVERITIES = ("low", "medium", "high", "critical")
MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}


def _engine(ctx: Any = Depends(get_ctx)) -> IncidentEngine:
    try:
        return get_engine(ctx)
    except (PlaybookError, ProfileError) as exc:  # configuration problem: say so instead of a bare 500
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            f"incident playbooks or regulatory profile are invalid; run `soc playbooks check`: {exc}"
                            ) from None


def _visible(s: Session, incident_id: int, who: Principal) -> Incident:
    inc = s.get(Incident, incident_id)
    if inc is None or not who.can_see_agency(inc.agency_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"incident {incident_id} not found")
    return inc


def _bad(exc: Exception) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, str(exc))


@router.get("/incidents")
def list_incidents(
    status_: str | None = Query(None, alias="status", description="Comma-separated states"),
    severity: str | None = Query(None, description="Comma-separated severities"),
    agency: str | None = Query(None, description="Agency id, or 'unassigned'"),
    assignee: str | None = None,
    q: str | None = Query(None, max_length=200, description="Text in the reference, title or entity"),
    serious: bool | None = None,
    page: int = Query(1, ge=1),
    page_size: int = Query(50, ge=1, le=500),
    who: Principal = Depends(require_role(*READ)),
    engine: IncidentEngine = Depends(_engine),
) -> dict[str, Any]:
    query = select(Incident)
    if status_:
        states = [x.strip() for x in status_.split(",") if x.strip()]
        bad = [x for x in states if x not in STATES]
        if bad:
            raise HTTPException(422, f"unknown status {bad}; expected some of: {', '.join(STATES)}")
        query = query.where(Incident.status.in_(states))
    if severity:
        sevs = [x.strip() for x in severity.split(",") if x.strip()]
        bad = [x for x in sevs if x not in SEVERITIES]
        if bad:
            raise HTTPException(422, f"unknown severity {bad}; expected some of: {', '.join(SEVERITIES)}")
        query = query.where(Incident.severity.in_(sevs))
    if who.role == "agency":
        query = query.where(Incident.agency_id == who.agency_id)
    if agency == "unassigned":
        query = query.where(Incident.agency_id.is_(None))
    elif agency:
        query = query.where(Incident.agency_id == agency)
    if assignee:
        query = query.where(Incident.assignee == assignee)
    if serious is not None:
        query = query.where(Incident.serious.is_(serious))
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        query = query.where(or_(Incident.ref.ilike(like), Incident.title.ilike(like),
                                Incident.entity_value.ilike(like)))
    now = engine.clock()
    with engine.state.session() as s:
        total = s.execute(select(func.count()).select_from(query.subquery())).scalar() or 0
        rows = s.execute(query.order_by(Incident.t0.desc(), Incident.id.desc())
                         .offset((page - 1) * page_size).limit(page_size)).scalars().all()
        return {"total": total, "page": page, "page_size": page_size,
                "items": [incident_summary(r, now) for r in rows]}


@router.get("/incidents/{incident_id}")
def get_incident(incident_id: int, who: Principal = Depends(require_role(*READ)),
                 engine: IncidentEngine = Depends(_engine)) -> dict[str, Any]:
    with engine.state.session() as s:
        return incident_detail(engine, s, _visible(s, incident_id, who), engine.clock())


class IncidentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal[STATES] | None = None  # type: ignore[valid-type]
    reason: str | None = Field(None, max_length=2000)
    """Why (recorded with a status change)."""
    assignee: str | None = Field(None, max_length=64)
    agency_id: str | None = Field(None, max_length=64)
    serious: bool | None = None
    serious_reason: str | None = Field(None, max_length=2000)
    impacts: list[str] | None = None
    national_security: bool | None = None
    personal_data: bool | None = None
    filed: Literal["form03", "final", "cause_scope_remedy", "personal_data_breach"] | None = None
    filed_reference: str | None = Field(None, max_length=200)
    form_fields: dict[str, str] | None = None


@router.patch("/incidents/{incident_id}")
def patch_incident(incident_id: int, body: IncidentPatch, who: Principal = Depends(require_role(*WRITE)),
                   engine: IncidentEngine = Depends(_engine)) -> dict[str, Any]:
    if not body.model_fields_set:
        raise HTTPException(422, "nothing to change: send at least one field")
    if body.serious is not None and not (body.serious_reason or "").strip():
        raise HTTPException(422, "serious_reason is required to override the serious flag")
    with engine.state.session() as s:
        inc = _visible(s, incident_id, who)
        try:
            if body.form_fields is not None:
                bad = sorted(set(body.form_fields) - set(FORM_FIELDS))
                if bad:
                    raise HTTPException(422, f"unknown form field(s) {bad}; allowed: {', '.join(FORM_FIELDS)}")
                data = dict(inc.data or {})
                data["form"] = {**(data.get("form") or {}), **{k: v[:4000] for k, v in body.form_fields.items()}}
                inc.data = data
                engine.state.audit(who.name, "incident.form_fields", inc.ref, session=s, fields=sorted(body.form_fields))
            if "assignee" in body.model_fields_set:
                engine.assign(s, inc, body.assignee, who.name)
            if body.agency_id is not None:
                engine.set_agency(s, inc, body.agency_id, who.name)
            if body.impacts is not None or body.national_security is not None or body.personal_data is not None:
                engine.set_flags(s, inc, who.name, impacts=body.impacts, national_security=body.national_security,
                                 personal_data=body.personal_data)
            if body.serious is not None:
                engine.override_serious(s, inc, body.serious, body.serious_reason or "", who.name)
            if body.filed is not None:
                engine.record_filing(s, inc, body.filed, who.name, body.filed_reference)
            if body.status is not None:
                engine.transition(s, inc, body.status, who.name, body.reason)
        except IncidentError as exc:
            s.rollback()
            raise _bad(exc) from None
        s.flush()
        return incident_detail(engine, s, inc, engine.clock())


@router.post("/incidents/{incident_id}/ack")
def acknowledge_incident(incident_id: int, who: Principal = Depends(require_role("admin", "analyst", "agency")),
                         engine: IncidentEngine = Depends(_engine)) -> dict[str, Any]:
    """Layer 1 acknowledges (the signed link's equivalent for a signed-in agency officer)."""
    with engine.state.session() as s:
        inc = _visible(s, incident_id, who)
        engine.acknowledge(s, inc, who.name, via="api")
        return {"incident_id": inc.id, "ref": inc.ref, "acknowledged_at": (inc.data or {})["milestones"]["ack"]}


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(min_length=1, max_length=10000)


@router.post("/incidents/{incident_id}/comments", status_code=201)
def add_comment(incident_id: int, body: CommentIn, who: Principal = Depends(require_role(*WRITE)),
                engine: IncidentEngine = Depends(_engine)) -> dict[str, Any]:
    with engine.state.session() as s:
        inc = _visible(s, incident_id, who)
        try:
            c = engine.comment(s, inc, who.name, body.body)
        except IncidentError as exc:
            raise HTTPException(422, str(exc)) from None
        return {"id": c.id, "ts": c.ts.isoformat(), "author": c.author, "body": c.body}


@router.get("/incidents/{incident_id}/forms/{name}")
def get_form(incident_id: int, name: str, who: Principal = Depends(require_role(*READ)),
             engine: IncidentEngine = Depends(_engine)) -> Response:
    form, _, fmt = name.partition(".")
    if form not in ("form03", "final") or fmt not in ("html", "pdf"):
        raise HTTPException(404, "forms are form03.html, form03.pdf, final.html, final.pdf")
    with engine.state.session() as s:
        inc = _visible(s, incident_id, who)
        content = render_form(engine, s, inc, form, fmt)  # type: ignore[arg-type]
        engine.state.audit(who.name, "incident.form", inc.ref, session=s, form=name)
    return Response(content, media_type=MEDIA[fmt],
                    headers={"Content-Disposition": f'inline; filename="{inc.ref}-{form}.{fmt}"'})


@router.get("/notices")
def list_notices(incident_id: int | None = None, agency: str | None = None,
                 state: Literal["pending", "acknowledged", "escalated", "all"] = "all",
                 limit: int = Query(100, ge=1, le=1000), who: Principal = Depends(require_role(*READ)),
                 engine: IncidentEngine = Depends(_engine)) -> dict[str, Any]:
    query = select(Notice)
    if who.role == "agency":
        query = query.where(Notice.agency_id == who.agency_id)
    if agency:
        query = query.where(Notice.agency_id == agency)
    if incident_id is not None:
        query = query.where(Notice.incident_id == incident_id)
    if state == "pending":
        query = query.where(Notice.acked_at.is_(None), Notice.escalated_at.is_(None), Notice.ack_due_at.is_not(None))
    elif state == "acknowledged":
        query = query.where(Notice.acked_at.is_not(None))
    elif state == "escalated":
        query = query.where(Notice.escalated_at.is_not(None))
    with engine.state.session() as s:
        rows = s.execute(query.order_by(Notice.id.desc()).limit(limit)).scalars().all()
        return {"items": notices_with_deliveries(s, list(rows))}


_ACK_PAGE = """<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>{title}</title>
<meta name="robots" content="noindex"></head><body style="font-family:sans-serif;max-width:40em;margin:2em auto">
{content}</body></html>"""


@router.get("/ack/{token}", response_class=HTMLResponse, include_in_schema=False)
def ack_page(token: str, engine: IncidentEngine = Depends(_engine)) -> HTMLResponse:
    """The link in the e-mail opens a confirmation page; only its button (POST) acknowledges.

    A GET must not change state: mail scanners and link previews fetch links by themselves.
    """
    try:
        claim = engine.signer.verify(token)
    except TokenError as exc:
        return HTMLResponse(_ACK_PAGE.format(title="Liên kết không hợp lệ", content=f"<p>{escape(str(exc))}</p>"),
                            status_code=410 if exc.expired else 400)
    with engine.state.session() as s:
        n = s.get(Notice, claim.notice_id)
        inc = s.get(Incident, n.incident_id) if n is not None and n.nonce == claim.nonce else None
        if n is None or inc is None:
            return HTMLResponse(_ACK_PAGE.format(title="Liên kết không hợp lệ", content="<p>invalid link</p>"), 400)
        content = (f"<h1>Xác nhận đã nhận thông báo sự cố {escape(inc.ref)}</h1>"
                   f"<p class=en>Acknowledge the notice of incident {escape(inc.ref)}</p>"
                   f"<p>{escape(inc.title)}</p>"
                   + ("<p>Đã xác nhận / already acknowledged.</p>" if n.acked_at else
                      f'<form method="post" action="{escape(token)}"><button type="submit">'
                      "Xác nhận / Acknowledge</button></form>"))
    return HTMLResponse(_ACK_PAGE.format(title=f"Xác nhận {escape(inc.ref)}", content=content))


@router.post("/ack/{token}", response_model=None)
def ack_link(token: str, request: Request, engine: IncidentEngine = Depends(_engine)) -> dict[str, Any] | HTMLResponse:
    """Public: the signed link from a notice; forged or damaged -> 400, expired -> 410.

    Answers HTML to a browser (the confirmation page's button), JSON otherwise.
    """
    html = "text/html" in request.headers.get("accept", "")
    try:
        inc, notice = engine.acknowledge_token(token)
    except TokenError as exc:
        code = status.HTTP_410_GONE if exc.expired else status.HTTP_400_BAD_REQUEST
        if html:
            return HTMLResponse(_ACK_PAGE.format(title="Liên kết không hợp lệ", content=f"<p>{escape(str(exc))}</p>"),
                                status_code=code)
        raise HTTPException(code, str(exc)) from None
    message = f"Đã xác nhận thông báo sự cố {inc.ref}. / Notice of incident {inc.ref} acknowledged."
    if html:
        return HTMLResponse(_ACK_PAGE.format(title=f"Đã xác nhận {escape(inc.ref)}",
                                             content=f"<h1>{escape(message)}</h1>"))
    return {"ok": True, "incident": inc.ref, "notice_id": notice.id,
            "acknowledged_at": notice.acked_at.isoformat() if notice.acked_at else None, "message": message}


@router.get("/agencies")
def list_agencies(who: Principal = Depends(require_role(*READ)),
                  engine: IncidentEngine = Depends(_engine)) -> dict[str, Any]:
    with engine.state.session() as s:
        items = [agency_to_api(s, a) for a in engine.inventory.agencies.values() if who.can_see_agency(a.id)]
    return {"items": items}


@router.get("/reports/assessor")
def assessor_report(agency: str, from_: date | None = Query(None, alias="from"), to: date | None = None,
                    format: Literal["json", "html", "pdf", "csv"] = "json",  # noqa: A002 (query name)
                    who: Principal = Depends(require_role(*READ)),
                    engine: IncidentEngine = Depends(_engine)) -> Response:
    if not who.can_see_agency(agency):
        raise HTTPException(404, f"agency {agency!r} not found")
    end = to or engine.clock().astimezone(engine.tz).date()  # "today" where the report reads its dates
    start = from_ or (end - timedelta(days=90))
    with engine.state.session() as s:
        try:
            report = build_assessor_report(engine, s, agency, start, end)
        except IncidentError as exc:
            raise HTTPException(404 if "unknown agency" in str(exc) else 422, str(exc)) from None
        engine.state.audit(who.name, "report.assessor", agency, session=s, start=str(start), end=str(end), format=format)
    if format == "json":
        from fastapi.responses import JSONResponse

        return JSONResponse(report)
    name = f"assessor-{agency}-{start}-{end}.{format}"
    return Response(render_assessor(report, format), media_type=MEDIA[format],
                    headers={"Content-Disposition": f'inline; filename="{name}"'})
