from __future__ import annotations

import random
from collections import Counter

from arena.sampler import SamplerInput, candidate_units, plan_battle, unit


def data(**changes) -> SamplerInput:
    fields = dict(models=["a", "b", "c"], items={1: ["a", "b", "c"], 2: ["a", "b", "c"], 3: ["a", "b"]})
    fields.update(changes)
    return SamplerInput(**fields)


def test_same_seed_same_plan() -> None:
    plans = [plan_battle(random.Random(3), data()) for _ in range(2)]
    assert plans[0] == plans[1]


def test_least_compared_pair_first() -> None:
    votes = Counter({unit(1, "a", "b"): 5, unit(2, "a", "b"): 5, unit(1, "a", "c"): 2, unit(2, "a", "c"): 2})
    for seed in range(20):
        plan = plan_battle(random.Random(seed), data(unit_votes=votes))
        assert {plan.left_model, plan.right_model} == {"b", "c"}


def test_sides_are_a_coin_flip() -> None:
    lefts = Counter(plan_battle(random.Random(seed), data(models=["a", "b"], items={1: ["a", "b"]})).left_model
                    for seed in range(400))
    assert 150 < lefts["a"] < 250


def test_seen_units_are_not_served_again_and_the_end_is_none() -> None:
    every = set(candidate_units(data()))
    assert len(every) == 7
    assert plan_battle(random.Random(0), data(seen=every)) is None


def test_models_without_outputs_are_skipped() -> None:
    units = candidate_units(data(items={1: ["a"], 2: ["a", "c"]}))
    assert units == [(2, "a", "c")]


def test_gold_repeat_and_overlap_rates() -> None:
    rng = random.Random(1)
    kinds = Counter()
    for _ in range(2000):
        plan = plan_battle(rng, data(repeatable=[("b1", 1, "a", "b")], served_count=10), gold_rate=0.1,
                           repeat_rate=0.1)
        kinds[plan.kind] += 1
        if plan.kind == "repeat":
            assert (plan.left_model, plan.right_model, plan.repeat_of) == ("b", "a", "b1")
        if plan.kind == "gold":
            assert plan.left_model == plan.right_model and plan.degraded_side in ("left", "right")
    assert 150 < kinds["repeat"] < 260 and 130 < kinds["gold"] < 240
    # no repeats before a few battles were served
    assert all(plan_battle(random.Random(s), data(repeatable=[("b1", 1, "a", "b")], served_count=1),
                           repeat_rate=1.0).kind != "repeat" for s in range(20))
    shared = {unit(3, "a", "b")}
    overlap = Counter(plan_battle(random.Random(s), data(voted_by_others=shared), overlap_rate=1.0).item_id
                      for s in range(50))
    assert overlap == {3: 50}
