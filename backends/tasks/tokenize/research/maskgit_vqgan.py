"""The MaskGIT-VQGAN pixel decoder that the original TiTok models (L-32, B-64, S-128) decode through.

TiTok's "legacy" decoder predicts, for every 16 x 16 position, logits over MaskGIT-VQGAN's 1024 codes; their softmax
weights MaskGIT's codebook (``pixel_quantize.embedding.weight``, 1024 x 256) and this CNN turns the result into
pixels. Facts from ``bytedance/1d-tokenizer`` ``modeling/modules/maskgit_vqgan.py`` (after open-muse's port of
Google's MaskGIT tokenizer): hidden 128 x (1, 1, 2, 2, 4), 2 residual blocks per level, no attention, GroupNorm(32,
eps 1e-6), SiLU, bias-free 3x3 convolutions inside residual blocks, nearest upsampling then ``upsample_conv``,
outputs in [0, 1]. Convolutions use TensorFlow's "same" padding, which for these stride-1 odd kernels is the usual
symmetric padding.

A quirk to replicate: when a residual block changes width, the authors apply its 1x1 ``nin_shortcut`` to the block's
*output* and add that, instead of projecting the input (``residual = self.nin_shortcut(hidden_states)``); the
released weights were trained that way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backends.tasks.tokenize.research.common import container, count, shape


@dataclass(frozen=True)
class PixelDecoderConfig:
    """MaskGIT-VQGAN's decoder and codebook.

    Attributes:
        hidden: base channels.
        channel_mult: multiplier per level (len - 1 upsamplings).
        res_blocks: residual blocks per level (and in the middle).
        z_channels: codeword dimension.
        codes: number of MaskGIT codes (the legacy TiTok decoder predicts logits over them).
    """

    hidden: int = 128
    channel_mult: tuple[int, ...] = (1, 1, 2, 2, 4)
    res_blocks: int = 2
    z_channels: int = 256
    codes: int = 1024


def _res_block(cin: int, cout: int) -> Any:
    from torch import nn

    block = container(norm1=nn.GroupNorm(32, cin, eps=1e-6), conv1=nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                      norm2=nn.GroupNorm(32, cout, eps=1e-6), conv2=nn.Conv2d(cout, cout, 3, padding=1, bias=False))
    if cin != cout:
        block.nin_shortcut = nn.Conv2d(cout, cout, 1, bias=False)  # acts on the block's output (see module doc)
    return block


def _res_forward(block: Any, x: Any) -> Any:
    import torch.nn.functional as F

    h = block.conv1(F.silu(block.norm1(x)))
    h = block.conv2(F.silu(block.norm2(h)))
    return h + (block.nin_shortcut(h) if hasattr(block, "nin_shortcut") else x)


def build(config: PixelDecoderConfig) -> tuple[Any, Any]:
    """``(pixel_quantize, pixel_decoder)`` with the authors' key names (``up.{i}`` is level i, 0 the finest)."""
    from torch import nn

    mult, hidden, n = config.channel_mult, config.hidden, config.res_blocks
    levels = len(mult)
    top = hidden * mult[-1]
    up = nn.ModuleList()
    for i in range(levels):
        cin = hidden * mult[i + 1] if i < levels - 1 else top
        cout = hidden * mult[i]
        level = container(block=nn.ModuleList(_res_block(cin if j == 0 else cout, cout) for j in range(n)))
        if i != 0:
            level.upsample_conv = nn.Conv2d(cout, cout, 3, padding=1)
        up.append(level)
    decoder = container(conv_in=nn.Conv2d(config.z_channels, top, 3, padding=1),
                        mid=nn.ModuleList(_res_block(top, top) for _ in range(n)), up=up,
                        norm_out=nn.GroupNorm(32, hidden * mult[0], eps=1e-6),
                        conv_out=nn.Conv2d(hidden * mult[0], 3, 3, padding=1))
    return container(embedding=nn.Embedding(config.codes, config.z_channels)), decoder


def decode(decoder: Any, z: Any) -> Any:
    """(B, z_channels, h, w) -> (B, 3, 16h, 16w), about [0, 1]."""
    import torch.nn.functional as F

    h = decoder.conv_in(z)
    for block in decoder.mid:
        h = _res_forward(block, h)
    for level in reversed(decoder.up):  # coarsest first
        for block in level.block:
            h = _res_forward(block, h)
        if hasattr(level, "upsample_conv"):
            h = level.upsample_conv(F.interpolate(h, scale_factor=2.0, mode="nearest"))
    return decoder.conv_out(F.silu(decoder.norm_out(h)))


def infer_config(state: dict[str, Any], prefix: str = "pixel_decoder.") -> PixelDecoderConfig:
    """The decoder's architecture from a state dict's shapes."""
    hidden = shape(state, f"{prefix}norm_out.weight")[0]
    levels = count(state, f"{prefix}up")
    return PixelDecoderConfig(
        hidden=hidden,
        channel_mult=tuple(shape(state, f"{prefix}up.{i}.block.0.conv2.weight")[0] // hidden for i in range(levels)),
        res_blocks=count(state, f"{prefix}up.0.block"), z_channels=shape(state, f"{prefix}conv_in.weight")[1],
        codes=shape(state, "pixel_quantize.embedding.weight")[0])
