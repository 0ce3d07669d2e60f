"""Layton / LaCTok (Xie et al., arXiv:2503.08377): 256 tokens decoded to 1024 px by an SDXL latent-consistency
decoder. Registered, not runnable: no native adapter is written, for the reasons ``MISSING`` lists.

What is known (``Alpha-X-95/LaCToK`` @845fb4aa, ``tokenizer.py`` / ``model.py``): ``VQControlNet`` extends
LlamaGen's ``VQModel`` (the same CNN encoder and 16384 x 8 l2 codebook as ``llamagen.py``) and replaces its decoder by
``ControlnetCond``: an SDXL ``UNet2DConditionModel`` wrapped by peft (LoRA r=64 on attention, convolution and
time-embedding layers) plus ``ControlNetModel.from_unet`` with a custom 8-channel conditioning embedding
(8 -> 32 -> 96 -> 256), and an SDXL VAE; the checkpoint (``OPPOer/LaCTok`` / ``LaCTok-T.pth``, ``ckpt["model"]`` or
``ckpt["state_dict"]``) is loaded ``strict=True`` into all of it; decoding runs 3 UNet + ControlNet passes
(t = 999, 499, 124) with zero text embeddings and decodes a 1024 x 1024 image.
"""

from __future__ import annotations

import numpy as np

from backends.core.errors import ModelUnavailable
from backends.core.run import ProgressFn
from backends.tasks.tokenize.base import TokenizerBackend
from backends.tasks.tokenize.tokens import Tokens
from backends.tasks.tokenize.types import TokenizeRequest

MISSING = (
    "no key listing of LaCTok-T.pth exists to verify an adapter against (the peft-wrapped UNet's base_layer / "
    "lora_A / lora_B names, the ControlNet's, and whether the tokenizer's encoder is LlamaGen's CNN, as the released "
    "code builds it, or the transformer the paper describes)",
    "the decoder is SDXL-sized (UNet + ControlNet, about 3.5-4B parameters, several GB) and needs "
    "stabilityai/stable-diffusion-xl-base-1.0's UNet, VAE and scheduler beside the checkpoint: a GPU job, "
    "infeasible on a 2-core CPU",
    "the code repository has no LICENSE file (all rights reserved by default)",
)


class LaCTokEntry(TokenizerBackend):
    """Loading explains what a LaCTok adapter still needs (``MISSING``)."""

    def load(self, report: ProgressFn | None = None) -> None:
        """Always unavailable, with the reasons."""
        raise ModelUnavailable(f"{self.spec.name} has no adapter in the studio: " + "; ".join(MISSING))

    def encode(self, image: np.ndarray, request: TokenizeRequest) -> Tokens:  # pragma: no cover - never loaded
        raise ModelUnavailable(f"{self.spec.key} is not loaded")

    def decode(self, tokens: Tokens) -> np.ndarray:  # pragma: no cover - never loaded
        raise ModelUnavailable(f"{self.spec.key} is not loaded")
