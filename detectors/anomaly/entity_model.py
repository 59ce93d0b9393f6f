"""Train and apply the per-entity-window model (one Isolation Forest per entity type and window kind).

A window's score is the larger of two views of its deviations (``entity_features.FEATURE_NAMES``):

* the forest's score - how easily the window is isolated from the baseline windows, which finds unusual
  *combinations* of moderate deviations;
* the deviation score - how far its most deviant feature stands above both its own and its peers' usual
  value, on the same 0.5-1 scale. A forest cannot tell *how far* beyond the baseline's range a value lies
  (a split never falls outside the training values), so a 400 MB upload by a host that usually sends 10 kB
  would score no higher than the noisiest ordinary window; the magnitude has to be scored on its own.
  :data:`DEV_AT_THRESHOLD` deviations map to the default alert threshold 0.7.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from detectors.anomaly import entity_features as xf
from detectors.anomaly.errors import EmptyWindowError
from detectors.anomaly.event_model import baseline_percentile, quantiles

#: Robust deviations (above both references) that score 0.7, the default alert threshold.
DEV_AT_THRESHOLD = 6.0
_TAU = DEV_AT_THRESHOLD / float(np.log(0.5 / 0.3))  # 1 - 0.5 * exp(-6 / tau) == 0.7


def deviation_score(max_dev: np.ndarray) -> np.ndarray:
    """Largest deviation -> 0.5 (none) .. 1 (extreme), on the forest's scale."""
    return 1.0 - 0.5 * np.exp(-np.clip(max_dev, 0.0, None) / _TAU)  # type: ignore[no-any-return]


