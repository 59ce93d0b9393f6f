"""CLI of the incident area: ``soc incidents``, ``soc notices``, ``soc report assessor``, ``soc playbooks check``."""

from __future__ import annotations

import getpass
import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from soc.cli.common import fail, settings

console = Console(highlight=False)

incidents_app = typer.Typer(help="Incidents: list, show, change state (the SOC queue, layer 2).", no_args_is_help=True)
notices_app = typer.Typer(help="Layer-1 notices and the delivery outbox.", no_args_is_help=True)
report_app = typer.Typer(help="Periodic reports (layer 3).", no_args_is_help=True)
playbooks_app = typer.Typer(help="Response playbooks and regulatory profiles.", no_args_is_help=True)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


def _engine() -> Any:
    from soc.context import load_inventory
    from soc.incidents.engine import IncidentEngine
    from soc.incidents.playbooks import PlaybookError
    from soc.incidents.profiles import ProfileError
    from soc.inventory import InventoryError
    from soc.storage.state import State

    cfg = settings()
    try:
        inventory = load_inventory(cfg)
        return IncidentEngine(cfg, State(cfg.state_url), inventory)
    except (PlaybookError, ProfileError, InventoryError) as exc:
        fail(f"{exc}\nfix the file(s) above, then run `soc playbooks check`", code=78)


@incidents_app.command("list")
def list_cmd(status: str = typer.Option(None, help="Comma-separated states (new,triage,...)"),
             agency: str = typer.Option(None, help="Agency id, or 'unassigned'"),
             severity: str = typer.Option(None, help="Comma-separated severities"),
             limit: int = typer.Option(50, min=1),
             as_json: bool = typer.Option(False, "--json", help="One JSON object per line")) -> None:
    """List incidents, newest first."""
    from sqlalchemy import select

    from soc.incidents.views import incident_summary
    from soc.storage.models import Incident

    eng = _engine()
    q = select(Incident)
    if status:
        q = q.where(Incident.status.in_(status.split(",")))
    if severity:
        q = q.where(Incident.severity.in_(severity.split(",")))
    if agency == "unassigned":
        q = q.where(Incident.agency_id.is_(None))
    elif agency:
        q = q.where(Incident.agency_id == agency)
    now = datetime.now(UTC)
    with eng.state.session() as s:
        rows = s.execute(q.order_by(Incident.t0.desc()).limit(limit)).scalars().all()
        items = [incident_summary(r, now) for r in rows]
    if as_json:
        for it in items:
            print(json.dumps(it, ensure_ascii=False))
        return
    t = Table("ID", "Ref", "Status", "Sev", "Serious", "Agency", "T0", "Title", "Ack")
    for it in items:
        t.add_row(str(it["id"]), it["ref"], it["status"], it["severity"], "yes" if it["serious"] else "",
                  it["agency_id"] or "[yellow]unassigned[/]", eng.local(it["t0"]), it["title"][:60],
                  "yes" if it["acknowledged_at"] else "")
    console.print(t)
    console.print(f"{len(items)} incident(s)")


@incidents_app.command("show")
def show_cmd(incident_id: int, as_json: bool = typer.Option(False, "--json")) -> None:
    """Everything about one incident: alerts, timeline, deadlines, four-layer status."""
    from soc.incidents.views import incident_detail
    from soc.storage.models import Incident

    eng = _engine()
    with eng.state.session() as s:
        inc = s.get(Incident, incident_id)
        if inc is None:
            fail(f"incident {incident_id} not found; see `soc incidents list`")
        d = incident_detail(eng, s, inc, datetime.now(UTC))
    if as_json:
        print(json.dumps(d, ensure_ascii=False, indent=2, default=str))
        return
    console.print(f"[bold]{d['ref']}[/] {d['title']}")
    console.print(f"status {d['status']}  severity {d['severity']}  serious {d['serious']}  agency "
                  f"{d['agency_id'] or 'unassigned'}  T0 {eng.local(d['t0'])}  alerts {d['alert_count']}")
    for k, v in d["deadlines"].items():
        console.print(f"  deadline {k}: due {eng.local(v['due']) if v['due'] else '(after response)'}"
                      f"{' met ' + eng.local(v['met_at']) if v['met_at'] else ''}{' [red]OVERDUE[/]' if v['overdue'] else ''}")
    for name, v in d["sla"].items():
        console.print(f"  SLA {name}: due {eng.local(v['due'])} {'achieved' if v['achieved_at'] else ''}"
                      f"{' [red]breached[/]' if v['breached'] else ''}")
    for t in d["timeline"]:
        console.print(f"  {eng.local(t['ts'])} {t['actor']}: {t['kind']}")


