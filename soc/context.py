"""The application context: the long-lived objects one process shares (state, stores, engines).

Built once by ``soc run`` (or a test) and handed to the API through ``app.state.ctx``;
CLI commands build one for the duration of the command.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from soc.config import Settings
from soc.inventory import Inventory, InventoryError
from soc.storage.events import EventStore, ParquetEventStore
from soc.storage.state import State

log = logging.getLogger("soc")


def make_event_store(settings: Settings) -> EventStore:
    if settings.storage.events_backend == "elasticsearch":
        from soc.storage.elastic import ElasticEventStore

        return ElasticEventStore(settings.storage.elasticsearch)
    return ParquetEventStore(settings.events_dir)


def load_inventory(settings: Settings, *, required: bool = False) -> Inventory:
    if not settings.inventory.exists() and not required:
        log.warning("inventory %s not found: events will not be attributed to agencies", settings.inventory)
        return Inventory.empty()
    return Inventory.load(settings.inventory)


@dataclass
class AppContext:
    settings: Settings
    state: State
    events: EventStore
    inventory: Inventory
    pipeline: Any = None
    ingest: Any = None
    sigma: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings) -> AppContext:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            inventory = load_inventory(settings)
        except InventoryError:
            raise
        return cls(settings=settings, state=State(settings.state_url), events=make_event_store(settings),
                   inventory=inventory)
