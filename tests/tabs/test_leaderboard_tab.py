"""The leaderboard tab's figures and tables: intervals from a handful of votes do not stretch the ratings axis,
titles and headers come in the reader's language, and invite aliases name the annotators."""

from __future__ import annotations

import random
from pathlib import Path

import gradio as gr
import pytest

from arena.sessions import LabelingService, SessionConfig
from arena.store import ArenaStore
from tabs import leaderboard as tab
from tabs.common import AppContext, make_i18n
from tests.arena.pools import ADMIN, make_pool


@pytest.fixture
def ctx(tiny_settings, registry, tmp_path: Path) -> AppContext:
    store = ArenaStore(f"sqlite:///{tmp_path / 'arena.db'}", tmp_path / "images")
    service = LabelingService(store, b"k" * 32, ADMIN, rng=random.Random(5), pool_roots=(tmp_path,))
    yield AppContext(tiny_settings, registry, None, make_i18n(), arena=service)
    store.close()


def labelled(ctx: AppContext, tmp_path: Path, votes: int = 13) -> str:
    session = ctx.arena.create_session(ADMIN, SessionConfig(name="few", gold_rate=0.0, repeat_rate=0.0,
                                                            overlap_rate=0.0, min_votes=1, identity="invite"))
    ctx.arena.import_pool(ADMIN, session.id, make_pool(tmp_path / "pool", items=8))
    tokens = {t["alias"]: t["token"] for t in ctx.arena.create_invites(ADMIN, session.id, "ana, bo")}
    for k in range(votes):
        token = tokens["ana" if k % 2 else "bo"]
        served = ctx.arena.next_battle(session.id, token)
        ctx.arena.vote(served.battle_id, token, ("left", "right", "left", "both_good")[k % 4])
    return session.id


def test_wide_intervals_are_cut_at_the_edge_not_stretching_the_axis(ctx: AppContext, tmp_path: Path) -> None:
    board, _ = ctx.arena.leaderboard(labelled(ctx, tmp_path, votes=36), bootstrap=100)
    rated = [row for row in board.rows if row.rating is not None]
    low, high = min(r.rating for r in rated), max(r.rating for r in rated)
    figure = tab.ratings_plot(board)
    left, right = figure.axes[0].get_xlim()
    assert left <= low and right >= high, "every rating is on the plot"
    spread = high - low
    assert right - left <= spread + 2 * max(100.0, 0.35 * spread) + 1, "the axis follows the ratings, not the CIs"
    beyond = sum((r.ci_low < left) + (r.ci_high > right) for r in rated if r.ci_low is not None)
    arrows = [a for a in figure.axes[0].texts if getattr(a, "arrow_patch", None) is not None]
    assert beyond and len(arrows) == beyond, "each interval end beyond the axis is marked with an arrow"


def test_tables_use_aliases_and_the_readers_words(ctx: AppContext, tmp_path: Path) -> None:
    session = labelled(ctx, tmp_path)
    summary, grid, ratings, winrate, counts, quality, data = tab.compute_view(
        ctx, session, "davidson", "overall", "all", "all", False, 50, 0, "bootstrap")
    assert "13 battles" in summary and grid.headers[1] == "Rank (UB)"
    assert {row[0].split(" (")[0] for row in quality.value["data"]} == {"ana", "bo"}
    assert winrate.axes[0].get_title().startswith("Win fraction")
    assert len(data["models"]) == 3


def test_a_session_without_votes_says_so_instead_of_error_badges(ctx: AppContext, tmp_path: Path) -> None:
    session = labelled(ctx, tmp_path, votes=0)
    shown = tab.compute_view(ctx, session, "davidson", "overall", "all", "all", False, 50, 0, "bootstrap")
    assert session in shown[0] and "no votes" in shown[0]
    assert shown[1].visible is False and shown[5].visible is False and shown[6] == {}
    # the API still refuses, naming the field, so a client can tell "empty" from a board
    with pytest.raises(gr.Error, match="session: .*no countable votes"):
        tab.leaderboard(ctx, session)
