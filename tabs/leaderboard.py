"""Leaderboard tab: Bradley-Terry ratings with confidence intervals, Rank(UB), slices, position bias, plots and
annotator quality for a labeling session."""

from __future__ import annotations

from typing import Any

import gradio as gr

from arena import plots
from backends.core.errors import InvalidInput
from tabs.common import AppContext, bind, ui_errors

TABLE_COLUMNS = ("group", "rank (UB)", "model", "rating", "95% CI", "votes", "W / L / T", "online Elo", "status")
QUALITY_COLUMNS = ("annotator", "group", "votes", "gold acc.", "repeats consistent", "left rate", "median s",
                   "flagged", "excluded")


def session_choices(ctx: AppContext) -> list[tuple[str, str]]:
    """Every session (imported battle logs included), as (label, id)."""
    return [(f"{s.name} ({s.id})", s.id) for s in ctx.arena.store.sessions()]


def table(data: dict[str, Any]) -> list[list[Any]]:
    """The leaderboard JSON as table rows."""
    rows = []
    for m in data["models"]:
        if m["ci_low"] is not None:
            interval = f"{m['ci_low']:.0f} – {m['ci_high']:.0f}"
        else:  # no interval: say why instead of showing a number that means nothing
            interval = "too few votes" if m["rating"] is not None and m.get("note") else ""
        status = "; ".join(s for s in ("preliminary" if m.get("preliminary") else "", m.get("note", "")) if s)
        rows.append([m.get("group", ""), "—" if m["rank_ub"] is None else m["rank_ub"], m["model"],
                     "—" if m["rating"] is None else round(m["rating"], 1), interval, m["votes"],
                     f"{m.get('wins', '')} / {m.get('losses', '')} / {m.get('ties', '')}",
                     round(m["online_elo"], 1) if m.get("online_elo") is not None else "", status])
    return rows


def quality_table(report: dict[str, Any]) -> list[list[Any]]:
    """Per-annotator quality as table rows."""

    def pct(value: float | None) -> str:
        return "" if value is None else f"{value:.0%}"

    def who(q: dict[str, Any]) -> str:  # the alias an invite was given, with the id exclusions use
        return f"{q['alias']} ({q['annotator']})" if q.get("alias") else q["annotator"]

    return [[who(q), q["group"], q["votes"], f"{pct(q['gold_accuracy'])} ({q['gold']})",
             f"{pct(q['consistency'])} ({q['repeats']})", pct(q["left_rate"]),
             "" if q["median_seconds"] is None else round(q["median_seconds"], 1),
             "; ".join(q["reasons"]) or "", "yes" if q["excluded"] else ""] for q in report["annotators"]]


def summary(data: dict[str, Any], report: dict[str, Any]) -> str:
    """Ties, battles, position bias and agreement in a few lines."""
    lines = [f"**{data['n_battles']} battles** · ties: `{data['ties']}` · CIs: {data.get('ci', 'bootstrap')}"
             f" ({data.get('bootstrap', 0)} rounds, seed {data.get('seed', 0)})"]
    lines += [f"⚠️ {warning}" for warning in data.get("warnings", [])]
    if data.get("tie_parameter") is not None:
        lines.append(f"Davidson tie parameter ν = {data['tie_parameter']:.3f}")
    bias = data.get("position_bias") or {}
    if bias.get("elo") is not None:
        lines.append(f"Left-position advantage: {bias['elo']:+.1f} Elo (95% CI {bias['ci_low']:+.1f} … "
                     f"{bias['ci_high']:+.1f}); left wins {bias['left_win_rate']:.1%} of decisive votes")
    overall = report["agreement"]["overall"]
    alpha = "n/a" if overall["alpha"] is None else f"{overall['alpha']:.2f}"
    lines.append(f"Inter-annotator agreement (Krippendorff's α, nominal): {alpha} over {overall['units']} "
                 "shared comparisons")
    return "\n\n".join(lines)


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
    board, data = ctx.arena.leaderboard(session, ties, criterion, language, group or "all", exclude_flagged,
                                        bootstrap, seed, ci)
    report = ctx.arena.quality_report(session)
    return [summary(data, report), table(data), plots.ratings_figure(board), plots.win_rate_figure(board),
            plots.battle_count_figure(board), quality_table(report), data]


def criteria_for(ctx: AppContext, session: str) -> Any:
    """The criteria a session offers, for the criterion dropdown."""
    try:
        names = ctx.arena.store.session(session).config.get("criteria", [])
    except InvalidInput:  # an unknown (or half-typed) session simply offers "overall"
        names = []
    return gr.Dropdown(choices=["overall", *names], value="overall")


def build(ctx: AppContext) -> dict[str, Any]:
    """Lay out the leaderboard tab and wire it."""
    i18n = ctx.i18n
    with gr.Row():
        session = gr.Dropdown(label=i18n("arena.session"), choices=session_choices(ctx), allow_custom_value=True,
                              elem_id="lb-session", scale=3)
        ties = gr.Radio(["davidson", "fastchat"], value="davidson", label=i18n("lb.ties"), elem_id="lb-ties")
        ci = gr.Radio(["bootstrap", "sandwich"], value="bootstrap", label=i18n("lb.ci"))
    with gr.Row():
        criterion = gr.Dropdown(["overall"], value="overall", label=i18n("lb.criterion"), allow_custom_value=True)
        language = gr.Dropdown(["all", "zh", "en", "mixed"], value="all", label=i18n("lb.language"))
        group = gr.Textbox(value="all", label=i18n("lb.group"))
        exclude_flagged = gr.Checkbox(label=i18n("lb.exclude_flagged"), value=False)
        bootstrap = gr.Number(value=200, label=i18n("lb.bootstrap"))
        seed = gr.Number(value=0, label=i18n("lb.seed"))
    compute = gr.Button(i18n("lb.compute"), variant="primary", elem_id="lb-compute")
    info = gr.Markdown(elem_id="lb-summary")
    grid = gr.Dataframe(headers=list(TABLE_COLUMNS), interactive=False, elem_id="lb-table")
    ratings_plot = gr.Plot(label=i18n("lb.ratings_plot"))
    with gr.Row():
        winrate_plot = gr.Plot(label=i18n("lb.winrate_plot"))
        counts_plot = gr.Plot(label=i18n("lb.counts_plot"))
    quality = gr.Dataframe(headers=list(QUALITY_COLUMNS), interactive=False, label=i18n("lb.quality"))
    board_json = gr.JSON(label=i18n("lb.json"), open=False)
    api_trigger = gr.Button(visible=False)

    inputs = [session, ties, criterion, language, group, exclude_flagged, bootstrap, seed, ci]
    shown = [info, grid, ratings_plot, winrate_plot, counts_plot, quality, board_json]
    compute.click(bind(compute_view, ctx), inputs, shown, api_visibility="private", concurrency_limit=2)
    api_trigger.click(bind(leaderboard, ctx), inputs, board_json, api_name="leaderboard", concurrency_limit=2)
    session.change(bind(criteria_for, ctx), session, criterion, api_visibility="private", queue=False)
    return {"session": session, "refresh": lambda: gr.Dropdown(choices=session_choices(ctx))}
