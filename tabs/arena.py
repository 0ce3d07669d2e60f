"""Blind A/B labeling tab: annotators judge two outputs (with the input beside them for conditional tasks), with
keyboard shortcuts, optional per-criterion choices, and the reveal the session's policy allows."""

from __future__ import annotations

from typing import Any

import gradio as gr

from tabs.common import AppContext, bind, ui_errors

MAX_CRITERIA = 6
CRITERION_CHOICES = (("A", "left"), ("B", "right"), ("tie", "tie"), ("skip", "skip"))
OUTCOME_BUTTONS = (("left", "arena.left"), ("both_good", "arena.both_good"), ("both_bad", "arena.both_bad"),
                   ("right", "arena.right"), ("skip", "arena.skip"))


def session_choices(ctx: AppContext) -> list[tuple[str, str]]:
    """Open sessions one can label, as (label, id)."""
    return [(f"{s.name} ({s.id})", s.id) for s in ctx.arena.store.sessions()
            if s.status == "open" and s.mode != "imported"]


def battle_markdown(public: dict[str, Any]) -> str:
    """The prompt and progress line above the images."""
    if not public["battle_id"]:
        return f"### {public['message']}"
    progress = public["progress"]
    return (f"**Prompt:** {public['prompt']}\n\n<small>your votes: {progress['your_votes']} · session: "
            f"{progress['session_votes']} / {progress['target_votes']}</small>")


def reveal_markdown(result: dict[str, Any]) -> str:
    """What the annotator learns after voting."""
    reveal = result.get("reveal")
    if reveal is None:
        policy = result.get("reveal_policy")
        return "✅ Vote recorded." + (" Models are revealed when the session ends." if policy == "after_session"
                                     else "")
    note = f" ({reveal['note']})" if reveal.get("note") else ""
    return f"✅ Vote recorded. A was **{reveal['left']}**, B was **{reveal['right']}**{note}."


def show(served: Any) -> list[Any]:
    """A served battle on screen: its id, the prompt line, A and B, the input, and the criteria and buttons."""
    public = served.public()
    names = public["criteria"]
    updates = [gr.Radio(label=names[i].replace("_", " "), value=None, visible=True) if i < len(names)
               else gr.Radio(visible=False, value=None) for i in range(MAX_CRITERIA)]
    updates += [gr.Button(visible=value in public["outcomes"]) for value, _ in OUTCOME_BUTTONS]
    return [public["battle_id"], battle_markdown(public), served.left, served.right,
            gr.Image(value=served.input_image, visible=served.input_image is not None), names, *updates]


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
    return served.public(), served.left, served.right, served.input_image


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
    """Start: the annotator's next battle on screen."""
    return [""] + show(ctx.arena.next_battle(session, annotator, group, verified=signed_in(profile)))


@ui_errors
def vote_from_form(ctx: AppContext, value: str, session: str, annotator: str, group: str, current: str,
                   names: list[str], profile: gr.OAuthProfile | None, *choices: Any) -> list[Any]:
    """A vote button: record the vote with its criteria, show the reveal, serve the next battle.

    ``profile`` comes before the criteria on purpose: Gradio injects it only among positional parameters.
    """
    criteria = {n: c for n, c in zip(names, choices, strict=False) if c}
    verified = signed_in(profile)
    result = ctx.arena.vote(current, annotator, value, criteria, verified=verified)
    return [reveal_markdown(result)] + show(ctx.arena.next_battle(session, annotator, group, verified=verified))


def signed_in(profile: gr.OAuthProfile | None) -> str | None:
    """The Hugging Face user name Gradio verified through the sign-in (None when not signed in)."""
    return getattr(profile, "username", None) or None


def build(ctx: AppContext) -> dict[str, Any]:
    """Lay out the labeling tab and wire it; returns the session dropdown for app-level refreshes."""
    i18n = ctx.i18n
    gr.Markdown(i18n("arena.intro"))
    with gr.Row():
        session = gr.Dropdown(label=i18n("arena.session"), choices=session_choices(ctx), allow_custom_value=True,
                              elem_id="arena-session", scale=3)
        annotator = gr.Textbox(label=i18n("arena.annotator"), elem_id="arena-annotator", scale=2)
        group = gr.Textbox(label=i18n("arena.group"), elem_id="arena-group", scale=1)
        start = gr.Button(i18n("arena.start"), variant="primary", elem_id="arena-next", scale=1)
        if ctx.settings.space_id:  # "hf" identity: Gradio verifies the user; a typed name is not trusted
            gr.LoginButton(scale=1)
    battle_id = gr.Textbox(visible=False)
    outcome = gr.Textbox(visible=False)
    battle_info = gr.JSON(visible=False)  # the API's answers; the UI shows them as Markdown instead
    criteria_in = gr.JSON(visible=False)
    vote_result = gr.JSON(visible=False)
    prompt = gr.Markdown(elem_id="arena-prompt")
    with gr.Row(equal_height=True):
        input_image = gr.Image(label=i18n("arena.input"), type="pil", format="png", interactive=False,
                               visible=False, elem_id="arena-input")
        left = gr.Image(label="A", type="pil", format="png", interactive=False, elem_id="arena-image-left",
                        buttons=["fullscreen"])
        right = gr.Image(label="B", type="pil", format="png", interactive=False, elem_id="arena-image-right",
                         buttons=["fullscreen"])
    with gr.Row():
        buttons = {value: gr.Button(i18n(key), elem_id=f"arena-vote-{value.replace('_', '-')}")
                   for value, key in OUTCOME_BUTTONS}
    with gr.Row():
        radios = [gr.Radio(choices=list(CRITERION_CHOICES), visible=False, elem_id=f"arena-criterion-{i}")
                  for i in range(MAX_CRITERIA)]
    reveal = gr.Markdown(elem_id="arena-reveal")
    gr.Markdown(i18n("arena.keys"))
    api_next = gr.Button(visible=False)
    api_vote = gr.Button(visible=False)
    criteria_names = gr.State([])

    shown = [battle_id, prompt, left, right, input_image, criteria_names, *radios, *buttons.values()]
    start.click(bind(next_from_form, ctx), [session, annotator, group], [reveal, *shown], api_visibility="private")
    for value, button in buttons.items():
        button.click(bind(vote_from_form, ctx, value), [session, annotator, group, battle_id, criteria_names, *radios],
                     [reveal, *shown], api_visibility="private", concurrency_limit=None)
    api_next.click(bind(arena_next, ctx), [session, annotator, group], [battle_info, left, right, input_image],
                   api_name="arena_next", concurrency_limit=None, queue=False)
    api_vote.click(bind(arena_vote, ctx), [battle_id, annotator, outcome, criteria_in], vote_result,
                   api_name="arena_vote", concurrency_limit=None, queue=False)
    return {"session": session, "refresh": lambda: gr.Dropdown(choices=session_choices(ctx))}
