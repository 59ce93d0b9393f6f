"""End-to-end ingest benchmark: syslog over TCP -> spool -> pipeline -> Parquet, events/s stored.

    .venv/bin/python benchmarks/bench_ingest.py [--events 200000] [--format fortigate] [--connections 2]

Each sender runs in a separate process (so it does not share the GIL with the
service) and builds its lines before the clock starts (a device formats its logs on its own CPU, not on the
SOC's); the service is the real one (``IngestService`` with the real pipeline,
``ParquetEventStore``, SQLite state, the repository's ``inventory.yaml``, no detectors,
``--workers`` parse processes as ``pipeline.workers``). Prints
events/s from first byte sent to last event stored, batch latency (time from a
record's arrival to its batch being stored) and the service's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

from connectors.runner import IngestService  # noqa: E402
from soc.config import load_config  # noqa: E402
from soc.inventory import Inventory  # noqa: E402
from soc.pipeline import Pipeline  # noqa: E402
from soc.prepare import resolve_workers  # noqa: E402
from soc.service import settle_heap  # noqa: E402
from soc.storage.events import ParquetEventStore  # noqa: E402
from soc.storage.state import State  # noqa: E402

FORTIGATE = ('<189>date=2026-11-30 time=08:{m:02d}:{s:02d} devname="FGT-HP-01" devid="FG100FTK19000001" '
             'eventtime=1764464{i:06d} tz="+0700" logid="0000000013" type="traffic" subtype="forward" '
             'level="notice" vd="root" srcip=10.20.{a}.{b} srcport={sp} srcintf="port1" dstip=203.0.113.{b} '
             'dstport=443 dstintf="wan1" sessionid={i} proto=6 action="accept" policyid=12 service="HTTPS" '
             'duration=12 sentbyte=1834 rcvdbyte=5210 sentpkt=12 rcvdpkt=10 appcat="unscanned"')


def line(fmt: str, i: int) -> bytes:
    if fmt == "fortigate":
        return FORTIGATE.format(m=(i // 60) % 60, s=i % 60, i=i, a=(i // 250) % 250, b=i % 250,
                                sp=1024 + i % 60000).encode()
    if fmt == "syslog":
        return f"<13>Nov 30 08:{(i // 60) % 60:02d}:{i % 60:02d} host{i % 50} sshd[{i}]: message {i}".encode()
    return json.dumps({"@timestamp": "2026-11-30T01:00:00Z", "event": {"dataset": "bench.json"},
                       "source": {"ip": f"10.0.{i % 250}.{i % 200}"}, "message": f"event {i}"}).encode()


def _children_cpu(proc: psutil.Process, exclude: set[int]) -> float:
    """CPU seconds of ``proc``'s child processes (the parse workers), leaving out ``exclude`` (the senders)."""
    total = 0.0
    for c in proc.children(recursive=True):
        if c.pid in exclude:
            continue
        with contextlib.suppress(psutil.Error):
            total += sum(c.cpu_times()[:2])
    return total


