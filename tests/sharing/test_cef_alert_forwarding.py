"""Live CEF forwarding of alerts to a real UDP syslog receiver on loopback, through the service's wiring."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from connectors.record import Record
from soc.config import load_config
from soc.service import build_runtime
from tests.conftest import write_config


def test_alerts_are_forwarded_as_cef(tmp_path: Path) -> None:
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(10)
    port = rx.getsockname()[1]
    cfg = write_config(tmp_path, "[sharing]\nenabled = true\nauto_share_serious = false\n"
                                 "[[sharing.destinations]]\nname = \"siem\"\nchannel = \"syslog_cef\"\n"
                                 f"host = \"127.0.0.1\"\nport = {port}\nforward_alerts = true\n")
    settings = load_config(cfg, environ={})
    rt = build_runtime(settings)
    try:
        line = "Dec  1 10:00:00 web01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash"
        res = rt.pipeline.process([Record("t", "auth", line, time.time())])
        assert res.alerts >= 1, "the demo rule for sudo to a root shell should fire"
        data, _ = rx.recvfrom(65535)
    finally:
        rt.stop()
        rx.close()
    text = data.decode()
    assert "CEF:0|" in text and "Sudo" in text, text
