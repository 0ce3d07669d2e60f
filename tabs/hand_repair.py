"""Hand repair tab (MGHanD direction): detect hands, edit the mask, repair with plain inpainting and/or MGHanD's
guided loop, and compare the MediaPipe hand confidence before and after; batch repair of a folder with a CSV."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from statistics import mean
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from backends.core import imaging
from backends.core.errors import InvalidInput
from backends.core.run import RunControl
from backends.tasks.hand_repair.types import (
    DEFAULT_NEGATIVE,
    DEFAULT_PROMPT,
    METHODS,
    HandDetectRequest,
    HandRepairRequest,
)
from backends.vision import hands as hand_masks
from tabs.common import GPU, AppContext, bind, message, optional_number, run_control, stop_run, tr, ui_errors

DETECTOR = "hand/mediapipe"
TABLE = ("method", "hands_before", "mean_before", "hands_after", "mean_after", "per_hand")
HAND_COLUMNS = ("number", "hand", "score", "box", "extended", "checks")


@dataclass
class Repair:
    """One method's outcome: the output file, its recipe and the hand reports before and after."""

    method: str
    path: Path
    recipe: dict[str, Any]
    before: dict[str, Any]
    after: dict[str, Any]
    strip: Image.Image | None


def detect(ctx: AppContext, image: Any) -> tuple[dict[str, Any], Image.Image]:
    """The hand report and overlay of an image."""
    result = ctx.executor.run(DETECTOR, HandDetectRequest(image))
    return result.report, result.overlay


MASK_TINT = (255, 0, 200)  # the detected-hand region, tinted in the mask editor's picture


def detected_mask(found: list[Any], size: tuple[int, int]) -> np.ndarray:
    """The detected hands' padded boxes as a boolean mask (all False when no hand was found)."""
    return hand_masks.masks_for(found, size, kind="loose") if found else np.zeros(size[::-1], bool)


def tinted(image: Image.Image, mask: np.ndarray, alpha: float = 0.45) -> Image.Image:
    """``image`` with the masked region tinted: the mask editor's picture, showing where the detected hands are
    (Gradio's editor does not display layers given to it, so the detected mask is drawn into its background)."""
    rgb = np.asarray(imaging.to_rgb(image), dtype=np.float32)
    rgb[mask] = (1 - alpha) * rgb[mask] + alpha * np.asarray(MASK_TINT, np.float32)
    return Image.fromarray(rgb.round().astype(np.uint8))


def editor_mask(value: Any, size: tuple[int, int]) -> np.ndarray | None:
    """The mask painted in the ImageEditor (its first layer), scaled to the image's size; None when nothing painted.

    Raises:
        InvalidInput: the layer's aspect ratio differs from the image's (it was drawn on another image).
    """
    layers = (value or {}).get("layers") or []
    if not layers or layers[0] is None:
        return None
    layer = layers[0] if isinstance(layers[0], Image.Image) else Image.fromarray(np.asarray(layers[0]))
    alpha = np.asarray(layer.convert("RGBA"))[..., 3] > 0
    if not alpha.any():
        return None
    if abs(layer.width / layer.height - size[0] / size[1]) > 0.02:
        raise InvalidInput("mask", f"was drawn on a {layer.width}x{layer.height} canvas, which does not match the "
                                   f"{size[0]}x{size[1]} image; detect again to reset it")
    return np.asarray(Image.fromarray(alpha).resize(size, Image.Resampling.NEAREST)) > 0


def repair(ctx: AppContext, image: Any, methods: list[str], model: str, control: RunControl,
           mask: np.ndarray | None = None, **options: Any) -> list[Repair]:
    """Repair ``image`` with each method, save the PNGs with their recipes, and report hands before and after."""
    if not methods:
        raise InvalidInput("method", f"pick at least one of {', '.join(METHODS)}")
    spec = ctx.registry.get_spec(model, "model")
    if spec.task != "inpaint":
        raise InvalidInput("model", f"{model} is a {spec.task} model; pick an inpainting model")
    source = imaging.load_image(image)
    requests = [HandRepairRequest(source, method=m, mask=mask, **options) for m in methods]
    for request in requests:  # every method's inputs are checked before the first one runs
        ctx.executor.check(model, request)
    outcomes = []
    for index, request in enumerate(requests):
        result = ctx.executor.run(model, request, control.part(index, len(requests)))
        path = imaging.output_path(ctx.settings.outputs_dir / "hand_repair", result.recipe, index)
        # Both methods run one model with one seed: the method in the name tells the files apart.
        path = imaging.save_png(result.image, result.recipe, path.with_name(f"{path.stem}_{request.method}.png"))
        strip = hand_masks.mask_strip(result.schedule) if result.schedule else None
        outcomes.append(Repair(request.method, path, result.recipe.to_dict(), result.before, result.after, strip))
    return outcomes


