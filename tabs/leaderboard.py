"""Leaderboard tab: Bradley-Terry ratings with confidence intervals, Rank(UB), slices, position bias, plots and
annotator quality for a labeling session."""

from __future__ import annotations

from typing import Any

import gradio as gr

from arena import plots
from arena.sessions import NoVotesYet
from backends.core.errors import InvalidInput
from tabs.common import AppContext, bind, message, tr, ui_errors

TABLE_COLUMNS = ("group", "rank", "model", "rating", "ci", "votes", "wlt", "online_elo", "status")
QUALITY_COLUMNS = ("annotator", "group", "votes", "gold", "repeats", "left_rate", "median_s", "flagged", "excluded")


def session_choices(ctx: AppContext) -> list[tuple[str, str]]:
    """Every session (imported battle logs included), as (label, id)."""
    return [(f"{s.name} ({s.id})", s.id) for s in ctx.arena.store.sessions()]


def table(data: dict[str, Any]) -> list[list[Any]]:
    """The leaderboard JSON as table rows, in the reader's language."""
    rows = []
    for m in data["models"]:
        if m["ci_low"] is not None:
            interval = f"{m['ci_low']:.0f} – {m['ci_high']:.0f}"
        else:  # no interval: say why instead of showing a number that means nothing
            interval = tr("lb.too_few") if m["rating"] is not None and m.get("note") else ""
        status = "; ".join(s for s in (tr("lb.preliminary") if m.get("preliminary") else "",
                                       message(m.get("note", "")) if m.get("note") else "") if s)
        rows.append([m.get("group", ""), "—" if m["rank_ub"] is None else m["rank_ub"], m["model"],
                     "—" if m["rating"] is None else round(m["rating"], 1), interval, m["votes"],
                     f"{m.get('wins', '')} / {m.get('losses', '')} / {m.get('ties', '')}",
                     round(m["online_elo"], 1) if m.get("online_elo") is not None else "", status])
    return rows


def quality_table(report: dict[str, Any]) -> list[list[Any]]:
    """Per-annotator quality as table rows: the alias an invite was given where there is one."""

    def pct(value: float | None) -> str:
        return "" if value is None else f"{value:.0%}"

    def who(q: dict[str, Any]) -> str:  # the alias, with the id exclusions use
        return f"{q['alias']} ({q['annotator']})" if q.get("alias") else q["annotator"]

    return [[who(q), q["group"], q["votes"], f"{pct(q['gold_accuracy'])} ({q['gold']})",
             f"{pct(q['consistency'])} ({q['repeats']})", pct(q["left_rate"]),
             "" if q["median_seconds"] is None else round(q["median_seconds"], 1),
             "; ".join(message(r) for r in q["reasons"]) or "", tr("lb.yes") if q["excluded"] else ""]
            for q in report["annotators"]]


def summary(data: dict[str, Any], report: dict[str, Any]) -> str:
    """Ties, battles, position bias and agreement in a few lines."""
    lines = [tr("lb.summary", battles=data["n_battles"], ties=data["ties"], ci=data.get("ci", "bootstrap"),
                rounds=data.get("bootstrap", 0), seed=data.get("seed", 0))]
    lines += [f"**{tr('lb.caveat')}** {message(warning)}" for warning in data.get("warnings", [])]
    if data.get("tie_parameter") is not None:
        lines.append(tr("lb.davidson", nu=f"{data['tie_parameter']:.3f}"))
    bias = data.get("position_bias") or {}
    if bias.get("elo") is not None:
        lines.append(tr("lb.position_bias", elo=f"{bias['elo']:+.1f}", low=f"{bias['ci_low']:+.1f}",
                        high=f"{bias['ci_high']:+.1f}", share=f"{bias['left_win_rate']:.1%}"))
    overall = report["agreement"]["overall"]
    alpha = "n/a" if overall["alpha"] is None else f"{overall['alpha']:.2f}"
    lines.append(tr("lb.agreement", alpha=alpha, units=overall["units"]))
    return "\n\n".join(lines)


