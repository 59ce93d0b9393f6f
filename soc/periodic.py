"""A background thread that runs one pass of some work every N seconds until stopped.

Used by the outbox worker and the threat-intelligence scheduler: a failing pass is
logged and the next one runs on time, so one bad feed or mail server never stops the loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("soc")


class PeriodicThread:
    def __init__(self, name: str, run_once: Callable[[], Any]) -> None:
        self.name = name
        self.run_once = run_once
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, every_seconds: float) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.run_once()
                except Exception:
                    log.exception("%s pass failed; the next one runs in %.0f s", self.name, every_seconds)
                self._stop.wait(every_seconds)

        self._thread = threading.Thread(target=loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
