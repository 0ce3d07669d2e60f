"""Labeling sessions end to end on the service: pool import, blind serving, voting rules, reveal, slices."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from arena.banded_png import BandedPng
from arena.media import degrade, served_copy
from arena.sessions import LabelingService, SessionConfig
from arena.store import ArenaStore
from backends.core.errors import InvalidInput
from tests.arena.pools import ADMIN, make_pool


def vote_all(service: LabelingService, session_id: str, annotator: str, choose, limit: int = 100) -> int:
    done = 0
    for _ in range(limit):
        served = service.next_battle(session_id, annotator)
        if not served.battle_id:
            break
        service.vote(served.battle_id, annotator, choose(served))
        done += 1
    return done


def test_pool_import_stores_items_and_models(service: LabelingService, pool_session) -> None:
    assert sorted(pool_session.models) == ["alpha", "beta", "gamma"]
    items = service.store.items(pool_session.id)
    assert len(items) == 6 and all(len(i["outputs"]) == 3 for i in items)
    assert {i["language"] for i in items} == {"en", "mixed"}


def test_served_battles_never_reveal_the_model(service: LabelingService, pool_session) -> None:
    served = service.next_battle(pool_session.id, "ann")
    public = json.dumps(served.public(), ensure_ascii=False)
    for model in ("alpha", "beta", "gamma"):
        assert model not in public
    for image in (served.left, served.right):
        assert image.info == {} and image.getexif() == {}
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        assert b"alpha" not in buffer.getvalue() and b"parameters" not in buffer.getvalue()
    assert served.left.size == served.right.size


def test_the_same_output_is_served_with_different_bytes(service: LabelingService, pool_session) -> None:
    image = Image.new("RGB", (40, 30), (10, 20, 30))
    banded = BandedPng(np.asarray(image))
    first, second = served_copy(banded), served_copy(banded)
    assert first.png_bytes != second.png_bytes
    assert not np.array_equal(np.asarray(first), np.asarray(second))
    assert np.abs(np.asarray(first, dtype=int) - np.asarray(image, dtype=int)).max() <= 1


def test_unvoted_battle_is_served_again(service: LabelingService, pool_session) -> None:
    first = service.next_battle(pool_session.id, "ann")
    again = service.next_battle(pool_session.id, "ann")
    assert first.battle_id == again.battle_id


def test_vote_rules(service: LabelingService, pool_session) -> None:
    served = service.next_battle(pool_session.id, "ann")
    with pytest.raises(InvalidInput, match="battle_id: this battle was not served to this annotator"):
        service.vote(served.battle_id, "someone else", "left")
    with pytest.raises(InvalidInput, match="outcome: 'sideways' is not one of"):
        service.vote(served.battle_id, "ann", "sideways")
    with pytest.raises(InvalidInput, match="criteria: 'vibes' is not a criterion"):
        service.vote(served.battle_id, "ann", "left", {"vibes": "left"})
    with pytest.raises(InvalidInput, match="criteria: aesthetics: 'A' is not one of"):
        service.vote(served.battle_id, "ann", "left", {"aesthetics": "A"})
    with pytest.raises(InvalidInput, match="battle_id: unknown battle"):
        service.vote("nope", "ann", "left")
    result = service.vote(served.battle_id, "ann", "left", '{"aesthetics": "right"}')
    assert result["recorded"] and result["criteria"] == {"aesthetics": "right"}
    battle = service.store.battle(served.battle_id)
    assert result["reveal"] == {"left": battle.left_model, "right": battle.right_model}
    with pytest.raises(InvalidInput, match="already has a different vote"):
        service.vote(served.battle_id, "ann", "right")
    assert service.store.vote_count(pool_session.id) == 1
    # the same vote again (a retry after a lost answer) is acknowledged again and stored once
    again = service.vote(served.battle_id, "ann", "left", '{"aesthetics": "right"}')
    assert again == result
    assert service.store.vote_count(pool_session.id) == 1 and len(service.battles_for_rating(pool_session.id)) == 1


def test_unknown_session_and_bad_annotator(service: LabelingService, pool_session) -> None:
    with pytest.raises(InvalidInput, match="session: unknown session 'nope'"):
        service.next_battle("nope", "ann")
    with pytest.raises(InvalidInput, match="annotator: enter a name"):
        service.next_battle(pool_session.id, "  ")


def test_annotators_are_stored_pseudonymously(service: LabelingService, pool_session) -> None:
    service.next_battle(pool_session.id, "Alice Example")
    stored = service.store.annotator_rows(pool_session.id)[0]["id"]
    assert "alice" not in stored.lower() and stored == service.pseudonym("alice example")
    if service.store.url.startswith("sqlite"):
        raw = Path(service.store.url.removeprefix("sqlite:///")).read_bytes()
        assert b"Alice" not in raw


def test_sides_are_randomised_and_pairs_balanced(service: LabelingService, pool_session) -> None:
    votes = vote_all(service, pool_session.id, "ann", lambda s: "left")
    assert votes == 18  # 6 items x 3 pairs, each once
    rows = service.store.battle_rows(pool_session.id)
    pairs = {}
    for row in rows:
        pairs.setdefault(tuple(sorted((row["left_model"], row["right_model"]))), []).append(row["left_model"])
    assert all(len(v) == 6 for v in pairs.values())
    lefts = [left for v in pairs.values() for left in v]
    assert 3 <= lefts.count("alpha") <= 9  # not always the same side
    assert service.next_battle(pool_session.id, "ann").message.startswith("you have judged every pair")


def test_reveal_after_session_and_never(service: LabelingService, tmp_path: Path) -> None:
    pool = make_pool(tmp_path / "p2", items=2)
    for policy in ("after_session", "never"):
        session = service.create_session(ADMIN, SessionConfig(name=policy, reveal=policy, gold_rate=0,
                                                               repeat_rate=0, target_votes=2))
        service.import_pool(ADMIN, session.id, pool)
        first = service.next_battle(session.id, "ann")
        assert service.vote(first.battle_id, "ann", "left")["reveal"] is None
        second = service.next_battle(session.id, "ann")
        last = service.vote(second.battle_id, "ann", "right")
        assert (last["reveal"] is not None) == (policy == "after_session")  # the target was just reached
        assert "target" in service.next_battle(session.id, "ann").message


def test_gold_and_repeat_battles(service: LabelingService, tmp_path: Path) -> None:
    session = service.create_session(ADMIN, SessionConfig(name="qa", gold_rate=0.3, repeat_rate=0.3,
                                                           target_votes=1000))
    service.import_pool(ADMIN, session.id, make_pool(tmp_path / "qa", items=8))
    kinds = []
    for _ in range(30):
        served = service.next_battle(session.id, "careful")
        battle = service.store.battle(served.battle_id)
        kinds.append(battle.kind)
        if battle.kind == "gold":
            assert battle.left_model == battle.right_model and battle.gold_answer in ("left", "right")
            sharp, blurry = (served.left, served.right) if battle.gold_answer == "left" else (served.right,
                                                                                               served.left)
            # The gold answer is the untouched output (up to the served copy's one-bit nonces); the other side is
            # a clearly degraded copy of the same output.
            stored = service.images.open(service.store.item(battle.item_id)["outputs"][battle.left_model])
            original = np.asarray(stored.convert("RGB").resize(sharp.size), float)
            assert np.abs(np.asarray(sharp, float) - original).mean() < 1.0
            assert np.abs(np.asarray(blurry, float) - original).mean() > 8.0
            outcome = battle.gold_answer
        elif battle.kind == "repeat":
            original = service.store.battle(battle.repeat_of)
            assert (battle.left_model, battle.right_model) == (original.right_model, original.left_model)
            outcome = "left" if battle.left_model == "alpha" else "right"
        else:
            outcome = "left" if battle.left_model == "alpha" else "right"
        service.vote(served.battle_id, "careful", outcome)
    assert "gold" in kinds and "repeat" in kinds and "normal" in kinds
    report = service.quality_report(session.id)["annotators"][0]
    assert report["gold_accuracy"] == 1.0 and not report["flagged"]
    # gold and repeats never reach the leaderboard
    battles = service.battles_for_rating(session.id)
    assert len(battles) == kinds.count("normal")


def test_pool_import_errors_leave_nothing_behind(service: LabelingService, tmp_path: Path) -> None:
    session = service.create_session(ADMIN, SessionConfig(name="broken"))
    missing = make_pool(tmp_path / "missing")
    (missing / "beta" / "it3.png").unlink()
    with pytest.raises(InvalidInput, match="folder: 1 image.s. missing, e.g. beta/it3"):
        service.import_pool(ADMIN, session.id, missing)
    corrupt = make_pool(tmp_path / "corrupt")
    (corrupt / "gamma" / "it2.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(InvalidInput, match="gamma/it2.png"):
        service.import_pool(ADMIN, session.id, corrupt)
    bad_line = make_pool(tmp_path / "badline")
    with (bad_line / "prompts.jsonl").open("a") as handle:
        handle.write("{not json\n")
    with pytest.raises(InvalidInput, match="prompts.jsonl: line 7 is not valid JSON"):
        service.import_pool(ADMIN, session.id, bad_line)
    with pytest.raises(InvalidInput, match="folder: .* is not a folder"):
        service.import_pool(ADMIN, session.id, tmp_path / "nope")
    assert service.store.items(session.id) == []
    service.import_pool(ADMIN, session.id, make_pool(tmp_path / "good"))
    with pytest.raises(InvalidInput, match="item_id: 'it0' is already in session"):
        service.import_pool(ADMIN, session.id, make_pool(tmp_path / "good2"))
    assert len(service.store.items(session.id)) == 6


def test_admin_actions_need_the_password(service: LabelingService, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="admin_password: wrong admin password"):
        service.create_session("guess", SessionConfig(name="x"))
    open_service = LabelingService(service.store, b"k" * 32, admin_password="")
    with pytest.raises(InvalidInput, match="STUDIO_ADMIN_PASSWORD"):
        open_service.create_session("", SessionConfig(name="x"))


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"name": " "}, "name: must not be empty"),
        ({"task": "music"}, "task: 'music'"),
        ({"reveal": "sometimes"}, "reveal:"),
        ({"outcomes": ("left",)}, "outcomes: must include left and right"),
        ({"gold_rate": 0.9}, "gold_rate: 0.9 is above the maximum 0.5"),
        ({"target_votes": 0}, "target_votes: 0 is below"),
        ({"criteria": ("Bad Name",)}, "criteria: 'Bad Name'"),
        ({"mode": "live", "models": ("a",)}, "models: a live session compares at least two"),
    ],
)
def test_session_config_validation(service: LabelingService, changes: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        service.create_session(ADMIN, SessionConfig(**{"name": "x", **changes}))


def test_rate_limit(service: LabelingService, tmp_path: Path) -> None:
    session = service.create_session(ADMIN, SessionConfig(name="fast", max_votes_per_minute=3, gold_rate=0,
                                                           repeat_rate=0))
    service.import_pool(ADMIN, session.id, make_pool(tmp_path / "fast"))
    for _ in range(3):
        service.vote(service.next_battle(session.id, "speedy").battle_id, "speedy", "left")
    served = service.next_battle(session.id, "speedy")
    with pytest.raises(InvalidInput, match="annotator: rate limit: at most 3 votes per minute"):
        service.vote(served.battle_id, "speedy", "left")
    service.vote(service.next_battle(session.id, "other").battle_id, "other", "left")  # others are unaffected


def test_leaderboard_slices_and_exclusion(service: LabelingService, pool_session) -> None:
    vote_all(service, pool_session.id, "fan of alpha", lambda s: "left" if service.store.battle(
        s.battle_id).left_model == "alpha" else "right")
    vote_all(service, pool_session.id, "left clicker", lambda s: "left")
    board, data = service.leaderboard(pool_session.id, bootstrap=50)
    assert data["models"][0]["model"] == "alpha" and data["n_battles"] == 36
    _, zh = service.leaderboard(pool_session.id, language="mixed", bootstrap=20)
    assert zh["n_battles"] == 18
    clicker = service.pseudonym("left clicker")
    service.set_excluded(ADMIN, pool_session.id, clicker, True)
    _, without = service.leaderboard(pool_session.id, bootstrap=20)
    assert without["n_battles"] == 18
    with pytest.raises(InvalidInput, match="criterion: 'vibes'"):
        service.leaderboard(pool_session.id, criterion="vibes")
    with pytest.raises(InvalidInput, match="ties: 'half'"):
        service.leaderboard(pool_session.id, ties="half")


def test_the_session_prior_setting_rates_a_model_that_never_lost(service: LabelingService, tmp_path: Path) -> None:
    """The same pool and the same votes (alpha always wins) in a session without a prior and one with it: only the
    prior gives alpha a rating, and it changes the others' too."""
    boards = {}
    for prior in (0.0, 5.0):
        session = service.create_session(ADMIN, SessionConfig(name=f"prior {prior}", gold_rate=0.0, repeat_rate=0.0,
                                                               overlap_rate=0.0, target_votes=1000, prior=prior,
                                                               max_votes_per_minute=100))
        service.import_pool(ADMIN, session.id, make_pool(tmp_path / f"pool-{prior}"))
        service.rng.seed(3)  # the same draws in both sessions
        vote_all(service, session.id, "fan of alpha", lambda served: alpha_or_left(service, served))
        boards[prior] = service.leaderboard(session.id, bootstrap=20)[1]
    plain, weak = ({r["model"]: r for r in boards[p]["models"]} for p in (0.0, 5.0))
    tallies = [{m: (r["wins"], r["losses"]) for m, r in board.items()} for board in (plain, weak)]
    assert tallies[0]["alpha"] == tallies[1]["alpha"] == (12, 0)
    assert plain["alpha"]["rating"] is None and "never lost" in plain["alpha"]["note"]
    assert boards[0.0]["prior"] == 0.0 and not any("virtual games" in w for w in boards[0.0]["warnings"])
    assert boards[5.0]["prior"] == 5.0 and any("prior of 5 virtual games" in w for w in boards[5.0]["warnings"])
    assert boards[5.0]["models"][0]["model"] == "alpha" and weak["alpha"]["rating"] > 1000
    for model in ("beta", "gamma"):  # rated either way, but on a scale the prior (and alpha on it) changes
        assert plain[model]["rating"] is not None and abs(plain[model]["rating"] - weak[model]["rating"]) > 1


def alpha_or_left(service: LabelingService, served) -> str:
    """A voter who always picks alpha, and the left image when alpha is not shown."""
    battle = service.store.battle(served.battle_id)
    return "right" if battle.right_model == "alpha" else "left"


def test_store_survives_reopening(service: LabelingService, pool_session, tmp_path: Path) -> None:
    served = service.next_battle(pool_session.id, "ann")
    service.vote(served.battle_id, "ann", "both_bad")
    service.store.close()
    reopened = ArenaStore(service.store.url, service.store.image_dir)
    assert reopened.vote_count(pool_session.id) == 1
    reopened.close()


def test_degrade_is_clearly_worse() -> None:
    image = Image.effect_noise((64, 64), 60).convert("RGB")
    worse = degrade(image, random.Random(0))
    assert worse.size == image.size
    assert np.abs(np.asarray(worse, float) - np.asarray(image, float)).mean() > 10
