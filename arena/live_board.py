"""The live leaderboard of a session that is still being labelled: updated on every request, cheaply.

A board with bootstrap intervals costs seconds at a million votes, most of it in the bootstrap, while a few new
votes barely move the ratings. So each slice's board is kept in memory and, on the next request:

* the same votes (same count and checksum): the kept board is the answer;
* new votes, last bootstrap younger than ``bootstrap_every`` seconds: the ratings are refitted, Newton warm-started
  from the kept board (a step or two), and each model keeps the width of its last bootstrap interval around its new
  rating, with Rank(UB) recomputed from those intervals and a note saying when the intervals were bootstrapped;
* otherwise: a full board (warm-started too), whose bootstrap becomes the new reference.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from arena.battle_table import Battles

if TYPE_CHECKING:  # the board pulls in scipy: imported when a board is asked for, not at start-up
    from arena.board import Leaderboard, LeaderboardRow

BOOTSTRAP_EVERY = 60.0  # seconds between bootstraps of a live board


@dataclass(frozen=True)
class _Kept:
    fingerprint: tuple[int, int]
    board: Leaderboard  # the latest board (what a request with the same votes gets)
    bootstrapped: Leaderboard  # the latest board with a fresh bootstrap (where interval widths come from)
    bootstrapped_at: float


def fingerprint(battles: Battles) -> tuple[int, int]:
    """Count and an order-sensitive checksum of the battles: equal for the same votes, different after a change."""
    weights = np.arange(1, len(battles) + 1, dtype=np.int64) % 1_000_003
    code = (battles.a.astype(np.int64) * 7919 + battles.b.astype(np.int64) * 31 + battles.outcome.astype(np.int64))
    return len(battles), int(np.sum(code * weights) % (1 << 61))


class LiveBoards:
    """Kept boards per slice, refreshed as described in the module docstring.

    Args:
        bootstrap_every: Seconds between bootstraps of a slice's board (0: on every change).
        clock: Monotonic time source (tests pass their own).
    """

    def __init__(self, bootstrap_every: float = BOOTSTRAP_EVERY, clock: Callable[[], float] = time.monotonic) -> None:
        self.bootstrap_every = bootstrap_every
        self.clock = clock
        self._kept: dict[Hashable, _Kept] = {}
        self._lock = threading.Lock()

    def board(self, key: Hashable, battles: Battles, compute: Callable[..., Leaderboard],
              bootstrap: int) -> Leaderboard:
        """The slice's board for these battles.

        Args:
            key: The slice (session and every board parameter).
            battles: The slice's battles now.
            compute: ``compute(battles, bootstrap=..., warm=...)`` -> a fresh :class:`Leaderboard`.
            bootstrap: The bootstrap rounds asked for (0: no intervals, nothing to keep between requests).
        """
        mark = fingerprint(battles)
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept.fingerprint == mark:
            return kept.board
        now = self.clock()
        warm = kept.board if kept is not None else None
        if kept is not None and bootstrap > 0 and now - kept.bootstrapped_at < self.bootstrap_every:
            board = carry_intervals(compute(battles, bootstrap=0, warm=warm), kept.bootstrapped,
                                    now - kept.bootstrapped_at, self.bootstrap_every)
            fresh = _Kept(mark, board, kept.bootstrapped, kept.bootstrapped_at)
        else:
            board = compute(battles, bootstrap=bootstrap, warm=warm)
            fresh = _Kept(mark, board, board, now)
        with self._lock:
            self._kept[key] = fresh
        return board

    def forget(self, session: str) -> None:
        """Drop every kept board of a session (e.g. after annotators were excluded)."""
        with self._lock:
            for key in [k for k in self._kept if isinstance(k, tuple) and k and k[0] == session]:
                del self._kept[key]


def carry_intervals(board: Leaderboard, reference: Leaderboard, age: float, every: float) -> Leaderboard:
    """``board`` (fitted without a bootstrap) with each model's interval width taken from ``reference`` and set
    around its new rating, Rank(UB) recomputed within each group, and a note on where the intervals come from."""
    earlier = {row.model: row for row in reference.rows}
    rows = []
    for row in board.rows:
        old = earlier.get(row.model)
        if row.rating is None or old is None or old.rating is None or old.ci_low is None or old.ci_high is None:
            rows.append(replace(row, ci_low=None, ci_high=None))
            continue
        rows.append(replace(row, ci_low=row.rating - (old.rating - old.ci_low),
                            ci_high=row.rating + (old.ci_high - old.rating), note=row.note))
    rows = _rerank(rows)
    note = (f"Intervals are the widths of the bootstrap over {reference.n_battles:,} battles, {age:.0f} s ago, "
            f"around the current ratings ({board.n_battles:,} battles); they are bootstrapped again at most every "
            f"{every:.0f} s.")
    return replace(board, rows=tuple(rows), bootstrap=reference.bootstrap, seed=reference.seed,
                   warnings=(*board.warnings, note), bootstrap_ratings=None)


def _rerank(rows: list[LeaderboardRow]) -> list[LeaderboardRow]:
    """Rank(UB) within each group among the rows with an interval."""
    from arena.rating import rank_upper_bound

    ranked = list(rows)
    for group in dict.fromkeys(row.group for row in rows):
        members = [k for k, row in enumerate(rows) if row.group == group and row.ci_low is not None]
        if not members:
            continue
        ranks = rank_upper_bound(np.array([rows[k].ci_low for k in members]),
                                 np.array([rows[k].ci_high for k in members]))
        for k, rank in zip(members, ranks, strict=True):
            ranked[k] = replace(rows[k], rank_ub=int(rank))
    for k, row in enumerate(ranked):
        if row.ci_low is None and row.rank_ub is not None:
            ranked[k] = replace(row, rank_ub=None)
    return ranked
