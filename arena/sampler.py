"""Which pair an annotator sees next: balanced pairs, gold checks, repeats and overlaps, from an injected RNG.

Pure functions over plain data, so every choice is reproducible in tests. The policy:

1. **Repeat** (rate ``repeat_rate``): a pair this annotator already voted on, sides swapped, for self-consistency.
2. **Gold** (rate ``gold_rate``): an output against a deliberately degraded copy of itself; the sharp side is
   the right answer, for per-annotator accuracy.
3. **Overlap** (rate ``overlap_rate``): a pair another annotator voted on, for inter-annotator agreement.
4. Otherwise the **least-compared model pair** (ties broken at random) on the least-used item for that pair,
   sides by a coin flip (randomised and recorded, so position bias can be estimated).
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

Unit = tuple[int, str, str]  # (item id, model x, model y) with x < y: one comparison, sides aside


@dataclass(frozen=True)
class Plan:
    """The next battle to serve.

    Attributes:
        kind: ``normal``, ``gold`` or ``repeat``.
        item_id: the item.
        left_model: model shown on the left.
        right_model: model shown on the right.
        degraded_side: for gold battles, the side showing the degraded copy.
        repeat_of: for repeats, the battle being repeated.
    """

    kind: str
    item_id: int
    left_model: str
    right_model: str
    degraded_side: str | None = None
    repeat_of: str | None = None


@dataclass
class SamplerInput:
    """What the sampler needs to know about a session and one annotator.

    Attributes:
        models: models of the session.
        items: item id -> models with an output (every model in live mode, where outputs are made on demand).
        unit_votes: comparisons made so far per unit (all annotators).
        seen: units this annotator has been served.
        voted_by_others: units other annotators voted on.
        repeatable: this annotator's voted normal battles not yet repeated: (battle id, item, left, right).
        served_count: battles served to this annotator so far.
    """

    models: Sequence[str]
    items: Mapping[int, Sequence[str]]
    unit_votes: Counter = field(default_factory=Counter)
    seen: set[Unit] = field(default_factory=set)
    voted_by_others: set[Unit] = field(default_factory=set)
    repeatable: Sequence[tuple[str, int, str, str]] = ()
    served_count: int = 0


def unit(item_id: int, a: str, b: str) -> Unit:
    """The side-free identity of a comparison."""
    x, y = sorted((a, b))
    return item_id, x, y


def candidate_units(data: SamplerInput) -> list[Unit]:
    """Every comparison possible in the session that this annotator has not been served."""
    allowed = set(data.models)
    units = []
    for item_id, available in data.items.items():
        for x, y in itertools.combinations(sorted(set(available) & allowed), 2):
            if (item_id, x, y) not in data.seen:
                units.append((item_id, x, y))
    return units


def plan_battle(rng: random.Random, data: SamplerInput, *, gold_rate: float = 0.0, repeat_rate: float = 0.0,
                overlap_rate: float = 0.0) -> Plan | None:
    """Choose the next battle, or None when this annotator has seen every comparison.

    Args:
        rng: the random source (seeded in tests).
        data: the session's state as seen by this annotator.
        gold_rate: probability of a gold check.
        repeat_rate: probability of repeating an earlier pair with sides swapped.
        overlap_rate: probability of taking a pair someone else voted on.
    """
    # Repeats only after a few battles, so the repeated pair is not the one just seen.
    if data.repeatable and data.served_count >= 3 and rng.random() < repeat_rate:
        battle_id, item_id, left, right = rng.choice(list(data.repeatable))
        return Plan("repeat", item_id, right, left, repeat_of=battle_id)  # sides swapped
    with_outputs = [(i, m) for i, models in data.items.items() for m in models if m in set(data.models)]
    if with_outputs and rng.random() < gold_rate:
        item_id, model = rng.choice(sorted(with_outputs))
        degraded = rng.choice(("left", "right"))
        return Plan("gold", item_id, model, model, degraded_side=degraded)
    candidates = candidate_units(data)
    if not candidates:
        return None
    overlap = [u for u in candidates if u in data.voted_by_others]
    if overlap and rng.random() < overlap_rate:
        fewest = min(data.unit_votes[u] for u in overlap)
        chosen = rng.choice(sorted(u for u in overlap if data.unit_votes[u] == fewest))
    else:
        chosen = _least_compared(rng, candidates, data.unit_votes)
    item_id, x, y = chosen
    left, right = (x, y) if rng.random() < 0.5 else (y, x)
    return Plan("normal", item_id, left, right)


def _least_compared(rng: random.Random, candidates: list[Unit], unit_votes: Counter) -> Unit:
    """The least-compared model pair, then its least-used item; ties broken at random."""
    pair_votes: Counter = Counter()
    for (_item, x, y), n in unit_votes.items():
        pair_votes[(x, y)] += n
    pairs = sorted({(x, y) for _i, x, y in candidates})
    fewest = min(pair_votes[p] for p in pairs)
    pair = rng.choice([p for p in pairs if pair_votes[p] == fewest])
    units = sorted(u for u in candidates if (u[1], u[2]) == pair)
    fewest_item = min(unit_votes[u] for u in units)
    return rng.choice([u for u in units if unit_votes[u] == fewest_item])
