"""Replay of the demo dataset (``demo/``): a multi-stage attack on two agencies, generated relative to now.

``make run`` turns this on so that a newcomer sees alerts and incidents within a
minute. The story and the expected detections are in ``docs/demo.md``.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.runner import ingest_files

#: Generated file name -> (parser, host the file is read on), in replay order. The nginx access log names
#: the client only, so the host is given as a file source's ``host_name`` would give it.
DEMO_FILES = (
    ("fortigate.log", "fortigate", None),
    ("nginx.log", "nginx", "stc-portal-web01"),
    ("auth.log", "auth", None),
    ("squid.log", "squid", None),
    ("winlog.jsonl", "winlog", None),
)


class MailSink:
    """A local SMTP server that keeps every message as an ``.eml`` file, so the demo's notices can be read.

    Only for the demo (``make run``): a real deployment points ``[incidents.smtp]`` at the city's mail relay.
    """

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        from aiosmtpd.controller import Controller

        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        sink = self

        class _Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{len(list(sink.folder.glob('*.eml')))}.eml"
                (sink.folder / name).write_bytes(envelope.original_content or envelope.content)
                return "250 OK"

        if port == 0:
            import socket

            with socket.socket() as probe:
                probe.bind((host, 0))
                port = int(probe.getsockname()[1])
        self.controller = Controller(_Handler(), hostname=host, port=port)
        self.controller.start()
        self.host, self.port = host, port

    def stop(self) -> None:
        self.controller.stop()


def generate(demo_dir: Path, out: Path, start: datetime) -> Path:
    """Run ``demo/generate.py`` to write the demo logs for ``start`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, str(demo_dir / "generate.py"), "--start", start.isoformat(), "--out", str(out)],
                   check=True, capture_output=True, text=True)
    return out


def replay(runtime: Any, demo_dir: Path, work_dir: Path, start: datetime | None = None) -> dict[str, int]:
    """Generate the demo for ``start`` (default three hours ago) and ingest every file; returns totals."""
    start = start or (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
    out = generate(demo_dir, work_dir, start)
    totals = {"received": 0, "parsed": 0, "dead": 0, "alerts": 0}
    for name, fmt, host in DEMO_FILES:
        path = out / name
        if not path.exists():
            continue
        res = ingest_files([path], fmt, runtime.pipeline, progress=False, source=f"demo-{fmt}", host=host)
        totals["received"] += res.received
        totals["parsed"] += res.parsed
        totals["dead"] += res.dead
        totals["alerts"] += res.alerts
    return totals
