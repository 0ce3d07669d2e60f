"""Tokenizer dataset evaluation (mean PSNR / SSIM, rFID and pFID when the Inception weights are available, a CSV)
and "send reconstructions to a labeling session" (which reconstruction is more faithful, original beside A and B)."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from pathlib import Path
from statistics import mean
from typing import Any

import gradio as gr
import numpy as np

from arena.sessions import SessionConfig
from backends.core.errors import InvalidInput, ModelUnavailable
from backends.core.imaging import IMAGE_SUFFIXES
from backends.core.run import RunControl
from backends.tasks.tokenize.types import TokenizeRequest
from backends.vision import metrics
from tabs.common import GPU, AppContext, bind, run_control, ui_errors

FID_KEY = "metric/inception-fid"
MAX_IMAGES = 10_000
SUMMARY = ("tokenizer", "images", "mean PSNR", "mean SSIM", "mean MS-SSIM", "bits/pixel", "rFID", "pFID",
           "perturbation")
Features = Callable[[list[np.ndarray]], np.ndarray]


def image_paths(folder: Any, files: Any) -> list[Path]:
    """The images to evaluate: a server folder's images, and/or uploaded files."""
    paths = [Path(str(f)) for f in (files or [])]
    if folder:
        root = Path(str(folder)).expanduser()
        if not root.is_dir():
            raise InvalidInput("folder", f"{str(folder)!r} is not a folder on the server")
        paths += sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise InvalidInput("folder", "give a folder of images (png, jpg, jpeg, webp) or upload files")
    if len(paths) > MAX_IMAGES:
        raise InvalidInput("folder", f"{len(paths)} images; evaluate at most {MAX_IMAGES:,} at once")
    return paths


def evaluate(ctx: AppContext, paths: list[Path], keys: list[str], control: RunControl, alpha: float = 0.5,
             delta: int = 8, seed: int = 0, features: Features | None = None) -> dict[str, Any]:
    """Tokenize every image with every tokenizer; per-image metrics, means, rFID / pFID, a CSV and a labeling pool.

    Args:
        ctx: the app context.
        paths: the images.
        keys: tokenizer keys.
        control: progress and Stop.
        alpha: perturbation rate for pFID (discrete tokenizers).
        delta: perturb among the delta nearest codewords.
        seed: perturbation seed.
        features: image -> feature extractor for FID (default: Inception-v3 through the executor, which reports
            why it is unavailable offline; tests inject a small one).

    Returns:
        ``{"rows", "summary", "csv", "pool", "fid"}``: per-image rows, per-tokenizer summary, the CSV path, the
        pool folder of reconstructions, and the FID status.
    """
    out = ctx.settings.outputs_dir / "tokenizer_eval" / time.strftime("%Y%m%d-%H%M%S")
    fid_status = "computed"
    if features is None:
        features = lambda images: ctx.executor.run(FID_KEY, images)  # noqa: E731 - a named def would add nothing
        try:  # loads the extractor once, up front: missing weights are reported instead of failing mid-run
            features([np.zeros((32, 32, 3), np.float32)])
        except ModelUnavailable as exc:
            features, fid_status = None, f"unavailable: {exc}"
    rows, feats = [], {"original": []}
    prompts = []
    total = len(paths) * len(keys)
    for i, path in enumerate(paths):
        item = f"{i:05d}"
        bits = None
        for j, key in enumerate(sorted(keys, key=lambda k: k == "tok/dct")):
            control.raise_if_stopped()
            control.report((i * len(keys) + j) / total, f"{path.name}: {key}")
            result = ctx.executor.run(key, TokenizeRequest(path, alpha=alpha, delta=delta, seed=seed, bits=bits,
                                                           curves=False))
            bits = min(bits or result.summary["bits"], result.summary["bits"])  # the DCT baseline matches the smallest
            s = result.summary
            rows.append({"image": path.name, "tokenizer": key, "psnr": s["metrics"]["psnr"],
                         "ssim": s["metrics"]["ssim"], "ms_ssim": s["metrics"]["ms_ssim"],
                         "bits_per_pixel": s["bits_per_pixel"],
                         "perturbed_psnr": (s["perturbation"] or {}).get("psnr")})
            folder = out / "pool" / key.replace("/", "__")
            folder.mkdir(parents=True, exist_ok=True)
            result.reconstruction.save(folder / f"{item}.png")
            if j == 0:
                (out / "pool" / "inputs").mkdir(parents=True, exist_ok=True)
                result.original.save(out / "pool" / "inputs" / f"{item}.png")
                prompts.append({"item_id": item, "prompt": f"Which reconstruction is more faithful to the original "
                                                            f"({path.name})?", "input_image": f"inputs/{item}.png",
                                "language": "en"})
            if features is not None:
                if j == 0:
                    feats["original"].append(features([np.asarray(result.original, np.float32) / 255])[0])
                feats.setdefault(key, []).append(features([np.asarray(result.reconstruction, np.float32) / 255])[0])
                if result.perturbed is not None:
                    feats.setdefault(f"{key}:perturbed", []).append(
                        features([np.asarray(result.perturbed, np.float32) / 255])[0])
    (out / "pool" / "prompts.jsonl").write_text("".join(json.dumps(p) + "\n" for p in prompts), "utf-8")
    summary = _summarise(rows, keys, feats, fid_status, alpha, delta, seed)
    csv_path = out / "results.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (out / "summary.json").write_text(json.dumps(summary, indent=2), "utf-8")
    control.report(1.0, "done")
    return {"rows": rows, "summary": summary, "csv": csv_path, "pool": out / "pool", "fid": fid_status}


def _summarise(rows: list[dict[str, Any]], keys: list[str], feats: dict[str, list], fid_status: str, alpha: float,
               delta: int, seed: int) -> list[dict[str, Any]]:
    def avg(key: str, name: str) -> float | None:
        values = [r[name] for r in rows if r["tokenizer"] == key and r[name] is not None]
        return round(mean(values), 4) if values else None

    summary = []
    for key in keys:
        fid = pfid = fid_status
        if fid_status == "computed" and len(feats["original"]) >= 2:
            fid = round(metrics.fid_from_features(np.array(feats["original"]), np.array(feats[key])), 4)
            perturbed = feats.get(f"{key}:perturbed")
            pfid = round(metrics.fid_from_features(np.array(feats["original"]), np.array(perturbed)), 4) \
                if perturbed else "continuous tokens: no perturbation"
        elif fid_status == "computed":
            fid = pfid = "needs at least 2 images"
        summary.append({"tokenizer": key, "images": sum(r["tokenizer"] == key for r in rows),
                        "psnr": avg(key, "psnr"), "ssim": avg(key, "ssim"), "ms_ssim": avg(key, "ms_ssim"),
                        "bits_per_pixel": avg(key, "bits_per_pixel"), "rfid": fid, "pfid": pfid,
                        "perturbation": {"alpha": alpha, "delta": delta, "seed": seed}})
    return summary


@ui_errors
def tokenizer_eval(ctx: AppContext, folder: str, files: list[str] | None, tokenizers: list[str], alpha: float = 0.5,
                   delta: float = 8, request: gr.Request = None,
                   progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[str, dict[str, Any]]:  # noqa: B008
    """Evaluate tokenizers on a folder (or uploaded files): mean PSNR / SSIM / MS-SSIM, bits per pixel, and
    rFID / pFID when the Inception weights are available (with the perturbation settings beside them).

    Args:
        folder: a folder of images on the server ("" for none).
        files: uploaded images (optional).
        tokenizers: tokenizer keys.
        alpha: perturbation rate for pFID.
        delta: perturb among the delta nearest codewords.
    """
    if not tokenizers:
        raise InvalidInput("tokenizers", "pick at least one tokenizer")
    for key in tokenizers:
        if ctx.registry.get_spec(key, "tokenizers").task != "tok":
            raise InvalidInput("tokenizers", f"{key} is not a tokenizer")
    with run_control(ctx, request, progress) as control:
        outcome = evaluate(ctx, image_paths(folder, files), list(tokenizers), control, float(alpha), int(delta))
    data = {"summary": outcome["summary"], "fid": outcome["fid"], "pool": str(outcome["pool"])}
    return str(outcome["csv"]), data


def eval_view(ctx: AppContext, folder: str, files: list[str] | None, tokenizers: list[str], alpha: float,
              delta: float, request: gr.Request,
              progress: gr.Progress = gr.Progress(track_tqdm=True)) -> list[Any]:  # noqa: B008
    """The evaluation as a summary table, the FID note, the CSV and the pool folder."""
    path, data = tokenizer_eval(ctx, folder, files, tokenizers, alpha, delta, request, progress)
    rows = [[s["tokenizer"], s["images"], s["psnr"], s["ssim"], s["ms_ssim"], s["bits_per_pixel"], s["rfid"],
             s["pfid"], json.dumps(s["perturbation"])] for s in data["summary"]]
    note = "rFID / pFID: computed with Inception-v3 features." if data["fid"] == "computed" else \
        f"rFID / pFID: {data['fid']}"
    return [rows, note, path, data["pool"]]


@ui_errors
def send_view(ctx: AppContext, password: str, name: str, pool: str) -> dict[str, Any]:
    """Create a pool session from the evaluation's reconstructions (admin)."""
    if not pool:
        raise InvalidInput("pool", "evaluate a folder first: its reconstructions become the session's pool")
    session = ctx.arena.create_session(password, SessionConfig(name=name, task="tok", mode="pool"))
    return ctx.arena.import_pool(password, session.id, pool)


def build(ctx: AppContext, tokenizers: gr.components.Component) -> None:
    """Lay out the evaluation and labeling accordions under the comparison and wire them."""
    i18n = ctx.i18n
    with gr.Accordion(i18n("tok.eval"), open=False):
        with gr.Row():
            folder = gr.Textbox(label=i18n("tok.folder"), elem_id="tok-eval-folder")
            files = gr.File(file_count="multiple", file_types=["image"], type="filepath", label=i18n("tok.files"))
        with gr.Row():
            alpha = gr.Number(value=0.5, label=i18n("tok.alpha"))
            delta = gr.Number(value=8, label=i18n("tok.delta"))
            evaluate_button = gr.Button(i18n("tok.eval_run"), elem_id="tok-eval-run")
        table = gr.Dataframe(headers=list(SUMMARY), interactive=False, elem_id="tok-eval-table")
        fid_note = gr.Markdown()
        csv_file = gr.File(label="CSV", interactive=False)
        pool = gr.Textbox(label=i18n("tok.pool"), interactive=False)
    with gr.Accordion(i18n("tok.label"), open=False), gr.Row():
        password = gr.Textbox(type="password", label=i18n("admin.password"))
        name = gr.Textbox(value="Tokenizer faithfulness", label=i18n("admin.name"))
        send = gr.Button(i18n("tok.send"))
        sent = gr.JSON(label=i18n("admin.result"))
    result_json = gr.JSON(visible=False)

    inputs = [folder, files, tokenizers, alpha, delta]
    evaluate_button.click(bind(eval_view, ctx), inputs, [table, fid_note, csv_file, pool], api_visibility="private",
                          **GPU)
    gr.Button(visible=False).click(bind(tokenizer_eval, ctx), inputs, [csv_file, result_json],
                                   api_name="tokenizer_eval", **GPU)
    send.click(bind(send_view, ctx), [password, name, pool], sent, api_visibility="private")
