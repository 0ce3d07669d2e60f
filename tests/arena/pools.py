"""Builders for labeling tests: a pool folder on disk with one colour per model."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw

ADMIN = "s3cret-admin"
COLORS = {"alpha": (220, 40, 40), "beta": (40, 160, 40), "gamma": (40, 40, 220)}


def make_pool(root: Path, models=("alpha", "beta", "gamma"), items: int = 6, with_input: bool = False) -> Path:
    """A pool folder: prompts.jsonl and <model>/<item>.png, each model painting its own colour."""
    root.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(items):
        entry = {"item_id": f"it{i}", "prompt": f"一只红色的猫 number {i}" if i % 2 else f"a red cat number {i}"}
        if with_input:
            (root / "inputs").mkdir(exist_ok=True)
            Image.new("RGB", (48, 48), (128, 128, 128)).save(root / "inputs" / f"it{i}.png")
            entry["input_image"] = f"inputs/it{i}.png"
        lines.append(json.dumps(entry, ensure_ascii=False))
        for model in models:
            (root / model).mkdir(exist_ok=True)
            image = Image.new("RGB", (64, 48), COLORS.get(model, (90, 90, 90)))
            ImageDraw.Draw(image).text((4, 4), str(i), fill="white")
            info = None
            if model == "alpha":  # outputs often carry their model in PNG text: it must never reach annotators
                from PIL import PngImagePlugin

                info = PngImagePlugin.PngInfo()
                info.add_text("parameters", "Model: alpha, Seed: 1")
            image.save(root / model / f"it{i}.png", pnginfo=info)
    (root / "prompts.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    return root
