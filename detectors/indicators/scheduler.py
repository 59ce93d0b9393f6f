"""Pulls the configured feeds on their schedules (``soc run`` starts one :class:`IntelScheduler`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from detectors.indicators.feeds import FeedConfig, feed_configs, pull_feed
from detectors.indicators.store import IndicatorStore
from soc.periodic import PeriodicThread

log = logging.getLogger("soc.intel")


class IntelScheduler:
    """Background thread: each feed is pulled every ``interval_minutes``; expired indicators are purged.

    A failing feed is logged and recorded (``soc intel list``) and tried again at its next turn; the
    other feeds are not held up. ``on_change`` (for instance the matcher's ``reload``) runs after a pass
    that changed the store.
    """

    def __init__(self, store: IndicatorStore, feeds: list[dict[str, Any]] | list[FeedConfig], *,
                 on_change: Callable[[], Any] | None = None, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        configs = [f for f in feeds if isinstance(f, FeedConfig)]
        raw = [f for f in feeds if not isinstance(f, FeedConfig)]
        self.feeds = configs + feed_configs(raw)  # raises FeedError naming a misconfigured feed
        self.on_change = on_change
        self.clock = clock
        self.next_due: dict[str, float] = {f.name: 0.0 for f in self.feeds if f.enabled}
        self.last: dict[str, dict[str, Any]] = {}
        self._loop = PeriodicThread("soc-intel", self.run_once)

    def run_once(self, now: float | None = None) -> list[dict[str, Any]]:
        """Pull the feeds that are due; returns their outcomes."""
        now = self.clock() if now is None else now
        results = []
        changed = False
        for f in self.feeds:
            if not f.enabled or self.next_due.get(f.name, 0.0) > now:
                continue
            res = pull_feed(self.store, f, now=datetime.fromtimestamp(now, UTC))
            self.next_due[f.name] = now + f.interval_minutes * 60
            self.last[f.name] = res
            results.append(res)
            changed = changed or bool(res.get("new") or res.get("updated"))
            if res["status"] == "failed":
                log.warning("feed %s failed: %s (next try in %s min)", f.name, res.get("error"), f.interval_minutes)
        purged = self.store.purge_expired(datetime.fromtimestamp(now, UTC))
        if (changed or purged) and self.on_change is not None:
            try:
                self.on_change()
            except Exception:
                log.exception("indicator reload after feed pull failed")
        return results

    def start(self, tick_seconds: float = 30.0) -> None:
        self._loop.start(tick_seconds)

    def stop(self, timeout: float = 10.0) -> None:
        self._loop.stop(timeout)
