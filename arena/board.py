"""The leaderboard: ratings with confidence intervals, Rank(UB), tallies and caveats, honest on awkward data.

``leaderboard`` rates each group of models that met (see :mod:`arena.identify`) on its own scale, only the models
whose rating the battles identify, and gives an interval only to models with enough votes. Everything else is on
the board with its tallies and a note saying why it has no rating or no interval, and the warnings say what the
numbers cannot claim. The math (fit, bootstrap, sandwich, Rank(UB)) is in :mod:`arena.rating` and
:mod:`arena.bt_solver`; its conventions are in :mod:`arena.rating`'s docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from arena import bt_solver, identify
from arena.battle_table import Battles
from arena.bootstrap import bootstrap_chunks, bootstrap_fits
from arena.bt_solver import ELO_PER_NAT
from arena.rating import (
    CiMethod,
    PositionBias,
    TiesMode,
    normal_quantile,
    online_elo,
    position_bias,
    problem_for,
    rank_upper_bound,
    to_ratings,
)

MIN_BATTLES = 10  # fewer battles than this: the rating is shown, its interval is not (it would mean nothing)


@dataclass(frozen=True)
class LeaderboardRow:
    """One model on the board.

    Attributes:
        model: Model name.
        rating: Elo-scale rating (mean 1000 over its group's rated models); None when not identifiable.
        ci_low: Lower end of the interval; None without one (no bootstrap, too few votes, or no rating).
        ci_high: Upper end.
        rank_ub: Rank(UB) within the model's group among models with intervals (the plain rank without CIs);
            None for models without an interval.
        votes: Battles played.
        wins: Decisive wins.
        losses: Decisive losses.
        ties: Ties of either kind.
        both_bad: "Both bad" ties.
        preliminary: Fewer votes than the session's ``min_votes``.
        online_elo: Sequential Elo (order-dependent; never the headline).
        group: Name of the group of models that met each other.
        note: Why the rating or the interval is missing ("" when both are there).
    """

    model: str
    rating: float | None
    ci_low: float | None
    ci_high: float | None
    rank_ub: int | None
    votes: int
    wins: int
    losses: int
    ties: int
    both_bad: int
    preliminary: bool
    online_elo: float
    group: str = "A"
    note: str = ""


@dataclass(frozen=True, eq=False)
class Leaderboard:
    """A rated board.

    Attributes:
        rows: One row per model: group by group, best rating first, unrated models last.
        ties: Ties mode used.
        ci: CI method used.
        level: Confidence level of the CIs.
        n_battles: Battles rated.
        tie_parameter: Davidson ``nu`` of the largest group; None in ``"fastchat"`` mode.
        bootstrap: Bootstrap rounds run (0 for sandwich CIs).
        seed: Seed of the bootstrap generator.
        min_votes: Rows with fewer votes are marked preliminary.
        tie_rate: Share of battles that were ties (either kind); report it next to ratings.
        position_bias: Left-side advantage (empty when no side is known).
        groups: ``(name, models)`` of each group of models that met, the busiest first.
        prior: Virtual games per model against a reference, half won and half lost (0: none).
        min_battles: Models with fewer battles get no interval.
        warnings: Caveats found in the data (groups, separation, too few votes).
        bootstrap_ratings: ``(bootstrap, M)`` ratings per round in ``rows`` order (NaN where unrated); None for
            sandwich CIs.
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
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    prior: float = 0.0
    min_battles: int = MIN_BATTLES
    warnings: tuple[str, ...] = ()
    bootstrap_ratings: np.ndarray | None = field(default=None, repr=False)
    battles: Battles | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data in the CLI's schema (rows under ``"models"``)."""
        return {"models": [asdict(r) for r in self.rows], "ties": self.ties, "ci": self.ci, "level": self.level,
                "n_battles": self.n_battles, "n_models": len(self.rows), "tie_parameter": self.tie_parameter,
                "tie_rate": self.tie_rate, "bootstrap": self.bootstrap, "seed": self.seed,
                "min_votes": self.min_votes, "min_battles": self.min_battles, "prior": self.prior,
                "groups": [{"name": name, "models": list(models)} for name, models in self.groups],
                "position_bias": self.position_bias.to_dict(), "warnings": list(self.warnings)}


@dataclass
class _GroupFit:
    """Ratings (and intervals) of one group's identifiable models."""

    index: np.ndarray  # (k,) model indices
    ratings: np.ndarray  # (k,)
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    samples: np.ndarray | None = None  # (R, k)
    nu: float | None = None
    finish: Callable[[], None] | None = None  # fits the bootstrap resamples being drawn, then sets the intervals


def leaderboard(battles: Battles, ties: TiesMode = "davidson", bootstrap: int = 1000, seed: int = 0,
                ci: CiMethod = "bootstrap", min_votes: int = 50, level: float = 0.95, prior: float = 0.0,
                min_battles: int = MIN_BATTLES, warm: Leaderboard | None = None) -> Leaderboard:
    """Rate the battles: per-group fits, CIs, Rank(UB), tallies, online Elo, position bias and caveats.

    Args:
        battles: The battles, in the order they happened (online Elo uses it; nothing else does).
        ties: ``"davidson"`` or ``"fastchat"`` (see :mod:`arena.rating`).
        bootstrap: Bootstrap rounds for ``ci="bootstrap"``; 0 gives no CIs (Rank(UB) is then the plain rank).
        seed: Seed of ``np.random.default_rng`` for the bootstrap.
        ci: ``"bootstrap"`` (percentile) or ``"sandwich"`` (Huber, normal).
        min_votes: Models with fewer votes are marked preliminary.
        level: Confidence level of the CIs.
        prior: Opt-in weak prior: this many virtual games of every model against a fixed reference (half won, half
            lost), which makes every rating finite (unbeaten models, one-sided groups) at the price of pulling
            ratings towards the reference.
        min_battles: Models with fewer battles get a rating but no interval ("too few votes").
        warm: An earlier board of (mostly) the same battles: Newton starts from its ratings (and tie parameter),
            which a few more votes move only slightly, so it converges in a step or two. The result is the same
            optimum either way.

    Returns:
        The :class:`Leaderboard`.

    Raises:
        ValueError: No battles, fewer than two models, or a bad argument.
    """
    if ci not in ("bootstrap", "sandwich"):
        raise ValueError(f"ci must be 'bootstrap' or 'sandwich', got {ci!r}")
    if bootstrap < 0 or min_votes < 0 or min_battles < 0 or prior < 0 or not 0.0 < level < 1.0:
        raise ValueError("bootstrap, min_votes, min_battles and prior must be >= 0 and level in (0, 1)")
    # 1. Collapse, find the groups and what each can identify.
    problem = problem_for(battles, ties)
    battles = problem.battles
    structure = identify.analyse(problem.design, problem.counts, battles.models, prior)
    tally = _tallies(battles)
    return _rate(battles, problem, structure, tally, ties, bootstrap, seed, ci, min_votes, level, prior,
                 min_battles, warm)


def _rate(battles: Battles, problem: Any, structure: identify.Structure, tally: dict[str, np.ndarray],
          ties: TiesMode, bootstrap: int, seed: int, ci: CiMethod, min_votes: int, level: float, prior: float,
          min_battles: int, warm: Leaderboard | None) -> Leaderboard:
    """Steps 2 and 3 of :func:`leaderboard`: the fits, then the board."""
    m = len(battles.models)
    # 2. Fit every group's identifiable models, with their intervals (one generator per group, the first group
    #    drawing from the seed's own stream, so a single-group board is what it always was).
    streams = [np.random.default_rng(seed)] + np.random.default_rng(seed).spawn(len(structure.names) - 1)
    fits = []
    for g in range(len(structure.names)):
        index = np.flatnonzero((structure.group == g) & structure.core)
        if len(index) >= 2:
            start = None if warm is None else _warm_start(warm, [battles.models[k] for k in index], ties, prior)
            fits.append(_fit_group(problem, ties, index, prior, ci, bootstrap, level, streams[g], start))
    # Online Elo is a sequential Python loop (a sixth of a second at a million battles) that holds the GIL: it runs
    # here, while other threads draw the bootstrap resamples (numpy's draws do not need the GIL), and before the
    # resamples are fitted (numpy calls in quick succession, each of which would wait for the GIL behind it).
    online = online_elo(battles)
    for group_fit in fits:
        if group_fit.finish is not None:
            group_fit.finish()
    # 3. Assemble: ratings, intervals where the votes allow, Rank(UB) within each group.
    rating = np.full(m, np.nan)
    low, high = np.full(m, np.nan), np.full(m, np.nan)
    samples = np.full((bootstrap if ci == "bootstrap" else 0, m), np.nan)
    for group_fit in fits:
        rating[group_fit.index] = group_fit.ratings
        if group_fit.low is not None:
            low[group_fit.index], high[group_fit.index] = group_fit.low, group_fit.high
        if group_fit.samples is not None:
            samples[:, group_fit.index] = group_fit.samples
    few = tally["votes"] < min_battles
    low[few] = high[few] = np.nan
    intervals = ci == "sandwich" or bootstrap > 0
    rank = _ranks(structure, rating, low, high, intervals)
    notes = [_note(k, structure, rating, tally["votes"], min_battles, intervals) for k in range(m)]
    order = sorted(range(m), key=lambda k: (structure.group[k], np.isnan(rating[k]), -np.nan_to_num(rating[k]),
                                            battles.models[k]))

    def value(array: np.ndarray, k: int) -> float | None:
        return None if np.isnan(array[k]) else float(array[k])

    rows = tuple(
        LeaderboardRow(
            model=battles.models[k], rating=value(rating, k), ci_low=value(low, k), ci_high=value(high, k),
            rank_ub=None if rank[k] == 0 else int(rank[k]), votes=int(tally["votes"][k]), wins=int(tally["wins"][k]),
            losses=int(tally["losses"][k]), ties=int(tally["ties"][k]), both_bad=int(tally["both_bad"][k]),
            preliminary=bool(tally["votes"][k] < min_votes), online_elo=float(online[battles.models[k]]),
            group=structure.names[structure.group[k]], note=notes[k])
        for k in order)
    groups = tuple((name, tuple(battles.models[k] for k in order if structure.group[k] == g))
                   for g, name in enumerate(structure.names))
    nu = None if ties == "fastchat" else next((f.nu for f in fits), None)
    return Leaderboard(
        rows=rows, ties=ties, ci=ci, level=level, n_battles=len(battles), tie_parameter=nu,
        bootstrap=bootstrap if ci == "bootstrap" else 0, seed=seed, min_votes=min_votes,
        tie_rate=float(np.mean(battles.outcome >= 2)), position_bias=position_bias(battles, level=level),
        groups=groups, prior=prior, min_battles=min_battles,
        warnings=_warnings(structure, battles.models, tally["votes"], rating, min_battles, intervals, prior),
        bootstrap_ratings=samples[:, order] if ci == "bootstrap" and bootstrap > 0 else None, battles=battles)


def _warm_start(board: Leaderboard, models: list[str], ties: TiesMode, prior: float) -> np.ndarray:
    """Natural-log starting parameters for a group's models from an earlier board (0 for models it lacks): the
    strengths, the virtual reference's (prior), then Davidson's log nu."""
    earlier = {row.model: row.rating for row in board.rows if row.rating is not None}
    start = [(earlier[m] - 1000.0) / ELO_PER_NAT if m in earlier else 0.0 for m in models]
    if prior > 0:
        start.append(0.0)
    if ties == "davidson":
        nu = board.tie_parameter
        start.append(np.log(nu) if nu else 0.0)
    return np.asarray(start)


def _fit_group(problem: Any, ties: TiesMode, index: np.ndarray, prior: float, ci: CiMethod, bootstrap: int,
               level: float, rng: np.random.Generator, start: np.ndarray | None = None) -> _GroupFit:
    """Fit the cells among ``index`` (remapped to 0..k-1, plus a virtual reference model with a prior)."""
    k = len(index)
    local = np.full(len(problem.battles.models), -1)
    local[index] = np.arange(k)
    keep = (local[problem.design.i] >= 0) & (local[problem.design.j] >= 0)
    i, j, counts = local[problem.design.i[keep]], local[problem.design.j[keep]], problem.counts[:, keep]
    n_models, extra = k, None
    if prior > 0:  # k more cells: every model against reference k, prior / 2 wins each way (a tie in both modes)
        i, j = np.concatenate([i, np.arange(k)]), np.concatenate([j, np.full(k, k)])
        extra = np.zeros((3, k))
        extra[:2] = prior / 2.0
        n_models = k + 1
    design = bt_solver.PairDesign(n_models, i.astype(np.intp), j.astype(np.intp))
    model = "davidson" if ties == "davidson" and counts[2].sum() > 0 else "bt"
    full = counts if extra is None else np.concatenate([counts, extra], axis=1)
    init = start if start is not None and len(start) == design.n_params(model) else None
    params = bt_solver.newton(design, full, model, init=init).params[0]
    nu = None if ties == "fastchat" else (float(np.exp(params[n_models])) if model == "davidson" else 0.0)
    result = _GroupFit(index, to_ratings(params, k), nu=nu)
    if ci == "sandwich":
        cov = bt_solver.sandwich_covariance(params, design, full, model)
        beta = np.diag(cov)[:k]
        half = normal_quantile(0.5 + level / 2.0) * ELO_PER_NAT * np.sqrt(np.maximum(beta, 0.0))
        result.low, result.high = result.ratings - half, result.ratings + half
    elif bootstrap > 0:
        # The resamples are drawn from now on, on other threads; finish() fits them. Rounds start from the full-data
        # fit: the core has a finite MLE by construction. The prior is not data: it is never resampled.
        draws = bootstrap_chunks(counts, bootstrap, rng)

        def finish() -> None:
            result.samples = to_ratings(bootstrap_fits(design, draws, model, params, extra), k)
            result.low, result.high = np.quantile(result.samples, [(1.0 - level) / 2.0, (1.0 + level) / 2.0], axis=0)

        result.finish = finish
    return result


def _ranks(structure: identify.Structure, rating: np.ndarray, low: np.ndarray, high: np.ndarray,
           intervals: bool) -> np.ndarray:
    """Rank(UB) within each group among models with an interval (the plain rank without CIs); 0: no rank."""
    rank = np.zeros(len(rating), dtype=int)
    for g in range(len(structure.names)):
        members = structure.members(g)
        ranked = members[~np.isnan(low[members])] if intervals else members[~np.isnan(rating[members])]
        if len(ranked):
            lo, hi = (low[ranked], high[ranked]) if intervals else (rating[ranked], rating[ranked])
            rank[ranked] = rank_upper_bound(lo, hi)
    return rank


def _note(k: int, structure: identify.Structure, rating: np.ndarray, votes: np.ndarray, min_battles: int,
          intervals: bool) -> str:
    if structure.notes[k]:
        return structure.notes[k]
    if np.isnan(rating[k]):
        return "no other model of its group can be rated with it"
    if intervals and votes[k] < min_battles:
        return f"too few votes for an interval ({votes[k]} battles; {min_battles} needed)"
    return ""


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


def _warnings(structure: identify.Structure, models: tuple[str, ...], votes: np.ndarray, rating: np.ndarray,
              min_battles: int, intervals: bool, prior: float) -> tuple[str, ...]:
    """Human-readable caveats: what the ratings can and cannot say."""
    notes = []
    if len(structure.names) > 1:
        listed = "; ".join(f"{name}: {', '.join(models[k] for k in structure.members(g))}"
                           for g, name in enumerate(structure.names))
        notes.append(f"the models form {len(structure.names)} groups that never met ({listed}): ratings are "
                     "comparable only within a group, each centred on 1000, and Rank(UB) is computed within each")
    for k, name in enumerate(models):
        if structure.notes[k]:
            notes.append(f"{name} {structure.notes[k]}")
    if prior > 0:
        notes.append(f"a weak prior of {prior:g} virtual games per model (half won, half lost) pulls ratings towards "
                     "the reference, the more so the fewer votes a model has")
    few = [models[k] for k in range(len(models)) if intervals and not np.isnan(rating[k]) and votes[k] < min_battles]
    if few:
        notes.append(f"too few votes for an interval (under {min_battles} battles): {', '.join(few)}")
    return tuple(notes)
