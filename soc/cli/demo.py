"""``soc demo users`` and ``soc demo replay``: what ``make run`` needs to show the product on the demo data."""

from __future__ import annotations

import os
import secrets

import typer
from sqlalchemy import select

from soc.cli.common import fail, settings

demo_app = typer.Typer(help="Demo helpers: users with printed credentials, replay of the demo attack.",
                       no_args_is_help=True)


@demo_app.command("users")
def demo_users() -> None:
    """Create one user per role (and one officer per agency) if absent; print their credentials once.

    Passwords are random and also kept in ``<data_dir>/demo-credentials.txt`` (mode 0600).
    """
    from soc.auth import create_token, create_user
    from soc.context import load_inventory
    from soc.storage.models import User
    from soc.storage.state import State

    s = settings()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    creds = s.data_dir / "demo-credentials.txt"
    st = State(s.state_url)
    inv = load_inventory(s)
    wanted: list[tuple[str, str, str | None]] = [("admin", "admin", None), ("analyst", "analyst", None), ("author", "rule_author", None),
              ("auditor", "auditor", None)]
    wanted += [(f"officer-{aid}", "agency", aid) for aid in sorted(inv.agencies)]
    lines = []
    with st.session() as db:
        for name, role, agency in wanted:
            if db.execute(select(User).where(User.name == name)).scalar_one_or_none():
                continue
            password = secrets.token_urlsafe(12)
            user = create_user(db, name, role, agency_id=agency, password=password)
            token = create_token(db, user, "demo")
            st.audit("cli", "user.add", f"user:{name}", session=db, role=role, agency=agency, demo=True)
            lines.append(f"{name}\t{role}\t{agency or '-'}\tpassword={password}\ttoken={token}")
    if lines:
        fd = os.open(creds, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as fh:
            fh.write("\n".join(lines) + "\n")
        typer.echo(f"Demo users created (also in {creds}):")
        for ln in lines:
            typer.echo("  " + ln)
    else:
        typer.echo(f"Demo users already exist; credentials are in {creds}")


@demo_app.command("replay")
def demo_replay() -> None:
    """Generate the demo logs for the last three hours and push them through the pipeline."""
    from pathlib import Path

    from soc.demo import replay
    from soc.service import build_runtime

    s = settings()
    rt = build_runtime(s)
    try:
        totals = replay(rt, Path(s.demo.path), s.data_dir / "demo")
    except FileNotFoundError as exc:
        fail(str(exc))
    finally:
        rt.stop()
    typer.echo(f"demo replayed: {totals}")


def register(app: typer.Typer) -> None:
    app.add_typer(demo_app, name="demo")
