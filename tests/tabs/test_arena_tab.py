"""The labeling tab's handlers without a browser: a vote keeps the voted pair with its names and waits for Next,
finished and empty sessions disable voting and say why, and the end shows the annotator's own figures."""

from __future__ import annotations

import random
from pathlib import Path

import gradio as gr
import pytest

from arena.sessions import LabelingService, SessionConfig
from arena.store import ArenaStore
from backends.core.errors import InvalidInput
from tabs import arena as tab
from tabs.common import AppContext, make_i18n
from tests.arena.pools import ADMIN, make_pool

N_RADIOS = tab.MAX_CRITERIA
N_BUTTONS = len(tab.OUTCOME_BUTTONS)


@pytest.fixture
def ctx(tiny_settings, registry, tmp_path: Path) -> AppContext:
    store = ArenaStore(f"sqlite:///{tmp_path / 'arena.db'}", tmp_path / "images")
    service = LabelingService(store, b"k" * 32, ADMIN, rng=random.Random(3), pool_roots=(tmp_path,))
    yield AppContext(tiny_settings, registry, None, make_i18n(), arena=service)
    store.close()


def pool_session(ctx: AppContext, tmp_path: Path, items: int = 2, **config) -> str:
    options = dict(name="Tab test", gold_rate=0.0, repeat_rate=0.0, overlap_rate=0.0, target_votes=100)
    options.update(config)
    session = ctx.arena.create_session(ADMIN, SessionConfig(**options))
    ctx.arena.import_pool(ADMIN, session.id, make_pool(tmp_path / f"pool-{session.id}", items=items))
    return session.id


def unpack(shown: list) -> dict:
    """The outputs of Start/Next by name (see tabs.arena.build: ``shown``)."""
    reveal, battle_id, prompt, progress, left, right, input_image, names = shown[:8]
    radios = shown[8:8 + N_RADIOS]
    buttons = shown[8 + N_RADIOS:8 + N_RADIOS + N_BUTTONS]
    return {"reveal": reveal, "battle_id": battle_id, "prompt": prompt, "progress": progress, "left": left,
            "right": right, "buttons": buttons, "next": shown[-1], "radios": radios, "names": names}


def test_a_vote_reveals_the_pair_it_was_cast_on_and_waits_for_next(ctx: AppContext, tmp_path: Path) -> None:
    session = pool_session(ctx, tmp_path)
    shown = unpack(tab.next_from_form(ctx, session, "ann", "", None))
    assert shown["battle_id"] and "Prompt:" in shown["prompt"] and "Pairs left for you: **5**" in shown["progress"]
    assert all(b.interactive for b in shown["buttons"]) and shown["next"].interactive is False
    voted = tab.vote_from_form(ctx, "left", session, "ann", shown["battle_id"], shown["names"], None,
                               *[None] * N_RADIOS)
    reveal, progress, left, right = voted[:4]
    buttons, following = voted[4 + N_RADIOS:-1], voted[-1]
    assert "Vote recorded. A was **" in reveal and "Next pair" in reveal
    assert left.label.startswith("A · ") and "arena-picked" in left.elem_classes and "You picked A." in reveal
    assert right.label.startswith("B · ") and "arena-picked" not in right.elem_classes
    assert {left.label.split(" · ")[1], right.label.split(" · ")[1]} <= {"alpha", "beta", "gamma"}
    assert all(b.interactive is False for b in buttons) and following.interactive is True
    assert "your votes: 1" in progress


def test_hidden_reveal_policy_keeps_names_off_the_pair(ctx: AppContext, tmp_path: Path) -> None:
    session = pool_session(ctx, tmp_path, reveal="never")
    shown = unpack(tab.next_from_form(ctx, session, "ann", "", None))
    voted = tab.vote_from_form(ctx, "right", session, "ann", shown["battle_id"], shown["names"], None,
                               *[None] * N_RADIOS)
    assert "does not reveal" in voted[0]
    assert voted[2].label == "A" and voted[3].label == "B" and "You picked B." in voted[0]


def test_the_end_disables_voting_thanks_and_shows_own_figures(ctx: AppContext, tmp_path: Path) -> None:
    session = pool_session(ctx, tmp_path, items=1)  # 3 pairs
    for _ in range(3):
        shown = unpack(tab.next_from_form(ctx, session, "ann", "", None))
        tab.vote_from_form(ctx, "left", session, "ann", shown["battle_id"], shown["names"], None,
                           *[None] * N_RADIOS)
    end = unpack(tab.next_from_form(ctx, session, "ann", "", None))
    assert end["battle_id"] == "" and end["left"].value is None
    assert "You have judged every pair" in end["prompt"] and "Thank you!" in end["prompt"]
    assert "You cast 3 votes: 3 for one side" in end["prompt"] and "preferred most often" in end["prompt"]
    assert all(b.interactive is False for b in end["buttons"]) and end["next"].interactive is False


def test_an_empty_or_closed_session_says_why_instead_of_judged_every_pair(ctx: AppContext) -> None:
    empty = ctx.arena.create_session(ADMIN, SessionConfig(name="Nothing yet"))
    shown = unpack(tab.next_from_form(ctx, empty.id, "newcomer", "", None))
    assert "no pairs yet" in shown["prompt"] and "judged every pair" not in shown["prompt"]
    assert all(b.interactive is False for b in shown["buttons"])
    ctx.arena.close_session(ADMIN, empty.id)
    assert "closed" in unpack(tab.next_from_form(ctx, empty.id, "newcomer", "", None))["prompt"]


def test_start_needs_a_session_and_a_name(ctx: AppContext, tmp_path: Path) -> None:
    with pytest.raises(gr.Error, match="session: choose a session first"):
        tab.next_from_form(ctx, None, "ann", "", None)
    session = pool_session(ctx, tmp_path)
    assert tab.start_gate(ctx, None, "ann").interactive is False
    assert tab.start_gate(ctx, session, "  ").interactive is False
    assert tab.start_gate(ctx, session, "ann").interactive is True
    assert tab.start_gate(ctx, "no-such-session", "ann").interactive is False


def test_a_vote_with_no_pair_on_screen_is_refused_clearly(ctx: AppContext, tmp_path: Path) -> None:
    session = pool_session(ctx, tmp_path)
    with pytest.raises(gr.Error, match="there is no pair on screen"):
        tab.vote_from_form(ctx, "left", session, "ann", "", [], None, *[None] * N_RADIOS)
    with pytest.raises(InvalidInput):  # the service itself still refuses an unknown battle
        ctx.arena.vote("", "ann", "left")
