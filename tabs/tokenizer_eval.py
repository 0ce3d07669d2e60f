"""Tokenizer dataset evaluation (mean PSNR / SSIM, rFID and pFID when the Inception weights are available, a CSV)
and "send reconstructions to a labeling session" (which reconstruction is more faithful, original beside A and B).

pFID follows RobustTok's definition: the FID of reconstructions decoded from perturbed tokens (each token, with
probability alpha, replaced by one of its delta nearest codewords). The paper's alpha / delta for its reported pFID
were never released (lxa9867/ImageFolder issue 28), so the numbers here are comparable with each other at the same
alpha, delta and seed (written beside every row), not with the paper's table."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from statistics import mean
from typing import Any

import gradio as gr
import numpy as np

from arena.pool_import import scan_pool
from arena.sessions import SessionConfig
from backends.core import imaging
from backends.core.errors import InvalidInput, ModelUnavailable
from backends.core.imaging import IMAGE_SUFFIXES
from backends.core.paths import confine
from backends.core.run import RunControl
from backends.core.validation import check_number
from backends.tasks.tokenize.types import TokenizeRequest
from backends.vision import metrics
from tabs.common import GPU, AppContext, bind, client_id, message, run_control, tr, ui_errors

FID_KEY = "metric/inception-fid"
MAX_IMAGES = 10_000
# Rows of the summary table (one column per tokenizer): (summary field, translation key or a name that reads the
# same in every language). The perturbation settings are the same for every tokenizer: the note says them once.
SUMMARY = (("images", "tok.row.images"), ("psnr", "tok.row.mean_psnr"), ("ssim", "tok.row.mean_ssim"),
           ("ms_ssim", "tok.row.mean_ms_ssim"), ("bits_per_pixel", "tok.row.bits_per_pixel"), ("rfid", "rFID"),
           ("pfid", "pFID"))
PFID_NOTE = ("pFID: RobustTok's perturbed FID at the alpha, delta and seed shown; the paper's settings are "
             "unreleased, so compare rows with each other, not with the paper.")
Features = Callable[[list[np.ndarray]], np.ndarray]


def image_paths(folder: Any, files: Any, roots: Sequence[Path] = ()) -> list[Path]:
    """The images to evaluate: uploaded files, and/or the images of a server folder inside ``roots``
    (``STUDIO_INPUT_ROOTS``: none by default, so only uploads work on a public server)."""
    paths = [Path(str(f)) for f in (files or [])]
    if folder:
        root = confine(folder, roots, "folder", "STUDIO_INPUT_ROOTS")
        paths += sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise InvalidInput("folder", "give a folder of images (png, jpg, jpeg, webp) or upload files")
    if len(paths) > MAX_IMAGES:
        raise InvalidInput("folder", f"{len(paths)} images; evaluate at most {MAX_IMAGES:,} at once")
    return paths


def evaluate(ctx: AppContext, paths: list[Path], keys: list[str], control: RunControl, alpha: float = 0.5,
             delta: int = 8, seed: int = 0, features: Features | None = None, pool: bool = False) -> dict[str, Any]:
    """Tokenize every image with every tokenizer; per-image metrics, means, rFID / pFID, a CSV and, when asked, a
    labeling pool.

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
        pool: also write the originals and reconstructions as a labeling pool (copies of the inputs, served to
            whoever knows the folder: the tab asks for the admin password first).

    Returns:
        ``{"rows", "summary", "csv", "pool", "fid"}``: per-image rows, per-tokenizer summary, the CSV path, the
        pool folder of reconstructions (None without ``pool``), and the FID status.
    """
    # One unguessable folder per run, even for two runs in the same second (their pools would mix).
    out = imaging.output_folder(ctx.settings.outputs_dir / "tokenizer_eval", time.strftime("%Y%m%d-%H%M%S"))
    out.mkdir(parents=True)
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
                         "perturbed_psnr": (s["perturbation"] or {}).get("psnr"),
                         "alpha": alpha if s["discrete"] else None, "delta": delta if s["discrete"] else None,
                         "seed": seed})
            if pool:
                folder = out / "pool" / key.replace("/", "__")
                folder.mkdir(parents=True, exist_ok=True)
                result.reconstruction.save(folder / f"{item}.png")
            if pool and j == 0:
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
    if pool:
        (out / "pool" / "prompts.jsonl").write_text("".join(json.dumps(p) + "\n" for p in prompts), "utf-8")
    summary = _summarise(rows, keys, feats, fid_status, alpha, delta, seed)
    csv_path = out / "results.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (out / "summary.json").write_text(json.dumps(summary, indent=2), "utf-8")
    control.report(1.0, "done")
    return {"rows": rows, "summary": summary, "csv": csv_path, "pool": out / "pool" if pool else None,
            "fid": fid_status}


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
                   delta: float = 8, seed: float = 0, admin_password: str = "", request: gr.Request = None,
                   progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[str, dict[str, Any]]:  # noqa: B008
    """Evaluate tokenizers on uploaded files (or, with the admin password, a server folder): mean PSNR / SSIM /
    MS-SSIM, bits per pixel, and rFID / pFID when the Inception weights are available (with the perturbation
    settings beside them). With the admin password the reconstructions are also kept as a labeling pool.

    Args:
        folder: a folder of images on the server, under STUDIO_INPUT_ROOTS ("" for none; needs the admin password).
        files: uploaded images (optional).
        tokenizers: tokenizer keys.
        alpha: perturbation rate for pFID.
        delta: perturb among the delta nearest codewords.
        seed: perturbation seed (also the sampling seed of diffusion decoders).
        admin_password: STUDIO_ADMIN_PASSWORD ("": uploads only, and no labeling pool is written).
    """
    if not tokenizers:
        raise InvalidInput("tokenizers", "pick at least one tokenizer")
    for key in tokenizers:
        if ctx.registry.get_spec(key, "tokenizers").task != "tok":
            raise InvalidInput("tokenizers", f"{key} is not a tokenizer")
    seed = int(check_number(seed, "seed", minimum=0, maximum=2**31 - 1, integer=True))
    # Public on a Space: anyone may measure uploads. Reading server folders and keeping a pool (copies of the inputs
    # under the served outputs) are batch features: admin only, checked before the folder is even looked at.
    if folder and not admin_password:
        raise InvalidInput("folder", "reading a server folder needs the admin password (uploads do not)")
    if admin_password:
        ctx.arena.require_admin(admin_password, "tokenizer_eval", folder or "uploads", client_id(ctx, request))
    paths = image_paths(folder, files, ctx.settings.input_roots)
    with run_control(ctx, request, progress) as control:
        outcome = evaluate(ctx, paths, list(tokenizers), control, float(alpha), int(delta), seed,
                           pool=bool(admin_password))
    data = {"summary": outcome["summary"], "fid": outcome["fid"],
            "pool": str(outcome["pool"]) if outcome["pool"] else "", "pfid_note": PFID_NOTE}
    return str(outcome["csv"]), data


def eval_view(ctx: AppContext, folder: str, files: list[str] | None, tokenizers: list[str], alpha: float,
              delta: float, seed: float, admin_password: str, request: gr.Request,
              progress: gr.Progress = gr.Progress(track_tqdm=True)) -> list[Any]:  # noqa: B008
    """The evaluation as a summary table (one column per tokenizer, "—" where a value is not computed), one note
    saying why and with which perturbation, the CSV and the pool folder ("" without the admin password)."""
    path, data = tokenizer_eval(ctx, folder, files, tokenizers, alpha, delta, seed, admin_password, request,
                                progress)
    keys = [s["tokenizer"] for s in data["summary"]]
    first = 34 if len(keys) > 2 else 40  # the measure's name; the tokenizers share the rest
    widths = [f"{first}%"] + [f"{(100 - first) / len(keys):.2f}%"] * len(keys)
    table = gr.Dataframe(value=summary_rows(data["summary"]), headers=[tr("tok.col.metric"), *keys],
                         column_widths=widths, wrap=True, visible=True)  # fixed shares: it fits a phone
    return [table, gr.Markdown(summary_note(data), visible=True), path, data["pool"]]


def number(value: Any, digits: int = 4) -> str:
    """A table cell: rounded, or "—" for a value not computed (the note says why, once)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def summary_rows(summary: list[dict[str, Any]]) -> list[list[Any]]:
    """The summary table's rows: one per measure, one column per tokenizer; what is not computed is "—"."""
    return [[tr(label) if label.startswith("tok.") else label,
             *(number(s[field], 0 if field == "images" else 4) for s in summary)] for field, label in SUMMARY]


