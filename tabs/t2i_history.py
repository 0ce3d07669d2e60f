"""History of the text-to-image tab: every image this browser generated, newest first, to browse, filter by model
or prompt, and reopen (its settings back in the form), as A1111's and ComfyUI's output browsers do.

The list lives in the browser (``gr.BrowserState``, encrypted with a key derived from the server's secret), so each
visitor sees only their own outputs, and it survives reloads and restarts. What comes back from the browser is not
trusted: an entry is shown only if its file is a PNG inside the studio's outputs folder. Built under the
text-to-image tab by ``app.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

import gradio as gr

from tabs.common import AppContext, bind, tr

KEEP = 200  # entries kept per browser, newest first
STORAGE_KEY = "studio-t2i-history"


def record(ctx: AppContext, records: Any, history: Any) -> list[dict[str, Any]]:
    """The history with the images of a finished run added at the front."""
    entries = []
    for item in records or []:
        recipe = item.get("recipe") or {}
        path = find_output(ctx, recipe, item.get("file"))
        if path is None:
            continue
        entries.append({"path": str(path), "model": recipe.get("model"), "name": recipe.get("name"),
                        "prompt": recipe.get("prompt", ""), "negative_prompt": recipe.get("negative_prompt", ""),
                        "seed": recipe.get("seed"), "steps": recipe.get("steps"), "guidance": recipe.get("guidance"),
                        "width": recipe.get("width"), "height": recipe.get("height"), "time": time.time()})
    return (entries + [e for e in (history or []) if isinstance(e, dict)])[:KEEP]


def find_output(ctx: AppContext, recipe: dict[str, Any], name: Any) -> Path | None:
    """The output file called ``name`` under the outputs folder (outputs live in unguessable sub-folders)."""
    if not isinstance(name, str) or "/" in name or "\\" in name:
        return None
    root = ctx.settings.outputs_dir
    for day in (time.strftime("%Y-%m-%d"), time.strftime("%Y-%m-%d", time.localtime(time.time() - 86400))):
        hits = sorted((root / day).glob(f"*/{name}"))  # a run that crossed midnight wrote into yesterday's folder
        if hits:
            return hits[-1]
    return None


def trusted(ctx: AppContext, entry: Any) -> bool:
    """Whether a history entry from the browser points at a PNG this studio wrote (never elsewhere)."""
    try:
        path = Path(str(entry["path"])).resolve(strict=True)
        return path.suffix == ".png" and path.is_relative_to(ctx.settings.outputs_dir.resolve())
    except (KeyError, TypeError, OSError, RuntimeError):
        return False


def matching(ctx: AppContext, history: Any, text: str, model: str) -> list[dict[str, Any]]:
    """The entries that pass the filters (prompt contains ``text``; ``model`` or "all")."""
    needle = (text or "").strip().casefold()
    return [e for e in history or [] if isinstance(e, dict) and trusted(ctx, e)
            and (not needle or needle in str(e.get("prompt", "")).casefold())
            and (not model or model == "all" or e.get("model") == model)]


def show(ctx: AppContext, history: Any, text: str, model: str) -> list[Any]:
    """The filtered history as a gallery (caption: model, seed, prompt), and the entries behind it."""
    shown = matching(ctx, history, text, model)
    items = [(e["path"], f"{e.get('name') or e.get('model')} · {tr('t2i.caption.seed', seed=e.get('seed'))} · "
                         f"{str(e.get('prompt', ''))[:60]}") for e in shown]
    count = tr("t2i.history_count", shown=len(shown), total=len(history or []))
    return [items, shown, f"<small>{count}</small>"]


def pick(shown: list[dict[str, Any]], event: gr.SelectData) -> Any:
    """The entry behind the clicked thumbnail."""
    try:
        return shown[event.index]
    except (TypeError, IndexError):
        return None


def reopen(entry: Any) -> list[Any]:
    """The selected entry's settings back in the form (fixed seed, steps and guidance: the image's own)."""
    if not isinstance(entry, dict):
        gr.Warning(tr("t2i.history_pick_first"))
        return [gr.skip()] * 12
    steps, guidance = entry.get("steps"), entry.get("guidance")
    return [entry.get("prompt", ""), entry.get("negative_prompt", ""), [entry["model"]] if entry.get("model") else
            gr.skip(), entry.get("seed"), False, entry.get("width"), entry.get("height"),
            steps if steps is not None else gr.skip(), steps is None, guidance if guidance is not None else gr.skip(),
            guidance is None, tr("t2i.reopened", name=entry.get("name") or entry.get("model"), seed=entry.get("seed"))]


def secret(ctx: AppContext) -> str:
    """The browser-storage key: derived from the server's own secret, so history survives restarts but cannot be
    forged or read by another server."""
    base = getattr(ctx.arena, "secret", None) or ctx.settings.outputs_dir.as_posix().encode()
    return hmac.new(base, b"t2i-history", hashlib.sha256).hexdigest()[:32]


def build(ctx: AppContext, t2i: dict[str, Any]) -> None:
    """Lay out the history accordion under the text-to-image tab and wire it to the tab's Generate."""
    i18n = ctx.i18n
    history = gr.BrowserState([], storage_key=STORAGE_KEY, secret=secret(ctx))
    shown = gr.State([])
    chosen = gr.State(None)
    models = [(i18n("t2i.history_all"), "all"), *[(s.name, s.key) for s in ctx.registry.by_task("t2i")]]
    with gr.Accordion(i18n("t2i.history"), open=False, elem_id="t2i-history"):
        with gr.Row():
            text = gr.Textbox(label=i18n("t2i.history_filter"), elem_id="t2i-history-filter", scale=3, min_width=200)
            model = gr.Dropdown(models, value="all", label=i18n("t2i.history_model"), scale=2, min_width=160)
            reopen_button = gr.Button(i18n("t2i.history_reopen"), elem_id="t2i-history-reopen", scale=1,
                                      min_width=120)
        count = gr.Markdown(elem_id="t2i-history-count")
        gallery = gr.Gallery(columns=6, height="auto", interactive=False, format="png", type="filepath",
                             object_fit="contain", elem_id="t2i-history-gallery", show_label=False)
    private = {"api_visibility": "private", "queue": False}
    for event in t2i["generated"]:
        event.success(bind(record, ctx), [t2i["recipes"], history], history, **private)
    gr.on(None, bind(show, ctx), [history, text, model], [gallery, shown, count], show_progress="hidden", **private)
    gallery.select(pick, shown, chosen, **private)
    form = [t2i[k] for k in ("prompt", "negative", "models", "seed", "random_seed", "width", "height", "steps",
                             "model_steps", "guidance", "model_guidance", "status")]
    reopen_button.click(reopen, chosen, form, **private)
