"""A ``soc run``-like process for the durability test: real state, Parquet store, empty inventory, no detectors.

Usage: python -m tests.transports.service_main CONFIG.toml  (prints READY when listening)
"""

from __future__ import annotations

import logging
import sys
import time

from connectors.runner import IngestService
from soc.config import load_config
from soc.inventory import Inventory
from soc.pipeline import Pipeline
from soc.storage.events import ParquetEventStore
from soc.storage.state import State


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    settings = load_config(sys.argv[1], environ={})
    state = State(settings.state_url)
    pipe = Pipeline(state=state, events=ParquetEventStore(settings.events_dir), inventory=Inventory.empty(),
                    detectors=[])
    svc = IngestService(settings, pipe, state)
    svc.start()
    print("READY", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
