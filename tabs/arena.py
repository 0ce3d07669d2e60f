"""Blind A/B labeling tab: annotators judge two outputs (with the input beside them for conditional tasks), with
keyboard shortcuts and optional per-criterion choices. As on LMArena, a vote reveals the pair it was cast on (as far
as the session's policy allows) and the next pair waits for Next; the pairs left are always in view, and a finished
session ends with a thank-you and the annotator's own figures."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import gradio as gr

from arena import views
from backends.core.errors import InvalidInput
from tabs.common import AppContext, bind, texts, tr, ui_errors

MAX_CRITERIA = 6
CRITERION_CHOICES = (("A", "left"), ("B", "right"), ("arena.tie", "tie"), ("arena.skip_short", "skip"))
# A at the left end and B at the right end, as the images are; the undecided answers between them.
OUTCOME_BUTTONS = (("left", "arena.left"), ("both_good", "arena.both_good"), ("skip", "arena.skip"),
                   ("both_bad", "arena.both_bad"), ("right", "arena.right"))


def session_choices(ctx: AppContext) -> list[tuple[str, str]]:
    """Open sessions one can label, as (label, id)."""
    return [(f"{s.name} ({s.id})", s.id) for s in ctx.arena.store.sessions()
            if s.status == "open" and s.mode != "imported"]


# --------------------------------------------------------------------------------------------------------------------
# Text on screen (server-made, in the reader's language)
# --------------------------------------------------------------------------------------------------------------------
def progress_line(standing: views.Standing) -> str:
    """Pairs left for this annotator, their votes, and the session's count against its target."""
    return tr("arena.progress", left=standing.pairs_left, yours=standing.your_votes,
              votes=standing.session_votes, target=standing.target_votes)


def over_message(standing: views.Standing, stats: views.AnnotatorStats | None, reveal_names: bool) -> str:
    """Why there is nothing (more) to label, with the thank-you and the annotator's own figures when they voted."""
    lines = [f"### {tr('arena.over.' + standing.state, target=standing.target_votes)}"]
    if stats is not None and stats.votes:
        lines.append(tr("arena.thanks", votes=stats.votes, decisive=stats.decisive, ties=stats.ties,
                        skips=stats.skips))
        figures = []
        if stats.median_seconds is not None:
            figures.append(tr("arena.stat.seconds", seconds=f"{stats.median_seconds:.1f}"))
        if stats.agreement is not None:
            figures.append(tr("arena.stat.agreement", share=f"{stats.agreement:.0%}", pairs=stats.agreement_pairs))
        if stats.gold_accuracy is not None:
            figures.append(tr("arena.stat.gold", share=f"{stats.gold_accuracy:.0%}", checks=stats.gold))
        if stats.consistency is not None:
            figures.append(tr("arena.stat.consistency", share=f"{stats.consistency:.0%}"))
        if stats.favourite and reveal_names:
            figures.append(tr("arena.stat.favourite", model=stats.favourite))
        lines += [f"- {f}" for f in figures]
    lines.append(progress_line(standing))
    return "\n\n".join(lines)


def reveal_markdown(result: dict[str, Any]) -> str:
    """What the annotator learns after voting (no emoji: a check mark box where fonts lack one helps nobody)."""
    reveal = result.get("reveal")
    if reveal is None:
        later = result.get("reveal_policy") == "after_session"
        return tr("arena.recorded_hidden_later" if later else "arena.recorded_hidden")
    text = tr("arena.recorded", left=reveal["left"], right=reveal["right"])
    return text + (f" {tr('arena.gold_note')}" if reveal.get("note") else "")


def criterion_label(name: str) -> str:
    """A criterion's name in the reader's language when the studio knows it, else as the admin wrote it."""
    key = f"criterion.{name}"
    return tr(key) if texts().has(key) else name.replace("_", " ")


# --------------------------------------------------------------------------------------------------------------------
# Handlers
# --------------------------------------------------------------------------------------------------------------------
@ui_errors
def arena_next(ctx: AppContext, session: str, annotator: str, group: str,
               profile: gr.OAuthProfile | None = None) -> tuple[dict[str, Any], Any, Any, Any]:
    """Serve the annotator's next blind battle (or the unvoted one they already have).

    Args:
        session: session id.
        annotator: annotator name or token (stored only as a keyed hash).
        group: optional annotator group (e.g. "expert"), for leaderboard slices.

    Returns:
        The battle as JSON (battle_id, prompt, criteria, outcomes, progress; no model names), image A, image B,
        and the input image for conditional tasks (None otherwise).
    """
    served = ctx.arena.next_battle(session, annotator, group, verified=signed_in(profile))
    return served.public(), *served.files(ctx.arena.served_files)  # fast PNG files: no slow encode per serve


