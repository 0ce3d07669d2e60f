"""Device policy: where models run, in which dtype, how much memory they may use, and what an OOM looks like.

torch is imported inside the functions, when a model is about to load, so importing this module is free.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from backends.core.errors import ModelUnavailable
from backends.core.settings import DTYPES, Settings

if TYPE_CHECKING:
    import torch

    from backends.models.spec import ModelSpec

GPU_BUDGET_FRACTION = 0.9  # leave room for activations, the CUDA context and fragmentation
CPU_BUDGET_FRACTION = 0.5  # the host also runs the server, the browser's uploads and the OS


def resolve_device(settings: Settings) -> str:
    """The torch device string to load models on: CUDA when present, then MPS, then CPU."""
    import torch

    if settings.device != "auto":
        if settings.device.startswith("cuda") and not torch.cuda.is_available():
            raise ModelUnavailable(f"STUDIO_DEVICE={settings.device} but no CUDA device is visible to torch")
        return settings.device
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def resolve_dtype(settings: Settings, spec: ModelSpec, device: str) -> torch.dtype:
    """Pick the weights dtype for ``spec`` on ``device``.

    ``auto`` uses the model card's dtype on a GPU and float32 on CPU (CPU half precision is slow and, for some
    ops, missing). A dtype the model forbids (CogView4 overflows to black images in float16) is an error.
    """
    import torch

    name = settings.dtype
    if name == "auto":
        if device == "cpu":
            name = "float32"
        elif spec.dtype == "bfloat16" and not supports_bfloat16(device):
            name = "float32" if "float16" in spec.forbidden_dtypes else "float16"
        else:
            name = spec.dtype
    if name in spec.forbidden_dtypes:
        allowed = [d for d in DTYPES[1:] if d not in spec.forbidden_dtypes]
        raise ModelUnavailable(
            f"{spec.key} cannot run in {name} ({spec.notes or 'the model card forbids it'}); "
            f"set STUDIO_DTYPE to one of {', '.join(allowed)} or auto"
        )
    return getattr(torch, name)


def supports_bfloat16(device: str) -> bool:
    """Whether ``device`` computes in bfloat16 (MPS lacks it on many macOS versions)."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.is_bf16_supported()
    return device == "cpu"


def memory_budget(settings: Settings) -> int:
    """Bytes the model cache may fill on the device models will run on.

    ``STUDIO_CACHE_BUDGET_GB`` when set; otherwise 90% of that CUDA device's memory (the device index of
    ``STUDIO_DEVICE``, not device 0), MPS's recommended working set, or half of the host's RAM on a CPU.
    """
    if settings.cache_budget_gb > 0:
        return int(settings.cache_budget_gb * 1024**3)
    import torch

    device = resolve_device(settings)
    if device.startswith("cuda"):
        index = torch.device(device).index
        index = torch.cuda.current_device() if index is None else index
        return int(torch.cuda.get_device_properties(index).total_memory * GPU_BUDGET_FRACTION)
    if device == "mps":
        return int(torch.mps.recommended_max_memory() * GPU_BUDGET_FRACTION)
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * CPU_BUDGET_FRACTION)


@contextlib.contextmanager
def flushed_denormals(enabled: bool = True) -> Iterator[None]:
    """Flush denormal floats to zero while a random-weight miniature runs, then restore the default.

    Random miniatures produce many tiny activations, and denormals make CPU kernels several times slower. The
    flag is per thread and must not stay on: TFLite's XNNPACK delegate (mediapipe's selfie segmentation) fails to
    prepare its graph on a thread that flushes denormals.
    """
    if not enabled:
        yield
        return
    import torch

    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` means the device (or the host) ran out of memory."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(exc, torch.OutOfMemoryError):
        return True
    if isinstance(exc, MemoryError):
        return True
    # MPS and some CUDA paths raise a plain RuntimeError.
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def release_device_memory() -> None:
    """Collect garbage and return cached blocks to the driver, so a retry starts from a clean slate."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
