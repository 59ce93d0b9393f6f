"""The engine as the pipeline's alert hook: real parsing, Parquet storage, alert de-duplication."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from connectors.record import Record
from detectors.base import make_alert
from soc.pipeline import Pipeline
from soc.storage.events import ParquetEventStore
from soc.storage.models import Alert, Incident


class FailedLogins:
    """A minimal detector: one alert per failed login event."""

    name = "failed-logins"

    def process(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        if "Failed password" not in str(event.get("message", "")):
            return []
        return [make_alert(kind="sigma", rule={"id": "ssh-bf", "name": "SSH brute force", "level": "high",
                                               "tags": ["attack.t1110"]}, events=[event])]

    def flush(self, now: datetime | None = None) -> list[dict[str, Any]]:
        return []


def test_pipeline_batches_become_one_incident(env: Any) -> None:
    pipe = Pipeline(state=env.state, events=ParquetEventStore(env.settings.events_dir), inventory=env.inventory,
                    detectors=[FailedLogins()], alert_hooks=[env.engine.on_alerts])
    now = datetime.now(UTC)
    lines = [json.dumps({"@timestamp": now.isoformat(), "message": "Failed password for root",
                         "source": {"ip": "203.0.113.7"}, "destination": {"ip": "10.10.1.5"},
                         "event": {"dataset": "test.auth"}}) for _ in range(5)]
    for batch in (lines[:2], lines[2:]):
        res = pipe.process([Record(source="t", format="json", line=ln, received=time.time()) for ln in batch])
        assert res.dead == 0, res
    with env.state.session() as s:
        incs = s.execute(select(Incident)).scalars().all()
        alerts = s.execute(select(Alert)).scalars().all()
    assert len(alerts) == 1 and alerts[0].count == 5  # de-duplicated by the AlertSink
    assert len(incs) == 1 and incs[0].agency_id == "sotttt" and incs[0].data["alert_count"] == 5
    assert alerts[0].incident_id == incs[0].id


def test_engine_failure_keeps_the_alert_and_the_batch(env: Any) -> None:
    from soc.incidents.models import EntityRisk

    env.engine.playbooks = {}  # a broken engine: every categorisation fails
    pipe = Pipeline(state=env.state, events=ParquetEventStore(env.settings.events_dir), inventory=env.inventory,
                    detectors=[FailedLogins()], alert_hooks=[env.engine.on_alerts])
    line = json.dumps({"@timestamp": datetime.now(UTC).isoformat(), "message": "Failed password for root",
                       "source": {"ip": "203.0.113.7"}, "destination": {"ip": "10.10.1.5"},
                       "event": {"dataset": "test.auth"}})
    res = pipe.process([Record(source="t", format="json", line=line, received=time.time())])
    assert res.alerts == 1
    with env.state.session() as s:
        alert = s.execute(select(Alert)).scalar_one()
        assert alert.incident_id is None
        assert s.execute(select(Incident)).first() is None
        assert s.execute(select(EntityRisk)).first() is None  # the partial work was rolled back (savepoint)
