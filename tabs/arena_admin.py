"""Session admin (needs STUDIO_ADMIN_PASSWORD): create labeling sessions, invite annotators, import pools and battle
logs, export, exclude annotators, close sessions. Every call is audited and rate-limited per client."""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path
from typing import Any

import gradio as gr

from arena.session_config import IDENTITIES
from arena.sessions import DEFAULT_CRITERIA, TASKS, SessionConfig
from arena.store import OUTCOMES, REVEALS
from tabs.common import AppContext, bind, client_id, optional_number, ui_errors

EXPORTS_KEPT_SECONDS = 3600  # exports are served once from Gradio's cache; older copies here are removed


@ui_errors
def arena_create_session(ctx: AppContext, admin_password: str, name: str, task: str, mode: str,
                         models: list[str] | None, criteria: str, outcomes: list[str], reveal: str, gold_rate: float,
                         repeat_rate: float, overlap_rate: float, target_votes: float, min_votes: float, prompts: str,
                         seed: float, width: float, height: float, steps: float | None, identity: str = "name",
                         prior: float = 0.0, request: gr.Request = None) -> dict[str, Any]:
    """Create a labeling session (admin). Live sessions generate both sides with registry models on demand
    (same seed and size); pool sessions are filled with /arena_import_pool.

    Args:
        admin_password: STUDIO_ADMIN_PASSWORD.
        name: session name.
        task: t2i, tryon, hand, tok or face.
        mode: pool or live.
        models: live: registry keys (2 or more); pool: optional, else taken from the pool's folders.
        criteria: comma-separated criteria (empty for none).
        outcomes: allowed outcomes (left and right at least).
        reveal: after_vote, after_session or never.
        gold_rate: share of gold checks.
        repeat_rate: share of repeated pairs.
        overlap_rate: share of pairs shared between annotators.
        target_votes: votes that complete the session.
        min_votes: votes before a rating stops being preliminary.
        prompts: live: one prompt per line.
        seed: live: base seed.
        width: live: width.
        height: live: height.
        steps: live: steps (empty: model default).
        identity: who may label: name (any name), invite (tokens from /arena_create_invites), hf (Hugging Face
            sign-in, on Spaces).
        prior: leaderboard weak prior, virtual games per model (0: off).
    """
    config = SessionConfig(
        name=name, task=task, mode=mode, models=tuple(models or ()),
        criteria=tuple(c.strip() for c in (criteria or "").split(",") if c.strip()),
        outcomes=tuple(outcomes or ()), reveal=reveal, gold_rate=gold_rate, repeat_rate=repeat_rate,
        overlap_rate=overlap_rate, target_votes=target_votes, min_votes=min_votes,
        prompts=tuple((prompts or "").splitlines()), seed=seed, width=width, height=height,
        steps=None if optional_number(steps) is None else int(steps),
    )
    session = ctx.arena.create_session(admin_password, config)
    return {"session": session.id, "name": session.name, "mode": session.mode, "config": session.config}


@ui_errors
def arena_import_pool(ctx: AppContext, admin_password: str, session: str, folder: str,
                      request: gr.Request = None) -> dict[str, Any]:
    """Import pre-generated outputs into a pool session (admin): a server folder with prompts.jsonl
    ({"item_id", "prompt", optional "input_image", "language"} per line) and <model>/<item_id>.png.

    Args:
        admin_password: STUDIO_ADMIN_PASSWORD.
        session: pool session id.
        folder: folder path on the server, under STUDIO_INPUT_ROOTS or the studio's outputs.
    """
    return ctx.arena.import_pool(admin_password, session, folder, client=client_id(request))


@ui_errors
def arena_import_battles(ctx: AppContext, admin_password: str, battles: str, name: str,
                         request: gr.Request = None) -> dict[str, Any]:
    """Import FastChat battle JSONL (model_a, model_b, winner) as a new session (admin).

    Args:
        admin_password: STUDIO_ADMIN_PASSWORD.
        battles: the JSONL file.
        name: name of the new session.
    """
    return ctx.arena.import_battles(admin_password, battles, name, client=client_id(request))


