"""The API skeleton: authentication, roles and agency isolation on every route, clear 4xx on bad input."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from connectors.record import Record
from soc.auth import create_token, create_user
from soc.config import load_config
from soc.context import AppContext
from tests.core.fixtures import INVENTORY
from tests.core.test_pipeline import FailedLoginDetector


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], AppContext]]:
    from soc.api.app import create_app
    from soc.pipeline import Pipeline

    (tmp_path / "inv.yaml").write_text(INVENTORY, encoding="utf-8")
    cfg = tmp_path / "soc.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "data"}"\ninventory = "{tmp_path / "inv.yaml"}"\n')
    settings = load_config(cfg, environ={})
    ctx = AppContext.build(settings)
    tokens: dict[str, str] = {}
    with ctx.state.session() as s:
        for name, role, agency in [("admin", "admin", None), ("ana", "analyst", None), ("aud", "auditor", None),
                                   ("author", "rule_author", None), ("o1", "agency", "a1"), ("o2", "agency", "a2")]:
            u = create_user(s, name, role, agency_id=agency, password="correct horse battery")
            tokens[name] = create_token(s, u, "test")
    pipe = Pipeline(state=ctx.state, events=ctx.events, inventory=ctx.inventory, detectors=[FailedLoginDetector()])
    evs = [{"@timestamp": "2026-11-30T01:00:00Z", "event": {"dataset": "system.auth", "outcome": "failure"},
            "source": {"ip": ip}, "user": {"name": user}, "message": "<script>alert(1)</script>"}
           for ip, user in (("10.1.1.5", "root"), ("10.2.3.4", "admin"), ("8.8.8.8", "guest"))]
    pipe.process([Record("t", "json", json.dumps(e), time.time()) for e in evs])
    with TestClient(create_app(settings, ctx=ctx)) as client:
        yield client, tokens, ctx
    ctx.state.dispose()


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_health_is_public_and_everything_else_needs_a_token(api: Any) -> None:
    client, _, _ = api
    assert client.get("/api/v1/health").status_code == 200
    for path in ("/api/v1/alerts", "/api/v1/events", "/api/v1/me", "/api/v1/audit"):
        r = client.get(path)
        assert r.status_code == 401, path
        assert "Bearer" in r.json()["detail"]
    assert client.get("/api/v1/alerts", headers=_h("soc_forged")).status_code == 401


def test_openapi_lists_routes(api: Any) -> None:
    client, _, _ = api
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/alerts" in paths and "/api/v1/events" in paths


def test_every_api_route_requires_authentication(api: Any) -> None:
    client, _, _ = api
    public = {"/api/v1/health", "/openapi.json"}
    for route in client.app.routes:  # type: ignore[attr-defined]
        path = getattr(route, "path", "")
        if not path.startswith("/api/v1") or path in public or "/ack" in path or "/auth/login" in path:
            continue
        for method in getattr(route, "methods", set()) - {"HEAD", "OPTIONS"}:
            url = path.replace("{", "").replace("}", "")
            r = client.request(method, url)
            assert r.status_code in (401, 403, 404, 405, 422) and r.status_code != 200, (method, path, r.status_code)
            assert r.status_code != 500


def test_agency_officer_sees_only_own_agency(api: Any) -> None:
    client, tokens, _ = api
    all_alerts = client.get("/api/v1/alerts", headers=_h(tokens["ana"])).json()
    assert all_alerts["total"] == 3
    mine = client.get("/api/v1/alerts", headers=_h(tokens["o1"])).json()
    assert mine["total"] == 1 and mine["items"][0]["agency_id"] == "a1"
    other = next(a for a in all_alerts["items"] if a["agency_id"] == "a2")
    assert client.get(f"/api/v1/alerts/{other['id']}", headers=_h(tokens["o1"])).status_code == 404
    assert client.get(f"/api/v1/alerts/{other['id']}", headers=_h(tokens["o2"])).status_code == 200
    # Asking for another agency through a filter changes nothing.
    assert client.get("/api/v1/alerts?agency=a2", headers=_h(tokens["o1"])).json()["total"] == 1
    ev = client.get("/api/v1/events?q=user.name:admin&from=2026-11-29T00:00:00Z", headers=_h(tokens["o1"])).json()
    assert ev["total"] == 0
    ev = client.get("/api/v1/events?q=&from=2026-11-29T00:00:00Z", headers=_h(tokens["o1"])).json()
    assert ev["total"] == 1


def test_unassigned_alerts_are_kept(api: Any) -> None:
    client, tokens, _ = api
    r = client.get("/api/v1/alerts?agency=unassigned", headers=_h(tokens["ana"])).json()
    assert r["total"] == 1 and r["items"][0]["entity"]["value"] == "guest"


def test_roles(api: Any) -> None:
    client, tokens, _ = api
    aid = client.get("/api/v1/alerts", headers=_h(tokens["ana"])).json()["items"][0]["id"]
    body = {"status": "acknowledged"}
    assert client.patch(f"/api/v1/alerts/{aid}", json=body, headers=_h(tokens["aud"])).status_code == 403
    assert client.patch(f"/api/v1/alerts/{aid}", json=body, headers=_h(tokens["o1"])).status_code == 403
    assert client.get("/api/v1/alerts", headers=_h(tokens["author"])).status_code == 403
    assert client.get("/api/v1/audit", headers=_h(tokens["ana"])).status_code == 403
    r = client.patch(f"/api/v1/alerts/{aid}", json=body, headers=_h(tokens["ana"]))
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"


def test_malformed_input_gets_useful_4xx(api: Any) -> None:
    client, tokens, _ = api
    h = _h(tokens["ana"])
    aid = client.get("/api/v1/alerts", headers=h).json()["items"][0]["id"]
    r = client.patch(f"/api/v1/alerts/{aid}", json={"status": "maybe"}, headers=h)
    assert r.status_code == 422 and "status" in r.json()["detail"]
    r = client.patch(f"/api/v1/alerts/{aid}", json={"status": "false_positive"}, headers=h)
    assert r.status_code == 422 and "reason" in r.json()["detail"]
    r = client.patch(f"/api/v1/alerts/{aid}", content=b"{not json", headers={**h, "content-type": "application/json"})
    assert r.status_code == 422
    r = client.get("/api/v1/events?q=(broken", headers=h)
    assert r.status_code == 400 and "bad query" in r.json()["detail"]
    assert client.get("/api/v1/alerts?limit=100000", headers=h).status_code == 422
    assert client.get("/api/v1/alerts/does-not-exist", headers=h).status_code == 404
    r = client.post("/api/v1/suppressions", json={"rule_id": "*", "reason": "too noisy"}, headers=h)
    assert r.status_code == 422


def test_changes_are_audited_and_chain_detects_tampering(api: Any) -> None:
    client, tokens, ctx = api
    h = _h(tokens["ana"])
    aid = client.get("/api/v1/alerts", headers=h).json()["items"][0]["id"]
    client.patch(f"/api/v1/alerts/{aid}", json={"status": "false_positive", "reason": "lab test"}, headers=h)
    r = client.post("/api/v1/suppressions", json={"rule_id": "r1", "conditions": {"user.name": "root"},
                                                  "reason": "lab host"}, headers=h)
    assert r.status_code == 201
    log = client.get("/api/v1/audit", headers=_h(tokens["aud"])).json()
    actions = [e["action"] for e in log["items"]]
    assert "alert.update" in actions and "suppression.add" in actions
    assert log["chain_valid"] is True
    with ctx.state.engine.begin() as conn, pytest.raises(Exception, match="append-only"):
        conn.execute(text("UPDATE audit_log SET actor='mallory'"))
    with ctx.state.engine.begin() as conn:  # someone with file access edits around the trigger
        conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text("UPDATE audit_log SET actor='mallory' WHERE id = 1"))
    log = client.get("/api/v1/audit", headers=_h(tokens["aud"])).json()
    assert log["chain_valid"] is False and log["first_bad_id"] == 1


def test_suppression_stops_new_alerts(api: Any) -> None:
    from soc.pipeline import Pipeline

    client, tokens, ctx = api
    h = _h(tokens["ana"])
    client.post("/api/v1/suppressions", json={"rule_id": "r1", "conditions": {"user.name": "svc"},
                                              "reason": "service account"}, headers=h)
    pipe = Pipeline(state=ctx.state, events=ctx.events, inventory=ctx.inventory, detectors=[FailedLoginDetector()])
    ev = {"event": {"outcome": "failure"}, "user": {"name": "svc"}, "source": {"ip": "10.1.1.1"}}
    before = client.get("/api/v1/alerts", headers=h).json()["total"]
    pipe.process([Record("t", "json", json.dumps(ev), time.time())])
    assert client.get("/api/v1/alerts", headers=h).json()["total"] == before
    assert pipe.alert_sink.suppressed == 1


def test_session_sign_in_csrf_and_lockout(api: Any) -> None:
    client, tokens, _ = api
    r = client.post("/api/v1/auth/login", json={"username": "ana", "password": "wrong password"})
    assert r.status_code == 401 and "wrong user name or password" in r.json()["detail"]
    r = client.post("/api/v1/auth/login", json={"username": "nobody", "password": "x"})
    assert r.status_code == 401 and "wrong user name or password" in r.json()["detail"]  # no user probing
    r = client.post("/api/v1/auth/login", json={"username": "ana", "password": "correct horse battery"})
    assert r.status_code == 200
    csrf = r.json()["csrf_token"]
    assert "soc_session" in r.cookies or client.cookies.get("soc_session")
    assert client.get("/api/v1/me").json()["name"] == "ana"
    aid = client.get("/api/v1/alerts").json()["items"][0]["id"]
    # A state change from the browser without the CSRF token is refused, with it accepted.
    assert client.patch(f"/api/v1/alerts/{aid}", json={"status": "acknowledged"}).status_code == 403
    assert client.patch(f"/api/v1/alerts/{aid}", json={"status": "acknowledged"},
                        headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.patch(f"/api/v1/alerts/{aid}", json={"status": "acknowledged"},
                        headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.get("/api/v1/me").status_code == 401
    # Lock-out after repeated failures, even with the right password afterwards.
    for _ in range(5):
        client.post("/api/v1/auth/login", json={"username": "aud", "password": "nope nope"})
    r = client.post("/api/v1/auth/login", json={"username": "aud", "password": "correct horse battery"})
    assert r.status_code == 401 and "locked" in r.json()["detail"]
    log = client.get("/api/v1/audit?action=auth", headers=_h(tokens["admin"])).json()
    assert {"auth.login", "auth.login_failed", "auth.logout"} <= {e["action"] for e in log["items"]}
