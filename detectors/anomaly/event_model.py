"""Family 1: an Isolation Forest over each firewall/proxy event's own features.

Fitting happens on the driver with scikit-learn on a deterministic sample of
the baseline; scoring runs inside Spark as a pandas UDF with the model
broadcast to the executors, so only the few alerting rows come back.
Scores are the Isolation Forest score of Liu et al. (``-score_samples``):
about 0.5 for ordinary events, towards 1 for events isolated in few splits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from detectors.anomaly import event_features as ef
from detectors.anomaly.errors import EmptyWindowError

NO_FIELDS = "no network or web fields (bytes, packets, port, duration, URL, domain) to score"


@dataclass
class EventModel:
    forest: IsolationForest
    tables: ef.RarityTables
    medians: dict[str, float]
    scales: dict[str, float]
    tz: str
    work_hours: tuple[int, int]
    feature_schema: str = ef.FEATURE_SCHEMA
    features: list[str] = field(default_factory=lambda: list(ef.FEATURE_NAMES))
    baseline_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Quantiles (0, 0.001, ..., 1) of the training sample's own scores."""

    def percentile(self, scores: np.ndarray) -> np.ndarray:
        return baseline_percentile(self.baseline_scores, scores)

    def score_frame(self, pdf: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
        """Scores (NaN where the event has nothing to score), features and keys of a pandas batch."""
        pdf = ef.ensure_columns(pdf)
        feats, k = ef.compute(pdf, self.tables, self.tz, self.work_hours)
        scores = np.full(len(pdf), np.nan)
        ok = ef.usable(pdf)
        if ok.any():
            scores[ok] = -self.forest.score_samples(feats.to_numpy()[ok])
        return scores, feats, k

    def explain(self, feats: dict[str, float], key_row: dict[str, Any], top: int = 3) -> list[dict[str, Any]]:
        return ef.explain_row(feats, key_row, self.medians, self.scales, self.tables, top)


def fit(pdf: pd.DataFrame, tables: ef.RarityTables, *, seed: int, n_estimators: int = 200,
        tz: str = "Asia/Ho_Chi_Minh", work_hours: tuple[int, int] = (7, 18)) -> EventModel:
    """Fit on a pandas sample (rows sorted by the caller: order matters for reproducibility)."""
    pdf = ef.ensure_columns(pdf.reset_index(drop=True))
    ok = ef.usable(pdf)
    if ok.sum() < 10:
        raise EmptyWindowError(f"only {int(ok.sum())} events with network or web fields in the training window; "
                               "at least 10 are needed (widen the window or ingest firewall/proxy logs)")
    feats, _ = ef.compute(pdf, tables, tz, work_hours)
    x = feats.to_numpy()[ok]
    forest = IsolationForest(n_estimators=n_estimators, max_samples=min(256, len(x)), random_state=seed,
                             n_jobs=1)
    forest.fit(x)
    base = quantiles(-forest.score_samples(x))
    med = np.median(x, axis=0)
    mad = np.median(np.abs(x - med), axis=0) * 1.4826
    std = x.std(axis=0)
    # scale: robust spread, else the standard deviation, else a floor so a constant feature still explains
    scale = np.where(mad > 1e-9, mad, np.where(std > 1e-9, std, 0.1))
    names = ef.FEATURE_NAMES
    return EventModel(forest=forest, tables=tables, medians=dict(zip(names, med.tolist(), strict=True)),
                      scales=dict(zip(names, scale.tolist(), strict=True)), tz=tz, work_hours=work_hours,
                      baseline_scores=base)


def quantiles(scores: np.ndarray) -> np.ndarray:
    """1001 quantiles of a score sample: enough to place any new score within the baseline."""
    return np.quantile(scores, np.linspace(0.0, 1.0, 1001))  # type: ignore[no-any-return]


def baseline_percentile(qs: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Share of the baseline scoring below each score (NaN stays NaN)."""
    if len(qs) == 0:
        return np.full(len(scores), np.nan)
    out = np.searchsorted(qs, np.nan_to_num(scores, nan=-1.0), side="left") / (len(qs) - 1)
    return np.where(np.isnan(scores), np.nan, np.clip(out, 0.0, 1.0))  # type: ignore[no-any-return]


# ---------------------------------------------------------------- Spark side

def tables_from_spark(df: Any) -> ef.RarityTables:
    """The frequency tables of :func:`event_features.fit_tables`, computed with Spark group-bys."""
    from pyspark.sql import functions as F

    kdf = df.mapInPandas(_keys_batch, schema=", ".join(f"{c} string" for c in _KEY_COLS))
    kdf = kdf.persist()
    t = ef.RarityTables()
    total = kdf.count()
    for key in ("_port_key", "_transport_key", "_action_key", "_ua_key", "_method_key"):
        rows = kdf.groupBy(key).count().orderBy(F.desc("count"), F.asc(key)).limit(ef.TABLE_MAX).collect()
        t.counts[key] = {str(r[0]): int(r[1]) for r in rows}
        t.totals[key] = total
    n_sources = kdf.select("_source_key").distinct().count()
    rows = (kdf.where(F.col("_domain_key") != ef.MISSING).groupBy("_domain_key")
            .agg(F.countDistinct("_source_key").alias("n")).orderBy(F.desc("n"), F.asc("_domain_key"))
            .limit(ef.TABLE_MAX).collect())
    t.counts["_domain_key"] = {str(r[0]): int(r[1]) for r in rows}
    t.counts["_domain_key"][ef.MISSING] = n_sources
    t.totals["_domain_key"] = n_sources
    kdf.unpersist()
    return t


_KEY_COLS = ["_port_key", "_transport_key", "_action_key", "_domain_key", "_ua_key", "_method_key", "_source_key"]


def _keys_batch(batches: Any) -> Any:
    for pdf in batches:
        yield ef.keys(ef.ensure_columns(pdf))[_KEY_COLS]


def sample_for_training(df: Any, max_rows: int, seed: int) -> pd.DataFrame:
    """A deterministic sample: rows whose content hash falls under a cut, sorted by that hash.

    Spark's ``sample`` depends on partitioning; a content hash gives the same rows
    (and order) for the same data however it is split, so training is reproducible.
    """
    from pyspark.sql import functions as F

    cols = [c for c in ef.EVENT_COLUMNS]
    h = F.xxhash64(F.lit(seed), *[F.col(c) for c in cols])
    hdf = df.select(*cols).withColumn("_h", h)
    total = hdf.count()
    if total == 0:
        raise EmptyWindowError("the training window holds no events")
    frac = min(1.0, max_rows / total)
    cut = int(frac * 1_000_000)
    pdf = hdf.where(F.pmod(F.col("_h"), F.lit(1_000_000)) < cut).toPandas()
    return pdf.sort_values(["_h", "event_id"], kind="mergesort").head(max_rows).drop(columns="_h")


def score_udf(model_bc: Any) -> Any:
    """A pandas UDF returning ``struct<score, features...>`` for each event, using the broadcast model."""
    from pyspark.sql.functions import pandas_udf

    ret = "score double, pct double, " + ", ".join(f"{n} double" for n in ef.FEATURE_NAMES) + ", " + \
        ", ".join(f"{k} string" for k in ef.RARITY_KEYS.values())

    @pandas_udf(ret)  # type: ignore[call-overload]
    def _score(batch: pd.DataFrame) -> pd.DataFrame:
        m: EventModel = model_bc.value
        scores, feats, k = m.score_frame(batch)
        out = feats.copy()
        out.insert(0, "score", scores)
        out.insert(1, "pct", m.percentile(scores))
        for key in ef.RARITY_KEYS.values():
            out[key] = k[key].astype(str)
        return out

    return _score


#: Row kinds of :func:`top_hits`' output: one count row per Arrow batch, and that batch's best alerting rows.
COUNTS, HIT = "counts", "hit"


def top_hits_schema() -> str:
    return ("kind string, events long, scored long, above long, event_id string, doc string, ts_ms long, "
            "score double, pct double, " + ", ".join(f"{n} double" for n in ef.FEATURE_NAMES) + ", "
            + ", ".join(f"{k} string" for k in ef.RARITY_KEYS.values()))


def top_hits(model_bc: Any, threshold: float, quantile: float, k: int) -> Any:
    """A ``mapInPandas`` function scoring each batch and keeping only its counts and ``k`` best alerting rows.

    The global top ``k`` is among the union of every batch's top ``k``, so one pass over the events gives
    both the run's counts and its alerts: scoring is not repeated for a second Spark action, and what
    travels back is bounded by batches x ``k``, whatever the number of events.
    """
    def run(batches: Any) -> Any:
        m: EventModel = model_bc.value
        for pdf in batches:
            scores, feats, keys = m.score_frame(pdf)
            pct = m.percentile(scores)
            hit = ((scores >= threshold) | (pct >= quantile)) & ~np.isnan(scores)
            counts = pd.DataFrame({"kind": [COUNTS], "events": [len(pdf)],
                                   "scored": [int((~np.isnan(scores)).sum())], "above": [int(hit.sum())]})
            yield _typed(counts)
            if not hit.any():
                continue
            idx = np.flatnonzero(hit)
            idx = idx[np.argsort(-scores[idx], kind="stable")[:k]]
            out = feats.iloc[idx].reset_index(drop=True)
            out.insert(0, "kind", HIT)
            out["event_id"] = pdf["event_id"].iloc[idx].astype("object").to_numpy()
            out["doc"] = pdf["doc"].iloc[idx].astype("object").to_numpy() if "doc" in pdf else None
            ts = pd.to_datetime(pdf["ts"].iloc[idx], utc=True, errors="coerce")
            out["ts_ms"] = pd.array([t.value // 1_000_000 if pd.notna(t) else None for t in ts], dtype="Int64")
            out["score"] = scores[idx]
            out["pct"] = pct[idx]
            for key in ef.RARITY_KEYS.values():
                out[key] = keys[key].iloc[idx].astype(str).to_numpy()
            yield _typed(out)

    return run


_HIT_TYPES = dict(c.split(" ") for c in top_hits_schema().split(", "))


def _typed(pdf: pd.DataFrame) -> pd.DataFrame:
    """All output columns, in schema order, with dtypes Arrow converts plainly.

    pandas 3 stores text as Arrow-backed strings, which pyspark's ``mapInPandas`` cannot serialise: text goes
    back to plain Python objects (None for missing), integers to nullable Int64.
    """
    out = pdf.reindex(columns=list(_HIT_TYPES))
    for c, t in _HIT_TYPES.items():
        if t == "string":
            col = out[c].astype(object)
            out[c] = col.where(col.notna(), None).astype(object)
        elif t == "long":
            out[c] = pd.array(out[c], dtype="Int64")
        else:
            out[c] = out[c].astype("float64")
    return out
