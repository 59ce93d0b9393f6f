"""Clear errors without Spark: Java missing, no model yet, empty windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from detectors.anomaly import service
from detectors.anomaly.errors import EmptyWindowError, SparkUnavailableError
from detectors.anomaly.spark_session import check_java, event_files, read_events
from soc.config import Settings


def test_missing_java_is_named_with_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    with pytest.raises(SparkUnavailableError) as exc:
        check_java()
    assert "openjdk-17-jre-headless" in str(exc.value) and "JAVA_HOME" in str(exc.value)


def test_scheduler_disables_itself_without_java(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from detectors.anomaly.scheduler import AnomalyScheduler

    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    got: list[list[dict]] = []
    sched = AnomalyScheduler(Settings(data_dir=tmp_path), got.append)
    assert sched.run_once(datetime(2026, 3, 2, tzinfo=UTC)) == []
    assert sched.disabled_reason and "Java" in sched.disabled_reason
    assert sched.run_once() == [] and got == []


def test_no_model_yet_skips_families(tmp_path: Path) -> None:
    summary = service.RunSummary()
    now = datetime(2026, 3, 2, tzinfo=UTC)
    assert service.run_scoring(Settings(data_dir=tmp_path), now - timedelta(hours=1), now, summary=summary) == []
    assert set(summary.skipped) == {"event", "entity"}
    assert "soc anomaly train" in summary.skipped["event"]


def test_empty_window(tmp_path: Path) -> None:
    day = tmp_path / "events" / "day=2026-03-02" / "dataset=x"
    day.mkdir(parents=True)
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert event_files(tmp_path / "events", now - timedelta(hours=1), now) == []  # folder without files
    with pytest.raises(EmptyWindowError, match="no stored events between"):
        read_events(None, tmp_path / "events", now - timedelta(hours=1), now)  # type: ignore[arg-type]
