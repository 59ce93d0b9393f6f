"""Training and scoring over the event store: what the CLI, the scheduler and the alert flow call.

``train(settings, start, end)`` fits the configured families on the stored
events of [start, end) and saves a new model version of each;
``run_scoring(settings, start, end)`` applies the newest models to [start, end)
and returns anomaly alerts (``detectors.base.make_alert(kind="anomaly")``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from detectors.anomaly import entity_features as xf
from detectors.anomaly import entity_model, event_model, feedback, model_store
from detectors.anomaly import event_features as ef
from detectors.anomaly.errors import ModelNotFoundError
from detectors.anomaly.spark_session import get_spark, read_events
from detectors.base import make_alert
from soc.config import Settings

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


def _iso(dt: datetime) -> str:
    # pyspark's collect() gives naive datetimes in the system's local time; make them explicit UTC
    dt = dt.astimezone(UTC) if dt.tzinfo is None else dt
    return dt.isoformat().replace("+00:00", "Z")


@dataclass
class RunSummary:
    """Counts for the CLI's closing summary and the scheduler's log."""

    family_stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    suppressed: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    """family -> why it did not run (no model yet, empty window...)."""


def _exclusions(verdicts: list[dict[str, Any]], family: str) -> list[tuple[str, str, datetime, datetime]]:
    out = []
    for v in verdicts:
        if v.get("family") != family:
            continue
        w = v.get("window") or {}
        try:
            s = datetime.fromisoformat(str(w["start"]).replace("Z", "+00:00"))
            e = datetime.fromisoformat(str(w["end"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            continue
        out.append((str(v["entity"].get("type")), str(v["entity"].get("value")), s, e))
    return out


def _event_exclusion_filter(excl: list[tuple[str, str, datetime, datetime]]) -> Any:
    from pyspark.sql import functions as F

    cond = F.lit(False)
    for et, val, s, e in excl:
        col = {"user": "user_name", "ip": "source_ip", "host": "host_name"}.get(et, "source_ip")
        cond = cond | ((F.col(col) == val) & (F.col("ts") >= F.lit(s)) & (F.col("ts") < F.lit(e)))
    return ~cond


def train(settings: Settings, start: datetime, end: datetime, progress: Progress | None = None) -> dict[str, Any]:
    """Fit each configured family on [start, end) and save it; returns {family: manifest folder and counts}."""
    cfg = settings.anomaly
    step = progress or (lambda _m: None)
    spark = get_spark(cfg)
    step("spark ready")
    verdicts = feedback.load(settings.data_dir)
    result: dict[str, Any] = {}
    window = {"start": _iso(start), "end": _iso(end)}
    if "event" in cfg.families:
        df = read_events(spark, settings.events_dir, start, end, ef.EVENT_COLUMNS)
        excl = _exclusions(verdicts, "event")
        if excl:
            df = df.where(_event_exclusion_filter(excl))
        tables = event_model.tables_from_spark(df)
        step("event rarity tables")
        sample = event_model.sample_for_training(df, cfg.train_max_rows, cfg.seed)
        step(f"event sample: {len(sample):,} rows")
        model = event_model.fit(sample, tables, seed=cfg.seed, n_estimators=cfg.n_estimators,
                                tz=settings.timezone, work_hours=cfg.work_hours)
        folder = model_store.save(settings.data_dir, "event", model, {
            "feature_schema": ef.FEATURE_SCHEMA, "features": ef.FEATURE_NAMES, "training_window": window,
            "seed": cfg.seed, "rows": len(sample), "excluded_verdicts": len(excl),
            "params": {"n_estimators": cfg.n_estimators, "max_rows": cfg.train_max_rows}})
        result["event"] = {"path": str(folder), "rows": len(sample)}
        step("event model saved")
    if "entity" in cfg.families:
        df = read_events(spark, settings.events_dir, start, end, xf.ENTITY_COLUMNS)
        eexcl = _exclusions(verdicts, "entity")
        emodel, counts = entity_model.fit(
            spark, df, start=start, types=list(cfg.entity_types), windows=list(cfg.windows),
            tz=settings.timezone, work_hours=cfg.work_hours, seed=cfg.seed, n_estimators=cfg.n_estimators,
            max_rows=cfg.train_max_rows, progress=step, exclude=eexcl)
        folder = model_store.save(settings.data_dir, "entity", emodel, {
            "feature_schema": xf.FEATURE_SCHEMA, "features": xf.FEATURE_NAMES, "training_window": window,
            "seed": cfg.seed, "rows": counts.get("entity_windows", 0), "excluded_verdicts": len(eexcl),
            "groups": sorted(emodel.forests),
            "entity_types": emodel.entity_types, "windows": emodel.windows,
            "params": {"n_estimators": cfg.n_estimators, "max_rows": cfg.train_max_rows}})
        result["entity"] = {"path": str(folder), **counts}
        step("entity model saved")
    return result


def _level(score: float, threshold: float) -> str:
    return "high" if score >= max(threshold + 0.1, 0.8) else "medium"


def score_events(settings: Settings, start: datetime, end: datetime, summary: RunSummary,
                 model_path: Any = None) -> list[dict[str, Any]]:
    from pyspark.sql import functions as F

    cfg = settings.anomaly
    loaded = model_store.load(model_path or model_store.latest(settings.data_dir, "event"), family="event",
                              feature_schema=ef.FEATURE_SCHEMA, features=ef.FEATURE_NAMES)
    spark = get_spark(cfg)
    df = read_events(spark, settings.events_dir, start, end, [*ef.EVENT_COLUMNS, "doc"])
    bc = spark.sparkContext.broadcast(loaded.model)
    k = cfg.max_alerts_per_run
    # one pass: each batch yields its counts and its k best alerting rows (see event_model.top_hits)
    res = df.mapInPandas(event_model.top_hits(bc, cfg.threshold, cfg.alert_quantile, k),
                         schema=event_model.top_hits_schema()).persist()
    stats = (res.where(F.col("kind") == event_model.COUNTS)
             .agg(F.sum("events").alias("events"), F.sum("scored").alias("scored"), F.sum("above").alias("above"))
             .collect()[0])
    top = (res.where(F.col("kind") == event_model.HIT).orderBy(F.desc("score"), F.asc("event_id")).limit(k)
           .collect())
    res.unpersist()
    bc.unpersist()
    summary.family_stats["event"] = {"events": stats["events"] or 0, "scored": stats["scored"] or 0,
                                     "above_threshold": stats["above"] or 0, "model": loaded.manifest["version"]}
    alerts = []
    for r in top:
        d = r.asDict()
        try:
            doc = json.loads(d["doc"]) if d.get("doc") else {}
        except json.JSONDecodeError:
            doc = {}
        feats = {n: float(d[n]) for n in ef.FEATURE_NAMES}
        top_f = loaded.model.explain(feats, d)
        score = float(d["score"])
        ts = datetime.fromtimestamp((d["ts_ms"] or 0) / 1000, UTC)
        alerts.append(make_alert(
            kind="anomaly",
            rule={"id": "anomaly-event", "name": "Unusual connection or request", "level": _level(score, cfg.threshold),
                  "tags": ["anomaly"], "description": "Isolation Forest over the event's own features",
                  "author": "soc anomaly model"},
            events=[doc] if doc else [],
            match={"family": "event", "score": round(score, 4), "threshold": cfg.threshold,
                   "baseline_percentile": round(float(d["pct"]), 4),
                   "model": loaded.manifest["version"],
                   "window": {"kind": "event", "start": _iso(ts), "end": _iso(ts + timedelta(milliseconds=1))},
                   "top_features": top_f, "features": {k: round(v, 4) for k, v in feats.items()},
                   "explanation": "; ".join(t["text"] for t in top_f)},
        ))
    return alerts


def score_entities(settings: Settings, start: datetime, end: datetime, summary: RunSummary,
                   model_path: Any = None) -> list[dict[str, Any]]:
    from pyspark.sql import functions as F

    cfg = settings.anomaly
    loaded = model_store.load(model_path or model_store.latest(settings.data_dir, "entity"), family="entity",
                              feature_schema=xf.FEATURE_SCHEMA, features=xf.FEATURE_NAMES)
    m: entity_model.EntityModel = loaded.model
    spark = get_spark(cfg)
    df = read_events(spark, settings.events_dir, start, end, xf.ENTITY_COLUMNS)
    dev, wf = entity_model.deviations(spark, df, m)
    bc = spark.sparkContext.broadcast(m)
    scored = entity_model.scored(dev, bc).persist()
    hit = (F.col("score") >= cfg.threshold) | (F.col("pct") >= cfg.alert_quantile)
    stats = scored.agg(F.count(F.lit(1)).alias("windows"), F.count("score").alias("scored"),
                       F.sum(hit.cast("int")).alias("above")).collect()[0]
    top = (scored.where(hit)
           .orderBy(F.desc("score"), "etype", "key", "wkind", "wstart").limit(cfg.max_alerts_per_run).collect())
    scored.unpersist()
    wf.unpersist()
    bc.unpersist()
    summary.family_stats["entity"] = {"windows": stats["windows"], "scored": stats["scored"],
                                      "above_threshold": stats["above"] or 0, "model": loaded.manifest["version"]}
    alerts = []
    for r in top:
        d = r.asDict()
        top_f = entity_model.explain(d)
        ws: datetime = d["wstart"]
        we = ws + (timedelta(hours=1) if d["wkind"] == "hour" else timedelta(days=1))
        score = float(d["score"])
        et = str(d["etype"])
        alert = make_alert(
            kind="anomaly",
            rule={"id": f"anomaly-entity-{et}-{d['wkind']}",
                  "name": f"Unusual behaviour of a {et} over one {d['wkind']}",
                  "level": _level(score, cfg.threshold), "tags": ["anomaly", f"entity.{et}"],
                  "description": "Isolation Forest and largest deviation of the window's behaviour from the entity's history and "
                                 "its peers", "author": "soc anomaly model"},
            events=[],
            entity={"type": et, "value": str(d["key"])},
            timestamp=_iso(ws),
            match={"family": "entity", "score": round(score, 4), "threshold": cfg.threshold,
                   "baseline_percentile": round(float(d["pct"]), 4),
                   "forest_score": round(float(d["forest"]), 4), "max_deviation": round(float(d["max_dev"]), 2),
                   "model": loaded.manifest["version"],
                   "window": {"kind": d["wkind"], "start": _iso(ws), "end": _iso(we)},
                   "peer_group": d["peer"], "history_windows": int(d["hist_n"]), "peers": int(d["peer_n"]),
                   "top_features": top_f,
                   "features": {n: entity_model.raw_value(d, n) for n in xf.BASE_NAMES},
                   "explanation": "; ".join(t["text"] for t in top_f)},
        )
        agency = str(d["key"]) if et == "agency" else str(d["peer"])
        if agency not in ("-", "city"):
            alert.setdefault("soc", {})["agency"] = {"id": agency}
        alerts.append(alert)
    return alerts


def run_scoring(settings: Settings, start: datetime, end: datetime, *, progress: Progress | None = None,
                summary: RunSummary | None = None) -> list[dict[str, Any]]:
    """Anomaly alerts for the stored events of [start, end), after benign-verdict suppression.

    A family without a trained model is skipped (noted in ``summary.skipped``), not an error: the
    scheduler trains it on its next run. Spark/Java problems raise :class:`SparkUnavailableError`.
    """
    summ = summary if summary is not None else RunSummary()
    step = progress or (lambda _m: None)
    cfg = settings.anomaly
    alerts: list[dict[str, Any]] = []
    for fam, fn in (("event", score_events), ("entity", score_entities)):
        if fam not in cfg.families:
            continue
        try:
            alerts += fn(settings, start, end, summ)
        except ModelNotFoundError as exc:
            summ.skipped[fam] = str(exc)
            continue
        step(f"{fam} scored")
    verdicts = feedback.load(settings.data_dir)
    kept = []
    for a in alerts:
        if verdicts and feedback.suppressed_by(a, verdicts, cfg.suppress_similarity):
            summ.suppressed += 1
            continue
        kept.append(a)
    summ.alerts = kept
    return kept
