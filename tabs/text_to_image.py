"""Bilingual text-to-image tab: one prompt (Chinese, English or both), 1 to 4 models side by side with the same
seed, size and steps, each image with its recipe and a text-rendering check of the prompt's quoted text. A batch
count gives several seeds per model (A1111's "batch count": the seed goes up by one per batch) and a seed grid.

The form's behaviour (seed and default toggles, the model limit, aspect-ratio presets) is ``tabs/t2i_form.py``;
history, PNG info and the X/Y plot have their own modules, built under this tab by ``app.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gradio as gr

from backends.core import imaging
from backends.core.errors import InvalidInput, ModelUnavailable
from backends.core.grids import xy_grid
from backends.core.run import RunControl
from backends.core.text import check_prompt, detect_language, extract_quoted
from backends.core.validation import MAX_SEED, resolve_seed
from backends.models.registry import Registry
from backends.tasks.t2i.types import T2IRequest, T2IResult
from backends.vision.ocr import OCRRequest
from tabs.common import (
    ASSETS,
    GPU,
    MAX_MODELS,
    AppContext,
    bind,
    optional_number,
    require_int,
    run_control,
    tr,
    ui_errors,
)

MAX_BATCH = 8  # seeds per model in one run (A1111's batch count)
OCR_KEY = "ocr/rapidocr"
DEFAULT_MODELS = ("t2i/hunyuan-dit", "t2i/kolors")


@dataclass
class Comparison:
    """The outcome of one side-by-side generation.

    Attributes:
        gallery: (PNG path, caption) per image: seed by seed, models in the order asked.
        records: per image, its recipe and text-rendering check (JSON-ready).
        summary: a Markdown table comparing the images.
        grid: with more than one seed, the seed grid (rows: seeds, columns: models) as a PNG path.
    """

    gallery: list[tuple[str, str]]
    records: list[dict[str, Any]]
    summary: str
    grid: str | None = None


# --------------------------------------------------------------------------------------------------------------------
# Handlers (plain Python: tested without a browser)
# --------------------------------------------------------------------------------------------------------------------
def check_models(registry: Registry, models: Any) -> list[str]:
    """Validate the model selection: 1 to 4 distinct registered text-to-image keys.

    Raises:
        InvalidInput: naming ``models``.
    """
    if isinstance(models, str):
        models = [models]
    if not isinstance(models, list | tuple) or not models:
        raise InvalidInput("models", "pick at least one model")
    if len(models) > MAX_MODELS:
        raise InvalidInput("models", f"{len(models)} models selected; compare at most {MAX_MODELS} at once")
    if len(set(models)) != len(models):
        raise InvalidInput("models", "the same model is selected twice")
    for key in models:
        spec = registry.get_spec(key, "models")
        if spec.task != "t2i":
            raise InvalidInput("models", f"{key} is a {spec.task} model, not a text-to-image one")
    return list(models)


def prompt_info(prompt: str) -> str:
    """One line under the prompt: detected language and the text to render."""
    if not isinstance(prompt, str) or not prompt.strip():
        return ""
    quoted = extract_quoted(prompt)
    language = tr(f"t2i.language.{detect_language(prompt)}")
    render = ", ".join(f"“{q}”" for q in quoted) if quoted else "—"
    return tr("t2i.prompt_info", language=language, render=render)


def compare(
    ctx: AppContext,
    prompt: Any,
    negative_prompt: Any,
    models: Any,
    seed: Any,
    width: Any,
    height: Any,
    steps: Any,
    guidance: Any,
    *,
    control: RunControl,
    batch_count: Any = 1,
) -> Comparison:
    """Generate the prompt with every selected model (same seed, size, steps), for ``batch_count`` seeds in a row,
    and check rendered text.

    Raises:
        InvalidInput: any field is invalid for any selected model (checked before anything runs).
        ModelUnavailable: a selected model cannot run here (missing weights offline, no API key).
        Cancelled: Stop was pressed.
    """
    # 1. validate everything before the first model loads
    keys = check_models(ctx.registry, models)
    seed = require_int(seed, "seed")
    count = require_int(batch_count, "batch_count") or 1
    if not 1 <= count <= MAX_BATCH:
        raise InvalidInput("batch_count", f"{count} is outside 1..{MAX_BATCH} seeds per model")
    request = T2IRequest(
        prompt=check_prompt(prompt, "prompt"),
        negative_prompt=check_prompt(negative_prompt, "negative_prompt", required=False),
        seed=resolve_seed(seed) if seed is None else seed,  # one seed for all models
        width=require_int(width, "width"),
        height=require_int(height, "height"),
        steps=require_int(steps, "steps"),
        guidance=optional_number(guidance),
    )
    if request.width is None or request.height is None:
        raise InvalidInput("width" if request.width is None else "height", "is required")
    for key in keys:
        ctx.executor.check(key, request)
        ok, why = ctx.executor.availability(key)
        if not ok:
            raise ModelUnavailable(f"{ctx.registry[key].name} ({key}) is not available: {why}")
    targets = extract_quoted(request.prompt)
    seeds = [(request.seed + i) % (MAX_SEED + 1) for i in range(count)]  # A1111: one more per batch
    jobs = [(key, replace(request, seed=s)) for s in seeds for key in keys]

    # 2. generate: model by model on one device, at once where models live apart (Ray replicas, other Spaces)
    results: list[T2IResult] = ctx.executor.run_many(jobs, control)
    gallery, records = [], []
    for index, ((key, _), result) in enumerate(zip(jobs, results, strict=True)):
        # 3. write the PNG with its recipe, then check the rendered text
        path = imaging.save_png(result.image, result.recipe, imaging.output_path(ctx.settings.outputs_dir,
                                                                                result.recipe, index))
        check = None
        if targets:
            control.report(1.0, f"{ctx.registry[key].name}: reading rendered text (OCR)")
            check = ctx.executor.run(OCR_KEY, OCRRequest(result.image, targets)).to_dict()
        records.append({"model": key, "file": path.name, "recipe": result.recipe.to_dict(), "text_check": check})
        gallery.append((str(path), caption(result, check)))
    grid = seed_grid(ctx, request.prompt, keys, seeds, [path for path, _ in gallery]) if count > 1 else None
    return Comparison(gallery, records, summary_table(records), grid)


def seed_grid(ctx: AppContext, prompt: str, keys: list[str], seeds: list[int], paths: list[str]) -> str:
    """The seed grid: one row per seed, one column per model, the prompt above; saved beside the images."""
    from PIL import Image

    cells = [[Image.open(paths[r * len(keys) + c]) for c in range(len(keys))] for r in range(len(seeds))]
    # Row labels in the reader's language (the same words as the captions); model names read the same in any.
    rows = [tr("t2i.caption.seed", seed=s) for s in seeds]
    grid = xy_grid(cells, rows, [ctx.registry[k].name for k in keys], title=prompt)
    folder = Path(paths[0]).parent
    path = folder / f"{Path(paths[0]).stem.split('_')[0]}_grid.png"
    grid.save(path)
    return str(path)


def caption(result: T2IResult, check: dict[str, Any] | None) -> str:
    """The label under an image: model, seed, time, text accuracy, and a random-weight mark in the tiny profile."""
    recipe = result.recipe
    parts = [recipe.name, tr("t2i.caption.seed", seed=recipe.seed), f"{recipe.run_seconds:.1f} s"]
    if check is not None and check["accuracy"] is not None:
        parts.append(tr("t2i.caption.text", share=f"{check['accuracy']:.0%}"))
    if recipe.random_weights:
        parts.append(tr("t2i.random_weights"))
    return " · ".join(parts)


SUMMARY_COLUMNS = ("model", "steps", "guidance", "seed", "size", "time", "accuracy", "ocr")


def summary_table(records: list[dict[str, Any]]) -> str:
    """A Markdown table comparing the images of one run (headers in the reader's language)."""
    rows = ["| " + " | ".join(tr(f"t2i.col.{c}") for c in SUMMARY_COLUMNS) + " |",
            "|" + "---|" * len(SUMMARY_COLUMNS)]
    for record in records:
        r, check = record["recipe"], record["text_check"]
        accuracy = "—" if check is None or check["accuracy"] is None else f"{check['accuracy']:.0%}"
        read = "—" if check is None else (check["text"][:40] or tr("t2i.nothing_read")).replace("|", "/")
        weights_note = f" ({tr('t2i.random_weights')})" if r["random_weights"] else ""
        rows.append(
            f"| {r['name']}{weights_note} | {r['steps'] if r['steps'] is not None else '—'} | {r['guidance']} | "
            f"{r['seed']} | {r['width']}×{r['height']} | {r['run_seconds']:.2f} | {accuracy} | {read} |"
        )
    return "\n".join(rows)


def load_examples() -> list[dict[str, str]]:
    """Bilingual example prompts (Chinese culture, English, mixed, text to render)."""
    return json.loads((ASSETS / "prompts" / "t2i.json").read_text("utf-8"))


@ui_errors
def t2i(
    ctx: AppContext,
    prompt: str,
    negative_prompt: str,
    models: list[str],
    seed: float | None,
    width: float,
    height: float,
    steps: float | None,
    guidance: float | None,
    batch_count: float = 1,
    request: gr.Request = None,
    progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's injection idiom)
) -> tuple[list[tuple[str, str]], list[dict[str, Any]], str]:
    """Generate one prompt with 1-4 models side by side (same seed, size and steps), for one or more seeds.

    Args:
        prompt: Chinese, English or mixed prompt; put text to render in quotes.
        negative_prompt: what to avoid ("" for none).
        models: registry keys of text-to-image models (see /models), 1 to 4.
        seed: seed for every model; None for a random one (the recipes report it).
        width: width in pixels (each model's size rule applies).
        height: height in pixels.
        steps: denoising steps for every model; None for each model's default.
        guidance: guidance for every model; None for each model's default.
        batch_count: seeds per model, 1 to 8 (seed, seed + 1, ...); images come seed by seed.

    Returns:
        The PNG images (each with its recipe in text chunks), the recipes with the text-rendering check as JSON,
        and a Markdown summary table.
    """
    with run_control(ctx, request, progress) as control:
        result = compare(ctx, prompt, negative_prompt, models, seed, width, height, steps, guidance, control=control,
                         batch_count=batch_count)
    return result.gallery, result.records, result.summary


@ui_errors
def t2i_from_form(
    ctx: AppContext, prompt: str, negative_prompt: str, models: list[str], seed: float | None, random_seed: bool,
    width: float, height: float, steps: float | None, model_steps: bool, guidance: float | None,
    model_guidance: bool, batch_count: float, request: gr.Request,
    progress: gr.Progress = gr.Progress(),  # noqa: B008
) -> list[Any]:
    """The form's Generate: the check boxes stand for the API's None ("random", "model default"); the gallery gets
    one column per model, and a batch adds its seed grid."""
    with run_control(ctx, request, progress) as control:
        result = compare(ctx, prompt, negative_prompt, models, None if random_seed else seed, width, height,
                         None if model_steps else steps, None if model_guidance else guidance, control=control,
                         batch_count=batch_count)
    models = len({r["model"] for r in result.records})
    # One row per seed in a batch; otherwise 1-4 models as 1, 2, 3 columns or 2 x 2.
    columns = models if models <= 2 or result.grid else (2 if models == 4 else 3)
    return [gr.Gallery(value=result.gallery, columns=max(columns, 1)), result.records, result.summary,
            gr.Image(value=result.grid, visible=result.grid is not None), tr("t2i.done", count=len(result.records))]


# --------------------------------------------------------------------------------------------------------------------
# Layout and wiring
# --------------------------------------------------------------------------------------------------------------------
def build(ctx: AppContext) -> dict[str, Any]:
    """Lay out the tab and wire Generate; returns components app.py and the tab's helper modules connect to."""
    i18n, settings = ctx.i18n, ctx.settings
    specs = ctx.registry.by_task("t2i")
    available = [s for s in specs if ctx.executor.availability(s.key)[0]]
    tiny = settings.profile == "tiny"
    examples = load_examples()

    if tiny:
        gr.Markdown(i18n("common.tiny_banner"))
    with gr.Row():
        with gr.Column(scale=2, min_width=320):
            prompt = gr.Textbox(label=i18n("t2i.prompt"), placeholder=i18n("t2i.prompt_placeholder"), lines=3,
                                elem_id="t2i-prompt")
            info = gr.Markdown(elem_id="t2i-prompt-info")
            negative = gr.Textbox(label=i18n("t2i.negative_prompt"), lines=1, elem_id="t2i-negative")
            # Only models that can run here are offered; the others are listed below with the reason.
            models = gr.Dropdown(
                choices=[(s.name, s.key) for s in available], value=[k for k in DEFAULT_MODELS
                                                                   if k in {s.key for s in available}],
                multiselect=True, allow_custom_value=True, label=i18n("t2i.models"), info=i18n("t2i.models_info"),
                elem_id="t2i-models",
            )
            unavailable = gr.Markdown(elem_id="t2i-unavailable")
            # No `precision` on numbers: Gradio's rounding would turn NaN from the API into its own error; the
            # handler validates whole numbers and names the field instead.
            with gr.Row(elem_classes=["t2i-form-row"]):
                ratio = gr.Dropdown([(i18n("t2i.ratio_custom"), "custom"), "1:1", "4:3", "3:4", "3:2", "2:3", "16:9",
                                     "9:16", "21:9"], value="custom", label=i18n("t2i.ratio"), elem_id="t2i-ratio",
                                    min_width=150)
                width = gr.Number(label=i18n("t2i.width"), value=512 if tiny else 1024, elem_id="t2i-width",
                                  min_width=90)
                height = gr.Number(label=i18n("t2i.height"), value=512 if tiny else 1024, elem_id="t2i-height",
                                   min_width=90)
            # gr.Number shows an empty value as 0, so "random" and "model default" are check boxes in the UI that
            # hide or lock their number; the API takes None for them instead.
            with gr.Row(elem_classes=["t2i-form-row"]):
                random_seed = gr.Checkbox(label=i18n("t2i.random_seed"), value=True, elem_id="t2i-random-seed",
                                          min_width=120)
                seed = gr.Number(label=i18n("t2i.seed"), value=0, elem_id="t2i-seed", visible=False, min_width=110)
                batch_count = gr.Number(label=i18n("t2i.batch_count"), value=1, minimum=1, maximum=MAX_BATCH,
                                        elem_id="t2i-batch", min_width=110)
            with gr.Row(elem_classes=["t2i-form-row"]):
                model_steps = gr.Checkbox(label=i18n("t2i.model_steps"), value=False, elem_id="t2i-model-steps",
                                          min_width=150)
                steps = gr.Number(label=i18n("t2i.steps"), value=4 if tiny else 30, elem_id="t2i-steps",
                                  min_width=110)
            with gr.Row(elem_classes=["t2i-form-row"]):
                model_guidance = gr.Checkbox(label=i18n("t2i.model_guidance"), value=True,
                                             elem_id="t2i-model-guidance", min_width=150)
                guidance = gr.Number(label=i18n("t2i.guidance"), value=5.0, elem_id="t2i-guidance", visible=False,
                                     min_width=110)
            defaults = gr.Markdown(elem_id="t2i-defaults")
            with gr.Row():
                run = gr.Button(i18n("t2i.generate"), variant="primary", elem_id="t2i-run", min_width=120)
                stop = gr.Button(i18n("common.stop"), variant="stop", elem_id="t2i-stop", min_width=100)
                reuse = gr.Button(i18n("t2i.reuse_seed"), size="sm", elem_id="t2i-reuse", min_width=120)
            status = gr.Markdown(elem_id="t2i-status")
            # Stop's answer has a line of its own: on an output of the events it cancels, Gradio's cancel leaves
            # that output's progress tracker ("0.0s") over the answer.
            stopped = gr.Markdown(elem_id="t2i-stop-said")
            api_trigger = gr.Button(visible=False)
            gr.Examples(
                examples=[[e["prompt"]] for e in examples], inputs=[prompt],
                example_labels=[e["label"] for e in examples], label=i18n("t2i.examples"),
            )
        with gr.Column(scale=3, min_width=320):
            gallery = gr.Gallery(label=i18n("t2i.results"), columns=2, format="png", type="filepath",
                                 object_fit="contain", height="auto", interactive=False, elem_id="t2i-gallery")
            grid = gr.Image(label=i18n("t2i.seed_grid"), type="filepath", format="png", interactive=False,
                            visible=False, elem_id="t2i-grid")
            with gr.Row():
                selected = gr.State(None)
                send_to_hand = gr.Button(i18n("t2i.send_to_hand"), size="sm", elem_id="t2i-send-hand")
            summary = gr.Markdown(elem_id="t2i-summary")
            with gr.Accordion(i18n("t2i.recipes"), open=False):
                recipes = gr.JSON(label=i18n("t2i.recipes"), elem_id="t2i-recipes")

    form = [prompt, negative, models, seed, random_seed, width, height, steps, model_steps, guidance, model_guidance,
            batch_count]
    outputs = [gallery, recipes, summary, grid, status]
    # The progress (and the queue position) on the gallery only, not on every output.
    gpu = {**GPU, "trigger_mode": "once", "show_progress_on": [gallery]}
    generate = run.click(bind(t2i_from_form, ctx), form, outputs, api_visibility="private", **gpu)
    submit = prompt.submit(bind(t2i_from_form, ctx), form, outputs, api_visibility="private", **gpu)
    # The public endpoint: the same components with None for "random" and "model default".
    api_trigger.click(bind(t2i, ctx), [prompt, negative, models, seed, width, height, steps, guidance, batch_count],
                      outputs[:3], api_name="t2i", **gpu)
    prompt.change(prompt_info, prompt, info, api_visibility="private", queue=False, show_progress="hidden")
    return {"prompt": prompt, "negative": negative, "models": models, "seed": seed, "random_seed": random_seed,
            "width": width, "height": height, "ratio": ratio, "steps": steps, "model_steps": model_steps,
            "guidance": guidance, "model_guidance": model_guidance, "batch_count": batch_count,
            "defaults": defaults, "unavailable": unavailable, "gallery": gallery, "recipes": recipes,
            "summary": summary, "grid": grid, "status": status, "selected": selected, "send_to_hand": send_to_hand,
            "reuse": reuse, "run": run, "stop": stop, "stopped": stopped, "generated": [generate, submit]}
