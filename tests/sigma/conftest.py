"""Fixtures for the Sigma engine tests: shared material paths and a rule-writing helper."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / ".." / "shared"
SIGMA = SHARED / "sigma"
SPEC = SHARED / "sigma-specification"
SIGMAHQ_DIRS = ["rules", "rules-emerging-threats", "rules-threat-hunting", "rules-placeholder", "rules-compliance"]


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared test material absent: {path}")
    return path


def shared_evtx_events(limit: int | None = None) -> list[dict]:
    """The shared EVTX recordings parsed as ``winlog`` events (at most ``limit``); skips if they are absent."""
    from connectors.evtx_reader import iter_evtx, record_line
    from connectors.parsers import ParseContext, parse_line

    events: list[dict] = []
    for f in sorted(need(SHARED / "evtx").rglob("*.evtx")):
        try:
            for rec, _ in iter_evtx(f):
                if rec is not None:
                    events.extend(parse_line("winlog", record_line(rec), ParseContext()))
                if limit is not None and len(events) >= limit:
                    return events[:limit]
        except Exception:  # an unreadable recording is not what these tests are about
            continue
    return events


@pytest.fixture
def write_rule(tmp_path: Path):
    """Write YAML text (dedented) to a new rule file under tmp_path/rules and return the file."""
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    counter = {"n": 0}

    def _write(text: str, name: str | None = None) -> Path:
        counter["n"] += 1
        p = folder / (name or f"rule_{counter['n']}.yml")
        p.write_text(textwrap.dedent(text), encoding="utf-8")
        return p

    return _write


@pytest.fixture(scope="session")
def sigmahq_engine():
    """Every SigmaHQ rule we support, loaded once for the session."""
    from detectors.sigma import SigmaEngine

    need(SIGMA / "rules")
    return SigmaEngine.from_paths([SIGMA / d for d in SIGMAHQ_DIRS if (SIGMA / d).exists()])


@pytest.fixture(scope="session")
def regression_cases():
    """(rule id, title, [raw EVTX-JSON events]) for every regression sample with JSON events."""
    import yaml

    from tests.sigma.evtx_adapter import read_concatenated_json

    root = need(SIGMA / "regression_data")
    cases = []
    for info in sorted(root.rglob("info.yml")):
        meta = yaml.safe_load(info.read_text(encoding="utf-8"))
        jsons = sorted(info.parent.glob("*.json"))
        if not jsons:
            continue
        raw = [e for j in jsons for e in read_concatenated_json(j)]
        rm = meta["rule_metadata"][0]
        cases.append((str(rm["id"]), rm.get("title", ""), raw))
    return cases