@incidents_app.command("transition")
def transition_cmd(incident_id: int, status: str, reason: str = typer.Option(None, help="Why")) -> None:
    """Move an incident to another state (new, triage, investigating, contained, resolved, closed, false_positive)."""
    from soc.incidents.engine import IncidentError
    from soc.storage.models import Incident

    eng = _engine()
    with eng.state.session() as s:
        inc = s.get(Incident, incident_id)
        if inc is None:
            fail(f"incident {incident_id} not found; see `soc incidents list`")
        try:
            eng.transition(s, inc, status, _actor(), reason)
        except IncidentError as exc:
            fail(str(exc))
        console.print(f"{inc.ref}: now {inc.status}")


@incidents_app.command("assign")
def assign_cmd(incident_id: int, assignee: str) -> None:
    from soc.storage.models import Incident

    eng = _engine()
    with eng.state.session() as s:
        inc = s.get(Incident, incident_id)
        if inc is None:
            fail(f"incident {incident_id} not found")
        eng.assign(s, inc, assignee, _actor())
        console.print(f"{inc.ref}: assigned to {assignee}")


@incidents_app.command("form")
def form_cmd(incident_id: int, form: str = typer.Argument(..., help="form03 or final"),
             fmt: str = typer.Option("pdf", "--format", help="html or pdf"),
             output: Path = typer.Option(None, "-o", "--output", help="File (default <ref>-<form>.<format>)")) -> None:
    """Write Form 03 (initial report) or the final report of an incident, filled from its data."""
    from soc.incidents.forms import render_form
    from soc.storage.models import Incident

    if form not in ("form03", "final") or fmt not in ("html", "pdf"):
        fail("form is form03 or final; --format is html or pdf")
    eng = _engine()
    with eng.state.session() as s:
        inc = s.get(Incident, incident_id)
        if inc is None:
            fail(f"incident {incident_id} not found")
        data = render_form(eng, s, inc, form, fmt)  # type: ignore[arg-type]
        out = output or Path(f"{inc.ref}-{form}.{fmt}")
    out.write_bytes(data)
    console.print(f"wrote {out} ({len(data)} bytes)")


