"""Session admin (needs STUDIO_ADMIN_PASSWORD): create labeling sessions (a pool session is filled in the same
step), invite annotators, import pools and battle logs, export, exclude annotators, close sessions. Every call is
audited and rate-limited per client.

This module holds the public API of session admin and the create form; the sessions table and the actions on one
session are ``tabs/arena_sessions.py``, laid out above it by ``app.py``.
"""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path
from typing import Any

import gradio as gr

from arena.pool_import import scan_pool
from arena.session_config import IDENTITIES
from arena.sessions import DEFAULT_CRITERIA, TASKS, SessionConfig
from arena.store import OUTCOMES, REVEALS
from backends.core.errors import InvalidInput
from backends.core.paths import confine
from tabs.common import AppContext, bind, client_id, optional_number, tr, ui_errors

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
    config = session_config(name, task, mode, models, criteria, outcomes, reveal, gold_rate, repeat_rate, overlap_rate,
                            target_votes, min_votes, prompts, seed, width, height, steps, identity, prior)
    session = ctx.arena.create_session(admin_password, config, client=client_id(ctx, request))
    return {"session": session.id, "name": session.name, "mode": session.mode, "config": session.config}


def session_config(name: Any, task: Any, mode: Any, models: Any, criteria: Any, outcomes: Any, reveal: Any,
                   gold_rate: Any, repeat_rate: Any, overlap_rate: Any, target_votes: Any, min_votes: Any,
                   prompts: Any, seed: Any, width: Any, height: Any, steps: Any, identity: Any = "name",
                   prior: Any = 0.0) -> SessionConfig:
    """The create form's fields as a ``SessionConfig`` (validated when the session is created)."""
    return SessionConfig(
        name=name, task=task, mode=mode, models=tuple(models or ()),
        criteria=tuple(c.strip() for c in (criteria or "").split(",") if c.strip()),
        outcomes=tuple(outcomes or ()), reveal=reveal, gold_rate=gold_rate, repeat_rate=repeat_rate,
        overlap_rate=overlap_rate, target_votes=target_votes, min_votes=min_votes,
        prompts=tuple((prompts or "").splitlines()), seed=seed, width=width, height=height,
        steps=None if optional_number(steps) is None else int(steps), identity=identity or "name",
        prior=prior or 0.0,
    )


@ui_errors
def create_view(ctx: AppContext, admin_password: str, *fields: Any, request: gr.Request = None) -> list[Any]:
    """Create: the session, filled at once from the pool folder when one is given (checked before the session is
    created, so a bad folder leaves nothing behind); a summary in words and the answer as JSON."""
    *form, folder = fields
    config = session_config(*form)
    client = client_id(ctx, request)
    folder = (folder or "").strip()
    if folder:
        if config.mode != "pool":
            raise InvalidInput("folder", "a pool folder fills pool sessions; live sessions generate their images")
        ctx.arena.require_admin(admin_password, "check_pool", folder, client)
        scan_pool(confine(folder, ctx.arena.pool_roots, "folder", "STUDIO_INPUT_ROOTS"), list(config.models))
    session = ctx.arena.create_session(admin_password, config, client=client)
    answer: dict[str, Any] = {"session": session.id, "name": session.name, "mode": session.mode}
    if folder:
        answer["pool"] = ctx.arena.import_pool(admin_password, session.id, folder, client=client)
    summary = tr("admin.created", name=session.name, id=session.id)
    if folder:
        summary += " " + tr("admin.filled", items=answer["pool"]["items"], models=len(answer["pool"]["models"]))
    elif session.mode == "pool":
        summary += " " + tr("admin.fill_later")
    return [summary, answer, session.id]


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
    return ctx.arena.import_pool(admin_password, session, folder, client=client_id(ctx, request))


@ui_errors
def arena_import_battles(ctx: AppContext, admin_password: str, battles: str, name: str,
                         request: gr.Request = None) -> dict[str, Any]:
    """Import FastChat battle JSONL (model_a, model_b, winner) as a new session (admin).

    Args:
        admin_password: STUDIO_ADMIN_PASSWORD.
        battles: the JSONL file.
        name: name of the new session.
    """
    return ctx.arena.import_battles(admin_password, battles, name, client=client_id(ctx, request))


