"""Schema changes as Alembic migrations: a deployed database is upgraded in place, never recreated.

``ArenaStore`` calls :func:`upgrade` when it opens a database. A database made by a studio from before the
migrations (its tables created straight from the schema) is first stamped with the revision its tables match, then
upgraded like any other. Replicas starting at once take turns: PostgreSQL under an advisory lock, SQLite under its
write lock.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
LOCK_ID = 718_281_828  # the advisory lock replicas queue on while one of them migrates


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``, by default the latest (creating it when empty)."""
    from alembic import command

    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": LOCK_ID})
        config.attributes["connection"] = connection
        tables = set(inspect(connection).get_table_names())
        if "alembic_version" not in tables and "sessions" in tables:
            command.stamp(config, "0002" if "admin_audit" in tables else "0001")
        command.upgrade(config, revision)


def alembic_config() -> Any:
    """Alembic's configuration for the store's migrations (the connection goes in ``attributes["connection"]``)."""
    from alembic.config import Config

    logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines on every start-up say nothing useful
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def current(engine: Engine) -> str | None:
    """The database's revision (None for an empty database)."""
    with engine.connect() as connection:
        if "alembic_version" not in inspect(connection).get_table_names():
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
