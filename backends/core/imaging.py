"""All image I/O: validation of uploads, mode conversion, recipes in PNG text chunks, output paths and grids.

Uploads are validated once, here: format, mode (RGBA, CMYK, 16-bit, palette...), EXIF orientation, pixel limits
against decompression bombs and extreme aspect ratios. Every generated image is written as a PNG whose text chunks
carry its recipe twice: an A1111-style ``parameters`` chunk (readable by PNG-Info tools) and a JSON chunk.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps, PngImagePlugin, UnidentifiedImageError

from backends.core.errors import InvalidInput
from backends.core.recipe import Recipe

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")  # what folders of images (pools, batches) may hold
MAX_PIXELS = 40_000_000
MAX_ASPECT = 10.0
MIN_SIDE = 16
PARAMETERS_KEY = "parameters"
RECIPE_KEY = "studio_recipe"


# --------------------------------------------------------------------------------------------------------------------
# Loading and validating uploads
# --------------------------------------------------------------------------------------------------------------------
def load_image(
    source: Any,
    *,
    field: str = "image",
    max_pixels: int = MAX_PIXELS,
    max_aspect: float = MAX_ASPECT,
    min_side: int = MIN_SIDE,
) -> Image.Image:
    """Open and validate an uploaded image and return it as an upright 8-bit RGB ``PIL.Image``.

    Args:
        source: a path, bytes, a ``PIL.Image`` or an ``HxW`` / ``HxWxC`` numpy array.
        field: the form field, for error messages.
        max_pixels: refuse images with more pixels than this (decompression bombs).
        max_aspect: refuse images whose long side exceeds ``max_aspect`` times the short side.
        min_side: refuse images smaller than this on either side.

    Raises:
        InvalidInput: missing, unreadable, too large, too small or too elongated.
    """
    if source is None:
        raise InvalidInput(field, "no image was given")
    image = _open(source, field, max_pixels)
    width, height = image.size
    if width * height > max_pixels:
        raise InvalidInput(field, f"{width}x{height} has more than {max_pixels:,} pixels")
    if min(width, height) < min_side:
        raise InvalidInput(field, f"{width}x{height} is smaller than {min_side} pixels on a side")
    if max(width, height) > max_aspect * min(width, height):
        raise InvalidInput(field, f"{width}x{height} has an aspect ratio beyond 1:{max_aspect:g}")
    try:
        image = ImageOps.exif_transpose(image)
        return to_rgb(image)
    except (OSError, ValueError, SyntaxError) as exc:  # truncated or corrupt pixel data shows up on decode
        raise InvalidInput(field, f"the image data could not be decoded ({exc})") from exc


def _open(source: Any, field: str, max_pixels: int) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, np.ndarray):
        return _from_array(source, field)
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    elif isinstance(source, str | Path):
        if not Path(source).is_file():
            raise InvalidInput(field, f"file {str(source)!r} does not exist")
    else:
        raise InvalidInput(field, f"expected an image, got {type(source).__name__}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(source)
            # Check the header's size before decoding: a bomb is refused without allocating its pixels.
            if image.width * image.height > max_pixels:
                raise InvalidInput(field, f"{image.width}x{image.height} has more than {max_pixels:,} pixels")
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidInput(field, f"refused as a decompression bomb ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise InvalidInput(field, "not an image format the studio can read (PNG, JPEG, WebP, ...)") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidInput(field, f"the image is corrupt or truncated ({exc})") from exc
    return image


def _from_array(array: np.ndarray, field: str) -> Image.Image:
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise InvalidInput(field, f"array of shape {array.shape} is not HxW, HxWx3 or HxWx4")
    if array.dtype != np.uint8:
        array = np.asarray(array, dtype=np.float64)
        if not np.isfinite(array).all():
            raise InvalidInput(field, "array contains NaN or infinite values")
        scale = 255.0 if array.max(initial=0) <= 1.0 else 1.0  # float images in [0, 1] are common
        array = np.clip(array * scale, 0, 255).round().astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    return Image.fromarray(array)


def to_rgb(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB; transparency is composited on ``background``, 16-bit is rescaled."""
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        data = np.asarray(image, dtype=np.float64)
        peak = data.max(initial=0)
        data = data / 257.0 if peak > 255 else data  # 16-bit ranges map onto 8 bits
        return Image.fromarray(np.clip(data, 0, 255).astype(np.uint8)).convert("RGB")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, background)
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


