"""Throughput and memory of the Spark anomaly jobs: feature extraction + scoring, events/s, at several sizes.

    .venv/bin/python benchmarks/bench_anomaly.py --sizes 1000000 10000000 --master 'local[2]'

For each size a synthetic city (``detectors/anomaly/scenario.py``: 200 hosts in 10 agencies, 7 days, with the
``doc`` column) is written once as Parquet under ``--store-dir`` and reused by later runs (delete the folder or
pass ``--fresh`` to rebuild it). The models are trained on the store's first day; then the per-event and
per-entity scoring of the whole store are timed separately (read, features, Isolation Forest in pandas UDFs,
counts and top alerts back to the driver).

Memory, sampled every 0.2 s during each scoring job (peaks):

* driver: this Python process (RSS);
* JVM: the Java process's RSS - in local mode the driver and the executors are one JVM - and its used heap
  (``MemoryMXBean.getHeapMemoryUsage().getUsed()`` asked over py4j at each sample; bounded by
  ``spark.driver.memory``);
* Python workers: the summed RSS of the ``pyspark.daemon`` workers the JVM forks to run the pandas UDFs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.table import Table

from detectors.anomaly import service
from detectors.anomaly.scenario import Scenario, default_start, generate
from detectors.anomaly.spark_session import get_spark
from soc.config import Settings

console = Console(width=160)
HOSTS = 200
#: Events per busy host-hour that give about ``size`` events: the daily rhythm sums to about 11 busy hours a
#: weekday and weekends are quieter (7.45 busy hours a day on average over a 7-day week, measured).
BUSY_HOURS_PER_DAY = 7.45


class Peaks:
    """Peak RSS of the driver, the JVM and the Python workers, and the JVM's used heap, sampled in a thread."""

    def __init__(self, spark: Any) -> None:
        self.driver = self.jvm = self.workers = self.heap = 0
        self._mem = spark._jvm.java.lang.management.ManagementFactory.getMemoryMXBean()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        jvm = workers = 0
        for c in me.children(recursive=True):
            try:
                rss = c.memory_info().rss
                if "java" in c.name():
                    jvm += rss
                else:
                    workers += rss
            except psutil.Error:
                pass
        self.driver = max(self.driver, me.memory_info().rss)
        self.jvm, self.workers = max(self.jvm, jvm), max(self.workers, workers)
        with contextlib.suppress(Exception):  # the gateway is closing: skip this sample
            self.heap = max(self.heap, int(self._mem.getHeapMemoryUsage().getUsed()))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            time.sleep(0.2)

    def __enter__(self) -> Peaks:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()
        self._sample()


def heap_max(spark: Any) -> int:
    return int(spark._jvm.java.lang.Runtime.getRuntime().maxMemory())


def store_for(size: int, days: int, seed: int, root: Path, fresh: bool) -> tuple[Path, Scenario, int]:
    """The event store of this size (generated once, then reused) and its scenario."""
    rate = size / (days * HOSTS * BUSY_HOURS_PER_DAY)
    sc = Scenario(start=default_start(), days=days, agencies=10, hosts_per_agency=HOSTS // 10,
                  events_per_host_hour=rate, attack_from_day=days - 1, seed=seed)
    folder = root / f"city-{size}-d{days}-s{seed}"
    done = folder / "DONE.json"
    if done.exists() and not fresh:
        n = int(json.loads(done.read_text())["events"])
        console.print(f"reusing {folder} ({n:,} events)")
        return folder, sc, n
    shutil.rmtree(folder, ignore_errors=True)
    t0 = time.perf_counter()
    with console.status(f"generating about {size:,} events into {folder}") as st:
        n = generate(sc, folder / "events",
                     progress=lambda d, tot: st.update(f"generating: day {d}/{days}, {tot:,} events"))
    gen_s = time.perf_counter() - t0
    done.write_text(json.dumps({"events": n, "generate_s": round(gen_s, 1), "rate": rate}))
    console.print(f"generated {n:,} events in {gen_s:.0f} s ({n / gen_s:,.0f} events/s) into {folder}")
    return folder, sc, n


def run(size: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    folder, sc, n = store_for(size, args.days, args.seed, Path(args.store_dir), args.fresh)
    s = Settings(data_dir=folder)
    s.anomaly.spark_master = args.master
    s.anomaly.spark_conf = {"spark.driver.memory": args.driver_memory, "spark.sql.shuffle.partitions": "8"}
    shutil.rmtree(folder / "models", ignore_errors=True)
    t0 = time.perf_counter()
    with console.status("training both families on the first day"):
        service.train(s, sc.start, sc.start + timedelta(days=1))
    console.print(f"trained on 1 day in {time.perf_counter() - t0:.0f} s")
    spark = get_spark(s.anomaly)
    rows = []
    for fam in ("event", "entity"):
        s.anomaly.families = [fam]  # type: ignore[list-item]
        summary = service.RunSummary()
        with console.status(f"{n:,} events: scoring the {fam} family"), Peaks(spark) as mem:
            t0 = time.perf_counter()
            alerts = service.run_scoring(s, sc.start, sc.start + timedelta(days=args.days), summary=summary)
            dt = time.perf_counter() - t0
        row = {"events": n, "family": fam, "seconds": dt, "events_per_s": n / dt, "alerts": len(alerts),
               "driver_rss": mem.driver, "jvm_rss": mem.jvm, "jvm_heap": mem.heap, "jvm_heap_max": heap_max(spark),
               "workers_rss": mem.workers, "stats": summary.family_stats.get(fam, {})}
        console.print(f"  {fam}: {dt:.1f} s, {n / dt:,.0f} events/s, {len(alerts)} alerts, "
                      f"load average {os.getloadavg()[0]:.1f}")
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--driver-memory", default="3g", help="spark.driver.memory (the JVM heap in local mode)")
    ap.add_argument("--store-dir", default="/tmp/soc-bench-anomaly", help="where generated stores are kept")
    ap.add_argument("--fresh", action="store_true", help="regenerate the stores even if present")
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    load0 = os.getloadavg()
    rows: list[dict[str, Any]] = []
    for size in args.sizes:
        rows += run(size, args)
    mb = 1e6
    t = Table(title=f"Anomaly scoring on {args.master}, spark.driver.memory={args.driver_memory} "
                    f"(load average at start {load0[0]:.1f}, at end {os.getloadavg()[0]:.1f})")
    for c in ("events", "family", "seconds", "events/s", "driver RSS MB", "JVM RSS MB", "JVM heap used / max MB",
              "Py workers RSS MB", "alerts"):
        t.add_column(c, justify="right")
    for r in rows:
        t.add_row(f"{r['events']:,}", r["family"], f"{r['seconds']:.1f}", f"{r['events_per_s']:,.0f}",
                  f"{r['driver_rss'] / mb:,.0f}", f"{r['jvm_rss'] / mb:,.0f}",
                  f"{r['jvm_heap'] / mb:,.0f} / {r['jvm_heap_max'] / mb:,.0f}", f"{r['workers_rss'] / mb:,.0f}",
                  str(r["alerts"]))
    console.print(t)
    for fam in ("event", "entity"):
        fr = [r for r in rows if r["family"] == fam]
        if len(fr) >= 2:
            a, b = fr[0], fr[-1]
            console.print(f"{fam}: x{b['events'] / a['events']:.1f} events -> x{b['seconds'] / a['seconds']:.2f} time")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=str))


if __name__ == "__main__":
    main()
