"""The one table of random-weight miniatures: which class each arch id builds, and where its builder lives.

Each :class:`Architecture` names the diffusers class the miniature loads with (a pipeline saved with the
pipeline's ``save_pretrained``, so its folder holds a ``model_index.json``, or a single model whose folder holds a
``config.json``), the builder module inside :mod:`backends.tiny` that defines ``build_<id>(out_dir, seed)``, and
the Hugging Face repo whose classes and geometry it mimics. This module imports nothing heavy and nothing else
from the project, so reading the table is free.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from typing import Literal

#: How a miniature is saved: a whole ``"pipeline"`` (``model_index.json``) or a single ``"model"`` (``config.json``),
#: both diffusers; or a ``"transformers"`` model saved with its processor (``config.json`` + processor files), loaded
#: with ``getattr(transformers, class_name).from_pretrained`` and ``AutoProcessor.from_pretrained``; or ``"files"``:
#: a research model's released files (checkpoints, tokenizer and encoder folders, plus a ``config.json`` marking the
#: build), loaded by the studio's own modules (``loader="code"``) built on the transformers class ``class_name``.
Kind = Literal["pipeline", "model", "transformers", "files"]

KINDS: tuple[Kind, ...] = ("pipeline", "model", "transformers", "files")
#: Builder modules inside :mod:`backends.tiny`.
MODULES = ("t2i", "inpaint", "autoencoders", "vlm", "tryon", "omnimamba")


class UnknownArchitectureError(ValueError, KeyError):
    """Raised for an arch id that is not in :data:`ARCHITECTURES` (or has no tiny LoRA).

    It is a ``ValueError`` (bad input, like the studio's ``InvalidInput``) and a ``KeyError`` (a failed
    lookup), so callers can catch either.
    """

    def __str__(self) -> str:
        # KeyError.__str__ would wrap the message in quotes; show it as a plain sentence instead.
        return str(self.args[0]) if self.args else ""


@dataclasses.dataclass(frozen=True, slots=True)
class Architecture:
    """One random-weight miniature.

    Attributes:
        id: The arch id (``ModelSpec.architecture``); also the miniature's folder name and the builder's suffix.
        class_name: The class to load it with: ``getattr(diffusers, class_name).from_pretrained(folder)`` (or
            ``transformers`` for kind ``"transformers"``).
        kind: ``"pipeline"``, ``"model"`` or ``"transformers"`` (see :data:`Kind`).
        module: The module of :mod:`backends.tiny` that defines ``build_<id>(out_dir, seed)``.
        real_repo: The Hugging Face repo whose component classes and geometry the miniature copies.
    """

    id: str
    class_name: str
    kind: Kind
    module: str
    real_repo: str

    def __post_init__(self) -> None:
        # Catches a typo in the table at import time instead of at the first build.
        if self.kind not in KINDS:
            raise ValueError(f"{self.id}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.module not in MODULES:
            raise ValueError(f"{self.id}: module must be one of {MODULES}, got {self.module!r}")


def _by_id(*architectures: Architecture) -> Mapping[str, Architecture]:
    """The read-only mapping arch id -> architecture, in the given order."""
    table = {arch.id: arch for arch in architectures}
    if len(table) != len(architectures):  # a repeated id would silently replace the earlier entry
        raise ValueError("duplicate arch id in the tiny architecture table")
    return types.MappingProxyType(table)


#: arch id -> :class:`Architecture`. Read-only, as the house rules forbid module-level mutable state.
ARCHITECTURES: Mapping[str, Architecture] = _by_id(
    # Text-to-image pipelines (t2i.py)
    Architecture("sd", "StableDiffusionPipeline", "pipeline", "t2i",
                 "IDEA-CCNL/Taiyi-Stable-Diffusion-1B-Chinese-EN-v0.1"),
    Architecture("sdxl", "StableDiffusionXLPipeline", "pipeline", "t2i", "stabilityai/stable-diffusion-xl-base-1.0"),
    Architecture("flux", "FluxPipeline", "pipeline", "t2i", "black-forest-labs/FLUX.1-schnell"),
    Architecture("kolors", "KolorsPipeline", "pipeline", "t2i", "Kwai-Kolors/Kolors-diffusers"),
    Architecture("hunyuan_dit", "HunyuanDiTPipeline", "pipeline", "t2i", "Tencent-Hunyuan/HunyuanDiT-v1.2-Diffusers"),
    Architecture("cogview4", "CogView4Pipeline", "pipeline", "t2i", "THUDM/CogView4-6B"),
    Architecture("qwen_image", "QwenImagePipeline", "pipeline", "t2i", "Qwen/Qwen-Image"),
    Architecture("hunyuan_image", "HunyuanImagePipeline", "pipeline", "t2i",
                 "hunyuanvideo-community/HunyuanImage-2.1-Diffusers"),
    # Inpainting pipelines (inpaint.py)
    Architecture("sd_inpaint", "StableDiffusionInpaintPipeline", "pipeline", "inpaint",
                 "stable-diffusion-v1-5/stable-diffusion-inpainting"),
    Architecture("sdxl_inpaint", "StableDiffusionXLInpaintPipeline", "pipeline", "inpaint",
                 "diffusers/stable-diffusion-xl-1.0-inpainting-0.1"),
    Architecture("flux_fill", "FluxFillPipeline", "pipeline", "inpaint", "black-forest-labs/FLUX.1-Fill-dev"),
    # Single autoencoders, compared by the tokenizer visualizer (autoencoders.py). Two live in a subfolder of
    # their repo: vae_flux in FLUX.1-schnell's "vae", vqgan in the Kandinsky 2.2 decoder's "movq".
    Architecture("vae_sd", "AutoencoderKL", "model", "autoencoders", "stabilityai/sd-vae-ft-mse"),
    Architecture("vae_sdxl", "AutoencoderKL", "model", "autoencoders", "madebyollin/sdxl-vae-fp16-fix"),
    Architecture("vae_flux", "AutoencoderKL", "model", "autoencoders", "black-forest-labs/FLUX.1-schnell"),
    Architecture("taesd", "AutoencoderTiny", "model", "autoencoders", "madebyollin/taesd"),
    Architecture("vqgan", "VQModel", "model", "autoencoders", "kandinsky-community/kandinsky-2-2-decoder"),
    Architecture("vae_mar16", "AutoencoderKL", "model", "autoencoders", "xwen99/mar-vae-kl16"),
    Architecture("dc_ae_f32c32", "AutoencoderDC", "model", "autoencoders",
                 "mit-han-lab/dc-ae-f32c32-sana-1.0-diffusers"),
    # Vision-language models of the face tab, each with its processor (vlm.py); transformers classes.
    Architecture("vlm_idefics3", "AutoModelForImageTextToText", "transformers", "vlm",
                 "HuggingFaceTB/SmolVLM-256M-Instruct"),
    Architecture("vlm_florence2", "AutoModelForImageTextToText", "transformers", "vlm",
                 "florence-community/Florence-2-base"),
    Architecture("vlm_gemma3", "AutoModelForImageTextToText", "transformers", "vlm", "google/gemma-3-4b-it"),
    Architecture("vlm_paligemma", "AutoModelForImageTextToText", "transformers", "vlm",
                 "google/paligemma2-3b-mix-224"),
    # Try-on (tryon.py): CatVTON's base UNets saved as single models, each with its base's scheduler config and a
    # CatVTON attention checkpoint (released flat-list layout) beside it; OmniTry's FLUX.1-Fill with its LoRA file.
    Architecture("catvton_maskfree", "UNet2DConditionModel", "model", "tryon", "timbrooks/instruct-pix2pix"),
    Architecture("catvton", "UNet2DConditionModel", "model", "tryon",
                 "stable-diffusion-v1-5/stable-diffusion-inpainting"),
    Architecture("omnitry", "FluxFillPipeline", "pipeline", "tryon", "black-forest-labs/FLUX.1-Fill-dev"),
    # OmniMamba (omnimamba.py): its released files (checkpoint, VQ-16, tokenizer, DINOv2, SigLIP) on Mamba2Model.
    Architecture("omnimamba", "Mamba2Model", "files", "omnimamba", "hustvl/OmniMamba"),
)


def pipelines() -> tuple[str, ...]:
    """The ids of the miniatures saved as whole pipelines (``model_index.json``), in table order."""
    return tuple(arch.id for arch in ARCHITECTURES.values() if arch.kind == "pipeline")


def models() -> tuple[str, ...]:
    """The ids of the miniatures saved as single models (``config.json``), in table order."""
    return tuple(arch.id for arch in ARCHITECTURES.values() if arch.kind == "model")


def transformers_models() -> tuple[str, ...]:
    """The ids of the transformers miniatures (model + processor), in table order."""
    return tuple(arch.id for arch in ARCHITECTURES.values() if arch.kind == "transformers")
