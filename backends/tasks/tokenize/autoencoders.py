"""diffusers autoencoders as tokenizers: AutoencoderKL, AutoencoderTiny and AutoencoderDC (DC-AE; continuous
latents), VQModel (codes).

Loaded with ``load_pretrained`` like every pretrained model (the miniature in the tiny profile).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from backends.models.backend import PretrainedBackend
from backends.tasks.tokenize.base import TokenizerBackend
from backends.tasks.tokenize.tokens import Tokens, code_palette
from backends.tasks.tokenize.types import TokenizeRequest


class AutoencoderTokenizer(PretrainedBackend, TokenizerBackend):
    """AutoencoderKL / AutoencoderTiny / AutoencoderDC (continuous latents) and VQModel (discrete codes) through
    diffusers."""

    @property
    def side_multiple(self) -> int:  # type: ignore[override]
        """Sides are multiples of the registry's size rule (the downsampling factor: 8, 16 or 32)."""
        return self.spec.size.multiple

    @property
    def discrete(self) -> bool:  # type: ignore[override]
        """VQ models give codebook indices; the others continuous latents."""
        return self.spec.class_name == "VQModel"

    @property
    def default_side(self) -> int:  # type: ignore[override]
        """The side images are resized to: the registry's default size."""
        return self.spec.size.default

    def encode(self, image: np.ndarray, request: TokenizeRequest) -> Tokens:
        """Latents (continuous, counted as float16) or codebook indices (discrete, log2 K bits each)."""
        import torch

        pixels = torch.from_numpy(image).permute(2, 0, 1)[None].to(self.device, self._dtype()) * 2 - 1
        with torch.inference_mode():
            if self.discrete:
                latents = self.model.encode(pixels).latents  # (1, C, h, w) before quantisation
                _, _, (_, _, indices) = self.model.quantize(latents)
                codes = indices.reshape(latents.shape[-2:]).cpu().numpy().astype(np.int32)
                size = self.model.quantize.n_e
                return Tokens("discrete", codes, codes.size, codes.size * int(np.ceil(np.log2(size))), codes.shape,
                              image.shape[:2], False, image.shape[:2], "vq-model", {"codebook_size": size})
            encoded = self.model.encode(pixels)
            # KL posteriors give their mode; TAESD / VQ give ``latents``; DC-AE gives ``latent``.
            latents = encoded.latent_dist.mode() if hasattr(encoded, "latent_dist") else getattr(
                encoded, "latents", getattr(encoded, "latent", None))
        data = latents[0].float().cpu().numpy()  # (C, h, w)
        return Tokens("continuous", data, data.shape[1] * data.shape[2], data.size * 16, data.shape[1:],
                      image.shape[:2], False, image.shape[:2], "latent", {"channels": data.shape[0]})

    def decode(self, tokens: Tokens) -> np.ndarray:
        """Pixels HxWx3 in [0, 1] from latents or codes."""
        import torch

        with torch.inference_mode():
            if tokens.codec == "vq-model":
                indices = torch.from_numpy(np.array(tokens.data, dtype=np.int64)).to(self.device)
                h, w = tokens.grid
                channels = self.model.quantize.vq_embed_dim
                quant = self.model.quantize.get_codebook_entry(indices.reshape(-1), (1, h, w, channels))
                pixels = self.model.decode(quant.to(self._dtype()), force_not_quantize=True).sample
            else:
                latents = torch.from_numpy(np.array(tokens.data))[None].to(self.device, self._dtype())
                pixels = self.model.decode(latents).sample
        return np.clip((pixels[0].float().permute(1, 2, 0).cpu().numpy() + 1) / 2, 0, 1)

    def perturb(self, tokens: Tokens, alpha: float, delta: int, seed: int) -> Tokens:
        """RobustTok: each code, with probability alpha, becomes one of its delta nearest codewords (itself
        included), uniformly; the draws do not depend on alpha, so a larger alpha perturbs a superset."""
        if not self.discrete:
            return super().perturb(tokens, alpha, delta, seed)
        from scipy.spatial import cKDTree

        codebook = self.model.quantize.embedding.weight.detach().float().cpu().numpy()
        codes = np.asarray(tokens.data).reshape(-1)
        delta = min(int(delta), len(codebook))
        # Nearest codewords of each distinct code (a k-d tree: a dense distance matrix against 16384 codes would
        # need gigabytes); the code itself comes first at distance 0.
        unique, inverse = np.unique(codes, return_inverse=True)
        _, neighbours = cKDTree(codebook).query(codebook[unique], k=delta)
        nearest = np.asarray(neighbours).reshape(len(unique), delta)[inverse]
        rng = np.random.default_rng(seed)
        chosen = nearest[np.arange(len(codes)), rng.integers(0, delta, len(codes))]
        perturbed = np.where(rng.random(len(codes)) < alpha, chosen, codes).reshape(tokens.grid).astype(np.int32)
        return Tokens(tokens.kind, perturbed, tokens.count, tokens.bits, tokens.grid, tokens.image_size,
                      False, tokens.padded_size, tokens.codec,
                      {**tokens.params, "perturbation": {"alpha": alpha, "delta": delta, "seed": seed}})

    def token_map(self, tokens: Tokens) -> np.ndarray:
        """Codes as palette colours, or the first three latent channels as RGB, upscaled to the image."""
        if tokens.codec == "vq-model":
            grid = code_palette(int(tokens.params["codebook_size"]))[np.asarray(tokens.data)]
        else:
            first = np.asarray(tokens.data)[:3]
            first = np.concatenate([first, np.repeat(first[-1:], 3 - len(first), axis=0)])
            low = np.percentile(first, 1, axis=(1, 2), keepdims=True)
            high = np.percentile(first, 99, axis=(1, 2), keepdims=True)
            grid = np.rint(np.clip((first - low) / np.maximum(high - low, 1e-12), 0, 1) * 255).astype(np.uint8)
            grid = grid.transpose(1, 2, 0)
        h, w = tokens.image_size
        return np.asarray(Image.fromarray(grid).resize((w, h), Image.Resampling.NEAREST))

    def _dtype(self) -> Any:
        return next(self.model.parameters()).dtype
