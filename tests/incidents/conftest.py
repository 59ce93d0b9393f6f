"""Fixtures: a real state database, inventory, SMTP server (aiosmtpd) and webhook receiver (http.server)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from detectors.base import make_alert
from soc.alerts import AlertSink
from soc.config import Settings
from soc.incidents.engine import IncidentEngine
from soc.inventory import Inventory
from soc.storage.state import State

REPO = Path(__file__).resolve().parents[2]

INVENTORY = """
version: 1
agencies:
  - id: sotttt
    name: "Sở Thông tin và Truyền thông Hải Phòng"
    name_en: "Hai Phong Department of Information and Communications"
    address: "Số 1 Đinh Tiên Hoàng, Hồng Bàng, Hải Phòng"
    contacts:
      layer1:
        primary: {name: "Nguyễn Văn An", email: "an.nv@sotttt.haiphong.gov.vn", webhook: "WEBHOOK/sotttt"}
        backup: {name: "Trần Thị Bình", email: "binh.tt@sotttt.haiphong.gov.vn"}
      layer3: {organisation: "Công ty Kiểm định ATTT", email: "assessor@kiemdinh.vn", next_assessment: "2027-03-01"}
    systems:
      - {id: portal, name: "Cổng thông tin điện tử thành phố", level: 4, ip_ranges: ["10.10.1.0/24"], public: true}
      - {id: mail, name: "Hệ thống thư điện tử", level: 3, ip_ranges: ["10.10.2.0/24"]}
  - id: soyte
    name: "Sở Y tế Hải Phòng"
    name_en: "Hai Phong Department of Health"
    contacts:
      layer1:
        primary: {name: "Lê Văn Cường", email: "cuong.lv@soyte.haiphong.gov.vn", language: en}
    systems:
      - {id: his, name: "Hệ thống thông tin bệnh viện", level: 3, ip_ranges: ["10.20.0.0/16"]}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Mailbox:
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd API)
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    ctl = Controller(box, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield box, port
    finally:
        ctl.stop()


@dataclass
class Hooks:
    requests: list[dict[str, Any]] = field(default_factory=list)
    """Every POST received."""
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Idempotency-Key -> body: what a receiver honouring the header keeps."""
    fail_next: int = 0


@pytest.fixture
def webhook_server() -> Iterator[tuple[Hooks, str]]:
    hooks = Hooks()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            rec = {"path": self.path, "headers": dict(self.headers), "body": body}
            hooks.requests.append(rec)
            if hooks.fail_next > 0:
                hooks.fail_next -= 1
                self.send_response(503)
                self.end_headers()
                return
            hooks.accepted.setdefault(self.headers["Idempotency-Key"], body)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield hooks, f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def env(tmp_path: Path, smtp_server: tuple[Mailbox, int], webhook_server: tuple[Hooks, str]) -> Iterator[Any]:
    box, port = smtp_server
    hooks, base = webhook_server
    inv_path = tmp_path / "inventory.yaml"
    inv_path.write_text(INVENTORY.replace("WEBHOOK", base), encoding="utf-8")
    settings = Settings.model_validate({
        "data_dir": str(tmp_path / "data"), "inventory": str(inv_path),
        "incidents": {"playbooks_dir": str(REPO / "playbooks"), "profile": "vn-2026",
                      "public_base_url": "https://soc.example.vn", "smtp": {"host": "127.0.0.1", "port": port},
                      "outbox_backoff_seconds": 1, "outbox_sending_timeout_seconds": 60},
    })
    state = State(settings.state_url)
    inventory = Inventory.load(inv_path)
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    engine = IncidentEngine(settings, state, inventory, clock=clock)

    @dataclass
    class Env:
        settings: Settings
        state: State
        inventory: Inventory
        engine: IncidentEngine
        clock: Clock
        box: Mailbox
        hooks: Hooks
        sink: AlertSink
        box_port: int

        def alert(self, rule: str, *, level: str = "high", tags: list[str] | None = None, src: str = "203.0.113.7",
                  dst: str = "10.10.1.5", user: str | None = None, rule_id: str | None = None) -> list[Any]:
            """Store one alert through the real AlertSink and hand it to the engine like the pipeline does."""
            ev: dict[str, Any] = {"@timestamp": self.clock.now.isoformat(), "source": {"ip": src},
                                  "destination": {"ip": dst}, "event": {"dataset": "test"}}
            if user:
                ev["user"] = {"name": user}
            self.inventory.enrich(ev)
            a = make_alert(kind="sigma", rule={"id": rule_id or rule.lower().replace(" ", "-"), "name": rule,
                                                "level": level, "tags": tags or []}, events=[ev],
                           entity={"type": "ip", "value": src}, timestamp=self.clock.now.isoformat())
            with self.state.session() as s:
                rows = self.sink.persist(s, [a])
                return self.engine.on_alerts(s, rows)

    e = Env(settings, state, inventory, engine, clock, box, hooks, AlertSink(), port)
    try:
        yield e
    finally:
        state.dispose()
