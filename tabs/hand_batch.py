"""Batch hand repair under the hand-repair tab: every image of a folder (or every output of a labeling-session
pool) repaired with one method, a CSV of per-hand confidences before and after, and a pool back for labeling.

A batch reads a server folder and writes a pool, so it needs the admin password, and the folder must lie under
``STUDIO_INPUT_ROOTS`` (none by default: on a public server nobody can point it at the server's files)."""

from __future__ import annotations

import csv
import shutil
import time
from pathlib import Path
from statistics import mean
from typing import Any

import gradio as gr

from backends.core import imaging
from backends.core.errors import InvalidInput
from backends.core.paths import confine
from backends.core.run import RunControl
from backends.tasks.hand_repair.types import METHODS, HandRepairRequest
from tabs.common import GPU, AppContext, bind, client_id, optional_number, run_control, tr, ui_errors

CSV_COLUMNS = ("image", "hand", "confidence_before", "confidence_after", "note")


def batch_repair(ctx: AppContext, folder: Any, method: str, model: str, control: RunControl,
                 **options: Any) -> tuple[Path, str]:
    """Repair every image of a folder and write a CSV of per-hand confidences before and after.

    A pool (a folder with ``prompts.jsonl``) comes back as a pool with the repaired outputs as extra models, ready
    to import into a labeling session. Returns the CSV and a summary.
    """
    root = confine(folder, ctx.settings.input_roots, "folder", "STUDIO_INPUT_ROOTS")
    pool = (root / "prompts.jsonl").is_file()
    candidates = root.glob("*/*") if pool else root.glob("*")
    sources = sorted(p for p in candidates if p.suffix.lower() in imaging.IMAGE_SUFFIXES and p.parent.name != "inputs")
    if not sources:
        raise InvalidInput("folder", "holds no images (png, jpg, jpeg, webp)")
    out = imaging.output_folder(ctx.settings.outputs_dir / "hand_repair", f"batch-{time.strftime('%Y%m%d-%H%M%S')}")
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
            result = ctx.executor.run(model, HandRepairRequest(path, method=method, **options),
                                      control.part(index, len(sources)))
        except InvalidInput as exc:  # e.g. no hand found: recorded, the batch goes on
            rows.append([str(relative), "", "", "", str(exc)])
            continue
        imaging.save_png(result.image, result.recipe, target)
        after_hands = result.after["hands"]
        for hand, before in enumerate(result.before["hands"]):
            after = after_hands[hand]["score"] if hand < len(after_hands) else None
            rows.append([str(relative), hand, round(before["score"], 4), "" if after is None else round(after, 4), ""])
            before_all.append(before["score"])
            if after is not None:
                after_all.append(after)
    table = out / "hand_confidence.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)
        writer.writerow(["MEAN", "", round(mean(before_all), 4) if before_all else "",
                         round(mean(after_all), 4) if after_all else "", f"{method} on {model}"])
    summary = tr("hand.batch_summary", images=len(sources), hands=len(before_all), folder=str(out),
                 before=f"{mean(before_all):.3f}" if before_all else "—",
                 after=f"{mean(after_all):.3f}" if after_all else "—")
    control.report(1.0, "done")
    return table, summary


@ui_errors
def batch_view(ctx: AppContext, admin_password: str, folder: str, method: str, model: str, seed: Any, steps: Any,
               strength: float, text_guidance: float, visual_guidance: float, mask_growth: float, padding: float,
               request: gr.Request,
               progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[Any, str]:  # noqa: B008
    """Batch repair of a folder (admin): the CSV (shown once there is one) and a summary."""
    ctx.arena.require_admin(admin_password, "hand_batch", folder, client_id(ctx, request))
    options = {"seed": optional_number(seed), "steps": optional_number(steps), "strength": strength,
               "text_guidance": text_guidance, "visual_guidance": visual_guidance, "mask_growth": mask_growth,
               "padding": padding}
    with run_control(ctx, request, progress) as control:
        table, text = batch_repair(ctx, folder, method, model, control, **options)
    return gr.File(value=str(table), visible=True), text


def build(ctx: AppContext, hand: dict[str, Any]) -> None:
    """Lay out the batch accordion under the hand-repair tab, reusing its model and settings."""
    i18n = ctx.i18n
    # Three short rows (where from, how, what came out) rather than six controls squeezed into one: each row wraps
    # to one control per line on a phone.
    with gr.Accordion(i18n("hand.batch"), open=False, elem_id="hand-batch"):
        with gr.Row():
            password = gr.Textbox(type="password", label=i18n("hand.admin_password"), scale=1, min_width=220)
            folder = gr.Textbox(label=i18n("hand.folder"), scale=2, min_width=260, elem_id="hand-batch-folder")
        with gr.Row(elem_classes=["t2i-form-row"]):  # the button level with the choices (studio.css)
            method = gr.Radio([(i18n(f"hand.method.{m}"), m) for m in METHODS], value="mghand",
                              label=i18n("hand.methods"), scale=2, min_width=260)
            run = gr.Button(i18n("hand.batch_run"), scale=1, min_width=160, elem_id="hand-batch-run")
        csv_file = gr.File(label=i18n("hand.csv"), interactive=False, visible=False,  # shown with a result
                           elem_id="hand-batch-csv")
        summary = gr.Markdown(elem_id="hand-batch-summary")
    batching = run.click(bind(batch_view, ctx), [password, folder, method, hand["model"], *hand["settings"]],
                         [csv_file, summary], api_visibility="private", **GPU)
    hand["stop"].click(None, None, None, cancels=[batching], api_visibility="private", queue=False)
