"""Per-event model against CICIDS2017 labels: ROC-AUC, PR-AUC, precision at 100, overall and per class.

    .venv/bin/python benchmarks/eval_cicids.py [--folder ../shared/flows/cicids2017-sample] [--share 0.05]

The flows become ECS firewall events (mapping in ``detectors/anomaly/cicids.py``);
each set is benign flows plus a seeded ``--share`` of attacks, scored
unsupervised (labels only measure). A per-feature z-score baseline runs on
the same sets. See ``detectors/anomaly/evaluation.py`` for the protocol.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from detectors.anomaly.evaluation import evaluate_cicids

DEFAULT = Path(__file__).resolve().parents[1] / ".." / "shared" / "flows" / "cicids2017-sample"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folder", type=Path, default=DEFAULT)
    ap.add_argument("--share", type=float, default=0.05, help="attack share of each evaluation set")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--json", type=Path, help="also write the full results here")
    args = ap.parse_args()
    if not args.folder.is_dir():
        raise SystemExit(f"{args.folder}: not found (shared CICIDS2017 sample)")
    r = evaluate_cicids(args.folder, attack_share=args.share, seed=args.seed)
    o = r["overall"]
    print(f"overall (benign + {args.share:.0%} attacks, all classes): n={o['isolation_forest']['n']}")
    for name in ("isolation_forest", "zscore_baseline"):
        m = o[name]
        print(f"  {name:18} ROC-AUC {m['roc_auc']:.3f}  PR-AUC {m['pr_auc']:.3f}  "
              f"P@100 {m['precision_at_100']:.2f}  (base rate {m['base_rate']:.3f})")
    print(f"\nper class (benign + {args.share:.0%} of that class, fitted alone)     IF ROC/PR/P@100  |  "
          "z-score ROC/PR/P@100")
    for c, v in r["per_class"].items():
        a, z = v["alone"]["isolation_forest"], v["alone"]["zscore_baseline"]
        print(f"  {c:30} n_attack={a['positives']:4}  {a['roc_auc']:.3f} {a['pr_auc']:.3f} "
              f"{a['precision_at_100']:.2f}  |  {z['roc_auc']:.3f} {z['pr_auc']:.3f} {z['precision_at_100']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