@notices_app.command("deliver")
def deliver_cmd(loop: bool = typer.Option(False, "--loop", help="Keep running (Ctrl-C to stop)"),
                interval: float = typer.Option(None, help="Seconds between passes (default from config)")) -> None:
    """Send what the outbox holds (with retries) and escalate unacknowledged notices."""
    from soc.incidents.delivery import OutboxWorker

    eng = _engine()
    worker = OutboxWorker(eng.settings, eng.state, ticks=[eng.escalate_due])
    every = interval or eng.settings.incidents.worker_interval_seconds
    totals: dict[str, int] = {}
    try:
        while True:
            with console.status("delivering notices..."):
                counts = worker.run_once()
            for k, v in counts.items():
                totals[k] = totals.get(k, 0) + v
            if not loop:
                break
            time.sleep(every)
    except KeyboardInterrupt:
        pass
    console.print("delivered: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    if totals.get("unknown"):
        console.print("[yellow]some deliveries were interrupted and may or may not have gone out: "
                      "`soc notices list --status unknown`, then `soc notices requeue ID` if needed[/]")


@notices_app.command("list")
def notices_list_cmd(status: str = typer.Option(None, help="pending, sending, sent, failed, unknown"),
                     limit: int = typer.Option(50, min=1)) -> None:
    """Outbox rows (every message to agencies, the SOC lead and the national centre)."""
    from sqlalchemy import select

    from soc.storage.models import Outbox

    eng = _engine()
    q = select(Outbox)
    if status:
        q = q.where(Outbox.status == status)
    with eng.state.session() as s:
        rows = s.execute(q.order_by(Outbox.id.desc()).limit(limit)).scalars().all()
        t = Table("ID", "Channel", "Incident", "Status", "Attempts", "Key", "Error")
        for r in rows:
            t.add_row(str(r.id), r.channel, str(r.incident_id or ""), r.status, str(r.attempts), r.key,
                      (r.last_error or "")[:60])
    console.print(t)


@notices_app.command("requeue")
def requeue_cmd(outbox_id: int) -> None:
    """Send an 'unknown' or 'failed' outbox row again (after checking it did not arrive)."""
    from soc.incidents.delivery import OutboxWorker

    eng = _engine()
    if not OutboxWorker(eng.settings, eng.state).requeue(outbox_id):
        fail(f"outbox row {outbox_id} is not 'unknown' or 'failed'; see `soc notices list`")
    eng.state.audit(_actor(), "outbox.requeue", str(outbox_id))
    console.print(f"row {outbox_id} queued again; it goes out with the next `soc notices deliver`")


@report_app.command("assessor")
def assessor_cmd(agency: str = typer.Option(..., "--agency", help="Agency id from the inventory"),
                 start: str = typer.Option(None, "--from", help="YYYY-MM-DD (default: 90 days before --to)"),
                 end: str = typer.Option(None, "--to", help="YYYY-MM-DD (default: today)"),
                 fmt: str = typer.Option("html", "--format", help="html, pdf or csv"),
                 output: Path = typer.Option(None, "-o", "--output")) -> None:
    """Periodic report for the independent assessor: incidents, times to acknowledge and resolve, open risks."""
    from soc.incidents.engine import IncidentError
    from soc.incidents.reports import assessor_report, render_assessor

    if fmt not in ("html", "pdf", "csv"):
        fail("--format is html, pdf or csv")
    eng = _engine()
    try:
        # "Today" in the regulatory profile's zone: the report reads its dates there (Vietnam is UTC+7).
        d_to = date.fromisoformat(end) if end else eng.clock().astimezone(eng.tz).date()
        d_from = date.fromisoformat(start) if start else d_to - timedelta(days=90)
    except ValueError as exc:
        fail(f"dates are YYYY-MM-DD: {exc}")
    with eng.state.session() as s:
        try:
            rep = assessor_report(eng, s, agency, d_from, d_to)
        except IncidentError as exc:
            fail(str(exc))
    data = render_assessor(rep, fmt)  # type: ignore[arg-type]
    out = output or Path(f"assessor-{agency}-{d_from}-{d_to}.{fmt}")
    out.write_bytes(data)
    sm = rep["summary"]
    console.print(f"wrote {out}: {sm['total']} incident(s), {sm['serious']} serious, MTTA {sm['mtta']}, "
                  f"MTTR {sm['mttr']}, {len(rep['open'])} open")


@playbooks_app.command("check")
def check_cmd(directory: Path = typer.Option(None, "--dir", help="Playbooks folder (default from config)")) -> None:
    """Validate every playbook and regulatory profile; exit 1 with file, field and reason on problems."""
    from soc.incidents.playbooks import PlaybookError, load_playbooks
    from soc.incidents.profiles import ProfileError, list_profiles, load_profile

    d = directory or Path(settings().incidents.playbooks_dir)
    problems = []
    try:
        pbs = load_playbooks(d)
        console.print(f"playbooks OK: {', '.join(sorted(pbs))}")
    except PlaybookError as exc:
        problems.append(str(exc))
    names = list_profiles(d)
    for name in names:
        try:
            p = load_profile(d, name)
            console.print(f"profile OK: {p.name} v{p.version} (from {p.valid_from}), {len(p.deadlines)} deadline(s)")
        except ProfileError as exc:
            problems.append(str(exc))
    active = settings().incidents.profile
    if active not in names:
        problems.append(f"active profile {active!r} (incidents.profile) has no file in {d}/profiles")
    if problems:
        fail("\n".join(problems))


def register(app: typer.Typer) -> None:
    app.add_typer(incidents_app, name="incidents")
    app.add_typer(notices_app, name="notices")
    app.add_typer(report_app, name="report")
    app.add_typer(playbooks_app, name="playbooks")
