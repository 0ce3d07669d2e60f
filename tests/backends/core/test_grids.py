"""Labelled grids: one cell per (row, column), headers above and at the left, blanks for missing cells."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from backends.core.grids import xy_grid


def test_cells_land_in_their_row_and_column_under_the_headers() -> None:
    colours = [[(255, 0, 0), (0, 255, 0), (0, 0, 255)], [(255, 255, 0), (0, 255, 255), None]]
    cells = [[Image.new("RGB", (64, 64), c) if c else None for c in row] for row in colours]
    columns = ["Kolors", "CogView4-6B", "一个很长的中文模型名字"]
    grid = xy_grid(cells, ["seed 1", "seed 2"], columns, title="提示词", cell=64)
    pixels = np.asarray(grid)
    height, width = pixels.shape[:2]
    left, top = width - 3 * 64, height - 2 * 64
    assert left > 0 and top > 0, "room for row and column headers"
    for r, row in enumerate(colours):
        for c, colour in enumerate(row):
            centre = pixels[top + r * 64 + 32, left + c * 64 + 32]
            assert tuple(centre) == (colour or (255, 255, 255))
    header = pixels[:top, left:]
    assert (header < 128).any(), "column headers are drawn"


def test_labels_must_match_the_cells() -> None:
    with pytest.raises(ValueError):
        xy_grid([[Image.new("RGB", (8, 8))]], ["a", "b"], ["x"])
