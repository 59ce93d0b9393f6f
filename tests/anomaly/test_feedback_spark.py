"""Analyst verdicts on real Spark: confirmed-benign behaviour leaves the next training, and repeats are suppressed.

A small city where one host runs an odd but benign nightly job (a backup: large uploads to an unusual port).
Model A is trained with it; its alerts are confirmed benign; model B is trained on the same window and must
not have learnt from the confirmed events and windows.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from detectors.anomaly import entity_features as xf
from detectors.anomaly import event_features as ef
from detectors.anomaly import feedback, model_store, service
from detectors.anomaly.scenario import Scenario, default_start, generate, to_table, write_day

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

BACKUP_PORT = 31337
BACKUP_EVENTS = 8


def _backup(sc: Scenario, day: int) -> pd.DataFrame:
    """The benign oddity: 8 uploads of ~200 MB to port 31337 at 02:00 local time."""
    host, ip, _user, agency = sc.hosts()[0]
    t0 = sc.start + timedelta(days=day, hours=2)
    rng = np.random.default_rng(5)
    return pd.DataFrame({
        "ts": [t0 + timedelta(seconds=60 * i) for i in range(BACKUP_EVENTS)], "host_name": host, "source_ip": ip,
        "agency_id": agency, "destination_ip": "10.9.9.9", "destination_port": BACKUP_PORT,
        "network_transport": "tcp", "source_bytes": rng.uniform(180e6, 220e6, BACKUP_EVENTS).astype(int),
        "destination_bytes": 2000, "source_packets": 40000, "destination_packets": 100,
        "event_duration": int(200e9), "event_action": "accept", "event_category": "network",
        "dataset": "fortinet.firewall"})


def _load(data_dir: Path, family: str) -> Any:
    if family == "event":
        return model_store.load(model_store.latest(data_dir, "event"), family="event",
                                feature_schema=ef.FEATURE_SCHEMA, features=ef.FEATURE_NAMES)
    return model_store.load(model_store.latest(data_dir, "entity"), family="entity",
                            feature_schema=xf.FEATURE_SCHEMA, features=xf.FEATURE_NAMES)


def _self_row(model: Any, host: str) -> pd.Series:
    s = model.selfs
    return s[(s["etype"] == "host") & (s["key"] == host) & (s["wkind"] == "hour") & (s["slot"] == "off")].iloc[0]


def test_benign_verdicts_leave_the_next_training(spark_settings: Any, tmp_path: Path) -> None:
    s = spark_settings.model_copy(deep=True)
    s.data_dir = tmp_path
    s.anomaly.entity_types = ["host"]
    s.anomaly.windows = ["hour"]
    sc = Scenario(start=default_start(), days=3, agencies=1, hosts_per_agency=6, events_per_host_hour=6.0,
                  attack_from_day=99, seed=3)
    generate(sc, s.events_dir)
    backup = _backup(sc, 1)
    write_day(to_table(backup), backup["dataset"].to_numpy(dtype=object), s.events_dir, "backup-")
    host, ip = sc.hosts()[0][0], sc.hosts()[0][1]
    start, end = sc.start, sc.start + timedelta(days=3)

    service.train(s, start, end)
    a_event, a_entity = _load(tmp_path, "event"), _load(tmp_path, "entity")
    port_key = f"tcp/{BACKUP_PORT}"
    assert a_event.model.tables.count("_port_key", port_key) == BACKUP_EVENTS

    # the analyst reviews the alerts of the baseline and confirms the backup's as benign
    alerts = service.run_scoring(s, start, end)
    odd = pd.Timestamp(backup["ts"].iloc[0])
    backup_ts = {pd.Timestamp(t).isoformat().replace("+00:00", "Z")[:23] for t in backup["ts"]}
    event_alerts = [a for a in alerts if a["match"]["family"] == "event" and a["entity"]["value"] == ip
                    and a["match"]["window"]["start"][:23] in backup_ts]
    entity_alerts = [a for a in alerts if a["match"]["family"] == "entity" and a["entity"]["value"] == host
                     and pd.Timestamp(a["match"]["window"]["start"]) <= odd < pd.Timestamp(a["match"]["window"]["end"])]
    assert event_alerts and entity_alerts, [(a["match"]["family"], a["entity"], a["match"]["window"]) for a in alerts]
    assert feedback.record_benign(tmp_path, event_alerts + entity_alerts, by="test", note="nightly backup") == \
        len(event_alerts) + len(entity_alerts)

    service.train(s, start, end)
    b_event, b_entity = _load(tmp_path, "event"), _load(tmp_path, "entity")
    assert b_event.path != a_event.path and b_event.manifest["excluded_verdicts"] == len(event_alerts)
    # event family: exactly the confirmed events are gone from the frequency tables
    assert b_event.model.tables.count("_port_key", port_key) == BACKUP_EVENTS - len(event_alerts)
    # entity family: the confirmed hour is no longer part of the host's off-hours history
    a_self, b_self = _self_row(a_entity.model, host), _self_row(b_entity.model, host)
    assert b_self["hist_n"] == a_self["hist_n"] - len(entity_alerts)
    assert b_self["sd_bytes_out"] < a_self["sd_bytes_out"]
    assert b_entity.manifest["excluded_verdicts"] == len(entity_alerts)

    # the same benign pattern is now suppressed when scored again, with model B
    summary = service.RunSummary()
    again = service.run_scoring(s, start, end, summary=summary)
    assert summary.suppressed >= len(entity_alerts)
    assert not [a for a in again if a["match"]["family"] == "entity" and a["entity"]["value"] == host
                and pd.Timestamp(a["match"]["window"]["start"]) <= odd < pd.Timestamp(a["match"]["window"]["end"])]
