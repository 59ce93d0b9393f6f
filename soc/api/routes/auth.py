"""Sign-in and sign-out for the web console (sessions in an HttpOnly cookie, CSRF token per session)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from soc.api.deps import SESSION_COOKIE, current_user, get_ctx
from soc.auth import AuthError, Principal, check_password, create_session, end_session
from soc.context import AppContext

router = APIRouter(tags=["auth"])


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


def start_session(ctx: AppContext, request: Request, response: Response, username: str,
                  password: str) -> dict[str, Any]:
    """Check the password, open a session and set its cookie; audits success and failure alike."""
    client = request.client.host if request.client else None
    with ctx.state.session() as s:
        try:
            user = check_password(s, username, password, ctx.settings.api.max_failed_logins)
        except AuthError as exc:
            s.commit()  # keep the failure count and lock-out even though we refuse
            ctx.state.audit(username, "auth.login_failed", f"user:{username}", client=client, reason=str(exc))
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from None
        sid, csrf = create_session(s, user, ctx.settings.api.session_minutes)
        ctx.state.audit(user.name, "auth.login", f"user:{user.name}", session=s, client=client)
        info = {"name": user.name, "role": user.role, "agency_id": user.agency_id, "csrf_token": csrf,
                "language": user.language}
    response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=ctx.settings.api.session_minutes * 60,
                        path="/")
    return info


@router.post("/auth/login")
def login(body: LoginIn, request: Request, response: Response,
          ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    return start_session(ctx, request, response, body.username, body.password)


@router.post("/auth/logout")
def logout(request: Request, response: Response, p: Principal = Depends(current_user),
           ctx: AppContext = Depends(get_ctx)) -> dict[str, str]:
    sid = request.cookies.get(SESSION_COOKIE)
    with ctx.state.session() as s:
        if sid:
            end_session(s, sid)
        ctx.state.audit(p.name, "auth.logout", f"user:{p.name}", session=s)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"status": "signed out"}
