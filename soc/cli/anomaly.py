"""``soc anomaly``: train the Spark anomaly models, score the event store or a file, record verdicts."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from soc.cli.common import fail, settings

console = Console(stderr=True, highlight=False)
anomaly_app = typer.Typer(help="Spark anomaly model: find what no rule describes (docs/anomaly.md).",
                          no_args_is_help=True)


def _when(value: str | None, default: datetime, tz: Any) -> datetime:
    if not value:
        return default
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail(f"cannot read the date {value!r}; use ISO 8601 such as 2026-03-01 or 2026-03-01T08:00+07:00", 2)
    return dt if dt.tzinfo else dt.replace(tzinfo=tz)


@contextmanager
def _progress(title: str) -> Iterator[Any]:
    t0 = time.monotonic()
    with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True) as prog:
        task = prog.add_task(title, total=None)

        def step(msg: str) -> None:
            console.print(f"  [dim]{time.monotonic() - t0:6.1f}s[/] {msg}")
            prog.update(task, description=f"{title}: {msg}")

        yield step


def _errors() -> tuple[type[Exception], ...]:
    from detectors.anomaly.errors import AnomalyError

    return (AnomalyError,)


@anomaly_app.command("train")
def train_cmd(
    from_: str = typer.Option(None, "--from", help="Start of the baseline (default: --to minus baseline_days)."),
    to: str = typer.Option(None, "--to", help="End of the baseline, exclusive (default: now)."),
) -> None:
    """Fit the per-event and per-entity models on stored events and save a new version of each."""
    from detectors.anomaly import service

    s = settings()
    tz = s.tzinfo()
    end = _when(to, datetime.now(tz), tz)
    start = _when(from_, end - timedelta(days=s.anomaly.baseline_days), tz)
    if start >= end:
        fail(f"--from ({start.isoformat()}) must be before --to ({end.isoformat()})", 2)
    try:
        with _progress("training") as step:
            result = service.train(s, start, end, progress=step)
    except _errors() as exc:
        fail(str(exc), 1)
    t = Table(title=f"anomaly models trained on {start.isoformat()} .. {end.isoformat()}")
    t.add_column("family")
    t.add_column("saved to")
    t.add_column("training rows", justify="right")
    for fam, info in result.items():
        t.add_row(fam, info["path"], f"{info.get('rows', info.get('entity_windows', 0)):,}")
    Console().print(t)


@anomaly_app.command("score")
def score_cmd(
    from_: str = typer.Option(None, "--from", help="Start of the scored window (default: --to minus one day)."),
    to: str = typer.Option(None, "--to", help="End of the scored window, exclusive (default: now)."),
    output: Path = typer.Option(None, "--output", "-o", help="Write the alerts here (JSON lines; default stdout)."),
    input_: Path = typer.Option(None, "--input", help="Score this log file instead of the event store."),
    fmt: str = typer.Option("json", "--format", help="Parser for --input (connectors.parsers format name)."),
    per_event: Path = typer.Option(None, "--per-event", help="With --input: one JSON line per input line."),
    model: Path = typer.Option(None, "--model", help="Per-event model folder to use (default: fit on --input; "
                                                     "for the store, the newest)."),
) -> None:
    """Score stored events (alerts out) or, with --input, every line of a file (scores out)."""
    if input_ is not None:
        _score_file(input_, fmt, per_event, model)
        return
    if per_event is not None:
        fail("--per-event needs --input FILE", 2)
    from detectors.anomaly import service

    s = settings()
    tz = s.tzinfo()
    end = _when(to, datetime.now(tz), tz)
    start = _when(from_, end - timedelta(days=1), tz)
    summary = service.RunSummary()
    try:
        with _progress("scoring") as step:
            if model is not None:
                alerts = service.score_events(s, start, end, summary, model_path=model)
                summary.alerts = alerts
            else:
                alerts = service.run_scoring(s, start, end, progress=step, summary=summary)
    except _errors() as exc:
        fail(str(exc), 1)
    out = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        for a in alerts:
            out.write(json.dumps(a, ensure_ascii=False, default=str) + "\n")
    finally:
        if output:
            out.close()
    t = Table(title=f"anomaly scoring {start.isoformat()} .. {end.isoformat()}")
    for c in ("family", "scored", "above threshold", "model"):
        t.add_column(c)
    for fam, st in summary.family_stats.items():
        t.add_row(fam, f"{st['scored']:,} of {st.get('events', st.get('windows', 0)):,}",
                  f"{st['above_threshold']:,}", st["model"])
    for fam, why in summary.skipped.items():
        t.add_row(fam, "skipped", "", why)
    console.print(t)
    console.print(f"{len(alerts)} alert(s) written to {output or 'stdout'}; {summary.suppressed} suppressed by "
                  "benign verdicts")


def _score_file(path: Path, fmt: str, per_event: Path | None, model_path: Path | None) -> None:
    from connectors.parsers import FORMATS, ParseContext, get_parser
    from detectors.anomaly import event_features as ef
    from detectors.anomaly import model_store, offline

    if per_event is None:
        fail("--input needs --per-event OUT.jsonl (where the per-line scores go)", 2)
    if fmt != "auto" and fmt not in FORMATS:
        fail(f"unknown format {fmt!r}; known: auto, {', '.join(sorted(FORMATS))}", 2)
    if not path.is_file():
        fail(f"{path}: no such file", 2)
    s = settings()
    model = None
    if model_path is not None:
        try:
            model = model_store.load(model_path, family="event", feature_schema=ef.FEATURE_SCHEMA,
                                     features=ef.FEATURE_NAMES).model
        except _errors() as exc:
            fail(str(exc), 1)
    ctx = ParseContext(tz=s.tzinfo())
    try:
        get = get_parser(fmt)
    except (KeyError, ImportError) as exc:
        fail(f"format {fmt!r} is not available: {exc}", 2)

    def parse(line: str) -> list[dict[str, Any]]:
        out = get(line, ctx)
        return out if isinstance(out, list) else [out]

    res = offline.FileResult()
    with _progress(f"scoring {path.name}") as step, \
            path.open(encoding="utf-8", errors="replace", newline="") as fh, \
            per_event.open("w", encoding="utf-8") as out:
        for obj in offline.score_lines(fh, parse, model=model, seed=s.anomaly.seed,
                                       n_estimators=s.anomaly.n_estimators, tz=s.timezone,
                                       work_hours=s.anomaly.work_hours, result=res, progress=step):
            out.write(offline.dumps(obj) + "\n")
    console.print(f"{res.lines:,} lines: {res.events:,} events scored "
                  f"({'model fitted on the file' if res.fitted else f'model {model_path}'}), "
                  f"{res.unparsed:,} not parsed, {res.unscored:,} without fields to score -> {per_event}")


@anomaly_app.command("benign")
def benign_cmd(
    alerts_file: Path = typer.Argument(..., help="Anomaly alerts (JSON lines, as 'soc anomaly score' writes)."),
    by: str = typer.Option("analyst", "--by", help="Who confirmed them benign."),
    note: str = typer.Option("", "--note", help="Why."),
) -> None:
    """Record alerts as confirmed benign: left out of the next training, similar alerts suppressed."""
    from detectors.anomaly import feedback

    s = settings()
    try:
        alerts = [json.loads(line) for line in alerts_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError) as exc:
        fail(f"{alerts_file}: cannot read alerts ({exc})", 2)
    try:
        n = feedback.record_benign(s.data_dir, alerts, by=by, note=note)
    except ValueError as exc:
        fail(str(exc), 2)
    console.print(f"{n} verdict(s) recorded in {feedback.feedback_path(s.data_dir)}")


@anomaly_app.command("models")
def models_cmd() -> None:
    """List the saved model versions with their training window and feature schema."""
    from detectors.anomaly import model_store

    s = settings()
    t = Table(title="anomaly models")
    for c in ("family", "version", "training window", "schema", "rows", "seed"):
        t.add_column(c)
    for fam in ("event", "entity"):
        for v in model_store.versions(s.data_dir, fam):
            m = json.loads((v / "manifest.json").read_text(encoding="utf-8"))
            w = m.get("training_window", {})
            t.add_row(fam, m.get("version", v.name), f"{w.get('start')} .. {w.get('end')}",
                      str(m.get("feature_schema")), f"{m.get('rows', 0):,}", str(m.get("seed")))
    Console().print(t)


def register(app: typer.Typer) -> None:
    app.add_typer(anomaly_app, name="anomaly")
