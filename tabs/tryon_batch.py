"""Try-on evaluation on paired folders (SSIM, PSNR, preservation outside the garment region, FID / KID / LPIPS when
their networks are given; a per-item CSV and means per method) and MF-VITON's data engine (triples on new
backgrounds). Laid out under the try-on tab, reusing its category, methods and settings.

Both are batch jobs reading server folders: they need the admin password, and the folders must lie under
``STUDIO_INPUT_ROOTS`` (TorchScript feature extractors under ``STUDIO_MODEL_ROOTS``); datasets are written under the
data dir's outputs."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import gradio as gr

from backends.core import imaging
from backends.core.errors import InvalidInput
from backends.core.imaging import IMAGE_SUFFIXES
from backends.core.paths import confine
from backends.core.run import RunControl
from backends.tasks.tryon.types import (
    ENGINE_KEY,
    MASK_KEY,
    SCORE_KEY,
    DataEngineRequest,
    TryOnMaskRequest,
    TryOnRequest,
    TryOnScoreRequest,
)
from tabs.common import GPU, AppContext, bind, client_id, headed, require_int, run_control, ui_errors

MODES = ("paired", "unpaired")
MAX_ITEMS = 5_000
SUMMARY = ("method", "items", "SSIM", "PSNR", "preserved SSIM", "preserved PSNR", "LPIPS", "FID", "KID")
POOL_PROMPT = "Which result dresses this person in this garment better? Person and garment: left."


def images_in(folder: Path) -> dict[str, Path]:
    """Stem -> image path of a folder's images."""
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES} if folder.is_dir() \
        else {}


def read_pairs(folder: Path, mode: str) -> list[dict[str, Any]]:
    """Items of a paired folder: ``person/``, ``garment/``, optional ``truth/``, optional ``pairs.txt``.

    ``pairs.txt`` lines are ``person_file garment_file [truth_file]``; without it, files are matched by stem. In the
    paired mode the truth is ``truth/<stem>`` or, when absent, the person photo itself (the person wears the
    garment, as in VITON-HD's paired test); the unpaired mode has no truth.

    Raises:
        InvalidInput: naming ``folder``: missing sub-folders, unmatched names, too many items.
    """
    if mode not in MODES:
        raise InvalidInput("mode", f"{mode!r} is not one of {', '.join(MODES)}")
    root = Path(folder)
    if not (root / "person").is_dir() or not (root / "garment").is_dir():
        raise InvalidInput("folder", f"{str(folder)!r} needs person/ and garment/ sub-folders (and optionally "
                                     "truth/ and pairs.txt)")
    persons, garments, truths = (images_in(root / sub) for sub in ("person", "garment", "truth"))
    if (root / "pairs.txt").is_file():
        rows = [line.split() for line in (root / "pairs.txt").read_text("utf-8").splitlines() if line.strip()]
        pairs = [(Path(r[0]).stem, Path(r[1]).stem, Path(r[2]).stem if len(r) > 2 else Path(r[0]).stem)
                 for r in rows]
    else:
        pairs = [(stem, stem, stem) for stem in persons]
    missing = [f"{p}/{g}" for p, g, _ in pairs if p not in persons or g not in garments]
    if missing or not pairs:
        raise InvalidInput("folder", f"{len(missing)} pair(s) name missing images (e.g. {missing[:3]})" if missing
                           else "holds no person images")
    if len(pairs) > MAX_ITEMS:
        raise InvalidInput("folder", f"{len(pairs)} pairs; evaluate at most {MAX_ITEMS:,} at once")
    items = []
    for index, (p, g, t) in enumerate(pairs):
        truth = (truths.get(t) or persons[p]) if mode == "paired" else None
        items.append({"id": f"{index:05d}", "person": persons[p], "garment": garments[g], "truth": truth,
                      "name": f"{persons[p].name} + {garments[g].name}"})
    return items


