"""Ratings for blind side-by-side human-preference votes: Bradley-Terry / Davidson MLE, CIs, Rank(UB), online Elo.

Pure functions over a columnar :class:`Battles` table (numpy/scipy only: no database, no UI, no torch). The
table lives in :mod:`arena.battle_table`, the solver in :mod:`arena.bt_solver`; both are re-exported here.

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
full data and every bootstrap round at once. Unbeaten models (separation) end large but finite, as with FastChat's
``L-BFGS(maxiter=100, gtol=1e-6)``.

Uncertainty (``ci=``)
---------------------
* ``"bootstrap"``: resample the battles with replacement ``bootstrap`` times (a multinomial over the collapsed
  cells, as FastChat's ``compute_bootstrap_bt``; from ``np.random.default_rng(seed)``, in chunks drawn by
  spawned child generators so that every core helps; the result depends only on ``seed`` and ``bootstrap``),
  refit, centre each round, and take percentile intervals at ``level``. The reported rating is the full-data
  fit, as in FastChat.
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
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.special import ndtri

from arena import bt_solver
from arena.battle_table import OUTCOMES, WINNERS, Battles, Outcome, parse_record
from arena.bt_solver import ELO_PER_NAT

__all__ = ("OUTCOMES", "WINNERS", "Battles", "CiMethod", "Fit", "Leaderboard", "LeaderboardRow", "Outcome",
           "PositionBias", "TiesMode", "battle_count_matrix", "fit", "leaderboard", "online_elo", "parse_record",
           "position_bias", "rank_upper_bound", "win_rate_matrix")

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


@dataclass(frozen=True)
class LeaderboardRow:
    """One model on the board. ``ci_low``/``ci_high`` are None when no CI was computed (``bootstrap=0``)."""

    model: str
    rating: float
    ci_low: float | None
    ci_high: float | None
    rank_ub: int
    votes: int
    wins: int
    losses: int
    ties: int
    both_bad: int
    preliminary: bool
    online_elo: float


@dataclass(frozen=True, eq=False)
class Leaderboard:
    """A rated board.

    Attributes:
        rows: One row per model, best rating first.
        ties: Ties mode used.
        ci: CI method used.
        level: Confidence level of the CIs.
        n_battles: Battles rated.
        tie_parameter: Davidson ``nu``; None in ``"fastchat"`` mode.
        bootstrap: Bootstrap rounds run (0 for sandwich CIs).
        seed: Seed of the bootstrap generator.
        min_votes: Rows with fewer votes are marked preliminary.
        tie_rate: Share of battles that were ties (either kind); report it next to ratings.
        position_bias: Left-side advantage (empty when no side is known).
        warnings: Caveats found in the data (separation, disconnected comparison graph).
        bootstrap_ratings: ``(bootstrap, M)`` ratings per round, columns in ``rows`` order; None for sandwich.
        battles: The battles that were rated (for figures such as the win-rate matrix).
    """

    rows: tuple[LeaderboardRow, ...]
    ties: TiesMode
    ci: CiMethod
    level: float
    n_battles: int
    tie_parameter: float | None
    bootstrap: int
    seed: int
    min_votes: int
    tie_rate: float
    position_bias: PositionBias
    warnings: tuple[str, ...] = ()
    bootstrap_ratings: np.ndarray | None = field(default=None, repr=False)
    battles: Battles | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data in the CLI's schema (rows under ``"models"``)."""
        return {"models": [asdict(r) for r in self.rows], "ties": self.ties, "ci": self.ci, "level": self.level,
                "n_battles": self.n_battles, "n_models": len(self.rows), "tie_parameter": self.tie_parameter,
                "tie_rate": self.tie_rate, "bootstrap": self.bootstrap, "seed": self.seed,
                "min_votes": self.min_votes, "position_bias": self.position_bias.to_dict(),
                "warnings": list(self.warnings)}


@dataclass(frozen=True, eq=False)
class _Problem:
    """Battles collapsed for the solver."""

    battles: Battles
    design: bt_solver.PairDesign
    counts: np.ndarray  # (3, P)
    model: bt_solver.PairModel


