"""Live labeling sessions: both sides generated now by registry models (tiny profile), same seed and size."""

from __future__ import annotations

import pytest

from app import ExecutorGenerator
from arena.sessions import LabelingService, SessionConfig
from backends.core.errors import InvalidInput
from backends.models.cache import ModelCache
from backends.models.executors import LocalExecutor
from tests.arena.pools import ADMIN

MODELS = ("t2i/flux-schnell", "t2i/qwen-image")


@pytest.fixture
def live(service: LabelingService, tiny_settings, registry) -> LabelingService:
    service.generate = ExecutorGenerator(LocalExecutor(ModelCache(registry, tiny_settings)))
    return service


def test_live_session_generates_both_sides_with_the_same_seed_and_size(live: LabelingService) -> None:
    session = live.create_session(ADMIN, SessionConfig(
        name="live", mode="live", models=MODELS, prompts=("一只猫 on a sofa", "a lighthouse at dusk"), seed=40,
        width=256, height=256, steps=2, gold_rate=0, repeat_rate=0))
    served = live.next_battle(session.id, "ann")
    assert served.left.size == served.right.size == (256, 256)
    item = live.store.item(live.store.battle(served.battle_id).item_id)
    recipes = item["recipes"]
    assert set(recipes) == set(MODELS)
    seeds = {r["seed"] for r in recipes.values()}
    assert seeds == {40 + int(item["item_key"][1:])}
    assert {(r["width"], r["height"], r["steps"]) for r in recipes.values()} == {(256, 256, 2)}
    result = live.vote(served.battle_id, "ann", "right")
    assert set(result["reveal"].values()) == set(MODELS)


def test_live_settings_are_checked_when_the_session_is_created(live: LabelingService) -> None:
    with pytest.raises(InvalidInput, match="width: 264 is not a multiple of 16"):
        live.create_session(ADMIN, SessionConfig(name="bad", mode="live", models=MODELS, prompts=("a cat",),
                                                 width=264, height=256))
    with pytest.raises(InvalidInput, match="models: 't2i/nope' is not a model"):
        live.create_session(ADMIN, SessionConfig(name="bad", mode="live", models=("t2i/nope", "t2i/qwen-image"),
                                                 prompts=("a cat",)))
    with pytest.raises(InvalidInput, match="prompts: a live session needs at least one prompt"):
        live.create_session(ADMIN, SessionConfig(name="bad", mode="live", models=MODELS))


def test_without_a_generator_live_sessions_are_refused(service: LabelingService) -> None:
    service.generate = None
    with pytest.raises(InvalidInput, match="cannot generate"):
        service.create_session(ADMIN, SessionConfig(name="x", mode="live", models=MODELS, prompts=("a",)))
