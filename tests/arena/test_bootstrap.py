"""The bootstrap's two shortcuts: multinomial resamples drawn as Poisson counts topped up to N (exactly multinomial,
checked against the distribution itself), and resamples fitted by chord steps (the same optimum as Newton's, with
Newton taking over the rounds the chord cannot settle)."""

from __future__ import annotations

import itertools
import threading
from collections import Counter

import numpy as np
import pytest
from scipy import stats

from arena import bootstrap, bt_solver
from arena.bootstrap import bootstrap_chunks, bootstrap_counts, multinomial_rounds


class CountingGenerator(np.random.Generator):
    """A generator that counts its Poisson calls (a second call means some rounds were drawn again)."""

    poisson_calls = 0

    def poisson(self, *args: object, **kwargs: object) -> np.ndarray:
        type(self).poisson_calls += 1
        return super().poisson(*args, **kwargs)


def test_small_draws_follow_the_multinomial_distribution_outcome_by_outcome() -> None:
    counts = np.array([3.0, 0.0, 1.0, 2.0])  # N = 6, one empty cell
    drawn = multinomial_rounds(counts, 60_000, np.random.default_rng(1))
    assert drawn.dtype == np.int64 and drawn.shape == (60_000, 4)
    assert (drawn.sum(axis=1) == 6).all() and (drawn[:, 1] == 0).all()
    seen = Counter(map(tuple, drawn.tolist()))
    outcomes = [(a, 0, c, 6 - a - c) for a, c in itertools.product(range(7), repeat=2) if a + c <= 6]
    assert set(seen) <= set(outcomes)
    expected = np.array([stats.multinomial.pmf([a, c, d], 6, [0.5, 1 / 6, 1 / 3]) for a, _, c, d in outcomes])
    observed = np.array([seen[o] for o in outcomes])
    assert stats.chisquare(observed, expected * 60_000).pvalue > 1e-3


def test_rounds_over_n_are_drawn_again_without_bending_the_distribution() -> None:
    counts = np.array([50.0, 30.0, 20.0])  # N = 100: the Poisson total exceeds N in about 1.4% of rounds
    CountingGenerator.poisson_calls = 0
    drawn = multinomial_rounds(counts, 40_000, CountingGenerator(np.random.PCG64(2)))
    assert CountingGenerator.poisson_calls >= 2  # the redraw ran
    assert (drawn.sum(axis=1) == 100).all()
    for column, p in ((drawn[:, 0], 0.5), (drawn[:, 0] + drawn[:, 1], 0.8)):  # binomial marginals
        support = np.arange(101)
        pmf = stats.binom.pmf(support, 100, p)
        common = pmf * len(column) >= 5  # chi-square bins: the likely values, the two tails pooled
        low, high = support[common][0], support[common][-1]
        observed = np.concatenate([[np.sum(column < low)], np.bincount(column, minlength=101)[low:high + 1],
                                   [np.sum(column > high)]])
        expected = np.concatenate([[pmf[:low].sum()], pmf[low:high + 1], [pmf[high + 1:].sum()]]) * len(column)
        assert stats.chisquare(observed, expected).pvalue > 1e-3
    np.testing.assert_allclose(np.cov(drawn[:, :2].T), 100 * np.array([[0.25, -0.15], [-0.15, 0.21]]), rtol=0.05)


def test_chunks_depend_on_the_seed_only_not_on_the_number_of_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    counts = np.array([[40.0, 5.0, 9.0], [12.0, 30.0, 1.0], [3.0, 4.0, 0.0]])
    many = bootstrap_counts(counts, 130, np.random.default_rng(3), chunk=50)
    monkeypatch.setattr(bootstrap.os, "cpu_count", lambda: 1)
    one = bootstrap_counts(counts, 130, np.random.default_rng(3), chunk=50)
    assert many.shape == (130, 3, 3) and np.array_equal(many, one)
    assert (many.sum(axis=(1, 2)) == counts.sum()).all() and (many[:, 2, 2] == 0).all()


def _problem(rng: np.random.Generator, m: int, battles: int, covariate: bool) -> tuple[bt_solver.PairDesign,
                                                                                         np.ndarray]:
    """Every pair of ``m`` models with evenly spread strengths, ``battles`` in all, 15% ties."""
    i, j = np.triu_indices(m, k=1)
    x = rng.choice([-1.0, 1.0], len(i)) if covariate else None
    strength = np.linspace(-1.0, 1.0, m)
    p_i = 1.0 / (1.0 + np.exp(strength[j] - strength[i]))
    counts = np.stack([rng.multinomial(battles // len(i), [0.85 * p, 0.85 * (1 - p), 0.15]) for p in p_i], axis=1)
    return bt_solver.PairDesign(m, i.astype(np.intp), j.astype(np.intp), x), counts.astype(float)


@pytest.mark.parametrize("covariate", [False, True])
@pytest.mark.parametrize("model", ["bt", "davidson"])
def test_chord_steps_reach_newtons_optimum(model: str, covariate: bool) -> None:
    rng = np.random.default_rng(4)
    design, counts = _problem(rng, 8, 20_000, covariate)
    init = bt_solver.newton(design, counts, model).params[0]
    draws = bootstrap_counts(counts, 60, rng)
    chord = bootstrap.bootstrap_fits(design, iter([draws[:25], draws[25:]]), model, init)
    newton = bt_solver.newton(design, draws, model, init=init, gtol=1e-12, xtol=1e-12)
    assert newton.converged.all()
    assert chord.shape == newton.params.shape and np.abs(chord - newton.params).max() < 2e-6
    assert np.abs(chord - init).max() > 1e-3  # the rounds did move


def test_rounds_the_chord_cannot_settle_are_fitted_by_newton(monkeypatch: pytest.MonkeyPatch) -> None:
    # Five models, a handful of battles per pair: resampling empties cells and changes the Hessian by far more
    # than the chord tolerates in some rounds.
    rng = np.random.default_rng(5)
    design, counts = _problem(rng, 5, 60, covariate=False)
    init = bt_solver.newton(design, counts, "bt").params[0]
    draws = bootstrap_counts(counts, 200, rng)
    handed = []
    newton = bt_solver.newton

    def counting(design: bt_solver.PairDesign, counts: np.ndarray, *args: object, **kwargs: object):
        handed.append(len(counts))
        return newton(design, counts, *args, **kwargs)

    monkeypatch.setattr(bt_solver, "newton", counting)
    chord = bt_solver.chord_fits(design, draws, "bt", init)
    assert handed and 0 < handed[0] < 200  # some rounds, not all
    reference = newton(design, draws, "bt", init=init).params
    settled = reference[:, :5].std(axis=1) < 5  # separated rounds stop wherever the tolerance leaves them
    assert np.abs(chord[settled] - reference[settled]).max() < 1e-4


def test_draws_start_before_the_first_chunk_is_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    started = threading.Event()
    draw = bootstrap.multinomial_rounds

    def recording(*args: object) -> np.ndarray:
        started.set()
        return draw(*args)

    monkeypatch.setattr(bootstrap, "multinomial_rounds", recording)
    chunks = bootstrap_chunks(np.array([[5.0, 1.0]]), 10, np.random.default_rng(6), chunk=5)
    assert started.wait(timeout=30)  # drawing while the caller does something else
    first, second = next(chunks), next(chunks)
    assert first.shape == second.shape == (5, 1, 2) and next(chunks, None) is None
