"""Other layer-4 channels: syslog/CEF (real UDP/TCP sockets) and Form 03 by e-mail (real SMTP server)."""

from __future__ import annotations

import socket
import threading

import pytest
from sqlalchemy import select

from soc.sharing.cef import CefSender, alert_to_cef, cef_line, esc_ext, esc_header, syslog_wrap
from soc.sharing.minimise import Minimiser, NetworkSet
from soc.sharing.taxii_push import queue_incident, register_channels
from soc.storage.models import Outbox
from tests.sharing.conftest import free_port, make_incident, web_event


def test_cef_escaping():
    assert esc_header("a|b\\c\nd") == "a\\|b\\\\c d"
    assert esc_ext("x=1\\2\r\nline|pipe") == "x\\=1\\\\2\\nline|pipe"
    line = cef_line("sig|1", "Name with | pipe", "high", [("msg", "a=b"), ("src", "198.51.100.1"), ("dst", None)])
    assert line == "CEF:0|HaiPhongSOC|SOC|1|sig\\|1|Name with \\| pipe|8|msg=a\\=b src=198.51.100.1"
    assert syslog_wrap("CEF:0|x", "high").startswith("<163>")


def test_alert_to_cef_minimises():
    m = Minimiser(NetworkSet.of(["10.0.0.0/8"]))
    ev = web_event("198.51.100.7", dst="10.20.0.5", user="nguyenvana")
    alert = {"id": "a1", "@timestamp": "2026-12-01T00:00:00Z", "kind": "sigma",
             "rule": {"id": "r1", "name": "Brute force", "level": "high"}, "events": [ev],
             "soc": ev["soc"]}
    line = alert_to_cef(alert, m)
    assert "src=198.51.100.7" in line and "10.20.0.5" not in line and "nguyenvana" not in line
    assert "rt=1796083200000" in line and "cs1=so-tttt" in line
    m2 = Minimiser(NetworkSet.of(["10.0.0.0/8"]), share_internal_addresses=True, share_user_names=True)
    line = alert_to_cef(alert, m2)
    assert "dst=10.20.0.5" in line and "suser=nguyenvana" in line


def _udp_listener():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    return sock


def test_udp_and_tcp_senders():
    u = _udp_listener()
    CefSender("127.0.0.1", u.getsockname()[1], "udp").send(["<163>line one", "<163>line two"])
    assert u.recv(9000) == b"<163>line one" and u.recv(9000) == b"<163>line two"
    u.close()
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    got = []

    def accept():
        c, _ = srv.accept()
        with c:
            data = b""
            while chunk := c.recv(4096):
                data += chunk
            got.append(data)

    t = threading.Thread(target=accept)
    t.start()
    CefSender("127.0.0.1", srv.getsockname()[1], "tcp").send(["a", "b\nc"])
    t.join(5)
    srv.close()
    assert got == [b"a\nb c\n"]


def test_incident_over_syslog_cef_through_outbox(state, settings):
    delivery = pytest.importorskip("soc.incidents.delivery")
    register_channels()
    u = _udp_listener()
    settings.sharing.destinations = [{"name": "siem", "channel": "syslog_cef", "host": "127.0.0.1",
                                      "port": u.getsockname()[1], "protocol": "udp"}]
    iid = make_incident(state)
    with state.session() as s:
        queue_incident(s, iid, settings)
    assert delivery.OutboxWorker(settings, state).run_once()["sent"] == 1
    first = u.recv(9000).decode()
    second = u.recv(9000).decode()
    u.close()
    assert "CEF:0|HaiPhongSOC|SOC|1|incident:brute_force|Incident HP-2026-0001" in first and "cn1=4" in first
    assert "src=203.0.113.45" in second and "nguyenvana" not in second


def test_form03_email_through_outbox(state, settings):
    delivery = pytest.importorskip("soc.incidents.delivery")
    aiosmtpd = pytest.importorskip("aiosmtpd.controller")
    from aiosmtpd.handlers import Message

    received = []

    class Keep(Message):
        def handle_message(self, message):
            received.append(message)

    port = free_port()
    ctl = aiosmtpd.Controller(Keep(), hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        settings.incidents.smtp.host, settings.incidents.smtp.port = "127.0.0.1", port
        settings.sharing.destinations = [{"name": "ncsc-mail", "channel": "email", "email_to": ["ncsc@example.vn"]}]
        iid = make_incident(state, events=[web_event("203.0.113.45", dst="10.20.0.5", user="tranthib")])
        with state.session() as s:
            queue_incident(s, iid, settings)
        assert delivery.OutboxWorker(settings, state).run_once()["sent"] == 1
    finally:
        ctl.stop()
    assert len(received) == 1
    msg = received[0]
    body = msg.get_payload(decode=True).decode("utf-8")
    assert "Báo cáo sự cố" in str(msg["Subject"]) or "TLP:AMBER+STRICT" in str(msg["Subject"])
    assert "BÁO CÁO BAN ĐẦU SỰ CỐ" in body and "INITIAL CYBER INCIDENT REPORT" in body
    assert "203.0.113.45" in body and "10.20.0.5" not in body and "tranthib" not in body
    assert "cấp độ an toàn: 4" in body and '"type": "bundle"' in body
    with state.session() as s:
        row = s.execute(select(Outbox).where(Outbox.incident_id == iid)).scalar_one()
        assert row.channel == "email" and row.status == "sent"


def test_forward_alerts_live(settings):
    from soc.sharing.cef import forward_alerts

    u = _udp_listener()
    settings.sharing.destinations = [{"name": "siem", "channel": "syslog_cef", "host": "127.0.0.1",
                                      "port": u.getsockname()[1]}]
    ind = {"kind": "domain", "value": "c2.bad.example", "feed": "ncsc", "tlp": "amber"}
    alert = {"id": "a9", "@timestamp": "2026-12-01T00:00:00Z", "kind": "indicator",
             "rule": {"id": "intel:ncsc:1", "name": "Threat-intelligence match", "level": "critical"},
             "events": [{"source": {"ip": "172.16.0.9"}}], "match": {"indicator": ind}}
    assert forward_alerts([alert], settings, "siem") == 1
    line = u.recv(9000).decode()
    u.close()
    assert line.startswith("<162>") and "|10|" in line and "cs2=domain:c2.bad.example" in line
    assert "cs4=amber" in line and "172.16.0.9" not in line