def ratings_plot(board: Any) -> Any:
    """Ratings with their intervals, the axis kept to the ratings themselves: an interval from a handful of votes
    can span thousands of points and would squash every point into one spot, so it is cut at the edge and marked
    with an arrow (the table has the full numbers)."""
    figure = plots.plot_ratings(board, title=tr("lb.ratings_title"))
    ax = figure.axes[0]
    rated = [row for row in board.rows if row.rating is not None]
    if rated:
        low, high = min(r.rating for r in rated), max(r.rating for r in rated)
        pad = max(100.0, 0.35 * (high - low))
        lo, hi = low - pad, high + pad
        ax.set_xlim(lo, hi)
        for k, row in enumerate(rated):
            if row.ci_low is not None and row.ci_low < lo:
                ax.annotate("", xy=(lo, k), xytext=(lo + 0.06 * (hi - lo), k), arrowprops={"arrowstyle": "->"})
            if row.ci_high is not None and row.ci_high > hi:
                ax.annotate("", xy=(hi, k), xytext=(hi - 0.06 * (hi - lo), k), arrowprops={"arrowstyle": "->"})
    ax.set_xlabel(tr("lb.ratings_axis"))
    return readable(figure)


def readable(figure: Any) -> Any:
    """Chinese text in a figure drawn with a font that has it (matplotlib's default shows empty boxes)."""
    from matplotlib import font_manager
    from matplotlib.text import Text

    fonts = [f for f in font_manager.fontManager.ttflist if "CJK" in f.name]
    cjk = next((f.fname for f in sorted(fonts, key=lambda f: "Sans" not in f.name)), None)
    if cjk is None:
        return figure
    for text in figure.findobj(Text):
        if any("\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u30ff" for ch in text.get_text()):
            text.set_fontproperties(font_manager.FontProperties(fname=cjk, size=text.get_fontsize()))
    return figure


def heat_maps(board: Any) -> tuple[Any, Any]:
    """The win-rate and battle-count heat maps, titled in the reader's language."""
    battles, order = board.battles, [row.model for row in board.rows]
    win = plots.plot_win_rate_matrix(battles, order, title=tr("lb.winrate_title"))
    win.axes[0].set_xlabel(tr("lb.opponent"))
    win.axes[-1].set_ylabel(tr("lb.winrate_bar"))
    count = plots.plot_battle_count_matrix(battles, order, title=tr("lb.counts_title", battles=len(battles)))
    count.axes[-1].set_ylabel(tr("lb.counts_bar"))
    return readable(win), readable(count)


@ui_errors
def leaderboard(ctx: AppContext, session: str, ties: str = "davidson", criterion: str = "overall",
                language: str = "all", group: str = "all", exclude_flagged: bool = False, bootstrap: float = 200,
                seed: float = 0, ci: str = "bootstrap") -> dict[str, Any]:
    """The session's leaderboard as JSON: models with rating, ci_low, ci_high, rank_ub, votes, preliminary.

    Args:
        session: session id.
        ties: "davidson" (ties modelled, default) or "fastchat" (a tie is half a win, the published method).
        criterion: "overall" or one of the session's criteria.
        language: "all", "zh", "en" or "mixed" (prompt language).
        group: "all" or an annotator group.
        exclude_flagged: leave out annotators flagged by the quality checks.
        bootstrap: bootstrap rounds for the confidence intervals.
        seed: bootstrap seed.
        ci: "bootstrap" or "sandwich".
    """
    _board, data = ctx.arena.leaderboard(session, ties, criterion, language, group or "all", exclude_flagged,
                                         bootstrap, seed, ci)
    return data


@ui_errors
def compute_view(ctx: AppContext, session: str, ties: str, criterion: str, language: str, group: str,
                 exclude_flagged: bool, bootstrap: float, seed: float, ci: str) -> list[Any]:
    """The board on screen: summary, table, plots, annotator quality and the JSON."""
    try:
        board, data = ctx.arena.leaderboard(session, ties, criterion, language, group or "all", exclude_flagged,
                                            bootstrap, seed, ci)
    except NoVotesYet:  # early, not wrong: say so in the summary instead of error badges on every panel
        hidden = gr.Dataframe(visible=False)
        return [tr("lb.no_votes_yet", session=session), hidden, None, None, None, hidden, {}]
    report = ctx.arena.quality_report(session)
    headers = [tr(f"lb.col.{c}") for c in TABLE_COLUMNS]
    quality_headers = [tr(f"lb.qcol.{c}") for c in QUALITY_COLUMNS]
    return [summary(data, report), gr.Dataframe(value=table(data), headers=headers, visible=True),
            ratings_plot(board), *heat_maps(board),
            gr.Dataframe(value=quality_table(report), headers=quality_headers, visible=True), data]


