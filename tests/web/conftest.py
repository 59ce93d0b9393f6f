"""A running service with the demo data, users of every role, and a real Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, write_config

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PASSWORD = "correct horse battery staple"


@dataclass
class Service:
    url: str
    tokens: dict[str, str]
    tmp: Path
    syslog_port: int

    def send_syslog(self, *lines: str) -> None:
        """Send lines to the service's syslog TCP source (format ``auth``), as a server would."""
        with socket.create_connection(("127.0.0.1", self.syslog_port), timeout=10) as s:
            s.sendall("".join(line + "\n" for line in lines).encode())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _soc(cfg: Path, *args: str, stdin: str | None = None) -> str:
    r = subprocess.run([sys.executable, "-m", "soc.cli.main", *args], env={**os.environ, "SOC_CONFIG": str(cfg)},
                       input=stdin, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert r.returncode == 0, r.stderr
    return r.stdout


_CREATE_USERS = """
import json, sys
from soc.auth import create_token, create_user
from soc.config import load_config
from soc.storage.state import State
settings = load_config()
state = State(settings.state_url)
out = {}
with state.session() as s:
    for name, role, agency in json.loads(sys.stdin.read()):
        user = create_user(s, name, role, agency_id=agency, password=%r)
        out[name] = create_token(s, user, "browser-tests")
        state.audit("tests", "user.add", "user:" + name, session=s, role=role)
print(json.dumps(out))
"""


def _create_users(cfg: Path, users: list[tuple[str, str, str | None]]) -> dict[str, str]:
    """Users and API tokens through soc.auth in one process (one `soc user add` per user is slow on 2 cores)."""
    import json

    _soc(cfg, "user", "add", "first-admin", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")  # the CLI path
    r = subprocess.run([sys.executable, "-c", _CREATE_USERS % PASSWORD], env={**os.environ, "SOC_CONFIG": str(cfg)},
                       input=json.dumps(users), capture_output=True, text=True, timeout=120, cwd=REPO)
    assert r.returncode == 0, r.stderr
    return dict(json.loads(r.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("web")
    port, syslog_port = _free_port(), _free_port()
    rules = tmp / "rules"
    shutil.copytree(REPO / "rules", rules)  # the rule editor writes here, not into the repository
    cfg = write_config(tmp, f"[api]\nport = {port}\n[[sources]]\nname = \"test-tcp\"\ntype = \"syslog_tcp\"\n"
                            f"format = \"auth\"\nport = {syslog_port}\n")
    cfg.write_text(cfg.read_text().replace(f'rules_dirs = ["{REPO / "rules"}"]', f'rules_dirs = ["{rules}"]'))
    users = [("ana", "analyst", None), ("admin", "admin", None), ("author", "rule_author", None),
             ("aud", "auditor", None)]
    import yaml

    agencies = [a["id"] for a in yaml.safe_load((REPO / "inventory.yaml").read_text())["agencies"]]
    users += [(f"officer-{a}", "agency", a) for a in agencies]
    tokens = _create_users(cfg, users)
    log = (tmp / "service.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "soc.cli.main", "run"], cwd=REPO, stdout=log,
                            stderr=subprocess.STDOUT,
                            env={**os.environ, "SOC_CONFIG": str(cfg), "SOC_DEMO__REPLAY": "true"})
    url = f"http://127.0.0.1:{port}"
    h = {"Authorization": f"Bearer {tokens['ana']}"}
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            try:
                inc = httpx.get(f"{url}/api/v1/incidents", headers=h, timeout=5).json()
                if inc.get("total", 0) >= 2:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                pytest.fail("service exited: " + (tmp / "service.log").read_text()[-3000:])
            time.sleep(2)
        else:
            pytest.fail("demo incidents did not appear: " + (tmp / "service.log").read_text()[-3000:])
        yield Service(url, tokens, tmp, syslog_port)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        pytest.skip("Debian chromium is not installed (make setup installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"])
        yield b
        b.close()
