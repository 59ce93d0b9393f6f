"""The ingest service end to end in-process: sources -> spool -> pipeline -> Parquet + dead letters + health."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from connectors.deadletter import list_dead, replay
from connectors.health import load_health
from connectors.record import Record
from connectors.runner import IngestService, ingest_files
from connectors.spool import Spool
from soc.config import Settings, load_config
from soc.inventory import Inventory
from soc.pipeline import Pipeline
from soc.storage.events import ParquetEventStore
from soc.storage.models import Alert, DeadLetter
from soc.storage.state import State

from .conftest import free_port, wait_for


def make_settings(tmp: Path, sources: str, extra: str = "") -> Settings:
    cfg = tmp / "soc.toml"
    cfg.write_text(f'data_dir = "{tmp / "data"}"\ninventory = "{tmp / "none.yaml"}"\n'
                   f"[pipeline]\nbatch_size = 500\nflush_interval_ms = 50\n{extra}\n{sources}")
    return load_config(cfg, environ={})


def make_pipeline(settings: Settings) -> tuple[Pipeline, State, ParquetEventStore]:
    state = State(settings.state_url)
    store = ParquetEventStore(settings.events_dir)
    return Pipeline(state=state, events=store, inventory=Inventory.empty(), detectors=[]), state, store


def ev(i: int, src: str = "x") -> str:
    return json.dumps({"@timestamp": "2026-11-30T01:00:00Z", "event": {"dataset": "test.t"}, "message": f"{src}{i}"})


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[IngestService, Settings, State, ParquetEventStore]]:
    tcp, http = free_port(), free_port()
    settings = make_settings(tmp_path, f"""
[[sources]]
name = "tcp1"
type = "syslog_tcp"
format = "json"
port = {tcp}
max_line_bytes = 2048
silent_after_minutes = 1