@ui_errors
def arena_vote(ctx: AppContext, battle_id: str, annotator: str, outcome: str, criteria: dict | None,
               profile: gr.OAuthProfile | None = None) -> dict[str, Any]:
    """Record a vote on a battle served to this annotator; returns the reveal the session's policy allows.

    Args:
        battle_id: the battle's id from /arena_next.
        annotator: the same name or token used for /arena_next.
        outcome: one of left, right, both_good, both_bad, skip (as the session allows).
        criteria: optional {criterion: left|right|tie|skip}.
    """
    return ctx.arena.vote(battle_id, annotator, outcome, criteria, verified=signed_in(profile))


@ui_errors
def next_from_form(ctx: AppContext, session: str, annotator: str, group: str,
                   profile: gr.OAuthProfile | None = None) -> list[Any]:
    """Start / Next: the annotator's next pair on screen, or why there is none (with their figures at the end)."""
    if not session:
        raise InvalidInput("session", "choose a session first")
    stored = ctx.arena.store.session(session)
    verified = signed_in(profile)
    annotator_id = ctx.arena.annotator_id(stored, annotator, verified)
    served = None
    if stored.mode != "imported":
        served = ctx.arena.next_battle(session, annotator, group, verified=verified)
    standing = views.standing(ctx.arena, ctx.arena.store.session(session), annotator_id)
    if served is None or not served.battle_id:
        over = standing if standing.over else replace(standing, state="done", pairs_left=0)
        stats = views.annotator_stats(ctx.arena, session, annotator_id) if standing.your_votes else None
        reveal = stored.config.get("reveal") == "after_vote" or (
            stored.config.get("reveal") == "after_session" and over.state in ("closed", "complete"))
        return nothing_on_screen(over_message(over, stats, reveal))
    return battle_on_screen(served, standing, served.files(ctx.arena.served_files))


def battle_on_screen(served: Any, standing: views.Standing, files: tuple[str | None, ...]) -> list[Any]:
    """A served pair: its id, prompt, progress, A and B, the input, criteria, live vote buttons, Next off.

    ``files`` are the served images as PNG files (A, B, input): shown as they are, never encoded again.
    """
    public = served.public()
    names = public["criteria"]
    radios = [gr.Radio(label=criterion_label(names[i]), value=None, visible=True, interactive=True)
              if i < len(names) else gr.Radio(visible=False, value=None) for i in range(MAX_CRITERIA)]
    buttons = [gr.Button(visible=value in public["outcomes"], interactive=True) for value, _ in OUTCOME_BUTTONS]
    prompt = f"**{tr('arena.prompt')}** {public['prompt']}"
    return ["", public["battle_id"], prompt, progress_line(standing),
            gr.Image(value=files[0], label="A", elem_classes=[], visible=True),
            gr.Image(value=files[1], label="B", elem_classes=[], visible=True),
            gr.Image(value=files[2], visible=files[2] is not None), names, *radios, *buttons,
            gr.Button(interactive=False)]


def nothing_on_screen(message: str) -> list[Any]:
    """No pair: the reason in place of the prompt, images cleared, every vote button and Next disabled."""
    radios = [gr.Radio(visible=False, value=None) for _ in range(MAX_CRITERIA)]
    buttons = [gr.Button(interactive=False) for _ in OUTCOME_BUTTONS]
    return ["", "", message, "", gr.Image(value=None, label="A", elem_classes=[], visible=False),
            gr.Image(value=None, label="B", elem_classes=[], visible=False), gr.Image(value=None, visible=False), [],
            *radios, *buttons, gr.Button(interactive=False)]


@ui_errors
def vote_from_form(ctx: AppContext, value: str, session: str, annotator: str, current: str, names: list[str],
                   profile: gr.OAuthProfile | None, *choices: Any) -> list[Any]:
    """A vote button: record the vote with its criteria, then keep the voted pair on screen with its names (as
    far as the policy allows), vote buttons off and Next on.

    ``profile`` comes before the criteria on purpose: Gradio injects it only among positional parameters.
    """
    if not current:
        raise InvalidInput("battle_id", "there is no pair on screen; press Start")
    criteria = {n: c for n, c in zip(names or [], choices, strict=False) if c}
    verified = signed_in(profile)
    result = ctx.arena.vote(current, annotator, value, criteria, verified=verified)
    stored = ctx.arena.store.session(session)
    standing = views.standing(ctx.arena, stored, ctx.arena.annotator_id(stored, annotator, verified))
    reveal = result.get("reveal") or {}
    picked = {"left": "A", "right": "B"}.get(value)

    def label(side: str, letter: str) -> str:
        name = reveal.get(side)
        return f"{letter} · {name}" if name else letter

    sides = [gr.Image(label=label("left", "A"), elem_classes=["arena-picked"] if picked == "A" else []),
             gr.Image(label=label("right", "B"), elem_classes=["arena-picked"] if picked == "B" else [])]
    buttons = [gr.Button(interactive=False) for _ in OUTCOME_BUTTONS]
    radios = [gr.Radio(interactive=False) for _ in range(MAX_CRITERIA)]
    said = reveal_markdown(result)
    if picked:
        said = f"{tr('arena.you_picked', side=picked)} {said}"
    return [said, progress_line(standing), *sides, *radios, *buttons, gr.Button(interactive=True)]


