"""Random-weight miniatures of the inpainting pipelines, and a random LoRA for their denoiser (``tiny`` profile).

Same recipe as :mod:`backends.tiny.t2i`: the component classes of the real Hugging Face repo, tiny widths, the real
geometry. The inpainting models differ from their text-to-image parents only in what the denoiser reads:

* SD-1.5 / SDXL inpainting UNets take 9 channels: 4 noisy latents + 1 mask (downsampled to the latent grid)
  + 4 latents of the masked image.
* FLUX.1-Fill's transformer takes 384 channels per 2x2 latent patch: 64 packed noisy latents + 64 packed
  masked-image latents + 256 = 4 latent pixels x (8 x 8) mask pixels (the mask is *not* downsampled, it is
  folded into channels), and predicts 64.

:func:`build_tiny_lora` writes a random LoRA for those denoisers in diffusers' LoRA format, so
``pipe.load_lora_weights(folder)`` works on the loaded miniature exactly as on a real checkpoint (MGHanD's
"natural hands" text-guidance LoRA is loaded that way).

:func:`backends.tiny.build_miniature` calls ``build_<arch>(out_dir, seed)`` here, and :mod:`backends.tiny`
re-exports :func:`build_tiny_lora`. torch / diffusers / transformers / peft are only imported inside functions.
"""

from __future__ import annotations

import pathlib
import types
from collections.abc import Callable, Mapping
from typing import Any

from backends.tiny.architectures import ARCHITECTURES, UnknownArchitectureError
from backends.tiny.common import (
    TEXT_DIM,
    autoencoder_kl,
    clip_text_config,
    flux_shared,
    save_pipeline,
    sdxl_shared,
    seeded,
)
from backends.tiny.tokenizers import clip_tokenizer

# Attention projections that get LoRA layers: the set diffusers' own LoRA training scripts target
# (train_text_to_image_lora*.py, train_dreambooth_lora_flux.py), so a real "natural hands" LoRA has these keys.
_LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")


# --------------------------------------------------------------------------------------------------
# Denoisers (shared by the pipeline builders and by build_tiny_lora, so LoRA shapes always match)
# --------------------------------------------------------------------------------------------------


def _sd_inpaint_unet() -> Any:
    """SD-1.5 inpainting UNet: 9 input channels, 4 blocks (3 downsamples, attention in the first three).

    Real: block_out_channels (320, 640, 1280, 1280), 2 layers per block, 8 heads, cross-attention 768.
    """
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=64, in_channels=9, out_channels=4, layers_per_block=1, block_out_channels=(16, 16, 32, 32),
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3, cross_attention_dim=TEXT_DIM,
        attention_head_dim=2, norm_num_groups=8,
    )


def _sdxl_inpaint_unet() -> Any:
    """SDXL inpainting 0.1 UNet: the SDXL base layout (3 blocks, ``text_time`` conditioning), 9 input channels.

    Real: block_out_channels (320, 640, 1280), transformer depth (1, 2, 10), cross-attention 2048 (768 + 1280),
    added conditioning 2816 = 1280 pooled + 6 x 256 size/crop embeddings (no aesthetic score).
    """
    from diffusers import UNet2DConditionModel

    time_embed_dim = 8  # real 256
    cross_attention_dim = 2 * TEXT_DIM  # both CLIP encoders' hidden states, concatenated
    return UNet2DConditionModel(
        sample_size=128, in_channels=9, out_channels=4, layers_per_block=1, block_out_channels=(16, 32, 32),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        transformer_layers_per_block=(1, 1, 1), attention_head_dim=(2, 2, 2), use_linear_projection=True,
        norm_num_groups=8, cross_attention_dim=cross_attention_dim, addition_embed_type="text_time",
        addition_time_embed_dim=time_embed_dim, projection_class_embeddings_input_dim=TEXT_DIM + 6 * time_embed_dim,
    )


