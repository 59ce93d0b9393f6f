"""Threat intelligence in: indicator feeds, the indicator store and the per-event matcher.

``soc run`` wiring (done by the lead)::

    store = IndicatorStore(ctx.state.session)
    matcher = IndicatorMatcher(loader=store.build_index, reload_seconds=settings.sharing.intel_reload_seconds,
                               default_level=settings.sharing.intel_alert_level)
    scheduler = IntelScheduler(store, settings.sharing.feeds, on_change=matcher.reload)
    scheduler.start()
"""

from detectors.indicators.index import Indicator, IndicatorIndex
from detectors.indicators.matcher import IndicatorMatcher
from detectors.indicators.scheduler import IntelScheduler
from detectors.indicators.store import IndicatorInput, IndicatorStore

__all__ = ["Indicator", "IndicatorIndex", "IndicatorInput", "IndicatorMatcher", "IndicatorStore", "IntelScheduler"]
