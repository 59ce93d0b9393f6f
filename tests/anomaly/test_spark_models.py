"""Both model families on real Spark (local[2]) over a small generated city with injected attacks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from detectors.anomaly import event_features as ef
from detectors.anomaly import event_model, model_store, service
from detectors.anomaly.scenario import Scenario, default_start, generate
from detectors.anomaly.spark_session import get_spark, read_events

# One module fixture trains and scores once; Spark stage overhead dominates on a small shared machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def trained(spark_settings: Any) -> dict[str, Any]:
    sc = Scenario(start=default_start(), days=5, attack_from_day=4, agencies=2, hosts_per_agency=6,
                  events_per_host_hour=6.0, seed=11)
    generate(sc, spark_settings.events_dir)
    spark_settings.anomaly.entity_types = ["host", "user"]
    spark_settings.anomaly.windows = ["hour"]
    result = service.train(spark_settings, sc.start, sc.start + timedelta(days=4))
    summary = service.RunSummary()
    alerts = service.run_scoring(spark_settings, sc.start + timedelta(days=4), sc.start + timedelta(days=5),
                                 summary=summary)
    return {"sc": sc, "result": result, "alerts": alerts, "summary": summary}


def test_models_are_versioned(trained: dict[str, Any], spark_settings: Any) -> None:
    assert set(trained["result"]) == {"event", "entity"}
    for fam in ("event", "entity"):
        import json

        m = json.loads((model_store.latest(spark_settings.data_dir, fam) / "manifest.json").read_text())
        assert m["seed"] == spark_settings.anomaly.seed and m["training_window"]["start"].startswith("2026-03-01")
        assert m["features"] and m["rows"] > 0


def test_alert_shape_and_explanations(trained: dict[str, Any]) -> None:
    alerts = trained["alerts"]
    assert alerts, trained["summary"]
    for a in alerts:
        m = a["match"]
        assert a["kind"] == "anomaly" and a["entity"]["value"]
        assert 0 < m["score"] <= 1 and m["window"]["start"] < m["window"]["end"]
        assert m["family"] in ("event", "entity")
        for t in m["top_features"]:
            assert t["text"] and "nan" not in t["text"]
    st = trained["summary"].family_stats
    assert st["event"]["scored"] > 1000 and st["entity"]["scored"] > 100


def test_injected_attacks_are_found(trained: dict[str, Any]) -> None:
    sc = trained["sc"]
    ent_alerts = {(a["entity"]["type"], a["entity"]["value"]) for a in trained["alerts"]
                  if a["match"]["family"] == "entity"}
    found = [i.kind for i in sc.injections if (i.entity_type, i.entity) in ent_alerts]
    assert "scanning" in found and len(found) >= 2, (found, sorted(ent_alerts))
    scan = next(i for i in sc.injections if i.kind == "scanning")
    host_ip = next(h[1] for h in sc.hosts() if h[0] == scan.entity)
    ev_entities = {a["entity"]["value"] for a in trained["alerts"] if a["match"]["family"] == "event"}
    assert host_ip in ev_entities


def test_training_sample_does_not_depend_on_partitioning(trained: dict[str, Any], spark_settings: Any) -> None:
    sc = trained["sc"]
    spark = get_spark(spark_settings.anomaly)
    df = read_events(spark, spark_settings.events_dir, sc.start, sc.start + timedelta(days=1), ef.EVENT_COLUMNS)
    a = event_model.sample_for_training(df, 500, seed=3)
    b = event_model.sample_for_training(df.repartition(3), 500, seed=3)
    assert len(a) == 500
    assert a["event_id"].tolist() == b["event_id"].tolist()


def test_spark_and_pandas_paths_agree(trained: dict[str, Any], spark_settings: Any) -> None:
    """The group-by tables and the UDF scores equal the pandas code that ``--input`` runs."""
    import numpy as np
    from pyspark.sql import functions as F

    sc = trained["sc"]
    spark = get_spark(spark_settings.anomaly)
    df = read_events(spark, spark_settings.events_dir, sc.start + timedelta(hours=30),
                     sc.start + timedelta(hours=34), ef.EVENT_COLUMNS)
    pdf: Any = df.toPandas()
    assert event_model.tables_from_spark(df).counts == ef.fit_tables(pdf).counts
    model = model_store.load(model_store.latest(spark_settings.data_dir, "event"), family="event",
                             feature_schema=ef.FEATURE_SCHEMA, features=ef.FEATURE_NAMES).model
    bc = spark.sparkContext.broadcast(model)
    got_df: Any = (df.withColumn("_a", event_model.score_udf(bc)(F.struct(*[F.col(c) for c in ef.EVENT_COLUMNS])))
                   .select("event_id", "_a.score").toPandas())
    got = got_df.set_index("event_id")["score"]
    want, _, _ = model.score_frame(pdf)
    want_s = dict(zip(pdf["event_id"], want, strict=True))
    assert len(got) == len(pdf) > 50
    assert np.allclose([want_s[i] for i in got.index], got.to_numpy(), equal_nan=True)


def test_one_pass_event_scoring_returns_counts_and_the_best_hits(trained: dict[str, Any], spark_settings: Any) -> None:
    """``top_hits`` (what ``score_events`` runs): per-batch counts and top rows equal the pandas computation."""
    import numpy as np
    from pyspark.sql import functions as F

    sc = trained["sc"]
    spark = get_spark(spark_settings.anomaly)
    df = read_events(spark, spark_settings.events_dir, sc.start + timedelta(days=4), sc.start + timedelta(days=5),
                     [*ef.EVENT_COLUMNS, "doc"])
    model = model_store.load(model_store.latest(spark_settings.data_dir, "event"), family="event",
                             feature_schema=ef.FEATURE_SCHEMA, features=ef.FEATURE_NAMES).model
    bc = spark.sparkContext.broadcast(model)
    threshold, k = 0.6, 5
    res: Any = df.mapInPandas(event_model.top_hits(bc, threshold, 0.9999, k),
                              schema=event_model.top_hits_schema()).toPandas()
    pdf: Any = df.toPandas()
    want, _, _ = model.score_frame(pdf)
    pct = model.percentile(want)
    hit = ((want >= threshold) | (pct >= 0.9999)) & ~np.isnan(want)
    counts = res[res["kind"] == event_model.COUNTS]
    assert counts["events"].sum() == len(pdf) and counts["scored"].sum() == int((~np.isnan(want)).sum())
    assert counts["above"].sum() == int(hit.sum()) > k
    hits = res[res["kind"] == event_model.HIT].sort_values("score", ascending=False).head(k)
    assert np.allclose(hits["score"].to_numpy(), np.sort(want[hit])[::-1][:k])
    assert hits["doc"].str.startswith("{").all() and hits["ts_ms"].notna().all()
    assert df.where(F.col("event_id").isin(hits["event_id"].tolist())).count() == k