[[sources]]
name = "web"
type = "http"
format = "json"
port = {http}
token = "tok-123"
""")
    pipe, state, store = make_pipeline(settings)
    svc = IngestService(settings, pipe, state)
    svc.start()
    yield svc, settings, state, store
    svc.stop()
    state.dispose()


def test_good_and_bad_input_reconcile(service: Any) -> None:
    svc, settings, state, store = service
    tcp = svc.sources["tcp1"].address
    s = socket.create_connection(tcp)
    good = [ev(i, "t") for i in range(200)]
    bad = [b"not json at all", b"{\"a\": 1, \"nul\": \"\x00\"}", b"{\"bad\xff\": 1}", b"Y" * 10_000]
    s.sendall(b"\n".join(g.encode() for g in good[:100]) + b"\n" + b"\n".join(bad) + b"\n"
              + b"\n".join(g.encode() for g in good[100:]) + b"\n")
    s.close()
    r = httpx.post(f"http://127.0.0.1:{svc.sources['web'].address[1]}/", headers={"Authorization": "Bearer tok-123"},
                   content="\n".join(ev(i, "h") for i in range(50)))
    assert r.status_code == 200
    assert wait_for(lambda: svc.health()["sources"].get("tcp1", {}).get("received", 0) >= 204
                    and svc.health()["sources"].get("web", {}).get("received", 0) >= 50, 20)
    h = svc.health()["sources"]
    assert (h["tcp1"]["received"], h["tcp1"]["parsed"], h["tcp1"]["dead"]) == (204, 200, 4)
    assert h["tcp1"]["reconciles"] and h["web"]["parsed"] == 50 and h["tcp1"]["cut"] == 1
    assert h["tcp1"]["clock_skew_s"] > 0 and h["tcp1"]["last_event"].startswith("2026-11-30T01:00:00")
    assert store.count() == 250
    total, rows = list_dead(state, source="tcp1")
    assert total == 4
    reasons = " | ".join(r["reason"] for r in rows)
    assert "NUL" in reasons and "UTF-8" in reasons and "2048-byte" in reasons and "JSON" in reasons
    with state.session() as ss:
        raw = {d.raw for d in ss.execute(select(DeadLetter)).scalars()}
    assert b"{\"bad\xff\": 1}" in raw  # the exact bytes are kept
    svc._persist_health()
    saved = load_health(state)
    assert saved["tcp1"]["received"] == 204 and saved["web"]["received"] == 50


def test_silent_source_raises_one_health_alert(service: Any) -> None:
    svc, _, state, _ = service
    s = socket.create_connection(svc.sources["tcp1"].address)
    s.sendall(ev(1).encode() + b"\n")
    s.close()
    assert wait_for(lambda: svc.health()["sources"]["tcp1"]["received"] == 1)
    assert svc.check_silence(time.time() + 30) == 0  # not silent long enough yet
    assert svc.check_silence(time.time() + 120) == 1
    assert svc.check_silence(time.time() + 240) == 0  # once, until it sends again
    with state.session() as ss:
        alerts = ss.execute(select(Alert)).scalars().all()
    assert [(a.kind, a.rule_id, a.level) for a in alerts] == [("health", "soc-source-silent", "high")]
    assert "tcp1" in alerts[0].data["events"][0]["message"]
    # "web" never sent anything: no alert for it.


def test_restart_keeps_health_totals(tmp_path: Path) -> None:
    port = free_port()
    settings = make_settings(tmp_path, f'[[sources]]\nname = "t"\ntype = "syslog_tcp"\nformat = "json"\nport = {port}\n')
    for round_ in range(2):
        pipe, state, store = make_pipeline(settings)
        svc = IngestService(settings, pipe, state)
        svc.start()
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"".join(ev(i).encode() + b"\n" for i in range(10)))
        s.close()
        want = 10 * (round_ + 1)
        assert wait_for(lambda: bool(svc.health()["sources"]["t"]["received"] == want))  # noqa: B023
        svc.stop()
        state.dispose()
    assert load_health(State(settings.state_url))["t"]["received"] == 20


def test_deadletter_replay_after_format_fix(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "")
    pipe, state, store = make_pipeline(settings)
    from connectors.record import Record

    lines = ["<13>Nov 30 08:00:00 host1 app: hello", "<13>Nov 30 08:00:01 host1 app: again", "\x00 still bad"]
    res = pipe.process([Record("s1", "json", ln, time.time()) for ln in lines])
    assert res.dead == 3
    total, _ = list_dead(state, source="s1")
    assert total == 3
    summary = replay(state, pipe, source="s1", formats={"s1": "syslog"})
    assert (summary.selected, summary.replayed, summary.still_dead) == (3, 2, 1) and summary.reconciles
    assert store.count() == 2
    total, rows = list_dead(state, source="s1")
    assert total == 1 and "NUL" in rows[0]["reason"]
    total_all, _ = list_dead(state, source="s1", include_replayed=True)
    assert total_all == 3
    again = replay(state, pipe, source="s1", formats={"s1": "syslog"})
    assert (again.selected, again.replayed) == (1, 0)
    assert store.count() == 2


def test_ingest_files_plain_and_gz(tmp_path: Path) -> None:
    import gzip

    settings = make_settings(tmp_path, "")
    pipe, state, store = make_pipeline(settings)
    plain = tmp_path / "a.ndjson"
    plain.write_text("".join(ev(i) + "\n" for i in range(30)) + "garbage\n")
    gz = tmp_path / "b.ndjson.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write("".join(ev(i) + "\n" for i in range(20)))
    total = ingest_files([plain, gz], "json", pipe, progress=False, batch_size=7)
    assert (total.received, total.parsed, total.dead, total.events) == (51, 50, 1, 50)
    assert store.count() == 50


def test_spool_full_holds_tcp_but_drops_udp(tmp_path: Path) -> None:
    """With the consumer stopped, UDP drops are counted in health while TCP waits and loses nothing."""
    udp = free_port(socket.SOCK_DGRAM)
    settings = make_settings(tmp_path, f'[[sources]]\nname = "u"\ntype = "syslog_udp"\nformat = "json"\n'
                             f"port = {udp}\n", extra="queue_max_records = 100")
    pipe, state, store = make_pipeline(settings)
    svc = IngestService(settings, pipe, state)
    svc.spool.close()
    svc.spool = Spool(settings.data_dir / "spool2", max_records=100)
    from connectors.sources import build_source

    src = build_source(settings.sources[0], svc.spool)
    src.start()
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(300):
        c.sendto(ev(i).encode(), ("127.0.0.1", udp))
        if i % 50 == 0:
            time.sleep(0.02)
    assert wait_for(lambda: src.stats.received + src.stats.dropped == 300)
    svc.sources["u"] = src
    health = svc.health()["sources"]["u"]
    assert health["dropped"] == src.stats.dropped > 0
    src.stop()
    svc.spool.close()


def test_hostile_clients_do_not_stop_good_data(tmp_path: Path, tls_cert: tuple[str, str]) -> None:
    """Stalled TLS handshakes, megabyte lines, junk bytes and a flood at once: good lines still stored."""
    import psutil

    cert, key = tls_cert
    tls, tcp = free_port(), free_port()
    settings = make_settings(tmp_path, f"""
[[sources]]
name = "tls"
type = "syslog_tls"
format = "json"
port = {tls}
tls_cert = "{cert}"
tls_key = "{key}"
handshake_timeout_seconds = 2

