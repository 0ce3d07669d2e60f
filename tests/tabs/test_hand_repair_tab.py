"""Hand-repair tab handlers without a browser: both methods, the confidence table, and batch repair with a CSV."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backends.base import InvalidInput, RunControl
from backends.cache import ModelCache
from tabs.common import AppContext, make_i18n
from tabs.hand_repair import batch_repair, confidence_rows, editor_mask, repair

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "photos"


@pytest.fixture(scope="module")
def ctx(tiny_settings, registry) -> AppContext:
    return AppContext(tiny_settings, registry, ModelCache(registry, tiny_settings), make_i18n())


def test_both_methods_with_confidences_before_and_after(ctx: AppContext) -> None:
    outcomes = repair(ctx, PHOTOS / "hagrid_call_0413d5c5.jpg", ["inpaint", "mghand"], "inpaint/sd15", RunControl(),
                      seed=1, steps=4)
    assert [o.method for o in outcomes] == ["inpaint", "mghand"]
    rows = confidence_rows(outcomes)
    assert rows[0][1] == outcomes[0].before["count"] >= 1 and "→" in rows[0][5]
    assert outcomes[1].strip is not None and outcomes[0].path.is_file()


def test_repair_checks_its_arguments(ctx: AppContext) -> None:
    with pytest.raises(InvalidInput, match="method: pick at least one"):
        repair(ctx, PHOTOS / "hagrid_call_0413d5c5.jpg", [], "inpaint/sd15", RunControl())
    with pytest.raises(InvalidInput, match="model: t2i/kolors is a t2i model"):
        repair(ctx, PHOTOS / "hagrid_call_0413d5c5.jpg", ["inpaint"], "t2i/kolors", RunControl())


def test_editor_mask_is_scaled_to_the_image_and_rejects_other_shapes() -> None:
    layer = np.zeros((50, 100, 4), np.uint8)
    layer[10:20, 30:40, 3] = 255
    mask = editor_mask({"layers": [Image.fromarray(layer, "RGBA")]}, (200, 100))
    assert mask.shape == (100, 200) and mask[25, 70] and not mask[0, 0]
    assert editor_mask({"layers": [Image.fromarray(np.zeros((50, 100, 4), np.uint8), "RGBA")]}, (200, 100)) is None
    with pytest.raises(InvalidInput, match="mask: was drawn on a 100x50 canvas"):
        editor_mask({"layers": [Image.fromarray(layer, "RGBA")]}, (100, 100))


def test_batch_repair_writes_a_csv_of_confidences(ctx: AppContext, tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    for name in ("hagrid_call_0413d5c5.jpg", "hagrid_four_06aa70cc.jpg"):
        shutil.copyfile(PHOTOS / name, folder / name)
    Image.new("RGB", (128, 128), "gray").save(folder / "no_hand.png")
    seen: list[float] = []
    table, summary = batch_repair(ctx, folder, "mghand", "inpaint/sd15",
                                  RunControl(progress=lambda f, d: seen.append(f)), seed=0, steps=3)
    rows = list(csv.reader(table.open()))
    assert rows[0] == ["image", "hand", "confidence_before", "confidence_after", "note"]
    hands = [r for r in rows[1:] if r[1] != "" and r[0] != "MEAN"]
    assert len(hands) >= 2 and all(0 < float(r[2]) <= 1 for r in hands)
    assert any("No hand found" in r[4] for r in rows)
    assert rows[-1][0] == "MEAN" and "3 images" in summary and seen[-1] == 1.0


def test_batch_repair_of_a_pool_returns_a_pool(ctx: AppContext, tmp_path: Path) -> None:
    pool = tmp_path / "pool"
    (pool / "model_a").mkdir(parents=True)
    shutil.copyfile(PHOTOS / "hagrid_call_0413d5c5.jpg", pool / "model_a" / "it0.jpg")
    (pool / "prompts.jsonl").write_text(json.dumps({"item_id": "it0", "prompt": "a person waving"}) + "\n")
    table, _ = batch_repair(ctx, pool, "inpaint", "inpaint/sd15", RunControl(), seed=0, steps=3)
    out = table.parent
    assert (out / "prompts.jsonl").is_file() and (out / "model_a" / "it0.jpg").is_file()
    assert (out / "model_a__inpaint" / "it0.png").is_file()
