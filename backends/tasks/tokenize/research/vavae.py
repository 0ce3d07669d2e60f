"""VA-VAE (Yao et al., "Reconstruction vs. Generation: Taming Optimization Dilemma in Latent Diffusion Models",
arXiv:2501.01423): an LDM KL autoencoder (f16, 32 channels) aligned with DINOv2 during training; a continuous
baseline for the discrete tokenizers.

Released file (MIT): ``hustvl/vavae-imagenet256-f16d32-dinov2`` / ``vavae-imagenet256-f16d32-dinov2.pt``, an LDM
(PyTorch Lightning) checkpoint whose ``state_dict`` also holds the training loss (``loss.*``: LPIPS,
discriminator) and the vision-foundation alignment (``foundation_model.*``, projections); the authors filter them and
load ``strict=False`` (``tokenizer/autoencoder.py``). Here only the autoencoder's keys (``encoder.``, ``decoder.``,
``quant_conv.``, ``post_quant_conv.``) are read, renamed to diffusers' ``AutoencoderKL`` and loaded strictly;
everything else is reported as dropped. Architecture (``tokenizer/configs/vavae_f16d32.yaml``): ch 128 x (1, 1, 2, 2,
4), 2 residual blocks per level, attention at resolution 16 (the lowest level) in encoder and decoder and in both
middles, ``double_z``, 32 latent channels. Images are in [-1, 1].
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from backends.tasks.tokenize.research.adapter import ResearchTokenizer
from backends.tasks.tokenize.research.common import count, shape, token_picture
from backends.tasks.tokenize.tokens import Tokens
from backends.tasks.tokenize.types import TokenizeRequest

AUTOENCODER_PREFIXES = ("encoder.", "decoder.", "quant_conv.", "post_quant_conv.")
_ATTN: Mapping[str, str] = MappingProxyType(
    {"norm": "group_norm", "q": "to_q", "k": "to_k", "v": "to_v", "proj_out": "to_out.0"})
_ATTN_BACK: Mapping[str, str] = MappingProxyType({v: k for k, v in _ATTN.items()})


@dataclass(frozen=True)
class VAVAEConfig:
    """An LDM KL autoencoder.

    Attributes:
        ch: base channels.
        ch_mult: multiplier per level.
        res_blocks: residual blocks per encoder level (the decoder has one more).
        attn_levels: levels (0 = full resolution) with attention blocks.
        latent: latent channels.
    """

    ch: int = 128
    ch_mult: tuple[int, ...] = (1, 1, 2, 2, 4)
    res_blocks: int = 2
    attn_levels: tuple[int, ...] = (4,)
    latent: int = 32


RELEASED = VAVAEConfig()
MINIATURE = VAVAEConfig(ch=32, res_blocks=1)


def build(config: VAVAEConfig) -> Any:
    """diffusers' ``AutoencoderKL`` with this layout (attention levels as ``Attn*Block2D``)."""
    from diffusers import AutoencoderKL

    levels = len(config.ch_mult)
    down = tuple("AttnDownEncoderBlock2D" if i in config.attn_levels else "DownEncoderBlock2D" for i in range(levels))
    up = tuple("AttnUpDecoderBlock2D" if levels - 1 - j in config.attn_levels else "UpDecoderBlock2D"
               for j in range(levels))
    return AutoencoderKL(in_channels=3, out_channels=3, down_block_types=down, up_block_types=up,
                         block_out_channels=tuple(config.ch * m for m in config.ch_mult),
                         layers_per_block=config.res_blocks, latent_channels=config.latent, norm_num_groups=32,
                         sample_size=256)


def _to_diffusers_part(part: str) -> str:
    return part.replace("nin_shortcut", "conv_shortcut")


def _to_ldm_part(part: str) -> str:
    return part.replace("conv_shortcut", "nin_shortcut")


