"""API: GET /sources, GET /deadletters (roles), POST /ingest/{source} (source token, durable 200)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectors.runner import IngestService
from soc.auth import create_token, create_user
from soc.context import AppContext
from soc.inventory import Inventory
from soc.pipeline import Pipeline
from soc.storage.events import ParquetEventStore
from soc.storage.state import State

from .conftest import free_port, wait_for
from .test_runner import ev, make_settings


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], AppContext]]:
    from soc.api.app import create_app
    from soc.api.routes import ingest

    settings = make_settings(tmp_path, f"""
[[sources]]
name = "web"
type = "http"
format = "json"
port = {free_port()}
token = "src-token"

[[sources]]
name = "quiet"
type = "syslog_udp"
port = {free_port()}
""")
    ctx = AppContext(settings=settings, state=State(settings.state_url),
                     events=ParquetEventStore(settings.events_dir), inventory=Inventory.empty())
    tokens: dict[str, str] = {}
    with ctx.state.session() as s:
        for name, role, agency in [("adm", "admin", None), ("ana", "analyst", None), ("aud", "auditor", None),
                                   ("off", "agency", "a1")]:
            u = create_user(s, name, role, agency_id=agency, password="correct horse battery")
            tokens[name] = create_token(s, u, "test")
    ctx.pipeline = Pipeline(state=ctx.state, events=ctx.events, inventory=ctx.inventory, detectors=[])
    app = create_app(settings, ctx=ctx)
    if not any(getattr(r, "path", "") == "/api/v1/ingest/{source}" for r in app.routes):
        app.include_router(ingest.router, prefix="/api/v1")
    with TestClient(app) as client:
        yield client, tokens, ctx
    if ctx.ingest is not None:
        ctx.ingest.stop()
    ctx.state.dispose()


def h(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


def test_ingest_route_needs_the_running_service_and_the_source_token(api: Any) -> None:
    client, tokens, ctx = api
    r = client.post("/api/v1/ingest/web", content=ev(1), headers=h("src-token"))
    assert r.status_code == 503 and "soc run" in r.json()["detail"]
    ctx.ingest = IngestService(ctx.settings, ctx.pipeline, ctx.state)
    ctx.ingest.start()
    assert client.post("/api/v1/ingest/nope", content=ev(1), headers=h("src-token")).status_code == 404
    assert client.post("/api/v1/ingest/quiet", content=ev(1), headers=h("src-token")).status_code == 404
    assert client.post("/api/v1/ingest/web", content=ev(1), headers=h(tokens["adm"])).status_code == 401
    body = "\n".join([ev(i) for i in range(5)] + ["not json"])
    r = client.post("/api/v1/ingest/web", content=body, headers=h("src-token"))
    assert r.status_code == 200 and r.json() == {"accepted": 6}
    assert wait_for(lambda: ctx.ingest.health()["sources"]["web"]["received"] == 6)


def test_sources_and_deadletters_for_soc_roles_only(api: Any) -> None:
    client, tokens, ctx = api
    ctx.ingest = IngestService(ctx.settings, ctx.pipeline, ctx.state)
    ctx.ingest.start()
    r = client.post("/api/v1/ingest/web", content="\n".join([ev(1), "garbage line"]), headers=h("src-token"))
    assert r.status_code == 200
    assert wait_for(lambda: ctx.ingest.health()["sources"]["web"]["received"] == 2)
    for who in ("adm", "ana", "aud"):
        r = client.get("/api/v1/sources", headers=h(tokens[who]))
        assert r.status_code == 200, who
        by = {s["name"]: s for s in r.json()["sources"]}
        assert by["web"]["received"] == 2 and by["web"]["parsed"] == 1 and by["web"]["dead"] == 1
        assert by["web"]["dead_letters_pending"] == 1 and by["quiet"]["received"] == 0
        assert r.json()["spool"]["capacity"] == ctx.settings.pipeline.queue_max_records
        d = client.get("/api/v1/deadletters?source=web", headers=h(tokens[who])).json()
        assert d["total"] == 1 and d["items"][0]["preview"] == "garbage line" and "raw" not in d["items"][0]
    assert client.get("/api/v1/sources", headers=h(tokens["off"])).status_code == 403
    assert client.get("/api/v1/deadletters", headers=h(tokens["off"])).status_code == 403
    assert client.get("/api/v1/sources").status_code == 401
    assert client.get("/api/v1/deadletters?limit=0", headers=h(tokens["adm"])).status_code == 422
    # Without a live service the persisted health serves.
    ctx.ingest.stop()
    ctx.ingest = None
    r = client.get("/api/v1/sources", headers=h(tokens["ana"]))
    assert {s["name"]: s["received"] for s in r.json()["sources"] if "received" in s}["web"] == 2
    assert json.dumps(r.json())  # serialisable
