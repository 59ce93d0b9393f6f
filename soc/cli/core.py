"""Core commands: run, ingest, parse, search, config check."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from soc.cli.common import err_console, fail, settings

config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)


def _setup_logging(level: str) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(level=level, format="%(message)s", datefmt="[%X]",
                        handlers=[RichHandler(console=err_console, show_path=False, rich_tracebacks=False)])


@config_app.command("check")
def config_check(show: bool = typer.Option(False, "--show", help="Print the effective configuration (secrets hidden).")
                 ) -> None:
    """Validate the configuration file, environment overrides, inventory, playbooks and rule folders."""
    s = settings()
    problems: list[str] = []
    from soc.inventory import Inventory, InventoryError

    try:
        inv = Inventory.load(s.inventory)
        inv_msg = f"{len(inv.agencies)} agencies, {sum(len(a.systems) for a in inv.agencies.values())} systems"
    except InventoryError as exc:
        problems.append(str(exc))
        inv_msg = "not loaded"
    for d in s.detection.rules_dirs:
        if not Path(d).exists():
            problems.append(f"detection.rules_dirs: folder {d} does not exist")
    playbooks = Path(s.incidents.playbooks_dir)
    if not playbooks.exists():
        problems.append(f"incidents.playbooks_dir: folder {playbooks} does not exist")
    else:
        try:
            from soc.incidents.playbooks import load_playbooks
            from soc.incidents.profiles import load_profile

            load_playbooks(s.incidents.playbooks_dir)
            load_profile(s.incidents.playbooks_dir, s.incidents.profile)
        except ImportError:
            pass
        except Exception as exc:
            problems.append(f"playbooks/profile: {exc}")
    if show:
        typer.echo(json.dumps(s.model_dump(mode="json"), indent=2, ensure_ascii=False))
    typer.echo(f"configuration: ok ({len(s.sources)} sources, events in {s.storage.events_backend}, "
               f"state at {s.state_url.split('://')[0]})")
    typer.echo(f"inventory: {s.inventory} ({inv_msg})")
    if problems:
        for p in problems:
            err_console.print(f"[red]problem:[/] {p}")
        raise typer.Exit(1)


@config_app.command("docs")
def config_docs() -> None:
    """Print the configuration reference (every key, type, default and meaning) as Markdown."""
    from soc.config import reference_markdown

    typer.echo(reference_markdown(), nl=False)


def run(
    demo: bool = typer.Option(None, "--demo/--no-demo", help="Replay the demo dataset at start (default: config)."),
    host: str = typer.Option(None, help="API address (default: config api.host, 127.0.0.1)."),
    port: int = typer.Option(None, help="API port (default: config api.port, 8000)."),
) -> None:
    """Run the service: log listeners, pipeline, detection, incident routing, scheduled jobs and the API."""
    import uvicorn

    from soc.api.app import create_app
    from soc.service import build_runtime, settle_heap

    s = settings()
    _setup_logging(s.log_level)
    log = logging.getLogger("soc")
    replay = demo if demo is not None else s.demo.replay
    sink = None
    if replay and s.demo.mail_sink:
        from soc.demo import MailSink

        sink = MailSink(s.data_dir / "mail")
        s.incidents.smtp.host, s.incidents.smtp.port = sink.host, sink.port
        log.info("demo: notices to agencies are delivered to a local mail sink; read them in %s", sink.folder)
    rt = build_runtime(s)
    rt.start_workers(listeners=True)
    app = create_app(s, ctx=rt.ctx)
    h, p = host or s.api.host, port or s.api.port
    if replay:
        threading.Thread(target=_replay_demo, args=(rt, s.demo.path), name="demo", daemon=True).start()
    settle_heap()  # start-up objects stay out of the garbage collector's full passes
    log.info("API and web console on http://%s:%d  (OpenAPI: /openapi.json)", h, p)
    server = uvicorn.Server(uvicorn.Config(app, host=h, port=p, log_level="warning", lifespan="off"))

    def _term(*_: Any) -> None:
        server.should_exit = True

    signal.signal(signal.SIGTERM, _term)
    try:
        server.run()
    finally:
        rt.stop()
        if sink is not None:
            sink.stop()
        log.info("stopped")


def _replay_demo(rt: Any, path: str) -> None:
    """Generate the demo logs (relative to now) and push them through the pipeline."""
    from soc.demo import replay

    log = logging.getLogger("soc.demo")
    try:
        summary = replay(rt, Path(path), rt.ctx.settings.data_dir / "demo")
        log.info("demo replayed: %s", summary)
    except Exception:
        log.exception("demo replay failed")


def ingest(
    files: list[str] = typer.Argument(..., help="Log files (plain, .gz or .evtx); '-' reads standard input."),
    fmt: str = typer.Option("auto", "--format", "-f", help="Parser name, or 'auto' to detect per line."),
    source: str = typer.Option("cli", "--source", help="Source name recorded on each event (soc.input)."),
    host_name: str = typer.Option(None, "--host-name", help="Machine the file comes from, for formats that do not "
                                                           "name it (sets host.name, e.g. for nginx access logs)."),
) -> None:
    """Push files through the whole pipeline: parse, enrich, store, detect, alert, open incidents."""
    from connectors.runner import ingest_files
    from soc.service import build_runtime

    s = settings()
    _check_format(fmt)
    rt = build_runtime(s)
    try:
        totals = ingest_files(files, fmt, rt.pipeline, progress=True, source=source, host=host_name)
    except FileNotFoundError as exc:
        fail(str(exc), code=66)
    finally:
        rt.stop()
    if totals.received != totals.parsed + totals.dead:
        fail("counts do not reconcile (received != parsed + dead-lettered); please report this bug")


def _check_format(fmt: str) -> None:
    from connectors.parsers import FORMATS

    if fmt != "auto" and fmt not in FORMATS:
        fail(f"unknown format {fmt!r}; expected one of: auto, {', '.join(sorted(FORMATS))}", code=2)


def parse(
    files: list[str] = typer.Argument(..., help="Log files (plain, .gz or .evtx); '-' reads standard input."),
    fmt: str = typer.Option("auto", "--format", "-f", help="Parser name, or 'auto'."),
    dead_letter: Path = typer.Option(None, "--dead-letter", help="Write unparseable lines here as JSON lines "
                                                                 "with the reason (default: count on stderr)."),
    tz: str = typer.Option(None, "--tz", help="Zone of timestamps without one (default: config timezone)."),
) -> None:
    """Parse log files and print one ECS event per line as JSON (nothing is stored)."""
    from zoneinfo import ZoneInfo

    from connectors.parsers import ParseContext, ParseError, parse_line
    from connectors.reading import iter_lines

    s = settings()
    _check_format(fmt)
    ctx = ParseContext(tz=ZoneInfo(tz or s.timezone))
    ok = bad = 0
    dl = dead_letter.open("w", encoding="utf-8") if dead_letter else None
    out = sys.stdout
    try:
        for path in files:
            if path != "-" and not Path(path).is_file():
                fail(f"{path}: no such file", code=66)
            for n, line in enumerate(iter_lines(path), 1):
                try:
                    docs = parse_line(fmt, line, ctx)
                except ParseError as exc:
                    bad += 1
                    if dl:
                        dl.write(json.dumps({"file": path, "line": n, "reason": exc.reason,
                                             "raw": line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")},
                                            ensure_ascii=False) + "\n")
                    continue
                for d in docs:
                    out.write(json.dumps(d, ensure_ascii=False, default=str) + "\n")
                ok += 1
    except BrokenPipeError:
        return
    finally:
        if dl:
            dl.close()
    err_console.print(f"parsed {ok} line(s), dead-lettered {bad}" + (f" (see {dead_letter})" if dead_letter and bad else ""))


def search(
    query: str = typer.Argument("", help="e.g. 'source.ip:10.0.0.0/8 AND event.outcome:failure'"),
    since: str = typer.Option("7d", "--since", help="How far back: 15m, 24h, 7d..."),
    start: datetime = typer.Option(None, "--from", help="Start (ISO 8601); overrides --since."),
    end: datetime = typer.Option(None, "--to", help="End (ISO 8601; default now)."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=10000),
    output: str = typer.Option("table", "--output", "-o", help="table or json"),
) -> None:
    """Search stored events with the query language (docs/search.md)."""
    from rich.console import Console
    from rich.table import Table

    from soc.context import make_event_store
    from soc.query import QueryError

    s = settings()
    end_ts = (end.replace(tzinfo=end.tzinfo or UTC) if end else datetime.now(UTC) + timedelta(minutes=1))
    if start is None:
        start = end_ts - _duration(since)
    elif start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    store = make_event_store(s)
    try:
        res = store.search(query, start, end_ts, limit=limit)
    except QueryError as exc:
        fail(f"bad query: {exc}", code=2)
    if output == "json":
        for ev in res.events:
            typer.echo(json.dumps(ev, ensure_ascii=False, default=str))
    else:
        from soc import ecs

        t = Table("@timestamp", "dataset", "source", "destination", "user", "action/message", box=None)
        for ev in res.events:
            t.add_row(str(ev.get("@timestamp", ""))[:23], str(ecs.get(ev, "event.dataset", "")),
                      str(ecs.get(ev, "source.ip", "") or ""), str(ecs.get(ev, "destination.ip", "") or ""),
                      str(ecs.get(ev, "user.name", "") or ""),
                      str(ecs.get(ev, "event.action") or ev.get("message") or "")[:60])
        Console().print(t)
    err_console.print(f"{res.total} event(s) matched, {len(res.events)} shown ({res.took_ms:.0f} ms)")


def _duration(text: str) -> timedelta:
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    try:
        return timedelta(**{units[text[-1]]: float(text[:-1])})
    except (KeyError, ValueError, IndexError):
        fail(f"--since {text!r}: expected a number and a unit s/m/h/d/w, e.g. 24h", code=2)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("ingest")(ingest)
    app.command("parse")(parse)
    app.command("search")(search)
    app.add_typer(config_app, name="config")
