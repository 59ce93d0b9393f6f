"""Dependencies every route uses: the context, the caller, and role checks.

Authentication: ``Authorization: Bearer <token>`` (API tokens from ``soc token create``)
or the browser session cookie set by the web console's sign-in. Browser requests
that change state must carry the session's CSRF token in ``X-CSRF-Token`` (or a
``csrf_token`` form field); token-authenticated requests need none, since no
browser sends a bearer token by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, HTTPException, Request, status

from soc.auth import Principal, csrf_ok, principal_from_session, principal_from_token
from soc.context import AppContext

SESSION_COOKIE = "soc_session"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

ALL_ROLES = ("admin", "rule_author", "analyst", "agency", "auditor")
READ_ALERTS = ("admin", "analyst", "auditor", "agency")
WRITE_ALERTS = ("admin", "analyst")


def get_ctx(request: Request) -> AppContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


def _authenticate(request: Request, ctx: AppContext) -> Principal | None:
    auth = request.headers.get("authorization", "")
    with ctx.state.session() as s:
        if auth.lower().startswith("bearer "):
            return principal_from_token(s, auth[7:].strip())
        sid = request.cookies.get(SESSION_COOKIE)
        if sid:
            return principal_from_session(s, sid)
    return None


async def current_user(request: Request, ctx: AppContext = Depends(get_ctx)) -> Principal:
    principal = _authenticate(request, ctx)
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "authentication required: send 'Authorization: Bearer "
                            "<token>' (create one with `soc token create NAME`) or sign in",
                            headers={"WWW-Authenticate": "Bearer"})
    if principal.via == "session" and request.method not in SAFE_METHODS:
        given = request.headers.get("x-csrf-token")
        if given is None and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            v = form.get("csrf_token")
            given = v if isinstance(v, str) else None
        if not csrf_ok(principal.csrf, given):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token; reload the page")
    request.state.principal = principal
    return principal


def require_role(*roles: str) -> Callable[..., Any]:
    """Dependency: the caller, if their role is one of ``roles``; 403 otherwise."""
    unknown = set(roles) - set(ALL_ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    async def dep(principal: Principal = Depends(current_user)) -> Principal:
        if principal.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"role '{principal.role}' may not do this; needs one of: {', '.join(roles)}")
        return principal

    return dep


def agency_scope(principal: Principal) -> str | None:
    """The agency an agency officer is confined to (``None`` for SOC roles)."""
    return principal.agency_id if principal.role == "agency" else None
