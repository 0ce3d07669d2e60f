"""Bilingual text-to-image tab: one prompt (Chinese, English or both), 1 to 4 models side by side with the same
seed, size and steps, each image with its recipe and a text-rendering check of the prompt's quoted text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import gradio as gr

from backends.core import imaging
from backends.core.errors import InvalidInput, ModelUnavailable
from backends.core.run import RunControl
from backends.core.text import check_prompt, detect_language, extract_quoted
from backends.core.validation import resolve_seed
from backends.models.registry import Registry
from backends.tasks.t2i.types import T2IRequest, T2IResult
from backends.vision.ocr import OCRRequest
from tabs.common import (
    ASSETS,
    GPU,
    AppContext,
    bind,
    optional_number,
    require_int,
    run_control,
    stop_run,
    ui_errors,
)

MAX_MODELS = 4
OCR_KEY = "ocr/rapidocr"
DEFAULT_MODELS = ("t2i/hunyuan-dit", "t2i/kolors")


@dataclass
class Comparison:
    """The outcome of one side-by-side generation.

    Attributes:
        gallery: (PNG path, caption) per model, in the order asked.
        records: per model, its recipe and text-rendering check (JSON-ready).
        summary: a Markdown table comparing the models.
    """

    gallery: list[tuple[str, str]]
    records: list[dict[str, Any]]
    summary: str


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
    language = {"zh": "中文 (zh)", "en": "English (en)", "mixed": "中英混合 (mixed)"}[detect_language(prompt)]
    render = ", ".join(f"“{q}”" for q in quoted) if quoted else "—"
    return f"**Language:** {language} · **Text to render:** {render}"


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
) -> Comparison:
    """Generate the prompt with every selected model (same seed, size, steps) and check rendered text.

    Raises:
        InvalidInput: any field is invalid for any selected model (checked before anything runs).
        ModelUnavailable: a selected model cannot run here (missing weights offline, no API key).
        Cancelled: Stop was pressed.
    """
    # 1. validate everything before the first model loads
    keys = check_models(ctx.registry, models)
    seed = require_int(seed, "seed")
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

    # 2. generate model by model; each gets an equal share of the progress bar
    gallery, records = [], []
    for index, key in enumerate(keys):
        part = control.part(index, len(keys))
        result: T2IResult = ctx.executor.run(key, request, part)
        # 3. write the PNG with its recipe, then check the rendered text
        path = imaging.save_png(result.image, result.recipe, imaging.output_path(ctx.settings.outputs_dir,
                                                                                result.recipe, index))
        check = None
        if targets:
            part.report(1.0, f"{ctx.registry[key].name}: reading rendered text (OCR)")
            check = ctx.executor.run(OCR_KEY, OCRRequest(result.image, targets)).to_dict()
        records.append({"model": key, "file": path.name, "recipe": result.recipe.to_dict(), "text_check": check})
        gallery.append((str(path), caption(result, check)))
    return Comparison(gallery, records, summary_table(records))


def caption(result: T2IResult, check: dict[str, Any] | None) -> str:
    """The label under an image: model, seed, time, text accuracy, and a random-weight mark in the tiny profile."""
    recipe = result.recipe
    parts = [recipe.name, f"seed {recipe.seed}", f"{recipe.run_seconds:.1f}s"]
    if check is not None and check["accuracy"] is not None:
        parts.append(f"text {check['accuracy']:.0%}")
    if recipe.random_weights:
        parts.append("random weights")
    return " · ".join(parts)


def summary_table(records: list[dict[str, Any]]) -> str:
    """A Markdown table comparing the models of one run."""
    rows = ["| Model | Steps | Guidance | Seed | Size | Time (s) | Text accuracy | OCR read |",
            "|---|---|---|---|---|---|---|---|"]
    for record in records:
        r, check = record["recipe"], record["text_check"]
        accuracy = "—" if check is None or check["accuracy"] is None else f"{check['accuracy']:.0%}"
        read = "—" if check is None else (check["text"][:40] or "(nothing)").replace("|", "/")
        weights_note = " (random weights)" if r["random_weights"] else ""
        rows.append(
            f"| {r['name']}{weights_note} | {r['steps'] if r['steps'] is not None else '—'} | {r['guidance']} | "
            f"{r['seed']} | {r['width']}x{r['height']} | {r['run_seconds']:.2f} | {accuracy} | {read} |"
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
    request: gr.Request,
    progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 (Gradio's injection idiom)
) -> tuple[list[tuple[str, str]], list[dict[str, Any]], str]:
    """Generate one prompt with 1-4 models side by side (same seed, size and steps).

    Args:
        prompt: Chinese, English or mixed prompt; put text to render in quotes.
        negative_prompt: what to avoid ("" for none).
        models: registry keys of text-to-image models (see /models), 1 to 4.
        seed: seed for every model; None for a random one (the recipes report it).
        width: width in pixels (each model's size rule applies).
        height: height in pixels.
        steps: denoising steps for every model; None for each model's default.
        guidance: guidance for every model; None for each model's default.

    Returns:
        The PNG images (each with its recipe in text chunks), the recipes with the text-rendering check as JSON,
        and a Markdown summary table.
    """
    with run_control(ctx, request, progress) as control:
        result = compare(ctx, prompt, negative_prompt, models, seed, width, height, steps, guidance, control=control)
    return result.gallery, result.records, result.summary


@ui_errors
def t2i_from_form(
    ctx: AppContext, prompt: str, negative_prompt: str, models: list[str], seed: float | None, random_seed: bool,
    width: float, height: float, steps: float | None, model_steps: bool, guidance: float | None,
    model_guidance: bool, request: gr.Request, progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008
) -> tuple[list[tuple[str, str]], list[dict[str, Any]], str]:
    """The form's Generate: the check boxes stand for the API's None ("random", "model default")."""
    return t2i(ctx, prompt, negative_prompt, models, None if random_seed else seed, width, height,
               None if model_steps else steps, None if model_guidance else guidance, request, progress)


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


# --------------------------------------------------------------------------------------------------------------------
# Layout and wiring
# --------------------------------------------------------------------------------------------------------------------
def build(ctx: AppContext) -> dict[str, gr.components.Component]:
    """Lay out the tab and wire its events; returns components app.py may connect to other tabs."""
    i18n, settings = ctx.i18n, ctx.settings
    specs = ctx.registry.by_task("t2i")
    tiny = settings.profile == "tiny"
    examples = load_examples()

    if tiny:
        gr.Markdown(i18n("common.tiny_banner"))
    with gr.Row():
        with gr.Column(scale=2):
            prompt = gr.Textbox(label=i18n("t2i.prompt"), placeholder=i18n("t2i.prompt_placeholder"), lines=3,
                                elem_id="t2i-prompt")
            info = gr.Markdown()
            negative = gr.Textbox(label=i18n("t2i.negative_prompt"), lines=1)
            models = gr.Dropdown(
                choices=[(s.name, s.key) for s in specs], value=list(DEFAULT_MODELS), multiselect=True,
                max_choices=MAX_MODELS, allow_custom_value=True, label=i18n("t2i.models"),
                info=i18n("t2i.models_info"), elem_id="t2i-models",
            )
            # No `precision` on numbers: Gradio's rounding would turn NaN from the API into its own error; the
            # handler validates whole numbers and names the field instead.
            with gr.Row():
                width = gr.Number(label=i18n("t2i.width"), value=512 if tiny else 1024)
                height = gr.Number(label=i18n("t2i.height"), value=512 if tiny else 1024)
                seed = gr.Number(label=i18n("t2i.seed"), value=0, elem_id="t2i-seed")
            # gr.Number shows an empty value as 0, so "random" and "model default" are explicit check boxes in the
            # UI; the API takes None for them instead.
            with gr.Row():
                random_seed = gr.Checkbox(label=i18n("t2i.random_seed"), value=True, elem_id="t2i-random-seed")
                steps = gr.Number(label=i18n("t2i.steps"), value=4 if tiny else 30, elem_id="t2i-steps")
                model_steps = gr.Checkbox(label=i18n("t2i.model_steps"), value=False, elem_id="t2i-model-steps")
            with gr.Row():
                guidance = gr.Number(label=i18n("t2i.guidance"), value=5.0, elem_id="t2i-guidance")
                model_guidance = gr.Checkbox(label=i18n("t2i.model_guidance"), value=True)
            with gr.Row():
                run = gr.Button(i18n("t2i.generate"), variant="primary", elem_id="t2i-run")
                stop = gr.Button(i18n("common.stop"), variant="stop", elem_id="t2i-stop")
                reuse = gr.Button(i18n("t2i.reuse_seed"), size="sm")
            api_trigger = gr.Button(visible=False)
            gr.Examples(
                examples=[[e["prompt"]] for e in examples], inputs=[prompt],
                example_labels=[e["label"] for e in examples], label=i18n("t2i.examples"),
            )
        with gr.Column(scale=3):
            gallery = gr.Gallery(label=i18n("t2i.results"), columns=2, format="png", type="filepath",
                                 object_fit="contain", height="auto", elem_id="t2i-gallery")
            with gr.Row():
                selected = gr.State(None)
                send_to_hand = gr.Button(i18n("t2i.send_to_hand"), size="sm", elem_id="t2i-send-hand")
            summary = gr.Markdown(elem_id="t2i-summary")
            recipes = gr.JSON(label=i18n("t2i.recipes"), elem_id="t2i-recipes")

    form = [prompt, negative, models, seed, random_seed, width, height, steps, model_steps, guidance, model_guidance]
    outputs = [gallery, recipes, summary]
    gpu = {**GPU, "trigger_mode": "once"}
    generate = run.click(bind(t2i_from_form, ctx), form, outputs, api_visibility="private", **gpu)
    submit = prompt.submit(bind(t2i_from_form, ctx), form, outputs, api_visibility="private", **gpu)
    # The public endpoint: the same components with None for "random" and "model default".
    api_trigger.click(bind(t2i, ctx), [prompt, negative, models, seed, width, height, steps, guidance], outputs,
                      api_name="t2i", **gpu)
    stop.click(bind(stop_run, ctx), None, None, cancels=[generate, submit], api_visibility="private", queue=False)
    reuse.click(last_seed, recipes, [seed, random_seed], api_visibility="private", queue=False)
    prompt.change(prompt_info, prompt, info, api_visibility="private", queue=False, show_progress="hidden")
    gallery.select(selected_image, gallery, selected, api_visibility="private", queue=False)
    gallery.change(first_image, gallery, selected, api_visibility="private", queue=False)
    return {"prompt": prompt, "gallery": gallery, "recipes": recipes, "selected": selected,
            "send_to_hand": send_to_hand}