# --------------------------------------------------------------------------------------------------------------------
# Recipes in PNG text chunks
# --------------------------------------------------------------------------------------------------------------------
def format_parameters(recipe: Recipe | Mapping[str, Any]) -> str:
    """The recipe as A1111 "infotext": prompt, ``Negative prompt: ...``, then ``Key: value`` pairs."""
    data = recipe.to_dict() if isinstance(recipe, Recipe) else dict(recipe)
    pairs = {
        "Steps": data.get("steps"),
        "Sampler": data.get("scheduler"),
        "CFG scale": data.get("guidance"),
        "Seed": data.get("seed"),
        "Size": f"{data.get('width')}x{data.get('height')}",
        "Model": data.get("model"),
        "Model repo": data.get("repo_id"),
        "Revision": data.get("revision"),
        "Pipeline": data.get("pipeline"),
        "Guidance param": data.get("guidance_param"),
        "Profile": data.get("profile"),
        "Dtype": data.get("dtype"),
        "Time taken": f"{data.get('run_seconds', 0):.2f}s",
    }
    if data.get("weight_free"):
        pairs["Weights"] = "none (computed from the image)"
    elif data.get("random_weights"):
        pairs["Weights"] = "random-weight miniature"

    def quote(value: Any) -> str:
        text = str(value)
        return json.dumps(text, ensure_ascii=False) if re.search(r"[,:\n\"]", text) else text

    settings = ", ".join(f"{k}: {quote(v)}" for k, v in pairs.items() if v is not None)
    lines = [data.get("prompt", "")]
    if data.get("negative_prompt"):
        lines.append(f"Negative prompt: {data['negative_prompt']}")
    lines.append(settings)
    return "\n".join(lines)


def png_bytes(image: Image.Image, recipe: Recipe | Mapping[str, Any]) -> bytes:
    """Encode ``image`` as PNG with the recipe in ``parameters`` (A1111) and ``studio_recipe`` (JSON) chunks."""
    data = recipe.to_dict() if isinstance(recipe, Recipe) else dict(recipe)
    info = PngImagePlugin.PngInfo()
    # iTXt (not tEXt): the prompt may be Chinese, and tEXt is Latin-1 only.
    info.add_itxt(PARAMETERS_KEY, format_parameters(data))
    info.add_itxt(RECIPE_KEY, json.dumps(data, ensure_ascii=False, sort_keys=True))
    buffer = io.BytesIO()
    to_rgb(image).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def save_png(image: Image.Image, recipe: Recipe | Mapping[str, Any], path: Path) -> Path:
    """Write ``image`` with its recipe to ``path`` (folders created); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(png_bytes(image, recipe))
    tmp.replace(path)  # atomic: a half-written PNG is never served
    return path


def read_recipe(source: str | Path | bytes | Image.Image) -> dict[str, Any] | None:
    """The JSON recipe stored in a PNG by ``png_bytes``, or None when it has none."""
    image = source if isinstance(source, Image.Image) else Image.open(
        io.BytesIO(source) if isinstance(source, bytes) else source
    )
    text = image.info.get(RECIPE_KEY)
    return json.loads(text) if text else None


def output_path(outputs_dir: Path, recipe: Recipe, index: int = 0) -> Path:
    """``outputs/<date>/<random>/<time>-<n>_<model>_<seed>.png``.

    The served URL has an unguessable folder (outputs are served to whoever knows their path, so a readable date,
    counter, model and seed must not be enough to fetch someone else's image); the file keeps its readable name,
    which is what a download is called.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^a-z0-9.]+", "-", recipe.model.lower()).strip("-")
    return _unguessable(outputs_dir) / f"{stamp}-{index}_{slug}_{recipe.seed}.png"


def output_folder(root: Path, readable: str) -> Path:
    """``root/<date>/<random>/<readable>``: a fresh folder for the files of one batch, pool or dataset.

    Everything under the outputs is served to whoever knows its path, and these folders hold copies of people's
    uploads (try-on persons, tokenizer originals): the random part (96 bits, as in :func:`output_path`) makes the
    path unguessable, the readable last part (a time stamp, a dataset's name) is what the folder is shown and
    downloaded as. The folder is not created.

    Raises:
        ValueError: ``readable`` is not a single plain folder name.
    """
    if not readable or readable in (".", "..") or Path(readable).name != readable or "\\" in readable:
        raise ValueError(f"{readable!r} is not a plain folder name")
    return _unguessable(root) / readable


def _unguessable(root: Path) -> Path:
    """``root/<date>/<random>``: 12 random bytes, URL-safe (the date only keeps folders sorted and prunable)."""
    return root / time.strftime("%Y-%m-%d") / secrets.token_urlsafe(12)


# --------------------------------------------------------------------------------------------------------------------
# Grids
# --------------------------------------------------------------------------------------------------------------------
def labelled_grid(images: Sequence[Image.Image], labels: Sequence[str], columns: int | None = None) -> Image.Image:
    """Images side by side (resized to the first one's height) with a caption strip under each.

    Args:
        images: the images, at least one.
        labels: one caption per image.
        columns: images per row (default: all in one row).
    """
    if not images or len(images) != len(labels):
        raise ValueError("labelled_grid needs as many labels as images, and at least one image")
    columns = columns or len(images)
    height = images[0].height
    tiles = [to_rgb(im).resize((max(1, round(im.width * height / im.height)), height)) for im in images]
    tile_w = max(t.width for t in tiles)
    strip = max(24, height // 14)
    font = ImageFont.load_default(size=int(strip * 0.6))
    rows = (len(tiles) + columns - 1) // columns
    grid = Image.new("RGB", (columns * tile_w, rows * (height + strip)), "white")
    draw = ImageDraw.Draw(grid)
    for i, (tile, label) in enumerate(zip(tiles, labels, strict=True)):
        x, y = (i % columns) * tile_w, (i // columns) * (height + strip)
        grid.paste(tile, (x, y))
        draw.text((x + 6, y + height + strip * 0.15), label, fill="black", font=font)
    return grid
