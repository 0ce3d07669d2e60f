"""Hand-repair tab handlers without a browser: both methods, the confidence table, and batch repair with a CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backends.core.errors import InvalidInput
from backends.core.run import RunControl
from backends.models.cache import ModelCache
from backends.models.executors import LocalExecutor
from tabs.common import AppContext, make_i18n
from tabs.hand_repair import confidence_rows, editor_mask, repair

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "photos"


@pytest.fixture(scope="module")
def ctx(tiny_settings, registry) -> AppContext:
    return AppContext(tiny_settings, registry, LocalExecutor(ModelCache(registry, tiny_settings)), make_i18n())


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
