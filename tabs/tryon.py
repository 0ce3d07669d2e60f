"""Virtual try-on tab (MF-VITON direction): a person and a garment, no mask needed; the mask-free model side by side
with the mask-based one and the automatic mask it used, sliders against the person, recipes in the PNGs, and
"send to labeling session" with person and garment beside A and B. Evaluation and the data engine: tryon_batch.py."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from arena.sessions import SessionConfig
from backends.core import imaging
from backends.core.errors import InvalidInput
from backends.core.run import RunControl
from backends.tasks.tryon.types import (
    CATEGORIES,
    DEFAULT_METHODS,
    MASK_KEY,
    TryOnMaskRequest,
    TryOnRequest,
    method_keys,
)
from tabs.common import (
    ASSETS,
    GPU,
    AppContext,
    bind,
    client_id,
    message,
    optional_number,
    require_int,
    run_control,
    stop_run,
    tr,
    ui_errors,
)

EXAMPLES = ASSETS / "examples"
DEFAULT_METHODS_TEXT = ",".join(DEFAULT_METHODS)
POOL_PROMPT = "Which result dresses this person in this garment better ({category})? Person and garment: left."


@dataclass
class Outcome:
    """One method's result on disk: the PNG (recipe inside), the mask PNG it used, the person it saw."""

    key: str
    name: str
    path: Path
    mask: Path | None
    person: Path
    recipe: dict[str, Any]
    warnings: list[str]


def check_methods(ctx: AppContext, methods: Any) -> list[str]:
    """The try-on models asked for: a list or a comma-separated string of registry keys (1 to 3, distinct).

    Raises:
        InvalidInput: naming ``methods``.
    """
    if isinstance(methods, str):
        text = methods.strip()
        methods = json.loads(text) if text.startswith("[") else [m.strip() for m in text.split(",") if m.strip()]
    known = method_keys(ctx.registry)
    if not isinstance(methods, list | tuple) or not methods:
        raise InvalidInput("methods", f"pick at least one of {', '.join(known)}")
    if len(set(methods)) != len(methods):
        raise InvalidInput("methods", "the same method is selected twice")
    for key in methods:
        if key not in known:
            raise InvalidInput("methods", f"{key!r} is not a try-on model; choose among {', '.join(known)}")
    return list(methods)


def run_methods(ctx: AppContext, person: Any, garment: Any, methods: Any, control: RunControl,
                **settings: Any) -> list[Outcome]:
    """Run every method on the same inputs and seed; save each output (recipe inside) and the mask it used."""
    keys = check_methods(ctx, methods)
    requests = [TryOnRequest(person, garment, **settings) for _ in keys]
    for key, request in zip(keys, requests, strict=True):  # every method's inputs are checked before any runs
        ctx.executor.check(key, request)
    outcomes = []
    for index, (key, request) in enumerate(zip(keys, requests, strict=True)):
        result = ctx.executor.run(key, request, control.part(index, len(keys)))
        if request.seed is None:  # the first method drew a seed: the others use the same one
            for later in requests[index + 1:]:
                later.seed = result.recipe.seed
        folder = ctx.settings.outputs_dir / "tryon"
        path = imaging.save_png(result.image, result.recipe, imaging.output_path(folder, result.recipe, index))
        person_path = path.with_name(f"{path.stem}_person.png")
        result.person.save(person_path)
        mask_path = None
        if result.mask is not None:
            mask_path = path.with_name(f"{path.stem}_mask.png")
            Image.fromarray(result.mask.astype(np.uint8) * 255).save(mask_path)
        outcomes.append(Outcome(key, ctx.registry[key].name, path, mask_path, person_path,
                                result.recipe.to_dict(), result.warnings))
    return outcomes


def settings_of(category: str, seed: Any, steps: Any, guidance: Any, width: Any, height: Any,
                **extra: Any) -> dict[str, Any]:
    """The form's settings as ``TryOnRequest`` fields (empty fields: the models' defaults)."""
    return {"category": category, "seed": require_int(seed, "seed"), "steps": require_int(steps, "steps"),
            "guidance": optional_number(guidance), "width": require_int(width, "width"),
            "height": require_int(height, "height"), **extra}


