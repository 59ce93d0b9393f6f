"""End to end: `soc run` with the demo replay, observed only through the API, as a newcomer would.

Starts the real service in a subprocess on free ports with a fresh data folder, then
polls the API until the demo's alerts and at least one incident appear.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, write_config

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _soc(cfg: Path, *args: str, stdin: str | None = None) -> str:
    env = {**os.environ, "SOC_CONFIG": str(cfg)}
    r = subprocess.run([sys.executable, "-m", "soc.cli.main", *args], env=env, input=stdin, capture_output=True,
                       text=True, timeout=120, cwd=REPO)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_demo_end_to_end(tmp_path: Path) -> None:
    port = _free_port()
    cfg = write_config(tmp_path, f"[api]\nport = {port}\n")
    _soc(cfg, "user", "add", "ana", "--role", "analyst", "--password-stdin", stdin="demo password 123\n")
    token = _soc(cfg, "token", "create", "ana").strip()
    env = {**os.environ, "SOC_CONFIG": str(cfg), "SOC_DEMO__REPLAY": "true"}
    log = (tmp_path / "service.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "soc.cli.main", "run"], env=env, cwd=REPO, stdout=log,
                            stderr=subprocess.STDOUT)
    h = {"Authorization": f"Bearer {token}"}
    t0 = time.monotonic()
    first_alert = None
    alerts = incidents = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            while time.monotonic() - t0 < 240:
                if proc.poll() is not None:
                    pytest.fail("service exited:\n" + (tmp_path / "service.log").read_text()[-4000:])
                try:
                    alerts = c.get("/api/v1/alerts?limit=500", headers=h).json()
                    incidents = c.get("/api/v1/incidents", headers=h).json()
                except httpx.HTTPError:
                    time.sleep(1)
                    continue
                if alerts.get("total") and first_alert is None:
                    first_alert = time.monotonic() - t0
                if alerts.get("total", 0) >= 5 and incidents.get("total", 0) >= 1:
                    break
                time.sleep(2)
            print(f"first alert after {first_alert}s; {alerts.get('total')} alerts, {incidents.get('total')} incidents")
            assert alerts.get("total", 0) >= 5, (tmp_path / "service.log").read_text()[-4000:]
            assert incidents.get("total", 0) >= 1
            agencies = {a["agency_id"] for a in alerts["items"]}
            assert len(agencies - {None}) >= 2, f"alerts should concern both demo agencies, got {agencies}"
            rules = {a["rule"]["name"] for a in alerts["items"]}
            assert len(rules) >= 5, rules
            ev = c.get("/api/v1/events", params={"q": "event.dataset:fortinet.firewall", "limit": 1}, headers=h).json()
            assert ev["total"] > 0
            deadletters = c.get("/api/v1/deadletters", headers=h)
            if deadletters.status_code == 200:
                body = deadletters.json()
                total = body.get("total", len(body.get("items", []))) if isinstance(body, dict) else len(body)
                assert total == 0, f"demo lines were dead-lettered: {body}"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
