"""Crop boxes around hands, masks cropped to them, and the feathered paste back into the image."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from backends.vision import hands as hand_masks

Box = tuple[int, int, int, int]  # (x0, y0, x1, y1), pixels, x1 and y1 exclusive


def pad_box(box: Box, padding: float, size: tuple[int, int]) -> Box:
    """``box`` grown by ``padding`` times its width and height on each side, clipped to the image."""
    x0, y0, x1, y1 = box
    pad_x, pad_y = (x1 - x0) * padding, (y1 - y0) * padding
    return (max(0, math.floor(x0 - pad_x)), max(0, math.floor(y0 - pad_y)), min(size[0], math.ceil(x1 + pad_x)),
            min(size[1], math.ceil(y1 + pad_y)))


def square_box(box: Box, padding: float, size: tuple[int, int]) -> Box:
    """A square crop around the padded box, shifted (not shrunk) to stay inside the image when it can."""
    x0, y0, x1, y1 = pad_box(box, padding, size)
    side = min(max(x1 - x0, y1 - y0, 32), size[0], size[1])
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left = int(min(max(0, round(cx - side / 2)), size[0] - side))
    top = int(min(max(0, round(cy - side / 2)), size[1] - side))
    return left, top, left + side, top + side


def crop_mask(mask: np.ndarray, box: Box, resolution: int) -> np.ndarray:
    """The part of an image-sized mask inside ``box``, resized to the model's square resolution."""
    x0, y0, x1, y1 = box
    region = Image.fromarray(mask[y0:y1, x0:x1].astype(np.uint8) * 255)
    return np.asarray(region.resize((resolution, resolution), Image.Resampling.NEAREST)) > 127


def paste(image: Image.Image, repaired: Image.Image, box: Box, loose: np.ndarray, feather_px: float) -> Image.Image:
    """Blend the repaired crop back under a feathered loose mask; outside it the input's pixels stay exact."""
    x0, y0, x1, y1 = box
    patch = np.asarray(repaired.resize((x1 - x0, y1 - y0), Image.Resampling.LANCZOS), dtype=np.float32)
    alpha = (hand_masks.feather(loose, feather_px) if feather_px >= 0.5 else loose.astype(np.float32))
    alpha = alpha[y0:y1, x0:x1, None]
    out = np.asarray(image, dtype=np.float32).copy()
    out[y0:y1, x0:x1] = alpha * patch + (1 - alpha) * out[y0:y1, x0:x1]
    return Image.fromarray(np.clip(out, 0, 255).round().astype(np.uint8))
