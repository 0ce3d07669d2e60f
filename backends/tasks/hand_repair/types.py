"""Hand detection and repair requests and results: torch-free, shared by the backends, tabs and executors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from backends.core.recipe import Recipe
from backends.vision.detectors import Hand

METHODS = ("inpaint", "mghand")
DEFAULT_PROMPT = "a natural human hand, five fingers, detailed skin, anatomically correct"
DEFAULT_NEGATIVE = "deformed hand, extra fingers, missing fingers, fused fingers, blurry"


@dataclass
class HandDetectRequest:
    """Detect hands in an image.

    Attributes:
        image: the image (any mode and size; validated).
        max_hands: most hands to report.
        min_confidence: MediaPipe's minimum detection confidence.
    """

    image: Any
    max_hands: int = 4
    min_confidence: float = 0.3


@dataclass
class HandDetectResult:
    """The hand report (JSON-ready), an overlay, and the hands."""

    report: dict[str, Any]
    overlay: Image.Image
    hands: list[Hand]


@dataclass
class HandRepairRequest:
    """Repair the hands of one image.

    Attributes:
        image: the image (any mode and size; validated).
        method: ``inpaint`` or ``mghand``.
        seed: seed (None: random; hand ``i`` uses seed + i).
        steps: denoising steps (None: the model's default).
        strength: denoising strength in (0, 1].
        guidance: classifier-free guidance (None: the model's default).
        text_guidance: MGHanD text-guidance weight (0 disables it).
        visual_guidance: MGHanD visual-guidance weight (needs ``discriminator``; 0 disables it).
        mask_growth: how far the cumulative mask grows from the tight hull (0) to the padded box (1) by the last step.
        padding: crop and loose-mask padding, as a fraction of the hand box.
        dilation: growth of the tight landmark hull, as a fraction of the image's long side.
        feather: width of the soft edge the repair is pasted back with, as a fraction of the long side.
        prompt: what the repaired region should show.
        negative_prompt: what to avoid.
        hand_prompt: the base prompt of the text guidance ("hand").
        natural_prompt: the LoRA prompt of the text guidance ("natural hand").
        lora: diffusers-format LoRA (folder or repo id) for the text guidance.
        discriminator: TorchScript checkpoint for the visual guidance.
        mask: a user-edited mask (same size as the image) replacing the detected hands.
        resolution: side of the square crop the model works at (None: the model's default size).
    """

    image: Any
    method: str = "mghand"
    seed: int | None = None
    steps: int | None = None
    strength: float = 0.75
    guidance: float | None = None
    text_guidance: float = 1.5
    visual_guidance: float = 0.0
    mask_growth: float = 1.0
    padding: float = 0.3
    dilation: float = 0.02
    feather: float = 0.02
    prompt: str = DEFAULT_PROMPT
    negative_prompt: str = DEFAULT_NEGATIVE
    hand_prompt: str = "hand"
    natural_prompt: str = "natural hand"
    lora: str | None = None
    discriminator: str | None = None
    mask: Any = None
    resolution: int | None = None


@dataclass
class HandRepairResult:
    """The repaired image and what it took.

    Attributes:
        image: the repaired image.
        recipe: how it was made.
        schedule: the cumulative masks in force at each step of the first region (crop coordinates).
        regions: the crop boxes repaired.
        before: the hand report of the input (MediaPipe confidence per hand: MGHanD's measure).
        after: the hand report of the output.
    """

    image: Image.Image
    recipe: Recipe
    schedule: list[np.ndarray]
    regions: list[tuple[int, int, int, int]]
    before: dict[str, Any]
    after: dict[str, Any]
