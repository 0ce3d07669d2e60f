"""The image decoder OmniMamba generates for: LlamaGen's VQ-16 (``peizesun/llamagen_t2i`` / ``vq_ds16_t2i.pt``), a
taming-style VQGAN with a 16384 x 8 l2-normalised codebook, loaded into diffusers' ``VQModel`` (the same network:
GroupNorm(32, eps 1e-6) + SiLU residual blocks, single-head attention at the lowest level and in the middle, zero-pad
(0, 1, 0, 1) stride-2 downsampling, nearest upsampling + 3x3 conv, 2 residual blocks per encoder level and 3 per
decoder level) through ``keymap.vq_key``.

Codes decode as the authors' ``VQModel.decode_code`` does: l2-normalised codewords, laid out (B, 8, 16, 16), through
``post_quant_conv`` and the decoder, to pixels in about [-1, 1].
"""

from __future__ import annotations

from typing import Any

from backends.core.errors import ModelUnavailable
from backends.tasks.omnimamba import keymap


def vq_config(state: dict[str, Any]) -> dict[str, Any]:
    """The ``VQModel`` arguments of a LlamaGen VQ state dict (its own names), read from the shapes."""
    try:
        levels = 1 + max(int(k.split(".")[2]) for k in state if k.startswith("encoder.conv_blocks."))
        widths = tuple(int(state[f"encoder.conv_blocks.{i}.res.0.conv1.weight"].shape[0]) for i in range(levels))
        size, dim = (int(s) for s in state["quantize.embedding.weight"].shape)
        latent = int(state["encoder.conv_out.weight"].shape[0])
        per_level = 1 + max(int(k.split(".")[4]) for k in state if k.startswith("encoder.conv_blocks.0.res."))
    except (KeyError, ValueError) as exc:
        raise ModelUnavailable(f"the VQ checkpoint is not a LlamaGen VQ model ({exc})") from exc
    return {"in_channels": 3, "out_channels": 3, "block_out_channels": widths, "layers_per_block": per_level,
            "down_block_types": ("DownEncoderBlock2D",) * (levels - 1) + ("AttnDownEncoderBlock2D",),
            "up_block_types": ("AttnUpDecoderBlock2D",) + ("UpDecoderBlock2D",) * (levels - 1),
            "act_fn": "silu", "latent_channels": latent, "norm_num_groups": 32, "vq_embed_dim": dim,
            "num_vq_embeddings": size, "sample_size": 256}


def load_vq(state: dict[str, Any], device: str, dtype: Any) -> tuple[Any, keymap.KeyReport]:
    """``VQModel`` with the LlamaGen state dict loaded strictly (only ``quantize.codebook_used`` dropped).

    Raises:
        ModelUnavailable: the keys or shapes do not match a LlamaGen VQ model.
    """
    import torch
    from diffusers import VQModel

    mapped, dropped = keymap.map_vq(state, reshape=lambda t: t.reshape(t.shape[0], t.shape[1]))
    with torch.device("meta"):
        model = VQModel(**vq_config(state))
    report = keymap.compare(model.state_dict(), mapped, dropped)
    if not report.ok:
        raise ModelUnavailable(f"vq_ds16_t2i.pt does not match LlamaGen's VQ-16:\n{report.describe()}")
    model.load_state_dict(mapped, strict=True, assign=True)
    return model.to(device=device, dtype=dtype).eval(), report


def decode_codes(model: Any, codes: Any, grid: int = 16) -> Any:
    """(B, grid * grid) codes -> (B, 3, 16 grid, 16 grid) pixels in about [-1, 1]."""
    import torch.nn.functional as F

    table = F.normalize(model.quantize.embedding.weight, p=2, dim=-1)  # LlamaGen's l2-normalised codebook
    z = table[codes].reshape(codes.shape[0], grid, grid, -1).permute(0, 3, 1, 2).contiguous()  # (B, 8, g, g)
    return model.decode(z, force_not_quantize=True).sample
