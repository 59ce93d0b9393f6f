"""The Alembic migrations create exactly the tables the models describe (no drift)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from soc.storage import all_models
from soc.storage.state import State


def test_migrations_match_models(tmp_path: Path) -> None:
    state = State(f"sqlite:///{tmp_path / 'state.db'}")
    with state.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), all_models().metadata)
    # Index naming differences are not schema drift; tables and columns are.
    real = [d for d in diff if not (isinstance(d, tuple) and d[0] in ("add_index", "remove_index"))]
    assert real == [], f"models and migrations differ: {real}"


def test_migrations_are_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    State(url).dispose()
    State(url).dispose()  # a second start upgrades nothing and fails on nothing