def add_to_pool(ctx: AppContext, pool: dict[str, Any] | None, outcomes: list[Outcome], garment: Any,
                category: str) -> dict[str, Any] | None:
    """Append this comparison to the browser session's labeling pool (person | garment as the input image).

    A new pool starts when the methods change (every item of a pool needs an output from every model)."""
    if len(outcomes) < 2:
        return pool
    models = [o.key for o in outcomes]
    if not pool or pool.get("models") != models:
        # Unguessable: the pool holds copies of the person photos, and outputs are served to whoever knows a path.
        folder = imaging.output_folder(ctx.settings.outputs_dir / "tryon" / "pools", time.strftime("%Y%m%d-%H%M%S"))
        pool = {"folder": str(folder), "models": models, "items": 0}
    root = Path(pool["folder"])
    item = f"{pool['items']:05d}"
    (root / "inputs").mkdir(parents=True, exist_ok=True)
    person = Image.open(outcomes[0].person)
    garment_image = imaging.load_image(garment, field="garment").resize(person.size)
    imaging.labelled_grid([person, garment_image], ["person", "garment"]).save(root / "inputs" / f"{item}.png")
    for outcome in outcomes:
        folder = root / outcome.key.replace("/", "__")
        folder.mkdir(parents=True, exist_ok=True)
        Image.open(outcome.path).save(folder / f"{item}.png")
    line = {"item_id": item, "prompt": POOL_PROMPT.format(category=category), "input_image": f"inputs/{item}.png",
            "language": "en"}
    with (root / "prompts.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")
    return {**pool, "items": pool["items"] + 1}


def editor_mask(value: Any) -> np.ndarray | None:
    """The mask painted in the editor (its first layer), at the editor's size; None when nothing is painted."""
    layers = (value or {}).get("layers") or []
    if not layers or layers[0] is None:
        return None
    layer = layers[0] if isinstance(layers[0], Image.Image) else Image.fromarray(np.asarray(layers[0]))
    alpha = np.asarray(layer.convert("RGBA"))[..., 3] > 0
    return alpha if alpha.any() else None


# --------------------------------------------------------------------------------------------------------------------
# Handlers
# --------------------------------------------------------------------------------------------------------------------
@ui_errors
def tryon_mask(ctx: AppContext, person: Any, category: str = "upper") -> tuple[Image.Image, dict[str, Any]]:
    """The automatic agnostic mask of a person photo (mediapipe pose, selfie segmentation, face mesh): white where a
    garment of the category goes; JSON with the category, area fraction, landmarks used, people found, warnings and
    what a mediapipe-only masker cannot tell.

    Args:
        person: the person photo.
        category: upper, lower or overall (dress / full outfit).
    """
    result = ctx.executor.run(MASK_KEY, TryOnMaskRequest(person, category))
    return result.mask, result.info


