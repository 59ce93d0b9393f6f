"""Throughput of the Spark anomaly jobs: feature extraction + scoring, events/s, at several sizes.

    .venv/bin/python benchmarks/bench_anomaly.py --sizes 1000000 3000000 --master 'local[2]'

For each size, a synthetic city (``detectors/anomaly/scenario.py``, with the
``doc`` column) is written as Parquet in a temporary event store; the models
are trained on its first day; then the per-event and per-entity scoring of
the whole store is timed (read, features, Isolation Forest in a pandas UDF,
top alerts and counts back to the driver). Peak memory is the largest summed
RSS of this process and its children (the JVM - driver and executors share it
in local mode - and the Python workers), sampled every 0.2 s.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import psutil

from detectors.anomaly import service
from detectors.anomaly.scenario import Scenario, default_start, generate
from soc.config import Settings


class PeakRss:
    def __init__(self) -> None:
        self.peak = 0
        self.peak_jvm = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total, jvm = me.memory_info().rss, 0
            for c in me.children(recursive=True):
                try:
                    rss = c.memory_info().rss
                    total += rss
                    if "java" in c.name():
                        jvm += rss
                except psutil.Error:
                    pass
            self.peak, self.peak_jvm = max(self.peak, total), max(self.peak_jvm, jvm)
            time.sleep(0.2)

    def __enter__(self) -> PeakRss:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def run(size: int, master: str, days: int, keep: bool) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-anomaly-"))
    hosts = 200
    # events per busy host-hour so that the store holds about `size` (the daily rhythm sums to ~11 busy hours a
    # weekday, weekends are quieter: 7.45 measured over a 7-day week)
    rate = size / (days * hosts * 7.45)
    sc = Scenario(start=default_start(), days=days, agencies=10, hosts_per_agency=hosts // 10,
                  events_per_host_hour=rate, attack_from_day=days - 1, seed=1)
    t0 = time.perf_counter()
    n = generate(sc, tmp / "events")
    gen_s = time.perf_counter() - t0
    s = Settings(data_dir=tmp)
    s.anomaly.spark_master = master
    s.anomaly.spark_conf = {"spark.driver.memory": "3g", "spark.sql.shuffle.partitions": "8"}
    t0 = time.perf_counter()
    service.train(s, sc.start, sc.start + timedelta(days=1))
    train_s = time.perf_counter() - t0
    out: dict[str, float] = {"events": n, "generate_s": gen_s, "train_1day_s": train_s}
    with PeakRss() as mem:
        for fam in ("event", "entity"):
            s.anomaly.families = [fam]  # type: ignore[list-item]
            summary = service.RunSummary()
            t0 = time.perf_counter()
            alerts = service.run_scoring(s, sc.start, sc.start + timedelta(days=days), summary=summary)
            dt = time.perf_counter() - t0
            out[f"{fam}_s"] = dt
            out[f"{fam}_events_per_s"] = n / dt
            out[f"{fam}_alerts"] = len(alerts)
    out["peak_rss_mb"] = mem.peak / 1e6
    out["peak_jvm_rss_mb"] = mem.peak_jvm / 1e6
    if not keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="keep the generated stores")
    args = ap.parse_args()
    print(f"{'events':>10} {'event s':>8} {'event ev/s':>11} {'entity s':>9} {'entity ev/s':>12} "
          f"{'peak RSS MB':>12} {'JVM MB':>8}")
    for size in args.sizes:
        r = run(size, args.master, args.days, args.keep)
        print(f"{r['events']:>10,.0f} {r['event_s']:>8.1f} {r['event_events_per_s']:>11,.0f} "
              f"{r['entity_s']:>9.1f} {r['entity_events_per_s']:>12,.0f} {r['peak_rss_mb']:>12,.0f} "
              f"{r['peak_jvm_rss_mb']:>8,.0f}   (generate {r['generate_s']:.0f}s, train on 1 day "
              f"{r['train_1day_s']:.0f}s)", flush=True)


if __name__ == "__main__":
    main()
