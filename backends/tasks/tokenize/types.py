"""Tokenizer requests and results: torch-free, shared by the backends, tabs and executors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PIL import Image

from backends.core.recipe import Recipe

ALPHAS = (0.0, 0.1, 0.25, 0.5, 1.0)  # the robustness curve's perturbation rates
CURVE_POINTS = 10


@dataclass
class TokenizeRequest:
    """Tokenize one image and look at what comes back.

    Attributes:
        image: the image (any mode and size).
        prefix: for ordered tokenizers, decode only the first k tokens as well (None: no prefix view).
        alpha: perturbation rate for discrete tokenizers (0: none).
        delta: perturb among the delta nearest codewords.
        seed: perturbation seed.
        bits: target size for rate-matched codecs (the DCT baseline), e.g. another tokenizer's bits.
        max_side: longest side the image is resized to first (None: the tokenizer's default).
        curves: also compute the prefix curve (ordered) or the robustness curve (discrete).
        steps: sampling steps of diffusion decoders (Semanticist; None: the model's default).
        guidance: classifier-free guidance of diffusion decoders (None: the model's default; 1 turns it off).
    """

    image: Any
    prefix: int | None = None
    alpha: float = 0.0
    delta: int = 8
    seed: int = 0
    bits: int | None = None
    max_side: int | None = None
    curves: bool = True
    steps: int | None = None
    guidance: float | None = None


@dataclass
class TokenizeResult:
    """What a tokenizer made of the image.

    Attributes:
        original: the image as it was tokenized (after any resize; its size is in ``summary``).
        reconstruction: decoded from all tokens.
        prefix: decoded from the first ``request.prefix`` tokens (ordered tokenizers).
        perturbed: decoded from perturbed tokens (discrete tokenizers, alpha > 0).
        token_map: the tokens as a picture.
        error_map: per-pixel error heat map of the reconstruction.
        summary: tokens (kind, shape, count, bits, bits per pixel, ordered, discrete) and metrics, JSON-ready.
        recipe: what produced it.
    """

    original: Image.Image
    reconstruction: Image.Image
    prefix: Image.Image | None
    perturbed: Image.Image | None
    token_map: Image.Image
    error_map: Image.Image
    summary: dict[str, Any]
    recipe: Recipe
