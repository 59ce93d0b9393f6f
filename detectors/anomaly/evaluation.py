"""Measuring the models against labelled material: CICIDS2017 flows (per event) and the scenario (per entity).

CICIDS2017: the sample holds 2,500 benign flows and up to 2,500 of each attack
class - attacks would be the majority, which no unsupervised detector can be
asked to call "anomalous". So each evaluation set mixes all benign flows with
a small, seeded sample of attacks (``attack_share`` of the set, 5% by
default), the model is fitted on that unlabelled set, and the labels are used
only to measure: ROC-AUC, PR-AUC (average precision) and precision at the top
100 for the mixed set of all classes, and per class on benign + that class.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from detectors.anomaly import cicids
from detectors.anomaly import event_features as ef
from detectors.anomaly.event_model import fit
from detectors.anomaly.offline import doc_to_row


def metrics(y: np.ndarray, s: np.ndarray, k: int = 100) -> dict[str, float]:
    ok = ~np.isnan(s)
    y, s = y[ok], s[ok]
    if len(set(y.tolist())) < 2:
        return {"n": int(len(y)), "positives": int(y.sum())}
    order = np.argsort(-s, kind="mergesort")
    top = y[order[: min(k, len(y))]]
    return {"n": int(len(y)), "positives": int(y.sum()), "roc_auc": round(float(roc_auc_score(y, s)), 4),
            "pr_auc": round(float(average_precision_score(y, s)), 4),
            f"precision_at_{k}": round(float(top.mean()), 4), "base_rate": round(float(y.mean()), 4)}


def zscore_baseline(feats: pd.DataFrame) -> np.ndarray:
    """The simple baseline: largest absolute robust z-score of any feature (median/MAD of the same set)."""
    x = feats.to_numpy(dtype="float64")
    med = np.median(x, axis=0)
    mad = np.median(np.abs(x - med), axis=0) * 1.4826
    sd = x.std(axis=0)
    scale = np.where(mad > 1e-9, mad, np.where(sd > 1e-9, sd, 1.0))
    return np.abs((x - med) / scale).max(axis=1)  # type: ignore[no-any-return]


def _score_set(docs: list[dict[str, Any]], seed: int, n_estimators: int) -> tuple[np.ndarray, np.ndarray]:
    pdf = pd.DataFrame([doc_to_row(d) for d in docs])
    model = fit(pdf.copy(), ef.fit_tables(pdf), seed=seed, n_estimators=n_estimators)
    s, feats, _ = model.score_frame(pdf)
    return s, zscore_baseline(feats)


def evaluate_cicids(folder: Path, *, attack_share: float = 0.05, seed: int = 42, n_estimators: int = 200,
                    per_class: bool = True, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    step = progress or (lambda _m: None)
    rng = np.random.default_rng(seed)
    files = cicids.classes(folder)
    if "BENIGN" not in files:
        raise FileNotFoundError(f"{folder} has no BENIGN_*.csv")
    benign = list(cicids.read_class(files["BENIGN"]))
    attacks = {c: list(cicids.read_class(p)) for c, p in files.items() if c != "BENIGN"}
    # overall: benign + an equal share of each class summing to attack_share of the set
    n_total_attacks = int(round(len(benign) * attack_share / (1 - attack_share)))
    n_per_class = max(1, n_total_attacks // max(1, len(attacks)))
    mixed, labels, classes_of = list(benign), [0] * len(benign), ["BENIGN"] * len(benign)
    for c, rows in attacks.items():
        pick = rng.choice(len(rows), size=min(n_per_class, len(rows)), replace=False)
        mixed += [rows[i] for i in sorted(pick)]
        labels += [1] * len(pick)
        classes_of += [c] * len(pick)
    s, z = _score_set(mixed, seed, n_estimators)
    y = np.array(labels)
    out: dict[str, Any] = {"attack_share": attack_share, "overall": {"isolation_forest": metrics(y, s),
                                                                     "zscore_baseline": metrics(y, z)},
                           "per_class": {}}
    step("overall")
    cls = np.array(classes_of)
    # per class in the mixed run (benign + that class's rows of it)
    for c in attacks:
        sel = (cls == "BENIGN") | (cls == c)
        out["per_class"][c] = {"in_mixed_set": {"isolation_forest": metrics(y[sel], s[sel], 20)}}
    # per class alone: benign + attack_share of that class only, fitted afresh
    for c, rows in (attacks.items() if per_class else ()):
        n = min(len(rows), int(round(len(benign) * attack_share / (1 - attack_share))))
        pick = rng.choice(len(rows), size=n, replace=False)
        docs = benign + [rows[i] for i in sorted(pick)]
        yy = np.array([0] * len(benign) + [1] * n)
        sc, zz = _score_set(docs, seed, n_estimators)
        out["per_class"][c]["alone"] = {"isolation_forest": metrics(yy, sc), "zscore_baseline": metrics(yy, zz)}
        step(c)
    return out


def evaluate_scenario(settings: Any, sc: Any, train_days: int, *, z_threshold: float = 4.0,
                      progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Entity model on a generated scenario: detection rate and false alerts per day, against a z-score baseline.

    ``sc`` (a :class:`scenario.Scenario`) is generated into ``settings.events_dir``; the models are
    trained on its first ``train_days`` days and every later day is scored. An injection is detected when an
    alert concerns its host or user (the entities an analyst would investigate) in a window overlapping the
    attack. An alert on any entity the attack's events carry (host, user, agency) overlapping it is true - the
    agency's hour *does* contain the attack - and every other alert counts as false. The
    baseline alerts when an entity window's largest one-sided robust z-score (against its own history or its
    peers, the same deviations the forest sees) reaches ``z_threshold``; it is also compared at the forest's
    alert count (same budget). ``forest_part_alone`` shows what the Isolation Forest finds without the
    deviation score the model combines it with (``entity_model`` module docstring).
    """
    from datetime import timedelta

    from pyspark.sql import functions as F

    from detectors.anomaly import entity_features as xf
    from detectors.anomaly import entity_model, model_store, scenario, service
    from detectors.anomaly.spark_session import get_spark, read_events

    step = progress or (lambda _m: None)
    n = scenario.generate(sc, settings.events_dir)
    step(f"generated {n:,} events")
    settings.anomaly.families = ["entity"]
    service.train(settings, sc.start, sc.start + timedelta(days=train_days), progress=step)
    spark = get_spark(settings.anomaly)
    loaded = model_store.load(model_store.latest(settings.data_dir, "entity"), family="entity",
                              feature_schema=xf.FEATURE_SCHEMA, features=xf.FEATURE_NAMES)
    s0, s1 = sc.start + timedelta(days=train_days), sc.start + timedelta(days=sc.days)
    dev, wf = entity_model.deviations(spark, read_events(spark, settings.events_dir, s0, s1, xf.ENTITY_COLUMNS),
                                      loaded.model)
    bc = spark.sparkContext.broadcast(loaded.model)
    zcols = [F.col(f"zself_{b}") for b in xf.BASE_NAMES] + [F.col(f"zpeer_{b}") for b in xf.BASE_NAMES]
    pdf = (entity_model.scored(dev, bc).withColumn("zmax", F.greatest(*zcols))
           .select("etype", "key", "wkind", "wstart", "score", "pct", "forest", "zmax").toPandas())
    wf.unpersist()
    step(f"scored {len(pdf):,} entity windows")
    days = (s1 - s0).days
    cfg = settings.anomaly
    pdf["wend"] = pdf["wstart"] + pdf["wkind"].map({"hour": pd.Timedelta(hours=1), "day": pd.Timedelta(days=1)})
    inj = [i for i in sc.injections if s0 <= i.start < s1]

    def judge(flag: np.ndarray) -> dict[str, Any]:
        al = pdf[flag]
        true_idx: set[int] = set()
        per_kind: dict[str, list[bool]] = {}
        overlap_all = (pd.to_datetime(al["wstart"], utc=True), pd.to_datetime(al["wend"], utc=True))
        for i in inj:
            start, end = pd.Timestamp(i.start), pd.Timestamp(i.end)
            overlap = (overlap_all[0] < end) & (overlap_all[1] > start)
            involved = i.involved or [(i.entity_type, i.entity)]
            on = pd.Series(False, index=al.index)
            detect = pd.Series(False, index=al.index)
            for et, val in involved:
                m = (al["etype"] == et) & (al["key"] == val) & overlap
                on |= m
                if et != "agency":
                    detect |= m
            true_idx |= set(al.index[on].tolist())
            per_kind.setdefault(i.kind, []).append(bool(detect.any()))
        false = len(al) - len(true_idx)
        return {"alerts": int(len(al)), "true_alerts": len(true_idx),
                "detected": sum(sum(v) for v in per_kind.values()),
                "injections": len(inj), "detection_rate": round(sum(sum(v) for v in per_kind.values())
                                                                 / max(1, len(inj)), 3),
                "per_kind": {k: f"{sum(v)}/{len(v)}" for k, v in per_kind.items()},
                "false_alerts_per_day": round(false / max(1, days), 2)}

    iso_flag = ((pdf["score"] >= cfg.threshold) | (pdf["pct"] >= cfg.alert_quantile)).to_numpy()
    k = int(iso_flag.sum())
    zrank = pdf["zmax"].rank(ascending=False, method="first").to_numpy()
    return {"scored_days": days, "entity_windows": int(len(pdf)),
            "isolation_forest": judge(iso_flag),
            "forest_part_alone": judge((pdf["forest"] >= cfg.threshold).to_numpy()),
            f"zscore_baseline_at_{z_threshold:g}": judge((pdf["zmax"] >= z_threshold).to_numpy()),
            "zscore_baseline_same_budget": judge(zrank <= k)}
