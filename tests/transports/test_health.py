"""Health counters: reconciliation, rate window, skew, silence, persistence."""

from __future__ import annotations

from pathlib import Path

from connectors.health import HealthTracker, load_health, silent_alert
from soc.config import SourceConfig
from soc.storage.state import State


def cfgs() -> list[SourceConfig]:
    return [SourceConfig(name="fw", type="syslog_udp", port=5514, silent_after_minutes=10),
            SourceConfig(name="never", type="syslog_udp", port=5515, silent_after_minutes=10),
            SourceConfig(name="off", type="syslog_udp", port=5516, silent_after_minutes=None)]


def test_counts_rate_skew_and_silence(tmp_path: Path) -> None:
    t = HealthTracker(cfgs())
    t0 = 1_764_460_800.0  # 2025-11-30T00:00:00Z
    t.record("fw", received=100, parsed=90, dead=10, events=90, last_event="2025-11-29T23:59:00Z", now=t0 + 5,
             arrived=t0)
    t.record("off", received=1, parsed=1, dead=0, events=1, last_event=None, now=t0)
    snap = t.snapshot(now=t0 + 10)["fw"]
    assert (snap["received"], snap["parsed"], snap["dead"], snap["reconciles"]) == (100, 90, 10, True)
    assert snap["parse_error_rate"] == 0.1
    assert snap["clock_skew_s"] == 60.0  # arrived 60 s after the event time: the device clock is behind
    assert snap["events_per_s"] == round(100 / 60, 2)
    assert t.snapshot(now=t0 + 120)["fw"]["events_per_s"] == 0.0  # out of the window
    assert t.silent(now=t0 + 300) == []
    silent = t.silent(now=t0 + 700)
    assert [h.name for h in silent] == ["fw"]  # "never" never sent, "off" has no threshold
    assert t.silent(now=t0 + 800) == []  # reported once
    alert = silent_alert(silent[0], t.configs["fw"], now=t0 + 700)
    assert alert["kind"] == "health" and alert["rule"]["id"] == "soc-source-silent"
    assert "im lặng" in alert["events"][0]["message"] and "silent for 11 minutes" in alert["events"][0]["message"]
    t.record("fw", received=1, parsed=1, dead=0, events=1, last_event=None, now=t0 + 900)
    assert t.silent(now=t0 + 1000) == []
    assert len(t.silent(now=t0 + 1600)) == 1  # re-armed by the new record


def test_persist_and_reload(tmp_path: Path) -> None:
    state = State(f"sqlite:///{tmp_path / 's.db'}")
    t = HealthTracker(cfgs())
    t.record("fw", received=5, parsed=4, dead=1, events=4, last_event="2025-11-30T00:00:00Z")
    t.transport("fw", dropped=7, cut=1)
    t.persist(state, {"fw": {"connections": 0}})
    saved = load_health(state)
    assert saved["fw"]["received"] == 5 and saved["fw"]["dropped"] == 7 and saved["fw"]["connections"] == 0
    t2 = HealthTracker(cfgs())
    t2.load(state)
    t2.transport("fw", dropped=2, cut=0)  # a restarted source counts from 0 again
    t2.record("fw", received=1, parsed=1, dead=0, events=1, last_event=None)
    snap = t2.snapshot()["fw"]
    assert (snap["received"], snap["dropped"], snap["cut"]) == (6, 9, 1)