def _flux_fill_transformer() -> Any:
    """FLUX.1-Fill-dev transformer: patch 1 over 2x2-packed latents, in 384 = 64 + 64 + 256, out 64.

    Real: 19 double + 38 single blocks, 24 heads x 128, guidance embedding (Fill-dev is guidance-distilled).
    """
    from diffusers import FluxTransformer2DModel

    latent_channels = 16
    packed = latent_channels * 2 * 2  # 64: one 2x2 patch of 16-channel latents
    mask = 2 * 2 * 8 * 8  # 256: the pixel mask of one patch, 16x16 pixels = 4 latent pixels x (8 x 8)
    return FluxTransformer2DModel(
        patch_size=1, in_channels=packed + packed + mask, out_channels=packed, num_layers=1, num_single_layers=1,
        attention_head_dim=16, num_attention_heads=2, joint_attention_dim=TEXT_DIM, pooled_projection_dim=TEXT_DIM,
        guidance_embeds=True, axes_dims_rope=(4, 6, 6),
    )


# arch -> (denoiser component name, denoiser factory); the pipeline class comes from ARCHITECTURES
_DENOISERS: Mapping[str, tuple[str, Callable[[], Any]]] = types.MappingProxyType({
    "sd_inpaint": ("unet", _sd_inpaint_unet),
    "sdxl_inpaint": ("unet", _sdxl_inpaint_unet),
    "flux_fill": ("transformer", _flux_fill_transformer),
})


# --------------------------------------------------------------------------------------------------
# Pipelines
# --------------------------------------------------------------------------------------------------


def build_sd_inpaint(out_dir: pathlib.Path, seed: int) -> None:
    """stable-diffusion-v1-5/stable-diffusion-inpainting: CLIP-L, 9-channel UNet, SD VAE (scale 8), DDIM.

    The real repo ships a DDIMScheduler (scaled-linear betas, ``steps_offset=1``). Its safety checker is left
    out, as the studio loads it with ``safety_checker=None``.

    Args:
        out_dir: Folder that ``save_pretrained`` writes the miniature into.
        seed: Seed for the random weights.
    """
    from diffusers import DDIMScheduler
    from transformers import CLIPTextModel

    tokenizer = clip_tokenizer()
    text_encoder = seeded(seed, CLIPTextModel, clip_text_config(len(tokenizer)))
    unet = seeded(seed, _sd_inpaint_unet)
    vae = seeded(seed, autoencoder_kl, latent_channels=4, scaling_factor=0.18215, sample_size=512)
    scheduler = DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False, set_alpha_to_one=False,
        steps_offset=1,
    )
    save_pipeline(
        "StableDiffusionInpaintPipeline", out_dir, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
        unet=unet, scheduler=scheduler, safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )


def build_sdxl_inpaint(out_dir: pathlib.Path, seed: int) -> None:
    """diffusers/stable-diffusion-xl-1.0-inpainting-0.1: CLIP-L + OpenCLIP-bigG, 9-channel SDXL UNet, Euler.

    Args:
        out_dir: Folder that ``save_pretrained`` writes the miniature into.
        seed: Seed for the random weights.
    """
    save_pipeline(
        "StableDiffusionXLInpaintPipeline", out_dir, unet=seeded(seed, _sdxl_inpaint_unet), **sdxl_shared(seed),
        requires_aesthetics_score=False, force_zeros_for_empty_prompt=True,
    )


def build_flux_fill(out_dir: pathlib.Path, seed: int) -> None:
    """black-forest-labs/FLUX.1-Fill-dev: CLIP-L + T5, 384-channel transformer, FLUX VAE (16 ch, scale 8).

    Scheduler as FLUX.1-dev: shift 3 with resolution-dependent (dynamic) shifting.

    Args:
        out_dir: Folder that ``save_pretrained`` writes the miniature into.
        seed: Seed for the random weights.
    """
    from diffusers import FlowMatchEulerDiscreteScheduler

    transformer = seeded(seed, _flux_fill_transformer)
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15, base_image_seq_len=256,
        max_image_seq_len=4096,
    )
    save_pipeline("FluxFillPipeline", out_dir, scheduler=scheduler, transformer=transformer, **flux_shared(seed))


