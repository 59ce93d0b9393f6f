"""``soc share`` (layer-4 sharing of incidents) and ``soc intel`` (threat intelligence in)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from soc.cli.common import fail, settings

console = Console(highlight=False)
share_app = typer.Typer(help="Share incidents with the national monitoring centre (layer 4): STIX 2.1, TAXII, "
                             "e-mail (Form 03), syslog/CEF.", no_args_is_help=True)
intel_app = typer.Typer(help="Threat intelligence in: indicator feeds (TAXII, CSV, MISP) matched against events.",
                        no_args_is_help=True)


def _state() -> Any:
    from soc.storage.state import State

    try:
        return State(settings().state_url)
    except Exception as exc:
        fail(f"cannot open the state database {settings().state_url}: {exc}")


def _inventory() -> Any:
    from soc.context import load_inventory

    try:
        return load_inventory(settings())
    except Exception as exc:
        console.print(f"[yellow]inventory not loaded ({exc}); agency names come from the incident[/]")
        return None


# -- soc share -------------------------------------------------------------------------------------------
@share_app.command("export")
def share_export(incident_id: int = typer.Argument(..., help="Incident id (`soc incidents list`)."),
                 out: Path = typer.Option(None, "--out", "-o", help="Write the bundle here instead of stdout."),
                 publish: bool = typer.Option(False, "--publish",
                                              help="Also publish it on our own TAXII collections."),
                 validate: bool = typer.Option(True, "--validate/--no-validate",
                                               help="Check the bundle with the OASIS STIX validator.")) -> None:
    """Export one incident as a STIX 2.1 bundle (deterministic: the same incident gives the same bundle)."""
    from soc.sharing.collections import publish_bundle
    from soc.sharing.stix_export import ExportError, export_incident, load_incident

    st = _state()
    try:
        with st.session() as s:
            bundle = export_incident(s, incident_id, settings().sharing, _inventory())
            if publish:
                inc, _ = load_incident(s, incident_id)
                added = publish_bundle(s, bundle, incident_id=incident_id, agency_id=inc.agency_id)
                console.print(f"published: {added}", style="dim")
    except ExportError as exc:
        fail(str(exc))
    text = json.dumps(bundle, ensure_ascii=False, indent=2)
    if validate:
        from stix2validator import validate_string

        res = validate_string(text)
        if not res.is_valid:
            fail("the bundle does not validate: " + "; ".join(str(e) for e in res.errors)[:2000])
    if out:
        out.write_text(text + "\n", encoding="utf-8")
        console.print(f"wrote {len(bundle['objects'])} objects to {out} (bundle {bundle['id']})")
    else:
        sys.stdout.write(text + "\n")


@share_app.command("push")
def share_push(incident_id: int = typer.Argument(..., help="Incident id."),
               destination: list[str] = typer.Option(None, "--destination", "-d",
                                                     help="Only these destinations (default: all enabled)."),
               send: bool = typer.Option(True, "--send/--queue-only",
                                         help="Run one outbox pass now (otherwise `soc run` sends it)."),
               ) -> None:
    """Queue the incident for layer-4 delivery (TAXII, e-mail or CEF per destination) and send it."""
    from soc.sharing.destinations import DestinationError
    from soc.sharing.stix_export import ExportError
    from soc.sharing.taxii_push import queue_incident, register_channels

    cfg = settings()
    st = _state()
    try:
        with st.session() as s:
            queued = queue_incident(s, incident_id, cfg, inventory=_inventory(), only=destination or None)
    except (ExportError, DestinationError) as exc:
        fail(str(exc))
    for q in queued:
        console.print(f"queued for {q['destination']} ({q['channel']}): outbox #{q['outbox_id']}, "
                      f"{q['objects']} STIX objects")
    if not send:
        console.print("queued only; `soc run` sends it (with retries).")
        return
    try:
        from soc.incidents.delivery import OutboxWorker
    except ImportError:
        fail("the outbox worker (soc.incidents.delivery) is not available; the rows stay queued")
    register_channels()
    counts = OutboxWorker(cfg, st).run_once()
    _show_status(st, incident_id)
    console.print(f"outbox pass: {counts}")


def _show_status(st: Any, incident_id: int) -> None:
    from sqlalchemy import select

    from soc.sharing.models import ShareDelivery

    with st.session() as s:
        rows = s.execute(select(ShareDelivery).where(ShareDelivery.incident_id == incident_id)
                         .order_by(ShareDelivery.id)).scalars().all()
        t = Table("destination", "channel", "status", "attempts", "TAXII status id", "error", title="layer-4 deliveries")
        for r in rows:
            t.add_row(r.destination, r.channel, r.status, str(r.attempts), r.remote_status_id or "-",
                      (r.last_error or "")[:80])
    console.print(t)


@share_app.command("status")
def share_status(incident_id: int = typer.Argument(..., help="Incident id.")) -> None:
    """Layer-4 delivery history of an incident."""
    _show_status(_state(), incident_id)


# -- soc intel -------------------------------------------------------------------------------------------
def _store(st: Any) -> Any:
    from detectors.indicators.store import IndicatorStore

    return IndicatorStore(st.session)


@intel_app.command("pull")
def intel_pull(feed: list[str] = typer.Option(None, "--feed", "-f", help="Only these feeds."),
               full: bool = typer.Option(False, "--full", help="Ignore the TAXII cursor: fetch everything.")) -> None:
    """Pull the configured feeds now (``sharing.feeds``) into the indicator store."""
    from detectors.indicators.feeds import FeedError, feed_configs, pull_feed

    try:
        feeds = feed_configs(settings().sharing.feeds)
    except FeedError as exc:
        fail(str(exc), code=78)
    if feed:
        unknown = set(feed) - {f.name for f in feeds}
        if unknown:
            fail(f"no feed named {', '.join(sorted(unknown))}; configured: {', '.join(f.name for f in feeds) or '-'}")
        feeds = [f for f in feeds if f.name in feed]
    if not feeds:
        fail("no feeds configured: add [[sharing.feeds]] entries to soc.toml (see docs/sharing.md)", code=78)
    store = _store(_state())
    t = Table("feed", "type", "status", "new", "updated", "rejected", "total", title="feed pull")
    failed = 0
    from rich.progress import Progress

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("pulling feeds", total=len(feeds))
        for f in feeds:
            progress.update(task, description=f"pulling {f.name}")
            r = pull_feed(store, f, full=full)
            failed += r["status"] == "failed"
            t.add_row(f.name, f.type, r["status"], str(r["new"]), str(r["updated"]), str(r["rejected"]),
                      str(r.get("indicators", "-")))
            for rej in r.get("rejects", [])[:10]:
                console.print(f"  [yellow]{f.name}: rejected {rej['id']}: {rej['reason']}[/]")
            if r.get("error"):
                console.print(f"  [red]{f.name}: {r['error']}[/]")
            progress.advance(task)
    console.print(t)
    if failed:
        fail(f"{failed} feed(s) failed; the others were stored. Check the URL/credentials and run again.")


@intel_app.command("list")
def intel_list(indicators: bool = typer.Option(False, "--indicators", "-i", help="List indicators too."),
               feed: str = typer.Option(None, "--feed", help="Only this feed's indicators."),
               limit: int = typer.Option(50, "--limit")) -> None:
    """Feeds with their last pull and indicator counts (and, with -i, the newest indicators)."""
    from sqlalchemy import select

    from soc.sharing.models import IntelFeed

    st = _state()
    store = _store(st)
    counts = store.counts()
    with st.session() as s:
        rows = {r.name: r for r in s.execute(select(IntelFeed)).scalars()}
        t = Table("feed", "type", "last pull", "status", "indicators", "rejected", "error", title="threat-intel feeds")
        for name in sorted(set(rows) | set(counts)):
            r = rows.get(name)
            t.add_row(name, r.type if r else "manual", r.last_pull_at.strftime("%Y-%m-%d %H:%M") if r and
                      r.last_pull_at else "-", r.last_status if r else "-", str(counts.get(name, 0)),
                      str(r.rejected) if r else "0", ((r.last_error or "") if r else "")[:60])
        console.print(t)
        if indicators:
            it = Table("feed", "kind", "value", "TLP", "valid until", "name", title="indicators (newest first)")
            for i in store.search(s, feed=feed, limit=limit):
                it.add_row(i.feed, i.kind, i.value[:80], i.tlp.upper(), i.valid_until.strftime("%Y-%m-%d") if
                           i.valid_until else "-", (i.name or "")[:40])
            console.print(it)


@intel_app.command("add")
def intel_add(value: str = typer.Argument(..., help="IP, CIDR, domain, URL or MD5/SHA-1/SHA-256 hash."),
              kind: str = typer.Option(None, "--type", "-t", help="ip, cidr, domain, url, md5, sha1, sha256 "
                                                                   "(guessed when omitted)."),
              feed: str = typer.Option("manual", "--feed", help="Source to record (default 'manual')."),
              tlp: str = typer.Option("green", "--tlp", help="clear, green, amber, amber+strict, red."),
              days: int = typer.Option(30, "--days", min=1, help="Valid for this many days."),
              name: str = typer.Option(None, "--name", help="Why it is listed."),
              level: str = typer.Option(None, "--level", help="Alert level on a match (default from config).")) -> None:
    """Add one indicator by hand; the running matcher picks it up within ``intel_reload_seconds``."""
    from detectors.indicators import normalise as norm
    from detectors.indicators.store import IndicatorInput
    from soc.sharing import tlp as tlpmod

    try:
        k, v = norm.normalise(kind, value) if kind else norm.guess(value)
        level_tlp = tlpmod.normalise(tlp)
    except ValueError as exc:
        fail(str(exc))
    if level and level not in ("low", "medium", "high", "critical"):
        fail("--level must be low, medium, high or critical")
    st = _state()
    new, updated, rejected = _store(st).upsert(feed, [IndicatorInput(
        kind=k, value=v, tlp=level_tlp, name=name, level=level,
        valid_until=datetime.now(UTC) + timedelta(days=days))])
    if rejected:
        fail(rejected[0][1])
    st.audit("cli", "intel.add", f"{k}:{v}", feed=feed, tlp=level_tlp, days=days)
    console.print(f"{'added' if new else 'refreshed'} {k} {v} (feed {feed}, TLP:{level_tlp.upper()}, "
                  f"{days} days)")


def register(app: typer.Typer) -> None:
    app.add_typer(share_app, name="share")
    app.add_typer(intel_app, name="intel")
