"""Unsupervised per-event scores against CICIDS2017 labels (material nobody here wrote)."""

from __future__ import annotations

import pytest

from detectors.anomaly import cicids
from tests.anomaly.conftest import SHARED

FOLDER = SHARED / "flows" / "cicids2017-sample"


def test_mapping_to_ecs() -> None:
    row = {"Timestamp": "2017-07-07 12:59:01.5", "Src IP": "192.168.10.5", "Src Port": "53633",
           "Dst IP": "192.168.10.3", "Dst Port": "53", "Protocol": "17", "Flow Duration": "1500",
           "Total Fwd Packet": "2", "Total Bwd packets": "2", "Total Length of Fwd Packet": "80",
           "Total Length of Bwd Packet": "200", "Label": "BENIGN"}
    d = cicids.row_to_ecs(row)
    assert d["@timestamp"] == "2017-07-07T12:59:01-03:00"
    assert d["network"]["transport"] == "udp" and d["event"]["duration"] == 1_500_000
    assert d["source"]["bytes"] == 80 and d["destination"]["packets"] == 2 and d["destination"]["port"] == 53


def test_roc_auc_overall() -> None:
    if not FOLDER.is_dir():
        pytest.skip(f"{FOLDER} is absent (shared test material)")
    from detectors.anomaly.evaluation import evaluate_cicids

    r = evaluate_cicids(FOLDER, per_class=False, n_estimators=100)
    iso = r["overall"]["isolation_forest"]
    assert iso["positives"] > 50
    assert iso["roc_auc"] > 0.6
    assert iso["pr_auc"] > iso["base_rate"]  # better than ranking at random