def confidence_rows(outcomes: list[Repair]) -> list[list[Any]]:
    """Hand confidence before and after, per method."""

    def stats(report: dict[str, Any]) -> tuple[int, str]:
        scores = [h["score"] for h in report["hands"]]
        return len(scores), f"{mean(scores):.3f}" if scores else "—"

    rows = []
    for o in outcomes:
        n_before, m_before = stats(o.before)
        n_after, m_after = stats(o.after)
        pairs = [f"{_score(b)}→{_score(a)}" for b, a in zip_longest(o.before["hands"], o.after["hands"])]
        rows.append([o.method, n_before, m_before, n_after, m_after, ", ".join(pairs)])
    return rows


def _score(hand: dict[str, Any] | None) -> str:
    return "—" if hand is None else f"{hand['score']:.2f}"


def hand_rows(report: dict[str, Any]) -> list[list[Any]]:
    """Per detected hand: MediaPipe's label and the hand it is on an ordinary photo, confidence, box, fingers
    extended, and the anatomical checks (in the reader's language)."""
    rows = []
    for number, hand in enumerate(report["hands"], start=1):
        checks = hand["checks"]
        person = tr("hand.person_left" if hand["handedness"] == "Right" else "hand.person_right")
        verdict = tr("hand.plausible") if checks["plausible"] else "; ".join(message(r) for r in checks["reasons"])
        rows.append([number, f"{hand['handedness']} ({person})", f"{hand['score']:.2f}",
                     ", ".join(str(v) for v in hand["box"]), f"{checks['extended_count']} / 5", verdict])
    return rows


def detect_summary(report: dict[str, Any], size: tuple[int, int]) -> str:
    """One line about what detection found, worded for this tab (no hand: how to repair it anyway)."""
    if not report["hands"]:
        return tr("hand.none_found", width=size[0], height=size[1])
    odd = sum(1 for h in report["hands"] if not h["checks"]["plausible"])
    return tr("hand.found", count=report["count"], score=f"{report['mean_score']:.2f}") + " " + (
        tr("hand.all_plausible") if not odd else tr("hand.some_odd", count=odd))


def options(seed: Any, steps: Any, strength: float, text_guidance: float, visual_guidance: float,
            mask_growth: float, padding: float, dilation: float = 0.02, feather: float = 0.02, prompt: str = "",
            negative: str = "", lora: str = "", discriminator: str = "") -> dict[str, Any]:
    """The repair settings of the form as ``HandRepairRequest`` fields (empty fields: defaults)."""
    return {"seed": optional_number(seed), "steps": optional_number(steps), "strength": strength,
            "text_guidance": text_guidance, "visual_guidance": visual_guidance, "mask_growth": mask_growth,
            "padding": padding, "dilation": dilation, "feather": feather, "prompt": prompt or DEFAULT_PROMPT,
            "negative_prompt": negative or "", "lora": lora or None, "discriminator": discriminator or None}


@ui_errors
def hand_detect(ctx: AppContext, image: Image.Image) -> tuple[dict[str, Any], Image.Image]:
    """Detect hands: per hand the box, 21 landmarks, handedness and its score (MediaPipe confidence), and
    anatomical checks; plus an overlay image.

    Args:
        image: the image.
    """
    return detect(ctx, image)


