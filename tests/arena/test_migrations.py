"""Schema changes as migrations: a deployed database is upgraded in place with its votes, and the rating log the
leaderboard reads agrees with the votes themselves."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from arena import export, migrate
from arena.battle_io import battles_from_columns
from arena.schema import metadata
from arena.sessions import LabelingService, SessionConfig
from arena.store import ArenaStore
from tests.arena.conftest import database_url
from tests.arena.pools import ADMIN, make_pool

WINNER = {"left": 0, "right": 1, "both_good": 2, "both_bad": 3}


def _labelled(service: LabelingService, tmp_path: Path, votes: int = 40, seed: int = 3) -> str:
    """A pool session with gold and repeat checks, skips and two annotator groups, voted at random."""
    session = service.create_session(ADMIN, SessionConfig(name="Mig", gold_rate=0.2, repeat_rate=0.2,
                                                          overlap_rate=0.3, target_votes=10_000,
                                                          max_votes_per_minute=600))
    service.import_pool(ADMIN, session.id, make_pool(tmp_path / "pool", models=("alpha", "beta", "gamma", "delta")))
    rng = random.Random(seed)
    for k in range(votes):
        person = f"ann{k % 4}"
        served = service.next_battle(session.id, person, group="lab" if k % 2 else "crowd")
        if not served.battle_id:
            break
        service.vote(served.battle_id, person, rng.choice(["left", "right", "both_good", "both_bad", "skip"]))
    return session.id


def _reference(service: LabelingService, session_id: str, language: str = "all", group: str = "all"):
    """The board's input computed the slow, obvious way: from every battle row and its vote."""
    a, b, codes = [], [], []
    for row in service.store.battle_rows(session_id):
        if not export.countable(row) or row.get("excluded"):
            continue
        if language != "all" and row.get("language") != language:
            continue
        if group != "all" and row.get("group_name") != group:
            continue
        a.append(row["left_model"])
        b.append(row["right_model"])
        codes.append(WINNER[row["outcome"]])
    return battles_from_columns(a, b, np.array(codes, dtype=np.int8), np.ones(len(a), dtype=bool))


def _same(first, second) -> None:
    assert len(first) == len(second)
    names = lambda t, idx: [t.models[k] for k in idx]  # noqa: E731
    assert names(first, first.a) == names(second, second.a)
    assert names(first, first.b) == names(second, second.b)
    assert first.outcome.tolist() == second.outcome.tolist()


def test_the_rating_log_agrees_with_the_votes_in_every_slice(service: LabelingService, tmp_path: Path) -> None:
    session_id = _labelled(service, tmp_path)
    service.set_excluded(ADMIN, session_id, "ann3")
    for language, group in [("all", "all"), ("en", "all"), ("mixed", "lab"), ("all", "crowd")]:
        fast = service.battles_for_rating(session_id, language=language, group=group)
        _same(fast, _reference(service, session_id, language, group))
    assert 0 < len(service.battles_for_rating(session_id)) < 40  # checks, skips and ann3 left out, the rest kept


def test_a_failed_vote_leaves_no_rating_row(service: LabelingService, pool_session) -> None:
    served = service.next_battle(pool_session.id, "ann")
    service.vote(served.battle_id, "ann", "left")
    with pytest.raises(Exception, match="already has a different vote"):
        service.store.record_vote(service.store.battle(served.battle_id), "ann", "right", {}, 100)
    assert len(service.battles_for_rating(pool_session.id)) == 1


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_database_from_before_the_migrations_is_upgraded_in_place(kind: str, tmp_path: Path) -> None:
    url = database_url(kind, tmp_path)
    service = LabelingService(ArenaStore(url, tmp_path / "images"), b"k" * 32, ADMIN, rng=random.Random(1),
                              pool_roots=(tmp_path,))
    session_id = _labelled(service, tmp_path)
    before = service.leaderboard(session_id, bootstrap=0)[1]
    service.store.close()
    # 1. turn it into a database as the studio made it before migrations: tables only, no version, no rating log
    engine = create_engine(url)
    with engine.begin() as db:
        db.execute(text("DROP TABLE alembic_version"))
        db.execute(text("DROP TABLE rating_log"))
        db.execute(text("DROP TABLE session_models"))
        db.execute(text("DROP TABLE images"))
        db.execute(text("DROP TABLE secrets"))
        db.execute(text("ALTER TABLE annotators DROP COLUMN n_votes"))
    assert migrate.current(engine) is None
    engine.dispose()
    # 2. a new studio opens it: stamped, upgraded, the rating log backfilled from the stored votes
    store = ArenaStore(url, tmp_path / "images")
    assert migrate.current(store.engine) == "0005"
    service = LabelingService(store, b"k" * 32, ADMIN, rng=random.Random(1), pool_roots=(tmp_path,))
    after = service.leaderboard(session_id, bootstrap=0)[1]
    assert after["n_battles"] == before["n_battles"] > 0
    assert after["models"] == before["models"]
    _same(service.battles_for_rating(session_id), _reference(service, session_id))
    # 3. opening it again changes nothing
    store.close()
    again = ArenaStore(url, tmp_path / "images")
    assert migrate.current(again.engine) == "0005"
    assert len(LabelingService(again, b"k" * 32, ADMIN).battles_for_rating(session_id)) == after["n_battles"]
    again.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_migrations_build_exactly_the_schema_in_code(kind: str, tmp_path: Path) -> None:
    url = database_url(kind, tmp_path)
    store = ArenaStore(url, tmp_path / "images")
    with store.engine.connect() as db:
        differences = compare_metadata(MigrationContext.configure(db), metadata)
        tables = set(inspect(db).get_table_names())
    store.close()
    assert differences == []
    assert set(metadata.tables) | {"alembic_version"} == tables
