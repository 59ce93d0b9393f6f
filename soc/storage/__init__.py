"""Storage: events (Parquet/DuckDB or Elasticsearch) and state (SQLite/PostgreSQL via SQLAlchemy)."""

from __future__ import annotations

import importlib
from types import ModuleType

#: Modules that define tables on ``soc.storage.models.Base``; imported before migrating.
MODEL_MODULES = ("soc.storage.models", "soc.auth", "soc.incidents.models", "soc.sharing.models", "soc.web.models",
                 "connectors.models")


def all_models() -> type:
    """Import every model module that exists and return the declarative ``Base``."""
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
    base: ModuleType = importlib.import_module("soc.storage.models")
    return base.Base  # type: ignore[no-any-return]
