"""The person and garment as a try-on model sees them, with the checks a user needs to hear about.

CatVTON's pre-processing, written for the studio: the person photo is centre-cropped to the output's aspect ratio
and resized (``resize_and_crop``), the garment is fitted inside the output size and padded on white
(``resize_and_padding``). Before that: with several people the photo is cropped around the largest one; a
transparent garment is composited on white; a garment photo that shows a person wearing it is flagged, because
try-on models expect the garment alone. Every one of these is said in the result's warnings.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from backends.core.errors import InvalidInput
from backends.core.imaging import load_image
from backends.vision.agnostic import person_box
from backends.vision.detectors import Detectors

MIN_PERSON_SIDE = 64  # below this mediapipe finds no body and a VAE latent is a few pixels
MIN_GARMENT_SIDE = 32
MAX_PERSON_ASPECT = 4.0  # beyond 1:4 the centre crop to a 3:4 output throws most of the photo away
MAX_GARMENT_ASPECT = 6.0
WORN_FACE_SCORE = 0.6  # a face this confident in the garment image means someone is wearing it
Box = tuple[int, int, int, int]


@dataclass
class Prepared:
    """The inputs at the output size, and where they came from.

    Attributes:
        person: the person crop, resized to ``(width, height)``.
        garment: the garment fitted and padded on white to ``(width, height)``.
        source: the person photo as uploaded (upright RGB).
        box: the crop of ``source`` that became ``person`` (``x0, y0, x1, y1``).
        people: faces found in the person photo.
        warnings: what the user should know.
    """

    person: Image.Image
    garment: Image.Image
    source: Image.Image
    box: Box
    people: int
    warnings: list[str] = field(default_factory=list)


def prepare(person: Any, garment: Any, width: int, height: int, detectors: Detectors) -> Prepared:
    """Validate and pre-process a person and a garment for a ``width`` x ``height`` try-on.

    Raises:
        InvalidInput: an unreadable or tiny image, an extreme aspect ratio, or no person in the person photo.
    """
    source = load_person(person)
    warnings: list[str] = []
    faces = detectors.faces(source)
    region = person_box(faces, *source.size)
    if len(faces) > 1:
        warnings.append(f"{len(faces)} people in the person photo: using the largest (cropped to x="
                        f"{region[0]}..{region[2]}px); crop the photo yourself to dress someone else")
    region = (region[0], 0, region[2], source.height)  # the whole height: the body is below the face
    box = centre_crop_box(region, width / height)
    crop = source.crop(box)
    if detectors.pose_segmentation(crop)[0] is None:  # the Pose graph the automatic mask uses too
        raise InvalidInput("person", "no person found: use a photo of one person, head to at least the hips, "
                                     "facing the camera")
    fitted, garment_warnings = load_garment(garment, width, height, detectors)
    warnings += garment_warnings
    return Prepared(crop.resize((width, height), Image.Resampling.LANCZOS), fitted, source, box, len(faces),
                    warnings)


def load_person(person: Any) -> Image.Image:
    """The person photo as upright RGB, or ``InvalidInput`` naming ``person``."""
    image = load_image(person, field="person", min_side=MIN_PERSON_SIDE, max_aspect=MAX_PERSON_ASPECT)
    return image


def load_garment(garment: Any, width: int, height: int,
                 detectors: Detectors | None = None) -> tuple[Image.Image, list[str]]:
    """The garment fitted inside ``width`` x ``height`` on white, and warnings (transparency, worn by someone)."""
    image = load_image(garment, field="garment", min_side=MIN_GARMENT_SIDE, max_aspect=MAX_GARMENT_ASPECT)
    warnings = []
    if has_transparency(garment):
        warnings.append("the garment image is transparent: its background was composited on white")
    if detectors is not None:
        faces = [f for f in detectors.faces(image) if f.score >= WORN_FACE_SCORE]
        if faces:
            warnings.append("the garment image shows a person wearing it (a face was found): try-on models expect "
                            "the garment alone (a flat lay or product photo); the result may copy that person")
    return fit_garment(image, width, height), warnings


def has_transparency(source: Any) -> bool:
    """Whether an (already validated) image has pixels that are not fully opaque."""
    if isinstance(source, np.ndarray):
        return source.ndim == 3 and source.shape[2] == 4 and bool((np.asarray(source)[..., 3] < 255).any())
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    elif isinstance(source, str | Path):
        source = Path(source)
    elif not isinstance(source, Image.Image):
        return False
    image = source if isinstance(source, Image.Image) else Image.open(source)
    try:
        if image.mode not in ("RGBA", "LA", "PA", "RGBa", "La") and "transparency" not in image.info:
            return False
        return image.convert("RGBA").getchannel("A").getextrema()[0] < 255
    finally:
        if image is not source:
            image.close()


def centre_crop_box(region: Box, aspect: float) -> Box:
    """The largest box of ``aspect`` (width / height) centred in ``region`` (CatVTON's ``resize_and_crop``)."""
    x0, y0, x1, y1 = region
    width, height = x1 - x0, y1 - y0
    if width / height > aspect:
        new = max(1, round(height * aspect))
        left = x0 + (width - new) // 2
        return left, y0, left + new, y1
    new = max(1, round(width / aspect))
    top = y0 + (height - new) // 2
    return x0, top, x1, top + new


def fit_garment(image: Image.Image, width: int, height: int) -> Image.Image:
    """The garment scaled to fit inside ``width`` x ``height`` and centred on white (``resize_and_padding``)."""
    scale = min(width / image.width, height / image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    canvas.paste(image.resize(size, Image.Resampling.LANCZOS), ((width - size[0]) // 2, (height - size[1]) // 2))
    return canvas


def fit_mask(mask: Any, size: tuple[int, int], box: Box, width: int, height: int,
             field_name: str = "mask") -> np.ndarray:
    """A user's mask (the size of the person photo) cut and resized like the person: ``(height, width)`` bool.

    Raises:
        InvalidInput: not an image or array, a size different from the photo's, or nothing marked.
    """
    if isinstance(mask, np.ndarray) and mask.dtype == bool:
        array = mask
    else:
        image = load_image(mask, field=field_name, min_side=1, max_aspect=float("inf"))
        array = np.asarray(image.convert("L")) >= 128
    if array.shape != (size[1], size[0]):
        raise InvalidInput(field_name, f"is {array.shape[1]}x{array.shape[0]} but the person photo is "
                                       f"{size[0]}x{size[1]}; draw it on the same photo")
    cut = Image.fromarray(array[box[1]:box[3], box[0]:box[2]].astype(np.uint8) * 255)
    fitted = np.asarray(cut.resize((width, height), Image.Resampling.NEAREST)) >= 128
    if not fitted.any():
        raise InvalidInput(field_name, "marks nothing inside the person crop: paint the garment region white")
    return fitted