def summary_note(data: dict[str, Any]) -> str:
    """Why rFID / pFID are or are not there, said once, and the perturbation behind pFID."""
    status = str(data["fid"])
    if status == "computed":
        lines = [tr("tok.fid_computed")]
        if any(not isinstance(s["rfid"], float) for s in data["summary"]):
            lines.append(tr("tok.fid_needs_two"))
        if any(isinstance(s["rfid"], float) and not isinstance(s["pfid"], float) for s in data["summary"]):
            lines.append(tr("tok.pfid_continuous"))
    else:
        lines = [tr("tok.fid_unavailable", reason=message(status.removeprefix("unavailable: ")))]
    perturbation = data["summary"][0]["perturbation"] if data["summary"] else {"alpha": "", "delta": "", "seed": ""}
    lines.append(tr("tok.pfid_settings", **perturbation))
    return "\n\n".join(lines)


@ui_errors
def send_view(ctx: AppContext, password: str, name: str, pool: str, request: gr.Request = None) -> dict[str, Any]:
    """Create a pool session from the evaluation's reconstructions (admin)."""
    if not pool:
        raise InvalidInput("pool", "evaluate with the admin password first: its reconstructions become the pool")
    client = client_id(ctx, request)
    # The pool is trusted only when it is a folder this studio's evaluations wrote; anything else a client names must
    # lie under STUDIO_INPUT_ROOTS like every other server folder. The password, the folder and the pool are all
    # checked before the session is created, so a refused folder leaves no empty session behind.
    ctx.arena.require_admin(password, "check_pool", str(pool), client)
    folder = Path(str(pool)).expanduser().resolve()
    trusted = folder.is_relative_to((ctx.settings.outputs_dir / "tokenizer_eval").resolve())
    scan_pool(folder if trusted else confine(pool, ctx.arena.pool_roots, "folder", "STUDIO_INPUT_ROOTS"), [])
    session = ctx.arena.create_session(password, SessionConfig(name=name, task="tok", mode="pool"), client)
    return ctx.arena.import_pool(password, session.id, folder, client=client, trusted=trusted)


