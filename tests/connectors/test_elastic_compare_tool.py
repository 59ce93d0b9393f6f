"""The Elastic comparison tool itself: its equality rules, ``--diff`` listing and input reading."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.connectors import elastic_compare as ec


def test_values_equal_rules() -> None:
    assert ec.values_equal("@timestamp", "2022-01-01T10:00:00.000Z", "2022-01-01T05:00:00-05:00")
    assert not ec.values_equal("@timestamp", "2022-01-01T10:00:00.000Z", "2022-01-01T10:00:00-05:00")
    assert ec.values_equal("related.ip", ["a", "b"], ["b", "a"])
    assert not ec.values_equal("related.ip", ["a"], ["a", "a"])
    assert ec.values_equal("n", 1, 1.0) and not ec.values_equal("n", "1", 1)
    assert not ec.values_equal("event.action", "x", ["x"])  # shapes are not merged
    assert not ec.values_equal("b", True, 1)


def test_json_event_time_is_its_arrival(tmp_path: Path) -> None:
    p = tmp_path / "t.json"
    p.write_text(json.dumps({"events": [{"message": "a", "@timestamp": "2026-08-19T12:48:18.263Z"},
                                        {"message": "b"}, "junk"]}), encoding="utf-8")
    assert ec._inputs_timed(p) == [("a", datetime(2026, 8, 19, 12, 48, 18, 263000, tzinfo=UTC)),
                                   ("b", None), (None, None)]
    assert ec._inputs(p) == ["a", "b", None]
    log = tmp_path / "t.log"
    log.write_text("x\n\ny\n", encoding="utf-8")
    assert ec._inputs_timed(log) == [("x", None), ("y", None)]


def test_diff_lists_every_differing_value(capsys: pytest.CaptureFixture[str]) -> None:
    if not (ec.ELASTIC / "iptables").is_dir():
        pytest.skip(f"Elastic test logs not found under {ec.ELASTIC} (../shared is not checked out)")
    report = ec.compare_vendor("iptables")
    assert len(report.details) == report.compared - report.equal == sum(report.diffs.values())
    assert ec.main(["--diff", "iptables"]) == 0
    out = capsys.readouterr().out
    assert out.count("ours=") == len(report.details) and out.count("elastic=") == len(report.details)
    for name, n, key, _, _ in report.details:
        assert f"{name} #{n}" in out and key in out


def test_diff_needs_known_vendor(capsys: pytest.CaptureFixture[str]) -> None:
    assert ec.main(["--diff"]) == 2
    assert ec.main(["--diff", "nosuch"]) == 2
    assert "usage" in capsys.readouterr().err