def start_gate(ctx: AppContext, session: str, annotator: str) -> Any:
    """Start is live once a session is chosen and, unless it uses the Hugging Face sign-in, a name is typed."""
    try:
        identity = ctx.arena.store.session(session).config.get("identity", "name") if session else None
    except InvalidInput:
        identity = None
    ready = identity is not None and (identity == "hf" or bool((annotator or "").strip()))
    return gr.Button(interactive=ready)


def signed_in(profile: gr.OAuthProfile | None) -> str | None:
    """The Hugging Face user name Gradio verified through the sign-in (None when not signed in)."""
    return getattr(profile, "username", None) or None


# --------------------------------------------------------------------------------------------------------------------
# Layout and wiring
# --------------------------------------------------------------------------------------------------------------------
def build(ctx: AppContext) -> dict[str, Any]:
    """Lay out the labeling tab and wire it; returns the session dropdown for app-level refreshes."""
    i18n = ctx.i18n
    gr.Markdown(i18n("arena.intro"))
    with gr.Row(elem_id="arena-form"):
        session = gr.Dropdown(label=i18n("arena.session"), choices=session_choices(ctx), value=None,
                              allow_custom_value=True, elem_id="arena-session", scale=3, min_width=220)
        annotator = gr.Textbox(label=i18n("arena.annotator"), elem_id="arena-annotator", scale=2, min_width=160)
        group = gr.Textbox(label=i18n("arena.group"), elem_id="arena-group", scale=1, min_width=120)
        start = gr.Button(i18n("arena.start"), variant="primary", elem_id="arena-next", scale=1, min_width=120,
                          interactive=False)
        if ctx.settings.space_id:  # "hf" identity: Gradio verifies the user; a typed name is not trusted
            gr.LoginButton(scale=1)
    battle_id = gr.Textbox(visible=False)
    outcome = gr.Textbox(visible=False)
    battle_info = gr.JSON(visible=False)  # the API's answers; the UI shows them as Markdown instead
    criteria_in = gr.JSON(visible=False)
    vote_result = gr.JSON(visible=False)
    prompt = gr.Markdown(i18n("arena.choose"), elem_id="arena-prompt")
    progress = gr.Markdown(elem_id="arena-progress")
    with gr.Row(equal_height=True, elem_id="arena-pair"):
        input_image = gr.Image(label=i18n("arena.input"), type="pil", format="png", interactive=False,
                               visible=False, elem_id="arena-input", min_width=100)
        left = gr.Image(label="A", type="pil", format="png", interactive=False, elem_id="arena-image-left",
                        buttons=["fullscreen"], min_width=100)
        right = gr.Image(label="B", type="pil", format="png", interactive=False, elem_id="arena-image-right",
                         buttons=["fullscreen"], min_width=100)
    reveal = gr.Markdown(elem_id="arena-reveal")
    with gr.Row(elem_id="arena-votes"):
        buttons = {value: gr.Button(i18n(key), elem_id=f"arena-vote-{value.replace('_', '-')}", interactive=False,
                                    min_width=90)
                   for value, key in OUTCOME_BUTTONS}
    following = gr.Button(i18n("arena.next"), variant="primary", elem_id="arena-continue", interactive=False)
    with gr.Row():
        choices = [(label if len(label) == 1 else i18n(label), value) for label, value in CRITERION_CHOICES]
        radios = [gr.Radio(choices=choices, visible=False, elem_id=f"arena-criterion-{i}")
                  for i in range(MAX_CRITERIA)]
    gr.Markdown(i18n("arena.keys"))
    api_next = gr.Button(visible=False)
    api_vote = gr.Button(visible=False)
    criteria_names = gr.State([])

    private = {"api_visibility": "private"}
    shown = [reveal, battle_id, prompt, progress, left, right, input_image, criteria_names, *radios,
             *buttons.values(), following]
    for trigger in (start, following):
        trigger.click(bind(next_from_form, ctx), [session, annotator, group], shown, **private)
    voted = [reveal, progress, left, right, *radios, *buttons.values(), following]
    for value, button in buttons.items():
        button.click(bind(vote_from_form, ctx, value), [session, annotator, battle_id, criteria_names, *radios],
                     voted, concurrency_limit=None, **private)
    # One event for both fields, re-run with the latest values: two racing answers could leave Start off.
    gr.on([session.change, annotator.change], bind(start_gate, ctx), [session, annotator], start,
          trigger_mode="always_last", concurrency_limit=None, show_progress="hidden", **private)
    api_next.click(bind(arena_next, ctx), [session, annotator, group], [battle_info, left, right, input_image],
                   api_name="arena_next", concurrency_limit=None, queue=False)
    api_vote.click(bind(arena_vote, ctx), [battle_id, annotator, outcome, criteria_in], vote_result,
                   api_name="arena_vote", concurrency_limit=None, queue=False)
    return {"session": session, "refresh": lambda: gr.Dropdown(choices=session_choices(ctx))}
