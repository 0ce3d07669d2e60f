"""Labelled image grids: rows and columns with their headers, as A1111's X/Y plot and seed grid draw them.

One image, readable on its own when shared: a title line, the column headers above, the row headers at the left, and
every cell resized to one size. Missing cells (``None``) stay blank. Text is drawn with a font that has Chinese when
the system has one (Noto Sans CJK), so prompts and model names in any of the studio's languages stay legible.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from backends.core.imaging import to_rgb

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


def font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """A font of ``size`` pixels: the first of ``FONT_CANDIDATES`` present, else Pillow's built-in one."""
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size=size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, face: ImageFont.ImageFont, width: int) -> list[str]:
    """``text`` broken into lines no wider than ``width`` (by characters, so Chinese without spaces wraps too)."""
    lines: list[str] = []
    for paragraph in str(text).splitlines() or [""]:
        line = ""
        for char in paragraph:
            if draw.textlength(line + char, font=face) > width and line:
                lines.append(line)
                line = ""
            line += char
        lines.append(line)
    return lines


def xy_grid(cells: Sequence[Sequence[Image.Image | None]], row_labels: Sequence[str], column_labels: Sequence[str],
            title: str = "", cell: int = 256) -> Image.Image:
    """A grid of ``cells[row][column]`` with headers.

    Args:
        cells: rows of images (``None`` for a missing one); every row as long as ``column_labels``.
        row_labels: one header per row (shown at the left; empty strings for none).
        column_labels: one header per column (shown above).
        title: a line above everything (e.g. the prompt), wrapped to the grid's width.
        cell: the longer side of every cell, in pixels.

    Returns:
        The grid as an RGB image.

    Raises:
        ValueError: the labels do not match the cells.
    """
    if len(cells) != len(row_labels) or any(len(row) != len(column_labels) for row in cells) or not cells:
        raise ValueError("xy_grid needs one row label per row and one column label per column, and one cell at least")
    sample = next((im for row in cells for im in row if im is not None), None)
    aspect = sample.width / sample.height if sample is not None else 1.0
    cell_w, cell_h = (cell, max(1, round(cell / aspect))) if aspect >= 1 else (max(1, round(cell * aspect)), cell)
    size = max(14, cell // 11)
    face = font(size)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    gap = max(4, size // 2)
    left = 0 if not any(row_labels) else min(cell, max(int(probe.textlength(t, font=face)) for t in row_labels)
                                               + 2 * gap)
    header_lines = [_wrap(probe, t, face, cell_w - 2 * gap) for t in column_labels]
    top = (max(len(lines) for lines in header_lines) * (size + 4) + 2 * gap) if any(column_labels) else 0
    width = left + len(column_labels) * cell_w
    title_lines = _wrap(probe, title, face, width - 2 * gap) if title else []
    title_h = len(title_lines) * (size + 4) + 2 * gap if title_lines else 0
    grid = Image.new("RGB", (width, title_h + top + len(cells) * cell_h), "white")
    draw = ImageDraw.Draw(grid)
    for k, line in enumerate(title_lines):
        draw.text((gap, gap + k * (size + 4)), line, fill="black", font=face)
    for c, lines in enumerate(header_lines):
        for k, line in enumerate(lines):
            draw.text((left + c * cell_w + gap, title_h + gap + k * (size + 4)), line, fill="black", font=face)
    for r, row in enumerate(cells):
        y = title_h + top + r * cell_h
        for k, line in enumerate(_wrap(probe, row_labels[r], face, max(left - 2 * gap, 1))[:6]):
            draw.text((gap, y + gap + k * (size + 4)), line, fill="black", font=face)
        for c, image in enumerate(row):
            if image is not None:
                tile = to_rgb(image).resize((cell_w, cell_h), Image.Resampling.LANCZOS)
                grid.paste(tile, (left + c * cell_w, y))
    return grid

