"""Analyst verdicts: confirmed-benign anomaly alerts, kept as data in ``<data_dir>/models/anomaly/``.

``record_benign`` appends one JSON line per alert to ``feedback.jsonl``
(family, entity, window, feature values, who and why). Two effects follow:

* training leaves out the entity's events/windows of a verdict, so a benign
  oddity that was itself anomalous does not become part of "normal" only
  because it was labelled (the model keeps learning from unlabelled data);
* scoring suppresses a new alert of the same family on the same entity whose
  top features are those of a verdict with values within a factor
  (``anomaly.suppress_similarity``, default 2) of the confirmed values - the
  same benign pattern, not anything the entity does later.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_lock = threading.Lock()


def feedback_path(data_dir: Path) -> Path:
    return data_dir / "models" / "anomaly" / "feedback.jsonl"


def _verdict(alert: dict[str, Any], by: str, note: str) -> dict[str, Any]:
    if alert.get("kind") != "anomaly":
        raise ValueError(f"alert {alert.get('id')} is a {alert.get('kind')!r} alert, not an anomaly alert")
    m = alert.get("match") or {}
    ent = alert.get("entity") or {}
    if not ent.get("value") or not isinstance(m.get("window"), dict):
        raise ValueError(f"alert {alert.get('id')} lacks an entity or a window; it is not from the anomaly model")
    return {
        "alert_id": alert.get("id"),
        "family": m.get("family"),
        "entity": {"type": ent.get("type"), "value": ent.get("value")},
        "window": {"start": m["window"].get("start"), "end": m["window"].get("end"),
                   "kind": m["window"].get("kind")},
        "features": {t["feature"]: t.get("value") for t in m.get("top_features", []) if "feature" in t},
        "score": m.get("score"),
        "by": by,
        "note": note,
        "recorded": datetime.now(UTC).isoformat(),
    }


def record_benign(data_dir: Path, alerts: list[dict[str, Any]], by: str = "analyst", note: str = "") -> int:
    """Store confirmed-benign verdicts for ``alerts``; returns how many were stored (raises on a non-anomaly)."""
    verdicts = [_verdict(a, by, note) for a in alerts]
    path = feedback_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock, path.open("a", encoding="utf-8") as fh:
        for v in verdicts:
            fh.write(json.dumps(v, ensure_ascii=False, default=str) + "\n")
    return len(verdicts)


def load(data_dir: Path) -> list[dict[str, Any]]:
    """All verdicts; unreadable lines are skipped (they were never written by us whole)."""
    path = feedback_path(data_dir)
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            v = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(v, dict) and isinstance(v.get("entity"), dict):
            out.append(v)
    return out


def _close(a: Any, b: Any, factor: float) -> bool:
    try:
        x, y = float(a), float(b)
    except (TypeError, ValueError):
        return a == b
    if x == y:
        return True
    if x <= 0 or y <= 0:
        return abs(x - y) <= 1e-9
    return max(x / y, y / x) <= factor


def suppressed_by(alert: dict[str, Any], verdicts: list[dict[str, Any]], factor: float) -> dict[str, Any] | None:
    """The verdict that makes ``alert`` a repeat of a confirmed-benign pattern, if any."""
    m = alert.get("match") or {}
    ent = alert.get("entity") or {}
    feats = {t["feature"]: t.get("value") for t in m.get("top_features", [])}
    for v in verdicts:
        if v.get("family") != m.get("family") or v["entity"].get("value") != ent.get("value") \
                or v["entity"].get("type") != ent.get("type"):
            continue
        if (v.get("window") or {}).get("kind") != (m.get("window") or {}).get("kind"):
            continue
        vf = v.get("features") or {}
        if vf and set(vf) == set(feats) and all(_close(feats[k], vf[k], factor) for k in vf):
            return v
    return None
