"""The live board: refitted on every change (warm-started), bootstrapped on a clock, unchanged votes answered from
memory."""

from __future__ import annotations

import numpy as np
import pytest

from arena.battle_table import Battles
from arena.board import leaderboard
from arena.live_board import LiveBoards, fingerprint


def simulated(n: int, seed: int = 0, models: int = 5) -> Battles:
    rng = np.random.default_rng(seed)
    skill = np.linspace(-1, 1, models)
    a = rng.integers(0, models, n)
    b = (a + rng.integers(1, models, n)) % models
    p = 1 / (1 + np.exp(skill[b] - skill[a]))
    tie = rng.random(n) < 0.1
    outcome = np.where(tie, 2, np.where(rng.random(n) < p, 0, 1)).astype(np.int8)
    return Battles(tuple(f"m{k}" for k in range(models)), a, b, outcome)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Counting:
    """leaderboard(), counting how it is called."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, bool]] = []

    def __call__(self, battles: Battles, bootstrap: int, warm=None):
        self.calls.append((bootstrap, warm is not None))
        return leaderboard(battles, ties="fastchat", bootstrap=bootstrap, seed=1, warm=warm)


def widths(board) -> dict[str, tuple[float, float]]:
    return {r.model: (round(r.rating - r.ci_low, 9), round(r.ci_high - r.rating, 9)) for r in board.rows if r.ci_low}


def test_warm_start_reaches_the_same_ratings() -> None:
    battles = simulated(3000)
    cold = leaderboard(battles, bootstrap=0)
    warm = leaderboard(simulated(3100), bootstrap=0)
    again = leaderboard(battles, bootstrap=0, warm=warm)
    assert [r.model for r in again.rows] == [r.model for r in cold.rows]
    # the same optimum, to the solver's tolerance (a thousandth of an Elo point)
    assert [r.rating for r in again.rows] == pytest.approx([r.rating for r in cold.rows], abs=1e-3)
    assert again.tie_parameter == pytest.approx(cold.tie_parameter, rel=1e-5)


def test_the_same_votes_are_answered_from_memory() -> None:
    compute, boards = Counting(), LiveBoards(60, clock=Clock())
    battles = simulated(2000)
    first = boards.board("s", battles, compute, 50)
    assert boards.board("s", Battles(battles.models, battles.a.copy(), battles.b.copy(), battles.outcome.copy()),
                        compute, 50) is first
    assert compute.calls == [(50, False)]
    assert fingerprint(battles) != fingerprint(simulated(2000, seed=1))


def test_new_votes_refit_at_once_and_bootstrap_on_the_clock() -> None:
    clock = Clock()
    compute, boards = Counting(), LiveBoards(60, clock=clock)
    first = boards.board("s", simulated(2000), compute, 50)
    clock.now = 10
    second = boards.board("s", simulated(2050), compute, 50)  # 50 more votes, 10 s later
    assert compute.calls[-1] == (0, True)  # refitted from the first board, no bootstrap
    assert second.n_battles == 2050
    fresh = {r.model: r.rating for r in leaderboard(simulated(2050), ties="fastchat", bootstrap=0).rows}
    assert {r.model: r.rating for r in second.rows} == pytest.approx(fresh, abs=1e-3)
    assert widths(second) == widths(first)  # each model keeps its interval width, around its new rating
    assert all(r.ci_low < r.rating < r.ci_high and r.rank_ub for r in second.rows)
    assert any("bootstrap over 2,000 battles" in w for w in second.warnings)
    clock.now = 61
    third = boards.board("s", simulated(2100), compute, 50)
    assert compute.calls[-1] == (50, True)  # a fresh bootstrap, still warm-started
    assert widths(third) != widths(first) and not any("bootstrap over" in w for w in third.warnings)


def test_the_service_board_follows_each_vote(service, pool_session) -> None:
    for person in ("ann", "bob", "cat"):
        for _ in range(3):
            served = service.next_battle(pool_session.id, person)
            service.vote(served.battle_id, person, "left")
    before = service.leaderboard(pool_session.id, bootstrap=20)[1]
    assert service.leaderboard(pool_session.id, bootstrap=20)[1] == before
    served = service.next_battle(pool_session.id, "dan")
    service.vote(served.battle_id, "dan", "right")
    after = service.leaderboard(pool_session.id, bootstrap=20)[1]
    assert after["n_battles"] == before["n_battles"] + 1
