"""Virtual try-on requests and results (MF-VITON direction): torch-free, shared by the backends, tabs and executors.

Three kinds of work: the automatic agnostic mask of a person (``TryOnMaskRequest``), one try-on with one model
(``TryOnRequest``; mask-free models ignore ``mask``), and the two dataset jobs: MF-VITON's data engine
(``DataEngineRequest``: the mask-based model makes training triples on new backgrounds) and the evaluation of
generated results against ground truth (``TryOnScoreRequest``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from backends.core.recipe import Recipe
from backends.vision.agnostic import CATEGORIES, LIMITS

__all__ = [
    "CATEGORIES", "DEFAULT_METHODS", "ENGINE_KEY", "LIMITS", "MASK_KEY", "SCORE_KEY", "DataEngineRequest",
    "DataEngineResult", "TryOnMaskRequest", "TryOnMaskResult", "TryOnRequest", "TryOnResult", "TryOnScoreRequest",
    "TryOnScoreResult", "method_keys",
]

MASK_KEY = "tryon/automask"  # the automatic masker's registry key
SCORE_KEY = "tryon/scores"  # the evaluation's registry key
ENGINE_KEY = "tryon/data-engine"  # MF-VITON's data engine
DEFAULT_METHODS = ("tryon/catvton-maskfree", "tryon/catvton")  # mask-free against mask-based: the paper's comparison


def method_keys(registry: Mapping[str, Any]) -> list[str]:
    """The try-on models of the registry (not the masker, the data engine or the scorer), in registry order."""
    return [key for key, spec in registry.items()
            if spec.task == "tryon" and key not in (MASK_KEY, SCORE_KEY, ENGINE_KEY)]


@dataclass
class TryOnMaskRequest:
    """The automatic agnostic mask of a person photo.

    Attributes:
        person: the person photo (any mode and size; validated).
        category: ``upper``, ``lower`` or ``overall`` (a dress or a full outfit).
        dilation: growth of the garment region, as a fraction of the photo's long side.
    """

    person: Any
    category: str = "upper"
    dilation: float = 0.01


@dataclass
class TryOnMaskResult:
    """The mask (white = where the garment goes), an overlay to check it, and how it was made.

    Attributes:
        mask: ``L`` image the size of the photo.
        overlay: the photo with the mask in red, the protected parts in blue and the landmarks used.
        info: category, area fraction, landmarks used, people found, warnings and the masker's limits.
    """

    mask: Image.Image
    overlay: Image.Image
    info: dict[str, Any]


@dataclass
class TryOnRequest:
    """Dress a person in a garment with one try-on model.

    Attributes:
        person: the person photo; with several people the largest is used (and the result says so).
        garment: the garment alone on a plain background; a transparent PNG is composited on white.
        category: ``upper``, ``lower`` or ``overall``; mask-based models mask that region, OmniTry prompts for it.
        seed: the seed, or None to draw one (the recipe reports the seed used).
        steps: denoising steps (None: the model's default, 50 for CatVTON).
        guidance: classifier-free guidance (None: the model's default, 2.5 for CatVTON); 1 switches it off.
        width: output width (None: the model's default, 768 for CatVTON).
        height: output height (None: the model's default, 1024 for CatVTON).
        mask: mask-based models only: a mask the size of the person photo (white or True = repaint), e.g. the
            automatic one after editing; None computes the automatic mask. Mask-free models ignore it.
        vae: an ``AutoencoderKL`` repo id or folder to use instead of the model's VAE (None: the registry's).
        repaint: mask-based models only: paste the person's own pixels back outside the mask (CatVTON's option).
    """

    person: Any
    garment: Any
    category: str = "upper"
    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None
    width: int | None = None
    height: int | None = None
    mask: Any = None
    vae: str | None = None
    repaint: bool = False


@dataclass
class TryOnResult:
    """One try-on output.

    Attributes:
        image: the person wearing the garment, at the output size.
        recipe: how it was made (written into the PNG).
        person: the person as the model saw it (cropped and resized to the output size): the "before" of a slider.
        garment: the garment as the model saw it (fitted and padded on white).
        mask: the mask the model repainted (output size, bool), or None for a mask-free model.
        warnings: what the user should know (several people, a garment worn by someone, transparency...).
    """

    image: Image.Image
    recipe: Recipe
    person: Image.Image
    garment: Image.Image
    mask: np.ndarray | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class DataEngineRequest:
    """MF-VITON's data engine, first half: the mask-based model dresses each person in each garment on new
    backgrounds, giving (person, garment, result) triples for fine-tuning a mask-free model.

    Attributes:
        persons: person photos (paths or images).
        garments: garment images (paths or images).
        backgrounds: background images (paths or images); each person is cut out by segmentation and composited
            onto one of them (cycled), so the triples vary the background as the paper does.
        out_dir: the dataset folder to write (created; must be empty or absent).
        category: garment category for every pair.
        pairs: ``all`` (every person with every garment) or ``zip`` (person i with garment i).
        seed: base seed (triple i uses seed + i).
        steps: denoising steps (None: the model's default).
        guidance: guidance (None: the model's default).
        width: output width (None: the model's default).
        height: output height (None: the model's default).
    """

    persons: list[Any]
    garments: list[Any]
    backgrounds: list[Any]
    out_dir: str
    category: str = "upper"
    pairs: str = "all"
    seed: int = 0
    steps: int | None = None
    guidance: float | None = None
    width: int | None = None
    height: int | None = None


@dataclass
class DataEngineResult:
    """The dataset written: its folder, its manifest, one row per triple, and what was skipped and why."""

    folder: str
    manifest: str
    rows: list[dict[str, Any]]
    skipped: list[dict[str, Any]]


@dataclass
class TryOnScoreRequest:
    """Score generated try-on results (one folder per method) against ground truth and the input persons.

    Attributes:
        items: one dict per item: ``id``, ``person`` (the input as the model saw it), ``truth`` (ground truth at
            the output size, or None when unpaired) and ``region`` (the garment region mask at the output size).
        outputs: method -> folder holding ``<id>.png`` per item.
        real_folder: real photos for unpaired FID / KID (None: the ground truths, when there are some).
        extractor: a TorchScript feature extractor (images ``Nx3xHxW`` in [0, 1] -> ``NxD``) for FID / KID, or
            ``inception`` for torchmetrics' Inception-v3 (weights downloaded on first use); None: not computed.
        lpips: a TorchScript LPIPS-like module ``(a, b)`` in [-1, 1] -> distance, or ``lpips`` for the lpips
            package's AlexNet LPIPS; None: not computed.
        out_dir: where the CSV and the summary are written.
    """

    items: list[dict[str, Any]]
    outputs: dict[str, str]
    out_dir: str
    real_folder: str | None = None
    extractor: str | None = None
    lpips: str | None = None


@dataclass
class TryOnScoreResult:
    """Per-item rows, per-method means, and the CSV and summary written.

    Attributes:
        rows: one dict per (item, method): SSIM, PSNR (against the truth), preserved SSIM / PSNR outside the
            garment region (against the input person), LPIPS.
        summary: one dict per method: the means, FID and KID (or why they are unavailable).
        csv: the per-item CSV.
        notes: caveats (paired scores of a mask-free model, random extractors...).
    """

    rows: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    csv: str
    notes: list[str]