def window_scores(forest: IsolationForest, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(score, forest score, largest deviation) of the rows of ``x`` (finite, :data:`FEATURE_NAMES` order)."""
    f = -forest.score_samples(x)
    md = x.max(axis=1) if x.shape[1] else np.zeros(len(x))
    return np.maximum(f, deviation_score(md)), f, md


@dataclass
class EntityModel:
    forests: dict[str, IsolationForest]
    """``"<etype>/<wkind>"`` -> forest over :data:`entity_features.FEATURE_NAMES`."""
    selfs: pd.DataFrame
    first_seen: pd.DataFrame
    popular_domains: list[str]
    floors: dict[tuple[str, str, str], float]
    grace_start: datetime
    tz: str
    work_hours: tuple[int, int]
    entity_types: list[str]
    windows: list[str]
    feature_schema: str = xf.FEATURE_SCHEMA
    features: list[str] = field(default_factory=lambda: list(xf.FEATURE_NAMES))
    baseline_scores: dict[str, np.ndarray] = field(default_factory=dict)
    """Per group, quantiles of the training windows' own scores."""


def _rows(df: Any, types: list[str]) -> Any:
    return xf.entity_rows(df.select(*xf.ENTITY_COLUMNS), types)


def _popular(df: Any) -> Any:
    from pyspark.sql import functions as F

    dom = F.lower(F.coalesce(F.when(F.col("url_domain") != "", F.col("url_domain")),
                             F.when(F.col("destination_domain") != "", F.col("destination_domain"))))
    src = F.coalesce(F.when(F.col("host_name") != "", F.col("host_name")), F.col("source_ip"))
    return (df.select(dom.alias("domain"), src.alias("src")).where(F.col("domain").isNotNull())
            .groupBy("domain").agg(F.countDistinct("src").alias("n"))
            .where(F.col("n") > xf.RARE_DOMAIN_SOURCES).select("domain"))


def fit(spark: Any, df: Any, *, start: datetime, types: list[str], windows: list[str], tz: str,
        work_hours: tuple[int, int], seed: int, n_estimators: int, max_rows: int,
        progress: Any = None, exclude: list[tuple[str, str, datetime, datetime]] | None = None,
        ) -> tuple[EntityModel, dict[str, int]]:
    """Aggregate the baseline into entity windows, learn their history and fit the forests.

    ``exclude`` lists (entity type, value, start, end) of confirmed-benign verdicts: those windows are
    left out of the history and of the forests' training sample.
    """
    from pyspark.sql import functions as F

    step = progress or (lambda _msg: None)
    rows = _rows(df, types).persist()
    step("entity rows")
    popular = _popular(df).persist()
    first_seen = rows.where(F.col("domain").isNotNull()).groupBy("etype", "key", "domain").agg(
        F.min("ts").alias("first_seen"))
    grace = start + timedelta(days=1)
    wf = xf.window_features(rows, windows, tz, work_hours, None, popular, grace)
    if exclude:
        cond = F.lit(False)
        for et, val, s, e in exclude:
            cond = cond | ((F.col("etype") == et) & (F.col("key") == val) & (F.col("wstart") >= F.lit(s))
                           & (F.col("wstart") < F.lit(e)))
        wf = wf.where(~cond)
    wf = wf.persist()
    n_windows = wf.count()
    step("window features")
    if n_windows == 0:
        raise EmptyWindowError("no entity windows in the training window (no events carry a host, user or agency)")
    selfs = xf.self_stats(wf).persist()
    floors = xf.global_scales(wf)
    dev = xf.with_deviations(wf, selfs, xf.peer_stats(wf), floors)
    h = F.xxhash64(F.lit(seed), "etype", "key", "wkind", F.col("wstart").cast("string"))
    dev = dev.withColumn("_h", h)
    counts = {f"{r['etype']}/{r['wkind']}": int(r["count"])
              for r in dev.groupBy("etype", "wkind").count().collect()}
    # one pass for every group's sample: a hash cut per group keeps about max_rows windows of each
    cut = F.lit(0)
    for group, n in counts.items():
        et, wk = group.split("/")
        cut = F.when((F.col("etype") == et) & (F.col("wkind") == wk),
                     F.lit(int(min(1.0, max_rows / max(n, 1)) * 1_000_000))).otherwise(cut)
    sample = (dev.where(F.pmod(F.col("_h"), F.lit(1_000_000)) < cut)
              .select("etype", "wkind", "_h", "key", "wstart", *xf.FEATURE_NAMES).toPandas())
    step(f"training sample: {len(sample):,} windows")
    forests: dict[str, IsolationForest] = {}
    base: dict[str, np.ndarray] = {}
    for group in sorted(counts):
        et, wk = group.split("/")
        pdf = (sample[(sample["etype"] == et) & (sample["wkind"] == wk)]
               .sort_values(["_h", "key", "wstart"], kind="mergesort").head(max_rows))
        if len(pdf) < 10:
            continue  # too few windows to learn from: this group is not scored (reported in the summary)
        x = pdf[xf.FEATURE_NAMES].to_numpy(dtype="float64")
        x = np.nan_to_num(x, nan=0.0, posinf=xf.Z_CLIP, neginf=-xf.Z_CLIP)
        forests[group] = IsolationForest(n_estimators=n_estimators, max_samples=min(256, len(x)),
                                         random_state=seed, n_jobs=1).fit(x)
        base[group] = quantiles(window_scores(forests[group], x)[0])
    if not forests:
        raise EmptyWindowError(f"too few entity windows to train on ({counts}); at least 10 per entity type and "
                               "window kind are needed - widen the training window")
    model = EntityModel(
        forests=forests,
        selfs=selfs.toPandas().sort_values(["etype", "key", "wkind", "slot"]).reset_index(drop=True),
        first_seen=first_seen.toPandas().sort_values(["etype", "key", "domain"]).reset_index(drop=True),
        popular_domains=sorted(r["domain"] for r in popular.collect()),
        floors=floors, grace_start=grace, tz=tz, work_hours=work_hours, entity_types=list(types),
        windows=list(windows), baseline_scores=base)
    for d in (rows, popular, wf, selfs):
        d.unpersist()
    return model, {"entity_windows": n_windows, **{f"windows {k}": v for k, v in counts.items()}}


def _spark_frame(spark: Any, pdf: pd.DataFrame, schema: str) -> Any:
    if len(pdf) == 0:
        return spark.createDataFrame([], schema)
    return spark.createDataFrame(pdf)


def deviations(spark: Any, df: Any, model: EntityModel) -> tuple[Any, Any]:
    """Entity windows of ``df`` with their deviations from the model's history and from peers (and the
    persisted window frame, for the caller to unpersist)."""
    rows = _rows(df, model.entity_types).persist()  # read three times per window kind
    first_seen = _spark_frame(spark, model.first_seen,
                              "etype string, key string, domain string, first_seen timestamp")
    popular = _spark_frame(spark, pd.DataFrame({"domain": model.popular_domains}), "domain string")
    wf = xf.window_features(rows, model.windows, model.tz, model.work_hours, first_seen, popular,
                            model.grace_start).persist()
    wf.count()  # materialise, so that rows can be released
    rows.unpersist()
    selfs = spark.createDataFrame(model.selfs)
    dev = xf.with_deviations(wf, selfs, xf.peer_stats(wf), model.floors)
    return dev, wf


def score_udf(model_bc: Any) -> Any:
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("score double, pct double, forest double, max_dev double")  # type: ignore[call-overload]
    def _score(batch: pd.DataFrame) -> pd.DataFrame:
        m: EntityModel = model_bc.value
        out = np.full(len(batch), np.nan)
        pct = np.full(len(batch), np.nan)
        fs = np.full(len(batch), np.nan)
        md = np.full(len(batch), np.nan)
        groups = (batch["etype"].astype(str) + "/" + batch["wkind"].astype(str)).to_numpy()
        x = np.nan_to_num(batch[xf.FEATURE_NAMES].to_numpy(dtype="float64"), nan=0.0,
                          posinf=xf.Z_CLIP, neginf=-xf.Z_CLIP)
        for g in np.unique(groups):
            forest = m.forests.get(str(g))
            if forest is None:
                continue
            sel = groups == g
            out[sel], fs[sel], md[sel] = window_scores(forest, x[sel])
            pct[sel] = baseline_percentile(m.baseline_scores.get(str(g), np.zeros(0)), out[sel])
        return pd.DataFrame({"score": out, "pct": pct, "forest": fs, "max_dev": md})

    return _score


def scored(dev: Any, model_bc: Any) -> Any:
    """``dev`` with ``score``, ``pct`` (share of the baseline windows scoring lower), ``forest`` and
    ``max_dev`` (the two views the score is the larger of) columns."""
    from pyspark.sql import functions as F

    return (dev.withColumn("_s", score_udf(model_bc)(F.struct("etype", "wkind",
                                                              *[F.col(c) for c in xf.FEATURE_NAMES])))
            .select("*", *[F.col(f"_s.{c}").alias(c) for c in ("score", "pct", "forest", "max_dev")])
            .drop("_s"))


UNIT = {"host": "this host", "user": "this user", "agency": "this agency"}


def _slot_words(row: dict[str, Any]) -> str:
    if row.get("wkind") == "day":
        return "on weekdays" if row.get("slot") == "work" else "at weekends"
    return "in working hours" if row.get("slot") == "work" else "off-hours"


def explain(row: dict[str, Any], top: int = 3) -> list[dict[str, Any]]:
    """The features the model saw furthest above usual (``dev_*``), in words, with both references.

    Falls back to the larger of the self/peer deviations when no feature stands above both (the forest can
    also isolate a window on a combination of moderate deviations).
    """
    from detectors.anomaly.event_features import describe_value

    cand = []
    for n, label, kind in xf.BASE:
        d = float(row.get(f"dev_{n}") or 0.0)
        s, p = float(row.get(f"self_{n}") or 0.0), float(row.get(f"peer_{n}") or 0.0)
        cand.append((d, max(s, p), n, label, kind))
    strong = [c for c in cand if c[0] > 1.0]
    chosen = sorted(strong or [c for c in cand if c[1] > 1.0], key=lambda c: (c[0], c[1]), reverse=True)[:top]
    out = []
    for d, z, n, label, kind in chosen:
        value = raw_value(row, n)
        usual_self, usual_peer = _usual(row, f"usual_{n}", n), _usual(row, f"peerusual_{n}", n)
        fmt = "bytes" if kind == "bytes" else ("count" if kind == "count" else "plain")
        refs = []
        if usual_self is not None:
            refs.append(f"a usual {describe_value(fmt, usual_self)} for {UNIT.get(str(row['etype']), 'this entity')} "
                        f"{_slot_words(row)}")
        if usual_peer is not None:
            refs.append(f"{describe_value(fmt, usual_peer)} for its peers ({row['peer']}) in the same {row['wkind']}")
        text = f"{label} {describe_value(fmt, value)}" + (" vs " + " and ".join(refs) if refs else "")
        compared = "+".join(r for r, u in (("self", usual_self), ("peer", usual_peer)) if u is not None) or "none"
        out.append({"feature": n, "value": value, "usual": usual_self if usual_self is not None else usual_peer,
                    "peer_usual": usual_peer, "compared_with": compared,
                    "deviation": round(d if strong else z, 2), "text": text})
    return out


def _usual(row: dict[str, Any], col: str, n: str) -> float | None:
    u = row.get(col)
    if u is None:
        return None
    return float(np.expm1(u)) if n in xf.LOGGED else float(u)


def raw_value(row: dict[str, Any], n: str) -> float:
    """The window's value of base feature ``n`` (undoing the log of counts and bytes)."""
    v = row.get(f"v_{n}")
    if v is None:
        return float("nan")
    return round(float(np.expm1(v)) if n in xf.LOGGED else float(v), 4)
