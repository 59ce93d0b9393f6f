"""Alert ids are random version-4 UUIDs (built without a ``uuid.UUID`` object per alert)."""

from __future__ import annotations

import uuid

from detectors.base import make_alert, new_alert_id


def test_alert_ids_are_distinct_rfc4122_version_4_uuids():
    ids = {new_alert_id() for _ in range(2000)}
    assert len(ids) == 2000
    for s in list(ids)[:500]:
        u = uuid.UUID(s)
        assert u.version == 4 and u.variant == uuid.RFC_4122 and str(u) == s
    assert {s[19] for s in ids} <= set("89ab") and len({s[19] for s in ids}) > 1
    alert = make_alert(kind="sigma", rule={"id": "r"}, events=[{"@timestamp": "2026-12-01T00:00:00Z"}])
    assert uuid.UUID(alert["id"]).version == 4