def sender(port: int, fmt: str, start: int, n: int, ready: Any, go: Any) -> None:
    """Send lines ``start .. start + n``. They are built before the clock starts: formatting them took ~0.6 s
    of CPU per 100,000 lines, which a real device does elsewhere, not on the SOC's two cores."""
    chunk = 2000
    payload = [b"".join(line(fmt, j) + b"\n" for j in range(i, min(i + chunk, start + n)))
               for i in range(start, start + n, chunk)]
    s = socket.create_connection(("127.0.0.1", port))
    ready.release()
    go.wait()
    for part in payload:
        s.sendall(part)
    s.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--format", default="fortigate")
    ap.add_argument("--connections", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=2000)
    ap.add_argument("--workers", default="auto", help="pipeline.workers: parse processes (0 = in the service).")
    ap.add_argument("--transport-only", action="store_true",
                    help="Measure TCP -> spool -> read/commit without the pipeline (the transport's own ceiling).")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cfg = Path(tmp) / "soc.toml"
        cfg.write_text(f'data_dir = "{tmp}/data"\ninventory = "{tmp}/none.yaml"\n'
                       f"[pipeline]\nbatch_size = {args.batch_size}\nflush_interval_ms = 200\n"
                       f'[[sources]]\nname = "bench"\ntype = "syslog_tcp"\nformat = "{args.format}"\n'
                       f"port = {port}\n")
        settings = load_config(cfg, environ={})
        state = State(settings.state_url)
        workers = resolve_workers(args.workers if args.workers == "auto" else int(args.workers))
        inventory = Inventory.load(Path(__file__).resolve().parents[1] / "inventory.yaml")
        pipe = Pipeline(state=state, events=ParquetEventStore(settings.events_dir), inventory=inventory,
                        detectors=[], workers=workers)
        svc = IngestService(settings, pipe, state)
        if args.transport_only:
            class _Null:  # stands in for the pipeline: counts, stores nothing
                def process(self, records: list[Any], *_: Any) -> Any:
                    from soc.pipeline import BatchResult, SourceCounts

                    return BatchResult(received=len(records), parsed=len(records), per_source={
                        "bench": SourceCounts(received=len(records), parsed=len(records))})

                events = pipe.events
            svc.pipeline = _Null()
        svc.start()
        settle_heap()  # as `soc run` does once the service is up
        proc = psutil.Process()
        peak = proc.memory_info().rss
        latencies: list[float] = []
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            last_batches = -1
            while not stop.is_set():
                peak = max(peak, proc.memory_info().rss)
                if svc.batches != last_batches and svc.last_latency_s is not None:
                    latencies.append(svc.last_latency_s)
                    last_batches = svc.batches
                time.sleep(0.05)

        threading.Thread(target=sample, daemon=True).start()
        per = args.events // args.connections
        ready, go = mp.Semaphore(0), mp.Event()
        procs = [mp.Process(target=sender, args=(port, args.format, k * per, per, ready, go))
                 for k in range(args.connections)]
        for p in procs:
            p.start()
        for _ in procs:
            ready.acquire()
        cpu0 = sum(proc.cpu_times()[:2])
        workers0 = _children_cpu(proc, {p.pid for p in procs})  # the workers are up already (IngestService.start)
        t0 = time.monotonic()
        go.set()
        total = per * args.connections
        while True:
            h = svc.health()["sources"].get("bench", {})
            if h.get("received", 0) >= total:
                break
            time.sleep(0.05)
        took = time.monotonic() - t0
        cpu = sum(proc.cpu_times()[:2]) - cpu0
        senders = {p.pid for p in procs}
        kids = [c for c in proc.children(recursive=True) if c.pid not in senders]
        worker_cpu = _children_cpu(proc, senders) - workers0
        try:
            worker_rss = sum(c.memory_info().rss for c in kids)
        except psutil.Error:
            worker_rss = 0
        for p in procs:
            p.join()
        stop.set()
        h = svc.health()["sources"]["bench"]
        svc.stop()
        pipe.close()
        stored = 0 if args.transport_only else pipe.events.count()
        lat = sorted(latencies) or [0.0]
        print(f"format={args.format} events={total} connections={args.connections} batch={args.batch_size} "
              f"workers={workers}"
              + (" TRANSPORT ONLY (no parsing, no storage)" if args.transport_only else ""))
        print(f"received={h['received']} parsed={h['parsed']} dead={h['dead']} stored={stored}")
        what = "through the spool" if args.transport_only else "stored in Parquet"
        print(f"throughput: {total / took:,.0f} events/s ({took:.1f} s wall clock, first byte sent to last {what})")
        print(f"service CPU: {cpu:.1f} s = {1e6 * cpu / total:.0f} us/event -> {total / cpu:,.0f} events per "
              f"CPU-second (load average now {psutil.getloadavg()[0]:.1f} on {psutil.cpu_count()} cores)")
        print(f"batch latency (arrival -> stored): median {lat[len(lat) // 2]:.2f} s, "
              f"p95 {lat[int(len(lat) * 0.95)]:.2f} s, max {lat[-1]:.2f} s")
        if worker_cpu:
            both = cpu + worker_cpu
            print(f"parse workers CPU: {worker_cpu:.1f} s = {1e6 * worker_cpu / total:.0f} us/event; service + "
                  f"workers: {1e6 * both / total:.0f} us/event -> {total / both:,.0f} events per CPU-second "
                  f"(the ceiling with every core free: {psutil.cpu_count() * total / both:,.0f} events/s)")
        print(f"peak RSS of the service process: {peak / 1e6:.0f} MB"
              + (f"; parse workers ({len(kids)} processes incl. multiprocessing's tracker): "
                 f"{worker_rss / 1e6:.0f} MB RSS at the end" if kids else ""))


if __name__ == "__main__":
    main()
