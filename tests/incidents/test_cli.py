"""The incident commands through the real `soc` CLI (typer), on the same database as the engine."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from soc.cli.common import state as cli_state
from soc.cli.main import app

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(env: Any, tmp_path: Path) -> Iterator[Any]:
    cfg = tmp_path / "soc.toml"
    inc = env.settings.incidents
    cfg.write_text(f"""
data_dir = "{env.settings.data_dir}"
inventory = "{env.settings.inventory}"
[incidents]
playbooks_dir = "{inc.playbooks_dir}"
profile = "{inc.profile}"
[incidents.smtp]
host = "127.0.0.1"
port = {inc.smtp.port}
""", encoding="utf-8")
    cli_state._settings = None
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, ["-c", str(cfg), *args])

    yield run
    cli_state._settings = None


def test_playbooks_check(cli: Any, tmp_path: Path) -> None:
    r = cli("playbooks", "check")
    assert r.exit_code == 0, r.output
    assert "profile OK: vn-2026" in r.output
    bad = tmp_path / "pb"
    shutil.copytree(REPO / "playbooks", bad)
    text = (bad / "dos.yaml").read_text(encoding="utf-8")
    (bad / "dos.yaml").write_text(text.replace("type: contain", "type: launch_missiles", 1), encoding="utf-8")
    r = cli("playbooks", "check", "--dir", str(bad))
    assert r.exit_code == 1
    assert "dos.yaml" in r.output and "type" in r.output


def test_list_deliver_transition_report(cli: Any, env: Any, tmp_path: Path) -> None:
    env.alert("SSH brute force", tags=["attack.t1110"])
    r = cli("incidents", "list")
    assert r.exit_code == 0 and "HP-" in r.output and "1 incident(s)" in r.output
    r = cli("notices", "deliver")
    assert r.exit_code == 0 and "sent 2" in r.output, r.output
    assert len(env.box.messages) == 1
    r = cli("incidents", "transition", "1", "closed")
    assert r.exit_code == 1 and "cannot go from 'new' to 'closed'" in r.output
    assert cli("incidents", "transition", "1", "triage", "--reason", "checking").exit_code == 0
    out = tmp_path / "r.csv"
    r = cli("report", "assessor", "--agency", "sotttt", "--format", "csv", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert out.read_text(encoding="utf-8-sig").count("\n") == 2
    r = cli("report", "assessor", "--agency", "nobody")
    assert r.exit_code == 1 and "unknown agency" in r.output
    pdf = tmp_path / "f.pdf"
    assert cli("incidents", "form", "1", "form03", "-o", str(pdf)).exit_code == 0
    assert pdf.read_bytes()[:5] == b"%PDF-"
