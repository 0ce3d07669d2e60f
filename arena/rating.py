"""Ratings for blind side-by-side human-preference votes: Bradley-Terry / Davidson MLE, CIs, Rank(UB), online Elo.

Pure functions over a columnar :class:`Battles` table (numpy/scipy only: no database, no UI, no torch). The
table lives in :mod:`arena.battle_table`, the solver in :mod:`arena.bt_solver`; the board assembled from them
(groups, identifiable models, intervals, caveats) in :mod:`arena.board`.

Scale
-----
Strengths ``theta`` are in base-10 log-odds, as in FastChat / LMArena: ``P(A beats B) = 1 / (1 + 10^-(theta_A -
theta_B))``, i.e. the logit is ``ln(10) * (theta_A - theta_B)``, and the displayed rating is ``400 * theta + 1000``
(100 points is about a 64% expected win rate). The scale has no origin of its own; **we centre it so the mean
rating of the models on the board is 1000**. FastChat instead shifts the scale so one anchor model has a fixed
score (mixtral-8x7b-instruct-v0.1 = 1114); its L-BFGS starts at 0 and its gradient always sums to zero, so before
that shift its ratings are centred exactly like ours.

Ties (``ties=``)
----------------
* ``"fastchat"``: FastChat's published method (``monitor/rating_systems.py::compute_bt``, Sept 2024): both tie
  kinds count as half a win and half a loss; weighted binary cross-entropy of ``sigmoid(ln10 * (theta_a -
  theta_b))``; no regularisation. Use it to compare with published numbers. Skill-independent ties compress the
  scale (our simulation in the arena notes: about 0.7x at 20% ties), so boards with different tie rates are not
  comparable in this mode.
* ``"davidson"`` (default): Davidson (1970), "On extending the Bradley-Terry model to accommodate ties", JASA 65:
  ``P(A) = pi_A / (pi_A + pi_B + nu sqrt(pi_A pi_B))``, ``P(tie) = nu sqrt(pi_A pi_B) / (...)`` with
  ``pi = 10^theta`` and ``log nu`` fitted jointly. Both tie kinds are ties. Given a decisive vote,
  ``P(A | not tie)`` is exactly the Bradley-Terry probability above, so the Elo scale means the same thing in
  both modes. With no ties in the data the model degenerates to Bradley-Terry with ``nu = 0``, which is what is
  fitted then.

Fitting (see :mod:`arena.bt_solver`): battles collapse to per-pair counts and one vectorised Newton solver fits the
full data and every bootstrap round at once. An unbeaten model (separation) has no finite estimate: the plain
:func:`fit` stops where FastChat's ``L-BFGS(maxiter=100, gtol=1e-6)`` would, while :func:`arena.board.leaderboard`
rates only what the battles identify (see :mod:`arena.identify`) unless a weak prior is asked for.

Uncertainty (``ci=``)
---------------------
* ``"bootstrap"``: resample the battles with replacement ``bootstrap`` times (a multinomial over the collapsed
  cells, as FastChat's ``compute_bootstrap_bt``; from ``np.random.default_rng(seed)``, in chunks drawn by
  spawned child generators so that every core helps; the result depends only on ``seed`` and ``bootstrap``; see
  :mod:`arena.bootstrap`), refit (chord steps from the full-data fit), centre each round, and take percentile
  intervals at ``level``. The reported rating is the full-data fit, as in FastChat.
* ``"sandwich"``: Huber sandwich ``H^-1 J H^-1`` at the full-data fit (``J``: sum of outer products of per-battle
  scores) on the sum-zero parameters; normal intervals. The Chatbot Arena paper (arXiv 2403.04132, sec. 5) prefers
  it; LMArena moved its production CIs to this closed form in July 2025.

Rank(UB) (FastChat ``elo_analysis.py``): ``1 + #{models whose lower bound is above my upper bound}``.

Side columns: online Elo (FastChat ``compute_elo``: K=4, base 10, scale 400, init 1000, battle order, tie = 0.5;
order-dependent, so never the headline) and position bias (a left-side advantage ``h`` in
``ln10 * (theta_left - theta_right + h)`` fitted on the decisive votes whose screen side is known).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any, Literal

import numpy as np

from arena import bt_solver
from arena.battle_table import OUTCOMES, WINNERS, Battles, Outcome, parse_record
from arena.bt_solver import ELO_PER_NAT

__all__ = ("OUTCOMES", "WINNERS", "Battles", "CiMethod", "Fit", "Outcome", "PositionBias", "Problem", "TiesMode",
           "battle_count_matrix", "fit", "normal_quantile", "online_elo", "parse_record", "position_bias",
           "problem_for", "rank_upper_bound", "to_ratings", "win_rate_matrix")

TiesMode = Literal["fastchat", "davidson"]
CiMethod = Literal["bootstrap", "sandwich"]


@dataclass(frozen=True, eq=False)
class Fit:
    """A point estimate.

    Attributes:
        models: Model names, in :attr:`Battles.models` order.
        ratings: ``(M,)`` Elo-scale ratings, mean 1000.
        ties: The ties mode.
        tie_parameter: Davidson ``nu`` (0.0 when the data have no ties); None in ``"fastchat"`` mode.
        log_likelihood: Maximised log-likelihood (soft-label cross-entropy in ``"fastchat"`` mode).
        iterations: Newton iterations used.
        converged: Whether the gradient tolerance was reached (False can mean separation: see warnings).
    """

    models: tuple[str, ...]
    ratings: np.ndarray
    ties: TiesMode
    tie_parameter: float | None
    log_likelihood: float
    iterations: int
    converged: bool

    def as_dict(self) -> dict[str, float]:
        """Model name -> rating."""
        return {m: float(r) for m, r in zip(self.models, self.ratings, strict=True)}


@dataclass(frozen=True)
class PositionBias:
    """Left-side advantage estimated from the battles whose screen side is known.

    Attributes:
        n_battles: Battles with a known side.
        left_wins: Decisive votes for the left image.
        right_wins: Decisive votes for the right image.
        ties: Ties among them (not used by the fit).
        left_win_rate: ``left_wins / (left_wins + right_wins)``; None without decisive votes.
        elo: Fitted left advantage ``h`` in Elo points (``400 * h``); None when it cannot be fitted.
        ci_low: Lower end of the sandwich CI of ``elo``.
        ci_high: Upper end.
        level: Confidence level.
    """

    n_battles: int = 0
    left_wins: int = 0
    right_wins: int = 0
    ties: int = 0
    left_win_rate: float | None = None
    elo: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    level: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


@dataclass(frozen=True, eq=False)
class Problem:
    """Battles collapsed for the solver."""

    battles: Battles
    design: bt_solver.PairDesign
    counts: np.ndarray  # (3, P)
    model: bt_solver.PairModel


def normal_quantile(q: float) -> float:
    """The standard normal quantile (the standard library's: the interval code needs one scalar per board)."""
    return NormalDist().inv_cdf(q)


def problem_for(battles: Battles, ties: str) -> Problem:
    """The battles compacted and collapsed into cells for the solver (ties mode checked)."""
    if ties not in ("fastchat", "davidson"):
        raise ValueError(f"ties must be 'fastchat' or 'davidson', got {ties!r}")
    if len(battles) == 0:
        raise ValueError("no battles to rate")
    battles = battles.compact()
    if len(battles.models) < 2:
        raise ValueError(f"rating needs at least two models, got {len(battles.models)}")
    design, counts = bt_solver.collapse(battles.a, battles.b, battles.outcome, len(battles.models))
    has_ties = counts[2].sum() > 0
    return Problem(battles, design, counts, "davidson" if ties == "davidson" and has_ties else "bt")


def to_ratings(params: np.ndarray, m: int) -> np.ndarray:
    """Natural-log strengths of the first ``m`` models -> Elo-scale ratings with mean 1000 (over those ``m``)."""
    beta = params[..., :m]
    return ELO_PER_NAT * (beta - beta.mean(axis=-1, keepdims=True)) + 1000.0


def _fit(problem: Problem, ties: TiesMode) -> tuple[Fit, np.ndarray]:
    result = bt_solver.newton(problem.design, problem.counts, problem.model)
    m = len(problem.battles.models)
    params = result.params[0]
    nu = None if ties == "fastchat" else (math.exp(params[m]) if problem.model == "davidson" else 0.0)
    fitted = Fit(problem.battles.models, to_ratings(params, m), ties, nu, -float(result.loss[0]),
                 int(result.iterations[0]), bool(result.converged[0]))
    return fitted, params


def fit(battles: Battles, ties: TiesMode = "davidson") -> Fit:
    """Maximum-likelihood point estimate (no CIs).

    Args:
        battles: The battles (models that never played are ignored).
        ties: ``"davidson"`` (tie parameter fitted) or ``"fastchat"`` (tie = half win, half loss).

    Returns:
        The :class:`Fit`, ratings centred on 1000.

    Raises:
        ValueError: No battles, fewer than two models, or an unknown ties mode.
    """
    return _fit(problem_for(battles, ties), ties)[0]


def rank_upper_bound(ci_low: np.ndarray, ci_high: np.ndarray) -> np.ndarray:
    """Rank(UB): ``1 + #{j : ci_low[j] > ci_high[i]}`` (models surely better than ``i``).

    Args:
        ci_low: ``(M,)`` lower bounds.
        ci_high: ``(M,)`` upper bounds.

    Returns:
        ``(M,)`` int ranks.
    """
    low, high = np.asarray(ci_low, dtype=float), np.asarray(ci_high, dtype=float)
    return 1 + (low[None, :] > high[:, None]).sum(axis=1)


def online_elo(battles: Battles, k: float = 4, scale: float = 400, base: float = 10,
               initial: float = 1000) -> dict[str, float]:
    """Sequential Elo in battle order (FastChat ``compute_elo``); ties of either kind score 0.5.

    Args:
        battles: The battles, oldest first.
        k: Update size.
        scale: Rating points per factor ``base`` in the odds.
        base: Odds base.
        initial: Starting rating.

    Returns:
        Model name -> rating.
    """
    if k <= 0 or scale <= 0 or base <= 1:
        raise ValueError("online Elo needs k > 0, scale > 0 and base > 1")
    # base ** (x / scale) == exp(x * slope): the loop keeps ratings times slope (and scores times k * slope), which
    # saves two multiplications per battle, a sixth of its time.
    slope, exp = math.log(base) / scale, math.exp
    step = k * slope
    natural = [initial * slope] * len(battles.models)
    score_a = np.where(battles.outcome == 0, step, np.where(battles.outcome == 1, 0.0, 0.5 * step))
    # A plain loop: the update is sequential by definition; Python floats are faster than numpy scalars here.
    for ia, ib, score in zip(battles.a.tolist(), battles.b.tolist(), score_a.tolist(), strict=True):
        ra, rb = natural[ia], natural[ib]
        delta = score - step / (1.0 + exp(rb - ra))
        natural[ia] = ra + delta
        natural[ib] = rb - delta
    return {model: value / slope for model, value in zip(battles.models, natural, strict=True)}


def position_bias(battles: Battles, level: float = 0.95) -> PositionBias:
    """Left-side advantage: Bradley-Terry with ``logit = ln10 * (theta_left - theta_right + h)`` on the decisive
    votes whose side is known, reported as ``400 h`` Elo points with a sandwich CI.

    Args:
        battles: The battles; those without a known side are ignored.
        level: Confidence level.

    Returns:
        A :class:`PositionBias`; its estimate fields are None when no side is known or no vote was decisive.
    """
    known = battles.known_side
    if not known.any():
        return PositionBias(level=level)
    a_left = battles.a_on_left[known]
    a, b, out = battles.a[known], battles.b[known], battles.outcome[known]
    left, right = np.where(a_left, a, b), np.where(a_left, b, a)
    decisive = out <= 1
    left_won = decisive & ((out == 0) == a_left)
    n_left, n_right = int(left_won.sum()), int((decisive & ~left_won).sum())
    stats = PositionBias(n_battles=int(known.sum()), left_wins=n_left, right_wins=n_right,
                         ties=int((~decisive).sum()), level=level,
                         left_win_rate=n_left / (n_left + n_right) if n_left + n_right else None)
    if n_left + n_right == 0:
        return stats
    # Ordered (left, right) cells with covariate x = 1: d = beta_left - beta_right + h.
    m = len(battles.models)
    keys, cell = np.unique(left[decisive].astype(np.int64) * m + right[decisive], return_inverse=True)
    wins = np.bincount(cell.ravel(), weights=left_won[decisive], minlength=len(keys))
    counts = np.stack([wins, np.bincount(cell.ravel(), minlength=len(keys)) - wins, np.zeros(len(keys))])
    design = bt_solver.PairDesign(m, (keys // m).astype(np.intp), (keys % m).astype(np.intp), np.ones(len(keys)))
    params = bt_solver.newton(design, counts, "bt").params[0]
    se = math.sqrt(max(bt_solver.sandwich_covariance(params, design, counts, "bt")[-1, -1], 0.0))
    half = normal_quantile(0.5 + level / 2.0) * se * ELO_PER_NAT
    elo = float(params[-1] * ELO_PER_NAT)
    return PositionBias(**{**asdict(stats), "elo": elo, "ci_low": elo - half, "ci_high": elo + half})


def _ordered(battles: Battles, order: Sequence[str] | None) -> np.ndarray:
    if order is None:
        return np.arange(len(battles.models))
    index = {name: k for k, name in enumerate(battles.models)}
    missing = [name for name in order if name not in index]
    if missing:
        raise ValueError(f"unknown models in order: {missing}")
    return np.array([index[name] for name in order], dtype=np.intp)


def battle_count_matrix(battles: Battles, order: Sequence[str] | None = None) -> tuple[tuple[str, ...], np.ndarray]:
    """Battles per pair of models (symmetric, A/B sides pooled).

    Args:
        battles: The battles.
        order: Model names for rows/columns (e.g. leaderboard order); default :attr:`Battles.models`.

    Returns:
        ``(models, (M, M) int matrix)``.
    """
    m = len(battles.models)
    counts = np.bincount(battles.a * m + battles.b, minlength=m * m).reshape(m, m)
    pick = _ordered(battles, order)
    counts = counts + counts.T
    return tuple(battles.models[k] for k in pick), counts[np.ix_(pick, pick)]


def win_rate_matrix(battles: Battles, order: Sequence[str] | None = None) -> tuple[tuple[str, ...], np.ndarray]:
    """Share of the row model's battles against the column model that it won (ties count half; sides pooled).

    Args:
        battles: The battles.
        order: Model names for rows/columns; default :attr:`Battles.models`.

    Returns:
        ``(models, (M, M) float matrix)``, NaN where two models never met (and on the diagonal).
    """
    m = len(battles.models)
    score_a = np.where(battles.outcome == 0, 1.0, np.where(battles.outcome == 1, 0.0, 0.5))
    won = np.bincount(battles.a * m + battles.b, weights=score_a, minlength=m * m).reshape(m, m)
    won += np.bincount(battles.b * m + battles.a, weights=1.0 - score_a, minlength=m * m).reshape(m, m)
    names, counts = battle_count_matrix(battles)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(counts > 0, won / counts, np.nan)
    pick = _ordered(battles, order)
    return tuple(battles.models[k] for k in pick), rate[np.ix_(pick, pick)]