def build(ctx: AppContext, tokenizers: gr.components.Component) -> None:
    """Lay out the evaluation and labeling accordions under the comparison and wire them."""
    i18n = ctx.i18n
    with gr.Accordion(i18n("tok.eval"), open=False, elem_id="tok-eval"):
        with gr.Row():
            folder = gr.Textbox(label=i18n("tok.folder"), elem_id="tok-eval-folder")
            files = gr.File(file_count="multiple", file_types=["image"], type="filepath", label=i18n("tok.files"),
                            elem_id="tok-eval-files")
            pool_password = gr.Textbox("", type="password", label=i18n("tok.pool_password"),  # "": optional in the API
                                       elem_id="tok-eval-password")
        with gr.Row():
            alpha = gr.Number(value=0.5, label=i18n("tok.alpha"))
            delta = gr.Number(value=8, label=i18n("tok.delta"))
            seed = gr.Number(value=0, precision=0, label=i18n("t2i.seed"))
            evaluate_button = gr.Button(i18n("tok.eval_run"), elem_id="tok-eval-run")
        table = gr.Dataframe(interactive=False, wrap=True, visible=False, elem_id="tok-eval-table")
        fid_note = gr.Markdown(visible=False, elem_id="tok-eval-note")
        csv_file = gr.File(label="CSV", interactive=False)
        pool = gr.Textbox(label=i18n("tok.pool"), interactive=False)
    with gr.Accordion(i18n("tok.label"), open=False), gr.Row():
        password = gr.Textbox(type="password", label=i18n("admin.password"))
        name = gr.Textbox(value="Tokenizer faithfulness", label=i18n("admin.name"))
        send = gr.Button(i18n("tok.send"))
        sent = gr.JSON(label=i18n("admin.result"))
    result_json = gr.JSON(visible=False)

    inputs = [folder, files, tokenizers, alpha, delta, seed, pool_password]
    evaluate_button.click(bind(eval_view, ctx), inputs, [table, fid_note, csv_file, pool], api_visibility="private",
                          **GPU)
    gr.Button(visible=False).click(bind(tokenizer_eval, ctx), inputs, [csv_file, result_json],
                                   api_name="tokenizer_eval", **GPU)
    send.click(bind(send_view, ctx), [password, name, pool], sent, api_visibility="private")
