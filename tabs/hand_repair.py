"""Hand repair tab (MGHanD direction): detect hands, edit the mask, repair with plain inpainting and/or MGHanD's
guided loop, and compare the MediaPipe hand confidence before and after; batch repair of a folder with a CSV."""

from __future__ import annotations

import csv
import shutil
import time
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from statistics import mean
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from backends import hands as hand_masks
from backends import imaging
from backends.base import InvalidInput, RunControl
from backends.hand_repair import METHODS, HandDetectRequest, HandRepairRequest
from tabs.common import AppContext, gradio_progress, optional_number, scaled_progress, session_id, ui_errors

DETECTOR = "hand/mediapipe"
TABLE = ("method", "hands before", "mean confidence before", "hands after", "mean confidence after", "per hand")


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
    result = ctx.cache.run(DETECTOR, HandDetectRequest(image))
    return result.report, result.overlay


def detected_mask_layer(found: list[Any], size: tuple[int, int]) -> Image.Image:
    """An RGBA layer painting the detected hands' padded boxes white: the editor's starting mask."""
    mask = hand_masks.masks_for(found, size, kind="loose") if found else np.zeros(size[::-1], bool)
    layer = np.zeros((*mask.shape, 4), dtype=np.uint8)
    layer[mask] = (255, 255, 255, 255)
    return Image.fromarray(layer, "RGBA")


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
    before, _ = detect(ctx, source)
    requests = [HandRepairRequest(source, method=m, mask=mask, control=control, **options) for m in methods]
    for request in requests:  # every method's inputs are checked before the first one runs
        ctx.cache.check(model, request)
    outcomes, overall = [], control.progress
    for index, request in enumerate(requests):
        control.progress = scaled_progress(overall, index / len(requests), 1 / len(requests))
        result = ctx.cache.run(model, request, progress=control.progress)
        control.progress = overall
        path = imaging.save_png(result.image, result.recipe,
                                imaging.output_path(ctx.settings.outputs_dir / "hand_repair", result.recipe, index))
        after, _ = detect(ctx, result.image)
        strip = hand_masks.mask_strip(result.schedule) if result.schedule else None
        outcomes.append(Repair(request.method, path, result.recipe.to_dict(), before, after, strip))
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


def batch_repair(ctx: AppContext, folder: Any, method: str, model: str, control: RunControl,
                 **options: Any) -> tuple[Path, str]:
    """Repair every image of a folder (or every output of a labeling-session pool) and write a CSV of per-hand
    confidences before and after. A pool comes back as a pool with the repaired outputs as extra models, ready to
    import into a labeling session. Returns the CSV and a summary."""
    root = Path(str(folder or "")).expanduser()
    if not root.is_dir():
        raise InvalidInput("folder", f"{str(folder)!r} is not a folder on the server")
    pool = (root / "prompts.jsonl").is_file()
    candidates = root.glob("*/*") if pool else root.glob("*")
    sources = sorted(p for p in candidates if p.suffix.lower() in imaging.IMAGE_SUFFIXES and p.parent.name != "inputs")
    if not sources:
        raise InvalidInput("folder", "holds no images (png, jpg, jpeg, webp)")
    out = ctx.settings.outputs_dir / "hand_repair" / f"batch-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    if pool:
        shutil.copyfile(root / "prompts.jsonl", out / "prompts.jsonl")
    rows, before_all, after_all = [], [], []
    for index, path in enumerate(sources):
        control.raise_if_stopped()
        control.report(index / len(sources), f"{index + 1}/{len(sources)}: {path.name}")
        relative = path.relative_to(root)
        target = out / (f"{relative.parent.name}__{method}" if pool else ".") / f"{path.stem}.png"
        if pool:  # keep the original beside the repair, so a session can compare them
            (out / relative.parent.name).mkdir(exist_ok=True)
            shutil.copyfile(path, out / relative)
        try:
            [outcome] = repair(ctx, path, [method], model, RunControl(stop=control.stop), **options)
        except InvalidInput as exc:  # e.g. no hand found: recorded, the batch goes on
            rows.append([str(relative), "", "", "", str(exc)])
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(outcome.path, target)
        for hand, (b, a) in enumerate(zip(outcome.before["hands"], outcome.after["hands"] + [None] * 10,
                                          strict=False)):
            after = "" if a is None else round(a["score"], 4)
            rows.append([str(relative), hand, round(b["score"], 4), after, ""])
            before_all.append(b["score"])
            if a is not None:
                after_all.append(a["score"])
    table = out / "hand_confidence.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "hand", "confidence_before", "confidence_after", "note"])
        writer.writerows(rows)
        writer.writerow(["MEAN", "", round(mean(before_all), 4) if before_all else "",
                         round(mean(after_all), 4) if after_all else "", f"{method} on {model}"])
    summary = (f"**{len(sources)} images**, {len(before_all)} hands · mean confidence before "
               f"{mean(before_all) if before_all else float('nan'):.3f}, after "
               f"{mean(after_all) if after_all else float('nan'):.3f} · results in `{out}`")
    control.report(1.0, "done")
    return table, summary


