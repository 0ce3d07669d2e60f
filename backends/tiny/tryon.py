"""Random-weight miniatures of the try-on models (``tiny`` profile): CatVTON-MaskFree, CatVTON and OmniTry.

CatVTON's models are not pipelines: a base UNet, CatVTON's attention-only checkpoint, a VAE and the base's scheduler
config. Each CatVTON miniature is therefore the base UNet saved as a single model (``config.json`` + weights,
loadable with ``UNet2DConditionModel.from_pretrained``), next to which the builder writes what the backend also
reads from the hub:

* ``scheduler/scheduler_config.json``: the base repo's scheduler config (InstructPix2Pix ships Euler ancestral,
  SD inpainting PNDM; CatVTON reads either as DDIM);
* ``attention/model.safetensors``: a CatVTON attention checkpoint for that UNet in the released flat-list layout
  (the ``attn1`` modules of ``unet.named_modules()`` as one ``ModuleList``, eight slots per block because CatVTON's
  processors are modules; each tensor stored once under its ``N.to_q.weight``-style name, as ``accelerate`` saves
  it). Its weights are drawn from another seed than the UNet's, as trained weights would differ from the base.

The VAE is the ``vae_sd`` miniature (``stabilityai/sd-vae-ft-mse``). OmniTry's miniature is a FLUX.1-Fill
pipeline (the ``flux_fill`` recipe) with a LoRA file in OmniTry's layout: two adapters, ``vtryon_lora`` and
``garment_lora``, keyed the peft way (``...to_q.lora_A.vtryon_lora.weight``) on OmniTry's target modules.
"""

from __future__ import annotations

import pathlib
from typing import Any

from backends.tiny import inpaint
from backends.tiny.common import TEXT_DIM, save_model, seeded

ATTENTION_FILE = "model.safetensors"
OMNITRY_LORA = "omnitry_v1_unified.safetensors"
OMNITRY_ADAPTERS = ("vtryon_lora", "garment_lora")  # row 0 (person), row 1 (garment)
# OmniTry's LoRA targets (its config's target modules), the same for both adapters.
OMNITRY_TARGETS = ("x_embedder", "attn.to_q", "attn.to_k", "attn.to_v", "attn.to_out.0", "attn.add_q_proj",
                   "attn.add_k_proj", "attn.add_v_proj", "attn.to_add_out", "ff.net.0.proj", "ff.net.2",
                   "ff_context.net.0.proj", "ff_context.net.2", "norm1.linear", "norm1_context.linear",
                   "norm.linear", "proj_mlp", "proj_out")
OMNITRY_RANK = 4  # real: 16 (lora_alpha 16)


def _unet(in_channels: int) -> Any:
    """The SD-1.5 UNet layout (4 blocks, attention in the first three, 2 layers per block: 16 ``attn1`` blocks as in
    the real model) with tiny widths. Real: block_out_channels (320, 640, 1280, 1280), 8 heads, cross-attention 768.
    """
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=64, in_channels=in_channels, out_channels=4, layers_per_block=2,
        block_out_channels=(16, 16, 32, 32), down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3, cross_attention_dim=TEXT_DIM,
        attention_head_dim=2, norm_num_groups=8,
    )


def _write_attention(unet: Any, folder: pathlib.Path, seed: int) -> None:
    """A CatVTON attention checkpoint for ``unet`` in the released flat-list layout (see the module docstring)."""
    import torch
    from safetensors.torch import save_file

    names = [name for name, _ in unet.named_modules() if "attn1" in name]
    slots: list[str] = []
    for index, name in enumerate(names):  # CatVTON's processor module is the last child of each attn1
        slots.append(name)
        root = name[: name.index("attn1") + len("attn1")]
        if index + 1 == len(names) or not names[index + 1].startswith(f"{root}."):
            slots.append(f"{root}.processor")
    modules = dict(unet.named_modules())
    generator = torch.Generator().manual_seed(seed + 1)  # "trained": not the base UNet's weights
    tensors: dict[str, Any] = {}
    seen: set[str] = set()
    for index, name in enumerate(slots):
        module = modules.get(name)
        if module is None:
            continue
        for parameter, value in module.named_parameters():
            full = f"{name}.{parameter}"
            if full in seen:  # accelerate's save_model keeps the first alias of a shared tensor
                continue
            seen.add(full)
            tensors[f"{index}.{parameter}"] = torch.randn(value.shape, generator=generator) * value.shape[-1] ** -0.5
    (folder / "attention").mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / "attention" / ATTENTION_FILE), metadata={"format": "pt"})