@ui_errors
def tryon(ctx: AppContext, person: Any, garment: Any, category: str = "upper", methods: Any = DEFAULT_METHODS_TEXT,
          seed: float | None = None, steps: float | None = None, guidance: float | None = None,
          width: float | None = None, height: float | None = None, request: gr.Request = None,
          progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[list, dict[str, Any]]:  # noqa: B008
    """Try a garment on a person with one or more models (mask-free and mask-based side by side, the same seed);
    returns one image per method (PNG, recipe inside) and JSON with each method's recipe, mask and warnings.

    Args:
        person: the person photo (one person; with several the largest is used).
        garment: the garment alone (flat lay or product photo; transparent PNGs are put on white).
        category: upper, lower or overall.
        methods: try-on model keys, comma-separated or a JSON list (default: CatVTON-MaskFree and CatVTON).
        seed: seed (None: random, reported).
        steps: denoising steps (None: each model's default).
        guidance: guidance scale (None: each model's default).
        width: output width (None: the model's default, 768).
        height: output height (None: the model's default, 1024).
    """
    with run_control(ctx, request, progress) as control:
        outcomes = run_methods(ctx, person, garment, methods, control,
                               **settings_of(category, seed, steps, guidance, width, height))
    gallery = [(str(o.path), o.name) for o in outcomes]
    return gallery, {"results": [{"model": o.key, "image": str(o.path), "mask": str(o.mask) if o.mask else None,
                                  "person": str(o.person), "recipe": o.recipe, "warnings": o.warnings}
                                 for o in outcomes]}


@ui_errors
def mask_view(ctx: AppContext, person: Any, category: str) -> list[Any]:
    """Preview: the overlay, the report, and the editor starting from the automatic mask."""
    result = ctx.executor.run(MASK_KEY, TryOnMaskRequest(person, category))
    source = imaging.load_image(person, field="person")
    layer = np.zeros((source.height, source.width, 4), np.uint8)
    layer[np.asarray(result.mask) > 127] = (255, 255, 255, 255)
    editor = {"background": source, "layers": [Image.fromarray(layer, "RGBA")], "composite": None}
    return [result.overlay, result.info, editor]


@ui_errors
def run_view(ctx: AppContext, person: Any, garment: Any, category: str, methods: list[str], seed: Any, steps: Any,
             guidance: Any, width: Any, height: Any, editor: Any, use_mask: bool, vae: str, repaint: bool,
             pool: dict[str, Any] | None, request: gr.Request,
             progress: gr.Progress = gr.Progress(track_tqdm=True)) -> list[Any]:  # noqa: B008
    """Run: results (and masks used) side by side, a slider per method against the person, warnings, recipes."""
    mask = editor_mask(editor) if use_mask else None
    if use_mask and mask is None:
        raise InvalidInput("mask", "is empty: preview the automatic mask (or paint one), or untick 'use my mask'")
    settings = settings_of(category, seed, steps, guidance, width, height, mask=mask, vae=(vae or "").strip() or None,
                           repaint=bool(repaint))
    if mask is not None:  # the editor works at the photo's size; check it is the same photo
        source = imaging.load_image(person, field="person")
        if mask.shape != (source.height, source.width):
            settings["mask"] = np.asarray(Image.fromarray(mask).resize(source.size, Image.Resampling.NEAREST))
    with run_control(ctx, request, progress) as control:
        outcomes = run_methods(ctx, person, garment, methods, control, **settings)
    gallery = [(str(o.path), o.name) for o in outcomes]
    gallery += [(str(o.mask), f"{o.name}: {tr('tryon.mask_used')}") for o in outcomes if o.mask]
    by_key = {o.key: o for o in outcomes}
    # A slider per method that ran (the others stay hidden rather than empty boxes).
    sliders = [gr.update(value=(str(by_key[k].person), str(by_key[k].path)) if k in by_key else None,
                         visible=k in by_key) for k in method_keys(ctx.registry)]
    warnings = sorted({w for o in outcomes for w in o.warnings})
    note = "\n".join(f"- **{tr('tryon.warning')}** {message(w)}" for w in warnings)
    return [gallery, *sliders, note, [o.recipe for o in outcomes], add_to_pool(ctx, pool, outcomes, garment, category)]


@ui_errors
def send_view(ctx: AppContext, password: str, name: str, pool: dict[str, Any] | None,
              request: gr.Request = None) -> dict[str, Any]:
    """Create a try-on labeling session from the comparisons of this browser session (admin)."""
    if not pool or not pool.get("items"):
        raise InvalidInput("pool", "run a comparison of at least two methods first: its results become the pool")
    client = client_id(ctx, request)
    session = ctx.arena.create_session(password, SessionConfig(name=name, task="tryon", mode="pool"), client)
    # The pool folder comes from server-side state: the studio wrote it, so it is imported as trusted.
    return ctx.arena.import_pool(password, session.id, pool["folder"], client=client, trusted=True)


def build(ctx: AppContext) -> dict[str, Any]:
    """Lay out the try-on tab and wire it; returns the components the batch accordions reuse."""
    i18n = ctx.i18n
    keys = method_keys(ctx.registry)
    tiny = ctx.settings.profile == "tiny"
    if tiny:
        gr.Markdown(i18n("common.tiny_banner"))
    gr.Markdown(i18n("tryon.intro"))
    gr.Markdown(i18n("tryon.license"), elem_id="tryon-license")
    with gr.Row():
        with gr.Column(scale=2):
            with gr.Row():
                person = gr.Image(label=i18n("tryon.person"), type="filepath", elem_id="tryon-person")
                garment = gr.Image(label=i18n("tryon.garment"), type="filepath", image_mode=None,
                                   elem_id="tryon-garment")
            # Short labels (a long one runs under the image's toolbar); what makes a good input is said here.
            gr.Markdown(i18n("tryon.inputs_help"), elem_id="tryon-inputs-help")
            with gr.Row():
                gr.Examples([[str(p)] for p in sorted((EXAMPLES / "people").glob("*.jpg"))], [person],
                            label=i18n("tryon.people_examples"))
                gr.Examples([[str(p)] for p in sorted((EXAMPLES / "garments").glob("*.png"))], [garment],
                            label=i18n("tryon.garment_examples"))
            category = gr.Radio([(i18n(f"tryon.category.{c}"), c) for c in CATEGORIES], value="upper",
                                label=i18n("tryon.category"),
                                elem_id="tryon-category")
            methods = gr.CheckboxGroup([(ctx.registry[k].name, k) for k in keys], value=list(DEFAULT_METHODS),
                                       label=i18n("tryon.methods"), elem_id="tryon-methods")
            with gr.Accordion(i18n("tryon.mask"), open=False, elem_id="tryon-mask"):
                gr.Markdown(i18n("tryon.mask_help"))
                preview = gr.Button(i18n("tryon.preview_mask"), elem_id="tryon-preview")
                overlay = gr.Image(label=i18n("tryon.overlay"), interactive=False, format="png")
                mask_info = gr.JSON(label=i18n("tryon.mask_info"), elem_id="tryon-mask-info")
                editor = gr.ImageEditor(type="pil", label=i18n("tryon.editor"), layers=False, transforms=(),
                                        brush=gr.Brush(colors=["#FFFFFF"], color_mode="fixed"))
                use_mask = gr.Checkbox(label=i18n("tryon.use_mask"), value=False)
            with gr.Row():
                seed = gr.Number(value=0, label=i18n("t2i.seed"))
                steps = gr.Number(value=4 if tiny else 50, label=i18n("t2i.steps"), elem_id="tryon-steps")
                guidance = gr.Number(value=2.5, label=i18n("t2i.guidance"))
            with gr.Row():
                width = gr.Number(value=256 if tiny else 768, label=i18n("t2i.width"), elem_id="tryon-width")
                height = gr.Number(value=320 if tiny else 1024, label=i18n("t2i.height"), elem_id="tryon-height")
            with gr.Accordion(i18n("tryon.advanced"), open=False):
                vae = gr.Textbox(label=i18n("tryon.vae"), placeholder="stabilityai/sd-vae-ft-mse")
                repaint = gr.Checkbox(label=i18n("tryon.repaint"), value=False)
            with gr.Row():
                run = gr.Button(i18n("tryon.run"), variant="primary", elem_id="tryon-run")
                stop = gr.Button(i18n("common.stop"), variant="stop")
        with gr.Column(scale=3):
            gallery = gr.Gallery(label=i18n("tryon.results"), columns=4, format="png", height="auto",
                                 object_fit="contain", interactive=False, elem_id="tryon-gallery")
            notes = gr.Markdown(elem_id="tryon-warnings")
            with gr.Row():  # each result against the person it was made from; shown once there is one
                sliders = [gr.ImageSlider(label=ctx.registry[k].name, type="filepath", format="png", visible=False,
                                          min_width=320, elem_id=f"tryon-slider-{k.split('/')[1]}") for k in keys]
            recipes = gr.JSON(label=i18n("tryon.recipes"))
            with gr.Accordion(i18n("tryon.label"), open=False), gr.Row():
                password = gr.Textbox(type="password", label=i18n("admin.password"))
                name = gr.Textbox(value="Try-on: mask-free vs mask-based", label=i18n("admin.name"))
                send = gr.Button(i18n("tryon.send"), elem_id="tryon-send")
                sent = gr.JSON(label=i18n("admin.result"))
    pool = gr.State(None)
    api_mask, api_run = gr.Image(visible=False, format="png"), gr.JSON(visible=False)
    # The API's own inputs: plain fields without UI limits, so bad values reach the backends' checks, which name them.
    api_category = gr.Textbox(value="upper", visible=False)
    api_methods = gr.Textbox(value=DEFAULT_METHODS_TEXT, visible=False)
    api_numbers = [gr.Number(value=None, visible=False) for _ in range(5)]

    preview.click(bind(mask_view, ctx), [person, category], [overlay, mask_info, editor], api_visibility="private")
    # A new photo invalidates the edited mask: clear it rather than apply it to someone else.
    person.change(lambda _: (None, False), person, [editor, use_mask], api_visibility="private", queue=False)
    form = [person, garment, category, methods, seed, steps, guidance, width, height, editor, use_mask, vae, repaint,
            pool]
    running = run.click(bind(run_view, ctx), form, [gallery, *sliders, notes, recipes, pool],
                        api_visibility="private", **GPU)
    stop.click(bind(stop_run, ctx), None, None, cancels=[running], api_visibility="private", queue=False)
    send.click(bind(send_view, ctx), [password, name, pool], sent, api_visibility="private")
    gr.Button(visible=False).click(bind(tryon_mask, ctx), [person, api_category], [api_mask, mask_info],
                                   api_name="tryon_mask", concurrency_limit=4)
    gr.Button(visible=False).click(bind(tryon, ctx), [person, garment, api_category, api_methods, *api_numbers],
                                   [gallery, api_run], api_name="tryon", **GPU)
    return {"category": category, "methods": methods, "seed": seed, "steps": steps, "guidance": guidance,
            "width": width, "height": height, "pool": pool, "stop": stop}
