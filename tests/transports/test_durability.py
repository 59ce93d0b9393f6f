"""Crash safety: kill -9 the service while it ingests, restart, and count what the Parquet store holds."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import httpx

from connectors.runner import IngestService
from connectors.spool import Spool

from .conftest import free_port, wait_for
from .test_runner import ev, make_pipeline, make_settings

ROOT = Path(__file__).resolve().parents[2]


def stored_messages(events_dir: Path) -> list[str]:
    files = list(events_dir.glob("day=*/dataset=*/*.parquet"))
    if not files:
        return []
    con = duckdb.connect()
    try:
        rows = con.execute("SELECT message FROM read_parquet(?, union_by_name=true)",
                           [[str(f) for f in files]]).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def start(cfg: Path, log: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.transports.service_main", str(cfg)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=log.open("a"), text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "READY", log.read_text()
    return proc


def test_kill_9_then_restart_stores_every_acknowledged_line_once(tmp_path: Path) -> None:
    tcp, http = free_port(), free_port()
    settings = make_settings(tmp_path, f"""
[[sources]]
name = "tcp"
type = "syslog_tcp"
format = "json"
port = {tcp}

[[sources]]
name = "web"
type = "http"
format = "json"
port = {http}
token = "t0k"
""")
    cfg = tmp_path / "soc.toml"
    n_tcp = 60_000
    acked: list[str] = []
    proc = start(cfg, tmp_path / "service.log")
    try:
        def send_tcp() -> None:
            s = socket.create_connection(("127.0.0.1", tcp))
            try:
                for i in range(0, n_tcp, 1000):
                    s.sendall(b"".join(ev(j, "tcp-").encode() + b"\n" for j in range(i, i + 1000)))
            except OSError:
                pass  # the server died under us
            finally:
                s.close()

        def send_http() -> None:
            with httpx.Client(timeout=10) as c:
                for k in range(1000):
                    msgs = [ev(k * 100 + j, "http-") for j in range(100)]
                    try:
                        r = c.post(f"http://127.0.0.1:{http}/", content="\n".join(msgs),
                                   headers={"Authorization": "Bearer t0k"})
                    except httpx.HTTPError:
                        return
                    if r.status_code == 200:
                        acked.extend(json.loads(m)["message"] for m in msgs)

        threads = [threading.Thread(target=send_tcp), threading.Thread(target=send_http)]
        for t in threads:
            t.start()
        # Kill while the consumer is busy writing batches, once both senders are under way (the TCP sender
        # alone can fill 5,000 events before the first HTTP request is acknowledged).
        deadline = time.monotonic() + 60
        while (len(stored_messages(settings.events_dir)) < 5000 or not acked) and time.monotonic() < deadline:
            time.sleep(0.5)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        for t in threads:
            t.join(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    at_kill = len(stored_messages(settings.events_dir))
    proc = start(cfg, tmp_path / "service.log")
    try:
        spool = settings.data_dir / "spool"
        deadline = time.monotonic() + 120
        while Spool.peek_backlog(spool) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    msgs = stored_messages(settings.events_dir)
    assert len(msgs) == len(set(msgs)), "some events were stored twice"
    got = set(msgs)
    missing = [m for m in acked if m not in got]
    assert not missing, f"{len(missing)} acknowledged HTTP lines lost, e.g. {missing[:3]}"
    tcp_ids = sorted(int(m[4:]) for m in got if m.startswith("tcp-"))
    assert tcp_ids == list(range(len(tcp_ids))), "TCP lines stored are not an unbroken prefix of those sent"
    assert len(acked) > 0 and len(tcp_ids) > 0
    assert len(msgs) >= at_kill
    replayed = "replaying a batch interrupted" in (tmp_path / "service.log").read_text()
    print(f"at kill: {at_kill} stored; after restart: {len(msgs)} ({len(tcp_ids)} tcp, {len(acked)} http acked); "
          f"in-flight batch de-duplicated on restart: {replayed}")


def test_crash_after_store_before_commit_is_not_stored_twice(tmp_path: Path) -> None:
    """The window a kill -9 most often hits, made deterministic: events written, spool not committed."""
    settings = make_settings(tmp_path, "")
    pipe, state, store = make_pipeline(settings)
    svc = IngestService(settings, pipe, state)
    svc.start()
    svc.stop()  # consumer stopped; we drive one batch by hand
    svc.spool = Spool(settings.data_dir / "spool")
    from connectors.record import Record

    svc.spool.append([Record("s", "json", ev(i), time.time()) for i in range(6)])
    svc.spool.append([Record("s", "json", ev(i), time.time()) for i in range(6, 10)])
    recs, cur = svc.spool.read(6, 1)
    svc.spool.begin(cur)
    svc.process(recs, f"{svc.spool_id}-{cur.key}")
    assert store.count() == 6
    svc.spool.close()  # "crash": no commit
    pipe2, state2, store2 = make_pipeline(settings)
    svc2 = IngestService(settings, pipe2, state2)
    svc2.start()
    assert wait_for(lambda: svc2.spool.backlog == 0, 20)
    svc2.stop()
    msgs = stored_messages(settings.events_dir)
    assert sorted(msgs) == sorted(f"x{i}" for i in range(10))
