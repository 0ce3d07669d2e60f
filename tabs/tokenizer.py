"""Tokenizer reconstruction visualizer: one image through several tokenizers, side by side, with sliders against the
original, metrics, token maps, a prefix slider for ordered tokenizers, a perturbation slider for discrete ones,
power spectra and the prefix / robustness curves; RobustTok's like-for-like test (XQGAN-4096 vs RobustTok-zero) in
one click.

What the comparison shows (sliders, tables, captions, plots) is in ``tabs.tokenizer_views``, this tab's own helper
(the one import between tab modules that pyproject.toml's independence contract allows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from backends.core import imaging
from backends.core.errors import InvalidInput
from backends.core.run import RunControl
from backends.core.validation import check_number
from backends.tasks.tokenize.types import TokenizeRequest, TokenizeResult
from tabs import tokenizer_views as views
from tabs.common import ASSETS, GPU, AppContext, bind, run_control, ui_errors
from tabs.tokenizer_views import MAX_SHOWN

DEFAULT = ("tok/pca", "tok/vq")
# RobustTok's A/B: one architecture, trained without (XQGAN-4096) and with (RobustTok-zero) latent perturbation. The
# paper's pFID settings were never released; alpha 0.5 and delta 50 are where its training schedule ends.
ROBUSTNESS_AB = (("tok/xqgan-4096", "tok/robusttok"), 0.5, 50)
DIFFUSION_DEFAULTS = "tok/semanticist"  # the steps and guidance fields start at its defaults


def check_tokenizers(ctx: AppContext, keys: Any) -> list[str]:
    """1 to 4 distinct, available tokenizer keys (InvalidInput naming ``tokenizers`` otherwise)."""
    keys = [keys] if isinstance(keys, str) else list(keys or [])
    if not keys:
        raise InvalidInput("tokenizers", "pick at least one tokenizer")
    if len(keys) > MAX_SHOWN or len(set(keys)) != len(keys):
        raise InvalidInput("tokenizers", f"pick 1 to {MAX_SHOWN} different tokenizers")
    for key in keys:
        spec = ctx.registry.get_spec(key, "tokenizers")
        if spec.task != "tok":
            raise InvalidInput("tokenizers", f"{key} is a {spec.task} model, not a tokenizer")
        ok, why = ctx.executor.availability(key)
        if not ok:
            raise InvalidInput("tokenizers", f"{key} is not available here: {why}")
    return keys


def tokenize_all(ctx: AppContext, image: Any, keys: list[str], control: RunControl, **options: Any
                 ) -> dict[str, TokenizeResult]:
    """Run every tokenizer on the image; the DCT baseline is rate-matched to the smallest of the others."""
    source = imaging.load_image(image)
    ordered = sorted(keys, key=lambda k: k == "tok/dct")  # rate-matched codecs last
    results: dict[str, TokenizeResult] = {}
    for index, key in enumerate(ordered):
        bits = min((r.summary["bits"] for r in results.values()), default=None) if key == "tok/dct" else None
        request = TokenizeRequest(source, bits=bits, **options)
        results[key] = ctx.executor.run(key, request, control.part(index, len(keys)))
    return {key: results[key] for key in keys}


def save_outputs(ctx: AppContext, results: dict[str, TokenizeResult]) -> dict[str, Path]:
    """Reconstructions as PNGs with their recipes (the API returns these files)."""
    folder = ctx.settings.outputs_dir / "tokenizers"
    return {key: imaging.save_png(r.reconstruction, r.recipe, imaging.output_path(folder, r.recipe, i))
            for i, (key, r) in enumerate(results.items())}


def diffusion_options(steps: Any, guidance: Any) -> dict[str, Any]:
    """Steps and guidance for diffusion decoders (Semanticist); empty fields keep the model's defaults."""
    options: dict[str, Any] = {}
    if steps not in (None, ""):
        options["steps"] = int(check_number(steps, "steps", minimum=1, maximum=1000, integer=True))
    if guidance not in (None, ""):
        options["guidance"] = float(check_number(guidance, "guidance", minimum=0, maximum=50))
    return options


