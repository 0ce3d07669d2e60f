"""Batched Newton solver for Bradley-Terry and Davidson pair-comparison models.

This is the numerical engine behind :mod:`arena.rating`; it knows nothing about model names or files.

Model (natural-log units; :mod:`arena.rating` converts to the Elo scale)
------------------------------------------------------------------------
Battles are collapsed into *cells*: one row ``p`` per pair of models ``(i_p, j_p)`` (optionally with a covariate
``x_p``) holding three counts: wins of ``i``, wins of ``j`` and ties. With strengths ``beta`` the linear predictor
is ``d_p = beta[i_p] - beta[j_p] + h * x_p`` (``h`` exists only when the design has a covariate, e.g. a left-side
advantage) and the per-cell negative log-likelihood is

* ``"bt"`` (Bradley-Terry with FastChat's soft labels): with ``n = w_i + w_j + t`` and ``y = w_i + t / 2``,
  ``loss = y * softplus(-d) + (n - y) * softplus(d) = n * softplus(d) - y * d``, i.e. weighted binary
  cross-entropy of ``sigmoid(d)`` where a tie counts as half a win and half a loss (FastChat ``compute_bt``).
* ``"davidson"`` (Davidson 1970, "On extending the Bradley-Terry model to accommodate ties"): with ``u = d / 2``
  and ``nu = exp(lam)``, dividing numerator and denominator by ``sqrt(pi_i * pi_j)`` gives
  ``P(i) = e^u / Z``, ``P(j) = e^-u / Z``, ``P(tie) = nu / Z`` with ``Z = e^u + e^-u + nu``, so
  ``loss = n * log Z - (w_i - w_j) * u - t * lam``. ``P(i) / P(j) = exp(d)``: given a decisive vote the win
  probability is the plain Bradley-Terry ``sigmoid(d)``, which is what puts both modes on the same scale.

Both losses are convex in ``(beta, lam, h)`` (they are exponential families in those natural parameters), so
Newton's method with a backtracking line search converges; the Hessian is a weighted graph Laplacian in the
``beta`` block. The gauge (adding a constant to every ``beta``) is fixed at *sum zero*: the ``beta`` block of the
Hessian gets ``c * 1 1^T`` added, which leaves the Newton step unchanged on the sum-zero subspace (the gradient
always sums to zero there) and makes the matrix invertible for a connected comparison graph.

Batching
--------
All ``R`` rounds of a bootstrap are solved together: parameters are an ``(R, K)`` array, per-cell terms are
``(R, P)`` arrays, Hessians an ``(R, K, K)`` stack handed to one ``np.linalg.solve`` call. Rounds that have
converged drop out of the active set. This replaces FastChat's one-L-BFGS-per-round loop. Bootstrap rounds, which
start at the full-data fit, take cheaper chord steps (:func:`chord_fits`); :mod:`arena.bootstrap` draws them.

Separation (a model that never lost has an infinite MLE) is handled the way FastChat's ``L-BFGS(maxiter=100,
gtol=1e-6)`` handles it, by stopping: iterations stop once the largest gradient entry of the *mean* loss is below
``gtol`` (then one last Newton step polishes regular parameters to full precision), steps are capped at
``max_step`` and iterations at ``max_iter``, and a tiny ridge keeps the linear systems solvable. A separated
strength therefore ends large but finite (about ``log(n_model / (N * gtol))`` natural units above the rest).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

PairModel = Literal["bt", "davidson"]

#: Elo points per natural-log unit of strength: rating = 400 * beta / ln(10) + 1000.
ELO_PER_NAT = 400.0 / math.log(10.0)


@dataclass(frozen=True, eq=False)
class PairDesign:
    """Which strengths each cell compares.

    Attributes:
        n_models: Number of strengths ``M``.
        i: ``(P,)`` index of the first model of each cell.
        j: ``(P,)`` index of the second model (``i != j``).
        x: ``(P,)`` covariate multiplying the extra parameter ``h`` in ``d``; ``None``: no ``h``.
    """

    n_models: int
    i: np.ndarray
    j: np.ndarray
    x: np.ndarray | None = None
    incidence: np.ndarray = field(init=False, repr=False)
    pair_lo: np.ndarray = field(init=False, repr=False)
    pair_hi: np.ndarray = field(init=False, repr=False)
    pair_of_cell: np.ndarray | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.i.shape != self.j.shape or self.i.ndim != 1:
            raise ValueError("i and j must be 1-D arrays of the same length")
        if np.any(self.i == self.j):
            raise ValueError("a cell cannot compare a model with itself")
        # Dense signed incidence matrix B (P, M): row p has +1 at i_p and -1 at j_p, so grad_beta = g_d @ B.
        incidence = np.zeros((len(self.i), self.n_models))
        rows = np.arange(len(self.i))
        incidence[rows, self.i] = 1.0
        incidence[rows, self.j] = -1.0
        object.__setattr__(self, "incidence", incidence)
        # Unordered pairs: off-diagonal Hessian entries can be written directly when each pair appears once.
        lo, hi = np.minimum(self.i, self.j), np.maximum(self.i, self.j)
        keys, inverse = np.unique(lo * self.n_models + hi, return_inverse=True)
        unique = len(keys) == len(self.i)
        # With unique pairs, keep cell order as pair order; otherwise cells are summed per pair first.
        object.__setattr__(self, "pair_lo", lo if unique else keys // self.n_models)
        object.__setattr__(self, "pair_hi", hi if unique else keys % self.n_models)
        object.__setattr__(self, "pair_of_cell", None if unique else inverse.ravel())

    def n_params(self, model: PairModel) -> int:
        """Parameters per round: ``M`` strengths, then ``lam`` (davidson), then ``h`` (with a covariate)."""
        return self.n_models + (model == "davidson") + (self.x is not None)


@dataclass(frozen=True, eq=False)
class NewtonResult:
    """Solutions of a batch of fits.

    Attributes:
        params: ``(R, K)`` parameters; ``beta = params[:, :M]`` sums to zero per round.
        loss: ``(R,)`` negative log-likelihood at ``params``.
        iterations: ``(R,)`` Newton iterations used.
        converged: ``(R,)`` whether the gradient tolerance was reached within ``max_iter``.
    """

    params: np.ndarray
    loss: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray


def _split(params: np.ndarray, design: PairDesign, model: PairModel) -> tuple[np.ndarray, np.ndarray | None]:
    """``(R, K)`` parameters -> linear predictor ``d`` ``(R, P)`` and ``lam`` ``(R, 1)`` (None for ``"bt"``)."""
    m = design.n_models
    d = params[:, :m] @ design.incidence.T  # a matmul is much faster than two fancy-index gathers
    if design.x is not None:
        d += params[:, -1:] * design.x
    return d, (params[:, m:m + 1] if model == "davidson" else None)


def _stats(counts: np.ndarray, model: PairModel) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Sufficient statistics per cell, computed once per solve: ``n`` battles, the coefficient of ``d`` in the
    log-likelihood (``y = w_i + t/2`` for bt, ``(w_i - w_j) / 2`` for davidson) and ``t`` (davidson only)."""
    w_i, w_j, t = counts[:, 0], counts[:, 1], counts[:, 2]
    n = w_i + w_j + t
    if model == "bt":
        return n, w_i + 0.5 * t, None
    return n, 0.5 * (w_i - w_j), np.ascontiguousarray(t)


