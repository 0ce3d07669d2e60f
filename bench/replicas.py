"""Vote ingestion through nginx with one and with two studio replicas on one PostgreSQL database (deploy/).

50 annotators (one HTTP client each, keeping its route cookie) label a pool session for ``--seconds``: each vote
with its /arena_next and both image downloads, as in tests/deploy. Three runs, each on a fresh database: one
replica reached directly (the baseline), one replica behind nginx (what nginx costs), two replicas behind nginx
(what a second process brings). Every acknowledged vote is checked in the database (lost, duplicated).

Needs a PostgreSQL server (run it under scripts/with-postgres.sh, which sets STUDIO_TEST_DATABASE_URL) and nginx
(scripts/ensure-nginx.sh). On a 2-core machine the replicas, PostgreSQL, nginx and the 50 client threads share the
same two cores, so a second replica can only show what the one process left unused.

    scripts/with-postgres.sh .venv/bin/python bench/replicas.py [--annotators 50] [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from arena.store import ArenaStore
from tests.arena.pools import make_pool
from tests.deploy.annotators import Annotator
from tests.deploy.harness import (
    create_pool_session,
    nginx_binary,
    scratch_database,
    start_nginx,
    start_replicas,
    stop_nginx,
)
from tests.e2e.conftest import stop_studio


def measure(server: str, root: Path, pool: Path, replicas: int, nginx: bool, annotators: int,
            seconds: float) -> tuple[float, int, int, int]:
    """One run on a fresh database: votes/s acknowledged within ``seconds``, votes acknowledged, lost, duplicated."""
    with scratch_database(server) as url:
        studios = start_replicas(replicas, root, url, pool.parent)
        proxy = None
        try:
            if nginx:
                proxy = start_nginx([int(studio.url.rsplit(":", 1)[1]) for studio in studios])
            base = proxy.url if proxy else studios[0].url
            with httpx.Client(base_url=base, timeout=60) as admin:
                session = create_pool_session(admin, pool)
            crowd = [Annotator(i, base, session) for i in range(annotators)]
            stop = threading.Event()
            threads = [threading.Thread(target=a.run, args=(stop,), daemon=True) for a in crowd]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            time.sleep(seconds)
            stop.set()
            for thread in threads:
                thread.join(timeout=120)
        finally:
            if proxy is not None:
                stop_nginx(proxy)
            for studio in studios:
                stop_studio(studio)
        failures = [a.failure for a in crowd if a.failure]
        if failures:
            raise RuntimeError(f"{len(failures)} annotators failed, e.g. {failures[0]}")
        acks = {ack.battle_id: ack.outcome for a in crowd for ack in a.acks}
        in_window = sum(ack.at <= started + seconds for a in crowd for ack in a.acks)
        store = ArenaStore(url, root / "check-images")
        try:
            stored = {row["id"]: row["outcome"] for row in store.battle_rows(session) if row["outcome"] is not None}
        finally:
            store.close()
    lost = sum(stored.get(battle) != outcome for battle, outcome in acks.items())
    duplicated = sum(len(a.acks) for a in crowd) - len(acks) + len(set(stored) - set(acks))
    return in_window / seconds, len(acks), lost, duplicated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    server = os.environ.get("STUDIO_TEST_DATABASE_URL", "")
    if not server or nginx_binary() is None:
        print("skipped: needs PostgreSQL (run under scripts/with-postgres.sh) and nginx (scripts/ensure-nginx.sh)")
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
    pool = make_pool(tmp / "pool", models=("alpha", "beta", "gamma", "delta"), items=40)
    runs = {}
    try:
        for label, replicas, nginx in (("1 replica, direct", 1, False), ("1 replica behind nginx", 1, True),
                                       ("2 replicas behind nginx", 2, True)):
            rate, votes, lost, duplicated = measure(server, tmp / label.replace(" ", "-").replace(",", ""), pool,
                                                    replicas, nginx, args.annotators, args.seconds)
            runs[label] = rate
            print(f"{label}: {rate:.1f} votes/s ({votes} votes acknowledged, lost {lost}, duplicated {duplicated})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    direct, one, two = runs.values()
    print(f"nginx / direct (1 replica) = {one / direct:.2f}; 2 replicas / 1 replica (both behind nginx) = "
          f"{two / one:.2f}")


if __name__ == "__main__":
    main()
