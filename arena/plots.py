"""Leaderboard figures: ratings with CI error bars, win-rate heat map, battle-count heat map.

Each function returns a :class:`matplotlib.figure.Figure` drawn on the non-interactive Agg canvas. Figures are
built without ``pyplot``, so nothing global is touched (safe in a multi-threaded Gradio server); matplotlib is
imported inside the functions so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from arena.rating import Battles, Leaderboard

#: Cells are annotated with their values up to this many models.
ANNOTATE_UP_TO = 16


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def plot_ratings(board: Leaderboard, title: str | None = None) -> Figure:
    """Ratings with their confidence intervals, best at the top; preliminary models drawn hollow and grey.

    Args:
        board: A leaderboard.
        title: Figure title; default describes the ties mode and CI.

    Returns:
        The figure.
    """
    # Only what the battles identify: unrated models are not drawn (the table says why); groups are drawn apart,
    # each on its own scale.
    rows = [row for row in board.rows if row.rating is not None]
    grouped = len(board.groups) > 1
    figure = _figure(7.5, 1.2 + 0.32 * max(len(rows), 1))
    ax = figure.add_subplot()
    y = np.arange(len(rows))
    for k, row in enumerate(rows):
        colour = "0.55" if row.preliminary or row.ci_low is None else f"C{ord(row.group[-1]) - ord('A')}"
        error = None
        if row.ci_low is not None:
            error = [[row.rating - row.ci_low], [row.ci_high - row.rating]]
        ax.errorbar(row.rating, y[k], xerr=error, fmt="o", color=colour, capsize=3,
                    markerfacecolor="white" if row.preliminary or row.ci_low is None else colour)
    labels = [f"{'—' if row.rank_ub is None else row.rank_ub}. {row.model}" + (f" [{row.group}]" if grouped else "")
              for row in rows]
    ax.set_yticks(y, [label_text(label) for label in labels])
    ax.invert_yaxis()
    ax.axvline(1000.0, color="0.8", linewidth=0.8, zorder=0)
    scale = "each group centred on 1000" if grouped else "mean 1000"
    ax.set_xlabel(f"rating (Elo scale, {scale})")
    ax.grid(axis="x", alpha=0.3)
    interval = f"{board.level:.0%} {board.ci} CI" if any(row.ci_low is not None for row in rows) else "no CI"
    ax.set_title(label_text(title) if title else f"Ratings ({board.ties} ties, {interval}; Rank(UB) before each name)")
    return figure


def label_text(text: str) -> str:
    """``text`` shown as typed: matplotlib reads ``$...$`` as mathtext, so a model named ``$5-model`` would crash
    the figure; escaped dollars are drawn literally."""
    return text.replace("$", r"\$")


def _heat_map(ax: Axes, names: Sequence[str], values: np.ndarray, cmap: str, vmin: float, vmax: float,
              fmt: str) -> object:
    """Draw ``values`` (NaN shown light grey) with model names on both axes and, when small, the numbers."""
    import matplotlib

    colours = matplotlib.colormaps[cmap].with_extremes(bad="0.92")
    image = ax.imshow(np.ma.masked_invalid(values), cmap=colours, vmin=vmin, vmax=vmax)
    ticks = np.arange(len(names))
    shown = [label_text(name) for name in names]
    ax.set_xticks(ticks, shown, rotation=60, ha="right", rotation_mode="anchor")
    ax.set_yticks(ticks, shown)
    if len(names) <= ANNOTATE_UP_TO:
        diverging = cmap == "RdBu"
        for (r, c), value in np.ndenumerate(values):
            if not np.isfinite(value):
                continue
            shade = (value - vmin) / (vmax - vmin) if vmax > vmin else 0.0
            dark = (shade < 0.2 or shade > 0.8) if diverging else shade > 0.6  # white text on dark cells
            ax.text(c, r, format(value, fmt), ha="center", va="center", fontsize=8,
                    color="white" if dark else "black")
    return image


def plot_win_rate_matrix(battles: Battles, order: Sequence[str] | None = None, title: str | None = None) -> Figure:
    """Heat map of the row model's win fraction against the column model (ties count half; grey: never met).

    Args:
        battles: The battles.
        order: Row/column order (e.g. ``[r.model for r in board.rows]``); default by average win fraction.
        title: Figure title.

    Returns:
        The figure.
    """
    from arena.rating import win_rate_matrix  # scipy-heavy: imported when a plot is drawn, not at start-up

    if order is None:  # strongest first, by average win fraction over the opponents met (no fit needed)
        names, rates = win_rate_matrix(battles)
        met = np.isfinite(rates)
        average = np.where(met, rates, 0.0).sum(axis=1) / np.maximum(met.sum(axis=1), 1)
        order = [names[k] for k in np.argsort(-average, kind="stable")]
    names, rates = win_rate_matrix(battles, order)
    size = 2.5 + 0.45 * len(names)
    figure = _figure(size + 1.0, size)
    ax = figure.add_subplot()
    image = _heat_map(ax, names, rates, "RdBu", 0.0, 1.0, ".2f")
    figure.colorbar(image, ax=ax, shrink=0.8, label="row model's win fraction")
    ax.set_xlabel("opponent")
    ax.set_title(title or "Win fraction (row vs column, ties count half)")
    return figure


def plot_battle_count_matrix(battles: Battles, order: Sequence[str] | None = None,
                             title: str | None = None) -> Figure:
    """Heat map of the number of battles per pair of models (sides pooled).

    Args:
        battles: The battles.
        order: Row/column order; default :attr:`Battles.models`.
        title: Figure title.

    Returns:
        The figure.
    """
    from arena.rating import battle_count_matrix

    names, counts = battle_count_matrix(battles, order)
    size = 2.5 + 0.45 * len(names)
    figure = _figure(size + 1.0, size)
    ax = figure.add_subplot()
    shown = np.where(np.eye(len(names), dtype=bool), np.nan, counts.astype(float))
    image = _heat_map(ax, names, shown, "Blues", 0.0, float(max(counts.max(initial=0), 1)), ".0f")
    figure.colorbar(image, ax=ax, shrink=0.8, label="battles")
    ax.set_title(title or f"Battle counts ({len(battles):,} battles)")
    return figure


def _rated_battles(board: Leaderboard) -> Battles:
    if board.battles is None:
        raise ValueError("this leaderboard carries no battles; use the plot_* function with the battles")
    return board.battles


def ratings_figure(board: Leaderboard) -> Figure:
    """Same as :func:`plot_ratings` (board-level name used by the leaderboard tab)."""
    return plot_ratings(board)


def win_rate_figure(board: Leaderboard) -> Figure:
    """Win-rate heat map of the battles a board was rated on, in the board's order."""
    return plot_win_rate_matrix(_rated_battles(board), [row.model for row in board.rows])


def battle_count_figure(board: Leaderboard) -> Figure:
    """Battle-count heat map of the battles a board was rated on, in the board's order."""
    return plot_battle_count_matrix(_rated_battles(board), [row.model for row in board.rows])