@ui_errors
def tokenize(ctx: AppContext, image: Any, tokenizers: list[str], prefix: float | None = None, alpha: float = 0.0,
             delta: float = 8, seed: float = 0, steps: float | None = None, guidance: float | None = None,
             request: gr.Request = None,
             progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[list[Any], dict[str, Any]]:  # noqa: B008
    """Tokenize an image with 1-4 tokenizers; returns the reconstructions (PNG with recipe) and a metrics JSON
    (tokens, bits, PSNR/SSIM/MS-SSIM/LPIPS, prefix and perturbation views, curves).

    Args:
        image: the image (any mode and size; resized to 512 px on the long side, the size is reported).
        tokenizers: tokenizer keys (see /models, task tok).
        prefix: ordered tokenizers: also decode the first k tokens (None: no prefix view).
        alpha: discrete tokenizers: perturbation rate in [0, 1].
        delta: perturb among the delta nearest codewords.
        seed: perturbation seed (and the sampling seed of diffusion decoders).
        steps: sampling steps of diffusion decoders (Semanticist; None: the model's default).
        guidance: classifier-free guidance of diffusion decoders (None: the model's default).
    """
    keys = check_tokenizers(ctx, tokenizers)
    options = diffusion_options(steps, guidance)
    with run_control(ctx, request, progress) as control:
        results = tokenize_all(ctx, image, keys, control, prefix=prefix, alpha=alpha, delta=delta, seed=seed,
                               **options)
    files = save_outputs(ctx, results)
    return [(str(files[k]), k) for k in keys], {k: r.summary for k, r in results.items()}


@ui_errors
def compare_view(ctx: AppContext, focus: str | None, image: Any, tokenizers: list[str], prefix: float | None,
                 alpha: float, delta: float, seed: float, max_side: float, steps: float | None, guidance: float | None,
                 view: str, request: gr.Request,
                 progress: gr.Progress = gr.Progress(track_tqdm=True)) -> list[Any]:  # noqa: B008
    """The comparison: a slider per tokenizer (the original against the view ``focus`` asks for, else ``view``: the
    full, prefix or perturbed reconstruction), the metrics table and its note, the token / error views, the plots."""
    keys = check_tokenizers(ctx, tokenizers)
    options = diffusion_options(steps, guidance)
    view = focus or (view if view in views.VIEWS else "full")
    with run_control(ctx, request, progress) as control:
        results = tokenize_all(ctx, image, keys, control, prefix=prefix, alpha=alpha, delta=delta, seed=seed,
                               max_side=max_side, **options)
    shown = views.save_views(results, save_outputs(ctx, results))
    return [*views.sliders(shown, view), views.metrics_table(results),
            gr.Markdown(views.table_note(results), visible=True), gr.Gallery(views.gallery(results), visible=True),
            *views.figures(results), {k: r.summary for k, r in results.items()}, shown, view]


@ui_errors
def show_view(ctx: AppContext, shown: list[dict[str, Any]] | None, view: str) -> list[Any]:
    """The main sliders set to another view of the last comparison (no new run; nothing to change before one)."""
    if not shown:
        return [gr.skip()] * MAX_SHOWN
    return views.sliders(shown, view if view in views.VIEWS else "full")


@ui_errors
def robustness_ab(ctx: AppContext) -> tuple[list[str], float, int]:
    """The A/B's tokenizers, alpha and delta (``ROBUSTNESS_AB``), for the one-click comparison."""
    keys, alpha, delta = ROBUSTNESS_AB
    return list(keys), alpha, delta


def build(ctx: AppContext) -> dict[str, Any]:
    """Lay out the comparison part of the tokenizer tab and wire it."""
    i18n = ctx.i18n
    choices = [(s.name, s.key) for s in ctx.registry.by_task("tok")]
    decoder = ctx.registry.get(DIFFUSION_DEFAULTS)
    diffusion = dict(getattr(decoder.defaults, "options", {})) if decoder is not None else {}
    examples = sorted(str(p) for p in (ASSETS / "examples").glob("*.png"))
    if ctx.settings.profile == "tiny":
        gr.Markdown(i18n("common.tiny_banner"))
    with gr.Row():
        with gr.Column(scale=2):
            image = gr.Image(label=i18n("tok.image"), type="pil", image_mode=None, elem_id="tok-image")
            gr.Examples(examples=[[e] for e in examples], inputs=[image], label=i18n("tok.examples"))
            tokenizers = gr.Dropdown(choices, value=list(DEFAULT), multiselect=True, max_choices=MAX_SHOWN,
                                     allow_custom_value=True, label=i18n("tok.tokenizers"), elem_id="tok-tokenizers")
            prefix = gr.Slider(1, 256, value=16, step=1, label=i18n("tok.prefix"), elem_id="tok-prefix")
            alpha = gr.Slider(0, 1, value=0.25, step=0.05, label=i18n("tok.alpha"), elem_id="tok-alpha")
            with gr.Row():
                delta = gr.Number(value=8, label=i18n("tok.delta"), min_width=100)
                seed = gr.Number(value=0, label=i18n("t2i.seed"), min_width=100)
                max_side = gr.Number(value=512 if ctx.settings.profile == "tiny" else 1024, label=i18n("tok.max_side"),
                                     min_width=100)
            with gr.Row():  # an empty number field reads 0 in the browser: show the diffusion decoder's defaults
                steps = gr.Number(value=diffusion.get("steps"), label=i18n("tok.steps"), precision=0,
                                  elem_id="tok-steps")
                guidance = gr.Number(value=diffusion.get("guidance"), label=i18n("tok.guidance"),
                                     elem_id="tok-guidance")
            with gr.Row():
                run = gr.Button(i18n("tok.run"), variant="primary", elem_id="tok-run")
                ab = gr.Button(i18n("tok.ab"), elem_id="tok-ab")
            gr.Markdown(i18n("tok.ab_note"))
        with gr.Column(scale=3):
            # The main comparison follows the sliders: moving the prefix (α) slider sets the prefix (perturbed) view.
            view = gr.Radio([(i18n(f"tok.view.{v}"), v) for v in views.VIEWS], value="full", label=i18n("tok.view"),
                            elem_id="tok-view")
            with gr.Row(elem_id="tok-sliders"):
                sliders = [gr.ImageSlider(visible=i < len(DEFAULT), type="filepath", format="png", height=360,
                                          min_width=280, elem_id=f"tok-slider-{i}") for i in range(MAX_SHOWN)]
            table = gr.Dataframe(interactive=False, wrap=True, visible=False, elem_id="tok-table")
            note = gr.Markdown(visible=False, elem_id="tok-table-note")
            gallery = gr.Gallery(label=i18n("tok.views"), columns=4, format="png", height="auto", visible=False,
                                 elem_id="tok-views")
            with gr.Row(elem_id="tok-plots"):
                plots = [gr.Plot(label=i18n(f"tok.{name}"), visible=False, min_width=280, elem_id=f"tok-plot-{name}")
                         for name in ("spectrum", "prefix_curve", "robust_curve")]
            summary = gr.JSON(label=i18n("tok.summary"), open=False)
    shown = gr.State(None)
    api_inputs = [gr.Number(value=v, visible=False) for v in (None, 0.0, 8, 0, None, None)]
    reconstructions = gr.Gallery(visible=False, format="png", type="filepath")
    api_json = gr.JSON(visible=False)
    api_trigger = gr.Button(visible=False)

    inputs = [image, tokenizers, prefix, alpha, delta, seed, max_side, steps, guidance, view]
    outputs = [*sliders, table, note, gallery, *plots, summary, shown, view]
    run.click(bind(compare_view, ctx, None), inputs, outputs, api_visibility="private", **GPU)
    ab.click(bind(robustness_ab, ctx), None, [tokenizers, alpha, delta], api_visibility="private", queue=False).then(
        bind(compare_view, ctx, "perturbed"), inputs, outputs, api_visibility="private", **GPU)
    for slider, focus in ((prefix, "prefix"), (alpha, "perturbed")):  # re-render, and show what the slider changed
        slider.release(bind(compare_view, ctx, focus), inputs, outputs, api_visibility="private",
                       trigger_mode="always_last", **GPU)
    view.input(bind(show_view, ctx), [shown, view], sliders, api_visibility="private", queue=False)
    api_trigger.click(bind(tokenize, ctx), [image, tokenizers, *api_inputs], [reconstructions, api_json],
                      api_name="tokenize", **GPU)
    return {"image": image, "tokenizers": tokenizers}
