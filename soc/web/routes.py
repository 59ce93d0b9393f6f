"""Page routes of the web console. Each checks the session and the role before rendering."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from soc.api.deps import _authenticate, get_ctx
from soc.api.routes.auth import start_session
from soc.auth import Principal
from soc.context import AppContext
from soc.web.i18n import LANGS, t

HERE = Path(__file__).parent
router = APIRouter(include_in_schema=False)
_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                   trim_blocks=True, lstrip_blocks=True)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")

#: page -> roles that may open it.
PAGES: dict[str, tuple[str, ...]] = {
    "triage": ("admin", "analyst", "auditor"),
    "alert": ("admin", "analyst", "auditor", "agency"),
    "incidents": ("admin", "analyst", "auditor"),
    "incident": ("admin", "analyst", "auditor", "agency"),
    "search": ("admin", "analyst", "auditor", "rule_author"),
    "rules": ("admin", "rule_author", "analyst", "auditor"),
    "dashboard": ("admin", "analyst", "auditor"),
    "audit": ("admin", "auditor"),
    "portal": ("agency",),
}

NAV: tuple[tuple[str, str], ...] = (("dashboard", "/dashboard"), ("triage", "/triage"), ("incidents", "/incidents"),
                                    ("search", "/search"), ("rules", "/rules"), ("audit", "/audit"),
                                    ("portal", "/portal"))


def safe_path(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/`` (no open redirect via ``//host`` or ``/\\host``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or any(
            c in target for c in "\\\r\n\t"):
        return "/"
    return target


def _lang(request: Request, p: Principal | None) -> str:
    lang = request.cookies.get("soc_lang") or (p.language if p else None) or "vi"
    return lang if lang in LANGS else "vi"


def render(request: Request, template: str, p: Principal | None, status_code: int = 200,
           **extra: Any) -> HTMLResponse:
    lang = _lang(request, p)
    nav = [(k, href) for k, href in NAV if p is not None and p.role in PAGES[k]]
    html = _env.get_template(template).render(
        t=lambda key: t(key, lang), lang=lang, user=p, nav=nav, path=request.url.path,
        csrf=p.csrf if p else "", **extra)
    resp = HTMLResponse(html, status_code=status_code)
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _page(name: str, template: str | None = None) -> Any:
    async def handler(request: Request, ctx: AppContext = Depends(get_ctx)) -> Response:
        p = _authenticate(request, ctx)
        if p is None or p.via != "session":
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        if p.role not in PAGES[name]:
            return render(request, "error.html", p, 403, message=t("forbidden", _lang(request, p)))
        params = dict(request.path_params)
        return render(request, template or f"{name}.html", p, page=name, params=params)

    return handler


@router.get("/")
def home(request: Request, ctx: AppContext = Depends(get_ctx)) -> Response:
    p = _authenticate(request, ctx)
    if p is None:
        return RedirectResponse("/login", status_code=303)
    target = {"agency": "/portal", "rule_author": "/rules", "auditor": "/dashboard"}.get(p.role, "/triage")
    return RedirectResponse(target, status_code=303)


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", None, next=safe_path(next), error=None)


@router.post("/login")
def login_submit(request: Request, username: str = Form(..., max_length=64), password: str = Form(..., max_length=1024),
                 next: str = Form("/"), ctx: AppContext = Depends(get_ctx)) -> Response:
    safe_next = safe_path(next)
    redirect = RedirectResponse(safe_next, status_code=303)
    try:
        start_session(ctx, request, redirect, username, password)
    except HTTPException as exc:
        return render(request, "login.html", None, 401, next=safe_next, error=exc.detail)
    return redirect


@router.get("/lang/{lang}")
def set_language(lang: str, request: Request) -> Response:
    if lang not in LANGS:
        raise HTTPException(404, "unknown language")
    back = request.headers.get("referer", "/")
    path = "/" + back.split("://", 1)[-1].split("/", 1)[-1] if "://" in back else "/"
    resp = RedirectResponse(safe_path(path), status_code=303)
    resp.set_cookie("soc_lang", lang, max_age=365 * 86400, samesite="strict", path="/")
    return resp


router.add_api_route("/triage", _page("triage"), methods=["GET"])
router.add_api_route("/alerts/{alert_id}", _page("alert"), methods=["GET"])
router.add_api_route("/incidents", _page("incidents"), methods=["GET"])
router.add_api_route("/incidents/{incident_id}", _page("incident"), methods=["GET"])
router.add_api_route("/search", _page("search"), methods=["GET"])
router.add_api_route("/rules", _page("rules"), methods=["GET"])
router.add_api_route("/dashboard", _page("dashboard"), methods=["GET"])
router.add_api_route("/audit", _page("audit"), methods=["GET"])
router.add_api_route("/portal", _page("portal"), methods=["GET"])


def mount_static(app: Any) -> None:
    """Serve ``static/`` (CSS and the page scripts)."""
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


@router.post("/logout")
async def logout_submit(request: Request, ctx: AppContext = Depends(get_ctx)) -> Response:
    from soc.api.deps import SESSION_COOKIE
    from soc.auth import csrf_ok, end_session

    p = _authenticate(request, ctx)
    form = await request.form()
    token = form.get("csrf_token")
    resp = RedirectResponse("/login", status_code=303)
    if p is not None and p.via == "session" and csrf_ok(p.csrf, token if isinstance(token, str) else None):
        sid = request.cookies.get(SESSION_COOKIE, "")
        with ctx.state.session() as s:
            end_session(s, sid)
            ctx.state.audit(p.name, "auth.logout", f"user:{p.name}", session=s)
        resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp
