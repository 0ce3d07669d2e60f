"""The sessions panel of session admin: every labeling session in one table with its state and counts, and the
actions on the session selected there (fill from a pool, invite annotators, export, exclude annotators, close), each
answered in words. The same actions are public API endpoints in ``tabs/arena_admin.py``, which is laid out below
(and wires Export, whose files it manages)."""

from __future__ import annotations

import time
from typing import Any

import gradio as gr

from arena import views
from backends.core.errors import InvalidInput
from tabs.common import AppContext, bind, client_id, tr, ui_errors

COLUMNS = ("id", "name", "task", "mode", "state", "items", "votes", "annotators", "identity", "created")
COLUMN_WIDTHS = ("200px", "160px", "70px", "180px", "90px", "70px", "110px", "110px", "150px", "150px")
EXPORT_KINDS = ("fastchat", "preferences", "dataset")


def sessions_table(ctx: AppContext) -> Any:
    """Every session (newest first) with its state, in the reader's language."""
    rows = [[r.id, r.name, r.task, tr(f"admin.mode.{r.mode}"), tr(f"admin.state.{r.state}"), r.items,
             f"{r.votes} / {r.target}" if r.mode != "imported" else r.votes, r.annotators,
             tr(f"admin.identity.{r.identity}"), time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at))]
            for r in views.session_rows(ctx.arena)]
    # Fixed widths: shared out by Gradio, ten columns broke headers inside words ("It em s"); the table scrolls
    # sideways in its own box instead.
    return gr.Dataframe(value=rows, headers=[tr(f"admin.col.{c}") for c in COLUMNS], column_widths=list(COLUMN_WIDTHS))


def session_ids(ctx: AppContext) -> list[tuple[str, str]]:
    """The sessions as dropdown choices, (label, id)."""
    return [(f"{s.name} ({s.id})", s.id) for s in ctx.arena.store.sessions()]


def refresh(ctx: AppContext) -> list[Any]:
    """The table and the session choices, after any change."""
    return [sessions_table(ctx), gr.Dropdown(choices=session_ids(ctx))]


def pick(table: Any, event: gr.SelectData) -> Any:
    """A click in the table selects that row's session."""
    row = event.index[0] if isinstance(event.index, list | tuple) else event.index
    try:
        return table.iloc[row, 0] if hasattr(table, "iloc") else table[row][0]
    except (IndexError, KeyError, TypeError):
        return gr.skip()


def chosen(session: Any) -> str:
    """The selected session id, or an error saying to pick one."""
    if not session:
        raise InvalidInput("session", "choose a session in the table first")
    return str(session)


@ui_errors
def fill_view(ctx: AppContext, password: str, session: str, folder: str, request: gr.Request = None) -> list[Any]:
    """Fill a pool session from a server folder."""
    result = ctx.arena.import_pool(password, chosen(session), folder, client=client_id(ctx, request))
    return [tr("admin.filled_session", id=result["session"], items=result["items"], models=len(result["models"])),
            result]


@ui_errors
def close_view(ctx: AppContext, password: str, session: str, request: gr.Request = None) -> list[Any]:
    """Close a session."""
    ctx.arena.close_session(password, chosen(session), client=client_id(ctx, request))
    return [tr("admin.closed", id=session), {"session": session, "status": "closed"}]


@ui_errors
def invite_view(ctx: AppContext, password: str, session: str, aliases: str, request: gr.Request = None) -> list[Any]:
    """Invite tokens, shown once, as a table of alias and token."""
    tokens = ctx.arena.create_invites(password, chosen(session), aliases, client=client_id(ctx, request))
    return [tr("admin.invited", count=len(tokens), id=session), tokens,
            gr.Dataframe(value=[[t["alias"], t["token"]] for t in tokens],
                         headers=[tr("admin.col.alias"), tr("admin.col.token")], visible=True)]