def build(ctx: AppContext) -> dict[str, Any]:
    """Lay out the hand-repair tab and wire it; returns the input image (other tabs send images to it)."""
    i18n = ctx.i18n
    models = [(s.name, s.key) for s in ctx.registry.by_task("inpaint")]
    if ctx.settings.profile == "tiny":
        gr.Markdown(i18n("common.tiny_banner"))
    with gr.Row():
        with gr.Column(scale=2):
            image = gr.Image(label=i18n("hand.image"), type="pil", image_mode=None, elem_id="hand-image")
            detect_button = gr.Button(i18n("hand.detect"), elem_id="hand-detect")
            summary = gr.Markdown(elem_id="hand-summary")
            overlay = gr.Image(label=i18n("hand.overlay"), interactive=False, format="png", elem_id="hand-overlay")
            with gr.Accordion(i18n("hand.mask"), open=False):
                editor = gr.ImageEditor(type="pil", label=i18n("hand.editor"), layers=False, transforms=(),
                                        brush=gr.Brush(colors=["#FFFFFF"], color_mode="fixed"))
                use_mask = gr.Checkbox(label=i18n("hand.use_mask"), value=False)
            methods = gr.CheckboxGroup(list(METHODS), value=list(METHODS), label=i18n("hand.methods"),
                                       elem_id="hand-methods")
            model = gr.Dropdown(models, value=models[0][1], label=i18n("hand.model"))
            with gr.Row():
                seed = gr.Number(value=0, label=i18n("t2i.seed"))
                steps = gr.Number(value=8 if ctx.settings.profile == "tiny" else 30, label=i18n("t2i.steps"),
                                  elem_id="hand-steps")
                strength = gr.Slider(0.05, 1.0, value=0.75, step=0.05, label=i18n("hand.strength"))
            with gr.Row():
                text_guidance = gr.Slider(0, 10, value=1.5, step=0.1, label=i18n("hand.text_guidance"))
                visual_guidance = gr.Slider(0, 10, value=0, step=0.1, label=i18n("hand.visual_guidance"))
                mask_growth = gr.Slider(0, 1, value=1.0, step=0.05, label=i18n("hand.mask_growth"))
                padding = gr.Slider(0, 1, value=0.3, step=0.05, label=i18n("hand.padding"))
            with gr.Row():
                dilation = gr.Slider(0, 0.1, value=0.02, step=0.005, label=i18n("hand.dilation"))
                feather = gr.Slider(0, 0.1, value=0.02, step=0.005, label=i18n("hand.feather"))
            with gr.Accordion(i18n("t2i.advanced_prompts"), open=False):
                prompt = gr.Textbox(value=HandRepairRequest.prompt, label=i18n("t2i.prompt"))
                negative = gr.Textbox(value=HandRepairRequest.negative_prompt, label=i18n("t2i.negative_prompt"))
                lora = gr.Textbox(label=i18n("hand.lora"))
                discriminator = gr.Textbox(label=i18n("hand.discriminator"))
            with gr.Row():
                run = gr.Button(i18n("hand.repair"), variant="primary", elem_id="hand-repair")
                stop = gr.Button(i18n("common.stop"), variant="stop")
        with gr.Column(scale=3):
            sliders = {m: gr.ImageSlider(label=f"{m}: before / after", type="filepath", format="png",
                                         elem_id=f"hand-slider-{m}") for m in METHODS}
            table = gr.Dataframe(headers=list(TABLE), interactive=False, elem_id="hand-table")
            strip = gr.Image(label=i18n("hand.strip"), interactive=False, format="png", elem_id="hand-strip")
            recipes = gr.JSON(label=i18n("t2i.recipes"))
    with gr.Accordion(i18n("hand.batch"), open=False), gr.Row():
        folder = gr.Textbox(label=i18n("hand.folder"))
        batch_method = gr.Radio(list(METHODS), value="mghand", label=i18n("hand.methods"))
        batch_run = gr.Button(i18n("hand.batch_run"))
        batch_csv = gr.File(label="CSV", interactive=False)
        batch_summary = gr.Markdown()
    detect_json = gr.JSON(visible=False)
    repaired = gr.Image(visible=False, type="filepath", format="png")
    repair_json = gr.JSON(visible=False)
    # The API's own inputs: plain fields without UI limits, so bad values reach the backend's checks, which name them.
    api_model = gr.Textbox(value="inpaint/sd15", visible=False)
    api_method = gr.Textbox(value="mghand", visible=False)
    api_numbers = [gr.Number(value=v, visible=False) for v in (None, None, 0.75, 1.5, 1.0)]
    api_detect, api_repair = gr.Button(visible=False), gr.Button(visible=False)

    def options(seed, steps, strength, text_guidance, visual_guidance, mask_growth, padding, dilation=0.02,
                feather=0.02, prompt="", negative="", lora="", discriminator="") -> dict[str, Any]:
        return {"seed": optional_number(seed), "steps": optional_number(steps), "strength": strength,
                "text_guidance": text_guidance, "visual_guidance": visual_guidance, "mask_growth": mask_growth,
                "padding": padding, "dilation": dilation, "feather": feather,
                "prompt": prompt or HandRepairRequest.prompt, "negative_prompt": negative or "",
                "lora": lora or None, "discriminator": discriminator or None}

    @ui_errors
    def hand_detect(image: Image.Image) -> tuple[dict[str, Any], Image.Image]:
        """Detect hands: per hand the box, 21 landmarks, handedness and its score (MediaPipe confidence), and
        anatomical checks; plus an overlay image.

        Args:
            image: the image.
        """
        return detect(ctx, image)

    @ui_errors
    def hand_repair(image: Image.Image, model: str = "inpaint/sd15", method: str = "mghand", seed: float | None = None,
                    steps: float | None = None, strength: float = 0.75, text_guidance: float = 1.5,
                    mask_growth: float = 1.0, request: gr.Request = None,
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
        control = ctx.cancels.start(session_id(request), gradio_progress(progress))
        try:
            [outcome] = repair(ctx, image, [method], model, control, **options(
                seed, steps, strength, text_guidance, 0, mask_growth, HandRepairRequest.padding))
        finally:
            ctx.cancels.finish(session_id(request), control)
        return str(outcome.path), {"recipe": outcome.recipe, "before": outcome.before, "after": outcome.after}

    @ui_errors
    def detect_view(image: Image.Image) -> list[Any]:
        source = imaging.load_image(image)
        found = ctx.cache.run(DETECTOR, HandDetectRequest(source))
        layer = detected_mask_layer(found.hands, source.size)
        return [found.report["message"], found.overlay, found.report,
                {"background": image, "layers": [layer], "composite": None}]

    @ui_errors
    def repair_view(image, editor_value, use_mask, methods, model, seed, steps, strength, text_guidance,
                    visual_guidance, mask_growth, padding, dilation, feather, prompt, negative, lora, discriminator,
                    request: gr.Request, progress: gr.Progress = gr.Progress(track_tqdm=True)) -> list[Any]:  # noqa: B008
        source = imaging.load_image(image)
        mask = editor_mask(editor_value, source.size) if use_mask else None
        if use_mask and mask is None:
            raise InvalidInput("mask", "is empty: paint over the hand in the mask editor, or untick 'use my mask'")
        control = ctx.cancels.start(session_id(request), gradio_progress(progress))
        try:
            outcomes = repair(ctx, source, methods, model, control, mask=mask, **options(
                seed, steps, strength, text_guidance, visual_guidance, mask_growth, padding, dilation, feather,
                prompt, negative, lora, discriminator))
        finally:
            ctx.cancels.finish(session_id(request), control)
        original = outcomes[0].path.with_name(f"{outcomes[0].path.stem}_input.png")
        source.save(original)  # the "before" side of the sliders
        by_method = {o.method: o for o in outcomes}
        slider_values = [(str(original), str(by_method[m].path)) if m in by_method else None for m in METHODS]
        shown_strip = next((o.strip for o in outcomes if o.method == "mghand"), outcomes[0].strip)
        return [*slider_values, confidence_rows(outcomes), shown_strip, [o.recipe for o in outcomes]]

    @ui_errors
    def batch_view(folder, method, model, seed, steps, strength, text_guidance, visual_guidance, mask_growth,
                   padding, request: gr.Request,
                   progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[str, str]:  # noqa: B008
        control = ctx.cancels.start(session_id(request), gradio_progress(progress))
        try:
            table, text = batch_repair(ctx, folder, method, model, control, **options(
                seed, steps, strength, text_guidance, visual_guidance, mask_growth, padding))
        finally:
            ctx.cancels.finish(session_id(request), control)
        return str(table), text

    def editor_from(image: Any) -> Any:
        return {"background": image, "layers": [], "composite": image} if image is not None else None

    gpu = {"concurrency_id": "gpu", "concurrency_limit": 1}
    settings_inputs = [seed, steps, strength, text_guidance, visual_guidance, mask_growth, padding]
    detect_button.click(detect_view, image, [summary, overlay, detect_json, editor], api_visibility="private")
    image.change(editor_from, image, editor, api_visibility="private", queue=False)
    repairing = run.click(repair_view, [image, editor, use_mask, methods, model, *settings_inputs, dilation, feather,
                                        prompt, negative, lora, discriminator],
                          [*sliders.values(), table, strip, recipes],
                          api_visibility="private", **gpu)
    batching = batch_run.click(batch_view, [folder, batch_method, model, *settings_inputs], [batch_csv, batch_summary],
                               api_visibility="private", **gpu)
    def stop_run(request: gr.Request) -> None:
        ctx.cancels.stop(session_id(request))

    stop.click(stop_run, None, None, cancels=[repairing, batching], api_visibility="private", queue=False)
    api_detect.click(hand_detect, image, [detect_json, overlay], api_name="hand_detect", concurrency_limit=4)
    api_repair.click(hand_repair, [image, api_model, api_method, *api_numbers],
                     [repaired, repair_json], api_name="hand_repair", **gpu)
    return {"image": image}