def _problem(battles: Battles, ties: str) -> _Problem:
    if ties not in ("fastchat", "davidson"):
        raise ValueError(f"ties must be 'fastchat' or 'davidson', got {ties!r}")
    if len(battles) == 0:
        raise ValueError("no battles to rate")
    battles = battles.compact()
    if len(battles.models) < 2:
        raise ValueError(f"rating needs at least two models, got {len(battles.models)}")
    design, counts = bt_solver.collapse(battles.a, battles.b, battles.outcome, len(battles.models))
    has_ties = counts[2].sum() > 0
    return _Problem(battles, design, counts, "davidson" if ties == "davidson" and has_ties else "bt")


def _to_ratings(params: np.ndarray, m: int) -> np.ndarray:
    beta = params[..., :m]
    return ELO_PER_NAT * (beta - beta.mean(axis=-1, keepdims=True)) + 1000.0


def _fit(problem: _Problem, ties: TiesMode) -> tuple[Fit, np.ndarray]:
    result = bt_solver.newton(problem.design, problem.counts, problem.model)
    m = len(problem.battles.models)
    params = result.params[0]
    nu = None if ties == "fastchat" else (math.exp(params[m]) if problem.model == "davidson" else 0.0)
    fitted = Fit(problem.battles.models, _to_ratings(params, m), ties, nu, -float(result.loss[0]),
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
    return _fit(_problem(battles, ties), ties)[0]


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


def leaderboard(battles: Battles, ties: TiesMode = "davidson", bootstrap: int = 1000, seed: int = 0,
                ci: CiMethod = "bootstrap", min_votes: int = 50, level: float = 0.95) -> Leaderboard:
    """Rate the battles: point fit, CIs, Rank(UB), tallies, online Elo and position bias.

    Args:
        battles: The battles, in the order they happened (online Elo uses it; nothing else does).
        ties: ``"davidson"`` or ``"fastchat"`` (see the module docstring).
        bootstrap: Bootstrap rounds for ``ci="bootstrap"``; 0 gives no CIs (Rank(UB) is then the plain rank).
        seed: Seed of ``np.random.default_rng`` for the bootstrap.
        ci: ``"bootstrap"`` (percentile) or ``"sandwich"`` (Huber, normal).
        min_votes: Models with fewer votes are marked preliminary.
        level: Confidence level of the CIs.

    Returns:
        The :class:`Leaderboard`.

    Raises:
        ValueError: No battles, fewer than two models, or a bad argument.
    """
    if ci not in ("bootstrap", "sandwich"):
        raise ValueError(f"ci must be 'bootstrap' or 'sandwich', got {ci!r}")
    if bootstrap < 0 or min_votes < 0 or not 0.0 < level < 1.0:
        raise ValueError("bootstrap and min_votes must be >= 0 and level in (0, 1)")
    # 1. Collapse and fit the full data.
    problem = _problem(battles, ties)
    battles, m = problem.battles, len(problem.battles.models)
    point, params = _fit(problem, ties)
    ratings = point.ratings
    # 2. Confidence intervals.
    low = high = samples = None
    rounds = 0
    if ci == "sandwich":
        cov = bt_solver.sandwich_covariance(params, problem.design, problem.counts, problem.model)
        half = ndtri(0.5 + level / 2.0) * ELO_PER_NAT * np.sqrt(np.maximum(np.diag(cov)[:m], 0.0))
        low, high = ratings - half, ratings + half
    elif bootstrap > 0:
        rounds = bootstrap
        draws = bt_solver.bootstrap_counts(problem.counts, bootstrap, np.random.default_rng(seed))
        # Rounds start from the full-data fit (2-3 Newton steps each), unless the MLE is infinite (separation):
        # then where the iterations stop is the estimate, so every round follows the full fit's path from 0.
        start = None if _separated(problem) else params
        samples = _to_ratings(bt_solver.newton(problem.design, draws, problem.model, init=start).params, m)
        low, high = np.quantile(samples, [(1.0 - level) / 2.0, (1.0 + level) / 2.0], axis=0)
    # 3. Rank(UB); without intervals it is the plain competition rank.
    rank = rank_upper_bound(ratings if low is None else low, ratings if high is None else high)
    # 4. Tallies, side columns, caveats.
    tally = _tallies(battles)
    online = online_elo(battles)
    order = sorted(range(m), key=lambda k: (-ratings[k], battles.models[k]))
    rows = tuple(
        LeaderboardRow(
            model=battles.models[k], rating=float(ratings[k]),
            ci_low=None if low is None else float(low[k]), ci_high=None if high is None else float(high[k]),
            rank_ub=int(rank[k]), votes=int(tally["votes"][k]), wins=int(tally["wins"][k]),
            losses=int(tally["losses"][k]), ties=int(tally["ties"][k]), both_bad=int(tally["both_bad"][k]),
            preliminary=bool(tally["votes"][k] < min_votes), online_elo=float(online[battles.models[k]]))
        for k in order)
    return Leaderboard(
        rows=rows, ties=ties, ci=ci, level=level, n_battles=len(battles), tie_parameter=point.tie_parameter,
        bootstrap=rounds, seed=seed, min_votes=min_votes, tie_rate=float(np.mean(battles.outcome >= 2)),
        position_bias=position_bias(battles, level=level), warnings=_caveats(problem, tally),
        bootstrap_ratings=None if samples is None else samples[:, order], battles=battles)


def _tallies(battles: Battles) -> dict[str, np.ndarray]:
    m, a, b, out = len(battles.models), battles.a, battles.b, battles.outcome

    def count(index: np.ndarray) -> np.ndarray:
        return np.bincount(index, minlength=m)

    tie, bad = out >= 2, out == 3
    return {"votes": count(a) + count(b),
            "wins": count(a[out == 0]) + count(b[out == 1]),
            "losses": count(a[out == 1]) + count(b[out == 0]),
            "ties": count(a[tie]) + count(b[tie]),
            "both_bad": count(a[bad]) + count(b[bad])}


def _separated(problem: _Problem) -> bool:
    """Whether the MLE is infinite: some group of models never lost (nor tied) against the others, i.e. the
    directed graph with an edge from each loser to its winner (ties both ways) is not strongly connected
    (Ford 1957, "Solution of a ranking problem from binary comparisons")."""
    design, counts, m = problem.design, problem.counts, len(problem.battles.models)
    ties = counts[2] > 0
    up = (counts[0] > 0) | ties  # i won or tied against j: edge j -> i
    down = (counts[1] > 0) | ties
    rows = np.concatenate([design.j[up], design.i[down]])
    cols = np.concatenate([design.i[up], design.j[down]])
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(m, m))
    return connected_components(graph, directed=True, connection="strong")[0] > 1


