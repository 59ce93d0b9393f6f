"""Entity model on the generated city: detection rate and false alerts per day, against a z-score baseline.

    .venv/bin/python benchmarks/eval_scenario.py [--days 10 --train-days 7 --agencies 4 --hosts 12]

Generates ``detectors/anomaly/scenario.py`` into a temporary store, trains on the
first days, scores the rest on Spark (``local[2]``) and prints the comparison.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from detectors.anomaly.evaluation import evaluate_scenario
from detectors.anomaly.scenario import Scenario, default_start
from soc.config import Settings


def print_table(r: dict[str, Any], kinds: tuple[str, ...]) -> None:
    t = Table(title=f"Entity model on the generated city: {r['scored_days']} scored days, "
                    f"{r['entity_windows']:,} entity windows")
    for c in ("detector", "alerts", "on attacks", "detected", *kinds, "false alerts/day"):
        t.add_column(c, justify="right")
    for name, v in r.items():
        if isinstance(v, dict) and "per_kind" in v:
            t.add_row(name, str(v["alerts"]), str(v["true_alerts"]), f"{v['detected']}/{v['injections']}",
                      *[v["per_kind"].get(k, "-") for k in kinds], f"{v['false_alerts_per_day']:.2f}")
    Console(width=160).print(t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=10)
    ap.add_argument("--train-days", type=int, default=7)
    ap.add_argument("--agencies", type=int, default=4)
    ap.add_argument("--hosts", type=int, default=12, help="hosts per agency")
    ap.add_argument("--rate", type=float, default=12.0, help="events per host in a busy hour")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="eval-scenario-"))
    try:
        s = Settings(data_dir=tmp)
        s.anomaly.spark_master = args.master
        s.anomaly.spark_conf = {"spark.sql.shuffle.partitions": "4", "spark.driver.memory": "2g"}
        sc = Scenario(start=default_start(), days=args.days, attack_from_day=args.train_days,
                      agencies=args.agencies, hosts_per_agency=args.hosts, events_per_host_hour=args.rate,
                      seed=args.seed)
        r = evaluate_scenario(s, sc, args.train_days, progress=lambda m: print("  ..", m, flush=True))
        print(json.dumps(r, indent=2))
        print_table(r, sc.attacks)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