[[sources]]
name = "tcp"
type = "syslog_tcp"
format = "json"
port = {tcp}
max_line_bytes = 65536
""")
    pipe, state, store = make_pipeline(settings)
    svc = IngestService(settings, pipe, state)
    svc.start()
    rss0 = psutil.Process().memory_info().rss
    try:
        stalled = [socket.create_connection(("127.0.0.1", tls)) for _ in range(50)]
        junk = socket.create_connection(("127.0.0.1", tcp))
        for _ in range(20):  # 20 lines of 2 MB each, no newline until the end of each
            junk.sendall(b"J" * 2_000_000 + b"\n")
        junk.sendall(b"\xff\xfe\x00garbage\n<13\n99999999 <13>truncated octet frame")
        junk.close()
        flood = socket.create_connection(("127.0.0.1", tcp))
        flood.sendall(b"".join(ev(i, "flood").encode() + b"\n" for i in range(20_000)))
        flood.close()
        import ssl

        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        good = ctx.wrap_socket(socket.create_connection(("127.0.0.1", tls)), server_hostname="localhost")
        good.sendall(b"".join(ev(i, "tls").encode() + b"\n" for i in range(100)))
        good.close()
        assert wait_for(lambda: svc.health()["sources"].get("tls", {}).get("parsed", 0) == 100
                        and svc.health()["sources"].get("tcp", {}).get("parsed", 0) == 20_000, 120)
        rss = psutil.Process().memory_info().rss
        for s in stalled:
            s.close()
    finally:
        svc.stop()
    h = svc.tracker.snapshot()
    # 20 cut lines, junk bytes (NUL), "<13" (not JSON), the octet frame cut short by the close:
    assert h["tcp"]["dead"] == 23 and h["tcp"]["reconciles"]
    assert h["tcp"]["cut"] == 21  # rejected by the transport itself: the 20 cut lines and the truncated frame
    assert store.count() == 20_100
    assert rss - rss0 < 300_000_000, f"memory grew by {(rss - rss0) / 1e6:.0f} MB"


def test_unstorable_records_do_not_stall_ingest(tmp_path: Path) -> None:
    """Records that parse but cannot be stored as they are (a lone surrogate in JSON, a year-10000 time)
    must not stall ingest: the surrogate is stored escaped, the impossible time dead-lettered with its reason."""
    port = free_port()
    settings = make_settings(tmp_path, f'[[sources]]\nname = "t"\ntype = "syslog_tcp"\nformat = "json"\nport = {port}\n')
    pipe, state, store = make_pipeline(settings)
    svc = IngestService(settings, pipe, state)
    svc.start()
    try:
        s = socket.create_connection(("127.0.0.1", port))
        poison = [b'{"message": "\\udc80 lone surrogate", "@timestamp": "2026-01-01T00:00:00Z"}',
                  b'{"@timestamp": "9999-12-31T23:59:59-14:00"}']
        s.sendall(b"".join(ev(i).encode() + b"\n" for i in range(10)) + b"\n".join(poison) + b"\n"
                  + b"".join(ev(i).encode() + b"\n" for i in range(10, 20)))
        s.close()
        assert wait_for(lambda: svc.health()["sources"].get("t", {}).get("received", 0) == 22, 60)
    finally:
        svc.stop()
    h = svc.tracker.snapshot()["t"]
    assert (h["parsed"], h["dead"], h["reconciles"]) == (21, 1, True)
    assert store.count() == 21
    total, rows = list_dead(state, source="t")
    assert total == 1 and "out of range" in rows[0]["reason"]


class _FailsOnce(ParquetEventStore):
    """A real Parquet store whose third write fails once, as a full disk would."""

    writes = 0

    def write_table(self, table: Any, partitions: Any) -> int:
        self.writes += 1
        if self.writes == 3:
            raise OSError("No space left on device (simulated once)")
        return super().write_table(table, partitions)


def test_batches_read_ahead_by_the_parse_workers_are_stored_once_in_order(tmp_path: Path) -> None:
    """With parse workers the service hands batch N+1 to them before storing batch N. Every line must still be
    stored exactly once and in order, also when storing a batch fails while the next one is already out."""
    from soc.prepare import MIN_PARALLEL

    settings = make_settings(tmp_path, '[[sources]]\nname = "t"\ntype = "syslog_tcp"\nformat = "json"\n'
                             f"port = {free_port()}\nenabled = false\n")
    state = State(settings.state_url)
    store = _FailsOnce(settings.events_dir)
    pipe = Pipeline(state=state, events=store, inventory=Inventory.empty(), detectors=[], workers=2)
    svc = IngestService(settings, pipe, state)
    n = MIN_PARALLEL * 12
    for k in range(0, n, MIN_PARALLEL):  # queued before the consumer starts: every batch has one behind it
        svc.spool.append([Record("t", "json", ev(i), time.time()) for i in range(k, k + MIN_PARALLEL)])
    settings.pipeline.batch_size = MIN_PARALLEL
    svc.start()
    try:
        assert wait_for(lambda: not svc.spool.backlog, 120)
    finally:
        svc.stop()
        pipe.close()
    msgs = [e["message"] for e in store.iter_events()]
    assert sorted(msgs, key=lambda m: int(m[1:])) == [f"x{i}" for i in range(n)]  # each once
    assert svc.prefetched > 0 and pipe.pool.parallel_batches > 0
    assert svc.errors == 0 and svc.last_error is not None and "No space left" in svc.last_error
    h = svc.tracker.snapshot()["t"]
    assert (h["received"], h["parsed"], h["dead"]) == (n, n, 0)
