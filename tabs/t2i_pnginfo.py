"""PNG info under the text-to-image tab: drop an image made here, by AUTOMATIC1111 or by ComfyUI, and the form fills
in with its prompt, negative prompt, seed, size, steps, guidance and (when this studio has it) its model; what could
not be carried over is said. Built under the text-to-image tab by ``app.py``."""

from __future__ import annotations

import re
from typing import Any

import gradio as gr

from backends.core.pnginfo import PngSettings, read_settings
from backends.models.registry import Registry
from tabs.common import AppContext, bind, tr, ui_errors


def _plain(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def match_model(registry: Registry, name: str | None) -> str | None:
    """The registry's text-to-image key for a model name another tool wrote (``sd_xl_base_1.0.safetensors``,
    ``flux1-schnell``), by its key, display name or repository name; None when nothing matches."""
    if not name:
        return None
    if name in registry and registry[name].task == "t2i":
        return name
    wanted = _plain(re.sub(r"\.(safetensors|ckpt|pt|bin|gguf)$", "", str(name), flags=re.I))
    if len(wanted) < 3:
        return None
    for spec in registry.by_task("t2i"):
        names = {spec.key.split("/")[-1], spec.name, str(spec.repo_id or "").split("/")[-1]}
        plain = {_plain(n) for n in names if n and len(_plain(n)) >= 3}
        if any(p in wanted or wanted in p for p in plain):
            return spec.key
    return None


@ui_errors
def png_info(ctx: AppContext, image: str) -> dict[str, Any]:
    """Read the generation settings stored in an image: this studio's recipe, AUTOMATIC1111's "parameters" text
    (PNG chunk or JPEG EXIF comment) or ComfyUI's graph ("prompt" / "workflow" chunks).

    Args:
        image: the image file (PNG, JPEG or WebP).

    Returns:
        source (studio, a1111, comfyui or none), prompt, negative_prompt, seed, steps, guidance, width, height,
        model (as the file names it), sampler, extra, and studio_model (the matching registry key, or None).
    """
    settings = read_settings(image) if image else PngSettings()
    return {**settings.to_dict(), "studio_model": match_model(ctx.registry, settings.model)}


@ui_errors
def fill_form(ctx: AppContext, image: str) -> list[Any]:
    """Dropped image -> the form: every field the image has, the others left as they were; a summary of what was
    read (and what was not), and everything the image said."""
    if not image:
        return [gr.skip()] * 12 + ["", None]
    found = png_info(ctx, image)
    if found["source"] == "none":
        return [gr.skip()] * 12 + [tr("t2i.png_nothing"), found]

    def keep(value: Any) -> Any:
        return gr.skip() if value in (None, "") else value

    model = found["studio_model"]
    notes = [tr("t2i.png_read", source=tr(f"t2i.png_source.{found['source']}"))]
    if found["model"]:
        notes.append(tr("t2i.png_model", model=found["model"], studio=ctx.registry[model].name) if model
                     else tr("t2i.png_model_missing", model=found["model"]))
    if found.get("sampler"):
        notes.append(tr("t2i.png_sampler", sampler=found["sampler"]))
    fields = [keep(found["prompt"]), found["negative_prompt"] if found["prompt"] else gr.skip(),
              [model] if model else gr.skip(), keep(found["seed"]), False if found["seed"] is not None else gr.skip(),
              keep(found["width"]), keep(found["height"]), keep(found["steps"]),
              False if found["steps"] is not None else gr.skip(), keep(found["guidance"]),
              False if found["guidance"] is not None else gr.skip(), "custom"]
    return [*fields, " · ".join(notes), found]


def build(ctx: AppContext, t2i: dict[str, Any]) -> None:
    """Lay out the PNG-info accordion under the text-to-image tab and wire it to the form."""
    i18n = ctx.i18n
    with gr.Accordion(i18n("t2i.png_info"), open=False, elem_id="t2i-pnginfo"), gr.Row():
        dropped = gr.File(label=i18n("t2i.png_drop"), file_types=[".png", ".jpg", ".jpeg", ".webp"],
                          type="filepath", elem_id="t2i-png-drop", min_width=240)
        with gr.Column(min_width=240):
            said = gr.Markdown(elem_id="t2i-png-summary")
            found = gr.JSON(label=i18n("t2i.png_found"), elem_id="t2i-png-json", open=False)
    api = gr.Button(visible=False)
    form = [t2i[k] for k in ("prompt", "negative", "models", "seed", "random_seed", "width", "height", "steps",
                             "model_steps", "guidance", "model_guidance", "ratio")]
    private = {"api_visibility": "private"}
    dropped.upload(bind(fill_form, ctx), dropped, [*form, said, found], **private)
    api.click(bind(png_info, ctx), dropped, found, api_name="png_info", queue=False)
