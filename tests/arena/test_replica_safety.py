"""Two studio processes on one database behave as one: group commit keeps each write's fate its own, an annotator
never holds two open battles, the rate limit holds across replicas, and each sees the others' votes within a
second."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from arena import store as store_module
from arena.db import GroupCommit
from arena.schema import Battle, battles, secrets
from arena.sessions import LabelingService, SessionConfig
from arena.store import ArenaStore
from backends.core.errors import InvalidInput
from tests.arena.conftest import database_url
from tests.arena.pools import ADMIN, make_pool


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url(request.param, tmp_path)


def replicas(url: str, tmp_path: Path) -> tuple[LabelingService, LabelingService, str]:
    """Two services (as two studio replicas would have) on one database, and a pool session. On PostgreSQL each
    has its own image folder (images travel through the database); SQLite replicas share the host's folder."""
    shared = url.startswith("sqlite")
    one = LabelingService(ArenaStore(url, tmp_path / "one"), b"k" * 32, ADMIN, rng=random.Random(1),
                          pool_roots=(tmp_path,))
    two = LabelingService(ArenaStore(url, tmp_path / ("one" if shared else "two")), b"k" * 32, ADMIN,
                          rng=random.Random(2), pool_roots=(tmp_path,))
    session = one.create_session(ADMIN, SessionConfig(name="Replicas", gold_rate=0, repeat_rate=0, overlap_rate=0,
                                                      target_votes=10_000, max_votes_per_minute=5))
    one.import_pool(ADMIN, session.id, make_pool(tmp_path / "pool", items=8))
    return one, two, session.id


def test_group_commit_answers_after_commit_and_isolates_failures(tmp_path: Path) -> None:
    store = ArenaStore(f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "img")
    writer = GroupCommit(store.engine)
    results: dict[int, object] = {}

    def write(k: int) -> None:
        def work(db):
            if k == 3:
                db.execute(insert(secrets).values(name="s0", value=b"again"))  # a duplicate key: fails alone
            else:
                db.execute(insert(secrets).values(name=f"s{k}", value=b"x"))
            return k

        try:
            results[k] = writer.run(work)
        except Exception as error:  # the test looks at which error each caller got
            results[k] = error

    threads = [threading.Thread(target=write, args=(k,)) for k in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with store.engine.connect() as db:  # a separate connection sees every acknowledged write
        names = set(db.execute(select(secrets.c.name)).scalars())
    failed = {k for k, r in results.items() if isinstance(r, Exception)}
    assert failed <= {0, 3} and len(failed) == 1  # s0 written by one of the two, the other refused
    assert names == {f"s{k}" for k in range(12) if k != 3}
    assert writer.writes == 12 and writer.groups <= 12
    writer.close()
    store.close()


def test_a_failing_write_in_a_group_is_rolled_back_alone(url: str, tmp_path: Path) -> None:
    """A group runs without savepoints; one failing write makes it run again with each write isolated."""
    store = ArenaStore(url, tmp_path / "img")
    writer = GroupCommit(store.engine)
    calls: list[str] = []

    def work(name: str, value: bytes, fail: bool = False):
        def write(db):
            calls.append(name)
            db.execute(insert(secrets).values(name=name, value=value))
            if fail:
                raise InvalidInput("value", f"{name} refused after its insert")
            return name
        return write

    group = [(work("g1", b"a"), Future()), (work("g2", b"b", fail=True), Future()), (work("g3", b"c"), Future())]
    writer._commit(group)
    assert [f.result() for f in (group[0][1], group[2][1])] == ["g1", "g3"]
    with pytest.raises(InvalidInput, match="g2 refused"):
        group[1][1].result()
    assert calls == ["g1", "g2", "g1", "g2", "g3"]  # the optimistic run stopped at g2; then each write isolated
    alone = [(work("g4", b"d", fail=True), Future())]
    writer._commit(alone)
    with pytest.raises(InvalidInput, match="g4 refused"):
        alone[0][1].result()
    with store.engine.connect() as db:
        assert set(db.execute(select(secrets.c.name).where(secrets.c.name.like("g%"))).scalars()) == {"g1", "g3"}
    assert writer.groups == 1 and writer.writes == 4
    store.close()


def test_an_annotator_never_holds_two_open_battles_across_replicas(url: str, tmp_path: Path) -> None:
    one, two, session = replicas(url, tmp_path)
    first = one.next_battle(session, "ann")
    annotator = one.store.battle(first.battle_id).annotator_id
    # the other replica, asked at the same moment, plans a battle of its own: the store hands back the open one
    made = two._new_battle(two.store.session(session), annotator)
    assert made.id == first.battle_id
    assert two.next_battle(session, "ann").battle_id == first.battle_id
    one.store.close()
    two.store.close()


def test_the_rate_limit_holds_across_replicas(url: str, tmp_path: Path) -> None:
    one, two, session = replicas(url, tmp_path)  # at most 5 votes a minute
    for k in range(4):
        service = (one, two)[k % 2]
        served = service.next_battle(session, "ann")
        service.vote(served.battle_id, "ann", "left")
    template = one.store.battle(one.next_battle(session, "ann").battle_id)
    extra = [Battle(**{**template.__dict__, "id": f"extra{k}", "served_at": time.time()}) for k in range(6)]
    with one.store.transaction() as db:  # six more open battles of the same annotator
        for battle in extra:
            db.execute(insert(battles).values(**battle.__dict__))
    done, refused = [], []

    def vote(k: int) -> None:  # the 5th, 6th, ... votes arrive at once, through both replicas
        try:
            (one, two)[k % 2].store.record_vote(extra[k], template.annotator_id, "left", {}, 5)
            done.append(k)
        except InvalidInput as error:
            refused.append(str(error))

    threads = [threading.Thread(target=vote, args=(k,)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(done) == 1 and len(refused) == 5 and all("rate limit" in e for e in refused)
    assert one.store.vote_count(session, template.annotator_id) == 5
    one.store.close()
    two.store.close()


def test_a_replica_counts_its_own_votes_at_once_and_the_others_within_a_second(url: str, tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    one, two, session = replicas(url, tmp_path)
    clock = [1000.0]
    monkeypatch.setattr(store_module.time, "monotonic", lambda: clock[0])
    assert one.store.session_votes(session) == two.store.session_votes(session) == 0
    for service in (one, one, two):
        served = service.next_battle(session, "ann")
        answer = service.vote(served.battle_id, "ann", "left")
    assert answer["session_votes"] == 1  # replica two's own vote, its total read before replica one voted
    assert one.store.session_votes(session) == 2  # replica one's own votes, counted as they committed
    again = one.vote(served.battle_id, "ann", "left")  # a vote sent again is acknowledged, not counted again
    assert again["recorded"] and one.store.session_votes(session) == 2
    clock[0] += store_module.COUNTS_TTL  # a second later both read the counters again
    assert one.store.session_votes(session) == two.store.session_votes(session) == 3
    assert one.store.progress(session, one.annotator_id(one.store.session(session), "ann")) == (3, 3)
    one.store.close()
    two.store.close()
