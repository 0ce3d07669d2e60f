"""Leaderboard with bootstrap CIs: the studio's solver vs the published method, same run.

The baseline is the published method as FastChat computes it (``preprocess_for_bt`` rows, ``fit_bt`` with
``np.add.at``, one L-BFGS-B per bootstrap round). A second, tuned L-BFGS reference (collapsed pairs, bincount
gradient, the very same resampled counts as ours) is printed too, so the part of the speed-up that comes from
the batched solver alone is visible.

1,000,000 simulated battles among 64 models (seeded; 10% skill-independent ties), 1,000 bootstrap rounds,
``fastchat`` ties mode. Ours: ``arena.board.leaderboard`` end to end from the in-memory battles (collapse, full
fit, multinomial resampling, every round by chord steps from the full fit, percentile CIs, Rank(UB), tallies, online
Elo). Baseline: the method of FastChat's ``compute_bt`` / ``compute_bootstrap_bt``, one
``scipy.optimize.minimize(method="L-BFGS-B")`` per round (analytic gradient, mean weighted cross-entropy, theta
from 0, maxiter=100, gtol=1e-6), sequential, on the same collapsed counts and the SAME resampled count matrices,
so point ratings and CI bounds can be compared. Targets: ours under 3 s, at least 5x faster, ratings within 0.1.

    python bench/leaderboard.py [--battles 1000000] [--models 64] [--rounds 1000] [--baseline-rounds 1000]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from arena import bootstrap, bt_solver
from arena.board import leaderboard
from arena.rating import Battles, online_elo

LN10 = math.log(10.0)


def simulate(n_battles: int, n_models: int, seed: int) -> Battles:
    """Uniform random pairs, true ratings ~ N(1000, 150), 10% ties whatever the skills (a third "both bad")."""
    rng = np.random.default_rng(seed)
    elo = rng.normal(0.0, 150.0, n_models)
    a = rng.integers(0, n_models, n_battles)
    b = (a + rng.integers(1, n_models, n_battles)) % n_models
    p_a = 1.0 / (1.0 + 10.0 ** ((elo[b] - elo[a]) / 400.0))
    tie = rng.random(n_battles) < 0.10
    outcome = np.where(tie, np.where(rng.random(n_battles) < 1 / 3, 3, 2), np.where(rng.random(n_battles) < p_a, 0, 1))
    return Battles(tuple(f"model-{k:02d}" for k in range(n_models)), a, b, outcome)


def fastchat_rows(battles: Battles) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FastChat's ``preprocess_for_bt``: unique (model_a, model_b, outcome) rows as they appear in the battles (A/B
    order kept), outcome 1 / 0 / 0.5 for A wins / B wins / tie, with their counts."""
    code = np.where(battles.outcome == 0, 2, np.where(battles.outcome == 1, 0, 1))
    schedule = np.column_stack([battles.a, battles.b, code])
    rows, counts = np.unique(schedule, axis=0, return_counts=True)
    return rows[:, :2], rows[:, 2].astype(np.float64) / 2.0, counts.astype(np.float64)


def fastchat_fit(matchups: np.ndarray, outcomes: np.ndarray, weights: np.ndarray, n_models: int) -> np.ndarray:
    """FastChat's ``fit_bt``: weighted cross-entropy summed over rows, gradient scattered with ``np.add.at``,
    ``minimize(method="L-BFGS-B", maxiter=100, gtol=1e-6)`` from zero; returned centred on the Elo scale."""

    def loss_and_grad(ratings: np.ndarray) -> tuple[float, np.ndarray]:
        pair = ratings[matchups]
        probs = 1.0 / (1.0 + np.exp(-LN10 * (pair[:, 0] - pair[:, 1])))
        loss = -((np.log(probs) * outcomes + np.log(1.0 - probs) * (1.0 - outcomes)) * weights).sum()
        per_row = -LN10 * (outcomes - probs) * weights
        grad = np.zeros_like(ratings)
        np.add.at(grad, matchups, per_row[:, None] * np.array([1.0, -1.0]))
        return loss, grad

    done = minimize(loss_and_grad, np.zeros(n_models), jac=True, method="L-BFGS-B",
                    options={"maxiter": 100, "gtol": 1e-6})
    return 400.0 * (done.x - done.x.mean()) + 1000.0


