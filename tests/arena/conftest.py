"""Fixtures for the labeling tests: a service over a fresh SQLite database, and a session filled from a pool."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from arena.sessions import LabelingService, SessionConfig
from arena.store import ArenaStore
from tests.arena.pools import ADMIN, make_pool


def reset_postgres(url: str) -> None:
    """A clean database: every table (the migrations' version table too) dropped, as on a new server."""
    engine = create_engine(url)
    with engine.begin() as db:
        db.execute(text("DROP SCHEMA public CASCADE"))
        db.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def database_url(kind: str, tmp_path: Path) -> str:
    """A fresh database of ``kind`` (``sqlite`` or ``postgresql``, the scratch one STUDIO_TEST_DATABASE_URL names,
    emptied); the test is skipped when there is none."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'arena.db'}"
    url = os.environ.get("STUDIO_TEST_DATABASE_URL", "")
    if not url:
        pytest.skip("set STUDIO_TEST_DATABASE_URL=postgresql+psycopg://... to run the store on PostgreSQL")
    reset_postgres(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> LabelingService:
    """The service on SQLite, and on PostgreSQL when STUDIO_TEST_DATABASE_URL names a scratch database."""
    store = ArenaStore(database_url(request.param, tmp_path), tmp_path / "images")
    yield LabelingService(store, b"k" * 32, ADMIN, rng=random.Random(7), pool_roots=(tmp_path,))
    store.close()


@pytest.fixture
def pool_session(service: LabelingService, tmp_path: Path):
    session = service.create_session(ADMIN, SessionConfig(name="Pool test", gold_rate=0.0, repeat_rate=0.0,
                                                           overlap_rate=0.0, target_votes=1000))
    service.import_pool(ADMIN, session.id, make_pool(tmp_path / "pool"))
    return service.store.session(session.id)