def evaluate(ctx: AppContext, items: list[dict[str, Any]], methods: list[str], control: RunControl,
             category: str = "upper", real_folder: str | None = None, extractor: str | None = None,
             lpips: str | None = None, **settings: Any) -> dict[str, Any]:
    """Run every method on every item (same seed per item), then score them; writes outputs, a CSV and a pool."""
    if not methods:
        raise InvalidInput("methods", "pick at least one try-on model")
    out = imaging.output_folder(ctx.settings.outputs_dir / "tryon_eval", time.strftime("%Y%m%d-%H%M%S"))
    folders = {key: out / key.replace("/", "__") for key in methods}
    for folder in (*folders.values(), out / "inputs", out / "regions", out / "truth", out / "pool" / "inputs"):
        folder.mkdir(parents=True, exist_ok=True)
    scored, skipped, prompts = [], [], []
    for i, item in enumerate(items):
        part = control.part(i, len(items) + 1)
        try:
            results = [ctx.executor.run(key, TryOnRequest(item["person"], item["garment"], category, **settings),
                                        part.part(j, len(methods))) for j, key in enumerate(methods)]
        except InvalidInput as exc:
            skipped.append({"item": item["name"], "reason": str(exc)})
            continue
        entry = {"id": item["id"], "person": str(out / "inputs" / f"{item['id']}.png")}
        results[0].person.save(entry["person"])
        for key, result in zip(methods, results, strict=True):
            result.image.save(folders[key] / f"{item['id']}.png")
            pool_folder = out / "pool" / key.replace("/", "__")
            pool_folder.mkdir(exist_ok=True)
            result.image.save(pool_folder / f"{item['id']}.png")
        try:  # the garment region of the person the models saw: the same for every method
            region = ctx.executor.run(MASK_KEY, TryOnMaskRequest(results[0].person, category)).mask
            entry["region"] = str(out / "regions" / f"{item['id']}.png")
            region.save(entry["region"])
        except InvalidInput:
            entry["region"] = None
        if item["truth"] is not None:
            box = results[0].recipe.extra["person_crop"]
            truth = imaging.load_image(item["truth"], field="truth").crop(tuple(box)).resize(results[0].person.size)
            entry["truth"] = str(out / "truth" / f"{item['id']}.png")
            truth.save(entry["truth"])
        garment = imaging.load_image(item["garment"], field="garment").resize(results[0].person.size)
        imaging.labelled_grid([results[0].person, garment], ["person", "garment"]).save(
            out / "pool" / "inputs" / f"{item['id']}.png")
        prompts.append({"item_id": item["id"], "prompt": POOL_PROMPT, "input_image": f"inputs/{item['id']}.png",
                        "language": "en"})
        scored.append(entry)
    if not scored:
        raise InvalidInput("folder", f"no item could be tried on: {skipped[:3]}")
    (out / "pool" / "prompts.jsonl").write_text("".join(json.dumps(p) + "\n" for p in prompts), "utf-8")
    real = real_folder or (None if any(e.get("truth") for e in scored) else str(out / "inputs"))
    scores = ctx.executor.run(SCORE_KEY, TryOnScoreRequest(
        scored, {k: str(f) for k, f in folders.items()}, str(out), real_folder=real, extractor=extractor,
        lpips=lpips), control.part(len(items), len(items) + 1))
    return {"summary": scores.summary, "notes": scores.notes, "csv": scores.csv, "skipped": skipped,
            "pool": {"folder": str(out / "pool"), "models": list(methods), "items": len(scored)}}


