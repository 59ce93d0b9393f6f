"""Per-event features: finite numbers whatever the input, rarity, and readable explanations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from detectors.anomaly import event_features as ef
from detectors.anomaly.event_model import fit


def _frame(rows: list[dict]) -> pd.DataFrame:
    return ef.ensure_columns(pd.DataFrame(rows))


def test_bad_numbers_become_missing_not_garbage() -> None:
    pdf = _frame([
        {"source_bytes": float("nan"), "destination_bytes": float("inf"), "destination_port": 443},
        {"source_bytes": -5, "destination_bytes": "12x", "source_packets": 0, "destination_port": None},
        {"source_bytes": 10**30, "event_duration": float("-inf"), "url_original": "http://a.b/" + "x" * 50},
    ])
    feats, _ = ef.compute(pdf, ef.fit_tables(pdf))
    assert np.isfinite(feats.to_numpy()).all()
    assert feats.loc[0, "log_bytes_out"] == 0.0  # NaN counted as missing
    assert feats.loc[1, "log_bytes_out"] == 0.0  # negative counted as missing
    assert feats.loc[2, "log_bytes_out"] > 60  # a huge value stays huge (log), not inf


def test_usable_needs_a_network_or_web_field() -> None:
    pdf = _frame([{"message": "hello"}, {"destination_port": 22}, {"url_domain": "a.vn"}, {"url_domain": ""}])
    assert ef.usable(pdf).tolist() == [False, True, True, False]


def test_rarity_of_unseen_values_is_one_and_common_is_low() -> None:
    pdf = _frame([{"network_transport": "tcp", "destination_port": 443}] * 99 +
                 [{"network_transport": "tcp", "destination_port": 4444}])
    t = ef.fit_tables(pdf)
    k = ef.keys(_frame([{"network_transport": "tcp", "destination_port": p} for p in (443, 4444, 31337)]))
    r = t.rarity("_port_key", k["_port_key"])
    assert r[0] < 0.05 and 0.5 < r[1] < 1.0 and r[2] == 1.0


def test_domain_rarity_counts_sources_not_requests() -> None:
    # one host hammering a domain does not make it popular across the city
    rows = [{"source_ip": "10.0.0.1", "url_domain": "chatty.vn"}] * 500
    rows += [{"source_ip": f"10.0.1.{i}", "url_domain": "portal.gov.vn"} for i in range(50)]
    t = ef.fit_tables(_frame(rows))
    assert t.counts["_domain_key"]["chatty.vn"] == 1
    assert t.counts["_domain_key"]["portal.gov.vn"] == 50


def test_entropy() -> None:
    assert ef.entropy("") == 0.0
    assert ef.entropy("aaaa") == 0.0
    assert math.isclose(ef.entropy("ab"), 1.0)
    assert ef.entropy("x7q9zk2m4v8p") > ef.entropy("wwwwgooglecom")


def test_explanation_names_the_feature_and_the_usual_value() -> None:
    rng = np.random.default_rng(0)
    rows = [{"source_ip": f"10.0.0.{i % 9}", "destination_port": 443, "network_transport": "tcp",
             "source_bytes": int(rng.lognormal(7, 0.3)), "destination_bytes": int(rng.lognormal(9, 0.3))}
            for i in range(300)]
    pdf = _frame(rows)
    model = fit(pdf.copy(), ef.fit_tables(pdf), seed=3)
    odd = _frame([{"source_ip": "10.0.0.1", "destination_port": 443, "network_transport": "tcp",
                   "source_bytes": 45_000_000, "destination_bytes": 8000}])
    s, feats, k = model.score_frame(odd)
    top = model.explain(feats.iloc[0].to_dict(), k.iloc[0].to_dict())
    assert top[0]["feature"] in ("log_bytes_out", "out_in_ratio", "log_bytes_per_packet_out")
    bytes_out = [t for t in top if t["feature"] == "log_bytes_out"]
    assert bytes_out and "45.0 MB vs a usual" in bytes_out[0]["text"]
    assert s[0] > 0.6
