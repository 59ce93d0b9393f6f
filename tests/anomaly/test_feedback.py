"""Benign verdicts: stored as data, suppress the same pattern on the same entity, nothing broader."""

from __future__ import annotations

from pathlib import Path

import pytest

from detectors.anomaly import feedback
from detectors.base import make_alert


def _alert(value: str = "pc1", bytes_out: float = 45e6, family: str = "entity", kind: str = "hour") -> dict:
    return make_alert(kind="anomaly", rule={"id": "anomaly-entity-host-hour", "name": "x", "level": "medium"},
                      events=[], entity={"type": "host", "value": value},
                      match={"family": family, "score": 0.8,
                             "window": {"kind": kind, "start": "2026-03-02T01:00:00Z",
                                        "end": "2026-03-02T02:00:00Z"},
                             "top_features": [{"feature": "bytes_out", "value": bytes_out},
                                              {"feature": "distinct_destinations", "value": 3.0}]})


def test_record_and_suppress(tmp_path: Path) -> None:
    assert feedback.record_benign(tmp_path, [_alert()], by="an", note="backup job") == 1
    vs = feedback.load(tmp_path)
    assert vs[0]["entity"] == {"type": "host", "value": "pc1"} and vs[0]["note"] == "backup job"
    assert feedback.suppressed_by(_alert(bytes_out=60e6), vs, 2.0) is not None  # same pattern, a bit more
    assert feedback.suppressed_by(_alert(bytes_out=500e6), vs, 2.0) is None  # ten times more: alert again
    assert feedback.suppressed_by(_alert(value="pc2"), vs, 2.0) is None  # another host
    assert feedback.suppressed_by(_alert(family="event"), vs, 2.0) is None
    assert feedback.suppressed_by(_alert(kind="day"), vs, 2.0) is None


def test_only_anomaly_alerts_are_accepted(tmp_path: Path) -> None:
    sigma = make_alert(kind="sigma", rule={"id": "r"}, events=[{"host": {"name": "pc1"}}])
    with pytest.raises(ValueError, match="not an anomaly alert"):
        feedback.record_benign(tmp_path, [sigma])
    assert feedback.load(tmp_path) == []


def test_unreadable_lines_are_skipped(tmp_path: Path) -> None:
    feedback.record_benign(tmp_path, [_alert()])
    with feedback.feedback_path(tmp_path).open("a") as fh:
        fh.write("{broken\n")
    assert len(feedback.load(tmp_path)) == 1
