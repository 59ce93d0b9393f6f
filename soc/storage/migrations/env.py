"""Alembic environment: runs on the connection handed over by ``soc.storage.state.migrate``."""

from __future__ import annotations

from alembic import context

from soc.storage import all_models

target_metadata = all_models().metadata  # type: ignore[attr-defined]
connection = context.config.attributes.get("connection")

if connection is None:  # `alembic` command line: build an engine from the ini's URL
    from sqlalchemy import create_engine

    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "sqlite:///data/state.db")
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
