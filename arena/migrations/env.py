"""Alembic environment: migrations run on the connection ``arena.migrate.upgrade`` hands over (never a URL of
their own), with SQLite's batch mode so column changes work there too."""

from __future__ import annotations

from alembic import context

from arena.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
