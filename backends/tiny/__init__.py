"""Random-weight miniatures of the studio's models (the offline ``tiny`` profile).

Each miniature instantiates the *same* component classes as the real Hugging Face repo with tiny widths but the
real spatial geometry, is written with ``save_pretrained`` and loads through the same ``from_pretrained(path)``
call as a downloaded model, fully offline. The package is laid out as:

* :mod:`~backends.tiny.architectures`: the one table, arch id -> :class:`Architecture` (diffusers class, pipeline
  or single model, builder module, real repo);
* :mod:`~backends.tiny.common` and :mod:`~backends.tiny.tokenizers`: the shared components and in-memory
  tokenizers;
* the builder modules :mod:`~backends.tiny.t2i`, :mod:`~backends.tiny.inpaint` and
  :mod:`~backends.tiny.autoencoders`, each defining ``build_<id>(out_dir, seed)`` for its architectures.

Only the table is imported here; a builder module (and torch / diffusers / transformers with it) is imported when
a miniature is first built, so importing this package is cheap. Callers flush denormal floats around a build
themselves (``backends.models.device.flushed_denormals``): this package sits below ``backends.models``.
"""

from __future__ import annotations

import importlib
import pathlib
from collections.abc import Callable

from backends.tiny.architectures import ARCHITECTURES, Architecture, UnknownArchitectureError, models, pipelines

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "UnknownArchitectureError",
    "build_miniature",
    "build_tiny_lora",
    "models",
    "pipelines",
]


def build_miniature(arch: str, out_dir: pathlib.Path, seed: int = 0) -> None:
    """Build the random-weight miniature of ``arch`` and ``save_pretrained`` it into ``out_dir``.

    A pipeline is written whole: ``model_index.json`` plus every component (models, tokenizers, scheduler and,
    for HunyuanImage, the guiders); a single model writes its ``config.json`` and weights. ``torch.manual_seed``
    is called before each model is constructed, so the same ``(arch, seed)`` always gives the same weights.

    Args:
        arch: One of the keys of :data:`ARCHITECTURES`.
        out_dir: Target folder; created if missing.
        seed: Seed for the random weights.

    Raises:
        UnknownArchitectureError: (a ``ValueError`` and ``KeyError``) if ``arch`` is unknown; nothing is created.
    """
    architecture = ARCHITECTURES.get(arch)
    if architecture is None:
        raise UnknownArchitectureError(
            f"Unknown tiny architecture {arch!r}; expected one of {sorted(ARCHITECTURES)}."
        )
    module = importlib.import_module(f"{__name__}.{architecture.module}")
    builder: Callable[[pathlib.Path, int], None] = getattr(module, f"build_{architecture.id}")

    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    builder(out_dir, seed)


def build_tiny_lora(
    arch: str, out_dir: pathlib.Path, seed: int = 0, rank: int = 4, scale: float = 1.0
) -> pathlib.Path:
    """Write a random-weight LoRA for the denoiser of an inpainting miniature, in diffusers' LoRA format.

    Re-exported from :func:`backends.tiny.inpaint.build_tiny_lora` (see there for the details), imported on the
    first call so that importing this package stays cheap.

    Args:
        arch: ``"sd_inpaint"``, ``"sdxl_inpaint"`` or ``"flux_fill"``.
        out_dir: Target folder; created if missing.
        seed: Seed of the miniature the LoRA is for; the LoRA weights themselves are seeded from it too.
        rank: LoRA rank.
        scale: Multiplies the LoRA update ``B @ A``.

    Returns:
        ``out_dir``, the folder to pass to ``pipe.load_lora_weights``.

    Raises:
        UnknownArchitectureError: (a ``ValueError``) if ``arch`` has no LoRA-capable miniature.
        ValueError: if ``rank`` is not positive.
    """
    from backends.tiny import inpaint

    return inpaint.build_tiny_lora(arch, out_dir, seed=seed, rank=rank, scale=scale)
