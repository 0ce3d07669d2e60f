"""Two studio replicas behind nginx (deploy/nginx/studio.conf) on one PostgreSQL database: 50 annotators label
through nginx, one replica is SIGKILLed mid-run, and nothing acknowledged is lost or stored twice, the annotators of
the dead replica carry on through the other, and the leaderboard counts exactly the acknowledged votes.

Needs the scratch PostgreSQL server of ``scripts/with-postgres.sh`` (STUDIO_TEST_DATABASE_URL) and Debian's nginx
(``scripts/ensure-nginx.sh``); skipped, saying which is missing, without them.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from arena.store import COUNTS_TTL, ArenaStore
from tests.arena.pools import make_pool
from tests.deploy.annotators import Annotator
from tests.deploy.harness import (
    Nginx,
    call,
    create_pool_session,
    nginx_binary,
    scratch_database,
    start_nginx,
    start_replicas,
    stop_nginx,
)
from tests.e2e.conftest import Studio, stop_studio

pytestmark = pytest.mark.e2e
ANNOTATORS = 50
RUN_SECONDS = 24.0  # at least; longer if the machine is too busy for every annotator to vote after the kill
KILL_AFTER = 8.0  # seconds into the run, at the earliest
PHASE_LIMIT = 120.0  # seconds either phase may take on a very busy machine before the test gives up
KILLED = 0  # the replica that dies


@dataclass
class Deployment:
    replicas: list[Studio]
    nginx: Nginx
    database_url: str
    pool: Path


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    server = os.environ.get("STUDIO_TEST_DATABASE_URL", "")
    if not server:
        pytest.skip("no scratch PostgreSQL: run under scripts/with-postgres.sh (it sets STUDIO_TEST_DATABASE_URL)")
    if nginx_binary() is None:
        pytest.skip("nginx is not installed: scripts/ensure-nginx.sh installs Debian's package (as root)")
    pool = make_pool(tmp_path / "pool", models=("alpha", "beta", "gamma", "delta"), items=20)
    with scratch_database(server) as url:
        replicas = start_replicas(2, tmp_path, url, tmp_path)
        nginx = None
        try:
            nginx = start_nginx([int(studio.url.rsplit(":", 1)[1]) for studio in replicas])
            yield Deployment(replicas, nginx, url, pool)
        finally:
            if nginx is not None:
                stop_nginx(nginx)
            for studio in replicas:
                stop_studio(studio)


def wait_until(condition: Callable[[], bool], what: str, annotators: list[Annotator]) -> None:
    """Poll ``condition``; fail naming ``what`` after PHASE_LIMIT seconds or as soon as an annotator failed."""
    deadline = time.monotonic() + PHASE_LIMIT
    while not condition():
        failed = [a.failure for a in annotators if a.failure]
        assert not failed, failed[:5]
        assert time.monotonic() < deadline, f"not within {PHASE_LIMIT:g} s: {what}"
        time.sleep(0.1)


def test_fifty_annotators_through_nginx_survive_a_dead_replica(deployment: Deployment, tmp_path: Path) -> None:
    base = deployment.nginx.url
    with httpx.Client(base_url=base, timeout=60) as admin:
        page = admin.get("/")
        assert page.status_code == 200 and "<html" in page.text.lower()
        route = admin.cookies.get("studio_route")
        assert route, "nginx set no route cookie"
        session = create_pool_session(admin, deployment.pool)
        assert admin.cookies.get("studio_route") == route, "the route cookie changed within one client"

    # 1. label through nginx; once every annotator has voted (so each is pinned to a replica), kill one replica
    # (its whole process group, SIGKILL); go on until everyone has voted on a battle served after the kill
    annotators = [Annotator(i, base, session) for i in range(ANNOTATORS)]
    stop, dead = threading.Event(), threading.Event()
    started = time.monotonic()
    threads = [threading.Thread(target=a.run, args=(stop, dead, KILLED), daemon=True) for a in annotators]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: time.monotonic() - started >= KILL_AFTER and all(a.acks for a in annotators),
                   "every annotator voted once", annotators)
        victim = deployment.replicas[KILLED].process
        dead.set()  # from now on, images that replica served may be gone
        killed_at = time.monotonic()
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        died_at = time.monotonic()  # anything served after this came from the live replica
        wait_until(lambda: time.monotonic() - started >= RUN_SECONDS
                   and all(any(ack.served_at > died_at for ack in a.acks) for a in annotators),
                   "every annotator voted on a battle served after the kill", annotators)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=90)
    assert not any(thread.is_alive() for thread in threads), "annotators still running 90 s after the end"
    elapsed = time.monotonic() - started
    failures = [a.failure for a in annotators if a.failure]
    assert not failures, failures[:5]
    acks = [ack for a in annotators for ack in a.acks]
    before = [ack for ack in acks if ack.at < killed_at]

    # 2. sticky: before the kill every call was answered (a POST and its event stream on two replicas would not be);
    # both replicas took annotators; those of the dead one carried on through the other
    assert not [a.name for a in annotators if any(t < killed_at for t in a.no_answers)]
    pinned = {a.index: {r for t, r in a.served if t < killed_at} for a in annotators}
    moved = [a for a in annotators if pinned[a.index] == {KILLED}]
    stayed = [a for a in annotators if pinned[a.index] == {1 - KILLED}]
    assert moved and stayed, f"annotators per replica before the kill: {Counter(map(frozenset, pinned.values()))}"
    for annotator in moved:
        served_later = {replica for t, replica in annotator.served if t > died_at}
        assert served_later == {1 - KILLED}, (annotator.name, annotator.served)
        assert any(ack.served_at > died_at and ack.replica == 1 - KILLED for ack in annotator.acks), annotator.name

    # 3. the database holds every acknowledged vote once, and nothing else: no lost vote, no duplicate, no battle
    # left unvoted by a retried /arena_next
    acknowledged = {ack.battle_id: ack.outcome for ack in acks}
    assert len(acknowledged) == len(acks), "a battle was acknowledged as two votes"
    store = ArenaStore(deployment.database_url, tmp_path / "check-images")
    try:
        rows = store.battle_rows(session)
    finally:
        store.close()
    stored = {row["id"]: row["outcome"] for row in rows if row["outcome"] is not None}
    lost = {b: o for b, o in acknowledged.items() if stored.get(b) != o}
    assert not lost, f"{len(lost)} acknowledged votes are not stored as acknowledged"
    assert stored == acknowledged, f"{len(set(stored) - set(acknowledged))} stored votes were never acknowledged"
    assert len(rows) == len(stored), "battles were served that nobody voted on"

    # 4. a re-sent vote, now through the surviving replica, is acknowledged again and stored once
    first = moved[0].acks[0]  # stored by the replica that died
    time.sleep(COUNTS_TTL)  # a replica's session total includes the other replicas' votes within this time
    with httpx.Client(base_url=base, timeout=60) as late:
        again = call(late, "arena_vote", [first.battle_id, moved[0].name, first.outcome, None])[0]
        assert again["recorded"] and again["battle_id"] == first.battle_id
        # 5. the leaderboard through nginx counts exactly the acknowledged countable votes
        board = call(late, "leaderboard", [session, "davidson", "overall", "all", "all", False, 20, 0,
                                           "bootstrap"])[0]
    countable = sum(outcome != "skip" for outcome in acknowledged.values())
    assert again["session_votes"] == len(acknowledged)
    assert board["n_battles"] == countable
    assert {m["model"] for m in board["models"]} == {"alpha", "beta", "gamma", "delta"}

    after = len(acks) - len(before)
    print(f"\nreplicas: {len(acks)} votes acknowledged ({len(before)} before the kill, {after} after), 0 lost, "
          f"0 duplicated, {len(acks) / elapsed:.1f} votes/s through nginx in {elapsed:.1f} s; {len(moved)} of "
          f"{ANNOTATORS} annotators moved to the live replica; {sum(map(len, (a.no_answers for a in annotators)))} "
          f"calls sent again after no answer, {sum(a.rate_limited for a in annotators)} rate-limited")
