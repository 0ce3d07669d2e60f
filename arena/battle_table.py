"""The battle table: FastChat battle records as columns of model indices and outcome codes.

A battle is one blind side-by-side vote between model A and model B (FastChat's schema: ``model_a``,
``model_b``, ``winner`` in ``"model_a" | "model_b" | "tie" | "tie (bothbad)"``), optionally with the screen side
model A was shown on. Skipped votes are not battles: drop them before building the table.
:mod:`arena.rating` re-exports everything here.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType
from typing import Any

import numpy as np


class Outcome(IntEnum):
    """Outcome codes of :attr:`Battles.outcome`."""

    A_WINS = 0
    B_WINS = 1
    TIE = 2  # both good
    TIE_BOTHBAD = 3


#: FastChat ``winner`` value -> outcome code.
OUTCOMES = MappingProxyType({"model_a": 0, "model_b": 1, "tie": 2, "tie (bothbad)": 3})
#: Outcome code -> FastChat ``winner`` value.
WINNERS = tuple(OUTCOMES)


def parse_record(row: Any) -> tuple[str, str, int, bool | None]:
    """Validate one FastChat battle record.

    Args:
        row: A mapping with ``model_a``, ``model_b``, ``winner`` and optionally ``a_on_left`` (bool or None);
            other keys are ignored.

    Returns:
        ``(model_a, model_b, outcome code, a_on_left)``.

    Raises:
        ValueError: With a message naming the bad field.
    """
    if not isinstance(row, Mapping):
        raise ValueError(f"expected an object with model_a, model_b and winner, got {type(row).__name__}")
    for key in ("model_a", "model_b"):
        if not isinstance(row.get(key), str) or not row[key].strip():
            raise ValueError(f"{key} must be a non-empty string, got {row.get(key)!r}")
    if row["model_a"] == row["model_b"]:
        raise ValueError(f"model_a and model_b are the same model ({row['model_a']!r})")
    winner = row.get("winner")
    if not isinstance(winner, str) or winner not in OUTCOMES:
        raise ValueError(f"winner must be one of {', '.join(map(repr, WINNERS))}, got {winner!r} "
                         "(drop skipped votes before rating)")
    side = row.get("a_on_left")
    if side is not None and not isinstance(side, bool | np.bool_):
        raise ValueError(f"a_on_left must be true, false or null, got {side!r}")
    return row["model_a"], row["model_b"], OUTCOMES[winner], None if side is None else bool(side)


@dataclass(frozen=True, eq=False)
class Battles:
    """Columnar battle table (read-only arrays).

    Attributes:
        models: Model names; index -> name.
        a: ``(N,)`` index of model A per battle.
        b: ``(N,)`` index of model B per battle.
        outcome: ``(N,)`` int8 :class:`Outcome` codes.
        a_on_left: ``(N,)`` bool: model A was displayed on the left; None when no side is known.
        side_known: ``(N,)`` bool: whether ``a_on_left`` is known for that battle; None means all known.
    """

    models: tuple[str, ...]
    a: np.ndarray
    b: np.ndarray
    outcome: np.ndarray
    a_on_left: np.ndarray | None = None
    side_known: np.ndarray | None = None

    def __post_init__(self) -> None:
        models = tuple(str(m) for m in self.models)
        if len(set(models)) != len(models):
            raise ValueError("model names must be unique")
        a, b = np.array(self.a, dtype=np.intp), np.array(self.b, dtype=np.intp)
        outcome = np.array(self.outcome, dtype=np.int8)
        if a.ndim != 1 or a.shape != b.shape or a.shape != outcome.shape:
            raise ValueError("a, b and outcome must be 1-D arrays of the same length")
        if a.size and (min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= len(models)):
            raise ValueError("model index out of range")
        if np.any(a == b):
            raise ValueError(f"battle {int(np.argmax(a == b))} compares a model with itself")
        if outcome.size and (outcome.min() < 0 or outcome.max() > 3):
            raise ValueError("outcome codes must be 0 (A wins), 1 (B wins), 2 (tie) or 3 (tie, both bad)")
        sides = known = None
        if self.a_on_left is not None:
            sides = np.array(self.a_on_left, dtype=bool)
            known = np.ones_like(sides) if self.side_known is None else np.array(self.side_known, dtype=bool)
            if sides.shape != a.shape or known.shape != a.shape:
                raise ValueError("a_on_left and side_known need one value per battle")
            sides &= known
        elif self.side_known is not None:
            raise ValueError("side_known needs a_on_left")
        for name, value in (("models", models), ("a", a), ("b", b), ("outcome", outcome), ("a_on_left", sides),
                            ("side_known", known)):
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
            object.__setattr__(self, name, value)

    @classmethod
    def from_records(cls, rows: Iterable[Mapping], labels: Iterable[str] | None = None) -> Battles:
        """Build from FastChat battle dicts (see :func:`parse_record`); errors name the record.

        Args:
            rows: Mappings with ``model_a``, ``model_b``, ``winner`` and optionally ``a_on_left``.
            labels: how errors name each row (e.g. ``"file.jsonl line 7"``); default ``"record N"``.

        Returns:
            The table; models are sorted by name.
        """
        model_a, model_b, winner, sides = [], [], [], []
        names = iter(labels) if labels is not None else (f"record {n}" for n in itertools.count())
        for row, name in zip(rows, names, strict=False):
            try:
                a, b, code, side = parse_record(row)
            except ValueError as error:
                raise ValueError(f"{name}: {error}") from None
            model_a.append(a)
            model_b.append(b)
            winner.append(WINNERS[code])
            sides.append(side)
        return cls.from_arrays(model_a, model_b, winner, sides)

    @classmethod
    def from_arrays(cls, model_a: Sequence[str], model_b: Sequence[str], winner: Sequence[str],
                    a_on_left: Sequence[bool | None] | np.ndarray | None = None) -> Battles:
        """Build from parallel columns of names and FastChat winner strings.

        Args:
            model_a: Name of model A per battle.
            model_b: Name of model B per battle.
            winner: ``"model_a"``, ``"model_b"``, ``"tie"`` or ``"tie (bothbad)"`` per battle.
            a_on_left: Whether A was shown on the left, per battle (None entries: unknown); None: unknown.

        Returns:
            The table; models are sorted by name.
        """
        names_a, names_b = np.asarray(model_a, dtype=str), np.asarray(model_b, dtype=str)
        winners = np.asarray(winner, dtype=str)
        n = len(names_a)
        if len(names_b) != n or len(winners) != n or (a_on_left is not None and len(a_on_left) != n):
            raise ValueError("model_a, model_b, winner (and a_on_left) must have the same length")
        if n == 0:
            return cls((), np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0, np.int8))
        models, index = np.unique(np.concatenate([names_a, names_b]), return_inverse=True)
        if models[0].strip() == "":
            raise ValueError("model names must be non-empty")
        kinds, kind_index = np.unique(winners, return_inverse=True)
        unknown = [str(k) for k in kinds if k not in OUTCOMES]
        if unknown:
            row = int(np.flatnonzero(winners == unknown[0])[0])
            raise ValueError(f"battle {row}: winner must be one of {', '.join(map(repr, WINNERS))}, got "
                             f"{unknown[0]!r} (drop skipped votes before rating)")
        outcome = np.array([OUTCOMES[str(k)] for k in kinds], dtype=np.int8)[kind_index]
        a, b = index[:n], index[n:]
        if np.any(a == b):
            row = int(np.argmax(a == b))
            raise ValueError(f"battle {row}: model_a and model_b are the same model ({names_a[row]!r})")
        sides = known = None
        if isinstance(a_on_left, np.ndarray) and a_on_left.dtype == bool:
            sides = a_on_left
        elif a_on_left is not None:
            raw = np.asarray(a_on_left, dtype=object)
            known = np.array([s is not None for s in raw], dtype=bool)
            if known.any():
                sides = np.array([bool(s) if s is not None else False for s in raw], dtype=bool)
            else:
                known = None
        return cls(tuple(str(m) for m in models), a, b, outcome, sides, known)

    def __len__(self) -> int:
        return len(self.a)

    @property
    def known_side(self) -> np.ndarray:
        """``(N,)`` bool: battles whose screen side is known."""
        if self.a_on_left is None:
            return np.zeros(len(self), dtype=bool)
        return np.ones(len(self), dtype=bool) if self.side_known is None else self.side_known

    def subset(self, mask: np.ndarray) -> Battles:
        """Battles selected by a boolean mask or index array, keeping order; models that no longer appear are
        dropped (so a slice's leaderboard lists only the models in it).

        Args:
            mask: ``(N,)`` bool, or integer row indices.

        Returns:
            A new table.
        """
        rows = np.asarray(mask)
        if rows.dtype == bool and rows.shape != (len(self),):
            raise ValueError(f"mask needs {len(self)} entries, got {rows.shape}")
        sides = None if self.a_on_left is None else self.a_on_left[rows]
        known = None if self.side_known is None else self.side_known[rows]
        return Battles(self.models, self.a[rows], self.b[rows], self.outcome[rows], sides, known).compact()

    def compact(self) -> Battles:
        """The same battles with models that never played removed (indices renumbered, order kept)."""
        used = np.zeros(len(self.models), dtype=bool)
        used[self.a] = used[self.b] = True
        if used.all():
            return self
        new_index = np.cumsum(used) - 1
        return Battles(tuple(m for m, u in zip(self.models, used, strict=True) if u), new_index[self.a],
                       new_index[self.b], self.outcome, self.a_on_left, self.side_known)