# --------------------------------------------------------------------------------------------------
# LoRA
# --------------------------------------------------------------------------------------------------


def build_tiny_lora(
    arch: str, out_dir: pathlib.Path, seed: int = 0, rank: int = 4, scale: float = 1.0
) -> pathlib.Path:
    """Write a random-weight LoRA for the denoiser of an inpainting miniature, in diffusers' LoRA format.

    LoRA layers (rank ``rank``) go on the attention projections ``to_q``, ``to_k``, ``to_v`` and ``to_out.0`` of
    the UNet (``sd_inpaint``, ``sdxl_inpaint``) or transformer (``flux_fill``), built with the same factory and
    seed as :func:`backends.tiny.build_miniature`, so every key and shape matches that miniature. Unlike a freshly
    initialised LoRA (B = 0, a no-op), both A and B are random, so loading it changes the output.

    The file is ``out_dir / "pytorch_lora_weights.safetensors"``, written by the pipeline class's
    ``save_lora_weights``; load it with ``pipe.load_lora_weights(out_dir)`` (optionally ``adapter_name=...``,
    then ``pipe.set_adapters([...], adapter_weights=[...])`` to change its strength).

    Args:
        arch: ``"sd_inpaint"``, ``"sdxl_inpaint"`` or ``"flux_fill"``.
        out_dir: Target folder; created if missing.
        seed: Seed of the miniature the LoRA is for; the LoRA weights themselves are seeded from it too.
        rank: LoRA rank (``lora_alpha`` is set equal, so the LoRA scale is 1 at load time).
        scale: Multiplies the LoRA update ``B @ A``; baked into B, because diffusers' loader re-derives
            ``lora_alpha`` from the saved tensors and would drop a separate alpha.

    Returns:
        ``out_dir``, the folder to pass to ``load_lora_weights``.

    Raises:
        UnknownArchitectureError: (a ``ValueError``) if ``arch`` has no LoRA-capable miniature here.
        ValueError: if ``rank`` is not positive.
    """
    if arch not in _DENOISERS:
        raise UnknownArchitectureError(
            f"No tiny LoRA for architecture {arch!r}; expected one of {sorted(_DENOISERS)}."
        )
    if rank < 1:
        raise ValueError(f"LoRA rank must be a positive integer, got {rank}")

    import diffusers
    import torch
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    component, factory = _DENOISERS[arch]
    denoiser = seeded(seed, factory)
    denoiser.add_adapter(LoraConfig(r=rank, lora_alpha=rank, target_modules=list(_LORA_TARGETS)))

    # Overwrite peft's init (B = 0) with seeded Gaussians scaled like a trained update: A ~ 1/sqrt(fan_in) keeps
    # A x at the size of x, B ~ scale/sqrt(rank) makes B A x comparable to the frozen projection's output.
    generator = torch.Generator().manual_seed(seed + 1)  # +1: not the stream that initialised the base weights
    with torch.no_grad():
        for name, param in sorted(denoiser.named_parameters()):
            if ".lora_A." in name:
                param.copy_(torch.randn(param.shape, generator=generator) * param.shape[1] ** -0.5)
            elif ".lora_B." in name:
                param.copy_(torch.randn(param.shape, generator=generator) * scale * rank**-0.5)

    # The training scripts' recipe: peft state dict (adapter name stripped) -> diffusers key names -> save.
    lora_layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(denoiser))
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    getattr(diffusers, ARCHITECTURES[arch].class_name).save_lora_weights(
        out_dir, safe_serialization=True, **{f"{component}_lora_layers": lora_layers}
    )
    return out_dir