def to_diffusers(key: str, levels: int) -> str:
    """An LDM key as diffusers names it (keys it does not know come back unchanged). LDM's ``decoder.up.{i}`` is
    level i (0 = full resolution); diffusers' ``up_blocks`` run from the lowest resolution up."""
    up = lambda i: levels - 1 - int(i)  # noqa: E731 - one index flip, used four times
    attn = "(norm|q|k|v|proj_out)"
    rules = (
        (r"^encoder\.down\.(\d+)\.block\.(\d+)\.(.+)$",
         lambda m: f"encoder.down_blocks.{m[1]}.resnets.{m[2]}.{_to_diffusers_part(m[3])}"),
        (rf"^encoder\.down\.(\d+)\.attn\.(\d+)\.{attn}\.(\w+)$",
         lambda m: f"encoder.down_blocks.{m[1]}.attentions.{m[2]}.{_ATTN[m[3]]}.{m[4]}"),
        (r"^encoder\.down\.(\d+)\.downsample\.conv\.(\w+)$",
         lambda m: f"encoder.down_blocks.{m[1]}.downsamplers.0.conv.{m[2]}"),
        (r"^decoder\.up\.(\d+)\.block\.(\d+)\.(.+)$",
         lambda m: f"decoder.up_blocks.{up(m[1])}.resnets.{m[2]}.{_to_diffusers_part(m[3])}"),
        (rf"^decoder\.up\.(\d+)\.attn\.(\d+)\.{attn}\.(\w+)$",
         lambda m: f"decoder.up_blocks.{up(m[1])}.attentions.{m[2]}.{_ATTN[m[3]]}.{m[4]}"),
        (r"^decoder\.up\.(\d+)\.upsample\.conv\.(\w+)$",
         lambda m: f"decoder.up_blocks.{up(m[1])}.upsamplers.0.conv.{m[2]}"),
        (r"^(encoder|decoder)\.mid\.block_(\d)\.(.+)$",
         lambda m: f"{m[1]}.mid_block.resnets.{int(m[2]) - 1}.{_to_diffusers_part(m[3])}"),
        (rf"^(encoder|decoder)\.mid\.attn_1\.{attn}\.(\w+)$",
         lambda m: f"{m[1]}.mid_block.attentions.0.{_ATTN[m[2]]}.{m[3]}"),
        (r"^(encoder|decoder)\.norm_out\.(\w+)$", lambda m: f"{m[1]}.conv_norm_out.{m[2]}"),
    )
    return _first_rule(rules, key)


def to_ldm(key: str, levels: int) -> str:
    """The inverse of ``to_diffusers``."""
    up = lambda i: levels - 1 - int(i)  # noqa: E731 - the same flip, its own inverse
    rules = (
        (r"^encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$",
         lambda m: f"encoder.down.{m[1]}.block.{m[2]}.{_to_ldm_part(m[3])}"),
        (r"^encoder\.down_blocks\.(\d+)\.attentions\.(\d+)\.(.+)\.(\w+)$",
         lambda m: f"encoder.down.{m[1]}.attn.{m[2]}.{_ATTN_BACK[m[3]]}.{m[4]}"),
        (r"^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(\w+)$",
         lambda m: f"encoder.down.{m[1]}.downsample.conv.{m[2]}"),
        (r"^decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$",
         lambda m: f"decoder.up.{up(m[1])}.block.{m[2]}.{_to_ldm_part(m[3])}"),
        (r"^decoder\.up_blocks\.(\d+)\.attentions\.(\d+)\.(.+)\.(\w+)$",
         lambda m: f"decoder.up.{up(m[1])}.attn.{m[2]}.{_ATTN_BACK[m[3]]}.{m[4]}"),
        (r"^decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(\w+)$",
         lambda m: f"decoder.up.{up(m[1])}.upsample.conv.{m[2]}"),
        (r"^(encoder|decoder)\.mid_block\.resnets\.(\d)\.(.+)$",
         lambda m: f"{m[1]}.mid.block_{int(m[2]) + 1}.{_to_ldm_part(m[3])}"),
        (r"^(encoder|decoder)\.mid_block\.attentions\.0\.(.+)\.(\w+)$",
         lambda m: f"{m[1]}.mid.attn_1.{_ATTN_BACK[m[2]]}.{m[3]}"),
        (r"^(encoder|decoder)\.conv_norm_out\.(\w+)$", lambda m: f"{m[1]}.norm_out.{m[2]}"),
    )
    return _first_rule(rules, key)


def _first_rule(rules: tuple[tuple[str, Any], ...], key: str) -> str:
    for pattern, rename in rules:
        match = re.match(pattern, key)
        if match:
            return rename(match)
    return key


def _is_attention_projection(ldm_key: str) -> bool:
    """LDM attention projections are 1x1 convolutions; diffusers' are linear layers."""
    return bool(re.search(r"\.attn(\.\d+|_1)\.(q|k|v|proj_out)\.weight$", ldm_key))


