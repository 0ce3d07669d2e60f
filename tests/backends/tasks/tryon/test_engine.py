"""MF-VITON's data engine on the CatVTON miniature: triples on new backgrounds, a manifest, skips with reasons."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backends.core.errors import InvalidInput
from backends.core.imaging import read_recipe
from backends.models.cache import ModelCache
from backends.tasks.tryon.types import ENGINE_KEY, DataEngineRequest
from tests.backends.tasks.tryon.common import GARMENTS, PHOTOS, SIZE


def request(out: Path, **fields) -> DataEngineRequest:
    defaults = {"persons": [str(PHOTOS / "hagrid_four_06aa70cc.jpg"), str(PHOTOS / "hagrid_four_077fa4bf.jpg")],
                "garments": [str(GARMENTS / "tshirt.png")], "backgrounds": [Image.new("RGB", (64, 48), (0, 160, 0))],
                "out_dir": str(out), "steps": 1, "seed": 9, **SIZE}
    return DataEngineRequest(**{**defaults, **fields})


def test_triples_on_new_backgrounds_with_a_manifest(cache: ModelCache, tmp_path: Path) -> None:
    out = tmp_path / "dataset"
    blank = Image.new("RGB", (300, 400), "white")  # nobody in it: skipped, said
    result = cache.run(ENGINE_KEY, request(out, persons=[*request(out).persons, blank]))
    assert [r["id"] for r in result.rows] == ["00000", "00001"] and len(result.skipped) == 1
    assert "no person found" in result.skipped[0]["reason"]
    lines = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert lines == result.rows and lines[0]["seed"] == 9 and lines[1]["seed"] == 10
    for row in lines:
        for field in ("person", "garment", "result", "mask"):
            assert (out / row[field]).is_file()
        assert row["model"] == ENGINE_KEY and row["source_person"].startswith("hagrid_")
    person = np.asarray(Image.open(out / "persons" / "00000.png").convert("RGB"), np.int16)
    corner = person[:10, :10].reshape(-1, 3).mean(axis=0)
    assert corner[1] > 120 and corner[0] < 60  # the new (green) background replaced the room
    assert read_recipe(out / "results" / "00000.png")["extra"]["mask"] == "automatic (mediapipe)"
    readme = (out / "README.md").read_text()
    assert "not part of the studio" in readme and "cc-by-nc-sa-4.0" in readme and "Skipped 1" in readme


def test_engine_inputs_are_checked(cache: ModelCache, tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("x")
    cases = [
        (request(tmp_path / "full"), "out_dir: .* exists and is not an empty folder"),
        (request(tmp_path / "a", pairs="zip"), "pairs: zip pairs person i with garment i: 2 persons but 1"),
        (request(tmp_path / "b", pairs="cross"), "pairs: 'cross' is not one of all, zip"),
        (request(tmp_path / "c", backgrounds=[]), "backgrounds: give at least one image"),
        (request(tmp_path / "d", category="hat"), "category: 'hat' is not one of"),
        (request(tmp_path / "e", width=100), "width: 100 is outside"),
    ]
    for bad, message in cases:
        with pytest.raises(InvalidInput, match=message):
            cache.run(ENGINE_KEY, bad)
