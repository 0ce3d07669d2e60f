"""What a labeling session compares and how: the tasks, their default rubrics, and the validated configuration.

A ``SessionConfig`` is checked once, when the session is created, and stored as plain JSON with the session; every
error names the field at fault so the admin form can point at it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from arena.schema import OUTCOMES, REVEALS
from backends.core.errors import InvalidInput
from backends.core.text import check_prompt
from backends.core.validation import check_number

IDENTITIES = ("name", "invite", "hf")  # how annotators are identified (see SessionConfig.identity)
TASKS = ("t2i", "tryon", "hand", "tok", "face")
DEFAULT_CRITERIA: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "t2i": ("prompt_following", "aesthetics", "text_rendering", "structure"),
    "tryon": ("garment_fidelity", "identity", "realism"),
    "hand": ("anatomy", "blend", "fidelity_outside_mask"),
    "tok": ("detail", "color", "artifacts"),
    "face": ("attributes", "identity", "realism"),
})


@dataclass(frozen=True)
class SessionConfig:
    """What a labeling session compares and how.

    Attributes:
        name: display name.
        task: ``t2i``, ``tryon``, ``hand``, ``tok`` or ``face``.
        mode: ``pool`` (import pre-generated outputs) or ``live`` (generate with registry models on demand).
        models: models compared (registry keys in live mode; pool folder names in pool mode, or empty to take
            them from the pool).
        criteria: optional per-criterion questions (default: the task's rubric).
        outcomes: allowed outcomes among left, right, both_good, both_bad, skip.
        reveal: ``after_vote``, ``after_session`` or ``never``.
        gold_rate: share of gold checks (one side deliberately degraded).
        repeat_rate: share of repeated pairs with sides swapped.
        overlap_rate: share of pairs that another annotator already judged (for agreement).
        target_votes: votes after which the session is complete.
        min_votes: votes a model needs before its rating stops being "preliminary".
        identity: who may label: ``name`` (any name, as typed), ``invite`` (a token the admin created) or ``hf``
            (signed in with Hugging Face, on Spaces).
        prior: opt-in weak prior of the leaderboard: virtual games per model against a reference, half won and
            half lost (0: off; rates unbeaten models at the price of pulling ratings towards the reference).
        max_votes_per_minute: per-annotator rate limit.
        prompts: live mode: the prompt pool.
        seed: live mode: base seed (item i uses seed + i on both sides).
        width: live mode: width of both outputs.
        height: live mode: height of both outputs.
        steps: live mode: steps (None: each model's default).
    """

    name: str
    task: str = "t2i"
    mode: str = "pool"
    models: tuple[str, ...] = ()
    criteria: tuple[str, ...] | None = None
    outcomes: tuple[str, ...] = OUTCOMES
    reveal: str = "after_vote"
    gold_rate: float = 0.05
    repeat_rate: float = 0.05
    overlap_rate: float = 0.1
    target_votes: int = 200
    min_votes: int = 50
    prior: float = 0.0
    identity: str = "name"
    max_votes_per_minute: int = 30
    prompts: tuple[str, ...] = ()
    seed: int = 0
    width: int = 512
    height: int = 512
    steps: int | None = None

    def validated(self) -> SessionConfig:
        """This config with defaults filled in, or ``InvalidInput`` naming the field at fault."""
        name = check_prompt(self.name, "name")
        if len(name) > 120:
            raise InvalidInput("name", "at most 120 characters")
        if self.task not in TASKS:
            raise InvalidInput("task", f"{self.task!r} is not one of {', '.join(TASKS)}")
        if self.mode not in ("pool", "live"):
            raise InvalidInput("mode", f"{self.mode!r} is not pool or live")
        criteria = DEFAULT_CRITERIA[self.task] if self.criteria is None else tuple(self.criteria)
        for criterion in criteria:
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", criterion):
                raise InvalidInput("criteria", f"{criterion!r} must be lower_snake_case (at most 40 characters)")
        outcomes = tuple(self.outcomes)
        if not set(outcomes) <= set(OUTCOMES) or not {"left", "right"} <= set(outcomes):
            raise InvalidInput("outcomes", f"must include left and right and be among {', '.join(OUTCOMES)}")
        if self.reveal not in REVEALS:
            raise InvalidInput("reveal", f"{self.reveal!r} is not one of {', '.join(REVEALS)}")
        for field_name in ("gold_rate", "repeat_rate", "overlap_rate"):
            check_number(getattr(self, field_name), field_name, minimum=0, maximum=0.5)
        check_number(self.target_votes, "target_votes", minimum=1, maximum=10_000_000, integer=True)
        check_number(self.min_votes, "min_votes", minimum=0, maximum=1_000_000, integer=True)
        check_number(self.prior, "prior", minimum=0, maximum=1000)
        if self.identity not in IDENTITIES:
            raise InvalidInput("identity", f"{self.identity!r} is not one of {', '.join(IDENTITIES)}")
        check_number(self.max_votes_per_minute, "max_votes_per_minute", minimum=1, maximum=600, integer=True)
        models = tuple(dict.fromkeys(m.strip() for m in self.models if m.strip()))
        prompts = tuple(check_prompt(p, "prompts") for p in self.prompts if str(p).strip())
        if self.mode == "live":
            if len(models) < 2:
                raise InvalidInput("models", "a live session compares at least two models")
            if not prompts:
                raise InvalidInput("prompts", "a live session needs at least one prompt")
            check_number(self.seed, "seed", minimum=0, maximum=2**31 - 1, integer=True)
        return SessionConfig(
            name=name, task=self.task, mode=self.mode, models=models, criteria=criteria, outcomes=outcomes,
            reveal=self.reveal, gold_rate=float(self.gold_rate), repeat_rate=float(self.repeat_rate),
            overlap_rate=float(self.overlap_rate), target_votes=int(self.target_votes), min_votes=int(self.min_votes),
            prior=float(self.prior), identity=self.identity, max_votes_per_minute=int(self.max_votes_per_minute),
            prompts=prompts, seed=int(self.seed), width=int(self.width), height=int(self.height), steps=self.steps,
        )
