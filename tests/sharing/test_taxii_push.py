"""Layer-4 push to a real TAXII 2.1 server (medallion), through the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from taxii2client.v21 import Collection

from soc.config import Settings
from soc.sharing.models import ShareDelivery, SharedObject
from soc.sharing.taxii_push import push_bundle, queue_incident, register_channels
from soc.storage.models import Outbox
from tests.sharing.conftest import free_port, make_incident

delivery = pytest.importorskip("soc.incidents.delivery", reason="the incidents area's outbox is not available")


def _settings(base: Settings, server: dict, collection: str, api_root: str | None = None) -> Settings:
    s = base.model_copy(deep=True)
    s.sharing.destinations = [{"name": "ncsc", "channel": "taxii", "api_root": api_root or server["api_root"],
                               "collection": server["collections"][collection], "username": server["user"],
                               "password": server["password"], "timeout_seconds": 5}]
    return s


def _collection(server: dict, name: str) -> Collection:
    return Collection(f"{server['api_root']}collections/{server['collections'][name]}/", user=server["user"],
                      password=server["password"])


def _read_back(server: dict, name: str, types: set[str]) -> dict[str, dict]:
    # medallion 3.0 cannot serve an extension-definition object (it reads its 'version' property as a
    # timestamp and answers 500), so objects are read back by type and the manifest covers the rest.
    got = _collection(server, name).get_objects(type=",".join(sorted(types)))
    return {o["id"]: o for o in got.get("objects", [])}


def test_push_through_outbox_then_read_back(state, settings, taxii_server):
    register_channels()
    cfg = _settings(settings, taxii_server, "push1")
    iid = make_incident(state)
    with state.session() as s:
        queued = queue_incident(s, iid, cfg)
    assert [q["destination"] for q in queued] == ["ncsc"]
    counts = delivery.OutboxWorker(cfg, state).run_once()
    assert counts["sent"] == 1, counts
    with state.session() as s:
        row = s.execute(select(Outbox).where(Outbox.incident_id == iid)).scalar_one()
        bundle = row.payload["bundle"]
        d = s.execute(select(ShareDelivery).where(ShareDelivery.incident_id == iid)).scalar_one()
        assert d.status == "sent" and d.remote_status_id and d.detail["success"] == len(bundle["objects"])
    sent = {o["id"]: o for o in bundle["objects"]}
    types = {o["type"] for o in bundle["objects"]} - {"extension-definition"}
    back = _read_back(taxii_server, "push1", types)
    assert back == {k: v for k, v in sent.items() if v["type"] != "extension-definition"}
    manifest = _collection(taxii_server, "push1").get_manifest()
    assert {m["id"] for m in manifest["objects"]} == set(sent)
    # The status resource the server returned is readable and complete.
    st = delivery_status(taxii_server, d.remote_status_id)
    assert st["status"] == "complete" and st["success_count"] == len(sent)
    # The incident's own layer-4 status (incidents area) follows: queued, then sent with the status id.
    engine = pytest.importorskip("soc.incidents.models")
    with state.session() as s:
        reports = s.execute(select(engine.Layer4Report).where(engine.Layer4Report.incident_id == iid)
                            .order_by(engine.Layer4Report.id)).scalars().all()
        assert [r.status for r in reports] == ["queued", "sent"]
        assert reports[-1].detail["status_id"] == d.remote_status_id


def delivery_status(server: dict, status_id: str) -> dict:
    import httpx

    r = httpx.get(f"{server['api_root']}status/{status_id}/", auth=(server["user"], server["password"]),
                  headers={"Accept": "application/taxii+json;version=2.1"})
    r.raise_for_status()
    return r.json()


def test_requeue_and_repush_are_idempotent(state, settings, taxii_server):
    register_channels()
    cfg = _settings(settings, taxii_server, "push2")
    iid = make_incident(state)
    with state.session() as s:
        # The first queueing may refresh the incident's deadlines (a shared change, so a new version);
        # from then on, queueing an unchanged incident again finds the same outbox row.
        queue_incident(s, iid, cfg)
        first = queue_incident(s, iid, cfg)
        again = queue_incident(s, iid, cfg)
    assert first[0]["outbox_id"] == again[0]["outbox_id"], "same incident version -> same outbox row"
    assert first[0]["bundle_id"] == again[0]["bundle_id"]
    assert delivery.OutboxWorker(cfg, state).run_once()["sent"] >= 1
    with state.session() as s:
        bundle = s.get(Outbox, again[0]["outbox_id"]).payload["bundle"]
        assert s.execute(select(SharedObject).where(SharedObject.incident_id == iid)).first() is not None
    # A second push of the same bundle (as after a crash mid-send): the server stores nothing twice and
    # the objects it refuses as duplicates are found in its manifest, so the delivery still counts as sent.
    from soc.sharing.destinations import get_destination

    res = push_bundle(bundle, get_destination(cfg.sharing, "ncsc"))
    assert res["success"] == 0 and res["already_present"] == len(bundle["objects"]) and "rejected" not in res
    manifest = _collection(taxii_server, "push2").get_manifest()
    versions = {(m["id"], m["version"]) for m in manifest["objects"]}
    assert len(versions) == len(manifest["objects"]), "no object version stored twice"


def test_unreachable_server_delays_but_loses_nothing(state, settings, taxii_server):
    register_channels()
    dead = f"http://127.0.0.1:{free_port()}/intake/"
    down = _settings(settings, taxii_server, "push3", api_root=dead)
    iid = make_incident(state)
    with state.session() as s:
        queue_incident(s, iid, down)
    now = datetime.now(UTC)
    counts = delivery.OutboxWorker(down, state).run_once(now)
    assert counts["retry"] == 1 and counts["sent"] == 0
    with state.session() as s:
        row = s.execute(select(Outbox).where(Outbox.incident_id == iid)).scalar_one()
        assert row.status == "pending" and "unreachable" in (row.last_error or "")
        d = s.execute(select(ShareDelivery).where(ShareDelivery.incident_id == iid)).scalar_one()
        assert d.status == "retrying" and "unreachable" in (d.last_error or "")
    # The server comes back (here: the right address): the next due pass delivers the same bundle.
    up = _settings(settings, taxii_server, "push3")
    counts = delivery.OutboxWorker(up, state).run_once(now + timedelta(hours=1))
    assert counts["sent"] == 1, counts
    with state.session() as s:
        row = s.execute(select(Outbox).where(Outbox.incident_id == iid)).scalar_one()
        assert row.status == "sent" and row.attempts == 2
        d = s.execute(select(ShareDelivery).where(ShareDelivery.incident_id == iid)).scalar_one()
        assert d.status == "sent" and d.last_error is None
    manifest = _collection(taxii_server, "push3").get_manifest()
    assert len(manifest["objects"]) == len(row.payload["bundle"]["objects"])


def test_wrong_credentials_fail_permanently(state, settings, taxii_server):
    register_channels()
    cfg = _settings(settings, taxii_server, "push4")
    cfg.sharing.destinations[0]["password"] = "wrong-password"
    iid = make_incident(state)
    with state.session() as s:
        queue_incident(s, iid, cfg)
    counts = delivery.OutboxWorker(cfg, state).run_once()
    assert counts["failed"] == 1
    with state.session() as s:
        row = s.execute(select(Outbox).where(Outbox.incident_id == iid)).scalar_one()
        assert row.status == "failed" and "401" in (row.last_error or "")
        assert "wrong-password" not in (row.last_error or "")