def _caveats(problem: _Problem, tally: dict[str, np.ndarray]) -> tuple[str, ...]:
    """Human-readable warnings about what the ratings can and cannot say."""
    notes = []
    design, m = problem.design, len(problem.battles.models)
    graph = coo_matrix((np.ones(len(design.i)), (design.i, design.j)), shape=(m, m))
    groups = connected_components(graph, directed=False)[0]
    if groups > 1:
        notes.append(f"the comparison graph has {groups} disconnected groups: ratings across groups are not "
                     "comparable")
    for k, name in enumerate(problem.battles.models):
        if tally["losses"][k] == 0 and tally["ties"][k] == 0:
            notes.append(f"{name} never lost or tied: its rating is only a lower bound")
        elif tally["wins"][k] == 0 and tally["ties"][k] == 0:
            notes.append(f"{name} never won or tied: its rating is only an upper bound")
    return tuple(notes)


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
    ratings = [float(initial)] * len(battles.models)
    score_a = np.where(battles.outcome == 0, 1.0, np.where(battles.outcome == 1, 0.0, 0.5))
    slope, exp = math.log(base) / scale, math.exp  # base ** (x / scale) == exp(x * slope)
    # A plain loop: the update is sequential by definition; Python floats are faster than numpy scalars here.
    for ia, ib, score in zip(battles.a.tolist(), battles.b.tolist(), score_a.tolist(), strict=True):
        ra, rb = ratings[ia], ratings[ib]
        delta = k * (score - 1.0 / (1.0 + exp((rb - ra) * slope)))
        ratings[ia] = ra + delta
        ratings[ib] = rb - delta
    return dict(zip(battles.models, ratings, strict=True))


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
    half = float(ndtri(0.5 + level / 2.0)) * se * ELO_PER_NAT
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
