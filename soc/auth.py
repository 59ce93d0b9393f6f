"""Users, passwords, API tokens and browser sessions.

- Passwords: argon2id (argon2-cffi defaults), never stored or logged in clear.
- API tokens: ``soc_<random>``, shown once; only a SHA-256 of the token is stored
  (tokens are long random strings, so a fast hash is enough and lookups are O(1)).
- Sessions: a random id in an HttpOnly cookie, server-side rows with expiry, and a
  per-session CSRF token that every state-changing browser request must echo.
- Lock-out: after ``max_failed_logins`` wrong passwords the account is locked for
  15 minutes; every attempt is audited.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from soc.storage.models import ROLES, ApiToken, Base, User, utcnow

_ph = PasswordHasher()
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD = 10


class AuthError(Exception):
    """Authentication or account problem; the message is safe to show to the user."""


class WebSession(Base):
    __tablename__ = "web_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column()
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


@dataclass(frozen=True)
class Principal:
    """Who is calling: what every route checks role and agency against."""

    user_id: int
    name: str
    role: str
    agency_id: str | None
    via: str  # "token" | "session" | "cli"
    csrf: str | None = None
    language: str = "vi"

    def can_see_agency(self, agency_id: str | None) -> bool:
        return self.role != "agency" or (agency_id is not None and agency_id == self.agency_id)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"password too short: at least {MIN_PASSWORD} characters")
    return _ph.hash(password)


def create_user(s: Session, name: str, role: str, *, agency_id: str | None = None, password: str | None = None,
                display_name: str | None = None, email: str | None = None) -> User:
    if role not in ROLES:
        raise AuthError(f"unknown role {role!r}; expected one of: {', '.join(ROLES)}")
    if role == "agency" and not agency_id:
        raise AuthError("an agency officer needs --agency ID (the agency whose incidents they may see)")
    if role != "agency" and agency_id:
        raise AuthError("only agency officers are tied to an agency; drop --agency or use --role agency")
    if s.execute(select(User).where(User.name == name)).scalar_one_or_none():
        raise AuthError(f"user {name!r} already exists")
    user = User(name=name, role=role, agency_id=agency_id, display_name=display_name, email=email,
                password_hash=hash_password(password) if password else None)
    s.add(user)
    s.flush()
    return user


def set_password(s: Session, user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None


def check_password(s: Session, name: str, password: str, max_failed: int = 5) -> User:
    """Verify a sign-in; counts failures and locks the account. Raises AuthError with a generic message."""
    user = s.execute(select(User).where(User.name == name)).scalar_one_or_none()
    generic = AuthError("wrong user name or password")
    if user is None or user.disabled or not user.password_hash:
        # Spend the same time as a real check so that user names cannot be probed by timing.
        with contextlib.suppress(VerificationError):
            _ph.verify(_DUMMY_HASH, password)
        raise generic
    now = datetime.now(UTC)
    if user.locked_until and user.locked_until > now:
        raise AuthError("account locked after repeated failed sign-ins; try again later or ask an admin")
    try:
        _ph.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        user.failed_logins += 1
        if user.failed_logins >= max_failed:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
        raise generic from None
    user.failed_logins = 0
    user.locked_until = None
    if _ph.check_needs_rehash(user.password_hash):
        user.password_hash = _ph.hash(password)
    return user


_DUMMY_HASH = _ph.hash("dummy-password-for-timing")


def create_token(s: Session, user: User, name: str, days: int | None = None) -> str:
    """Create an API token for ``user``; returns the clear token (shown once)."""
    token = "soc_" + secrets.token_urlsafe(32)
    s.add(ApiToken(user_id=user.id, name=name, prefix=token[:10], token_hash=_sha(token),
                   expires_at=(datetime.now(UTC) + timedelta(days=days)) if days else None))
    s.flush()
    return token


def principal_from_token(s: Session, token: str) -> Principal | None:
    row = s.execute(select(ApiToken).where(ApiToken.token_hash == _sha(token))).scalar_one_or_none()
    if row is None or row.revoked:
        return None
    now = datetime.now(UTC)
    if row.expires_at and row.expires_at < now:
        return None
    user = s.get(User, row.user_id)
    if user is None or user.disabled:
        return None
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        row.last_used_at = now
    return Principal(user.id, user.name, user.role, user.agency_id, "token", language=user.language)


def create_session(s: Session, user: User, minutes: int) -> tuple[str, str]:
    """Start a browser session; returns ``(session id for the cookie, CSRF token)``."""
    sid = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    s.add(WebSession(id_hash=_sha(sid), user_id=user.id, csrf=csrf,
                     expires_at=datetime.now(UTC) + timedelta(minutes=minutes)))
    s.flush()
    return sid, csrf


def principal_from_session(s: Session, sid: str) -> Principal | None:
    row = s.get(WebSession, _sha(sid))
    if row is None or row.expires_at < datetime.now(UTC):
        return None
    user = s.get(User, row.user_id)
    if user is None or user.disabled:
        return None
    return Principal(user.id, user.name, user.role, user.agency_id, "session", csrf=row.csrf,
                     language=user.language)


def end_session(s: Session, sid: str) -> None:
    row = s.get(WebSession, _sha(sid))
    if row is not None:
        s.delete(row)


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected and given and hmac.compare_digest(expected, given))