@ui_errors
def arena_export(ctx: AppContext, admin_password: str, session: str, kind: str, request: gr.Request = None) -> str:
    """Export a session (admin): fastchat battle JSONL, preferences (DPO pairs) JSONL, or a dataset zip.

    Args:
        admin_password: STUDIO_ADMIN_PASSWORD.
        session: session id.
        kind: fastchat, preferences or dataset.
    """
    return str(ctx.arena.export(admin_password, session, kind, export_folder(ctx), client=client_id(request)))


def export_folder(ctx: AppContext) -> Path:
    """A fresh folder under ``<data>/exports`` for one export; exports older than an hour are removed first, so
    exports never pile up (Gradio serves its own copy of the file)."""
    root = ctx.settings.data_dir / "exports"
    root.mkdir(parents=True, exist_ok=True)
    for old in root.iterdir():
        if old.is_dir() and time.time() - old.stat().st_mtime > EXPORTS_KEPT_SECONDS:
            shutil.rmtree(old, ignore_errors=True)
    folder = root / secrets.token_urlsafe(9)
    folder.mkdir()
    return folder


@ui_errors
def arena_exclude(ctx: AppContext, admin_password: str, session: str, annotators: str,
                  excluded: bool, request: gr.Request = None) -> dict[str, Any]:
    """Exclude annotators from the leaderboard, or include them again (admin).

    Args:
        admin_password: STUDIO_ADMIN_PASSWORD.
        session: session id.
        annotators: comma-separated annotator ids (as in the quality table).
        excluded: True to exclude, False to include again.
    """
    changed = ctx.arena.set_excluded(admin_password, session, annotators, bool(excluded), client=client_id(request))
    return {"session": session, "changed": changed, "excluded": bool(excluded)}


@ui_errors
def arena_close(ctx: AppContext, admin_password: str, session: str, request: gr.Request = None) -> dict[str, Any]:
    """Close a session (admin): no more battles; after_session reveals become visible.

    Args:
        admin_password: STUDIO_ADMIN_PASSWORD.
        session: session id.
    """
    ctx.arena.close_session(admin_password, session, client=client_id(request))
    return {"session": session, "status": "closed"}


@ui_errors
def arena_create_invites(ctx: AppContext, admin_password: str, session: str, aliases: str,
                         request: gr.Request = None) -> list[dict[str, str]]:
    """Create one invite token per annotator for a session whose identity is "invite" (admin). Tokens are shown
    only now: give each annotator theirs; quality tables show the alias.

    Args:
        admin_password: STUDIO_ADMIN_PASSWORD.
        session: session id.
        aliases: one alias per annotator, one per line or comma-separated.
    """
    return ctx.arena.create_invites(admin_password, session, aliases, client=client_id(request))


def default_criteria(task: str) -> str:
    """The task's usual criteria, to start the form from."""
    return ", ".join(DEFAULT_CRITERIA.get(task, ()))