@ui_errors
def exclude_view(ctx: AppContext, password: str, session: str, annotators: str, excluded: bool,
                 request: gr.Request = None) -> list[Any]:
    """Exclude annotators from the leaderboard, or bring them back."""
    changed = ctx.arena.set_excluded(password, chosen(session), annotators, bool(excluded),
                                     client=client_id(ctx, request))
    return [tr("admin.excluded_done" if excluded else "admin.included_done", count=changed, id=session),
            {"session": session, "changed": changed, "excluded": bool(excluded)}]


def build(ctx: AppContext) -> dict[str, Any]:
    """Lay out the password, the sessions table and the actions on the selected session; returns what the create
    form below needs (password, summary, answer, session) and the events that change sessions."""
    i18n = ctx.i18n
    gr.Markdown(i18n("admin.intro"))
    password = gr.Textbox(label=i18n("admin.password"), type="password", elem_id="admin-password")
    summary = gr.Markdown(elem_id="admin-summary")
    with gr.Accordion(i18n("admin.answer"), open=False):
        answer = gr.JSON(label=i18n("admin.result"), elem_id="admin-result")
    with gr.Accordion(i18n("admin.sessions"), open=True):
        table = gr.Dataframe(interactive=False, wrap=True, elem_id="admin-sessions", max_height=360)
        with gr.Row():
            session = gr.Dropdown(choices=session_ids(ctx), allow_custom_value=True, label=i18n("admin.selected"),
                                  elem_id="admin-session", scale=3, min_width=220)
            reload = gr.Button(i18n("models.refresh"), scale=1, min_width=100)
            close = gr.Button(i18n("admin.close"), variant="stop", scale=1, min_width=120, elem_id="admin-close")
        with gr.Row():
            folder = gr.Textbox(label=i18n("admin.folder"), scale=3, min_width=220, elem_id="admin-fill-folder")
            fill = gr.Button(i18n("admin.import_pool"), scale=1, min_width=120, elem_id="admin-import-pool")
        with gr.Row():
            aliases = gr.Textbox(lines=2, label=i18n("admin.aliases"), scale=3, min_width=220)
            invite = gr.Button(i18n("admin.invite_button"), scale=1, min_width=120)
        tokens = gr.Dataframe(visible=False, interactive=False, elem_id="admin-tokens")
        with gr.Row():
            kind = gr.Radio([(i18n(f"admin.export.{k}"), k) for k in EXPORT_KINDS], value="fastchat",
                            label=i18n("admin.export_kind"), scale=3, min_width=220)
            export = gr.Button(i18n("admin.export_button"), scale=1, min_width=120, elem_id="admin-export")
        exported = gr.File(label=i18n("admin.download"), interactive=False, visible=False, elem_id="admin-download")
        with gr.Row():
            annotators = gr.Textbox(label=i18n("admin.annotators"), scale=3, min_width=220)
            excluded = gr.Checkbox(value=True, label=i18n("admin.excluded"), scale=2, min_width=160)
            exclude = gr.Button(i18n("admin.exclude_button"), scale=1, min_width=100)

    private = {"api_visibility": "private"}
    outputs = [table, session]
    shown = bind(refresh, ctx)
    said = [summary, answer]
    changed = [
        fill.click(bind(fill_view, ctx), [password, session, folder], said, **private),
        close.click(bind(close_view, ctx), [password, session], said, **private),
        exclude.click(bind(exclude_view, ctx), [password, session, annotators, excluded], said, **private),
    ]
    for event in changed:
        event.then(shown, None, outputs, **private)
    invite.click(bind(invite_view, ctx), [password, session, aliases], [*said, tokens], **private)
    reload.click(shown, None, outputs, queue=False, **private)
    table.select(pick, table, session, queue=False, **private)
    return {"password": password, "summary": summary, "answer": answer, "session": session, "refresh": shown,
            "outputs": outputs, "changed": changed, "export": (kind, export, exported)}
