"""Whole-file ingestion through the pipeline, with a progress bar and reconciled counts."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from connectors.reading import is_evtx, iter_lines
from connectors.record import Record
from soc.pipeline import BatchResult, Pipeline


def _add(total: BatchResult, part: BatchResult) -> None:
    total.received += part.received
    total.parsed += part.parsed
    total.dead += part.dead
    total.events += part.events
    total.alerts += part.alerts
    total.alert_rows.extend(part.alert_rows)
    for name, c in part.per_source.items():
        t = total.per_source.setdefault(name, type(c)())
        t.received += c.received
        t.parsed += c.parsed
        t.dead += c.dead
        t.events += c.events
        if c.last_event and (t.last_event is None or c.last_event > t.last_event):
            t.last_event = c.last_event


def ingest_records(pipeline: Pipeline, records: Iterable[Record], batch_size: int = 2000) -> BatchResult:
    total = BatchResult()
    batch: list[Record] = []
    for rec in records:
        batch.append(rec)
        if len(batch) >= batch_size:
            _add(total, pipeline.process(batch))
            batch = []
    if batch:
        _add(total, pipeline.process(batch))
    return total


def ingest_paths(pipeline: Pipeline, paths: Sequence[str], *, fmt: str = "auto", source: str = "cli",
                 batch_size: int = 2000, progress: bool = False, tz: str | None = None,
                 host: str | None = None) -> BatchResult:
    """Read each file (plain, gzip, evtx) and run it through ``pipeline`` in batches."""
    total = BatchResult()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("lines"), TimeElapsedColumn(), disable=not progress, transient=False) as bar:
        for path in paths:
            if path != "-" and not Path(path).is_file():
                raise FileNotFoundError(f"{path}: no such file")
            size = os.path.getsize(path) if path != "-" else None
            task = bar.add_task(Path(path).name, total=None if size is None else _estimate_lines(path))
            file_fmt = "winlog" if is_evtx(path) and fmt in ("auto", "evtx") else fmt
            batch: list[Record] = []
            now = time.time()
            for line in iter_lines(path):
                batch.append(Record(source=source, format=file_fmt, line=line, received=now, tz=tz, host=host))
                if len(batch) >= batch_size:
                    _add(total, pipeline.process(batch))
                    bar.advance(task, len(batch))
                    batch = []
            if batch:
                _add(total, pipeline.process(batch))
                bar.advance(task, len(batch))
            bar.update(task, total=bar.tasks[task].completed)
    return total


def _estimate_lines(path: str) -> int | None:
    if is_evtx(path) or path.endswith(".gz"):
        return None
    with open(path, "rb") as fh:
        return sum(buf.count(b"\n") for buf in iter(lambda: fh.read(1 << 20), b"")) or None
