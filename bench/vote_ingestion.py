"""Vote ingestion: votes per second sustained by the studio's HTTP API (Gradio's REST endpoints /arena_next and
/arena_vote, one HTTP client per annotator, each vote acknowledged before the next) with 50 concurrent annotators,
and zero votes lost; the baseline is the same 50 threads calling the labeling service in-process (no HTTP, no
queue), measured in the same run.

    python bench/vote_ingestion.py [--annotators 50] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from gradio_client import Client

from arena.sessions import LabelingService, SessionConfig
from arena.store import ArenaStore
from tests.arena.pools import make_pool
from tests.e2e.conftest import ADMIN_PASSWORD, start_studio, stop_studio
from tests.e2e.test_arena_api import create_pool_session


def run_threads(annotators: int, seconds: float, work) -> list[str]:
    """Run ``work(i)`` (one battle: next + vote, returns the battle id) in a loop per annotator; acknowledged ids."""
    acknowledged: list[str] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def loop(i: int) -> None:
        state = {}
        while time.perf_counter() < deadline:
            battle = work(i, state)
            with lock:
                acknowledged.append(battle)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(annotators)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return acknowledged


def call(http: httpx.Client, url: str, name: str, data: list) -> list:
    """One call of a Gradio endpoint through its REST API: POST the inputs, read the result from the event stream."""
    posted = http.post(f"{url}/gradio_api/call/{name}", json={"data": data})
    posted.raise_for_status()
    stream = http.get(f"{url}/gradio_api/call/{name}/{posted.json()['event_id']}").text
    for block in stream.split("\n\n"):
        if block.startswith("event: complete"):
            return json.loads(block.split("data: ", 1)[1])
    raise RuntimeError(f"{name} failed: {stream[:300]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-votes-"))
    pool = make_pool(tmp / "pool", models=("alpha", "beta", "gamma", "delta"), items=200)

    # Baseline: the service in-process.
    service = LabelingService(ArenaStore(f"sqlite:///{tmp / 'direct.db'}", tmp / "direct-images"), b"k" * 32,
                              ADMIN_PASSWORD, rng=random.Random(0))
    config = SessionConfig(name="bench", gold_rate=0, repeat_rate=0, overlap_rate=0, target_votes=10**7,
                           max_votes_per_minute=600)
    session = service.create_session(ADMIN_PASSWORD, config).id
    service.import_pool(ADMIN_PASSWORD, session, pool)

    def direct(i: int, _state: dict) -> str:
        served = service.next_battle(session, f"annotator {i}")
        service.vote(served.battle_id, f"annotator {i}", "left")
        return served.battle_id

    started = time.perf_counter()
    direct_ids = run_threads(args.annotators, args.seconds, direct)
    direct_rate = len(direct_ids) / (time.perf_counter() - started)
    stored = {r["id"] for r in service.store.battle_rows(session) if r["outcome"]}
    print(f"direct (in-process): {len(direct_ids)} votes, {direct_rate:.1f} votes/s, "
          f"lost {len(set(direct_ids) - stored)}")

    # The studio's API.
    studio = start_studio(tmp / "data", tmp / "studio.log")
    try:
        admin = Client(studio.url, verbose=False)
        session = create_pool_session(admin, pool)
        clients = [httpx.Client(timeout=120) for _ in range(args.annotators)]

        def through_api(i: int, _state: dict) -> str:
            info = call(clients[i], studio.url, "arena_next", [session, f"annotator {i}", ""])[0]
            call(clients[i], studio.url, "arena_vote", [info["battle_id"], f"annotator {i}", "left", None])
            return info["battle_id"]

        started = time.perf_counter()
        api_ids = run_threads(args.annotators, args.seconds, through_api)
        api_rate = len(api_ids) / (time.perf_counter() - started)
    finally:
        stop_studio(studio)
    store = ArenaStore.open(tmp / "data")
    stored = {r["id"] for r in store.battle_rows(session) if r["outcome"]}
    store.close()
    lost = len(set(api_ids) - stored)
    print(f"API ({args.annotators} HTTP clients): {len(api_ids)} votes, {api_rate:.1f} votes/s "
          f"(each with its /arena_next), lost {lost}")
    print(f"ingestion ratio API/in-process = {api_rate / direct_rate:.2f}; zero lost: {lost == 0}")


if __name__ == "__main__":
    main()
