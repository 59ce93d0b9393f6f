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


class _Doc(dict):  # type: ignore[type-arg]
    """A dict subclass: read through ``ecs.get`` as before."""


def test_entity_of_reads_fields_as_ecs_get_does():
    from detectors.base import entity_of
    from soc import ecs

    def reference(ev):
        for kind, f in (("user", "user.name"), ("ip", "source.ip"), ("host", "host.name"),
                        ("host", "host.hostname"), ("ip", "destination.ip")):
            v = ecs.get(ev, f)
            if isinstance(v, str) and v:
                return {"type": kind, "value": v}
        return None

    cases = [
        {},
        {"user": {"name": "an"}, "source": {"ip": "10.0.0.1"}},
        {"user.name": "dotted", "user": {"name": "nested"}},  # a literal dotted key wins, as in ecs.get
        {"user.name": "", "user": {"name": "nested"}},  # ... even when empty: then the next field
        {"user": "not a dict", "source": {"ip": 5}, "host": {"name": "", "hostname": "h1"}},
        {"user": {"name": None}, "destination": {"ip": "192.0.2.1"}},
        {"user": _Doc(name="sub")},
        _Doc({"host": {"name": "h"}}),
        {"user": {"name": ["a"]}, "source": {}, "host": {"name": "ħøst"}},
        {1: "x", "source": {"ip": "::1"}},
    ]
    for ev in cases:
        assert entity_of(ev) == reference(ev), ev
        alert = make_alert(kind="sigma", rule={"id": "r"}, events=[ev], match={"m": 1})
        assert list(alert)[:6] == ["id", "@timestamp", "kind", "rule", "events", "match"]
        assert alert.get("entity") == reference(ev)


def test_make_alert_copies_the_asset_in_the_events_key_order():
    soc = {"input": "x", "system": {"id": "s1", "level": 3}, 1: "n", "agency": {"id": "a1"}}
    alert = make_alert(kind="sigma", rule={"id": "r"}, events=iter([{"soc": {}}, {"soc": soc}]))
    assert list(alert["soc"].items()) == [("system", soc["system"]), ("agency", soc["agency"])]
    assert alert["events"][1]["soc"] is soc and "entity" not in alert and alert["match"] == {}
    assert "soc" not in make_alert(kind="sigma", rule={}, events=[{"soc": ["agency"]}])
