"""Fixtures: a real state database, incidents with alerts, and a real TAXII 2.1 server (medallion)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from soc.config import Settings
from soc.storage.models import Alert, Incident
from soc.storage.state import State

TAXII_USER, TAXII_PASS = "ncsc", "intake-secret-1"
COLLECTIONS = {name: str(uuid.uuid5(uuid.NAMESPACE_URL, f"test-collection:{name}"))
               for name in ("push1", "push2", "push3", "push4", "intel")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    st = State(f"sqlite:///{tmp_path / 'state.db'}")
    yield st
    st.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.model_validate({"data_dir": str(tmp_path),
                                    "storage": {"state_url": f"sqlite:///{tmp_path / 'state.db'}"},
                                    "sharing": {"enabled": True, "organisation_email": "soc@haiphong.gov.vn"}})


T0 = datetime(2026, 11, 30, 8, 15, tzinfo=UTC)


def web_event(src: str, dst: str = "10.20.0.5", user: str | None = "nguyenvana", **extra: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {"@timestamp": "2026-11-30T08:10:00.000Z", "source": {"ip": src},
                          "destination": {"ip": dst, "port": 443},
                          "soc": {"agency": {"id": "so-tttt", "name": "Sở Thông tin và Truyền thông"},
                                  "system": {"id": "portal", "name": "Cổng thông tin", "level": 4},
                                  "asset": {"match": "destination.ip"}}}
    if user:
        ev["user"] = {"name": user}
    for k, v in extra.items():
        cur = ev
        parts = k.split("__")
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = v
    return ev


def make_incident(st: State, *, ref: str = "HP-2026-0001", agency: str | None = "so-tttt",
                  events: list[dict[str, Any]] | None = None, data: dict[str, Any] | None = None,
                  rule: str = "Web brute force", kind: str = "sigma", match: dict[str, Any] | None = None,
                  serious: bool = False) -> int:
    evs = events if events is not None else [web_event("203.0.113.45")]
    with st.session() as s:
        inc = Incident(ref=ref, title="Tấn công dò mật khẩu cổng thông tin / portal brute force",
                       category="brute_force", status="open", severity="high", serious=serious, agency_id=agency,
                       system_id="portal", system_level=4, t0=T0, first_seen=T0 - timedelta(minutes=5),
                       last_seen=T0, created_at=T0, updated_at=T0, profile="vn-2026",
                       tactics=["credential_access"],
                       deadlines={"initial_notice": {"due": (T0 + timedelta(hours=24)).isoformat()}},
                       data=data or {})
        s.add(inc)
        s.flush()
        alert = {"id": str(uuid.uuid4()), "@timestamp": evs[-1]["@timestamp"], "kind": kind,
                 "rule": {"id": "r-1", "name": rule, "level": "high"}, "events": evs, "match": match or {},
                 "soc": evs[-1].get("soc", {})}
        s.add(Alert(id=alert["id"], ts=T0, kind=kind, rule_id="r-1", rule_name=rule, level="high", severity="high",
                    agency_id=agency, dedup_key=uuid.uuid4().hex, incident_id=inc.id, data=alert))
        return inc.id


@pytest.fixture(scope="module")
def taxii_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """medallion (the OASIS TAXII 2.1 reference server) with its memory backend, in a subprocess."""
    exe = Path(sys.executable).parent / "medallion"
    if not exe.exists() and not shutil.which("medallion"):
        pytest.skip("medallion is not installed (pip install medallion)")
    d = tmp_path_factory.mktemp("taxii")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cols = [{"id": cid, "title": name, "description": name, "can_read": True, "can_write": True,
             "media_types": ["application/stix+json;version=2.1"], "objects": [], "manifest": []}
            for name, cid in COLLECTIONS.items()]
    data = {"/discovery": {"title": "Test national centre", "description": "test", "contact": "test",
                           "default": f"{base}/intake/", "api_roots": [f"{base}/intake/"]},
            "intake": {"information": {"title": "Intake", "description": "test",
                                       "versions": ["application/taxii+json;version=2.1"],
                                       "max_content_length": 50_000_000},
                       "status": [], "collections": cols}}
    (d / "data.json").write_text(json.dumps(data))
    (d / "conf.json").write_text(json.dumps({
        "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                    "filename": str(d / "data.json")},
        "users": {TAXII_USER: TAXII_PASS}, "taxii": {"max_page_size": 100}}))
    log = open(d / "medallion.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([str(exe) if exe.exists() else "medallion", "--host", "127.0.0.1", "--port", str(port),
                             str(d / "conf.json")], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 20
        while True:
            try:
                r = httpx.get(f"{base}/taxii2/", auth=(TAXII_USER, TAXII_PASS),
                              headers={"Accept": "application/taxii+json;version=2.1"}, timeout=2)
                if r.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                pytest.fail(f"medallion did not start: {(d / 'medallion.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield {"base": base, "api_root": f"{base}/intake/", "collections": COLLECTIONS, "user": TAXII_USER,
               "password": TAXII_PASS, "log": d / "medallion.log"}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