@ui_errors
def arena_export(ctx: AppContext, admin_password: str, session: str, kind: str, request: gr.Request = None) -> str:
    """Export a session (admin): fastchat battle JSONL, preferences (DPO pairs) JSONL, or a dataset zip.

    Args:
        admin_password: STUDIO_ADMIN_PASSWORD.
        session: session id.
        kind: fastchat, preferences or dataset.
    """
    return str(ctx.arena.export(admin_password, session, kind, export_folder(ctx), client=client_id(ctx, request)))


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
    changed = ctx.arena.set_excluded(admin_password, session, annotators, bool(excluded),
                                     client=client_id(ctx, request))
    return {"session": session, "changed": changed, "excluded": bool(excluded)}


@ui_errors
def arena_close(ctx: AppContext, admin_password: str, session: str, request: gr.Request = None) -> dict[str, Any]:
    """Close a session (admin): no more battles; after_session reveals become visible.

    Args:
        admin_password: STUDIO_ADMIN_PASSWORD.
        session: session id.
    """
    ctx.arena.close_session(admin_password, session, client=client_id(ctx, request))
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
    return ctx.arena.create_invites(admin_password, session, aliases, client=client_id(ctx, request))


def default_criteria(task: str) -> str:
    """The task's usual criteria, to start the form from."""
    return ", ".join(DEFAULT_CRITERIA.get(task, ()))


