"""``soc anomaly benign`` and ``soc anomaly models`` through the real CLI (no Spark needed)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from detectors.anomaly import feedback
from soc.cli.main import app
from tests.anomaly.test_feedback import _alert
from tests.anomaly.test_model_store import _save


def test_benign_records_verdicts(tmp_path: Path) -> None:
    f = tmp_path / "alerts.jsonl"
    f.write_text(json.dumps(_alert()) + "\n" + json.dumps(_alert(value="pc9")) + "\n")
    r = CliRunner().invoke(app, ["anomaly", "benign", str(f), "--by", "lan", "--note", "backup"],
                           env={"SOC_DATA_DIR": str(tmp_path)})
    assert r.exit_code == 0, r.output
    vs = feedback.load(tmp_path)
    assert [v["entity"]["value"] for v in vs] == ["pc1", "pc9"] and vs[0]["by"] == "lan"


def test_benign_refuses_bad_input(tmp_path: Path) -> None:
    f = tmp_path / "alerts.jsonl"
    f.write_text("{not json\n")
    r = CliRunner().invoke(app, ["anomaly", "benign", str(f)], env={"SOC_DATA_DIR": str(tmp_path)})
    assert r.exit_code == 2 and "cannot read alerts" in r.output
    f.write_text(json.dumps({"kind": "sigma", "id": "x"}) + "\n")
    r = CliRunner().invoke(app, ["anomaly", "benign", str(f)], env={"SOC_DATA_DIR": str(tmp_path)})
    assert r.exit_code == 2 and "not an anomaly alert" in r.output
    assert feedback.load(tmp_path) == []


def test_models_lists_versions(tmp_path: Path) -> None:
    v = _save(tmp_path)
    r = CliRunner().invoke(app, ["anomaly", "models"], env={"SOC_DATA_DIR": str(tmp_path), "COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert v.name[:15] in r.output and "event-v1" in r.output


def test_score_rejects_bad_dates(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["anomaly", "score", "--from", "yesterday"], env={"SOC_DATA_DIR": str(tmp_path)})
    assert r.exit_code == 2 and "ISO 8601" in r.output
