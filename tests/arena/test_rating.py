"""Behaviour of the rating math on battles simulated from known strengths (no hard-coded outputs)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.optimize import minimize

from arena import bt_solver
from arena.board import leaderboard
from arena.rating import (
    OUTCOMES,
    Battles,
    Outcome,
    battle_count_matrix,
    fit,
    online_elo,
    position_bias,
    rank_upper_bound,
    win_rate_matrix,
)

LN10 = math.log(10.0)


def simulate(rng: np.random.Generator, elo: np.ndarray, n: int, *, tie_prob: float = 0.0, nu: float | None = None,
             left_advantage: float = 0.0, sides: bool = False) -> Battles:
    """Battles between uniformly drawn pairs of models with true Elo-scale ratings ``elo``.

    Args:
        rng: Random generator.
        elo: True ratings.
        n: Number of battles.
        tie_prob: Probability that a battle is a tie whatever the skills (half of them "both bad").
        nu: If given, outcomes follow Davidson's model with this tie parameter instead.
        left_advantage: Elo points added to the left model.
        sides: Record which side A was shown on (random, independent of everything else).
    """
    m = len(elo)
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    a_left = rng.random(n) < 0.5
    diff = (elo[a] - elo[b] + np.where(a_left, left_advantage, -left_advantage)) / 400.0  # base-10 log-odds
    u = rng.random(n)
    if nu is None:
        p_a = 1.0 / (1.0 + 10.0 ** -diff)
        tie = rng.random(n) < tie_prob
        outcome = np.where(tie, 2 + (rng.random(n) < 0.5), np.where(u < p_a, 0, 1))
    else:
        pi_a, pi_b = 10.0 ** (diff / 2), 10.0 ** (-diff / 2)
        total = pi_a + pi_b + nu
        outcome = np.where(u < pi_a / total, 0, np.where(u < (pi_a + pi_b) / total, 1, 2))
    names = np.array([f"model-{k:02d}" for k in range(m)])
    winners = np.array(list(OUTCOMES))[outcome]
    return Battles.from_arrays(names[a], names[b], winners, a_left if sides else None)


def centred(values: np.ndarray) -> np.ndarray:
    return values - values.mean()


def true_ratings(battles: Battles, elo: np.ndarray) -> np.ndarray:
    """True ratings in ``battles.models`` order, centred on 1000."""
    return centred(np.array([elo[int(name.split("-")[1])] for name in battles.models])) + 1000.0


ELO8 = np.linspace(-175.0, 175.0, 8)  # 8 models, 50 points apart


def test_fastchat_mode_recovers_the_true_ranking() -> None:
    battles = simulate(np.random.default_rng(1), ELO8, 20_000, tie_prob=0.1)
    fitted = fit(battles, ties="fastchat")
    assert np.array_equal(np.argsort(fitted.ratings), np.argsort(true_ratings(battles, ELO8)))
    assert fitted.tie_parameter is None and fitted.converged
    assert fitted.ratings.mean() == pytest.approx(1000.0)


def test_davidson_is_closer_to_the_truth_than_fastchat_when_ties_are_skill_independent() -> None:
    battles = simulate(np.random.default_rng(2), ELO8 * 1.5, 20_000, tie_prob=0.2)
    truth = true_ratings(battles, ELO8 * 1.5)
    rmse = {mode: math.sqrt(np.mean((fit(battles, ties=mode).ratings - truth) ** 2))
            for mode in ("fastchat", "davidson")}
    assert rmse["davidson"] <= 0.6 * rmse["fastchat"]
    # fastchat's error is the compressed scale (tie = half a win pulls everyone towards the mean)
    assert np.std(fit(battles, ties="fastchat").ratings) < 0.9 * np.std(truth)


def test_davidson_recovers_its_tie_parameter() -> None:
    battles = simulate(np.random.default_rng(3), ELO8, 20_000, nu=0.5)
    fitted = fit(battles, ties="davidson")
    assert fitted.tie_parameter == pytest.approx(0.5, abs=0.05)
    assert np.abs(fitted.ratings - true_ratings(battles, ELO8)).max() < 25.0


def test_battle_order_changes_online_elo_but_not_bradley_terry() -> None:
    rng = np.random.default_rng(4)
    battles = simulate(rng, ELO8, 3_000, tie_prob=0.1)
    shuffled = battles.subset(rng.permutation(len(battles)))
    assert shuffled.models == battles.models
    for mode in ("fastchat", "davidson"):
        np.testing.assert_allclose(fit(shuffled, mode).ratings, fit(battles, mode).ratings, atol=1e-6, rtol=0)
    before, after = online_elo(battles), online_elo(shuffled)
    assert max(abs(before[m] - after[m]) for m in battles.models) > 1.0


def test_online_elo_follows_the_k4_update() -> None:
    battles = Battles.from_arrays(["x", "x", "y"], ["y", "y", "x"], ["model_a", "tie", "tie (bothbad)"])
    ratings = online_elo(battles)
    x = y = 1000.0
    for winner_is_x in (1.0, 0.5, 0.5):
        delta = 4 * (winner_is_x - 1 / (1 + 10 ** ((y - x) / 400)))
        x, y = x + delta, y - delta
    assert ratings == pytest.approx({"x": x, "y": y})


def test_a_dominant_model_ranks_first() -> None:
    elo = np.array([500.0, 0.0, 0.0, 20.0, 40.0, 60.0])  # model-00 wins about 95% of its battles
    battles = simulate(np.random.default_rng(5), elo, 3_000, tie_prob=0.05)
    board = leaderboard(battles, bootstrap=100, min_votes=0)
    top = board.rows[0]
    assert top.model == "model-00" and top.rank_ub == 1
    assert 0.9 < top.wins / (top.wins + top.losses) < 0.99
    assert all(row.rank_ub > 1 for row in board.rows[1:])


def unbeaten(seed: int = 6) -> Battles:
    """Five models; model-04 wins every battle it plays (never a loss, never a tie): its MLE is infinite."""
    battles = simulate(np.random.default_rng(seed), np.array([0.0, 0.0, 50.0, 100.0, 150.0]), 400, tie_prob=0.1)
    winner = np.where(battles.outcome == 0, "model_a", np.where(battles.outcome == 1, "model_b", "tie"))
    star = battles.models.index("model-04")
    winner = np.where(battles.a == star, "model_a", np.where(battles.b == star, "model_b", winner))
    names = np.array(battles.models)
    return Battles.from_arrays(names[battles.a], names[battles.b], winner)


@pytest.mark.parametrize("ci", ["bootstrap", "sandwich"])
@pytest.mark.parametrize("ties", ["fastchat", "davidson"])
def test_an_unbeaten_model_gets_no_rating_and_does_not_shift_the_others(ties: str, ci: str) -> None:
    battles = unbeaten()
    board = leaderboard(battles, ties=ties, ci=ci, bootstrap=100)
    star = next(r for r in board.rows if r.model == "model-04")
    assert star.rating is None and star.ci_low is None and star.rank_ub is None
    assert "never lost" in star.note and any("model-04 never lost" in note for note in board.warnings)
    rated = [r for r in board.rows if r.rating is not None]
    assert len(rated) == 4 and all(r.ci_low < r.rating < r.ci_high for r in rated)
    # Centred on the identifiable models: the same as rating them without model-04's battles at all.
    alone = battles.subset((battles.a != battles.models.index("model-04"))
                           & (battles.b != battles.models.index("model-04")))
    reference = {r.model: r.rating for r in leaderboard(alone, ties=ties, ci=ci, bootstrap=100).rows}
    assert max(abs(r.rating - reference[r.model]) for r in rated) < 1e-6
    assert abs(np.mean([r.rating for r in rated]) - 1000.0) < 1e-9


@pytest.mark.parametrize("ties", ["fastchat", "davidson"])
def test_a_weak_prior_rates_the_unbeaten_model_first_with_a_finite_interval(ties: str) -> None:
    board = leaderboard(unbeaten(), ties=ties, bootstrap=100, prior=2.0)
    top = board.rows[0]
    assert top.model == "model-04" and top.rank_ub == 1 and top.note == ""
    assert top.ci_low < top.rating < top.ci_high and top.ci_high - top.ci_low < 2000
    assert np.isfinite([[r.rating, r.ci_low, r.ci_high] for r in board.rows]).all()
    assert board.prior == 2.0 and any("weak prior" in note for note in board.warnings)


def winless(seed: int = 7) -> Battles:
    """Five models; model-00 loses every battle it plays (never a win, never a tie): its MLE is minus infinity."""
    battles = simulate(np.random.default_rng(seed), np.array([0.0, 0.0, 50.0, 100.0, 150.0]), 400, tie_prob=0.1)
    winner = np.where(battles.outcome == 0, "model_a", np.where(battles.outcome == 1, "model_b", "tie"))
    loser = battles.models.index("model-00")
    winner = np.where(battles.a == loser, "model_b", np.where(battles.b == loser, "model_a", winner))
    names = np.array(battles.models)
    return Battles.from_arrays(names[battles.a], names[battles.b], winner)


@pytest.mark.parametrize("ties", ["fastchat", "davidson"])
def test_a_model_that_never_won_gets_no_rating_and_a_warning(ties: str) -> None:
    battles = winless()
    board = leaderboard(battles, ties=ties, bootstrap=100)
    never = next(r for r in board.rows if r.model == "model-00")
    assert never.wins == 0 and never.ties == 0 and never.losses > 50
    assert never.rating is None and never.ci_low is None and never.rank_ub is None
    assert "never won" in never.note and any("model-00 never won" in note for note in board.warnings)
    assert board.rows[-1].model == "model-00"  # unrated models come last
    rated = [r for r in board.rows if r.rating is not None]
    assert len(rated) == 4 and all(r.ci_low < r.rating < r.ci_high for r in rated)
    # Centred on the identifiable models, which are rated as if model-00 had never played.
    loser = battles.models.index("model-00")
    alone = leaderboard(battles.subset((battles.a != loser) & (battles.b != loser)), ties=ties, bootstrap=100)
    reference = {r.model: r.rating for r in alone.rows}
    assert max(abs(r.rating - reference[r.model]) for r in rated) < 1e-6
    assert abs(np.mean([r.rating for r in rated]) - 1000.0) < 1e-9


def test_a_group_that_never_lost_to_the_rest_is_separated_too() -> None:
    # Models 0 and 1 trade wins between themselves but never lose to 2, 3, 4: a separated group, not one model.
    rng = np.random.default_rng(21)
    battles = simulate(rng, np.array([100.0, 80.0, 0.0, -20.0, -40.0]), 600, tie_prob=0.0)
    names = np.array(battles.models)
    top = np.isin(names[battles.a], ["model-00", "model-01"]), np.isin(names[battles.b], ["model-00", "model-01"])
    winner = np.where(battles.outcome == 0, "model_a", "model_b")
    winner = np.where(top[0] & ~top[1], "model_a", np.where(top[1] & ~top[0], "model_b", winner))
    board = leaderboard(Battles.from_arrays(names[battles.a], names[battles.b], winner), bootstrap=50)
    by_model = {r.model: r for r in board.rows}
    assert by_model["model-00"].rating is None and by_model["model-01"].rating is None
    assert "never lost to the rest of group A" in by_model["model-00"].note
    assert all(by_model[f"model-0{k}"].rating is not None for k in (2, 3, 4))


def test_groups_that_never_met_are_rated_and_ranked_apart() -> None:
    rng = np.random.default_rng(22)
    first = simulate(rng, np.array([300.0, 0.0, -300.0]), 900)
    second = simulate(rng, np.array([50.0, 0.0, -50.0]), 300)
    rename = np.array(["x-00", "x-01", "x-02"])
    names_first, names_second = np.array(first.models), rename[[int(n[-1]) for n in second.models]]
    winners = np.array(list(OUTCOMES))
    battles = Battles.from_arrays(
        np.concatenate([names_first[first.a], names_second[second.a]]),
        np.concatenate([names_first[first.b], names_second[second.b]]),
        np.concatenate([winners[first.outcome], winners[second.outcome]]))
    board = leaderboard(battles, bootstrap=200)
    data = json.loads(json.dumps(board.to_dict()))
    assert [g["name"] for g in data["groups"]] == ["A", "B"]
    assert set(data["groups"][0]["models"]) == {"model-00", "model-01", "model-02"}
    assert set(data["groups"][1]["models"]) == {"x-00", "x-01", "x-02"}
    by_model = {r["model"]: r for r in data["models"]}
    # Each group is centred on 1000 on its own, and has its own rank 1: model-00 (300 above its group's middle)
    # is not "surely better" than x-00, which it never met.
    for group in data["groups"]:
        ratings = [by_model[m]["rating"] for m in group["models"]]
        assert abs(np.mean(ratings) - 1000.0) < 1e-6
        assert min(by_model[m]["rank_ub"] for m in group["models"]) == 1
    assert by_model["x-00"]["rank_ub"] == 1 and by_model["x-02"]["rank_ub"] <= 3
    # Intervals stay honest: not collapsed to nothing by the missing link between the groups.
    assert all(r["ci_high"] - r["ci_low"] > 10 for r in data["models"])
    assert any("2 groups that never met" in w and "x-00" in w for w in data["warnings"])


def test_with_a_handful_of_votes_it_says_too_few_votes_instead_of_an_interval() -> None:
    battles = simulate(np.random.default_rng(23), np.array([0.0, 50.0, 100.0, 150.0]), 13)
    board = leaderboard(battles, bootstrap=200)
    assert all(r.votes < 10 for r in board.rows)
    for row in board.rows:
        assert row.ci_low is None and row.ci_high is None and row.rank_ub is None
        assert row.note.startswith("too few votes") or row.rating is None
    assert any("too few votes" in w for w in board.warnings)


def test_model_names_with_dollars_and_groups_plot() -> None:
    from arena import plots

    battles = simulate(np.random.default_rng(24), np.array([0.0, 60.0, 120.0]), 300)
    names = np.array(["$5 model", "cost $$ model", "plain"])
    winners = np.array(list(OUTCOMES))[battles.outcome]
    board = leaderboard(Battles.from_arrays(names[battles.a], names[battles.b], winners), bootstrap=20)
    for figure in (plots.ratings_figure(board), plots.win_rate_figure(board), plots.battle_count_figure(board)):
        figure.canvas.draw()  # mathtext would raise on an unbalanced "$"
        labels = [t.get_text() for ax in figure.axes for t in ax.get_yticklabels()]
        assert any("5 model" in label for label in labels)


def coverage(ties: str, ci: str, sessions: int, seed: int, level: float = 0.95) -> float:
    """Share of the true ratings inside their CIs over many small simulated sessions (6 models, 600 votes)."""
    rng = np.random.default_rng(seed)
    elo = np.array([-150.0, -90.0, -30.0, 30.0, 90.0, 150.0])
    covered = total = 0
    for _ in range(sessions):
        battles = simulate(rng, elo, 600, nu=0.5) if ties == "davidson" else simulate(rng, elo, 600)
        board = leaderboard(battles, ties=ties, ci=ci, bootstrap=200, seed=int(rng.integers(1 << 31)), level=level)
        truth = dict(zip(battles.models, true_ratings(battles, elo), strict=True))
        covered += sum(r.ci_low <= truth[r.model] <= r.ci_high for r in board.rows)
        total += len(board.rows)
    return covered / total


@pytest.mark.parametrize("ci", ["bootstrap", "sandwich"])
@pytest.mark.parametrize("ties", ["fastchat", "davidson"])
def test_confidence_intervals_cover_the_truth_at_about_the_nominal_rate(ties: str, ci: str) -> None:
    rate = coverage(ties, ci, sessions=200, seed=7)
    assert 0.88 <= rate <= 0.99, rate


@pytest.mark.parametrize("ci", ["bootstrap", "sandwich"])
def test_coverage_follows_the_requested_level(ci: str) -> None:
    rate = coverage("davidson", ci, sessions=100, seed=8, level=0.5)
    assert 0.4 <= rate <= 0.6, rate


def test_bootstrap_and_sandwich_agree_on_a_well_specified_model() -> None:
    battles = simulate(np.random.default_rng(8), ELO8, 5_000, nu=0.4)
    boot = leaderboard(battles, ci="bootstrap", bootstrap=400)
    sand = leaderboard(battles, ci="sandwich")
    width = {name: [r.ci_high - r.ci_low for r in b.rows] for name, b in (("boot", boot), ("sand", sand))}
    ratio = np.array(width["boot"]) / np.array(width["sand"])
    assert ratio.min() > 0.8 and ratio.max() < 1.25
    assert boot.bootstrap == 400 and sand.bootstrap == 0 and boot.bootstrap_ratings.shape == (400, 8)


def test_bootstrap_is_reproducible_from_its_seed() -> None:
    battles = simulate(np.random.default_rng(9), ELO8, 2_000, tie_prob=0.1)
    first, again, other = (leaderboard(battles, bootstrap=50, seed=s) for s in (3, 3, 4))
    assert [r.ci_low for r in first.rows] == [r.ci_low for r in again.rows]
    assert [r.ci_low for r in first.rows] != [r.ci_low for r in other.rows]


def lbfgs_ratings(battles: Battles, ties: str) -> np.ndarray:
    """Reference fit: per-battle likelihood, scipy L-BFGS-B with an analytic gradient and tight tolerances."""
    m, a, b, out = len(battles.models), battles.a, battles.b, battles.outcome
    davidson = ties == "davidson"
    score = np.where(out == 0, 1.0, np.where(out == 1, 0.0, 0.5))
    tie = (out >= 2).astype(float)

    def loss_and_grad(params: np.ndarray) -> tuple[float, np.ndarray]:
        theta = params[:m]
        d = LN10 * (theta[a] - theta[b])
        grad = np.zeros_like(params)
        if not davidson:
            p = 1.0 / (1.0 + np.exp(-d))
            loss = -np.sum(score * np.log(p) + (1.0 - score) * np.log1p(-p))
            g_d = LN10 * (p - score)
        else:
            lam = params[m]
            z = np.exp(d / 2) + np.exp(-d / 2) + np.exp(lam)
            log_p = np.where(out == 0, d / 2, np.where(out == 1, -d / 2, lam)) - np.log(z)
            loss = -np.sum(log_p)
            sign = np.where(out == 0, 1.0, np.where(out == 1, -1.0, 0.0))
            g_d = LN10 * ((np.exp(d / 2) - np.exp(-d / 2)) / (2 * z) - sign / 2)
            grad[m] = np.sum(np.exp(lam) / z - tie)
        np.add.at(grad, a, g_d)
        np.add.at(grad, b, -g_d)
        return loss, grad

    start = np.zeros(m + davidson)
    done = minimize(loss_and_grad, start, jac=True, method="L-BFGS-B",
                    options={"maxiter": 10_000, "gtol": 1e-11, "ftol": 1e-15})
    return 400.0 * centred(done.x[:m]) + 1000.0


@pytest.mark.parametrize("ties", ["fastchat", "davidson"])
def test_fast_solver_equals_a_plain_scipy_lbfgs_fit(ties: str) -> None:
    battles = simulate(np.random.default_rng(10), ELO8, 4_000, tie_prob=0.15)
    np.testing.assert_allclose(fit(battles, ties).ratings, lbfgs_ratings(battles, ties), atol=0.01, rtol=0)


@pytest.mark.parametrize("model", ["bt", "davidson"])
def test_gradient_and_hessian_match_finite_differences(model: str) -> None:
    rng = np.random.default_rng(11)
    m, cells = 5, 14
    i = rng.integers(0, m, cells)
    j = (i + rng.integers(1, m, cells)) % m
    design = bt_solver.PairDesign(m, i, j, rng.choice([-1.0, 1.0], cells))  # with a side covariate h
    counts = rng.integers(0, 30, (1, 3, cells)).astype(float)
    params = rng.normal(0.0, 0.7, (1, design.n_params(model)))
    _, grad, hess = bt_solver.objective(params, design, counts, model)
    step = 1e-5
    for k in range(params.shape[1]):
        shift = np.zeros_like(params)
        shift[0, k] = step
        up, down = bt_solver.objective(params + shift, design, counts, model), \
            bt_solver.objective(params - shift, design, counts, model)
        assert (up[0] - down[0])[0] / (2 * step) == pytest.approx(grad[0, k], rel=1e-6, abs=1e-6)
        np.testing.assert_allclose((up[1] - down[1])[0] / (2 * step), hess[0, k], rtol=1e-5, atol=1e-5)


def test_rank_upper_bound_on_a_hand_built_case() -> None:
    low = np.array([1100.0, 1050.0, 900.0, 700.0, 1120.0])
    high = np.array([1200.0, 1150.0, 1000.0, 800.0, 1130.0])
    # 0 and 1 overlap each other and 4; 2 is surely below 0, 1 and 4; 3 is below everyone.
    assert rank_upper_bound(low, high).tolist() == [1, 1, 4, 5, 1]


def test_leaderboard_rank_ub_follows_its_intervals() -> None:
    board = leaderboard(simulate(np.random.default_rng(12), ELO8, 3_000, tie_prob=0.1), bootstrap=100)
    low, high = np.array([r.ci_low for r in board.rows]), np.array([r.ci_high for r in board.rows])
    assert [r.rank_ub for r in board.rows] == rank_upper_bound(low, high).tolist()
    assert [r.rating for r in board.rows] == sorted((r.rating for r in board.rows), reverse=True)


def test_position_bias_recovers_a_left_advantage() -> None:
    battles = simulate(np.random.default_rng(13), ELO8, 20_000, tie_prob=0.1, left_advantage=50.0, sides=True)
    bias = position_bias(battles)
    assert bias.ci_low <= 50.0 <= bias.ci_high and bias.ci_low > 0
    assert bias.left_win_rate > 0.55 and bias.n_battles == 20_000


def test_position_bias_is_zero_when_sides_are_random_and_there_is_no_bias() -> None:
    battles = simulate(np.random.default_rng(14), ELO8, 20_000, tie_prob=0.1, sides=True)
    bias = position_bias(battles)
    assert bias.ci_low <= 0.0 <= bias.ci_high
    assert bias.ci_high - bias.ci_low < 20.0


def test_position_bias_without_sides_is_empty_and_partial_sides_are_used() -> None:
    battles = simulate(np.random.default_rng(15), ELO8, 500)
    empty = position_bias(battles)
    assert empty.n_battles == 0 and empty.elo is None and empty.left_win_rate is None
    assert leaderboard(battles, bootstrap=10).to_dict()["position_bias"]["elo"] is None
    partial = Battles.from_arrays(["x", "y", "x", "y"], ["y", "x", "y", "x"],
                                  ["model_a", "model_a", "model_b", "tie"], [True, None, False, True])
    bias = position_bias(partial)
    assert bias.n_battles == 3 and bias.left_wins == 2 and bias.right_wins == 0 and bias.ties == 1


def test_from_records_reads_fastchat_rows_and_rejects_bad_winners() -> None:
    rows = [{"model_a": "x", "model_b": "y", "winner": "model_a", "judge": "j1", "tstamp": 1.0},
            {"model_a": "y", "model_b": "z", "winner": "tie (bothbad)", "a_on_left": False}]
    battles = Battles.from_records(rows)
    assert battles.models == ("x", "y", "z") and len(battles) == 2
    assert battles.outcome.tolist() == [Outcome.A_WINS, Outcome.TIE_BOTHBAD]
    assert battles.known_side.tolist() == [False, True]
    with pytest.raises(ValueError, match=r"record 1: winner must be one of .*got 'skip'"):
        Battles.from_records([rows[0], {"model_a": "x", "model_b": "y", "winner": "skip"}])
    with pytest.raises(ValueError, match="record 0: model_b must be a non-empty string"):
        Battles.from_records([{"model_a": "x", "winner": "tie"}])
    with pytest.raises(ValueError, match="same model"):
        Battles.from_records([{"model_a": "x", "model_b": "x", "winner": "tie"}])
    with pytest.raises(ValueError, match="battle 1: winner"):
        Battles.from_arrays(["x", "x"], ["y", "y"], ["model_a", "left"])


def test_empty_input_and_a_single_model_are_clear_errors() -> None:
    empty = Battles.from_records([])
    assert len(empty) == 0
    for call in (lambda: fit(empty), lambda: leaderboard(empty)):
        with pytest.raises(ValueError, match="no battles"):
            call()
    lonely = Battles(("only",), np.zeros(0, int), np.zeros(0, int), np.zeros(0, np.int8))
    with pytest.raises(ValueError, match="no battles"):
        leaderboard(lonely)
    with pytest.raises(ValueError, match="same model"):  # a one-model "battle"
        Battles.from_arrays(["only"], ["only"], ["tie"])
    pair = Battles.from_arrays(["x", "y"], ["y", "z"], ["model_a", "tie"])
    with pytest.raises(ValueError, match="no battles"):
        fit(pair.subset(np.zeros(len(pair), dtype=bool)))
    with pytest.raises(ValueError, match="ties must be"):
        fit(pair, ties="rao-kupper")  # type: ignore[arg-type]


def test_win_rate_and_battle_count_matrices() -> None:
    battles = Battles.from_arrays(["a", "b", "a", "b"], ["b", "a", "b", "c"],
                                  ["model_a", "model_b", "tie", "model_a"])
    names, rates = win_rate_matrix(battles)
    _, counts = battle_count_matrix(battles)
    assert names == ("a", "b", "c")
    assert counts.tolist() == [[0, 3, 0], [3, 0, 1], [0, 1, 0]]
    assert rates[0, 1] == pytest.approx(2.5 / 3) and rates[1, 0] == pytest.approx(0.5 / 3)
    assert rates[1, 2] == 1.0 and rates[2, 1] == 0.0
    assert np.isnan(rates[0, 2]) and np.isnan(rates[0, 0])
    reordered, swapped = win_rate_matrix(battles, order=["c", "b", "a"])
    assert reordered == ("c", "b", "a") and swapped[2, 1] == rates[0, 1]


def test_subset_drops_models_that_no_longer_play() -> None:
    battles = simulate(np.random.default_rng(16), ELO8, 1_000)
    keep = (battles.a != battles.models.index("model-07")) & (battles.b != battles.models.index("model-07"))
    part = battles.subset(keep)
    assert "model-07" not in part.models and len(part) == int(keep.sum())
    assert len(leaderboard(part, bootstrap=10).rows) == 7


def test_leaderboard_dict_is_json_ready() -> None:
    battles = simulate(np.random.default_rng(17), ELO8, 1_000, tie_prob=0.1, sides=True)
    data = json.loads(json.dumps(leaderboard(battles, bootstrap=20, min_votes=300).to_dict()))
    row = data["models"][0]
    for key in ("model", "rating", "ci_low", "ci_high", "rank_ub", "votes", "wins", "losses", "ties", "both_bad",
                "preliminary", "online_elo"):
        assert key in row
    assert data["ties"] == "davidson" and data["n_battles"] == 1_000 and data["tie_parameter"] > 0
    assert any(r["preliminary"] for r in data["models"]) == any(r["votes"] < 300 for r in data["models"])
    assert data["position_bias"]["n_battles"] == 1_000


def test_no_bootstrap_gives_no_intervals_and_the_plain_rank() -> None:
    battles = simulate(np.random.default_rng(18), ELO8, 2_000, tie_prob=0.1)
    board = leaderboard(battles, bootstrap=0)
    assert all(r.ci_low is None and r.ci_high is None for r in board.rows)
    assert [r.rank_ub for r in board.rows] == list(range(1, 9))
    assert board.bootstrap == 0 and board.bootstrap_ratings is None
    json.dumps(board.to_dict())
    for bad in ({"ci": "wald"}, {"bootstrap": -1}, {"level": 1.0}):
        with pytest.raises(ValueError):
            leaderboard(battles, **bad)
