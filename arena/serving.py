"""Battle serving: what an annotator is shown, what their vote may say, and what the pair sampler is told.

Pure functions and records with no database and no state, so the service (``arena.sessions``) stays the only place
that reads or writes the store. ``ServedBattle`` carries no model names anywhere: the sides are only revealed in the
vote's answer, as the session's reveal policy allows.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

from arena.media import ServedFiles, ServedPng
from arena.sampler import Plan, SamplerInput, unit
from arena.schema import CRITERION_CHOICES
from backends.core.errors import InvalidInput


@dataclass
class ServedBattle:
    """A battle as the annotator receives it: no model names anywhere.

    Attributes:
        battle_id: id to vote with ("" when there is nothing left to label).
        prompt: the prompt (or task instruction).
        criteria: the per-criterion questions.
        outcomes: the allowed outcomes.
        left: image A.
        right: image B.
        input_image: the conditioning input for conditional tasks.
        progress: this annotator's and the session's vote counts, and the target.
        message: why there is no battle, when there is none.
    """

    battle_id: str
    prompt: str
    criteria: list[str]
    outcomes: list[str]
    left: ServedPng | None
    right: ServedPng | None
    input_image: ServedPng | None = None
    progress: dict[str, int] = field(default_factory=dict)
    message: str = ""

    def files(self, served: ServedFiles) -> tuple[str | None, str | None, str | None]:
        """Images A, B and the input as fast-compressed PNG files (what a web API sends), in that order."""
        return served.write(self.left), served.write(self.right), served.write(self.input_image)

    def public(self) -> dict[str, Any]:
        """The JSON part of the API answer."""
        # not asdict(self): it would deep-copy the images only to drop them
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("left", "right", "input_image")}
        data["criteria"], data["outcomes"], data["progress"] = list(self.criteria), list(self.outcomes), \
            dict(self.progress)
        data["has_input_image"] = self.input_image is not None
        return data


def gold_answer(plan: Plan) -> str | None:
    """The side a gold battle's annotator should pick (the one not degraded), or None for any other battle."""
    if plan.kind != "gold":
        return None
    return "right" if plan.degraded_side == "left" else "left"


def parse_criteria(criteria: Any, allowed: list[str]) -> dict[str, str]:
    """A vote's per-criterion answers, from an object or its JSON text; blank answers are dropped.

    Args:
        criteria: ``{criterion: left/right/tie/skip}``, as a dict or its JSON text (None or empty: no answers).
        allowed: the session's criteria.

    Returns:
        The answered criteria.

    Raises:
        InvalidInput: not an object, an unknown criterion, or an answer outside left/right/tie/skip.
    """
    if criteria in (None, "", {}):
        return {}
    if isinstance(criteria, str):
        try:
            criteria = json.loads(criteria)
        except json.JSONDecodeError as exc:
            raise InvalidInput("criteria", "must be a JSON object like {\"aesthetics\": \"left\"}") from exc
    if not isinstance(criteria, dict):
        raise InvalidInput("criteria", "must be an object mapping criterion to left/right/tie/skip")
    parsed = {}
    for key, value in criteria.items():
        if key not in allowed:
            raise InvalidInput("criteria", f"{key!r} is not a criterion of this session ({', '.join(allowed)})")
        if value in (None, ""):
            continue
        if value not in CRITERION_CHOICES:
            raise InvalidInput("criteria", f"{key}: {value!r} is not one of {', '.join(CRITERION_CHOICES)}")
        parsed[key] = value
    return parsed


def sampler_input(counts: list[tuple], own: list[dict[str, Any]], items: list[dict[str, Any]], models: list[str],
                  live: bool) -> SamplerInput:
    """The sampler's view of a session from ``ArenaStore.sampler_view``.

    Args:
        counts: unit counts ``(item_id, left, right, voted, count)`` of everyone, as ``ArenaStore.sampler_view``
            returns.
        own: this annotator's battles, as ``ArenaStore.sampler_view`` returns.
        items: the session's items with their outputs.
        models: the models compared.
        live: a live session, whose items can pair any two models (outputs are generated when served).

    Returns:
        What ``plan_battle`` needs to pick the next pair.
    """
    unit_votes: Counter = Counter()
    voted_units: Counter = Counter()
    for item_id, left, right, voted, count in counts:
        key = unit(item_id, left, right)
        unit_votes[key] += count
        if voted:
            voted_units[key] += count
    for b in own:  # what remains voted once this annotator's own votes are taken out was voted by others
        if b["kind"] in ("normal", "repeat") and b["outcome"] is not None:
            voted_units[unit(b["item_id"], b["left_model"], b["right_model"])] -= 1
    by_others = {key for key, n in voted_units.items() if n > 0}
    repeated = {b["repeat_of"] for b in own if b["kind"] == "repeat"}
    seen = {unit(b["item_id"], b["left_model"], b["right_model"]) for b in own if b["kind"] in ("normal", "repeat")}
    repeatable = [(b["id"], b["item_id"], b["left_model"], b["right_model"]) for b in own
                  if b["kind"] == "normal" and b["outcome"] not in (None, "skip") and b["id"] not in repeated]
    return SamplerInput(
        models=models, items={i["id"]: (models if live else list(i["outputs"])) for i in items},
        unit_votes=unit_votes, seen=seen, voted_by_others=by_others, repeatable=repeatable,
        served_count=sum(1 for b in own if b["kind"] != "imported"))
