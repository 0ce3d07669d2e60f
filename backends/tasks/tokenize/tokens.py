"""Tokens, the value every tokenizer returns, and what the weight-free codecs share: validated images, patches,
padding, fingerprints of fits, and pictures of tokens.

Images are float32 HxWx3 arrays in [0, 1] (uint8 arrays and PIL images are converted; see
``backends.vision.metrics.to_float_image``). Any size is accepted: images are reflect-padded to a multiple of the
patch for encoding and decoded images are cropped back; the tokens record both sizes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from PIL import Image

from backends.core.errors import InvalidInput
from backends.core.validation import check_number
from backends.vision.metrics import to_float_image

MAX_PIXELS = 4096 * 4096  # one 512x512 image is the design point; this bounds memory (patches are copied as floats)
MAX_PATCH = 64
RGB_TO_YCBCR = ((0.299, 0.587, 0.114), (-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312))  # JPEG (JFIF)


# --------------------------------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)  # eq=False: comparing numpy arrays field by field has no single truth value
class Tokens:
    """An encoded image.

    Attributes:
        kind: ``"continuous"`` (PCA coefficients) or ``"discrete"`` (VQ codes, quantised DCT levels).
        data: PCA: (K, P) float16, row k = component k's coefficient in each of the P patches (row-major grid);
            VQ: (gh, gw) int32 codes; DCT: (3, T) uint16 quantisation levels per YCbCr channel, the first T
            coefficients in spectral-selection order (zigzag position by position, each over all blocks). Read-only.
        count: number of tokens: PCA K components; VQ gh*gw codes; DCT 3*T kept coefficients (T = kept per block x
            blocks when every block keeps the same number).
        bits: size in bits as stored (see the module docstring for what is counted).
        grid: patch or block grid (gh, gw).
        image_size: the original (h, w); decoding crops back to it.
        ordered: whether prefixes are meaningful (coarse to fine): True for PCA and DCT, False for VQ.
        padded_size: the reflect-padded (h, w) that was encoded, a multiple of the patch size.
        codec: ``"pca"``, ``"vq"`` or ``"dct"``.
        params: codec details (patch size, fit fingerprint, quantiser side information...), read-only.
    """

    kind: str
    data: np.ndarray
    count: int
    bits: int
    grid: tuple[int, int]
    image_size: tuple[int, int]
    ordered: bool
    padded_size: tuple[int, int] = (0, 0)
    codec: str = ""
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if self.kind not in ("continuous", "discrete"):
            raise InvalidInput("kind", f"expected 'continuous' or 'discrete', got {self.kind!r}")
        view = np.asarray(self.data).view()
        view.flags.writeable = False  # tokens are values: perturb() and truncate() return new ones
        object.__setattr__(self, "data", view)
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def bits_per_pixel(self) -> float:
        """Stored bits per pixel of the original image."""
        return self.bits / float(self.image_size[0] * self.image_size[1])


# --------------------------------------------------------------------------------------------------------------------
# Shared helpers: validation, padding, patches
# --------------------------------------------------------------------------------------------------------------------
def prepare_image(image: Any, field_name: str = "image") -> np.ndarray:
    """A float32 HxWx3 image in [0, 1] (tiny overshoots clipped), within the size limit."""
    array = to_float_image(image, field_name)
    h, w = array.shape[:2]
    if h * w > MAX_PIXELS:
        raise InvalidInput(field_name, f"{w}x{h} has more than {MAX_PIXELS} pixels; downscale it first")
    return np.clip(array.astype(np.float32, copy=False), 0.0, 1.0)


def fit_images(images: Any) -> list[np.ndarray]:
    """One image, a list of images or an (N, H, W, 3) batch, each validated."""
    if isinstance(images, np.ndarray) and images.ndim == 4:
        images = list(images)
    elif isinstance(images, np.ndarray | Image.Image):
        images = [images]
    if not isinstance(images, Sequence) or isinstance(images, str) or len(images) == 0:
        raise InvalidInput("images", "expected an image or a non-empty list of images")
    return [prepare_image(image, f"images[{i}]") for i, image in enumerate(images)]


def split(image: Any, patch: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """The validated image, its padded copy and the patch grid."""
    img = prepare_image(image)
    padded = pad(img, patch)
    return img, padded, (padded.shape[0] // patch, padded.shape[1] // patch)


def fit_patches(images: Any, patch: int) -> np.ndarray:
    """All patches of the fitting images, stacked: (N, p*p*3) float32."""
    return np.concatenate([patchify(pad(img, patch), patch) for img in fit_images(images)])


def check_patch(patch: Any, field_name: str = "patch") -> int:
    return int(check_number(patch, field_name, minimum=1, maximum=MAX_PATCH, integer=True))


def pad(image: np.ndarray, patch: int) -> np.ndarray:
    """Reflect-pad the bottom and right edges to a multiple of ``patch`` (reflection avoids a hard edge to code)."""
    h, w = image.shape[:2]
    pad_h, pad_w = -h % patch, -w % patch
    if pad_h == 0 and pad_w == 0:
        return image
    return np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="reflect")


def patchify(padded: np.ndarray, patch: int) -> np.ndarray:
    """(gh*p, gw*p, 3) -> (gh*gw, p*p*3), patches in row-major grid order."""
    gh, gw = padded.shape[0] // patch, padded.shape[1] // patch
    return padded.reshape(gh, patch, gw, patch, 3).transpose(0, 2, 1, 3, 4).reshape(gh * gw, patch * patch * 3)


def unpatchify(patches: np.ndarray, grid: tuple[int, int], patch: int) -> np.ndarray:
    """(gh*gw, p*p*3) -> (gh*p, gw*p, 3), the inverse of ``_patchify``."""
    gh, gw = grid
    return patches.reshape(gh, gw, patch, patch, 3).transpose(0, 2, 1, 3, 4).reshape(gh * patch, gw * patch, 3)


def finish(padded: np.ndarray, tokens: Tokens) -> np.ndarray:
    """Crop back to the original size and clip to [0, 1] as float32."""
    h, w = tokens.image_size
    return np.clip(padded[:h, :w], 0.0, 1.0).astype(np.float32)


def fingerprint(*arrays: np.ndarray) -> str:
    """A short hash of a fitted model, stamped into tokens so a different fit cannot silently decode them."""
    digest = hashlib.blake2b(digest_size=8)
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def check_tokens(tokens: Any, codec: str, fit: str | None = None) -> Tokens:
    if not isinstance(tokens, Tokens):
        raise InvalidInput("tokens", f"expected Tokens, got {type(tokens).__name__}")
    if tokens.codec != codec:
        raise InvalidInput("tokens", f"were made by the {tokens.codec!r} codec; this is the {codec!r} codec")
    if fit is not None and tokens.params.get("fit") != fit:
        raise InvalidInput("tokens", "were encoded by a different fit of this tokenizer; encode again")
    return tokens




# --------------------------------------------------------------------------------------------------------------------
# Visualisation helpers
# --------------------------------------------------------------------------------------------------------------------
def code_palette(size: int) -> np.ndarray:
    """A fixed palette of distinct colours for code indices 0..size-1 (golden-ratio hue steps), (size, 3) uint8."""
    index = np.arange(size)
    hue = (index * 0.618033988749895) % 1.0
    saturation = 0.5 + 0.45 * ((index * 0.7548776662) % 1.0)
    value = 0.6 + 0.4 * ((index * 0.5698402910) % 1.0)
    sector = np.floor(hue * 6.0)
    frac = hue * 6.0 - sector
    p, q, t = value * (1 - saturation), value * (1 - frac * saturation), value * (1 - (1 - frac) * saturation)
    choices = np.stack([
        np.stack([value, t, p], 1), np.stack([q, value, p], 1), np.stack([p, value, t], 1),
        np.stack([p, q, value], 1), np.stack([t, p, value], 1), np.stack([value, p, q], 1),
    ])  # (6, size, 3): HSV -> RGB for each hue sector
    rgb = choices[sector.astype(np.int64) % 6, index]
    return np.rint(rgb * 255).astype(np.uint8)


def token_map(tokens: Tokens) -> np.ndarray:
    """An HxWx3 uint8 picture of the tokens at the original image size, one flat colour per patch.

    VQ: each code's colour from ``code_palette``; PCA: the first three components of each patch as RGB, each
    stretched between its 1st and 99th percentile; DCT: each block's DC terms, i.e. its mean colour.
    """
    if not isinstance(tokens, Tokens) or tokens.codec not in ("pca", "vq", "dct"):
        raise InvalidInput("tokens", "expected tokens from PCAPatchTokenizer, VQPatchTokenizer or DCTCodec")
    gh, gw = tokens.grid
    if tokens.codec == "vq":
        grid = code_palette(int(tokens.params["codebook_size"]))[tokens.data]
    elif tokens.codec == "pca":
        first = tokens.data[:3].astype(np.float64)
        first = np.concatenate([first, np.repeat(first[-1:], 3 - len(first), axis=0)])  # fewer than 3 components
        low, high = np.percentile(first, 1, axis=1), np.percentile(first, 99, axis=1)
        scaled = (first - low[:, None]) / np.maximum(high - low, 1e-12)[:, None]
        grid = np.rint(np.clip(scaled, 0, 1) * 255).astype(np.uint8).T.reshape(gh, gw, 3)
    else:
        blocks, b = gh * gw, int(tokens.params["block"])
        dc = np.zeros((3, blocks))
        kept = min(blocks, tokens.data.shape[1])
        low, step = np.asarray(tokens.params["low"])[:, :1], np.asarray(tokens.params["step"])[:, :1]
        dc[:, :kept] = low + tokens.data[:, :kept] * step.astype(np.float64)
        rgb = (dc.T / b) @ np.linalg.inv(np.asarray(RGB_TO_YCBCR)).T  # orthonormal DC = b * block mean
        grid = np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint8).reshape(gh, gw, 3)
    cell = tokens.padded_size[0] // gh
    full = np.repeat(np.repeat(grid, cell, axis=0), cell, axis=1)
    return np.ascontiguousarray(full[: tokens.image_size[0], : tokens.image_size[1]])


