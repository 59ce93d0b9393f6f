"""The commands as a user runs them: soc deadletter list|replay, soc sources status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from connectors.record import Record

from .test_runner import ev, make_pipeline, make_settings

ROOT = Path(__file__).resolve().parents[2]


def soc(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOC_CONFIG": str(cfg), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "soc.cli.main", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_deadletter_list_replay_and_sources_status(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, '[[sources]]\nname = "fw"\ntype = "file"\nformat = "syslog"\n'
                                       f'path = "{tmp_path / "x.log"}"\n',
                             extra=f'[incidents]\nplaybooks_dir = "{ROOT / "playbooks"}"\n')
    pipe, state, store = make_pipeline(settings)
    lines = ["<13>Nov 30 08:00:00 host1 app: hello", "\x00 NUL inside", ev(1)]
    # Arrived as "json" (a wrong format); the config now says syslog.
    pipe.process([Record("fw", "json", ln, time.time()) for ln in lines])
    from connectors.health import HealthTracker

    tr = HealthTracker(settings.sources)
    tr.record("fw", received=3, parsed=1, dead=2, events=1, last_event="2026-11-30T01:00:00Z")
    tr.persist(state)
    state.dispose()
    cfg = tmp_path / "soc.toml"

    r = soc(cfg, "deadletter", "list", "--source", "fw", "--json")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(rows) == 2 and {x["source"] for x in rows} == {"fw"}
    r = soc(cfg, "deadletter", "list")
    assert r.returncode == 0 and "Dead letters: 2 shown of 2" in r.stdout and "soc deadletter replay" in r.stdout

    r = soc(cfg, "deadletter", "replay", "--source", "fw")
    assert r.returncode == 0, r.stderr
    assert "selected 2, replayed 1" in r.stdout and "still dead 1" in r.stdout and "counts reconcile" in r.stdout
    assert "NUL" in r.stdout
    from connectors.deadletter import list_dead
    from soc.storage.state import State

    assert list_dead(State(settings.state_url))[0] == 1
    assert store.count() == 2

    r = soc(cfg, "sources", "status", "--json")
    assert r.returncode == 0, r.stderr
    (fw,) = json.loads(r.stdout)
    assert (fw["name"], fw["received"], fw["parsed"], fw["dead"], fw["configured"]) == ("fw", 3, 1, 2, True)

    r = soc(cfg, "deadletter", "list", "--since", "yesterday")
    assert r.returncode == 2 and "--since" in r.stderr
