"""Blind labeling through the public API against ``python app.py``: sessions, pools, battles, votes, leaderboard,
identity leaks, 50 annotators at once, and votes surviving a SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from PIL import Image

from arena.store import ArenaStore
from tests.arena.pools import make_pool
from tests.e2e.conftest import ADMIN_PASSWORD, start_studio, stop_studio

pytestmark = pytest.mark.e2e
MODELS = ("alpha", "beta", "gamma")


def create_pool_session(client: Client, folder: Path, **config) -> str:
    fields = dict(admin_password=ADMIN_PASSWORD, name="e2e pool", task="t2i", mode="pool", models=[],
                  criteria="aesthetics, prompt_following", outcomes=["left", "right", "both_good", "both_bad", "skip"],
                  reveal="after_vote", gold_rate=0.0, repeat_rate=0.0, overlap_rate=0.0, target_votes=100000,
                  min_votes=5, prompts="", seed=0, width=512, height=512, steps=None)
    fields.update(config)
    created = client.predict(**fields, api_name="/arena_create_session")
    client.predict(admin_password=ADMIN_PASSWORD, session=created["session"], folder=str(folder),
                   api_name="/arena_import_pool")
    return created["session"]


@pytest.fixture(scope="module")
def client(studio) -> Client:
    return Client(studio.url, verbose=False)


@pytest.fixture(scope="module")
def session(client: Client, tmp_path_factory) -> str:
    return create_pool_session(client, make_pool(tmp_path_factory.mktemp("pool") / "p", items=10))


def test_next_and_vote_leak_no_identity(client: Client, session: str) -> None:
    info, left, right, input_image = client.predict(session=session, annotator="Leak Tester", group="",
                                                    api_name="/arena_next")
    assert input_image is None and info["battle_id"] and info["prompt"]
    text = json.dumps(info)
    for model in MODELS:
        assert model not in text and model not in Path(left).name and model not in Path(right).name
    for path in (left, right):
        image = Image.open(path)
        assert image.format == "PNG" and not image.text and not image.getexif()
        assert b"alpha" not in Path(path).read_bytes() and b"parameters" not in Path(path).read_bytes()
    assert Image.open(left).size == Image.open(right).size
    result = client.predict(battle_id=info["battle_id"], annotator="Leak Tester", outcome="left",
                            criteria={"aesthetics": "right"}, api_name="/arena_vote")
    assert result["recorded"] and set(result["reveal"]) == {"left", "right"}
    assert set(result["reveal"].values()) <= set(MODELS)


def test_the_same_output_is_never_served_under_the_same_name(client: Client, session: str) -> None:
    names = set()
    for i in range(2):
        info, left, right, _ = client.predict(session=session, annotator=f"repeat viewer {i}", group="",
                                              api_name="/arena_next")
        names |= {Path(left).parent.name, Path(right).parent.name}
    assert len(names) == 4  # content-hash folders differ even if the same output was shown twice


@pytest.mark.parametrize(
    "call, message",
    [
        (dict(api_name="/arena_next", session="no-such-session", annotator="x", group=""), "unknown session"),
        (dict(api_name="/arena_next", session="{session}", annotator="", group=""), "annotator: enter a name"),
        (dict(api_name="/arena_vote", battle_id="nope", annotator="x", outcome="left", criteria=None),
         "unknown battle"),
    ],
)
def test_bad_requests(client: Client, session: str, call: dict, message: str) -> None:
    call = {k: (v.format(session=session) if isinstance(v, str) else v) for k, v in call.items()}
    with pytest.raises(AppError, match=message):
        client.predict(**call)


def test_vote_rules_through_the_api(client: Client, session: str) -> None:
    info, *_ = client.predict(session=session, annotator="rule tester", group="", api_name="/arena_next")
    battle = info["battle_id"]
    with pytest.raises(AppError, match="not served to this annotator"):
        client.predict(battle_id=battle, annotator="intruder", outcome="left", criteria=None, api_name="/arena_vote")
    with pytest.raises(AppError, match="outcome: 'maybe'"):
        client.predict(battle_id=battle, annotator="rule tester", outcome="maybe", criteria=None,
                       api_name="/arena_vote")
    first = client.predict(battle_id=battle, annotator="rule tester", outcome="both_bad", criteria=None,
                           api_name="/arena_vote")
    retried = client.predict(battle_id=battle, annotator="rule tester", outcome="both_bad", criteria=None,
                             api_name="/arena_vote")
    assert retried == first  # a retry is acknowledged again, not refused
    with pytest.raises(AppError, match="already has a different vote"):
        client.predict(battle_id=battle, annotator="rule tester", outcome="left", criteria=None,
                       api_name="/arena_vote")


def test_admin_actions_need_the_password(client: Client, session: str, tmp_path: Path) -> None:
    with pytest.raises(AppError, match="wrong admin password"):
        client.predict(admin_password="guess", session=session, folder=str(tmp_path), api_name="/arena_import_pool")
    broken = make_pool(tmp_path / "broken")
    (broken / "gamma" / "it1.png").unlink()
    other = client.predict(admin_password=ADMIN_PASSWORD, name="broken", task="t2i", mode="pool", models=[],
                           criteria="", outcomes=["left", "right"], reveal="never", gold_rate=0, repeat_rate=0,
                           overlap_rate=0, target_votes=10, min_votes=1, prompts="", seed=0, width=512, height=512,
                           steps=None, api_name="/arena_create_session")["session"]
    with pytest.raises(AppError, match="missing, e.g. gamma/it1"):
        client.predict(admin_password=ADMIN_PASSWORD, session=other, folder=str(broken),
                       api_name="/arena_import_pool")


def test_fifty_annotators_at_once_every_vote_stored_once(client: Client, session: str, studio) -> None:
    def label(i: int) -> list[str]:
        # One client per annotator, as in real life (a single gradio_client shared by 50 threads drops streams).
        # Fifty clients reading the API description at once on a busy 2-core machine outlast httpx's default 5 s
        # timeout; what is tested is the votes, so the clients may wait.
        own = Client(studio.url, verbose=False, httpx_kwargs={"timeout": 120})
        done = []
        for _ in range(3):
            info, *_ = own.predict(session=session, annotator=f"crowd {i}", group="crowd", api_name="/arena_next")
            own.predict(battle_id=info["battle_id"], annotator=f"crowd {i}", outcome="left" if i % 2 else "right",
                        criteria=None, api_name="/arena_vote")
            done.append(info["battle_id"])
        return done

    with ThreadPoolExecutor(max_workers=50) as pool:
        acknowledged = [b for batch in pool.map(label, range(50)) for b in batch]
    assert len(acknowledged) == len(set(acknowledged)) == 150
    store = ArenaStore.open(studio.data_dir)
    rows = [r for r in store.battle_rows(session) if r["id"] in set(acknowledged)]
    store.close()
    assert len(rows) == 150 and all(r["outcome"] in ("left", "right") for r in rows)
    board = client.predict(session=session, ties="davidson", criterion="overall", language="all", group="crowd",
                           exclude_flagged=False, bootstrap=20, seed=0, ci="bootstrap", api_name="/leaderboard")
    assert board["n_battles"] == 150 and {m["model"] for m in board["models"]} == set(MODELS)
    assert all({"rating", "ci_low", "ci_high", "rank_ub", "votes"} <= set(m) for m in board["models"])


def test_leaderboard_api_defaults_and_errors(client: Client, session: str) -> None:
    board = client.predict(session=session, api_name="/leaderboard")
    assert board["ties"] == "davidson" and board["models"]
    fastchat = client.predict(session=session, ties="fastchat", api_name="/leaderboard")
    assert fastchat["ties"] == "fastchat"
    with pytest.raises(AppError, match="criterion: 'vibes'"):
        client.predict(session=session, criterion="vibes", api_name="/leaderboard")


def test_acknowledged_votes_survive_sigkill(tmp_path: Path) -> None:
    studio = start_studio(tmp_path / "data", tmp_path / "studio.log", {"STUDIO_INPUT_ROOTS": str(tmp_path)})
    acknowledged: list[str] = []
    try:
        client = Client(studio.url, verbose=False)
        session = create_pool_session(client, make_pool(tmp_path / "pool", items=20))
        stop = threading.Event()

        def vote_forever(i: int) -> None:
            while not stop.is_set():
                try:
                    info, *_ = client.predict(session=session, annotator=f"k{i}", group="", api_name="/arena_next")
                    client.predict(battle_id=info["battle_id"], annotator=f"k{i}", outcome="left", criteria=None,
                                   api_name="/arena_vote")
                except Exception:  # the server died under us: stop, keeping what was acknowledged
                    return
                acknowledged.append(info["battle_id"])

        threads = [threading.Thread(target=vote_forever, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        while len(acknowledged) < 12:
            threading.Event().wait(0.05)
        os.killpg(studio.process.pid, signal.SIGKILL)
        studio.process.wait(timeout=10)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        stop_studio(studio)
    store = ArenaStore.open(tmp_path / "data")
    voted = {r["id"] for r in store.battle_rows(session) if r["outcome"] is not None}
    store.close()
    assert len(acknowledged) >= 12 and set(acknowledged) <= voted
