"""User and token commands: ``soc user add|list|passwd|disable`` and ``soc token create|revoke``."""

from __future__ import annotations

import getpass
import sys

import typer
from sqlalchemy import select

from soc.cli.common import fail, settings

user_app = typer.Typer(help="Manage local users (roles: admin, rule_author, analyst, agency, auditor).",
                       no_args_is_help=True)
token_app = typer.Typer(help="Manage API bearer tokens.", no_args_is_help=True)


def _state():  # type: ignore[no-untyped-def]
    from soc.storage.state import State

    s = settings()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    return State(s.state_url)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        fail("no terminal to ask for a password: use --password-stdin, or --no-password for token-only users", 2)
    p1 = getpass.getpass("Password: ")
    p2 = getpass.getpass("Repeat password: ")
    if p1 != p2:
        fail("passwords differ", 2)
    return p1


@user_app.command("add")
def user_add(
    name: str = typer.Argument(..., help="User name (sign-in name)."),
    role: str = typer.Option(..., "--role", "-r", help="admin, rule_author, analyst, agency or auditor."),
    agency: str = typer.Option(None, "--agency", help="Agency id (required for --role agency)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
    no_password: bool = typer.Option(False, "--no-password", help="No password: API tokens only."),
    email: str = typer.Option(None, "--email"),
) -> None:
    """Create a user. Agency officers are tied to one agency and see only its incidents."""
    from soc.auth import AuthError, create_user
    from soc.inventory import Inventory, InventoryError

    s = settings()
    if agency:
        try:
            inv = Inventory.load(s.inventory)
            if agency not in inv.agencies:
                fail(f"agency {agency!r} is not in the inventory ({s.inventory}); known: "
                     f"{', '.join(sorted(inv.agencies)) or 'none'}", 2)
        except InventoryError as exc:
            fail(str(exc), 78)
    password = None if no_password else _read_password(password_stdin)
    st = _state()
    try:
        with st.session() as db:
            user = create_user(db, name, role, agency_id=agency, password=password, email=email)
            st.audit("cli", "user.add", f"user:{name}", session=db, role=role, agency=agency)
            uid = user.id
    except AuthError as exc:
        fail(str(exc), 2)
    typer.echo(f"user {name} created (id {uid}, role {role}{', agency ' + agency if agency else ''})")


@user_app.command("list")
def user_list() -> None:
    """List users."""
    from soc.storage.models import User

    st = _state()
    with st.session() as db:
        for u in db.execute(select(User).order_by(User.name)).scalars():
            typer.echo(f"{u.name}\t{u.role}\t{u.agency_id or '-'}\t{'disabled' if u.disabled else 'active'}")


@user_app.command("passwd")
def user_passwd(name: str, password_stdin: bool = typer.Option(False, "--password-stdin")) -> None:
    """Set a user's password (also unlocks the account)."""
    from soc.auth import AuthError, set_password
    from soc.storage.models import User

    password = _read_password(password_stdin)
    st = _state()
    with st.session() as db:
        u = db.execute(select(User).where(User.name == name)).scalar_one_or_none()
        if u is None:
            fail(f"no user {name!r}", 1)
        try:
            set_password(db, u, password)
        except AuthError as exc:
            fail(str(exc), 2)
        st.audit("cli", "user.passwd", f"user:{name}", session=db)
    typer.echo(f"password of {name} set")


@user_app.command("disable")
def user_disable(name: str) -> None:
    """Disable a user: sign-in and tokens stop working."""
    from soc.storage.models import User

    st = _state()
    with st.session() as db:
        u = db.execute(select(User).where(User.name == name)).scalar_one_or_none()
        if u is None:
            fail(f"no user {name!r}", 1)
        u.disabled = True
        st.audit("cli", "user.disable", f"user:{name}", session=db)
    typer.echo(f"user {name} disabled")


@token_app.command("create")
def token_create(
    name: str = typer.Argument(..., help="User the token acts as."),
    label: str = typer.Option("cli", "--label", help="What the token is for."),
    days: int = typer.Option(None, "--days", min=1, help="Expire after this many days (default: never)."),
) -> None:
    """Create a bearer token for user NAME and print it (it is shown only once)."""
    from soc.auth import create_token
    from soc.storage.models import User

    st = _state()
    with st.session() as db:
        u = db.execute(select(User).where(User.name == name)).scalar_one_or_none()
        if u is None:
            fail(f"no user {name!r}; create one with `soc user add {name} --role ROLE`", 1)
        token = create_token(db, u, label, days)
        st.audit("cli", "token.create", f"user:{name}", session=db, label=label, prefix=token[:10])
    typer.echo(token)


@token_app.command("revoke")
def token_revoke(prefix: str = typer.Argument(..., help="The token's first 10 characters.")) -> None:
    """Revoke tokens starting with PREFIX."""
    from soc.storage.models import ApiToken

    st = _state()
    with st.session() as db:
        rows = db.execute(select(ApiToken).where(ApiToken.prefix == prefix[:10])).scalars().all()
        if not rows:
            fail(f"no token starts with {prefix!r}", 1)
        for r in rows:
            r.revoked = True
        st.audit("cli", "token.revoke", f"token:{prefix[:10]}", session=db)
    typer.echo(f"revoked {len(rows)} token(s)")


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
