"""LlamaGen VQ-16 (Sun et al., "Autoregressive Model Beats Diffusion", arXiv:2406.06525): a taming-style CNN VQGAN
with a 16384 x 8 l2-normalised codebook, 16 x 16 tokens at 256 px.

Released file: ``FoundationVision/LlamaGen`` / ``vq_ds16_c2i.pt`` (MIT), a training container whose state dict sits
under ``"ema"`` or ``"model"`` (the authors' ``vq_demo.py`` prefers ``ema``, then ``model``, then ``state_dict``).
Architecture facts from ``tokenizer/tokenizer_image/vq_model.py`` (``VQ_16``): channels 128 x (1, 1, 2, 2, 4),
2 residual blocks per level in the encoder and 3 in the decoder, attention only at the lowest level and in the
middle, GroupNorm(32, eps 1e-6) and swish, downsampling by zero padding (0, 1, 0, 1) then a stride-2 3x3 conv,
nearest upsampling then a 3x3 conv, z 256 -> 8 through ``quant_conv``. The quantiser keeps a ``codebook_used``
buffer of 65536 entries, which a strict load needs. Images are in [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backends.tasks.tokenize.research import checkpoint
from backends.tasks.tokenize.research.adapter import ResearchTokenizer
from backends.tasks.tokenize.research.common import (
    codebook_vectors,
    container,
    count,
    nearest_codes,
    shape,
    spread_codebook,
)
from backends.tasks.tokenize.tokens import Tokens
from backends.tasks.tokenize.types import TokenizeRequest


@dataclass(frozen=True)
class LlamaGenConfig:
    """A LlamaGen VQ model (the defaults are ``VQ_16``'s).

    Attributes:
        ch: base channels.
        ch_mult: channel multiplier per level (len - 1 downsamplings).
        enc_res_blocks: residual blocks per encoder level.
        dec_res_blocks: residual blocks per decoder level (the authors' decoder has one more than the encoder).
        z_channels: encoder output channels before ``quant_conv``.
        codebook_size: number of codewords.
        codebook_dim: codeword dimension.
        l2: whether codebook and latents are l2-normalised.
        usage_buffer: length of the ``codebook_used`` buffer (0: none).
    """

    ch: int = 128
    ch_mult: tuple[int, ...] = (1, 1, 2, 2, 4)
    enc_res_blocks: int = 2
    dec_res_blocks: int = 3
    z_channels: int = 256
    codebook_size: int = 16384
    codebook_dim: int = 8
    l2: bool = True
    usage_buffer: int = 65536


RELEASED = LlamaGenConfig()
MINIATURE = LlamaGenConfig(ch=32, enc_res_blocks=1, dec_res_blocks=2, z_channels=32)


# --------------------------------------------------------------------------------------------------------------------
# The CNN (taming-transformers' VQGAN as LlamaGen writes it)
# --------------------------------------------------------------------------------------------------------------------
def _norm(channels: int) -> Any:
    from torch import nn

    return nn.GroupNorm(32, channels, eps=1e-6)


def resnet_block(cin: int, cout: int) -> Any:
    """norm1 -> swish -> conv1 -> norm2 -> swish -> conv2, plus a 1x1 ``nin_shortcut`` when the width changes."""
    from torch import nn

    block = container(norm1=_norm(cin), conv1=nn.Conv2d(cin, cout, 3, padding=1), norm2=_norm(cout),
                      conv2=nn.Conv2d(cout, cout, 3, padding=1))
    if cin != cout:
        block.nin_shortcut = nn.Conv2d(cin, cout, 1)
    return block


def attn_block(channels: int) -> Any:
    """Single-head spatial self-attention with 1x1 convolutions ``q``, ``k``, ``v``, ``proj_out``."""
    from torch import nn

    return container(norm=_norm(channels), **{name: nn.Conv2d(channels, channels, 1)
                                              for name in ("q", "k", "v", "proj_out")})


def resnet_forward(block: Any, x: Any) -> Any:
    import torch.nn.functional as F

    h = block.conv1(F.silu(block.norm1(x)))
    h = block.conv2(F.silu(block.norm2(h)))
    return (block.nin_shortcut(x) if hasattr(block, "nin_shortcut") else x) + h


def attn_forward(block: Any, x: Any) -> Any:
    import torch.nn.functional as F

    b, c, hh, ww = x.shape
    h = block.norm(x)
    q, k, v = (getattr(block, name)(h).reshape(b, 1, c, hh * ww).transpose(2, 3) for name in "qkv")  # (B,1,HW,C)
    out = F.scaled_dot_product_attention(q, k, v)  # softmax(q k^T / sqrt(C)) v, as the authors' bmm
    return x + block.proj_out(out.transpose(2, 3).reshape(b, c, hh, ww))


def _mid_forward(mid: Any, h: Any) -> Any:
    return resnet_forward(mid[2], attn_forward(mid[1], resnet_forward(mid[0], h)))


def build(config: LlamaGenConfig) -> Any:
    """The VQ model: ``encoder``, ``quant_conv``, ``quantize``, ``post_quant_conv``, ``decoder``."""
    import torch
    from torch import nn

    ch, mult = config.ch, config.ch_mult
    last = len(mult) - 1
    levels = nn.ModuleList()
    block_in = ch
    for i, m in enumerate(mult):
        out = ch * m
        res = nn.ModuleList(resnet_block(block_in if j == 0 else out, out) for j in range(config.enc_res_blocks))
        level = container(res=res, attn=nn.ModuleList(attn_block(out) for _ in range(config.enc_res_blocks)
                                                       if i == last))
        if i != last:
            level.downsample = container(conv=nn.Conv2d(out, out, 3, stride=2))
        levels.append(level)
        block_in = out
    encoder = container(conv_in=nn.Conv2d(3, ch, 3, padding=1), conv_blocks=levels,
                        mid=nn.ModuleList([resnet_block(block_in, block_in), attn_block(block_in),
                                           resnet_block(block_in, block_in)]),
                        norm_out=_norm(block_in), conv_out=nn.Conv2d(block_in, config.z_channels, 3, padding=1))
    top = ch * mult[-1]
    up_levels = nn.ModuleList()
    block_in = top
    for i in reversed(range(len(mult))):
        out = ch * mult[i]
        res = nn.ModuleList(resnet_block(block_in if j == 0 else out, out) for j in range(config.dec_res_blocks))
        level = container(res=res, attn=nn.ModuleList(attn_block(out) for _ in range(config.dec_res_blocks)
                                                       if i == last))
        if i != 0:
            level.upsample = container(conv=nn.Conv2d(out, out, 3, padding=1))
        up_levels.append(level)
        block_in = out
    decoder = container(conv_in=nn.Conv2d(config.z_channels, top, 3, padding=1),
                        mid=nn.ModuleList([resnet_block(top, top), attn_block(top), resnet_block(top, top)]),
                        conv_blocks=up_levels, norm_out=_norm(block_in), conv_out=nn.Conv2d(block_in, 3, 3, padding=1))
    quantize = container(embedding=nn.Embedding(config.codebook_size, config.codebook_dim))
    if config.usage_buffer:
        quantize.register_buffer("codebook_used", torch.zeros(config.usage_buffer))
    return container(encoder=encoder, decoder=decoder, quantize=quantize,
                     quant_conv=nn.Conv2d(config.z_channels, config.codebook_dim, 1),
                     post_quant_conv=nn.Conv2d(config.codebook_dim, config.z_channels, 1))


def encode_latents(model: Any, x: Any) -> Any:
    """(B, 3, H, W) in [-1, 1] -> (B, codebook_dim, H/16, W/16) before quantisation."""
    import torch.nn.functional as F

    enc = model.encoder
    h = enc.conv_in(x)
    for level in enc.conv_blocks:
        for j, block in enumerate(level.res):
            h = resnet_forward(block, h)
            if len(level.attn):
                h = attn_forward(level.attn[j], h)
        if hasattr(level, "downsample"):
            h = level.downsample.conv(F.pad(h, (0, 1, 0, 1)))  # the authors' asymmetric padding
    h = enc.conv_out(F.silu(enc.norm_out(_mid_forward(enc.mid, h))))
    return model.quant_conv(h)


def decode_latents(model: Any, quant: Any) -> Any:
    """(B, codebook_dim, h, w) quantised latents -> (B, 3, 16h, 16w) in about [-1, 1]."""
    import torch.nn.functional as F

    dec = model.decoder
    h = _mid_forward(dec.mid, dec.conv_in(model.post_quant_conv(quant)))
    for level in dec.conv_blocks:
        for j, block in enumerate(level.res):
            h = resnet_forward(block, h)
            if len(level.attn):
                h = attn_forward(level.attn[j], h)
        if hasattr(level, "upsample"):
            h = level.upsample.conv(F.interpolate(h, scale_factor=2.0, mode="nearest"))
    return dec.conv_out(F.silu(dec.norm_out(h)))


def infer_config(state: dict[str, Any], l2: bool = True) -> LlamaGenConfig:
    """The architecture of a LlamaGen state dict, read from its shapes (l2 cannot be read: the caller's)."""
    ch = shape(state, "encoder.conv_in.weight")[0]
    levels = count(state, "encoder.conv_blocks")
    mult = tuple(shape(state, f"encoder.conv_blocks.{i}.res.0.conv1.weight")[0] // ch for i in range(levels))
    size, dim = shape(state, "quantize.embedding.weight")
    return LlamaGenConfig(
        ch=ch, ch_mult=mult, enc_res_blocks=count(state, "encoder.conv_blocks.0.res"),
        dec_res_blocks=count(state, "decoder.conv_blocks.0.res"),
        z_channels=shape(state, "encoder.conv_out.weight")[0],
        codebook_size=size, codebook_dim=dim, l2=l2,
        usage_buffer=shape(state, "quantize.codebook_used")[0] if "quantize.codebook_used" in state else 0)


class LlamaGenTokenizer(ResearchTokenizer):
    """LlamaGen's VQ-16: 256 discrete tokens (16 x 16) from a 16384-word l2 codebook, 14 bits each."""

    discrete = True
    codec = "llamagen"

    def released_config(self) -> LlamaGenConfig:
        """``VQ_16`` with the released codebook."""
        return RELEASED

    def miniature_config(self) -> LlamaGenConfig:
        """Channels 32 (real 128), one residual block per level; the real 16384 x 8 codebook and f16 geometry."""
        return MINIATURE

    def infer_config(self, state: dict[str, Any], extra: dict[str, Any]) -> LlamaGenConfig:
        """Read from the shapes; l2 normalisation from the released config."""
        return infer_config(state, RELEASED.l2)

    def build(self, config: LlamaGenConfig) -> Any:
        """The module tree."""
        return build(config)

    def write_miniature(self, folder: Path, config: LlamaGenConfig, seed: int) -> None:
        """A training container (``model`` and ``ema`` entries, ``args`` Namespace) as ``vq_train.py`` saves."""
        import torch

        torch.manual_seed(seed)
        model = build(config)
        with torch.no_grad():
            z = encode_latents(model, torch.rand(2, 3, self.native_size, self.native_size) * 2 - 1)
        spread_codebook(model.quantize.embedding, z.permute(0, 2, 3, 1).reshape(-1, z.shape[1]), config.l2, seed)
        args = {"vq_model": "VQ-16", "codebook_size": config.codebook_size, "codebook_embed_dim": config.codebook_dim,
                "image_size": self.native_size}
        checkpoint.save_training_container(folder / self.filename, model.state_dict(), args)

    def codebook(self) -> np.ndarray:
        """The l2-normalised codewords."""
        return codebook_vectors(self.model.quantize.embedding, self.config.l2).detach().float().cpu().numpy()

    def encode(self, image: np.ndarray, request: TokenizeRequest) -> Tokens:
        """16 x 16 codes of a 256 px image."""
        import torch

        with torch.inference_mode():
            z = encode_latents(self.model, self.pixels(image))  # (1, 8, 16, 16)
            codes = nearest_codes(z[0].permute(1, 2, 0).reshape(-1, z.shape[1]), self.model.quantize.embedding,
                                  self.config.l2)
        codes = codes.reshape(z.shape[2:]).cpu().numpy()
        return self.discrete_tokens(codes, self.config.codebook_size, image.shape[:2])

    def decode(self, tokens: Tokens) -> np.ndarray:
        """Pixels from codes (the normalised codewords through ``post_quant_conv`` and the decoder)."""
        import torch

        with torch.inference_mode():
            codes = torch.as_tensor(np.asarray(tokens.data, dtype=np.int64), device=self.device)
            vectors = codebook_vectors(self.model.quantize.embedding, self.config.l2)[codes]  # (16, 16, 8)
            x = decode_latents(self.model, vectors.permute(2, 0, 1)[None].contiguous().to(self._model_dtype()))
        return self.image(x.clamp(-1, 1))
