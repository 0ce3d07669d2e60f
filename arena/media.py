"""Images in the labeling store: content-addressed, metadata-free PNGs; served anonymised; degraded for gold checks."""

from __future__ import annotations

import hashlib
import io
import random
import secrets
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter


class ImageStore:
    """A folder of PNGs named by the SHA-256 of their bytes (identical images are stored once).

    Args:
        folder: where the files live.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, image: Image.Image) -> str:
        """Save as a metadata-free RGB PNG; returns the file name."""
        buffer = io.BytesIO()
        Image.fromarray(np.asarray(image.convert("RGB"))).save(buffer, format="PNG")
        data = buffer.getvalue()
        name = hashlib.sha256(data).hexdigest() + ".png"
        path = self.folder / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{secrets.token_hex(4)}.part")
            tmp.write_bytes(data)
            tmp.replace(path)  # atomic: a half-written image is never served
        return name

    def open(self, name: str) -> Image.Image:
        """The stored image as RGB."""
        with Image.open(self.folder / name) as image:
            return image.convert("RGB")


def anonymise(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """A fresh RGB image of exactly ``size``, without metadata, with an invisible per-serve nonce.

    The nonce (the least significant bit of a few random pixels flipped) makes the served bytes, and so any content
    hash in a URL, differ on every serve: an annotator cannot recognise a model's image from an earlier reveal.
    """
    pixels = np.array(image.convert("RGB").resize(size, Image.Resampling.LANCZOS), dtype=np.uint8)
    rng = np.random.default_rng(secrets.randbits(64))
    ys = rng.integers(0, pixels.shape[0], 16)
    xs = rng.integers(0, pixels.shape[1], 16)
    pixels[ys, xs, rng.integers(0, 3, 16)] ^= 1
    return Image.fromarray(pixels)


def degrade(image: Image.Image, rng: random.Random) -> Image.Image:
    """A clearly worse copy for gold checks: heavy blur, blocky JPEG and noise."""
    radius = max(image.size) / 50
    blurred = image.filter(ImageFilter.GaussianBlur(radius))
    buffer = io.BytesIO()
    blurred.save(buffer, format="JPEG", quality=8)
    noisy = np.asarray(Image.open(buffer).convert("RGB"), dtype=np.int16)
    noise = np.random.default_rng(rng.getrandbits(32)).integers(-25, 26, noisy.shape)
    return Image.fromarray(np.clip(noisy + noise, 0, 255).astype(np.uint8))


def common_size(a: Image.Image, b: Image.Image, longest: int) -> tuple[int, int]:
    """One size for both sides: the smaller of the two, capped at ``longest`` on the long side."""
    width, height = min(a.width, b.width), min(a.height, b.height)
    scale = min(1.0, longest / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


