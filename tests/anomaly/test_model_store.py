"""Model files: versioned with a manifest; another schema, a tampered file or a foreign file is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from detectors.anomaly import event_features as ef
from detectors.anomaly import model_store
from detectors.anomaly.errors import ModelNotFoundError, ModelSchemaError
from detectors.anomaly.event_model import fit


def _model() -> object:
    pdf = ef.ensure_columns(pd.DataFrame([{"destination_port": 443 + i % 3, "source_bytes": 100 + i}
                                          for i in range(50)]))
    return fit(pdf.copy(), ef.fit_tables(pdf), seed=1, n_estimators=10)


def _save(tmp_path: Path, **over: object) -> Path:
    manifest = {"feature_schema": ef.FEATURE_SCHEMA, "features": ef.FEATURE_NAMES,
                "training_window": {"start": "a", "end": "b"}, "seed": 1, "rows": 50, **over}
    return model_store.save(tmp_path, "event", _model(), manifest)


def _load(path: Path) -> model_store.Loaded:
    return model_store.load(path, family="event", feature_schema=ef.FEATURE_SCHEMA, features=ef.FEATURE_NAMES)


def test_round_trip_and_latest(tmp_path: Path) -> None:
    a = _save(tmp_path)
    b = _save(tmp_path)
    assert model_store.latest(tmp_path, "event") == b != a
    loaded = _load(b)
    m = json.loads((b / "manifest.json").read_text())
    assert m["seed"] == 1 and m["training_window"] == {"start": "a", "end": "b"} and len(m["sha256"]) == 64
    assert loaded.model.features == ef.FEATURE_NAMES  # type: ignore[attr-defined]
    assert _load(b / "model.joblib").path == b  # the file path works too


def test_no_model_yet(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="soc anomaly train"):
        model_store.latest(tmp_path, "event")


def test_other_feature_schema_is_refused(tmp_path: Path) -> None:
    old = _save(tmp_path, feature_schema="event-v0", features=[*ef.FEATURE_NAMES[:-1], "old_feature"])
    with pytest.raises(ModelSchemaError) as exc:
        _load(old)
    msg = str(exc.value)
    assert "event-v0" in msg and "old_feature" in msg and ef.FEATURE_NAMES[-1] in msg and "retrain" in msg


def test_tampered_or_foreign_files_are_refused(tmp_path: Path) -> None:
    v = _save(tmp_path)
    with (v / "model.joblib").open("ab") as fh:
        fh.write(b"x")
    with pytest.raises(ModelSchemaError, match="checksum"):
        _load(v)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "model.joblib").write_bytes(b"not ours")
    with pytest.raises(ModelSchemaError, match="no manifest"):
        _load(foreign / "model.joblib")
    with pytest.raises(ModelSchemaError, match="'entity' model is needed"):
        model_store.load(_save(tmp_path), family="entity", feature_schema="x", features=[])


def test_cli_refuses_a_model_from_another_schema(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from soc.cli.main import app

    old = _save(tmp_path, feature_schema="event-v0")
    src = tmp_path / "in.jsonl"
    src.write_text('{"destination": {"port": 22}}\n')
    r = CliRunner().invoke(app, ["anomaly", "score", "--input", str(src), "--format", "json",
                                 "--per-event", str(tmp_path / "o.jsonl"), "--model", str(old)])
    assert r.exit_code == 1 and "feature schema" in r.output


def test_scheduler_retrains_a_model_of_another_schema(tmp_path: Path) -> None:
    """After an upgrade of the features, the scheduler treats the old model as missing instead of failing."""
    from datetime import UTC, datetime

    from detectors.anomaly.scheduler import AnomalyScheduler
    from soc.config import Settings

    sched = AnomalyScheduler(Settings(data_dir=tmp_path), lambda _alerts: None)
    now = datetime.now(UTC)
    _save(tmp_path, feature_schema="event-v0")
    assert sched._model_age("event", now) is None
    _save(tmp_path)
    age = sched._model_age("event", now)
    assert age is not None and abs(age.total_seconds()) < 600