def criteria_for(ctx: AppContext, session: str) -> Any:
    """The criteria a session offers, for the criterion dropdown."""
    try:
        names = ctx.arena.store.session(session).config.get("criteria", [])
    except InvalidInput:  # an unknown (or half-typed) session simply offers "overall"
        names = []
    return gr.Dropdown(choices=[(tr("lb.overall"), "overall"), *[(n.replace("_", " "), n) for n in names]],
                       value="overall")


def build(ctx: AppContext) -> dict[str, Any]:
    """Lay out the leaderboard tab and wire it."""
    i18n = ctx.i18n
    with gr.Row():
        session = gr.Dropdown(label=i18n("arena.session"), choices=session_choices(ctx), allow_custom_value=True,
                              elem_id="lb-session", scale=3, min_width=220)
        ties = gr.Radio([(i18n("lb.ties.davidson"), "davidson"), (i18n("lb.ties.fastchat"), "fastchat")],
                        value="davidson", label=i18n("lb.ties"), elem_id="lb-ties", min_width=220)
        ci = gr.Radio([(i18n("lb.ci.bootstrap"), "bootstrap"), (i18n("lb.ci.sandwich"), "sandwich")],
                      value="bootstrap", label=i18n("lb.ci"), min_width=200)
    with gr.Row():
        criterion = gr.Dropdown([(i18n("lb.overall"), "overall")], value="overall", label=i18n("lb.criterion"),
                                allow_custom_value=True, min_width=160)
        language = gr.Dropdown([(i18n(f"lb.language.{v}"), v) for v in ("all", "zh", "en", "mixed")], value="all",
                               label=i18n("lb.language"), min_width=140)
        group = gr.Textbox(value="all", label=i18n("lb.group"), min_width=140)
        exclude_flagged = gr.Checkbox(label=i18n("lb.exclude_flagged"), value=False, min_width=200)
        bootstrap = gr.Number(value=200, label=i18n("lb.bootstrap"), min_width=120)
        seed = gr.Number(value=0, label=i18n("lb.seed"), min_width=120)
    compute = gr.Button(i18n("lb.compute"), variant="primary", elem_id="lb-compute")
    info = gr.Markdown(elem_id="lb-summary")
    # Tables and plots appear once computed, with headers and titles in the reader's language.
    grid = gr.Dataframe(interactive=False, wrap=True, elem_id="lb-table", visible=False)
    # The figure carries its own title; Gradio's label badge would sit on top of it.
    ratings_plot = gr.Plot(show_label=False, elem_id="lb-ratings")
    with gr.Row():
        winrate_plot = gr.Plot(show_label=False, elem_id="lb-winrate", min_width=300)
        counts_plot = gr.Plot(show_label=False, elem_id="lb-counts", min_width=300)
    quality = gr.Dataframe(interactive=False, wrap=True, label=i18n("lb.quality"), elem_id="lb-quality",
                           visible=False)
    with gr.Accordion(i18n("lb.json"), open=False):
        board_json = gr.JSON(label=i18n("lb.json"))
    api_trigger = gr.Button(visible=False)

    inputs = [session, ties, criterion, language, group, exclude_flagged, bootstrap, seed, ci]
    shown = [info, grid, ratings_plot, winrate_plot, counts_plot, quality, board_json]
    compute.click(bind(compute_view, ctx), inputs, shown, api_visibility="private", concurrency_limit=2)
    api_trigger.click(bind(leaderboard, ctx), inputs, board_json, api_name="leaderboard", concurrency_limit=2)
    session.change(bind(criteria_for, ctx), session, criterion, api_visibility="private", queue=False)
    return {"session": session, "refresh": lambda: gr.Dropdown(choices=session_choices(ctx))}
