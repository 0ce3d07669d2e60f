"""The ratings figure on awkward data: groups that never met are labelled, unrated models are not drawn."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import to_hex

from arena import plots
from arena.board import leaderboard
from arena.rating import Battles


def two_groups_and_an_unbeaten_model(seed: int = 4) -> Battles:
    """Group A: alpha, bravo, charlie trading wins, and zulu, which beats all of them; group B: x-ray and yankee."""
    rng = np.random.default_rng(seed)
    rows = []
    for group in (("alpha", "bravo", "charlie", "zulu"), ("x-ray", "yankee")):
        for _ in range(300):
            a, b = (group[k] for k in rng.choice(len(group), 2, replace=False))
            winner = "model_a" if rng.random() < 0.55 else "model_b"
            if "zulu" in (a, b):
                winner = "model_a" if a == "zulu" else "model_b"
            rows.append((a, b, winner))
    a, b, winner = (np.array(column) for column in zip(*rows, strict=True))
    return Battles.from_arrays(a, b, winner)


def test_the_ratings_plot_labels_the_groups_and_omits_an_unrated_model() -> None:
    board = leaderboard(two_groups_and_an_unbeaten_model(), bootstrap=50)
    assert [name for name, _ in board.groups] == ["A", "B"]
    assert next(r for r in board.rows if r.model == "zulu").rating is None
    figure = plots.plot_ratings(board)
    figure.canvas.draw()
    labels = [tick.get_text() for tick in figure.axes[0].get_yticklabels()]
    rated = [r for r in board.rows if r.rating is not None]
    assert len(labels) == len(rated) == 5 and not any("zulu" in label for label in labels)
    assert labels == [f"{r.rank_ub}. {r.model} [{r.group}]" for r in rated]
    assert {label.rsplit(" ", 1)[1] for label in labels} == {"[A]", "[B]"}
    assert "each group centred on 1000" in figure.axes[0].get_xlabel()
    # One point per rated model, in its group's colour (no row is preliminary here: every model has 50+ votes).
    assert not any(r.preliminary for r in rated)
    colours = [to_hex(container.lines[0].get_color()) for container in figure.axes[0].containers]
    by_group = {group: {c for c, r in zip(colours, rated, strict=True) if r.group == group} for group in "AB"}
    assert len(colours) == 5 and len(by_group["A"]) == len(by_group["B"]) == 1 and by_group["A"] != by_group["B"]


def test_one_group_is_not_labelled() -> None:
    battles = two_groups_and_an_unbeaten_model()
    keep = np.isin(np.array(battles.models)[battles.a], ["x-ray", "yankee"])
    board = leaderboard(battles.subset(keep), bootstrap=20)
    labels = [tick.get_text() for tick in plots.plot_ratings(board).axes[0].get_yticklabels()]
    assert len(labels) == 2 and not any("[" in label for label in labels)
