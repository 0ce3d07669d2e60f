"""MF-VITON's data engine, first stage, on CatVTON: (person, garment, result) triples on new backgrounds.

MF-VITON (arXiv:2503.08650) trains its mask-free model on data a mask-based model makes: persons are dressed in
other garments by the mask-based model, on varied backgrounds, and the mask-free model is then fine-tuned on those
triples (its own outputs later fed back as inputs). No checkpoint or code was released. This backend makes the
dataset half: each person is cut out with mediapipe segmentation (Pose's mask completed by selfie segmentation),
composited onto a background from the user's set, and dressed by the mask-based model with the automatic mask.

The folder it writes::

    persons/<id>.png   the composited person as the model saw it (output size)
    garments/<id>.png  the garment fitted on white
    results/<id>.png   the person wearing the garment (recipe in the PNG)
    masks/<id>.png     the automatic mask used
    manifest.jsonl     one JSON object per triple (paths, sources, seed, category, model, warnings)
    README.md          what the dataset is, how it was made, its license

Training is out of scope: the manifest is the hand-over to a fine-tuning script.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from backends.core.errors import InvalidInput
from backends.core.imaging import load_image, save_png
from backends.core.run import RunControl
from backends.core.validation import check_number
from backends.tasks.tryon.catvton import CatVTON
from backends.tasks.tryon.inputs import load_person
from backends.tasks.tryon.types import DataEngineRequest, DataEngineResult, TryOnRequest
from backends.vision.agnostic import silhouette
from backends.vision.detectors import as_rgb_array

MAX_TRIPLES = 10_000
PAIRINGS = ("all", "zip")


class DataEngine(CatVTON):
    """The mask-based model (CatVTON, automatic masks) run over persons x garments on new backgrounds.

    Loads exactly what ``CatVTON`` loads; see the module docstring for what it writes.
    """

    def check_inputs(self, request: DataEngineRequest) -> None:  # type: ignore[override]
        """Validate the lists, the pairing, the output folder and the generation settings."""
        if not isinstance(request, DataEngineRequest):
            raise InvalidInput("request", f"{self.spec.key} takes a DataEngineRequest, not {type(request).__name__}")
        for name in ("persons", "garments", "backgrounds"):
            value = getattr(request, name)
            if not isinstance(value, list | tuple) or not value:
                raise InvalidInput(name, "give at least one image")
        if request.pairs not in PAIRINGS:
            raise InvalidInput("pairs", f"{request.pairs!r} is not one of {', '.join(PAIRINGS)}")
        if request.pairs == "zip" and len(request.persons) != len(request.garments):
            raise InvalidInput("pairs", f"zip pairs person i with garment i: {len(request.persons)} persons but "
                                        f"{len(request.garments)} garments")
        count = len(self.plan(request))
        if count > MAX_TRIPLES:
            raise InvalidInput("persons", f"{count} triples; make at most {MAX_TRIPLES:,} per run")
        check_number(request.seed, "seed", minimum=0, maximum=2**31 - 1 - count, integer=True)
        out = Path(str(request.out_dir or "")).expanduser()
        if not str(request.out_dir or "").strip():
            raise InvalidInput("out_dir", "name the dataset folder to write")
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise InvalidInput("out_dir", f"{str(out)!r} exists and is not an empty folder; pick a new one")
        self.check_settings(request.category, request.steps, request.guidance, request.width, request.height)

    @staticmethod
    def plan(request: DataEngineRequest) -> list[tuple[int, int]]:
        """(person index, garment index) per triple."""
        if request.pairs == "zip":
            return [(i, i) for i in range(len(request.persons))]
        return [(p, g) for p in range(len(request.persons)) for g in range(len(request.garments))]

    def __call__(self, request: DataEngineRequest, control: RunControl | None = None) -> DataEngineResult:  # type: ignore[override]
        """Make every triple; a pair whose person cannot be used is skipped with the reason (the run goes on).

        Raises:
            InvalidInput: a bad field.
            Cancelled: Stop was pressed (the triples written so far stay, with their manifest).
        """
        control = control or RunControl()
        # 1. validate
        self.check_inputs(request)
        plan = self.plan(request)
        out = Path(request.out_dir).expanduser()
        for sub in ("persons", "garments", "results", "masks"):
            (out / sub).mkdir(parents=True, exist_ok=True)
        backgrounds = [load_image(b, field=f"backgrounds[{i}]") for i, b in enumerate(request.backgrounds)]
        rows: list[dict[str, Any]] = []
        skipped: list[dict[str, Any]] = []
        manifest = out / "manifest.jsonl"
        try:
            for index, (p, g) in enumerate(plan):
                control.raise_if_stopped()
                item = f"{index:05d}"
                # 2. the person cut out and composited onto the next background
                background = index % len(backgrounds)
                try:
                    person = composite(self, request.persons[p], backgrounds[background])
                    # 3. the mask-based model dresses it (automatic mask)
                    result = self.tryon(TryOnRequest(
                        person=person, garment=request.garments[g], category=request.category,
                        seed=request.seed + index, steps=request.steps, guidance=request.guidance,
                        width=request.width, height=request.height), control.part(index, len(plan)))
                except InvalidInput as exc:
                    skipped.append({"id": item, "person": _name(request.persons[p], p),
                                    "garment": _name(request.garments[g], g), "reason": str(exc)})
                    continue
                # 4. write the triple and its manifest line
                result.person.save(out / "persons" / f"{item}.png")
                result.garment.save(out / "garments" / f"{item}.png")
                save_png(result.image, result.recipe, out / "results" / f"{item}.png")
                Image.fromarray(result.mask.astype(np.uint8) * 255).save(out / "masks" / f"{item}.png")
                rows.append({"id": item, "person": f"persons/{item}.png", "garment": f"garments/{item}.png",
                             "result": f"results/{item}.png", "mask": f"masks/{item}.png",
                             "source_person": _name(request.persons[p], p),
                             "source_garment": _name(request.garments[g], g),
                             "background": _name(request.backgrounds[background], background),
                             "category": request.category, "seed": result.recipe.seed, "model": self.spec.key,
                             "warnings": result.warnings})
        finally:
            manifest.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
            (out / "README.md").write_text(dataset_card(self.spec.key, self.spec.license, request, rows, skipped),
                                           "utf-8")
        return DataEngineResult(str(out), str(manifest), rows, skipped)


def composite(engine: DataEngine, person: Any, background: Image.Image, feather: float = 0.004) -> Image.Image:
    """The person cut out by segmentation and placed on ``background`` (scaled to cover the photo, centred).

    Raises:
        InvalidInput: nobody found in the photo.
    """
    photo = load_person(person)
    pixels = as_rgb_array(photo)
    _, mask = silhouette(engine.detectors, pixels)
    radius = max(1.0, feather * max(photo.size))
    alpha = Image.fromarray(mask.astype(np.uint8) * 255).filter(ImageFilter.GaussianBlur(radius))
    scale = max(photo.width / background.width, photo.height / background.height)
    size = (max(photo.width, round(background.width * scale)), max(photo.height, round(background.height * scale)))
    cover = background.resize(size, Image.Resampling.LANCZOS)
    left, top = (size[0] - photo.width) // 2, (size[1] - photo.height) // 2
    cover = cover.crop((left, top, left + photo.width, top + photo.height))
    return Image.composite(photo, cover, alpha)


def _name(source: Any, index: int) -> str:
    return Path(source).name if isinstance(source, str | Path) else f"#{index}"


def dataset_card(model: str, license_: str, request: DataEngineRequest, rows: list[dict[str, Any]],
                 skipped: list[dict[str, Any]]) -> str:
    """The dataset's README: what it holds, how it was made, what it may be used for."""
    lines = [
        "# Try-on triples (MF-VITON data engine, stage 1)", "",
        f"Made {time.strftime('%Y-%m-%d %H:%M')} by the studio's `{model}` (CatVTON, automatic mediapipe masks): "
        f"{len(rows)} (person, garment, result) triples, category `{request.category}`, pairing `{request.pairs}`, "
        f"seeds {request.seed}..{request.seed + max(len(rows) + len(skipped) - 1, 0)}.", "",
        "Each person was cut out by segmentation and composited onto a background of the set, then dressed by the "
        "mask-based model. `manifest.jsonl` lists the files of every triple. MF-VITON's second stage (fine-tuning a "
        "mask-free model on these triples, feeding its outputs back as inputs) is not part of the studio.", "",
        f"License: the results derive from CatVTON's weights ({license_}); the person photos keep their own "
        "licenses.",
    ]
    if skipped:
        lines += ["", f"Skipped {len(skipped)} pair(s):", *[f"- {s['id']}: {s['reason']}" for s in skipped]]
    return "\n".join(lines) + "\n"