def _build_catvton(out_dir: pathlib.Path, seed: int, in_channels: int, scheduler: dict[str, Any]) -> None:
    from diffusers import EulerAncestralDiscreteScheduler, PNDMScheduler

    unet = seeded(seed, _unet, in_channels)
    save_model(unet, out_dir)
    cls = {"EulerAncestralDiscreteScheduler": EulerAncestralDiscreteScheduler, "PNDMScheduler": PNDMScheduler}
    kind = scheduler.pop("class")
    cls[kind](**scheduler).save_pretrained(out_dir / "scheduler")
    _write_attention(unet, out_dir, seed)


def build_catvton_maskfree(out_dir: pathlib.Path, seed: int) -> None:
    """CatVTON-MaskFree: timbrooks/instruct-pix2pix's 8-channel UNet (4 noisy + 4 image latents), its Euler-ancestral
    scheduler config, and a CatVTON attention checkpoint.

    Args:
        out_dir: Folder the miniature is written into.
        seed: Seed for the random weights.
    """
    _build_catvton(out_dir, seed, 8, {"class": "EulerAncestralDiscreteScheduler", "beta_start": 0.00085,
                                      "beta_end": 0.012, "beta_schedule": "scaled_linear", "steps_offset": 1})


def build_catvton(out_dir: pathlib.Path, seed: int) -> None:
    """CatVTON: SD-1.5 inpainting's 9-channel UNet (4 noisy + 1 mask + 4 masked-image latents), its PNDM scheduler
    config, and a CatVTON attention checkpoint.

    Args:
        out_dir: Folder the miniature is written into.
        seed: Seed for the random weights.
    """
    _build_catvton(out_dir, seed, 9, {"class": "PNDMScheduler", "beta_start": 0.00085, "beta_end": 0.012,
                                      "beta_schedule": "scaled_linear", "skip_prk_steps": True, "steps_offset": 1,
                                      "set_alpha_to_one": False})


def build_omnitry(out_dir: pathlib.Path, seed: int) -> None:
    """OmniTry: the FLUX.1-Fill-dev miniature plus a LoRA file with OmniTry's two adapters (see the docstring).

    Args:
        out_dir: Folder the miniature is written into.
        seed: Seed for the random weights.
    """
    import torch
    from diffusers import FluxTransformer2DModel
    from peft import LoraConfig
    from safetensors.torch import save_file

    inpaint.build_flux_fill(out_dir, seed)
    transformer = FluxTransformer2DModel.from_pretrained(out_dir / "transformer")
    for name in OMNITRY_ADAPTERS:
        transformer.add_adapter(LoraConfig(r=OMNITRY_RANK, lora_alpha=OMNITRY_RANK,
                                           target_modules=list(OMNITRY_TARGETS)), adapter_name=name)
    generator = torch.Generator().manual_seed(seed + 1)
    tensors = {}
    for name, value in sorted(transformer.state_dict().items()):
        if ".lora_" in name:  # both A and B random, so each adapter changes its row's output
            fan = value.shape[1] if ".lora_A." in name else OMNITRY_RANK
            tensors[name] = torch.randn(value.shape, generator=generator) * fan**-0.5 * 0.5
    save_file(tensors, str(out_dir / OMNITRY_LORA), metadata={"format": "pt"})
