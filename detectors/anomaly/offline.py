"""Score a log file without the event store or Spark: ``soc anomaly score --input FILE``.

Every line is parsed with the named connector parser; the per-event model is
fitted unsupervised on the file itself (or taken from ``--model``), then one
JSON object is written per input line *in input order*: the parsed ECS
document with ``anomaly.score`` (higher = more anomalous), ``anomaly.line``
(1-based input line) and ``anomaly.top_features``. A line that cannot be
parsed, or has nothing to score, still gets an object - ``anomaly.score`` is
``null`` and ``anomaly.reason`` says why - so that output line *n* always
belongs to input line *n*. (A parser that turns one line into several
events gives several objects with the same ``anomaly.line``.)

The features are the same pandas code the Spark job runs, so scores match.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from detectors.anomaly import event_features as ef
from detectors.anomaly.event_model import NO_FIELDS, EventModel, fit
from soc import ecs
from soc.storage.schema import COLUMNS, parse_ts

_INT = set(ef.NUMERIC_COLUMNS)


def doc_to_row(doc: dict[str, Any]) -> dict[str, Any]:
    """The stored-column view of one ECS document (what Spark reads), tolerant of any bad value."""
    row: dict[str, Any] = {}
    for col in ef.EVENT_COLUMNS:
        v = ecs.get(doc, COLUMNS[col][0])
        if col == "ts":
            v = parse_ts(v)
        elif col in _INT:
            if isinstance(v, bool) or v is None:
                v = None
            else:
                try:
                    f = float(v)
                    v = f if math.isfinite(f) and abs(f) < 2**63 else None
                except (TypeError, ValueError):
                    v = None
        elif isinstance(v, list):
            v = ",".join(str(x) for x in v)
        elif v is not None and not isinstance(v, str):
            v = str(v)
        row[col] = v
    return row


@dataclass
class FileResult:
    lines: int = 0
    events: int = 0
    unparsed: int = 0
    unscored: int = 0
    fitted: bool = False


def score_lines(lines: Iterable[str], parse: Callable[[str], list[dict[str, Any]]], *,
                model: EventModel | None = None, seed: int = 42, n_estimators: int = 200,
                tz: str = "Asia/Ho_Chi_Minh", work_hours: tuple[int, int] = (7, 18),
                result: FileResult | None = None, progress: Callable[[str], None] | None = None,
                ) -> Iterator[dict[str, Any]]:
    """Yield one output object per input line (see the module docstring), in input order."""
    res = result if result is not None else FileResult()
    step = progress or (lambda _m: None)
    slots: list[tuple[int, dict[str, Any] | None, str | None]] = []  # (line, doc or None, reason)
    for n, raw in enumerate(lines, 1):
        res.lines += 1
        line = raw.rstrip("\r\n")
        if not line.strip():
            slots.append((n, None, "empty line"))
            res.unparsed += 1
            continue
        try:
            docs = parse(line)
        except Exception as exc:  # a parser must raise ParseError, but one bad parser must not lose the file
            slots.append((n, None, f"not parsed: {getattr(exc, 'reason', None) or exc}"))
            res.unparsed += 1
            continue
        good = [d for d in docs if isinstance(d, dict)]
        if not good:
            slots.append((n, None, "the parser returned no event"))
            res.unparsed += 1
        for d in good:
            slots.append((n, d, None))
    step(f"parsed {res.lines:,} lines")
    idx = [i for i, (_, d, _) in enumerate(slots) if d is not None]
    res.events = len(idx)
    scores = np.full(len(slots), np.nan)
    explains: dict[int, list[dict[str, Any]]] = {}
    if idx:
        pdf = pd.DataFrame([doc_to_row(slots[i][1]) for i in idx])  # type: ignore[arg-type]
        if model is None:
            model = fit(pdf.copy(), ef.fit_tables(pdf), seed=seed, n_estimators=n_estimators, tz=tz,
                        work_hours=work_hours)
            res.fitted = True
            step("fitted the per-event model on the file")
        s, feats, k = model.score_frame(pdf)
        scores[idx] = s
        top_rows = np.argsort(-np.nan_to_num(s, nan=-1.0))[: max(1, min(len(s), 1000))]
        frecs = feats.iloc[top_rows].to_dict("records")
        krecs = k.iloc[top_rows].to_dict("records")
        for j, r, kr in zip(top_rows, frecs, krecs, strict=True):
            if not math.isnan(s[j]):
                explains[idx[j]] = model.explain(r, kr)
    for i, (n, doc, reason) in enumerate(slots):
        out: dict[str, Any] = dict(doc) if doc is not None else {}
        an: dict[str, Any] = {"line": n}
        if doc is None:
            an.update(score=None, reason=reason)
        elif math.isnan(scores[i]):
            res.unscored += 1
            an.update(score=None, reason=NO_FIELDS)
        else:
            an["score"] = round(float(scores[i]), 6)
            if i in explains:
                an["top_features"] = explains[i]
        out["anomaly"] = an
        yield out


def dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str, separators=(",", ":"))
