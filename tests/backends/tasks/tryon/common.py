"""Paths, sizes and helpers the try-on tests share (fixtures are in conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[4]
PHOTOS = ROOT / "tests" / "fixtures" / "photos"
PERSON = PHOTOS / "hagrid_four_06aa70cc.jpg"
GARMENTS = ROOT / "assets" / "examples" / "garments"
SIZE = {"width": 256, "height": 320}  # multiples of 8 at the spec's minimum width; 32x40 latents


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def authors_flat_list(unet, processors_are_modules: bool = True):
    """CatVTON's flat attention list as its get_trainable_module(unet, "attention") builds it, written from its
    description: every module whose qualified name contains "attn1", in named_modules order; CatVTON's self-attention
    processors are (parameter-free) nn.Modules, so each takes a slot."""
    import torch
    from diffusers.models.attention_processor import AttnProcessor2_0

    from backends.tasks.tryon.attention import SkipCrossAttention

    class ModuleProcessor(torch.nn.Module):
        def __call__(self, *args, **kwargs):
            return AttnProcessor2_0()(*args, **kwargs)

    if processors_are_modules:
        unet.set_attn_processor({n: ModuleProcessor() if n.endswith("attn1.processor") else SkipCrossAttention()
                                 for n in unet.attn_processors})
    return torch.nn.ModuleList([m for n, m in unet.named_modules() if "attn1" in n])


def perturb(modules, seed: int = 7) -> None:
    """Random weights in place (a "trained" checkpoint that differs from the miniature's)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in modules.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.3)