@ui_errors
def hand_repair(ctx: AppContext, image: Image.Image, model: str = "inpaint/sd15", method: str = "mghand",
                seed: float | None = None, steps: float | None = None, strength: float = 0.75,
                text_guidance: float = 1.5, mask_growth: float = 1.0, request: gr.Request = None,
                progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[str, dict[str, Any]]:  # noqa: B008
    """Repair the hands of an image; returns the repaired PNG (recipe inside) and the recipe with the hand
    reports before and after.

    Args:
        image: the image.
        model: inpainting model key (inpaint/sd15 runs both methods; others run inpaint).
        method: inpaint (ADetailer-style) or mghand (guided, cumulative mask).
        seed: seed (None: random).
        steps: denoising steps (None: the model's default).
        strength: denoising strength.
        text_guidance: MGHanD text-guidance weight.
        mask_growth: how far the cumulative mask grows from the hand hull to the padded box.
    """
    with run_control(ctx, request, progress) as control:
        [outcome] = repair(ctx, image, [method], model, control, **options(
            seed, steps, strength, text_guidance, 0, mask_growth, HandRepairRequest.padding))
    return str(outcome.path), {"recipe": outcome.recipe, "before": outcome.before, "after": outcome.after}


@ui_errors
def detect_view(ctx: AppContext, image: Image.Image) -> list[Any]:
    """Detect: the summary, the overlay, the per-hand table, the report, and the mask editor showing the detected
    hands (tinted) to paint on."""
    source = imaging.load_image(image)
    found = ctx.executor.run(DETECTOR, HandDetectRequest(source))
    picture = tinted(source, detected_mask(found.hands, source.size))
    table = gr.Dataframe(value=hand_rows(found.report), headers=[tr(f"hand.col.{c}") for c in HAND_COLUMNS],
                         visible=bool(found.report["hands"]))
    return [detect_summary(found.report, source.size), found.overlay, table, found.report,
            {"background": picture, "layers": [], "composite": picture}]


@ui_errors
def repair_view(ctx: AppContext, image: Any, editor_value: Any, mask_mode: str, methods: list[str], model: str,
                seed: Any, steps: Any, strength: float, text_guidance: float, visual_guidance: float,
                mask_growth: float, padding: float, dilation: float, feather: float, prompt: str, negative: str,
                lora: str, discriminator: str, request: gr.Request,
                progress: gr.Progress = gr.Progress(track_tqdm=True)) -> list[Any]:  # noqa: B008
    """Repair: a before/after slider per method, the confidence table, the mask schedule and the recipes."""
    source = imaging.load_image(image)
    mask = None
    if mask_mode in ("add", "mine"):
        painted = editor_mask(editor_value, source.size)
        if painted is None:
            raise InvalidInput("mask", "is empty: paint over the hand in the mask editor, or use the detected hands")
        if mask_mode == "add":
            painted |= detected_mask(ctx.executor.run(DETECTOR, HandDetectRequest(source)).hands, source.size)
        mask = painted
    with run_control(ctx, request, progress) as control:
        outcomes = repair(ctx, source, methods, model, control, mask=mask, **options(
            seed, steps, strength, text_guidance, visual_guidance, mask_growth, padding, dilation, feather,
            prompt, negative, lora, discriminator))
    original = outcomes[0].path.with_name(f"{outcomes[0].path.stem}_input.png")
    source.save(original)  # the "before" side of the sliders
    by_method = {o.method: o for o in outcomes}
    slider_values = [(str(original), str(by_method[m].path)) if m in by_method else None for m in METHODS]
    shown_strip = next((o.strip for o in outcomes if o.method == "mghand"), outcomes[0].strip)
    table = gr.Dataframe(value=confidence_rows(outcomes), headers=[tr(f"hand.tcol.{c}") for c in TABLE],
                         visible=True)
    return [*slider_values, table, shown_strip, [o.recipe for o in outcomes]]


def editor_from(image: Any) -> Any:
    """A new input image resets the mask editor to it, with no mask painted."""
    return {"background": image, "layers": [], "composite": image} if image is not None else None


def build(ctx: AppContext) -> dict[str, Any]:
    """Lay out the hand-repair tab and wire it; returns the input image (other tabs send images to it)."""
    i18n = ctx.i18n
    models = [(s.name, s.key) for s in ctx.registry.by_task("inpaint")]
    if ctx.settings.profile == "tiny":
        gr.Markdown(i18n("common.tiny_banner"))
    with gr.Row():
        image = gr.Image(label=i18n("hand.image"), type="pil", image_mode=None, elem_id="hand-image", min_width=280)
        overlay = gr.Image(label=i18n("hand.overlay"), interactive=False, format="png", elem_id="hand-overlay",
                           min_width=280)
    detect_button = gr.Button(i18n("hand.detect"), elem_id="hand-detect")
    summary = gr.Markdown(elem_id="hand-summary")
    hands = gr.Dataframe(interactive=False, wrap=True, visible=False, elem_id="hand-hands")
    gr.Markdown(i18n("hand.handedness_note"), elem_id="hand-note")
    with gr.Accordion(i18n("hand.mask"), open=False, elem_id="hand-mask"):
        gr.Markdown(i18n("hand.editor"))
        editor = gr.ImageEditor(type="pil", show_label=False, layers=False, transforms=(), format="png",
                                brush=gr.Brush(colors=["#FFFFFF"], color_mode="fixed"), height=520,
                                elem_id="hand-editor")
        mask_mode = gr.Radio([(i18n(f"hand.mask_mode.{m}"), m) for m in ("detected", "add", "mine")],
                             value="detected", label=i18n("hand.mask_mode"), elem_id="hand-mask-mode")
    with gr.Row():
        methods = gr.CheckboxGroup([(i18n(f"hand.method.{m}"), m) for m in METHODS], value=list(METHODS),
                                   label=i18n("hand.methods"), elem_id="hand-methods", min_width=260)
        model = gr.Dropdown(models, value=models[0][1], label=i18n("hand.model"), min_width=220)
    with gr.Row():
        seed = gr.Number(value=0, label=i18n("t2i.seed"), min_width=120)
        steps = gr.Number(value=8 if ctx.settings.profile == "tiny" else 30, label=i18n("t2i.steps"),
                          elem_id="hand-steps", min_width=120)
        strength = gr.Slider(0.05, 1.0, value=0.75, step=0.05, label=i18n("hand.strength"), min_width=260)
    with gr.Row():
        text_guidance = gr.Slider(0, 10, value=1.5, step=0.1, label=i18n("hand.text_guidance"),
                                  info=i18n("hand.text_guidance_info"), min_width=260)
        visual_guidance = gr.Slider(0, 10, value=0, step=0.1, label=i18n("hand.visual_guidance"),
                                    info=i18n("hand.visual_guidance_info"), min_width=260)
    with gr.Row():
        mask_growth = gr.Slider(0, 1, value=1.0, step=0.05, label=i18n("hand.mask_growth"),
                                info=i18n("hand.mask_growth_info"), min_width=260)
        padding = gr.Slider(0, 1, value=0.3, step=0.05, label=i18n("hand.padding"), info=i18n("hand.padding_info"),
                            min_width=260)
    with gr.Row():
        dilation = gr.Slider(0, 0.1, value=0.02, step=0.005, label=i18n("hand.dilation"),
                             info=i18n("hand.dilation_info"), min_width=260)
        feather = gr.Slider(0, 0.1, value=0.02, step=0.005, label=i18n("hand.feather"),
                            info=i18n("hand.feather_info"), min_width=260)
    with gr.Accordion(i18n("t2i.advanced_prompts"), open=False):
        prompt = gr.Textbox(value=DEFAULT_PROMPT, label=i18n("t2i.prompt"))
        negative = gr.Textbox(value=DEFAULT_NEGATIVE, label=i18n("t2i.negative_prompt"))
        lora = gr.Textbox(label=i18n("hand.lora"))
        discriminator = gr.Textbox(label=i18n("hand.discriminator"))
    with gr.Row():
        run = gr.Button(i18n("hand.repair"), variant="primary", elem_id="hand-repair")
        stop = gr.Button(i18n("common.stop"), variant="stop")
    with gr.Row():
        sliders = {m: gr.ImageSlider(label=i18n(f"hand.slider.{m}"), type="filepath", format="png",
                                     elem_id=f"hand-slider-{m}", min_width=280) for m in METHODS}
    table = gr.Dataframe(interactive=False, wrap=True, visible=False, elem_id="hand-table")
    strip = gr.Image(label=i18n("hand.strip"), interactive=False, format="png", elem_id="hand-strip")
    with gr.Accordion(i18n("hand.recipes"), open=False):
        recipes = gr.JSON(label=i18n("hand.recipes"))
        detect_json = gr.JSON(label=i18n("hand.report"))
    repaired = gr.Image(visible=False, type="filepath", format="png")
    repair_json = gr.JSON(visible=False)
    # The API's own inputs: plain fields without UI limits, so bad values reach the backend's checks, which name them.
    api_model = gr.Textbox(value="inpaint/sd15", visible=False)
    api_method = gr.Textbox(value="mghand", visible=False)
    api_numbers = [gr.Number(value=v, visible=False) for v in (None, None, 0.75, 1.5, 1.0)]
    api_detect, api_repair = gr.Button(visible=False), gr.Button(visible=False)

    settings_inputs = [seed, steps, strength, text_guidance, visual_guidance, mask_growth, padding]
    detect_button.click(bind(detect_view, ctx), image, [summary, overlay, hands, detect_json, editor],
                        api_visibility="private")
    image.change(editor_from, image, editor, api_visibility="private", queue=False)
    form = [image, editor, mask_mode, methods, model, *settings_inputs, dilation, feather, prompt, negative, lora,
            discriminator]
    repairing = run.click(bind(repair_view, ctx), form, [*sliders.values(), table, strip, recipes],
                          api_visibility="private", **GPU)
    stop.click(bind(stop_run, ctx), None, None, cancels=[repairing], api_visibility="private", queue=False)
    api_detect.click(bind(hand_detect, ctx), image, [detect_json, overlay], api_name="hand_detect",
                     concurrency_limit=4)
    api_repair.click(bind(hand_repair, ctx), [image, api_model, api_method, *api_numbers],
                     [repaired, repair_json], api_name="hand_repair", **GPU)
    return {"image": image, "model": model, "settings": settings_inputs, "stop": stop}
