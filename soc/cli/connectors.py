"""Commands of the ingest area: ``soc deadletter list|replay`` and ``soc sources status``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from soc.cli.common import fail, settings

deadletter_app = typer.Typer(help="Records the parsers could not read: list them, replay them after a fix.",
                             no_args_is_help=True)
sources_app = typer.Typer(help="Log sources: health and counters.", no_args_is_help=True)
console = Console()


def _state() -> Any:
    from soc.storage.state import State

    s = settings()
    try:
        return State(s.state_url)
    except Exception as exc:
        fail(f"cannot open the state database {s.state_url} ({exc}); check storage.state_url or data_dir")


def _since(value: str | None) -> datetime | None:
    """``2026-01-31``, an ISO time, or a span back from now: ``30m``, ``12h``, ``7d``."""
    if not value:
        return None
    v = value.strip()
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if v[:-1].isdigit() and v[-1:] in units:
        return datetime.now(UTC) - timedelta(**{units[v[-1]]: int(v[:-1])})
    try:
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--since {value!r}: use an ISO date/time (2026-01-31T08:00) or a span such as 30m, 12h, 7d", 2)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@deadletter_app.command("list")
def dl_list(
    source: str = typer.Option(None, "--source", "-s", help="Only this source."),
    reason: str = typer.Option(None, "--reason", "-r", help="Only reasons containing this text."),
    since: str = typer.Option(None, "--since", help="Received after: ISO time or span (30m, 12h, 7d)."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, max=10_000),
    replayed: bool = typer.Option(False, "--replayed", help="Include dead letters already replayed."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """List dead letters, newest first."""
    from connectors.deadletter import list_dead

    total, rows = list_dead(_state(), source=source, reason=reason, since=_since(since), limit=limit,
                            include_replayed=replayed)
    if as_json:
        for r in rows:
            typer.echo(json.dumps(r, ensure_ascii=False))
        return
    if not total:
        console.print("no dead letters" + (" for these filters" if source or reason or since else "")
                      + ": every record received so far was parsed")
        return
    table = Table(title=f"Dead letters: {len(rows)} shown of {total}")
    for col in ("id", "received (UTC)", "source", "format", "reason", "line"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(str(r["id"]), (r["received_at"] or "")[:19], r["source"], r["format"], r["reason"][:120],
                      r["preview"][:100].replace("\n", " "))
    console.print(table)
    if total:
        console.print("replay after fixing the parser or the source's format: "
                      "[bold]soc deadletter replay --source NAME[/]")


@deadletter_app.command("replay")
def dl_replay(
    source: str = typer.Option(None, "--source", "-s", help="Only this source."),
    ids: list[int] = typer.Option(None, "--id", help="Only these ids (repeatable)."),
    reason: str = typer.Option(None, "--reason", "-r", help="Only reasons containing this text."),
    limit: int = typer.Option(None, "--limit", "-n", min=1, help="At most this many."),
) -> None:
    """Run dead letters through the current parsers; store those that now parse."""
    from connectors.deadletter import replay
    from soc.service import build_runtime

    s = settings()
    try:
        rt = build_runtime(s)
    except Exception as exc:
        fail(f"cannot build the pipeline ({exc}); check `soc config check`")
    tz = {c.name: c.timezone for c in s.sources}
    formats = {c.name: c.format for c in s.sources}
    with console.status("replaying dead letters..."):
        summary = replay(rt.ctx.state, rt.pipeline, source=source, ids=ids or None, reason=reason, tz=tz,
                         formats=formats, limit=limit)
    rt.ctx.state.audit("cli", "deadletter.replay", source or "*", selected=summary.selected,
                       replayed=summary.replayed, still_dead=summary.still_dead)
    table = Table(title="Replay")
    for col in ("source", "selected", "replayed", "still dead"):
        table.add_column(col, justify="right" if col != "source" else "left")
    for name, c in sorted(summary.per_source.items()):
        table.add_row(name, str(c["selected"]), str(c["replayed"]), str(c["still_dead"]))
    console.print(table)
    console.print(f"selected {summary.selected}, replayed {summary.replayed} ({summary.events} events, "
                  f"{summary.alerts} alerts), still dead {summary.still_dead}; "
                  + ("[green]counts reconcile[/]" if summary.reconciles else "[red]COUNTS DO NOT RECONCILE[/]"))
    for why, n in sorted(summary.reasons.items(), key=lambda kv: -kv[1])[:10]:
        console.print(f"  {n:>6}  {why}")
    if summary.selected == 0:
        console.print("nothing to replay (see `soc deadletter list`)")


@sources_app.command("status")
def sources_status(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Per-source health as last persisted by the running service (refreshed every few seconds)."""
    from connectors.health import load_health

    s = settings()
    st = _state()
    saved = load_health(st)
    names = [c.name for c in s.sources] + [n for n in saved if n not in {c.name for c in s.sources}]
    rows = []
    for name in names:
        d = dict(saved.get(name) or {"name": name})
        cfg = next((c for c in s.sources if c.name == name), None)
        d["configured"] = cfg is not None
        d["enabled"] = bool(cfg and cfg.enabled)
        d.setdefault("type", cfg.type if cfg else "")
        rows.append(d)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        console.print("no sources configured (add [[sources]] to soc.toml) and none has sent anything yet")
        return
    table = Table(title="Log sources", pad_edge=False)
    for col in ("source", "type", "recv", "parsed", "dead", "drop", "ev/s", "err%", "last event (UTC)", "skew s",
                "status"):
        left = col in ("source", "type", "last event (UTC)", "status")
        table.add_column(col, justify="left" if left else "right", no_wrap=col != "status")
    now = datetime.now(UTC).timestamp()
    for d in rows:
        status = "disabled" if not d["enabled"] else "ok"
        if not d["configured"]:
            status = "not configured"
        elif d.get("silent_alerted"):
            status = "[red]silent[/]"
        elif d["enabled"] and not d.get("last_received"):
            status = "no data yet"
        elif d.get("last_received") and now - float(d["last_received"]) > 300:
            status = f"idle {int((now - float(d['last_received'])) // 60)} min"
        table.add_row(d.get("name", ""), str(d.get("type", "")).replace("syslog_", ""), f"{d.get('received', 0):,}", f"{d.get('parsed', 0):,}",
                      f"{d.get('dead', 0):,}", f"{d.get('dropped', 0):,}", f"{d.get('events_per_s', 0)}",
                      f"{100 * float(d.get('parse_error_rate', 0)):.1f}", (d.get("last_event") or "-")[:16],
                      "-" if d.get("clock_skew_s") is None else f"{d['clock_skew_s']:.0f}", status)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(deadletter_app, name="deadletter")
    app.add_typer(sources_app, name="sources")