@ui_errors
def tryon_eval(ctx: AppContext, admin_password: str, folder: str, mode: str = "paired", category: str = "upper",
               methods: Any = "tryon/catvton-maskfree,tryon/catvton", seed: float | None = 0,
               steps: float | None = None, width: float | None = None, height: float | None = None,
               real_folder: str = "", extractor: str = "", request: gr.Request = None,
               progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[str, dict[str, Any]]:  # noqa: B008
    """Evaluate try-on models on a paired folder (person/, garment/, optional truth/ and pairs.txt): per-item CSV;
    means per method of SSIM, PSNR, preservation outside the garment region, and FID / KID when a feature extractor
    is given (otherwise reported unavailable, with why).

    Args:
        admin_password: the admin password (a batch job reading server folders).
        folder: the paired folder on the server (under STUDIO_INPUT_ROOTS).
        mode: paired (truth = truth/<name> or the person photo) or unpaired (FID / KID only).
        category: upper, lower or overall.
        methods: try-on model keys, comma-separated.
        seed: seed of every item.
        steps: denoising steps (None: each model's default).
        width: output width (None: the model's default).
        height: output height (None: the model's default).
        real_folder: real photos for unpaired FID / KID ("": the input persons; under STUDIO_INPUT_ROOTS).
        extractor: "inception", a TorchScript feature extractor file (under STUDIO_MODEL_ROOTS), or "" for none.
    """
    ctx.arena.require_admin(admin_password, "tryon_eval", folder, client_id(ctx, request))
    root = confine(folder, ctx.settings.input_roots, "folder", "STUDIO_INPUT_ROOTS")
    real = str(confine(real_folder, ctx.settings.input_roots, "real_folder", "STUDIO_INPUT_ROOTS")) \
        if real_folder else None
    keys = [m.strip() for m in methods.split(",")] if isinstance(methods, str) else list(methods or [])
    settings = {"seed": require_int(seed, "seed"), "steps": require_int(steps, "steps"),
                "width": require_int(width, "width"), "height": require_int(height, "height")}
    with run_control(ctx, request, progress) as control:
        outcome = evaluate(ctx, read_pairs(root, mode), [k for k in keys if k], control, category, real,
                           extractor or None, **settings)
    return outcome["csv"], outcome


def eval_view(ctx: AppContext, admin_password: str, folder: str, mode: str, category: str, methods: Any, seed: Any,
              steps: Any, width: Any, height: Any, real_folder: str, extractor: str, request: gr.Request,
              progress: gr.Progress = gr.Progress(track_tqdm=True)) -> list[Any]:  # noqa: B008
    """The evaluation as a summary table, the notes, the CSV, and the labeling pool."""
    path, data = tryon_eval(ctx, admin_password, folder, mode, category, methods, seed, steps, width, height,
                            real_folder, extractor, request, progress)
    rows = [[s["method"], s["items"], s["ssim"], s["psnr"], s["preserved_ssim"], s["preserved_psnr"], s["lpips"],
             s["fid"], s["kid"]] for s in data["summary"]]
    notes = [*data["notes"], *[f"skipped {s['item']}: {s['reason']}" for s in data["skipped"]]]
    return [headed(rows, SUMMARY), "\n".join(f"- {n}" for n in notes), path, data["pool"]]


@ui_errors
def tryon_dataset(ctx: AppContext, admin_password: str, persons: str, garments: str, backgrounds: str, name: str,
                  category: str = "upper", pairs: str = "all", seed: float = 0, steps: float | None = None,
                  width: float | None = None, height: float | None = None, request: gr.Request = None,
                  progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[str, dict[str, Any]]:  # noqa: B008
    """MF-VITON's data engine, first stage: the mask-based model dresses each person (cut out and put on a new
    background) in each garment; writes persons/, garments/, results/, masks/, manifest.jsonl and a README.
    Fine-tuning a mask-free model on it is out of scope.

    Args:
        admin_password: the admin password (a batch job reading server folders).
        persons: a folder of person photos on the server (under STUDIO_INPUT_ROOTS, as the next two).
        garments: a folder of garment images.
        backgrounds: a folder of background images.
        name: the dataset's name: it is written to <data dir>/outputs/tryon_data/<date>/<random>/<name>.
        category: upper, lower or overall.
        pairs: all (every person with every garment) or zip (person i with garment i).
        seed: base seed (triple i uses seed + i).
        steps: denoising steps (None: the model's default).
        width: output width (None: the model's default).
        height: output height (None: the model's default).
    """
    ctx.arena.require_admin(admin_password, "tryon_dataset", name, client_id(ctx, request))
    lists = {}
    for field, folder in (("persons", persons), ("garments", garments), ("backgrounds", backgrounds)):
        found = list(images_in(confine(folder, ctx.settings.input_roots, field, "STUDIO_INPUT_ROOTS")).values())
        if not found:
            raise InvalidInput(field, f"{str(folder)!r} holds no images (png, jpg, jpeg, webp)")
        lists[field] = [str(p) for p in found]
    slug = re.sub(r"[^a-z0-9._-]+", "-", str(name or "").strip().lower()).strip("-.")
    if not slug:
        raise InvalidInput("name", "name the dataset (letters, digits, dots, dashes)")
    out_dir = imaging.output_folder(ctx.settings.outputs_dir / "tryon_data", slug)
    engine = DataEngineRequest(**lists, out_dir=str(out_dir), category=category, pairs=pairs,
                               seed=require_int(seed, "seed") or 0, steps=require_int(steps, "steps"),
                               width=require_int(width, "width"), height=require_int(height, "height"))
    with run_control(ctx, request, progress) as control:
        result = ctx.executor.run(ENGINE_KEY, engine, control)
    return result.manifest, {"folder": result.folder, "triples": len(result.rows), "skipped": result.skipped}


def build(ctx: AppContext, tryon: dict[str, Any]) -> None:
    """Lay out the evaluation and data-engine accordions under the try-on tab and wire them."""
    i18n = ctx.i18n
    with gr.Accordion(i18n("tryon.eval"), open=False):
        gr.Markdown(i18n("tryon.eval_help"))
        with gr.Row():
            password = gr.Textbox(type="password", label=i18n("admin.password"))
            folder = gr.Textbox(label=i18n("tryon.eval_folder"), elem_id="tryon-eval-folder")
            mode = gr.Radio([(i18n(f"tryon.mode.{m}"), m) for m in MODES], value="paired",
                            label=i18n("tryon.eval_mode"))
            real = gr.Textbox(label=i18n("tryon.real_folder"))
            extractor = gr.Textbox(label=i18n("tryon.extractor"), placeholder="inception")
        evaluate_button = gr.Button(i18n("tryon.eval_run"), elem_id="tryon-eval-run")
        table = gr.Dataframe(headers=list(SUMMARY), interactive=False, elem_id="tryon-eval-table",
                             visible=False)
        notes = gr.Markdown()
        csv_file = gr.File(label="CSV", interactive=False)
    with gr.Accordion(i18n("tryon.engine"), open=False):
        gr.Markdown(i18n("tryon.engine_help"))
        with gr.Row():
            persons = gr.Textbox(label=i18n("tryon.engine_persons"))
            garments = gr.Textbox(label=i18n("tryon.engine_garments"))
            backgrounds = gr.Textbox(label=i18n("tryon.engine_backgrounds"))
            dataset = gr.Textbox(label=i18n("tryon.engine_out"))
            pairs = gr.Radio([(i18n(f"tryon.pairs.{p}"), p) for p in ("all", "zip")], value="all",
                             label=i18n("tryon.engine_pairs"))
        engine_button = gr.Button(i18n("tryon.engine_run"), elem_id="tryon-engine-run")
        manifest = gr.File(label=i18n("tryon.manifest"), interactive=False)
        engine_json = gr.JSON(label=i18n("admin.result"))
    eval_json = gr.JSON(visible=False)
    size = [tryon["width"], tryon["height"]]
    eval_inputs = [password, folder, mode, tryon["category"], tryon["methods"], tryon["seed"], tryon["steps"], *size,
                   real, extractor]
    evaluate_button.click(bind(eval_view, ctx), eval_inputs, [table, notes, csv_file, tryon["pool"]],
                          api_visibility="private", **GPU)
    gr.Button(visible=False).click(bind(tryon_eval, ctx), eval_inputs, [csv_file, eval_json], api_name="tryon_eval",
                                   **GPU)
    engine_inputs = [password, persons, garments, backgrounds, dataset, tryon["category"], pairs, tryon["seed"],
                     tryon["steps"], *size]
    engine_button.click(bind(tryon_dataset, ctx), engine_inputs, [manifest, engine_json], api_name="tryon_dataset",
                        **GPU)