def build(ctx: AppContext, panel: dict[str, Any]) -> dict[str, Any]:
    """Lay out the create form (under the sessions panel, whose password it shares) and the public admin API;
    returns the events app.py chains session-list refreshes to."""
    i18n = ctx.i18n
    live_models = ctx.arena.generate.models() if ctx.arena.generate else []
    password = panel["password"]
    with gr.Accordion(i18n("admin.create"), open=True):
        with gr.Row():
            name = gr.Textbox(label=i18n("admin.name"), elem_id="admin-name", min_width=200)
            task = gr.Dropdown([(i18n(f"admin.task.{t}"), t) for t in TASKS], value="t2i", label=i18n("admin.task"),
                               min_width=160)
            mode = gr.Radio([(i18n(f"admin.mode.{m}"), m) for m in ("pool", "live")], value="pool",
                            label=i18n("admin.mode"), elem_id="admin-mode", min_width=200)
            reveal = gr.Radio([(i18n(f"admin.reveal.{r}"), r) for r in REVEALS], value="after_vote",
                              label=i18n("admin.reveal"), min_width=260)
        folder = gr.Textbox(label=i18n("admin.folder"), info=i18n("admin.folder_info"), elem_id="admin-folder")
        with gr.Row(visible=False) as live_row:
            models = gr.Dropdown(live_models, multiselect=True, allow_custom_value=True, label=i18n("admin.models"),
                                 min_width=220)
            prompts = gr.Textbox(lines=3, label=i18n("admin.prompts"), min_width=220)
        with gr.Row(visible=False) as live_numbers:
            seed = gr.Number(value=0, label=i18n("t2i.seed"), min_width=100)
            width = gr.Number(value=512, label=i18n("t2i.width"), min_width=100)
            height = gr.Number(value=512, label=i18n("t2i.height"), min_width=100)
            # gr.Number shows an empty value as 0, so the UI starts from a number; the API may send None (default).
            steps = gr.Number(value=4 if ctx.settings.profile == "tiny" else 30, label=i18n("t2i.steps"),
                              min_width=100)
        with gr.Row():
            criteria = gr.Textbox(value=", ".join(DEFAULT_CRITERIA["t2i"]), label=i18n("admin.criteria"),
                                  min_width=220)
            outcomes = gr.CheckboxGroup([(i18n(f"admin.outcome.{o}"), o) for o in OUTCOMES], value=list(OUTCOMES),
                                        label=i18n("admin.outcomes"), min_width=260)
            identities = [i for i in IDENTITIES if i != "hf" or ctx.settings.space_id]  # sign-in exists on Spaces
            identity = gr.Radio([(i18n(f"admin.identity.{i}"), i) for i in identities], value="name",
                                label=i18n("admin.identity"), min_width=200)
        with gr.Accordion(i18n("admin.advanced"), open=False), gr.Row():
            gold_rate = gr.Number(value=0.05, label=i18n("admin.gold_rate"), min_width=120)
            repeat_rate = gr.Number(value=0.05, label=i18n("admin.repeat_rate"), min_width=120)
            overlap_rate = gr.Number(value=0.1, label=i18n("admin.overlap_rate"), min_width=120)
            target_votes = gr.Number(value=200, label=i18n("admin.target_votes"), min_width=120)
            min_votes = gr.Number(value=50, label=i18n("admin.min_votes"), min_width=120)
            prior = gr.Number(value=0, label=i18n("admin.prior"), min_width=120)
        create = gr.Button(i18n("admin.create_button"), variant="primary", elem_id="admin-create")
    with gr.Accordion(i18n("admin.battles"), open=False), gr.Row():
        battles_file = gr.File(label=i18n("admin.battles_file"), file_types=[".jsonl", ".json"], type="filepath")
        import_name = gr.Textbox(value="Imported battles", label=i18n("admin.name"))
        import_battles = gr.Button(i18n("admin.import_battles"))

    # The public API: plain hidden inputs, so API callers name every field themselves.
    api = {n: gr.Textbox(visible=False) for n in ("session", "folder", "kind", "annotators", "aliases")}
    api_excluded = gr.Checkbox(value=True, visible=False)
    triggers = {n: gr.Button(visible=False)
                for n in ("create", "import_pool", "import_battles", "export", "exclude", "close", "invite")}
    api_file = gr.File(visible=False)
    answer = gr.JSON(visible=False)

    form = [name, task, mode, models, criteria, outcomes, reveal, gold_rate, repeat_rate, overlap_rate,
            target_votes, min_votes, prompts, seed, width, height, steps, identity, prior]
    private = {"api_visibility": "private"}
    created = create.click(bind(create_view, ctx), [password, *form, folder],
                           [panel["summary"], panel["answer"], panel["session"]], concurrency_limit=None, **private)
    logs = import_battles.click(bind(battles_view, ctx), [password, battles_file, import_name],
                                [panel["summary"], panel["answer"]], **private)
    api_created = triggers["create"].click(bind(arena_create_session, ctx), [password, *form], answer,
                                           api_name="arena_create_session", concurrency_limit=None)
    imported = triggers["import_pool"].click(bind(arena_import_pool, ctx), [password, api["session"], api["folder"]],
                                             answer, api_name="arena_import_pool")
    api_logs = triggers["import_battles"].click(bind(arena_import_battles, ctx), [password, battles_file, import_name],
                                                answer, api_name="arena_import_battles")
    triggers["export"].click(bind(arena_export, ctx), [password, api["session"], api["kind"]], api_file,
                             api_name="arena_export")
    triggers["exclude"].click(bind(arena_exclude, ctx), [password, api["session"], api["annotators"], api_excluded],
                              answer, api_name="arena_exclude")
    closed = triggers["close"].click(bind(arena_close, ctx), [password, api["session"]], answer,
                                     api_name="arena_close")
    triggers["invite"].click(bind(arena_create_invites, ctx), [password, api["session"], api["aliases"]], answer,
                             api_name="arena_create_invites")
    kind, export, exported = panel["export"]
    export.click(bind(export_view, ctx), [password, panel["session"], kind],
                 [panel["summary"], panel["answer"], exported], **private)
    task.change(default_criteria, task, criteria, queue=False, **private)
    mode.change(mode_fields, mode, [folder, live_row, live_numbers], queue=False, **private)
    changed = [created, logs, api_created, imported, api_logs, closed]
    for event in changed:
        event.then(panel["refresh"], None, panel["outputs"], **private)
    return {"changed": [*changed, *panel["changed"]]}


@ui_errors
def export_view(ctx: AppContext, admin_password: str, session: str, kind: str,
                request: gr.Request = None) -> list[Any]:
    """Export from the sessions panel: the file to download, its full name in words (the file box shortens long
    names), and the answer as JSON."""
    if not session:
        raise InvalidInput("session", "choose a session in the table first")
    path = Path(arena_export(ctx, admin_password, session, kind, request))
    return [tr("admin.exported", file=path.name), {"session": session, "file": path.name},
            gr.File(value=str(path), visible=True)]


def mode_fields(mode: str) -> list[Any]:
    """Pool sessions take a folder; live sessions take models, prompts and generation settings."""
    live = mode == "live"
    return [gr.Textbox(visible=not live), gr.Row(visible=live), gr.Row(visible=live)]


@ui_errors
def battles_view(ctx: AppContext, admin_password: str, battles: str, name: str,
                 request: gr.Request = None) -> list[Any]:
    """Import battles: the new session in words, and the answer as JSON."""
    result = ctx.arena.import_battles(admin_password, battles, name, client=client_id(ctx, request))
    return [tr("admin.battles_imported", battles=result["battles"], models=len(result["models"]),
               id=result["session"]), result]

