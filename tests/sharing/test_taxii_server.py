"""Our own read-only TAXII 2.1 server: discovery, collections, objects, pagination, per-audience TLP."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from soc.auth import create_token, create_user
from soc.sharing.collections import COLLECTIONS, publish_bundle
from soc.sharing.stix_export import export_incident
from tests.sharing.conftest import make_incident, web_event

MT = "application/taxii+json;version=2.1"


@pytest.fixture
def client(state, settings):
    from soc.api.app import create_app
    from soc.context import AppContext
    from soc.inventory import Inventory
    from soc.storage.events import ParquetEventStore

    ctx = AppContext(settings=settings, state=state, events=ParquetEventStore(settings.events_dir),
                     inventory=Inventory.empty())
    return TestClient(create_app(ctx=ctx))


@pytest.fixture
def tokens(state):
    out = {}
    with state.session() as s:
        for name, role, agency in (("an", "analyst", None), ("aud", "auditor", None), ("tttt", "agency", "so-tttt"),
                                   ("yte", "agency", "so-yte"), ("ra", "rule_author", None)):
            u = create_user(s, name, role, agency_id=agency)
            out[name] = {"Authorization": f"Bearer {create_token(s, u, 't')}", "Accept": MT}
    return out


@pytest.fixture
def published(state, settings):
    ids = {}
    for ref, agency, data, ip in (("HP-1", "so-tttt", {}, "203.0.113.10"),
                                  ("HP-2", "so-tttt", {"keep_confidential": True}, "203.0.113.11"),
                                  ("HP-3", "so-yte", {}, "203.0.113.12")):
        ev = web_event(ip)
        ev["soc"]["agency"]["id"] = agency
        iid = make_incident(state, ref=ref, agency=agency, data=data, events=[ev])
        with state.session() as s:
            b = export_incident(s, iid, settings.sharing)
            publish_bundle(s, b, incident_id=iid, agency_id=agency)
            publish_bundle(s, b, incident_id=iid, agency_id=agency)  # idempotent
        ids[ref] = b
    return ids


def _objects(client, headers, coll="incidents", **params):
    cid = COLLECTIONS[coll]["id"]
    r = client.get(f"/taxii2/soc/collections/{cid}/objects/", headers=headers, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/taxii+json")
    return r.json()


def _incident_names(body):
    return sorted(o["name"].split(":")[0] for o in body["objects"] if o["type"] == "incident")


def test_discovery_and_collections(client, tokens):
    r = client.get("/taxii2/", headers=tokens["an"])
    assert r.status_code == 200 and r.json()["api_roots"][0].endswith("/taxii2/soc/")
    assert client.get("/taxii2/").status_code == 401
    r = client.get("/taxii2/soc/collections/", headers=tokens["an"])
    assert {c["id"] for c in r.json()["collections"]} == {c["id"] for c in COLLECTIONS.values()}
    assert all(not c["can_write"] for c in r.json()["collections"])
    r = client.get("/taxii2/soc/collections/", headers=tokens["ra"])
    assert [c["id"] for c in r.json()["collections"]] == [COLLECTIONS["indicators"]["id"]]
    r = client.get("/taxii2/soc/collections/nope/objects/", headers=tokens["an"])
    assert r.status_code == 404 and "collection" in r.json()["description"]
    r = client.get("/taxii2/", headers={**tokens["an"], "Accept": "application/xml"})
    assert r.status_code == 406


def test_audiences_and_red(client, tokens, published):
    assert _incident_names(_objects(client, tokens["an"])) == ["HP-1", "HP-2", "HP-3"]
    assert _incident_names(_objects(client, tokens["aud"])) == ["HP-1", "HP-3"], "RED stays with its audience"
    assert _incident_names(_objects(client, tokens["tttt"])) == ["HP-1", "HP-2"], "agency sees its own, RED too"
    yte = _objects(client, tokens["yte"])
    assert _incident_names(yte) == ["HP-3"]
    text = str(yte)
    assert "203.0.113.10" not in text and "203.0.113.11" not in text
    # Markings referenced by what an agency sees are readable by it.
    seen_refs = {r for o in yte["objects"] for r in o.get("object_marking_refs", [])}
    assert seen_refs <= {o["id"] for o in yte["objects"] if o["type"] == "marking-definition"}
    one = published["HP-2"]
    inc_id = next(o["id"] for o in one["objects"] if o["type"] == "incident")
    cid = COLLECTIONS["incidents"]["id"]
    assert client.get(f"/taxii2/soc/collections/{cid}/objects/{inc_id}/", headers=tokens["yte"]).status_code == 404
    assert client.get(f"/taxii2/soc/collections/{cid}/objects/{inc_id}/", headers=tokens["aud"]).status_code == 404
    assert client.get(f"/taxii2/soc/collections/{cid}/objects/{inc_id}/", headers=tokens["tttt"]).status_code == 200


def test_indicator_collection_is_open_tlp_only(client, tokens, published):
    body = _objects(client, tokens["ra"], "indicators")
    pats = sorted(o["pattern"] for o in body["objects"] if o["type"] == "indicator")
    # HP-2 is confidential: its indicator is RED and not in the open collection.
    assert pats == ["[ipv4-addr:value = '203.0.113.10']", "[ipv4-addr:value = '203.0.113.12']"]
    assert {o["type"] for o in body["objects"]} >= {"indicator", "ipv4-addr", "marking-definition", "identity"}
    assert not [o for o in body["objects"] if o["type"] == "incident"]


def test_pagination_filters_and_manifest(client, tokens, published):
    full = _objects(client, tokens["an"])
    seen, nxt, pages = [], None, 0
    while True:
        params = {"limit": 7}
        if nxt:
            params["next"] = nxt
        body = _objects(client, tokens["an"], **params)
        seen += [o["id"] for o in body["objects"]]
        pages += 1
        if not body["more"]:
            break
        nxt = body["next"]
    assert seen == [o["id"] for o in full["objects"]] and pages > 1 and len(seen) == len(set(seen))
    only = _objects(client, tokens["an"], **{"match[type]": "indicator"})
    assert {o["type"] for o in only["objects"]} == {"indicator"}
    cid = COLLECTIONS["incidents"]["id"]
    man = client.get(f"/taxii2/soc/collections/{cid}/manifest/", headers=tokens["an"]).json()
    assert [m["id"] for m in man["objects"]] == [o["id"] for o in full["objects"]]
    r = client.get(f"/taxii2/soc/collections/{cid}/objects/", headers=tokens["an"], params={"added_after": "yesterday"})
    assert r.status_code == 400 and "added_after" in r.json()["description"]
    r = client.get(f"/taxii2/soc/collections/{cid}/objects/", headers=tokens["an"], params={"next": "zz"})
    assert r.status_code == 400


def test_pull_with_taxii2_client(state, settings, published):
    """The taxii2-client library (what agencies use) reads our server over a real socket."""
    import threading
    import time

    import uvicorn
    from taxii2client.v21 import Server

    from soc.api.app import create_app
    from soc.context import AppContext
    from soc.inventory import Inventory
    from soc.storage.events import ParquetEventStore
    from tests.sharing.conftest import free_port

    with state.session() as s:
        u = create_user(s, "ncsc", "auditor")
        token = create_token(s, u, "pull")
    ctx = AppContext(settings=settings, state=state, events=ParquetEventStore(settings.events_dir),
                     inventory=Inventory.empty())
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(ctx=ctx), host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)

        class Bearer:
            def __call__(self, r):
                r.headers["Authorization"] = f"Bearer {token}"
                return r

        srv = Server(f"http://127.0.0.1:{port}/taxii2/", auth=Bearer())
        root = srv.api_roots[0]
        coll = next(c for c in root.collections if c.id == COLLECTIONS["incidents"]["id"])
        names = sorted(o["name"].split(":")[0] for o in coll.get_objects()["objects"] if o["type"] == "incident")
        assert names == ["HP-1", "HP-3"]
    finally:
        server.should_exit = True
        t.join(10)


def test_intel_api(client, tokens, state, settings):
    r = client.post("/api/v1/intel/indicators", headers=tokens["an"],
                    json={"value": "Evil.Example.", "tlp": "AMBER", "name": "phishing kit"})
    assert r.status_code == 201 and r.json()["value"] == "evil.example" and r.json()["tlp"] == "amber"
    r = client.post("/api/v1/intel/indicators", headers=tokens["an"], json={"value": "1.2.3.999", "type": "ip"})
    assert r.status_code == 422 and "not a valid ip" in r.json()["detail"]
    r = client.post("/api/v1/intel/indicators", headers=tokens["an"], json={"value": "x.example", "tlp": "purple"})
    assert r.status_code == 422 and "TLP" in r.json()["detail"]
    assert client.post("/api/v1/intel/indicators", headers=tokens["aud"], json={"value": "x.example"}).status_code == 403
    r = client.get("/api/v1/intel/indicators", headers=tokens["ra"], params={"q": "evil"})
    assert [i["value"] for i in r.json()["indicators"]] == ["evil.example"]
    r = client.get("/api/v1/intel/feeds", headers=tokens["an"])
    assert r.json()["feeds"][0]["name"] == "manual" and r.json()["feeds"][0]["indicators"] == 1
    assert client.post("/api/v1/intel/feeds/nope/pull", headers=tokens["an"]).status_code == 404
    iid = make_incident(state, ref="HP-9", agency="so-yte")
    r = client.get(f"/api/v1/incidents/{iid}/stix", headers=tokens["an"])
    assert r.status_code == 200 and r.json()["type"] == "bundle"
    assert client.get(f"/api/v1/incidents/{iid}/sharing", headers=tokens["tttt"]).status_code == 404
    assert client.get(f"/api/v1/incidents/{iid}/sharing", headers=tokens["yte"]).json()["deliveries"] == []


def test_share_api_queues(client, tokens, state, settings):
    from sqlalchemy import select

    from soc.storage.models import Outbox

    settings.sharing.destinations = [{"name": "ncsc", "channel": "taxii", "url": "http://127.0.0.1:9",
                                      "api_root": "intake", "collection": "c1"}]
    iid = make_incident(state, ref="HP-Q")
    assert client.post(f"/api/v1/incidents/{iid}/share", headers=tokens["tttt"]).status_code == 403
    r = client.post(f"/api/v1/incidents/{iid}/share", headers=tokens["an"], json={"destinations": ["nope"]})
    assert r.status_code == 422 and "no sharing destination named 'nope'" in r.json()["detail"]
    assert client.post("/api/v1/incidents/999/share", headers=tokens["an"]).status_code == 404
    r = client.post(f"/api/v1/incidents/{iid}/share", headers=tokens["an"])
    assert r.status_code == 202 and r.json()["queued"][0]["destination"] == "ncsc"
    with state.session() as s:
        assert s.execute(select(Outbox).where(Outbox.incident_id == iid)).scalar_one().channel == "taxii"
    settings.sharing.enabled = False
    assert client.post(f"/api/v1/incidents/{iid}/share", headers=tokens["an"]).status_code == 409
