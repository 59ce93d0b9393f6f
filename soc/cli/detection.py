"""``soc detect``, ``soc hunt`` and ``soc rules ...``: Sigma detection from the command line."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from soc.cli.common import err_console, fail, settings

rules_app = typer.Typer(help="Check, test, backtest and convert Sigma rules.", no_args_is_help=True)

FAR_FUTURE = datetime(9000, 1, 1, tzinfo=UTC)


def _dump(alert: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(alert, ensure_ascii=False, default=str) + "\n")


def _engine(rules: list[Path], *, ignore_logsource: bool, field_mapping: bool) -> Any:
    from detectors.sigma import SigmaEngine

    for p in rules:
        if not p.exists():
            fail(f"rules path not found: {p}", code=66)
    eng = SigmaEngine.from_paths(rules, ignore_logsource=ignore_logsource, field_mapping=field_mapping)
    for f, line, reason in eng.errors:
        err_console.print(f"rule rejected: {f}{':' + str(line) if line else ''}: {reason}", markup=False,
                          highlight=False, soft_wrap=True)
    if not eng.rules:
        fail("no rule loaded; fix the errors above (soc rules check PATH lists them)", code=65)
    return eng


def _events_from_files(files: list[Path], fmt: str, counts: Counter[str]) -> Iterator[dict[str, Any]]:
    from connectors.parsers import ParseContext, ParseError, parse_line
    from connectors.reading import is_evtx, iter_lines

    for f in files:
        if not f.exists():
            err_console.print(f"soc: file not found: {f}", markup=False)
            counts["missing_files"] += 1
            continue
        ctx = ParseContext(source=str(f))
        # Plain, gzip and .evtx files alike (an .evtx record becomes one winlog JSON line).
        file_fmt = "winlog" if is_evtx(str(f)) and fmt in ("auto", "evtx") else fmt
        for n, line in enumerate(iter_lines(str(f)), 1):
            counts["lines"] += 1
            try:
                docs = parse_line(file_fmt, line, ctx)
            except (ParseError, KeyError) as exc:
                counts["unparsed"] += 1
                if counts["unparsed"] <= 10:
                    reason = getattr(exc, "reason", str(exc))
                    err_console.print(f"{f}:{n}: not parsed ({fmt}): {reason}", markup=False, soft_wrap=True)
                continue
            except Exception as exc:  # a broken parser must not stop detection on other lines
                counts["unparsed"] += 1
                err_console.print(f"{f}:{n}: parser error ({fmt}): {type(exc).__name__}: {exc}", markup=False)
                continue
            for d in docs:
                counts["events"] += 1
                yield d


def detect(
    files: list[Path] = typer.Argument(..., help="Log files to run the rules over (one record per line)."),
    rules: list[Path] = typer.Option(..., "--rules", "-r", help="Rule file or folder (repeatable)."),
    fmt: str = typer.Option("auto", "--format", "-f", help="Parser name (see connectors), 'auto' or 'json'."),
    ignore_logsource: bool = typer.Option(False, "--ignore-logsource", help="Apply every rule to every event."),
) -> None:
    """Run Sigma rules over log files; print alerts as JSON lines (rule, tags, matching events)."""
    from rich.progress import Progress

    field_mapping = fmt != "json"
    eng = _engine(rules, ignore_logsource=ignore_logsource, field_mapping=field_mapping)
    counts: Counter[str] = Counter()
    n_alerts = 0
    with Progress(console=err_console, transient=True, disable=not err_console.is_terminal) as prog:
        task = prog.add_task("detecting", total=None)
        for ev in _events_from_files(files, fmt, counts):
            for a in eng.process(ev):
                _dump(a)
                n_alerts += 1
            prog.advance(task)
    for a in eng.flush(FAR_FUTURE):
        _dump(a)
        n_alerts += 1
    if counts["unparsed"] > 10:
        err_console.print(f"... {counts['unparsed'] - 10} more unparsed lines not shown", markup=False)
    err_console.print(
        f"{counts['events']} events from {counts['lines']} lines ({counts['unparsed']} unparsed), "
        f"{len(eng.rules)} rules loaded ({len(eng.errors)} rejected), {n_alerts} alerts", markup=False)


def _parse_when(value: str | None, default: datetime | None) -> datetime | None:
    if not value:
        return default
    from soc.storage.schema import parse_ts

    v = value.strip()
    if v.endswith(("d", "h", "m")) and v[:-1].isdigit():
        unit = {"d": "days", "h": "hours", "m": "minutes"}[v[-1]]
        return datetime.now(UTC) - timedelta(**{unit: int(v[:-1])})
    dt = parse_ts(v)
    if dt is None:
        fail(f"bad time {value!r}: use ISO 8601 (2026-11-30T08:00:00+07:00) or a age like 7d / 12h", code=64)
    return dt


def _stored(rule: Path, start: datetime | None, end: datetime | None) -> Iterator[dict[str, Any]]:
    from detectors.sigma.hunt import es_events, stored_events

    cfg = settings()
    if cfg.storage.events_backend == "elasticsearch":
        es = cfg.storage.elasticsearch
        key = es.api_key.get_secret_value() if es.api_key else None
        yield from es_events(es.url, f"{es.index_prefix}-*", rule.read_text(encoding="utf-8"), start, end, key)
        return
    events_dir = cfg.events_dir
    if not events_dir.exists():
        fail(f"no event store at {events_dir}; ingest events first (soc run / soc ingest) or set data_dir", code=66)
    yield from stored_events(events_dir, start, end)


def hunt(
    rule: Path = typer.Argument(..., help="Rule file (or folder) to run over stored events."),
    start: str = typer.Option(None, "--from", help="Start (ISO 8601 or age such as 7d); default 24h ago."),
    end: str = typer.Option(None, "--to", help="End (ISO 8601), exclusive; default now."),
    extra: list[Path] = typer.Option([], "--with", help="Rules a correlation in RULE refers to (their own "
                                                        "alerts are not printed)."),
) -> None:
    """Run a rule over stored events; prints the alerts streaming detection would have raised."""
    from rich.progress import Progress

    from detectors.sigma.hunt import hunt as run_hunt

    t0 = _parse_when(start, datetime.now(UTC) - timedelta(days=1))
    t1 = _parse_when(end, datetime.now(UTC))
    eng = _engine([rule, *extra], ignore_logsource=False, field_mapping=True)
    base = rule.resolve()
    own = {r["id"] for r in eng.rules
           if Path(r["path"]).resolve() == base or base in Path(r["path"]).resolve().parents} if extra else None
    n = 0
    with Progress(console=err_console, transient=True, disable=not err_console.is_terminal) as prog:
        task = prog.add_task("hunting", total=None)
        for a in run_hunt(eng, _stored(rule, t0, t1), FAR_FUTURE, lambda: prog.advance(task)):
            if own is not None and a["rule"]["id"] not in own:
                continue
            _dump(a)
            n += 1
    err_console.print(f"{eng.stats['events']} stored events scanned, {n} alerts", markup=False)


@rules_app.command("check")
def rules_check(paths: list[Path] = typer.Argument(..., help="Rule files or folders.")) -> None:
    """Load rules and report every rejected file with line and reason; exits 1 if any is rejected."""
    from detectors.sigma import load_rules

    for p in paths:
        if not p.exists():
            fail(f"path not found: {p}", code=66)
    rs = load_rules(paths)
    reasons: Counter[str] = Counter()
    for e in rs.errors:
        print(str(e))
        reasons[e.reason.split(" (")[0].split(":")[0]] += 1
    err_console.print(f"{len(rs.rules)} rules and {len(rs.correlations)} correlations loaded, "
                      f"{len(rs.errors)} rejected", markup=False)
    for reason, n in reasons.most_common():
        err_console.print(f"  {n:5d}  {reason}", markup=False)
    if rs.errors:
        raise typer.Exit(1)


@rules_app.command("test")
def rules_test(
    rule: Path = typer.Argument(..., help="Rule file (may contain correlation + base rules)."),
    sample: Path = typer.Option(..., "--sample", help="Sample log file (one record per line)."),
    fmt: str = typer.Option("auto", "--format", "-f", help="Parser of the sample ('json': fields as given)."),
    ignore_logsource: bool = typer.Option(False, "--ignore-logsource"),
) -> None:
    """Run a rule over a sample; prints its alerts and exits 1 when it raises none."""
    eng = _engine([rule], ignore_logsource=ignore_logsource, field_mapping=fmt != "json")
    counts: Counter[str] = Counter()
    n = 0
    for ev in _events_from_files([sample], fmt, counts):
        for a in eng.process(ev):
            _dump(a)
            n += 1
    for a in eng.flush(FAR_FUTURE):
        _dump(a)
        n += 1
    err_console.print(f"{n} alerts from {counts['events']} events ({counts['unparsed']} lines unparsed)",
                      markup=False)
    if n == 0:
        raise typer.Exit(1)


@rules_app.command("backtest")
def rules_backtest(
    rule: Path = typer.Argument(..., help="Rule file or folder."),
    days: int = typer.Option(7, "--days", min=1, help="How many days back from now."),
) -> None:
    """Alerts per day the rule would have raised over the stored events of the last N days."""
    from rich.table import Table

    from detectors.sigma.hunt import hunt as run_hunt

    now = datetime.now(UTC)
    start = (now - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    eng = _engine([rule], ignore_logsource=False, field_mapping=True)
    per_day: Counter[str] = Counter()
    per_rule: Counter[str] = Counter()
    for a in run_hunt(eng, _stored(rule, start, now), FAR_FUTURE):
        per_day[str(a["@timestamp"])[:10]] += 1
        per_rule[a["rule"]["name"]] += 1
    table = Table(title=f"{rule}: alerts per day since {start.date()}")
    table.add_column("day")
    table.add_column("alerts", justify="right")
    d = start.date()
    while d <= now.date():
        table.add_row(d.isoformat(), str(per_day.get(d.isoformat(), 0)))
        d += timedelta(days=1)
    from rich.console import Console

    Console().print(table)
    for name, n in per_rule.most_common():
        print(f"{n:6d}  {name}")
    err_console.print(f"{eng.stats['events']} events scanned, {sum(per_day.values())} alerts", markup=False)


@rules_app.command("convert")
def rules_convert(
    rule: Path = typer.Argument(..., help="Rule file."),
    target: str = typer.Option("lucene", "--target", "-t", help="elasticsearch|lucene|esql|eql|sqlite"),
) -> None:
    """Print the rule as a query for another engine, with this project's ECS field mapping."""
    from sigma.exceptions import SigmaError

    from detectors.sigma.convert import TARGETS, convert
    from detectors.sigma.logsources import UnsupportedLogsource

    if target not in TARGETS:
        fail(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}", code=64)
    if not rule.is_file():
        fail(f"rule file not found: {rule}", code=66)
    try:
        queries = convert(rule.read_text(encoding="utf-8"), target)
    except (SigmaError, UnsupportedLogsource, ValueError) as exc:
        fail(f"{rule}: cannot convert: {exc}", code=65)
    if not queries:
        fail(f"{rule}: no detection rule to convert (correlation and filter rules are evaluated by "
             "the engine only; use soc hunt)", code=65)
    for q in queries:
        print(q)


def register(app: typer.Typer) -> None:
    app.command("detect")(detect)
    app.command("hunt")(hunt)
    app.add_typer(rules_app, name="rules")