def published(battles: Battles, rounds: int, measured_rounds: int, seed: int, level: float = 0.95) -> dict:
    """FastChat's ``compute_bt`` + ``compute_bootstrap_bt``: rows from ``preprocess_for_bt``, multinomial resampling
    of the rows (``default_rng(seed).multinomial``), one L-BFGS fit per round, sequential (2 cores here);
    rounds beyond ``measured_rounds`` are extrapolated linearly (and not fitted)."""
    m = len(battles.models)
    started = time.perf_counter()
    matchups, outcomes, counts = fastchat_rows(battles)
    point = fastchat_fit(matchups, outcomes, counts / counts.sum(), m)
    draws = np.random.default_rng(seed).multinomial(int(counts.sum()), counts / counts.sum(), size=rounds)
    fixed = time.perf_counter() - started
    samples = np.empty((measured_rounds, m))
    started = time.perf_counter()
    for r in range(measured_rounds):
        samples[r] = fastchat_fit(matchups, outcomes, draws[r] / counts.sum(), m)
    per_round = (time.perf_counter() - started) / measured_rounds
    low, high = np.quantile(samples, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return {"seconds": fixed + per_round * rounds, "per_round": per_round, "point": point, "low": low,
            "high": high, "rows": len(counts)}


def lbfgs_fit(i: np.ndarray, j: np.ndarray, counts: np.ndarray, n_models: int) -> np.ndarray:
    """One FastChat-style fit: rows (i, j, outcome 1 / 0 / 0.5) weighted by their share of the counts."""
    rows_i, rows_j = np.tile(i, 3), np.tile(j, 3)
    outcomes = np.repeat([1.0, 0.0, 0.5], len(i))
    weights = counts.ravel() / counts.sum()

    def loss_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        logits = LN10 * (theta[rows_i] - theta[rows_j])
        probs = 1.0 / (1.0 + np.exp(-logits))
        loss = -np.sum(weights * (outcomes * np.log(probs) + (1.0 - outcomes) * np.log(1.0 - probs)))
        per_row = -LN10 * weights * (outcomes - probs)
        grad = np.bincount(rows_i, per_row, n_models) - np.bincount(rows_j, per_row, n_models)
        return loss, grad

    done = minimize(loss_and_grad, np.zeros(n_models), jac=True, method="L-BFGS-B",
                    options={"maxiter": 100, "gtol": 1e-6})
    return 400.0 * (done.x - done.x.mean()) + 1000.0


def baseline(battles: Battles, rounds: int, measured_rounds: int, seed: int, level: float = 0.95) -> dict:
    """The published pipeline with the same collapse and the same resampled counts; rounds beyond
    ``measured_rounds`` are timed by linear extrapolation (their ratings are still computed, untimed)."""
    m = len(battles.models)
    started = time.perf_counter()
    design, counts = bt_solver.collapse(battles.a, battles.b, battles.outcome, m)
    point = lbfgs_fit(design.i, design.j, counts, m)
    fixed = time.perf_counter() - started
    # The draws are identical each time (same seed); the median of 3 keeps memory-allocation noise out.
    draw_seconds, draws = timed(lambda: bootstrap.bootstrap_counts(counts, rounds, np.random.default_rng(seed)), 3)
    fixed += draw_seconds
    samples = np.empty((rounds, m))
    started = time.perf_counter()
    for r in range(measured_rounds):
        samples[r] = lbfgs_fit(design.i, design.j, draws[r], m)
    per_round = (time.perf_counter() - started) / measured_rounds
    for r in range(measured_rounds, rounds):
        samples[r] = lbfgs_fit(design.i, design.j, draws[r], m)
    started = time.perf_counter()
    low, high = np.quantile(samples, [(1 - level) / 2, (1 + level) / 2], axis=0)
    fixed += time.perf_counter() - started
    return {"seconds": fixed + per_round * rounds, "fits": per_round * rounds, "per_round": per_round,
            "draws": draw_seconds, "point": point, "low": low, "high": high}


def timed(function, repeats: int) -> tuple[float, object]:
    """Median seconds over ``repeats`` calls and the last result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--battles", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=1_000)
    parser.add_argument("--baseline-rounds", type=int, default=1_000,
                        help="rounds the baseline is timed on (the rest extrapolated linearly)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of ours (median reported)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    battles = simulate(args.battles, args.models, args.seed)
    print(f"{len(battles):,} battles, {args.models} models, {args.rounds:,} bootstrap rounds, "
          f"tie rate {np.mean(battles.outcome >= 2):.1%}, ties mode fastchat")

    # 1. Ours, end to end, and a breakdown of where its time goes.
    ours_s, board = timed(lambda: leaderboard(battles, ties="fastchat", bootstrap=args.rounds, seed=args.seed),
                          args.repeats)
    design, counts = bt_solver.collapse(battles.a, battles.b, battles.outcome, args.models)
    draw_s, draws = timed(lambda: bootstrap.bootstrap_counts(counts, args.rounds, np.random.default_rng(args.seed)), 3)
    init = bt_solver.newton(design, counts, "bt").params[0]
    solve_s, _ = timed(lambda: bt_solver.chord_fits(design, draws, "bt", init), args.repeats)
    elo_s, _ = timed(lambda: online_elo(battles), 1)
    print(f"ours      {ours_s:6.2f} s end to end (median of {args.repeats}): multinomial resampling {draw_s:.2f} s, "
          f"chord steps for all rounds {solve_s:.2f} s, "
          f"online Elo column {elo_s:.2f} s, rest {ours_s - draw_s - solve_s - elo_s:.2f} s")

    # 2. The baseline: the published method, as FastChat computes it.
    measured = min(args.baseline_rounds, args.rounds)
    pub = published(battles, args.rounds, measured, args.seed)
    note = "" if measured == args.rounds else f"; timed on {measured} rounds, extrapolated linearly"
    print(f"baseline  {pub['seconds']:6.2f} s end to end: the published method (FastChat compute_bt + "
          f"compute_bootstrap_bt: {pub['rows']:,} unique ordered rows, np.add.at gradient, one L-BFGS-B fit per "
          f"round, {pub['per_round'] * 1e3:.1f} ms each){note}")
    print(f"speed-up  {pub['seconds'] / ours_s:6.1f} x end to end against the published method (target >= 5x: "
          f"{'met' if pub['seconds'] >= 5 * ours_s else 'MISSED'}; ours < 3 s: {'met' if ours_s < 3 else 'MISSED'})")
    pub_gap = max(abs(row.rating - pub["point"][battles.models.index(row.model)]) for row in board.rows)
    print(f"max |rating ours - published| = {pub_gap:.4f} Elo (target <= 0.1)")

    # 3. A tuned L-BFGS reference on our collapsed counts and the SAME resampled count matrices (so CI bounds can
    # be compared draw for draw): what remains of the speed-up once the baseline is also collapsed and vectorised.
    base = baseline(battles, args.rounds, measured, args.seed)
    print(f"reference {base['seconds']:6.2f} s end to end: tuned L-BFGS-B on the collapsed pairs "
          f"({base['per_round'] * 1e3:.2f} ms each), same multinomial draws as ours ({base['draws']:.2f} s); "
          f"speed-up {base['seconds'] / ours_s:.1f} x end to end, {base['fits'] / solve_s:.1f} x for the fits alone")

    # 4. Agreement with the reference, point ratings and CI bounds, model by model.
    rows = {row.model: row for row in board.rows}
    names = battles.models
    rating_gap = max(abs(rows[n].rating - base["point"][k]) for k, n in enumerate(names))
    bound_gap = max(max(abs(rows[n].ci_low - base["low"][k]), abs(rows[n].ci_high - base["high"][k]))
                    for k, n in enumerate(names))
    print(f"max |rating ours - reference| = {rating_gap:.4f} Elo; "
          f"max |CI bound ours - reference| = {bound_gap:.4f} Elo (same draws)")

    # 5. Davidson mode, same data and rounds.
    davidson_s, davidson = timed(lambda: leaderboard(battles, ties="davidson", bootstrap=args.rounds,
                                                     seed=args.seed), args.repeats)
    print(f"davidson  {davidson_s:7.2f} s  (ours, end to end, nu = {davidson.tie_parameter:.3f})")


if __name__ == "__main__":
    main()
