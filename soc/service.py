"""Builds the running service from configuration: detectors, pipeline, workers, API.

``soc run`` calls :func:`build_runtime` then :meth:`Runtime.start`; ``soc ingest`` and
the end-to-end test use the same function with ``listeners=False``, so what is
tested is what runs.
"""

from __future__ import annotations

import gc
import importlib
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from detectors.base import Detector
from soc.alerts import AlertSink
from soc.config import Settings
from soc.context import AppContext
from soc.pipeline import Pipeline
from soc.prepare import resolve_workers

log = logging.getLogger("soc.service")


def _optional(module: str) -> Any:
    """Import an area module if it exists (areas land independently); real import errors still raise."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            log.debug("optional module %s not present", module)
            return None
        raise


def settle_heap() -> None:
    """Keep what start-up built (modules, Sigma rules, configuration, the web app) out of the cyclic garbage
    collector's full collections, which otherwise walk all of it again and again while the service runs.

    Measured in the ingest benchmark (no detectors loaded): two full collections of ~100 ms each per 100,000
    events, ~0.2 s of the service's 2.5 s of CPU; after this, ~4 ms. Objects are still freed by reference
    counting; only cycles among the frozen ones wait for the next call. ``soc run`` calls it once the service
    is up, and again after a rule reload (which first frees the old rules' cycles: unfreeze, collect, freeze).
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def build_detectors(ctx: AppContext) -> list[Detector]:
    """Indicator matching first (cheap, constant-time), then Sigma."""
    detectors: list[Detector] = []
    intel = _optional("detectors.indicators")
    if intel is not None:
        store = intel.IndicatorStore(ctx.state.session)
        matcher = intel.IndicatorMatcher(loader=store.build_index,
                                         reload_seconds=ctx.settings.sharing.intel_reload_seconds,
                                         default_level=ctx.settings.sharing.intel_alert_level)
        ctx.extras["intel.store"] = store
        ctx.extras["intel.matcher"] = matcher
        detectors.append(matcher)
    sigma = _optional("detectors.sigma")
    if sigma is not None:
        engine = sigma.SigmaEngine.from_paths(
            [d for d in ctx.settings.detection.rules_dirs if Path(d).exists()],
            lateness_seconds=ctx.settings.detection.correlation_lateness_seconds,
            max_state=ctx.settings.detection.correlation_max_state,
            state_path=ctx.settings.data_dir / "correlation-state.json",
            placeholders=ctx.settings.detection.placeholders,
        )
        from soc.rule_state import apply_disabled

        apply_disabled(ctx.state, engine)
        for path, line, reason in engine.errors:
            log.warning("rule rejected: %s%s: %s", path, f":{line}" if line else "", reason)
        ctx.sigma = engine
        detectors.append(engine)
    return detectors


@dataclass
class Runtime:
    ctx: AppContext
    pipeline: Pipeline
    workers: list[Any] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start_workers(self, *, listeners: bool = True) -> None:
        """Start the background parts: ingest listeners, delivery, schedulers, maintenance."""
        s = self.ctx.settings
        runner = _optional("connectors.runner")
        if listeners and runner is not None:
            ingest = runner.IngestService(s, self.pipeline, self.ctx.state)
            ingest.start()
            self.ctx.ingest = ingest
            self.workers.append(ingest)
        sharing = _optional("soc.sharing.taxii_push")
        if sharing is not None:
            sharing.register_channels()  # taxii and syslog_cef outbox channels for layer 4
        incidents = _optional("soc.incidents.service")
        if incidents is not None:
            worker = incidents.start_delivery(self.ctx)  # sends the outbox, escalates unacknowledged notices
            if worker is not None:
                from soc.sharing.auto import share_serious_pending

                worker.ticks.append(share_serious_pending(s, self.ctx.state, self.ctx.inventory))
                self.workers.append(worker)
        anomaly = _optional("detectors.anomaly")
        if anomaly is not None and s.anomaly.enabled:
            from detectors.anomaly.scheduler import AnomalyScheduler

            def on_alerts(alerts: list[dict[str, Any]]) -> None:
                self.pipeline.submit_alerts(alerts)

            sched = AnomalyScheduler(s, on_alerts)  # Spark jobs over stored events, into the same alert flow
            sched.start()
            self.workers.append(sched)
        intel = _optional("detectors.indicators")
        if intel is not None and s.sharing.feeds and "intel.store" in self.ctx.extras:
            isched = intel.IntelScheduler(self.ctx.extras["intel.store"], s.sharing.feeds,
                                          on_change=self.ctx.extras["intel.matcher"].reload)
            isched.start()
            self.workers.append(isched)
        t = threading.Thread(target=self._maintenance, name="maintenance", daemon=True)
        t.start()

    def _maintenance(self) -> None:
        """Retention, compaction and rule reload, once a minute."""
        last_retention = 0.0
        while not self._stop.wait(60):
            try:
                sigma = self.ctx.sigma
                if sigma is not None and self.ctx.settings.detection.reload and sigma.reload_if_changed():
                    log.info("Sigma rules reloaded")  # the engine keeps enable/disable across reloads
                    settle_heap()  # the new rules are long-lived too; the old ones' cycles are freed
                if time.time() - last_retention > 3600:
                    removed = self.ctx.events.apply_retention(self.ctx.settings.storage.retention_days)
                    compact = getattr(self.ctx.events, "compact", None)
                    if compact is not None:
                        compact()
                    last_retention = time.time()
                    if removed:
                        log.info("retention removed %d day partitions", removed)
            except Exception:
                log.exception("maintenance step failed; will retry in a minute")

    def stop(self) -> None:
        self._stop.set()
        for w in reversed(self.workers):
            try:
                w.stop()
            except Exception:
                log.exception("stopping %s failed", type(w).__name__)
        if self.ctx.sigma is not None and hasattr(self.ctx.sigma, "save_state"):
            self.ctx.sigma.save_state()
        self.pipeline.close()


def build_runtime(settings: Settings, ctx: AppContext | None = None) -> Runtime:
    ctx = ctx or AppContext.build(settings)
    hooks = []
    inc = _optional("soc.incidents.service")
    if inc is not None:
        hooks.append(inc.get_engine(ctx).on_alerts)  # the API uses the same engine
    if _optional("soc.sharing.auto") is not None:
        from soc.sharing.auto import cef_alert_hook

        cef = cef_alert_hook(settings)
        if cef is not None:
            hooks.append(cef)
    pipeline = Pipeline(state=ctx.state, events=ctx.events, inventory=ctx.inventory,
                        detectors=build_detectors(ctx),
                        alert_sink=AlertSink(timedelta(minutes=settings.incidents.dedup_window_minutes)),
                        alert_hooks=hooks, default_tz=settings.timezone,
                        workers=resolve_workers(settings.pipeline.workers))
    ctx.pipeline = pipeline
    return Runtime(ctx=ctx, pipeline=pipeline)
