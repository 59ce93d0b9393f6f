"""Fixtures for the anomaly tests: ECS event builders and, for the Spark tests, one shared SparkSession."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"


def firewall_event(i: int, rng: np.random.Generator, **over: Any) -> dict[str, Any]:
    """An ordinary ECS firewall connection."""
    doc: dict[str, Any] = {
        "@timestamp": f"2026-03-02T{2 + (i % 8):02d}:{i % 60:02d}:00Z",
        "event": {"category": ["network"], "action": "accept", "dataset": "fortinet.firewall",
                  "duration": int(rng.lognormal(0, 0.5) * 1e9)},
        "source": {"ip": f"10.0.0.{i % 20 + 1}", "port": 40000 + i % 1000,
                   "bytes": int(rng.lognormal(7, 0.5)), "packets": int(rng.integers(3, 12))},
        "destination": {"ip": f"203.0.113.{i % 30 + 1}", "port": int(rng.choice([443, 443, 443, 80, 53])),
                        "bytes": int(rng.lognormal(9, 0.5)), "packets": int(rng.integers(3, 20))},
        "network": {"transport": "tcp"},
    }
    for k, v in over.items():
        cur = doc
        parts = k.split(".")
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = v
    return doc


@pytest.fixture
def normal_lines() -> list[str]:
    rng = np.random.default_rng(1)
    return [json.dumps(firewall_event(i, rng)) for i in range(400)]


@pytest.fixture(scope="session")
def spark_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Settings on a fresh data_dir with Spark in local[2], small shuffles, no UI; one session for all tests."""
    from detectors.anomaly.errors import SparkUnavailableError
    from detectors.anomaly.spark_session import get_spark, stop_spark
    from soc.config import Settings

    s = Settings(data_dir=tmp_path_factory.mktemp("anomaly"))
    s.anomaly.spark_master = "local[2]"
    s.anomaly.spark_conf = {"spark.sql.shuffle.partitions": "2", "spark.driver.memory": "1g",
                            "spark.ui.enabled": "false"}
    s.anomaly.n_estimators = 100
    try:
        get_spark(s.anomaly)
    except SparkUnavailableError as exc:
        pytest.skip(f"Spark unavailable: {exc}")
    yield s
    stop_spark()


@pytest.fixture(autouse=True)
def _fresh_cli_settings() -> Iterator[None]:
    """The CLI caches its settings per process; each test invokes it with its own environment."""
    from soc.cli.common import state

    state._settings = None
    yield
    state._settings = None
