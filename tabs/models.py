"""Models tab: the registry as a table (what is available, loaded, how big), and buttons that free memory."""

from __future__ import annotations

from typing import Any

import gradio as gr

from tabs.common import AppContext, bind, client_id, headed, message, tr, ui_errors

COLUMNS = ("key", "name", "task", "available", "why", "loaded", "memory (MB)", "in use", "languages", "license",
           "VRAM (GB)", "paper")


def list_models(ctx: AppContext) -> list[dict[str, Any]]:
    """The registry as JSON-ready rows: key, task, name, available, profile, plus load state and model facts."""
    loaded = {e.key: e for e in ctx.executor.loaded()}
    rows = []
    for spec in ctx.registry.values():
        ok, why = ctx.executor.availability(spec.key)
        entry = loaded.get(spec.key)
        rows.append({
            "key": spec.key,
            "task": spec.task,
            "name": spec.name,
            "available": ok,
            "availability": why,
            "profile": "remote" if spec.remote else ctx.settings.profile,
            "loaded": entry is not None,
            "memory_bytes": entry.size_bytes if entry else 0,
            "in_use": entry.pinned if entry else 0,
            **{k: v for k, v in spec.describe().items() if k not in ("key", "task", "name")},
        })
    return rows


def table(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """Rows for the on-screen table."""
    return [
        [r["key"], r["name"], r["task"], tr("lb.yes") if r["available"] else tr("models.no"),
         message(r["availability"]), tr("lb.yes") if r["loaded"] else "",
         round(r["memory_bytes"] / 1024**2, 1) if r["loaded"] else "", r["in_use"] or "",
         ", ".join(r["languages"]), r["license"], r["vram_gb"], r["paper"]]
        for r in rows
    ]


def cache_summary(ctx: AppContext) -> str:
    """One line: memory in use against the budget, and the cache's counters."""
    status = ctx.executor.status()
    used, budget = status["used_bytes"], status["budget_bytes"]
    stats = ", ".join(f"{message(k)}: {v}" for k, v in status["stats"].items())
    return tr("models.loaded", used=f"{used / 1024**3:.2f}", budget=f"{budget / 1024**3:.1f}", stats=stats)


def models(ctx: AppContext) -> list[dict[str, Any]]:
    """The registry as JSON: key, task, name, available, profile, loaded, and each model's facts
    (repo, pipeline, defaults, size rule, license, languages, VRAM, paper, notes)."""
    return list_models(ctx)


def show(ctx: AppContext) -> tuple[Any, str, Any]:
    """The Models tab on screen: the table, the memory line, and the loaded models to free."""
    rows = list_models(ctx)
    loaded = [r["key"] for r in rows if r["loaded"]]
    return headed(table(rows), COLUMNS), cache_summary(ctx), gr.Dropdown(choices=loaded, value=[])


@ui_errors
def free_models(ctx: AppContext, admin_password: str, keys: list[str] | None,
                request: gr.Request = None) -> dict[str, list[str]]:
    """Unload models to free memory (admin; all loaded ones when `keys` is empty); models in use stay.

    Args:
        admin_password: STUDIO_ADMIN_PASSWORD (freeing models changes the server for everyone).
        keys: registry keys to unload; empty or None for all.
    """
    for key in keys or []:
        ctx.registry.get_spec(key, "keys")
    ctx.arena.require_admin(admin_password, "free_models", ",".join(keys or []) or "all", client_id(ctx, request))
    freed = ctx.executor.free(list(keys) if keys else None)
    kept = [e.key for e in ctx.executor.loaded() if not keys or e.key in keys]
    return {"freed": freed, "in_use": kept}


def freed_message(freed: dict[str, list[str]] | None) -> str:
    """What freeing did, in words: the models unloaded, and those kept because a run is using them."""
    if not freed:
        return ""
    lines = [tr("models.freed_list", keys=", ".join(freed["freed"])) if freed["freed"] else tr("models.freed_nothing")]
    if freed["in_use"]:
        lines.append(tr("models.still_in_use", keys=", ".join(freed["in_use"])))
    return "\n\n".join(lines)


def free_all_models(ctx: AppContext, admin_password: str, request: gr.Request = None) -> dict[str, list[str]]:
    """"Free all": every loaded model that no request is using (admin)."""
    return free_models(ctx, admin_password, None, request)


def build(ctx: AppContext) -> dict[str, Any]:
    """Lay out the Models tab and wire it."""
    i18n = ctx.i18n
    gr.Markdown(i18n("models.intro"))
    summary = gr.Markdown(elem_id="models-summary")
    # Pixel widths: keys, tasks and headers whole, long text (reasons, licenses, papers) wrapped in wide enough
    # columns to stay within a few lines; the table scrolls sideways in its own box.
    grid = gr.Dataframe(headers=list(COLUMNS), interactive=False, wrap=True, max_height=560, visible=False,
                        column_widths=["230px", "280px", "90px", "100px", "320px", "90px", "130px", "90px", "110px",
                                       "240px", "110px", "380px"],
                        elem_id="models-table")
    refresh = gr.Button(i18n("models.refresh"), size="sm", elem_id="models-refresh")
    # Freeing memory (admin): the fields on one line, the two actions under them (wrapping one per line on a phone).
    with gr.Row(equal_height=True):
        password = gr.Textbox(type="password", label=i18n("models.admin_password"), scale=1, min_width=220,
                              elem_id="models-password")
        choice = gr.Dropdown(multiselect=True, label=i18n("models.to_free"), choices=[], allow_custom_value=True,
                             scale=2, min_width=260, elem_id="models-to-free")
    with gr.Row():
        free = gr.Button(i18n("models.free_selected"), elem_id="models-free")
        free_all = gr.Button(i18n("models.free_all"), variant="stop", elem_id="models-free-all")
    freed = gr.JSON(label=i18n("models.freed"), visible=False)
    said = gr.Markdown(elem_id="models-freed")

    gr.api(bind(models, ctx), api_name="models")
    outputs = [grid, summary, choice]
    shown = bind(show, ctx)
    refresh.click(shown, None, outputs, api_visibility="private", queue=False)
    for freeing in (free.click(bind(free_models, ctx), [password, choice], freed, api_name="free_models"),
                    free_all.click(bind(free_all_models, ctx), password, freed, api_visibility="private")):
        freeing.success(freed_message, freed, said, api_visibility="private", queue=False).then(
            shown, None, outputs, api_visibility="private")
    return {"show": shown, "outputs": outputs}
