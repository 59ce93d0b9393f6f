"""Spark anomaly model: find what no rule describes (``docs/anomaly.md``).

Entry points for the rest of the service:

* :func:`run_scoring` ``(settings, start, end) -> list[alert]`` - anomaly alerts for a window;
* :func:`train` ``(settings, start, end)`` - fit and save new model versions;
* :func:`record_benign` ``(data_dir, alerts)`` - analyst verdicts fed back;
* :class:`AnomalyScheduler` - the background runs of ``soc run``.

Heavy imports (pyspark, scikit-learn) happen only when these are called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from detectors.anomaly.errors import (
    AnomalyError,
    EmptyWindowError,
    ModelNotFoundError,
    ModelSchemaError,
    SparkUnavailableError,
)

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from soc.config import Settings

__all__ = ["AnomalyError", "AnomalyScheduler", "EmptyWindowError", "ModelNotFoundError", "ModelSchemaError",
           "SparkUnavailableError", "record_benign", "run_scoring", "train"]


def run_scoring(settings: Settings, start: datetime, end: datetime) -> list[dict[str, Any]]:
    from detectors.anomaly import service

    return service.run_scoring(settings, start, end)


def train(settings: Settings, start: datetime, end: datetime) -> dict[str, Any]:
    from detectors.anomaly import service

    return service.train(settings, start, end)


def record_benign(data_dir: Path, alerts: list[dict[str, Any]], by: str = "analyst", note: str = "") -> int:
    from detectors.anomaly import feedback

    return feedback.record_benign(data_dir, alerts, by=by, note=note)


def __getattr__(name: str) -> Any:
    if name == "AnomalyScheduler":
        from detectors.anomaly.scheduler import AnomalyScheduler

        return AnomalyScheduler
    raise AttributeError(name)
