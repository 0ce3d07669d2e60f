"""Bootstrap resampling of collapsed battle counts, and the fits of the resamples.

A bootstrap round resamples the ``N`` battles with replacement (FastChat ``compute_bootstrap_bt``). Collapsed into
cells, that is one ``Multinomial(N, counts / N)`` draw per round, which is what :func:`multinomial_rounds` draws,
exactly but about 1.7 times as fast as numpy's own ``Generator.multinomial`` at a million battles over thousands of
cells (one sequential binomial per cell there, the largest cost of a leaderboard's bootstrap).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from arena.bt_solver import PairDesign, PairModel, chord_fits


def multinomial_rounds(counts: np.ndarray, rounds: int, rng: np.random.Generator) -> np.ndarray:
    """``rounds`` independent draws of ``Multinomial(N, counts / N)`` with ``N = counts.sum()``.

    Each round is drawn in three steps, all rounds at once:

    1. independent Poisson counts ``Y_c ~ Poisson(mu * p_c)`` with ``mu = N - 2 sqrt(N)``: given their total ``T``,
       ``Y`` is ``Multinomial(T, p)`` (a property of independent Poisson variables);
    2. a round whose ``T`` exceeds ``N`` (about 2% of them) is drawn again, which changes the distribution of ``T``
       but not that of ``Y`` given ``T``;
    3. the ``N - T`` battles still missing (about ``2 sqrt(N)``) are drawn one by one from ``p`` (by inverting the
       cumulative counts) and added. ``Multinomial(T, p)`` plus an independent ``Multinomial(N - T, p)`` is
       ``Multinomial(N, p)`` whatever ``T`` is, so every round is exactly ``Multinomial(N, p)``.

    A cell with no battles never gets one.

    Args:
        counts: ``(C,)`` non-negative integer-valued counts, not all zero.
        rounds: Number of rounds.
        rng: Random generator.

    Returns:
        ``(rounds, C)`` int64 counts, each row summing to ``N``.
    """
    cells = np.rint(np.asarray(counts, dtype=np.float64)).astype(np.int64)
    cumulative = np.cumsum(cells)
    n = int(cumulative[-1])
    rate = cells * (max(n - 2.0 * math.sqrt(n), 0.0) / n)
    # 1. and 2. Poisson counts, rounds over N drawn again.
    drawn = rng.poisson(rate, size=(rounds, len(cells)))
    while (over := np.flatnonzero(drawn.sum(axis=1) > n)).size:
        drawn[over] = rng.poisson(rate, size=(over.size, len(cells)))
    # 3. The missing battles: uniform positions among the N battles, mapped to their cells. Sorted within each round
    #    first (the key is round * N + position), because numpy's binary search starts from the last match when its
    #    keys ascend: half the time of searching them unsorted, sort included.
    missing = n - drawn.sum(axis=1)  # (rounds,)
    key = np.repeat(np.arange(rounds, dtype=np.int64) * n, missing) + rng.integers(0, n, size=int(missing.sum()))
    key.sort()
    round_of, position = np.divmod(key, n)
    slot = round_of * len(cells) + np.searchsorted(cumulative, position, side="right")
    drawn += np.bincount(slot, minlength=rounds * len(cells)).reshape(rounds, len(cells))
    return drawn


def bootstrap_chunks(counts: np.ndarray, rounds: int, rng: np.random.Generator,
                     chunk: int = 250) -> Iterator[np.ndarray]:
    """Resample battles with replacement, chunk by chunk: one multinomial draw of ``N`` battles over the cells per
    round (:func:`multinomial_rounds`).

    Equivalent in distribution to resampling the battle rows themselves (FastChat ``compute_bootstrap_bt``). The
    rounds are drawn in chunks of ``chunk`` from independent child generators (``rng.spawn``) on a thread pool,
    starting when this is called: numpy's random draws do not hold the GIL, so they use the other cores while the
    caller works on (the chunks it already has, or anything else), and the result depends only on ``rng``'s seed,
    ``rounds`` and ``chunk``, never on the number of cores.

    Args:
        counts: ``(3, P)`` integer-valued counts.
        rounds: Number of bootstrap rounds ``R``.
        rng: Random generator (seeded by the caller); it is advanced by spawning.
        chunk: Rounds per child generator.

    Returns:
        An iterator of ``(r, 3, P)`` float counts, ``r <= chunk``, ``R`` rounds in all, in a fixed order.
    """
    shape = np.shape(counts)
    flat = np.asarray(counts, dtype=np.float64).ravel()
    streams = rng.spawn(max(1, -(-rounds // chunk)))
    sizes = [min(chunk, rounds - k * chunk) for k in range(len(streams))]

    def draw(k: int) -> np.ndarray:
        return multinomial_rounds(flat, sizes[k], streams[k]).reshape(sizes[k], *shape).astype(np.float64)

    pool = ThreadPoolExecutor(min(len(streams), os.cpu_count() or 1), thread_name_prefix="bootstrap-draws")
    pending = [pool.submit(draw, k) for k in range(len(streams))]
    pool.shutdown(wait=False)  # the submitted draws still run; the threads end with the last one
    return (future.result() for future in pending)


def bootstrap_counts(counts: np.ndarray, rounds: int, rng: np.random.Generator, chunk: int = 250) -> np.ndarray:
    """All rounds of :func:`bootstrap_chunks` at once: ``(R, 3, P)`` float counts."""
    return np.concatenate(list(bootstrap_chunks(counts, rounds, rng, chunk)))


def bootstrap_fits(design: PairDesign, draws: Iterable[np.ndarray], model: PairModel, init: np.ndarray,
                   extra: np.ndarray | None = None) -> np.ndarray:
    """Fit bootstrap resamples chunk by chunk, each while the next ones are still being drawn.

    Args:
        design: The cells: those of the draws, then those of ``extra``.
        draws: ``(r, 3, P)`` resampled counts per chunk (:func:`bootstrap_chunks`).
        model: ``"bt"`` or ``"davidson"``.
        init: ``(K,)`` the full-data fit: every round starts there (see :func:`arena.bt_solver.chord_fits`).
        extra: ``(3, Q)`` counts appended to every round unresampled (a prior's virtual games: not data).

    Returns:
        ``(R, K)`` parameters.
    """
    solved = []
    for chunk in draws:
        if extra is not None:
            chunk = np.concatenate([chunk, np.broadcast_to(extra, (len(chunk), *extra.shape))], axis=2)
        solved.append(chord_fits(design, chunk, model, init))
    return np.concatenate(solved)
