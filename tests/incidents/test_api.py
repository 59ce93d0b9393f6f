"""The incidents API on the lead's application, with real tokens: roles, agency isolation, forms, ack links."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from soc.auth import create_token, create_user
from soc.incidents.models import Notice
from soc.incidents.signing import AckSigner
from soc.storage.models import Incident

BF = ["attack.credential_access", "attack.t1110"]


@pytest.fixture
def api(env: Any) -> Any:
    from soc.api.app import create_app
    from soc.context import AppContext
    from soc.storage.events import ParquetEventStore

    ctx = AppContext(settings=env.settings, state=env.state, events=ParquetEventStore(env.settings.events_dir),
                     inventory=env.inventory)
    ctx.extras["incidents.engine"] = env.engine
    client = TestClient(create_app(env.settings, ctx=ctx))
    tokens = {}
    with env.state.session() as s:
        for name, role, agency in (("alice", "analyst", None), ("aud", "auditor", None),
                                   ("officer", "agency", "sotttt"), ("author", "rule_author", None),
                                   ("root", "admin", None)):
            u = create_user(s, name, role, agency_id=agency)
            tokens[role] = {"Authorization": f"Bearer {create_token(s, u, 'test')}"}
    # one incident per agency and one unassigned
    env.alert("SSH brute force", tags=BF, src="203.0.113.7", dst="10.10.1.5")
    env.alert("SSH brute force", tags=BF, src="198.51.100.9", dst="10.20.3.3")
    env.alert("SSH brute force", tags=BF, src="203.0.113.99", dst="172.31.9.9")
    with env.state.session() as s:
        ids = {i.agency_id: i.id for i in s.execute(select(Incident)).scalars()}
    return client, tokens, ids


def test_agency_officer_sees_only_their_agency(api: Any) -> None:
    client, tok, ids = api
    r = client.get("/api/v1/incidents", headers=tok["agency"])
    assert r.status_code == 200
    assert [i["agency_id"] for i in r.json()["items"]] == ["sotttt"]
    # asking for another agency's incidents does not widen the view
    assert client.get("/api/v1/incidents?agency=soyte", headers=tok["agency"]).json()["items"] == []
    assert client.get(f"/api/v1/incidents/{ids['sotttt']}", headers=tok["agency"]).status_code == 200
    for other in (ids["soyte"], ids[None], 99999):
        r = client.get(f"/api/v1/incidents/{other}", headers=tok["agency"])
        assert r.status_code == 404 and r.json()["detail"] == f"incident {other} not found"
        assert client.get(f"/api/v1/incidents/{other}/forms/form03.html", headers=tok["agency"]).status_code == 404
        assert client.post(f"/api/v1/incidents/{other}/ack", headers=tok["agency"]).status_code == 404
    # officers acknowledge their own incidents, but do not change them
    r = client.post(f"/api/v1/incidents/{ids['sotttt']}/ack", headers=tok["agency"])
    assert r.status_code == 200 and r.json()["acknowledged_at"]
    assert client.patch(f"/api/v1/incidents/{ids['sotttt']}", json={"status": "triage"},
                        headers=tok["agency"]).status_code == 403
    agencies = client.get("/api/v1/agencies", headers=tok["agency"]).json()["items"]
    assert [a["id"] for a in agencies] == ["sotttt"]
    assert client.get("/api/v1/notices", headers=tok["agency"]).json()["items"][0]["agency_id"] == "sotttt"
    assert all(n["agency_id"] == "sotttt" for n in client.get("/api/v1/notices", headers=tok["agency"]).json()["items"])
    assert client.get("/api/v1/reports/assessor?agency=soyte", headers=tok["agency"]).status_code == 404


def test_roles(api: Any) -> None:
    client, tok, ids = api
    assert client.get("/api/v1/incidents").status_code == 401
    assert client.get("/api/v1/incidents", headers=tok["rule_author"]).status_code == 403
    r = client.get("/api/v1/incidents", headers=tok["auditor"])
    assert r.status_code == 200 and r.json()["total"] == 3
    assert client.patch(f"/api/v1/incidents/{ids['soyte']}", json={"status": "triage"},
                        headers=tok["auditor"]).status_code == 403
    assert client.post(f"/api/v1/incidents/{ids['soyte']}/comments", json={"body": "x"},
                       headers=tok["auditor"]).status_code == 403


def test_queue_filters_and_detail(api: Any) -> None:
    client, tok, ids = api
    h = tok["analyst"]
    r = client.get("/api/v1/incidents?agency=unassigned", headers=h).json()
    assert r["total"] == 1 and r["items"][0]["queue"] == "unassigned"
    assert client.get("/api/v1/incidents?q=198.51.100", headers=h).json()["total"] == 1
    assert client.get("/api/v1/incidents?severity=critical", headers=h).json()["total"] == 1  # the level-4 portal
    page = client.get("/api/v1/incidents?page=2&page_size=2", headers=h).json()
    assert page["total"] == 3 and len(page["items"]) == 1
    r = client.get("/api/v1/incidents?status=bogus", headers=h)
    assert r.status_code == 422 and "unknown status" in r.json()["detail"]
    d = client.get(f"/api/v1/incidents/{ids['sotttt']}", headers=h).json()
    assert d["alerts"][0]["rule"]["name"] == "SSH brute force"
    assert d["timeline"][0]["kind"] == "created"
    assert d["sla"]["ack"]["remaining_seconds"] > 0 and d["sla"]["ack"]["breached"] is False
    assert set(d["layers"]) == {"1", "2", "3", "4"}
    assert d["layers"]["1"]["notices"][0]["recipient"] == "Nguyễn Văn An"
    assert d["layers"]["3"]["assessor"] == "Công ty Kiểm định ATTT"
    assert d["layers"]["4"]["status"] == "not_reported"
    assert "triage" in d["allowed_transitions"]


def test_patch_transitions_comments_and_audit(api: Any, env: Any) -> None:
    client, tok, ids = api
    h = tok["analyst"]
    url = f"/api/v1/incidents/{ids['soyte']}"
    r = client.patch(url, json={"status": "closed"}, headers=h)
    assert r.status_code == 409 and "cannot go from 'new' to 'closed'" in r.json()["detail"]
    r = client.patch(url, json={"status": "triage", "assignee": "alice", "reason": "looking"}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "triage" and r.json()["assignee"] == "alice"
    assert client.patch(url, json={"serious": True}, headers=h).status_code == 422  # reason required
    r = client.patch(url, json={"serious": True, "serious_reason": "hospital records"}, headers=h)
    assert r.json()["serious"] is True and r.json()["serious_override_reason"] == "hospital records"
    assert "initial_notice" in r.json()["deadlines"]
    assert client.patch(url, json={"nonsense": 1}, headers=h).status_code == 422
    assert client.patch(url, json={"status": 5}, headers=h).status_code == 422
    assert client.patch(url, json={"impacts": ["bogus"]}, headers=h).status_code == 409
    r = client.post(f"{url}/comments", json={"body": "Đã chặn IP nguồn."}, headers=h)
    assert r.status_code == 201
    assert client.post(f"{url}/comments", json={"body": ""}, headers=h).status_code == 422
    d = client.get(url, headers=h).json()
    assert d["comments"][0]["body"] == "Đã chặn IP nguồn."
    kinds = [t["kind"] for t in d["timeline"]]
    assert {"status", "assignee", "serious:override", "comment"} <= set(kinds)
    from soc.storage.models import AuditEntry
    with env.state.session() as s:
        actions = [a.action for a in s.execute(select(AuditEntry).where(AuditEntry.actor == "alice")).scalars()]
    assert {"incident.status", "incident.assign", "incident.serious", "incident.comment"} <= set(actions)


def test_ack_link(api: Any, env: Any) -> None:
    client, tok, ids = api
    with env.state.session() as s:
        n = s.execute(select(Notice).where(Notice.incident_id == ids["sotttt"])).scalar_one()
    url = env.engine.ack_url(n)
    path = url.split("https://soc.example.vn", 1)[1]
    page = client.get(path)  # opening the link changes nothing
    assert page.status_code == 200 and "Xác nhận" in page.text and "<form" in page.text
    assert client.get(f"/api/v1/incidents/{ids['sotttt']}", headers=tok["analyst"]).json()["acknowledged_at"] is None
    r = client.post(path)
    assert r.status_code == 200 and r.json()["ok"] is True
    again = client.post(path, headers={"Accept": "text/html"})  # idempotent; a browser gets a page
    assert again.status_code == 200 and "Đã xác nhận" in again.text
    d = client.get(f"/api/v1/incidents/{ids['sotttt']}", headers=tok["analyst"]).json()
    assert d["acknowledged_at"] and d["layers"]["1"]["notices"][0]["acked_by"].startswith("primary:")
    # forged: another notice id with a made-up nonce, a damaged signature, garbage
    forged = env.engine.signer.token(n.id + 1000, "0" * 16)
    assert client.post(f"/api/v1/ack/{forged}").status_code == 400
    assert client.post(path[:-3] + "abc").status_code == 400
    assert client.post("/api/v1/ack/not-a-token").status_code == 400
    other_key = AckSigner("some-other-key", 3600).token(n.id, n.nonce)
    assert client.post(f"/api/v1/ack/{other_key}").status_code == 400


def test_expired_ack_link(api: Any, env: Any) -> None:
    client, _, ids = api
    with env.state.session() as s:
        n = s.execute(select(Notice).where(Notice.incident_id == ids["soyte"])).scalar_one()
    env.engine.signer = AckSigner(env.engine.signer._s.secret_key.decode(), max_age_seconds=1)  # type: ignore[attr-defined]
    token = env.engine.signer.token(n.id, n.nonce)
    time.sleep(2.1)
    r = client.post(f"/api/v1/ack/{token}")
    assert r.status_code == 410 and "expired" in r.json()["detail"]


def test_forms_pdf_has_vietnamese_text(api: Any) -> None:
    from pypdf import PdfReader

    client, tok, ids = api
    h = tok["analyst"]
    r = client.get(f"/api/v1/incidents/{ids['sotttt']}/forms/form03.html", headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    for needle in ("Sở Thông tin và Truyền thông Hải Phòng", "Cổng thông tin điện tử thành phố",
                   "Cấp độ an toàn", "SSH brute force", "Nguyễn Văn An"):
        assert needle in html
    r = client.get(f"/api/v1/incidents/{ids['sotttt']}/forms/form03.pdf", headers=h)
    assert r.status_code == 200 and r.content[:5] == b"%PDF-"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    for needle in ("BÁO CÁO BAN ĐẦU", "Sở Thông tin và Truyền thông Hải Phòng", "Thời điểm phát hiện"):
        assert needle in text.replace("\n", " ")
    fonts = {str(f["/BaseFont"]) for p in PdfReader(io.BytesIO(r.content)).pages
             for f in p["/Resources"]["/Font"].values()}  # type: ignore[index]
    assert any("DejaVu-Sans" in f for f in fonts), fonts  # a font that has the Vietnamese diacritics
    r = client.get(f"/api/v1/incidents/{ids['sotttt']}/forms/final.pdf", headers=h)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    assert "KẾT THÚC ỨNG CỨU" in text
    assert client.get(f"/api/v1/incidents/{ids['sotttt']}/forms/form99.pdf", headers=h).status_code == 404


def test_assessor_report(api: Any, env: Any) -> None:
    client, tok, ids = api
    h = tok["auditor"]
    # acknowledge after 12 minutes, resolve after 3 hours
    with env.state.session() as s:
        inc = s.get(Incident, ids["sotttt"])
        env.clock.now = inc.t0 + timedelta(minutes=12)
        env.engine.acknowledge(s, inc, "officer")
        env.clock.now = inc.t0 + timedelta(hours=3)
        env.engine.transition(s, inc, "investigating", "alice")
        env.engine.transition(s, inc, "resolved", "alice")
    r = client.get("/api/v1/reports/assessor?agency=sotttt", headers=h)
    assert r.status_code == 200
    rep = r.json()
    assert rep["summary"]["total"] == 1
    assert rep["summary"]["mtta_seconds"] == 12 * 60 and rep["summary"]["mttr_seconds"] == 3 * 3600
    csv_text = client.get("/api/v1/reports/assessor?agency=sotttt&format=csv", headers=h).content.decode("utf-8-sig")
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("ref,title") and len(lines) == 2 and ",12.0," in lines[1]
    html = client.get("/api/v1/reports/assessor?agency=sotttt&format=html", headers=h).text
    assert "BÁO CÁO ĐỊNH KỲ" in html and "Công ty Kiểm định ATTT" in html
    pdf = client.get("/api/v1/reports/assessor?agency=sotttt&format=pdf", headers=h)
    assert pdf.content[:5] == b"%PDF-"
    assert client.get("/api/v1/reports/assessor?agency=nope", headers=h).status_code == 404
    assert client.get("/api/v1/reports/assessor?agency=sotttt&from=2026-13-01", headers=h).status_code == 422
    assert client.get("/api/v1/reports/assessor?agency=sotttt&from=2026-12-01&to=2026-01-01",
                      headers=h).status_code == 422