def _sigmoid(d: np.ndarray) -> np.ndarray:
    """``1 / (1 + e^-d)`` as ``(1 + tanh(d / 2)) / 2``: overflow-free, and numpy's own (scipy.special's ``expit``
    would add a twentieth of a second of import to every leaderboard CLI run). Its absolute error is that of
    ``tanh``, ~1e-16, which is all the Newton terms built from it need."""
    p = np.multiply(d, 0.5)
    np.tanh(p, out=p)
    p += 1.0
    p *= 0.5
    return p


def _davidson_probs(d: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``log Z`` and ``P(i), P(j), P(tie)`` of the Davidson model, from a single exponential per cell.

    ``u = d / 2`` is clipped to +-300 so ``e^u`` cannot overflow; strengths never get near that (steps and
    iterations are capped), and the probabilities there are 0 or 1 to machine precision anyway.
    """
    grow = np.exp(np.clip(0.5 * d, -300.0, 300.0))
    shrink = 1.0 / grow
    nu = np.exp(lam)
    total = grow + shrink + nu
    inv = 1.0 / total
    return np.log(total), grow * inv, shrink * inv, nu * inv


def _loss(params: np.ndarray, design: PairDesign, stats: tuple, model: PairModel) -> np.ndarray:
    d, lam = _split(params, design, model)
    n, coef, t = stats
    if model == "bt":
        return (n * np.logaddexp(0.0, d) - coef * d).sum(axis=1)
    return (n * _davidson_probs(d, lam)[0] - coef * d - t * lam).sum(axis=1)


def pair_loss(params: np.ndarray, design: PairDesign, counts: np.ndarray, model: PairModel) -> np.ndarray:
    """Negative log-likelihood per round.

    Args:
        params: ``(R, K)`` parameters.
        design: The cells.
        counts: ``(R, 3, P)`` counts: wins of ``i``, wins of ``j``, ties.
        model: ``"bt"`` or ``"davidson"``.

    Returns:
        ``(R,)`` losses.
    """
    return _loss(np.asarray(params, dtype=np.float64), design, _stats(np.asarray(counts, np.float64), model), model)


def _cell_terms(d: np.ndarray, lam: np.ndarray | None, stats: tuple,
                model: PairModel) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None,
                                           np.ndarray | None]:
    """Per-cell derivatives of the loss ``(g_d, g_lam, a, c, e)`` with ``a = d2/dd2``, ``c = d2/dd dlam``,
    ``e = d2/dlam2`` (``g_lam, c, e`` are None for ``"bt"``)."""
    n, coef, t = stats
    if model == "bt":
        n_p = _sigmoid(d)
        a = 1.0 - n_p
        n_p *= n
        a *= n_p  # n p (1 - p)
        return n_p - coef, None, a, None, None
    # Davidson, written with in-place operations (this is the hot loop of the bootstrap): with E = e^(d/2),
    # Z = E + 1/E + nu, P(i) - P(j) = (E - 1/E) / Z and P(i) + P(j) = 1 - P(tie).
    grow = np.clip(d, -600.0, 600.0)
    grow *= 0.5
    np.exp(grow, out=grow)
    shrink = np.reciprocal(grow)
    inv_z = grow + shrink
    inv_z += np.exp(lam)
    np.reciprocal(inv_z, out=inv_z)
    half_diff = np.subtract(grow, shrink, out=grow)
    half_diff *= 0.5
    half_diff *= inv_z
    p_t = np.multiply(inv_z, np.exp(lam), out=shrink)
    n_pt = n * p_t
    g_d = n * half_diff
    g_d -= coef
    a = np.multiply(half_diff, half_diff, out=inv_z)
    a *= -4.0
    a += 1.0
    a -= p_t
    a *= 0.25 * n  # n * (P(i) + P(j)) / 4 - n * ((P(i) - P(j)) / 2)^2
    c = np.multiply(half_diff, n_pt, out=half_diff)
    c *= -1.0
    e = np.subtract(n_pt, n_pt * p_t, out=p_t)
    return g_d, n_pt - t, a, c, e


def _outer_terms(d: np.ndarray, lam: np.ndarray | None, counts: np.ndarray,
                 model: PairModel) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None,
                                            np.ndarray | None]:
    """Like :func:`_cell_terms` but the weights are sums over battles of products of *per-battle* scores (the
    "meat" ``J`` of the sandwich) instead of second derivatives."""
    w_i, w_j, t = counts[:, 0], counts[:, 1], counts[:, 2]
    if model == "bt":
        p = _sigmoid(d)  # per-battle scores of d: i wins p - 1, j wins p, tie p - 1/2
        return np.zeros_like(d), None, w_i * (p - 1.0) ** 2 + w_j * p**2 + t * (p - 0.5) ** 2, None, None
    _, p_i, p_j, p_t = _davidson_probs(d, lam)
    # Per-battle scores (d, lam): i wins (hd - 1/2, pt), j wins (hd + 1/2, pt), tie (hd, pt - 1).
    hd = 0.5 * (p_i - p_j)
    s_i, s_j, s_lt = hd - 0.5, hd + 0.5, p_t - 1.0
    a = w_i * s_i**2 + w_j * s_j**2 + t * hd**2
    c = (w_i * s_i + w_j * s_j) * p_t + t * hd * s_lt
    e = (w_i + w_j) * p_t**2 + t * s_lt**2
    return np.zeros_like(d), np.zeros_like(d), a, c, e


def _assemble(design: PairDesign, model: PairModel, g_d: np.ndarray, g_lam: np.ndarray | None, a: np.ndarray,
              c: np.ndarray | None, e: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Chain rule from per-cell terms to the ``(R, K)`` gradient and ``(R, K, K)`` Hessian (or outer product)."""
    rounds, m = a.shape[0], design.n_models
    k = design.n_params(model)
    grad = _gradient(design, model, g_d, g_lam)
    hess = np.zeros((rounds, k, k))
    # 1. beta block: weighted Laplacian. Off-diagonals are -sum of weights per unordered pair, diagonal the
    #    negated row sums (written after the off-diagonals so the diagonal starts from zero).
    pair_w = a
    if design.pair_of_cell is not None:
        n_pairs = len(design.pair_lo)
        offsets = (np.arange(rounds) * n_pairs)[:, None]
        pair_w = np.bincount((offsets + design.pair_of_cell).ravel(), a.ravel(),
                             minlength=rounds * n_pairs).reshape(rounds, n_pairs)
    block = hess[:, :m, :m]
    block[:, design.pair_lo, design.pair_hi] = -pair_w
    block[:, design.pair_hi, design.pair_lo] = -pair_w
    diag = np.arange(m)
    block[:, diag, diag] = -block.sum(axis=2)
    # 2. Tie parameter row/column.
    if model == "davidson":
        hess[:, :m, m] = hess[:, m, :m] = c @ design.incidence
        hess[:, m, m] = e.sum(axis=1)
    # 3. Covariate parameter h: d depends on h through x.
    if design.x is not None:
        x = design.x
        hess[:, :m, -1] = hess[:, -1, :m] = (a * x) @ design.incidence
        hess[:, -1, -1] = (a * x * x).sum(axis=1)
        if model == "davidson":
            hess[:, m, -1] = hess[:, -1, m] = (c * x).sum(axis=1)
    return grad, hess


def _gradient(design: PairDesign, model: PairModel, g_d: np.ndarray, g_lam: np.ndarray | None) -> np.ndarray:
    """Chain rule from per-cell first derivatives to the ``(R, K)`` gradient."""
    m = design.n_models
    grad = np.empty((g_d.shape[0], design.n_params(model)))
    grad[:, :m] = g_d @ design.incidence
    if model == "davidson":
        grad[:, m] = g_lam.sum(axis=1)
    if design.x is not None:
        grad[:, -1] = (g_d * design.x).sum(axis=1)
    return grad


def objective(params: np.ndarray, design: PairDesign, counts: np.ndarray,
              model: PairModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Loss, gradient and Hessian of the negative log-likelihood (no gauge term), per round.

    Args:
        params: ``(R, K)`` parameters (see :meth:`PairDesign.n_params` for the layout).
        design: The cells.
        counts: ``(R, 3, P)`` counts.
        model: ``"bt"`` or ``"davidson"``.

    Returns:
        ``loss (R,)``, ``grad (R, K)``, ``hess (R, K, K)``.
    """
    params = np.asarray(params, dtype=np.float64)
    stats = _stats(np.asarray(counts, dtype=np.float64), model)
    d, lam = _split(params, design, model)
    grad, hess = _assemble(design, model, *_cell_terms(d, lam, stats, model))
    return _loss(params, design, stats, model), grad, hess


def _gauge_in_place(hess: np.ndarray, m: int) -> np.ndarray:
    """Add ``c 1 1^T`` to the beta block (sum-zero gauge) and a tiny ridge (disconnected graphs, separation)."""
    scale = np.einsum("rkk->rk", hess)[:, :m].mean(axis=1) + 1e-12
    hess[:, :m, :m] += (scale / m)[:, None, None]
    idx = np.arange(hess.shape[1])
    hess[:, idx, idx] += 1e-10 * scale[:, None] + 1e-12
    return hess


def _natural_change(step: np.ndarray, design: PairDesign, model: PairModel) -> np.ndarray:
    """Largest change of a natural parameter of the cell distributions (``d / 2`` and ``lam``) along a step.

    Both losses are sums of log-partition functions of the cells' outcome distributions, whose Hessian changes by
    at most a factor ``e^(2 delta)`` when every natural parameter moves by at most ``delta``. Along a Newton step
    with decrement ``l2`` the loss therefore drops by at least ``l2 * (1 - e^(2 delta) / 2)``, which is positive
    (and satisfies Armijo's condition) for ``delta < 0.34``, so no line search is needed there.
    """
    d_change, lam_change = _split(step, design, model)
    change = 0.5 * np.abs(d_change).max(axis=1)
    return change if lam_change is None else np.maximum(change, np.abs(lam_change[:, 0]))


def newton(design: PairDesign, counts: np.ndarray, model: PairModel, init: np.ndarray | None = None, *,
           gtol: float = 1e-6, xtol: float = 1e-3, max_iter: int = 100, max_step: float = 5.0) -> NewtonResult:
    """Fit all rounds at once by damped Newton with the sum-zero gauge.

    Args:
        design: The cells.
        counts: ``(R, 3, P)`` (or ``(3, P)`` for one fit) counts.
        model: ``"bt"`` or ``"davidson"``.
        init: ``(K,)`` or ``(R, K)`` starting parameters (e.g. the full-data fit); default zeros, with ``lam``
            set from the overall tie fraction.
        gtol: A round has converged when ``max |grad| / N`` (gradient of the *mean* loss, like FastChat's
            L-BFGS ``gtol``) is below this; the Newton step computed there is still taken, which polishes the
            solution to full precision.
        xtol: ...or when a full Newton step moved no parameter by more than this (natural-log units): Newton
            converges quadratically, so the remaining error is of the order of its square.
        max_iter: Iteration cap per round (bounds separated strengths).
        max_step: Largest change of any parameter per iteration, in natural-log units.

    Returns:
        A :class:`NewtonResult`.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim == 2:
        counts = counts[None]
    rounds, m, k = counts.shape[0], design.n_models, design.n_params(model)
    # 1. Starting point.
    params = np.zeros((rounds, k))
    if init is not None:
        params[:] = init
    elif model == "davidson":
        totals = counts.sum(axis=(0, 2))
        tie_share = np.clip(totals[2] / max(totals.sum(), 1.0), 1e-6, 1.0 - 1e-6)
        params[:, m] = math.log(2.0 * tie_share / (1.0 - tie_share))  # P(tie) at equal strengths
    params[:, :m] -= params[:, :m].mean(axis=1, keepdims=True)
    n_total = np.maximum(counts.sum(axis=(1, 2)), 1.0)
    stats = _stats(counts, model)
    iterations = np.zeros(rounds, dtype=np.int64)
    converged = np.zeros(rounds, dtype=bool)
    active = np.arange(rounds)
    for _ in range(max_iter):
        if active.size == 0:
            break
        # 2. Gradient and Hessian of the still-active rounds.
        sub = stats if active.size == rounds else tuple(None if s is None else s[active] for s in stats)
        x = params[active]
        d, lam = _split(x, design, model)
        grad, hess = _assemble(design, model, *_cell_terms(d, lam, sub, model))
        done = np.abs(grad).max(axis=1) / n_total[active] < gtol
        # 3. Newton direction on the sum-zero subspace, capped in size.
        step = np.linalg.solve(_gauge_in_place(hess, m), -grad[..., None])[..., 0]
        biggest = np.abs(step).max(axis=1)
        step *= np.minimum(1.0, max_step / np.maximum(biggest, 1e-300))[:, None]
        # 4. Step-halving (Armijo) line search, only where the full step is not provably safe (see
        #    _natural_change) and the Newton decrement is above the round-off of the summed loss (1e-3 nats).
        slope = (grad * step).sum(axis=1)
        alpha = np.ones(len(active))
        searching = np.flatnonzero((-slope > 1e-3) & (_natural_change(step, design, model) > 0.34))
        if searching.size:
            part = tuple(None if s is None else s[searching] for s in sub)
            loss = _loss(x[searching], design, part, model)
            for _halving in range(40):
                trial = x[searching] + alpha[searching, None] * step[searching]
                bad = ~(_loss(trial, design, part, model) <= loss + 1e-4 * alpha[searching] * slope[searching])
                if not bad.any():
                    break
                alpha[searching[bad]] *= 0.5
                searching, loss = searching[bad], loss[bad]
                part = tuple(None if s is None else s[bad] for s in part)
            else:
                alpha[searching] = 0.0  # no decrease found: stop this round where it is
        x += alpha[:, None] * step
        x[:, :m] -= x[:, :m].mean(axis=1, keepdims=True)
        params[active] = x
        iterations[active] += 1
        done |= (alpha == 1.0) & (biggest < xtol)
        converged[active[done]] = True
        active = active[~(done | (alpha == 0.0))]
    return NewtonResult(params, _loss(params, design, stats, model), iterations, converged)


def chord_fits(design: PairDesign, counts: np.ndarray, model: PairModel, init: np.ndarray, *, xtol: float = 1e-6,
               max_iter: int = 12, max_ratio: float = 0.5) -> np.ndarray:
    """Fit rounds of counts close to those ``init`` was fitted on (bootstrap resamples) by the chord method.

    Each step is a Newton step with the Hessian at ``init`` on the rounds' mean counts, gauged and inverted once,
    instead of every round's own Hessian: a resample's Hessian differs from that by about one over the square root
    of its battles per cell, so each step shrinks the error by a similar factor (0.03 at a million battles), and a
    step costs one gradient and one ``(K, K)`` product per round instead of assembling and solving a ``(K, K)``
    system. A round stops when its step moved no parameter by more than ``xtol``; with every step at
    most ``max_ratio`` of the one before (checked on the gradient), the error left is then below ``xtol``. A round
    whose gradient does not shrink that fast (few battles per cell, a model that never lost) is fitted by
    :func:`newton` from ``init`` instead, as is one still moving after ``max_iter`` steps.

    Args:
        design: The cells.
        counts: ``(R, 3, P)`` counts.
        model: ``"bt"`` or ``"davidson"``.
        init: ``(K,)`` the fit of the counts the rounds resample (every round starts there).
        xtol: Largest parameter change of a last step, in natural-log units (1e-6 is 4e-4 Elo).
        max_iter: Steps before a round is handed to :func:`newton`.
        max_ratio: Largest ratio of successive largest gradient entries before a round is handed to :func:`newton`.

    Returns:
        ``(R, K)`` parameters.
    """
    counts = np.asarray(counts, dtype=np.float64)
    rounds, m = counts.shape[0], design.n_models
    # 1. The Hessian at init, on the rounds' mean counts, gauged and inverted: (K, K).
    start = np.asarray(init, dtype=np.float64)[None]
    d, lam = _split(start, design, model)
    _, hess = _assemble(design, model, *_cell_terms(d, lam, _stats(counts.mean(axis=0)[None], model), model))
    inverse = np.linalg.inv(_gauge_in_place(hess, m))[0]
    # 2. Chord steps for the rounds still moving.
    params = np.repeat(start, rounds, axis=0)  # (R, K)
    stats = _stats(counts, model)
    previous = np.full(rounds, np.inf)
    failed = np.zeros(rounds, dtype=bool)
    active = np.arange(rounds)
    for _ in range(max_iter):
        sub = stats if active.size == rounds else tuple(None if s is None else s[active] for s in stats)
        x = params[active]
        d, lam = _split(x, design, model)
        g_d, g_lam, *_ = _cell_terms(d, lam, sub, model)
        grad = _gradient(design, model, g_d, g_lam)  # (A, K)
        size = np.abs(grad).max(axis=1)
        slow = size > max_ratio * previous[active]
        step = grad @ inverse  # (A, K), the inverse being symmetric
        x -= step
        x[:, :m] -= x[:, :m].mean(axis=1, keepdims=True)
        params[active[~slow]] = x[~slow]
        failed[active[slow]] = True
        previous[active] = size
        active = active[~slow & (np.abs(step).max(axis=1) > xtol)]
        if active.size == 0:
            break
    failed[active] = True
    # 3. Newton for the rounds the chord did not settle.
    if failed.any():
        params[failed] = newton(design, counts[failed], model, init=init).params
    return params


def sandwich_covariance(params: np.ndarray, design: PairDesign, counts: np.ndarray,
                        model: PairModel) -> np.ndarray:
    """Huber sandwich covariance ``H^-1 J H^-1`` of the gauge-fixed (sum-zero) parameters of one fit.

    ``J`` sums outer products of per-battle scores; with the ``c 1 1^T`` gauge term, ``H^-1`` acts as the
    pseudo-inverse on the sum-zero subspace, so the ``beta`` block is the covariance of the centred strengths.

    Args:
        params: ``(K,)`` fitted parameters.
        design: The cells.
        counts: ``(3, P)`` counts.
        model: ``"bt"`` or ``"davidson"``.

    Returns:
        ``(K, K)`` covariance in natural-log units.
    """
    params = np.asarray(params, dtype=np.float64)[None]
    counts = np.asarray(counts, dtype=np.float64)[None]
    d, lam = _split(params, design, model)
    _, hess = _assemble(design, model, *_cell_terms(d, lam, _stats(counts, model), model))
    _, meat = _assemble(design, model, *_outer_terms(d, lam, counts, model))
    bread = np.linalg.inv(_gauge_in_place(hess, design.n_models))[0]
    cov = bread @ meat[0] @ bread
    return 0.5 * (cov + cov.T)


def collapse(a: np.ndarray, b: np.ndarray, outcome: np.ndarray, n_models: int) -> tuple[PairDesign, np.ndarray]:
    """Collapse battles to one cell per unordered pair ``i < j`` that met.

    Args:
        a: ``(N,)`` index of model A per battle.
        b: ``(N,)`` index of model B.
        outcome: ``(N,)`` codes: 0 A wins, 1 B wins, 2 and 3 ties.
        n_models: Number of models.

    Returns:
        The design and ``(3, P)`` counts (wins of ``i``, wins of ``j``, ties).
    """
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = lo.astype(np.int64) * n_models + hi
    if n_models * n_models <= 1 << 22:  # counting beats sorting a million keys: O(N) instead of O(N log N)
        present = np.bincount(key, minlength=n_models * n_models) > 0
        keys = np.flatnonzero(present)
        pair = (np.cumsum(present) - 1)[key]
    else:
        keys, pair = np.unique(key, return_inverse=True)
    winner = np.where(outcome == 0, a, b)
    # Cell type: 0 the lower index won, 1 the higher index won, 2 tie (both kinds).
    kind = np.where(outcome >= 2, 2, np.where(winner == lo, 0, 1))
    counts = np.bincount(kind * len(keys) + pair.ravel(), minlength=3 * len(keys)).reshape(3, len(keys))
    design = PairDesign(n_models, (keys // n_models).astype(np.intp), (keys % n_models).astype(np.intp))
    return design, counts.astype(np.float64)