def infer_config(state: dict[str, Any]) -> VAVAEConfig:
    """The architecture of an LDM-format state dict (autoencoder keys only)."""
    ch = shape(state, "encoder.conv_in.weight")[0]
    levels = count(state, "encoder.down")
    return VAVAEConfig(
        ch=ch, ch_mult=tuple(shape(state, f"encoder.down.{i}.block.0.conv1.weight")[0] // ch for i in range(levels)),
        res_blocks=count(state, "encoder.down.0.block"),
        attn_levels=tuple(i for i in range(levels) if f"encoder.down.{i}.attn.0.q.weight" in state),
        latent=shape(state, "post_quant_conv.weight")[0])


class VAVAETokenizer(ResearchTokenizer):
    """VA-VAE: 16 x 16 x 32 continuous latents at 256 px (counted as float16)."""

    codec = "vavae"
    drop_prefixes = ("loss.", "foundation_model.")
    entries = ("state_dict", "ema", "model")

    def released_config(self) -> VAVAEConfig:
        """``vavae_f16d32``."""
        return RELEASED

    def miniature_config(self) -> VAVAEConfig:
        """Channels 32 x (1, 1, 2, 2, 4) (real 128), one residual block; the real f16, 32 channels and attention."""
        return MINIATURE

    def infer_config(self, state: dict[str, Any], extra: dict[str, Any]) -> VAVAEConfig:
        """Read from the LDM keys' shapes."""
        return infer_config(state)

    def build(self, config: VAVAEConfig) -> Any:
        """diffusers' ``AutoencoderKL``."""
        return build(config)

    def read(self, paths: dict[str, Path]) -> tuple[dict[str, Any], dict[str, Any], list[str], str]:
        """The autoencoder's LDM keys; everything else (loss, foundation model, projections) dropped."""
        state, extra, dropped, entry = super().read(paths)
        kept = {k: v for k, v in state.items() if k.startswith(AUTOENCODER_PREFIXES)}
        return kept, extra, dropped + [k for k in state if k not in kept], entry

    def module_state(self, state: dict[str, Any]) -> dict[str, Any]:
        """LDM keys -> diffusers keys; 1x1 attention convolutions -> linear weights."""
        levels = count(state, "encoder.down")
        return {to_diffusers(k, levels): v.flatten(1) if _is_attention_projection(k) else v for k, v in state.items()}

    def expected_shapes(self, config: VAVAEConfig) -> dict[str, tuple[int, ...]]:
        """What the LDM file must hold (diffusers' keys named back, attention weights as 1x1 convolutions)."""
        levels = len(config.ch_mult)
        shapes = {}
        for key, size in super().expected_shapes(config).items():
            name = to_ldm(key, levels)
            shapes[name] = (*size, 1, 1) if _is_attention_projection(name) else size
        return shapes

    def write_miniature(self, folder: Path, config: VAVAEConfig, seed: int) -> None:
        """An LDM Lightning checkpoint: ``state_dict`` with the autoencoder's keys and a loss entry."""
        import torch

        torch.manual_seed(seed)
        levels = len(config.ch_mult)
        state = {}
        for key, value in build(config).state_dict().items():
            name = to_ldm(key, levels)
            state[name] = value[..., None, None] if _is_attention_projection(name) else value
        state["loss.logvar"] = torch.zeros(())
        torch.save({"state_dict": state, "epoch": 0, "global_step": 0}, folder / self.filename)

    def encode(self, image: np.ndarray, request: TokenizeRequest) -> Tokens:
        """The posterior's mode, (32, 16, 16)."""
        import torch

        with torch.inference_mode():
            latents = self.model.encode(self.pixels(image)).latent_dist.mode()[0].float().cpu().numpy()
        return Tokens("continuous", latents, latents.shape[1] * latents.shape[2], latents.size * 16,
                      latents.shape[1:], image.shape[:2], False, image.shape[:2], self.codec,
                      {"channels": latents.shape[0]})

    def decode(self, tokens: Tokens) -> np.ndarray:
        """Pixels from latents."""
        import torch

        with torch.inference_mode():
            latents = torch.as_tensor(np.array(tokens.data, dtype=np.float32), device=self.device)[None]
            x = self.model.decode(latents.to(self._model_dtype())).sample
        return self.image(x.clamp(-1, 1))

    def token_map(self, tokens: Tokens) -> np.ndarray:
        """The first three latent channels as RGB, in place."""
        data = np.asarray(tokens.data)
        return token_picture(data.reshape(data.shape[0], -1).T, None, tokens.image_size)
