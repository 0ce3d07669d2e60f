"""How the text-to-image form behaves: "random seed" hides the seed, "each model's default" locks steps or guidance
and says what each model will use, a fifth model is refused out loud, models that cannot run here are listed with
the reason, aspect-ratio presets set a size every selected model accepts, Stop says what it did, and the gallery's
selection feeds "send to hand repair". Built under the text-to-image tab by ``app.py``."""

from __future__ import annotations

from typing import Any

import gradio as gr

from backends.core.errors import InvalidInput
from backends.models.sizes import preset_size
from tabs.common import MAX_MODELS, AppContext, bind, message, stop_message, tr, ui_errors


def seed_field(random_seed: bool) -> Any:
    """The seed is shown only when it is used."""
    return gr.Number(visible=not random_seed)


def steps_field(model_steps: bool) -> Any:
    """Steps are locked while each model uses its own."""
    return gr.Number(interactive=not model_steps)


def guidance_field(model_guidance: bool) -> Any:
    """Guidance is shown only when one value is used for every model."""
    return gr.Number(visible=not model_guidance)


def limit_models(ctx: AppContext, models: list[str] | None) -> Any:
    """At most four models: a fifth is taken off again, with a warning that says so."""
    models = list(models or [])
    if len(models) <= MAX_MODELS:
        return gr.skip()
    dropped = [ctx.registry[k].name if k in ctx.registry else k for k in models[MAX_MODELS:]]
    gr.Warning(tr("t2i.too_many", max=MAX_MODELS, dropped=", ".join(dropped)))
    return gr.Dropdown(value=models[:MAX_MODELS])


def model_defaults(ctx: AppContext, models: list[str] | None, model_steps: bool, model_guidance: bool) -> str:
    """What each selected model uses when its own steps or guidance is asked for (its model card's values)."""
    if not (model_steps or model_guidance):
        return ""
    lines = []
    for key in list(models or [])[:MAX_MODELS]:
        if key not in ctx.registry:
            continue
        spec = ctx.registry[key]
        defaults = spec.generation
        parts = []
        if model_steps:
            parts.append(tr("t2i.default_steps", steps=defaults.steps if defaults.steps is not None else "—"))
        if model_guidance:
            parts.append(tr("t2i.default_guidance", guidance="—" if defaults.guidance is None else defaults.guidance))
        lines.append(f"{spec.name}: {', '.join(parts)}")
    return f"<small>{tr('t2i.defaults_intro')} {' · '.join(lines)}</small>" if lines else ""


def unavailable_models(ctx: AppContext) -> str:
    """The text-to-image models this server cannot run, and why (they are not offered in the list)."""
    missing = [(spec.name, why) for spec in ctx.registry.by_task("t2i")
               for ok, why in [ctx.executor.availability(spec.key)] if not ok]
    if not missing:
        return ""
    listed = "; ".join(f"{name} ({message(why)})" for name, why in missing)
    return f"<small>{tr('t2i.unavailable', models=listed)}</small>"


@ui_errors
def apply_ratio(ctx: AppContext, ratio: str, models: list[str] | None) -> Any:
    """An aspect-ratio preset: the size every selected model accepts, near the smallest native pixel count among
    them (the tiny profile's miniatures stay at 512 px, where they are quick)."""
    if not ratio or ratio == "custom":
        return gr.skip(), gr.skip(), ""
    keys = [k for k in list(models or []) if k in ctx.registry] or ["t2i/kolors"]
    rules = [ctx.registry[k].size for k in keys]
    pixels = 512 * 512 if ctx.settings.profile == "tiny" else None
    try:
        width, height = preset_size(rules, ratio, pixels)
    except InvalidInput as exc:
        gr.Warning(tr("t2i.ratio_impossible", ratio=ratio, detail=exc.reason))
        return gr.skip(), gr.skip(), ""
    note = tr("t2i.ratio_note", ratio=ratio, width=width, height=height, models=", ".join(
        ctx.registry[k].name for k in keys))
    return width, height, f"<small>{note}</small>"


def last_seed(records: Any) -> Any:
    """The seed of the last run, for "reuse seed" (and untick Random)."""
    try:
        return records[0]["recipe"]["seed"], False
    except (TypeError, KeyError, IndexError):
        return gr.skip(), gr.skip()


def selected_image(images: Any, event: gr.SelectData) -> Any:
    """The path of the gallery image the user clicked."""
    try:
        item = images[event.index]
    except (TypeError, IndexError):
        return None
    return item[0] if isinstance(item, list | tuple) else item


def first_image(images: Any) -> Any:
    """The first gallery image: what "send to hand repair" sends until another is clicked."""
    return images[0][0] if images else None


def build(ctx: AppContext, t2i: dict[str, Any]) -> None:
    """Wire the form's behaviour onto the components ``tabs.text_to_image.build`` laid out."""
    private = {"api_visibility": "private", "queue": False}
    quiet = {**private, "show_progress": "hidden"}
    t2i["random_seed"].change(seed_field, t2i["random_seed"], t2i["seed"], **quiet)
    t2i["model_steps"].change(steps_field, t2i["model_steps"], t2i["steps"], **quiet)
    t2i["model_guidance"].change(guidance_field, t2i["model_guidance"], t2i["guidance"], **quiet)
    # Queued (warnings reach the browser only from queued events), never waiting behind a generation.
    t2i["models"].change(bind(limit_models, ctx), t2i["models"], t2i["models"], api_visibility="private",
                         show_progress="hidden", concurrency_limit=None)
    # On page load and whenever the models or the toggles change: each model's own values, and a preset re-sized.
    gr.on(None, bind(model_defaults, ctx), [t2i["models"], t2i["model_steps"], t2i["model_guidance"]],
          t2i["defaults"], **quiet)
    gr.on(None, bind(unavailable_models, ctx), None, t2i["unavailable"], **quiet)
    gr.on([t2i["ratio"].change, t2i["models"].change], bind(apply_ratio, ctx), [t2i["ratio"], t2i["models"]],
          [t2i["width"], t2i["height"], t2i["status"]], **quiet)
    t2i["reuse"].click(last_seed, t2i["recipes"], [t2i["seed"], t2i["random_seed"]], **private)
    t2i["stop"].click(bind(stop_message, ctx), None, t2i["stopped"], cancels=t2i["generated"], **private)
    for started in (t2i["run"].click, t2i["prompt"].submit):  # a new run: the last Stop is history
        started(lambda: "", None, t2i["stopped"], **quiet)
    t2i["gallery"].select(selected_image, t2i["gallery"], t2i["selected"], **private)
    t2i["gallery"].change(first_image, t2i["gallery"], t2i["selected"], **private)
