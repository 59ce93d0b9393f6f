"""Scheduled anomaly runs inside ``soc run``: a background thread every ``anomaly.schedule_minutes``.

Each run (``run_once``) retrains the models when the newest is missing, older
than ``anomaly.retrain_hours`` or of another feature schema (on the ``baseline_days`` before now), then scores
the events since the previous run's end and hands the alerts to ``on_alerts``
(the lead's alert flow). Missing Java disables the scheduler with one clear log
line; an empty window is only noted. Nothing here stops the rest of the service.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from detectors.anomaly import entity_features, event_features, model_store, service
from detectors.anomaly.errors import AnomalyError, EmptyWindowError, SparkUnavailableError
from soc.config import Settings

log = logging.getLogger(__name__)
AlertSink = Callable[[list[dict[str, Any]]], None]
CURRENT_SCHEMA = {"event": event_features.FEATURE_SCHEMA, "entity": entity_features.FEATURE_SCHEMA}


class AnomalyScheduler:
    def __init__(self, settings: Settings, on_alerts: AlertSink,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.settings = settings
        self.on_alerts = on_alerts
        self.clock = clock
        self.last_end: datetime | None = None
        self.disabled_reason: str | None = None
        self.last_summary: service.RunSummary | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _model_age(self, family: str, now: datetime) -> timedelta | None:
        try:
            folder = model_store.latest(self.settings.data_dir, family)
        except AnomalyError:
            return None
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("feature_schema") != CURRENT_SCHEMA.get(family):
            return None  # trained by an older version of the features: retrain now rather than fail each run
        created = manifest.get("created")
        try:
            return now - datetime.fromisoformat(str(created))
        except ValueError:
            return None

    def run_once(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Retrain if stale, score since the last run, deliver and return the alerts."""
        cfg = self.settings.anomaly
        if not cfg.enabled or self.disabled_reason:
            return []
        now = now or self.clock()
        try:
            ages = [self._model_age(f, now) for f in cfg.families]
            if any(a is None or a > timedelta(hours=cfg.retrain_hours) for a in ages):
                try:
                    service.train(self.settings, now - timedelta(days=cfg.baseline_days), now)
                except EmptyWindowError as exc:
                    log.info("anomaly: not retrained: %s", exc)
            start = self.last_end or now - timedelta(minutes=cfg.schedule_minutes)
            summary = service.RunSummary()
            alerts = service.run_scoring(self.settings, start, now, summary=summary)
            self.last_summary = summary
            self.last_end = now
        except SparkUnavailableError as exc:
            self.disabled_reason = str(exc)
            log.error("anomaly model disabled: %s", exc)
            return []
        except EmptyWindowError as exc:
            self.last_end = now
            log.info("anomaly: nothing to score: %s", exc)
            return []
        except AnomalyError as exc:
            log.error("anomaly run failed: %s", exc)
            return []
        if alerts:
            self.on_alerts(alerts)
        log.info("anomaly run %s..%s: %d alert(s)", start.isoformat(), now.isoformat(), len(alerts))
        return alerts

    def _loop(self) -> None:
        interval = self.settings.anomaly.schedule_minutes * 60
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # keep the thread alive whatever a run does; the error is logged
                log.exception("anomaly run crashed")
            if self._stop.wait(interval):
                break

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="anomaly-scheduler", daemon=True)
            self._thread.start()

    def stop(self, timeout: float | None = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
