"""The overlay of the face tab: every face's box and number, and for each measured face the landmarks behind each
number (``backends.vision.face``): the mesh, the eye-aspect-ratio distances, the mouth-ratio pairs, the smile's
mouth corners, the irises and their offset, and the head axes of the fitted canonical face."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from backends.vision.detectors import ImageLike, as_rgb_array
from backends.vision.face import (
    EAR_OPEN,
    EAR_POINTS,
    EYE_CORNERS,
    IRIS,
    MAR_CORNERS,
    MAR_OPEN,
    MAR_PAIRS,
    MOUTH_CORNERS,
    NOSE_TIP,
    FaceMeasures,
)

COLORS = ((80, 220, 120), (255, 170, 0), (90, 170, 255), (255, 90, 200), (200, 200, 60), (0, 210, 210))


def overlay(image: ImageLike, faces: Sequence[FaceMeasures], chosen: int | None = None) -> Image.Image:
    """The image with every face's box and number, and for each measured face the points each number comes from:
    the mesh (grey), the EAR points and their three distances per eye, the inner-lip pairs of the MAR, the mouth
    corners of the smile, the irises and their offset, and the head axes (x red, y green, z blue) from the nose.

    Args:
        image: the analysed image.
        faces: the measured faces.
        chosen: index of the face the answers are about (drawn with a thicker box).
    """
    pixels = as_rgb_array(image).copy()
    for face in faces:
        if face.landmarks is not None:  # the mesh as grey dots, stamped with numpy (hundreds of points per face)
            _dots(pixels, np.asarray(face.landmarks)[:468, :2], max(1, round(face.width / 250)), (170, 170, 170))
    canvas = Image.fromarray(pixels)
    draw = ImageDraw.Draw(canvas)
    for face in faces:
        color = COLORS[(face.index - 1) % len(COLORS)]
        size = max(face.width, 1)
        line = max(1, round(size / 120)) + (1 if face.index == chosen else 0)
        x0, y0, x1, y1 = face.box
        draw.rectangle((x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)), outline=color, width=line)
        _label(draw, (x0, y0), f"#{face.index}", color, _font(max(10, round(size / 9))), line)
        if face.landmarks is not None:
            _evidence(draw, face, np.asarray(face.landmarks, dtype=np.float64), line, max(1.0, size / 250))
    return canvas


def _dots(pixels: np.ndarray, points: np.ndarray, radius: int, color: tuple[int, int, int]) -> None:
    """Paint square dots of ``radius`` at ``points`` (x, y) into ``pixels`` in place, clipped to the image."""
    height, width = pixels.shape[:2]
    centres = np.rint(points).astype(np.int64)
    for dy in range(-radius + 1, radius):
        for dx in range(-radius + 1, radius):
            xs, ys = centres[:, 0] + dx, centres[:, 1] + dy
            keep = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
            pixels[ys[keep], xs[keep]] = color


@functools.lru_cache(maxsize=16)
def _font(size: int) -> Any:
    """The default font at ``size`` (cached: building a FreeType font costs more than drawing with it)."""
    return ImageFont.load_default(size=size)


def _evidence(draw: ImageDraw.ImageDraw, face: FaceMeasures, points: np.ndarray, line: int, dot: float) -> None:
    xy = points[:, :2]

    def seg(a: int, b: int, fill: tuple[int, int, int]) -> None:
        draw.line((tuple(xy[a]), tuple(xy[b])), fill=fill, width=line)

    for side, (p1, p2, p3, p4, p5, p6) in EAR_POINTS.items():
        if side not in face.ear:
            continue
        fill = (60, 230, 90) if face.ear[side] >= EAR_OPEN else (240, 60, 60)
        for a, b in ((p2, p6), (p3, p5), (p1, p4)):
            seg(a, b, fill)
    if face.mar is not None:
        fill = (255, 150, 40) if face.mar >= MAR_OPEN else (255, 220, 80)
        for a, b in (*MAR_PAIRS, MAR_CORNERS):
            seg(a, b, fill)
    if face.smile:
        fill = (255, 80, 200) if face.smiling() else (200, 120, 255)
        for i in MOUTH_CORNERS:
            x, y = xy[i]
            draw.ellipse((x - 2 * dot - line, y - 2 * dot - line, x + 2 * dot + line, y + 2 * dot + line), fill=fill)
    for side in face.gaze.keys() & set(IRIS):
        centre, ring = xy[IRIS[side][0]], xy[list(IRIS[side][1:])]
        radius = float(np.linalg.norm(ring - centre, axis=1).mean())
        draw.ellipse((centre[0] - radius, centre[1] - radius, centre[0] + radius, centre[1] + radius),
                     outline=(0, 220, 255), width=line)
        outer, inner = xy[EYE_CORNERS[side][0]], xy[EYE_CORNERS[side][1]]
        middle = (outer + inner) / 2
        draw.line((tuple(middle), tuple(centre)), fill=(0, 220, 255), width=line)
    if face.pose is not None:
        nose = face.pose.to_head(points[[NOSE_TIP]])[0]
        axes = face.pose.to_image(nose + 4.0 * np.eye(3))
        start = tuple(xy[NOSE_TIP])
        for end, fill in zip(axes, ((240, 60, 60), (60, 220, 60), (60, 120, 255)), strict=True):
            draw.line((start, (float(end[0]), float(end[1]))), fill=fill, width=line + 1)


def _label(draw: ImageDraw.ImageDraw, at: tuple[float, float], text: str, color: tuple[int, int, int],
           font: Any, pad: int) -> None:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x, y = at
    y = y - (bottom - top) - 2 * pad if y - (bottom - top) - 2 * pad >= 0 else y
    draw.rectangle((x, y, x + right - left + 2 * pad, y + bottom - top + 2 * pad), fill=color)
    draw.text((x + pad - left, y + pad - top), text, fill=(0, 0, 0), font=font)