def build(ctx: AppContext) -> dict[str, Any]:
    """Lay out the admin panel and wire it; returns the event app.py chains session-list refreshes to."""
    i18n = ctx.i18n
    live_models = ctx.arena.generate.models() if ctx.arena.generate else []
    gr.Markdown(i18n("admin.intro"))
    password = gr.Textbox(label=i18n("admin.password"), type="password", elem_id="admin-password")
    result = gr.JSON(label=i18n("admin.result"), elem_id="admin-result")
    with gr.Accordion(i18n("admin.create"), open=True):
        with gr.Row():
            name = gr.Textbox(label=i18n("admin.name"), elem_id="admin-name")
            task = gr.Dropdown(list(TASKS), value="t2i", label=i18n("admin.task"))
            mode = gr.Radio(["pool", "live"], value="pool", label=i18n("admin.mode"))
            reveal = gr.Radio(list(REVEALS), value="after_vote", label=i18n("admin.reveal"))
        with gr.Row():
            models = gr.Dropdown(live_models, multiselect=True, allow_custom_value=True, label=i18n("admin.models"))
            criteria = gr.Textbox(value=", ".join(DEFAULT_CRITERIA["t2i"]), label=i18n("admin.criteria"))
            outcomes = gr.CheckboxGroup(list(OUTCOMES), value=list(OUTCOMES), label=i18n("admin.outcomes"))
        with gr.Row():
            gold_rate = gr.Number(value=0.05, label=i18n("admin.gold_rate"))
            repeat_rate = gr.Number(value=0.05, label=i18n("admin.repeat_rate"))
            overlap_rate = gr.Number(value=0.1, label=i18n("admin.overlap_rate"))
            target_votes = gr.Number(value=200, label=i18n("admin.target_votes"))
            min_votes = gr.Number(value=50, label=i18n("admin.min_votes"))
        with gr.Row():
            prompts = gr.Textbox(lines=3, label=i18n("admin.prompts"))
            seed = gr.Number(value=0, label=i18n("t2i.seed"))
            width = gr.Number(value=512, label=i18n("t2i.width"))
            height = gr.Number(value=512, label=i18n("t2i.height"))
            # gr.Number shows an empty value as 0, so the UI starts from a number; the API may send None (default).
            steps = gr.Number(value=4 if ctx.settings.profile == "tiny" else 30, label=i18n("t2i.steps"))
        with gr.Row():
            identities = [i for i in IDENTITIES if i != "hf" or ctx.settings.space_id]  # sign-in exists on Spaces
            identity = gr.Radio(identities, value="name", label=i18n("admin.identity"))
            prior = gr.Number(value=0, label=i18n("admin.prior"))
        create = gr.Button(i18n("admin.create_button"), variant="primary", elem_id="admin-create")
    with gr.Accordion(i18n("admin.manage"), open=False), gr.Row():
        session = gr.Textbox(label=i18n("arena.session"), elem_id="admin-session")
        folder = gr.Textbox(label=i18n("admin.folder"), elem_id="admin-folder")
        import_pool = gr.Button(i18n("admin.import_pool"), elem_id="admin-import-pool")
        close = gr.Button(i18n("admin.close"))
    with gr.Accordion(i18n("admin.invites"), open=False), gr.Row():
        aliases = gr.Textbox(lines=3, label=i18n("admin.aliases"))
        invite = gr.Button(i18n("admin.invite_button"))
    with gr.Accordion(i18n("admin.battles"), open=False), gr.Row():
        battles_file = gr.File(label=i18n("admin.battles_file"), file_types=[".jsonl", ".json"], type="filepath")
        import_name = gr.Textbox(value="Imported battles", label=i18n("admin.name"))
        import_battles = gr.Button(i18n("admin.import_battles"))
    with gr.Accordion(i18n("admin.export"), open=False), gr.Row():
        kind = gr.Radio(["fastchat", "preferences", "dataset"], value="fastchat", label=i18n("admin.export_kind"))
        export = gr.Button(i18n("admin.export_button"))
        exported = gr.File(label=i18n("admin.download"), interactive=False)
        annotators = gr.Textbox(label=i18n("admin.annotators"))
        excluded = gr.Checkbox(value=True, label=i18n("admin.excluded"))
        exclude = gr.Button(i18n("admin.exclude_button"))

    form = [password, name, task, mode, models, criteria, outcomes, reveal, gold_rate, repeat_rate, overlap_rate,
            target_votes, min_votes, prompts, seed, width, height, steps, identity, prior]
    created = create.click(bind(arena_create_session, ctx), form, result,
                           api_name="arena_create_session", concurrency_limit=None)
    imported = import_pool.click(bind(arena_import_pool, ctx), [password, session, folder], result,
                                 api_name="arena_import_pool")
    logs = import_battles.click(bind(arena_import_battles, ctx), [password, battles_file, import_name], result,
                                api_name="arena_import_battles")
    export.click(bind(arena_export, ctx), [password, session, kind], exported, api_name="arena_export")
    exclude.click(bind(arena_exclude, ctx), [password, session, annotators, excluded], result,
                  api_name="arena_exclude")
    closed = close.click(bind(arena_close, ctx), [password, session], result, api_name="arena_close")
    invite.click(bind(arena_create_invites, ctx), [password, session, aliases], result,
                 api_name="arena_create_invites")
    task.change(default_criteria, task, criteria, api_visibility="private", queue=False)
    return {"changed": [created, imported, logs, closed]}
