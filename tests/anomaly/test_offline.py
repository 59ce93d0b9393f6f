"""``soc anomaly score --input``: one output line per input line, in order, with honest nulls."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from connectors.parsers import ParseContext, parse_line
from detectors.anomaly import offline
from soc.cli.main import app
from tests.anomaly.conftest import firewall_event


def _parse(line: str) -> list[dict]:
    return parse_line("json", line, ParseContext())


def test_order_nulls_and_outlier(normal_lines: list[str]) -> None:
    rng = np.random.default_rng(9)
    odd = json.dumps(firewall_event(7, rng, **{"source.bytes": 900_000_000, "destination.port": 31337,
                                               "event.duration": int(3600e9)}))
    lines = normal_lines[:150] + ["not json at all", "", odd, '{"message": "no network fields"}',
                                  "[1, 2]"] + normal_lines[150:]
    res = offline.FileResult()
    out = list(offline.score_lines(lines, _parse, seed=1, result=res))
    assert len(out) == len(lines)
    assert [o["anomaly"]["line"] for o in out] == list(range(1, len(lines) + 1))
    assert out[150]["anomaly"]["score"] is None and out[150]["anomaly"]["reason"].startswith("not parsed")
    assert out[151]["anomaly"] == {"line": 152, "score": None, "reason": "empty line"}
    assert out[153]["anomaly"]["score"] is None and "no network or web fields" in out[153]["anomaly"]["reason"]
    assert out[154]["anomaly"]["score"] is None  # a JSON array is not an event
    scores = [o["anomaly"]["score"] for o in out if o["anomaly"]["score"] is not None]
    assert out[152]["anomaly"]["score"] == max(scores)
    assert out[152]["source"]["bytes"] == 900_000_000  # the event itself is kept
    assert out[152]["anomaly"]["top_features"]
    assert res.events == len(normal_lines) + 2 and res.unparsed == 3 and res.unscored == 1


def test_reproducible_with_the_same_seed(normal_lines: list[str]) -> None:
    a = [o["anomaly"]["score"] for o in offline.score_lines(normal_lines, _parse, seed=5)]
    b = [o["anomaly"]["score"] for o in offline.score_lines(normal_lines, _parse, seed=5)]
    c = [o["anomaly"]["score"] for o in offline.score_lines(normal_lines, _parse, seed=6)]
    assert a == b
    assert a != c


def test_all_lines_unparseable_gives_nulls_not_a_crash() -> None:
    out = list(offline.score_lines(["x", "y"], _parse))
    assert [o["anomaly"]["score"] for o in out] == [None, None]


def test_cli_input_mode(tmp_path: Path, normal_lines: list[str]) -> None:
    src = tmp_path / "events.jsonl"
    src.write_text("\n".join(normal_lines + ["garbage"]) + "\n", encoding="utf-8")
    out = tmp_path / "scores.jsonl"
    r = CliRunner().invoke(app, ["anomaly", "score", "--input", str(src), "--format", "json",
                                 "--per-event", str(out)], env={"SOC_DATA_DIR": str(tmp_path / "data")})
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(normal_lines) + 1
    assert rows[-1]["anomaly"]["score"] is None
    assert all(isinstance(x["anomaly"]["score"], float) for x in rows[:-1])


def test_cli_input_mode_errors(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["anomaly", "score", "--input", str(tmp_path / "missing.log"), "--format",
                                 "json", "--per-event", str(tmp_path / "o.jsonl")])
    assert r.exit_code == 2 and "no such file" in r.output
    f = tmp_path / "a.log"
    f.write_text("{}\n")
    r = CliRunner().invoke(app, ["anomaly", "score", "--input", str(f), "--format", "nope", "--per-event",
                                 str(tmp_path / "o.jsonl")])
    assert r.exit_code == 2 and "unknown format" in r.output
