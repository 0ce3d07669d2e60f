"""Tokenizer reconstruction visualizer: one image through several tokenizers, side by side, with sliders against the
original, metrics, token maps, a prefix slider for ordered tokenizers, a perturbation slider for discrete ones,
power spectra and the prefix / robustness curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from backends.core import imaging
from backends.core.errors import InvalidInput
from backends.core.run import RunControl
from backends.tasks.tokenize.types import TokenizeRequest, TokenizeResult
from backends.vision import charts
from tabs.common import ASSETS, GPU, AppContext, bind, run_control, ui_errors

MAX_SHOWN = 4
COLUMNS = ("tokenizer", "tokens", "shape", "bits/pixel", "PSNR", "SSIM", "MS-SSIM", "LPIPS", "prefix PSNR",
           "perturbed PSNR", "size")
DEFAULT = ("tok/pca", "tok/vq")


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


def metrics_rows(results: dict[str, TokenizeResult]) -> list[list[Any]]:
    """One table row per tokenizer."""

    def value(metric: dict[str, Any] | None, name: str) -> Any:
        if metric is None:
            return ""
        v = metric.get(name)
        return "exact (∞)" if v is None and name == "psnr" else v

    rows = []
    for key, r in results.items():
        s = r.summary
        prefix = f"{value(s['prefix'], 'psnr')} (k={s['prefix']['k']})" if s["prefix"] else ""
        perturbed = (f"{value(s['perturbation'], 'psnr')} (α={s['perturbation']['alpha']}, "
                     f"δ={s['perturbation']['delta']})" if s["perturbation"] else "")
        rows.append([key, s["count"], "x".join(map(str, s["shape"])), s["bits_per_pixel"], value(s["metrics"], "psnr"),
                     value(s["metrics"], "ssim"), value(s["metrics"], "ms_ssim"), s["metrics"].get("lpips"), prefix,
                     perturbed, "x".join(map(str, s["size"]))])
    return rows


def save_outputs(ctx: AppContext, results: dict[str, TokenizeResult]) -> dict[str, Path]:
    """Reconstructions as PNGs with their recipes (the API returns these files)."""
    folder = ctx.settings.outputs_dir / "tokenizers"
    return {key: imaging.save_png(r.reconstruction, r.recipe, imaging.output_path(folder, r.recipe, i))
            for i, (key, r) in enumerate(results.items())}


def figures(results: dict[str, TokenizeResult]) -> tuple[Any, Any, Any]:
    """Spectra, prefix curves (ordered tokenizers) and robustness curves (discrete ones)."""
    first = next(iter(results.values()))
    spectrum = charts.spectrum_figure(first.original, {k: r.reconstruction for k, r in results.items()})
    prefix = {k: r.summary["curve"]["points"] for k, r in results.items()
              if r.summary["curve"] and r.summary["curve"]["x"] == "tokens"}
    robust = {k: r.summary["curve"]["points"] for k, r in results.items()
              if r.summary["curve"] and r.summary["curve"]["x"] == "alpha"}
    return (spectrum, charts.curve_figure(prefix, "tokens kept (prefix length)", "Coarse to fine", log_x=True),
            charts.curve_figure(robust, "perturbation rate α", "Robustness to token perturbation"))


@ui_errors
def tokenize(ctx: AppContext, image: Any, tokenizers: list[str], prefix: float | None = None, alpha: float = 0.0,
             delta: float = 8, seed: float = 0, request: gr.Request = None,
             progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[list[Any], dict[str, Any]]:  # noqa: B008
    """Tokenize an image with 1-4 tokenizers; returns the reconstructions (PNG with recipe) and a metrics JSON
    (tokens, bits, PSNR/SSIM/MS-SSIM/LPIPS, prefix and perturbation views, curves).

    Args:
        image: the image (any mode and size; resized to 512 px on the long side, the size is reported).
        tokenizers: tokenizer keys (see /models, task tok).
        prefix: ordered tokenizers: also decode the first k tokens (None: no prefix view).
        alpha: discrete tokenizers: perturbation rate in [0, 1].
        delta: perturb among the delta nearest codewords.
        seed: perturbation seed.
    """
    keys = check_tokenizers(ctx, tokenizers)
    with run_control(ctx, request, progress) as control:
        results = tokenize_all(ctx, image, keys, control, prefix=prefix, alpha=alpha, delta=delta, seed=seed)
    files = save_outputs(ctx, results)
    return [(str(files[k]), k) for k in keys], {k: r.summary for k, r in results.items()}


@ui_errors
def compare_view(ctx: AppContext, image: Any, tokenizers: list[str], prefix: float | None, alpha: float,
                 delta: float, seed: float, max_side: float, request: gr.Request,
                 progress: gr.Progress = gr.Progress(track_tqdm=True)) -> list[Any]:  # noqa: B008
    """The comparison: a slider per tokenizer, the metrics table, the token / error / prefix views, the plots."""
    keys = check_tokenizers(ctx, tokenizers)
    with run_control(ctx, request, progress) as control:
        results = tokenize_all(ctx, image, keys, control, prefix=prefix, alpha=alpha, delta=delta, seed=seed,
                               max_side=max_side)
    files = save_outputs(ctx, results)
    original = files[keys[0]].with_name(files[keys[0]].stem + "_original.png")
    results[keys[0]].original.save(original)
    shown = [gr.ImageSlider(value=(str(original), str(files[k])), label=f"{k}: original / reconstruction",
                            visible=True) for k in keys]
    shown += [gr.ImageSlider(visible=False, value=None)] * (MAX_SHOWN - len(keys))
    gallery = []
    for key, r in results.items():
        gallery += [(r.token_map, f"{key}: tokens"), (r.error_map, f"{key}: error")]
        if r.prefix is not None:
            gallery.append((r.prefix, f"{key}: first {r.summary['prefix']['k']} tokens"))
        if r.perturbed is not None:
            gallery.append((r.perturbed, f"{key}: perturbed α={r.summary['perturbation']['alpha']}"))
    return [*shown, metrics_rows(results), gallery, *figures(results), {k: r.summary for k, r in results.items()}]


def build(ctx: AppContext) -> dict[str, Any]:
    """Lay out the comparison part of the tokenizer tab and wire it."""
    i18n = ctx.i18n
    choices = [(s.name, s.key) for s in ctx.registry.by_task("tok")]
    examples = sorted(str(p) for p in (ASSETS / "examples").glob("*.png"))
    if ctx.settings.profile == "tiny":
        gr.Markdown(i18n("common.tiny_banner"))
    with gr.Row():
        with gr.Column(scale=2):
            image = gr.Image(label=i18n("tok.image"), type="pil", image_mode=None, elem_id="tok-image")
            gr.Examples(examples=[[e] for e in examples], inputs=[image], label=i18n("tok.examples"))
            tokenizers = gr.Dropdown(choices, value=list(DEFAULT), multiselect=True, max_choices=MAX_SHOWN,
                                     allow_custom_value=True, label=i18n("tok.tokenizers"), elem_id="tok-tokenizers")
            prefix = gr.Slider(1, 192, value=16, step=1, label=i18n("tok.prefix"), elem_id="tok-prefix")
            with gr.Row():
                alpha = gr.Slider(0, 1, value=0.25, step=0.05, label=i18n("tok.alpha"), elem_id="tok-alpha")
                delta = gr.Number(value=8, label=i18n("tok.delta"))
                seed = gr.Number(value=0, label=i18n("t2i.seed"))
                max_side = gr.Number(value=512 if ctx.settings.profile == "tiny" else 1024, label=i18n("tok.max_side"))
            run = gr.Button(i18n("tok.run"), variant="primary", elem_id="tok-run")
        with gr.Column(scale=3):
            sliders = [gr.ImageSlider(visible=i < len(DEFAULT), type="filepath", format="png",
                                      elem_id=f"tok-slider-{i}") for i in range(MAX_SHOWN)]
            table = gr.Dataframe(headers=list(COLUMNS), interactive=False, elem_id="tok-table")
            views = gr.Gallery(label=i18n("tok.views"), columns=4, format="png", height="auto", elem_id="tok-views")
            with gr.Row():
                spectrum = gr.Plot(label=i18n("tok.spectrum"))
                prefix_curve = gr.Plot(label=i18n("tok.prefix_curve"))
                robust_curve = gr.Plot(label=i18n("tok.robust_curve"))
            summary = gr.JSON(label=i18n("tok.summary"), open=False)
    api_inputs = [gr.Number(value=v, visible=False) for v in (None, 0.0, 8, 0)]
    reconstructions = gr.Gallery(visible=False, format="png", type="filepath")
    api_json = gr.JSON(visible=False)
    api_trigger = gr.Button(visible=False)

    inputs = [image, tokenizers, prefix, alpha, delta, seed, max_side]
    outputs = [*sliders, table, views, spectrum, prefix_curve, robust_curve, summary]
    run.click(bind(compare_view, ctx), inputs, outputs, api_visibility="private", **GPU)
    for slider in (prefix, alpha):  # moving a slider re-renders with the new prefix / perturbation
        slider.release(bind(compare_view, ctx), inputs, outputs, api_visibility="private", trigger_mode="always_last",
                       **GPU)
    api_trigger.click(bind(tokenize, ctx), [image, tokenizers, *api_inputs], [reconstructions, api_json],
                      api_name="tokenize", **GPU)
    return {"image": image, "tokenizers": tokenizers}
