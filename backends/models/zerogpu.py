"""Hugging Face ZeroGPU: the GPU exists only inside functions decorated with ``spaces.GPU``.

On ZeroGPU hardware (``SPACES_ZERO_GPU``, read into ``Settings.zero_gpu``) a call of a decorated function schedules
a GPU, then runs the function in a forked worker process: arguments and results are pickled, async functions are
refused, and an exception that is not a ``gr.Error`` comes back as a generic "ZeroGPU worker error" (spaces 0.51.3,
``spaces/zero/wrappers.py``). Hence:

- ``gpu_entry`` applies ``spaces.GPU`` (imported only then) with a duration computed from the request, and is the
  identity elsewhere; it refuses coroutine and async-generator functions everywhere, so local runs catch what only
  ZeroGPU would reject.
- The studio has ONE entry point, the local executor's device job; studio errors travel back inside an ``Outcome``
  and are raised again in the main process with their class and message.
- Models load lazily on the CPU in the main process; inside the call ``to_accelerator`` moves the model to CUDA
  unless it is there already (a worker is forked fresh or reused while it stays alive, so either can happen).
"""

from __future__ import annotations

import functools
import inspect
import math
import pickle
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from backends.core.errors import StudioError
from backends.core.run import ProgressSink, RunControl
from backends.core.settings import Settings
from backends.models.spec import ModelSpec

F = TypeVar("F", bound=Callable[..., Any])
GPU_ENTRY_ATTR = "__studio_gpu_entry__"

# Duration estimate of one call (seconds), for ZeroGPU's scheduler: moving the weights in, plus steps x a per-step
# cost that grows with the model and the pixel count. Rough figures for an H200/RTX Pro 6000 class GPU [unverified:
# not measured]; ZeroGPU's default is 60 s and too long an estimate costs the visitor's quota only if used.
MOVE_SECONDS_PER_GB = 0.5
STEP_SECONDS_PER_10GB_MEGAPIXEL = 0.08
BASE_SECONDS = 10
MIN_SECONDS, MAX_SECONDS = 15, 300
DEFAULT_STEPS = 30
GPU_SIZES = ("large", "xlarge")  # half an RTX Pro 6000 (48 GB), the whole card (96 GB, twice the quota)
XLARGE_FROM_GB = 45.0  # spaces/zero/configs.json: xlarge_threshold ~ 42 GiB


@dataclass(frozen=True)
class Outcome:
    """What a GPU entry returns: its value, or the studio error it raised (pickled across the worker boundary).

    Attributes:
        value: the result when the call succeeded.
        error: the ``StudioError`` raised inside, re-raised by ``unwrap`` in the calling process.
    """

    value: Any = None
    error: StudioError | None = None

    def unwrap(self) -> Any:
        """The value, or raise the error with its class and message."""
        if self.error is not None:
            raise self.error
        return self.value


@dataclass(frozen=True)
class PortableControl:
    """The part of a ``RunControl`` that can cross into a ZeroGPU worker: progress (when its sink pickles, as the
    tabs' ``gr.Progress`` adapter does) and the slice of the bar; not Stop, whose event lives in this process."""

    on_progress: ProgressSink | None = None
    start: float = 0.0
    span: float = 1.0

    @classmethod
    def of(cls, control: RunControl | None) -> PortableControl:
        """What of ``control`` can be pickled."""
        if control is None:
            return cls()
        sink = control.on_progress
        try:
            pickle.dumps(sink)
        except Exception:  # a closure or a lock: progress then stops at the worker boundary
            sink = None
        return cls(sink, control.start, control.span)

    def control(self) -> RunControl:
        """A run control for the worker side."""
        return RunControl(on_progress=self.on_progress, start=self.start, span=self.span)


def gpu_entry(duration: float | Callable[..., float] = 60, *, enabled: bool = False,
              size: str | None = None) -> Callable[[F], F]:
    """Mark ``fn`` as a GPU entry point; on ZeroGPU (``enabled``) wrap it with ``spaces.GPU``.

    Args:
        duration: seconds, or a function of the call's arguments returning seconds (ZeroGPU's dynamic duration).
        enabled: whether this process runs on ZeroGPU (``Settings.zero_gpu``); False makes this the identity.
        size: ``"large"`` or ``"xlarge"`` (None: ZeroGPU's default, large).

    Raises:
        TypeError: ``fn`` is a coroutine or async-generator function (ZeroGPU runs sync functions only).
    """

    def decorate(fn: F) -> F:
        if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
            raise TypeError(f"{fn.__qualname__} is async; ZeroGPU runs only sync functions and generators")
        target = fn
        if enabled:
            import spaces  # only on ZeroGPU; imported before torch touches CUDA (app.py builds this first)

            target = spaces.GPU(fn, duration=duration, size=size)
        if target is fn:
            # Mark a thin wrapper rather than the function itself (bound methods take no attributes).
            @functools.wraps(fn)
            def entry(*args: Any, **kwargs: Any) -> Any:
                return fn(*args, **kwargs)

            target = entry
        setattr(target, GPU_ENTRY_ATTR, {"duration": duration, "size": size, "zero_gpu": enabled})
        return target  # type: ignore[return-value]

    return decorate


def is_gpu_entry(fn: Any) -> bool:
    """Whether ``fn`` was made by ``gpu_entry``."""
    return hasattr(fn, GPU_ENTRY_ATTR)


def estimate_seconds(spec: ModelSpec, request: Any) -> int:
    """ZeroGPU duration of one request: weights moved in, then the denoising steps at the requested size."""
    steps = getattr(request, "steps", None) or getattr(spec.defaults, "steps", None) or DEFAULT_STEPS
    width, height = getattr(request, "width", None) or 1024, getattr(request, "height", None) or 1024
    megapixels = width * height / 1024**2
    seconds = (BASE_SECONDS + MOVE_SECONDS_PER_GB * spec.vram_gb
               + steps * STEP_SECONDS_PER_10GB_MEGAPIXEL * max(spec.vram_gb, 1) / 10 * megapixels)
    return int(min(MAX_SECONDS, max(MIN_SECONDS, math.ceil(seconds))))


def gpu_size(specs: list[ModelSpec]) -> str:
    """``"xlarge"`` (a whole card, 96 GB) when one of ``specs`` needs more than half a card, else ``"large"``."""
    return "xlarge" if any(s.vram_gb > XLARGE_FROM_GB for s in specs) else "large"


def to_accelerator(backend: Any, settings: Settings, device: str = "cuda") -> bool:
    """Move a loaded ``PretrainedBackend``'s model to ``device`` unless it is there already; True when it moved.

    With ``STUDIO_DTYPE=auto`` the weights take the model card's GPU dtype on the way (they were loaded in float32
    on the CPU); set ``STUDIO_DTYPE`` to load them in half precision on the CPU already and halve the RAM they use.
    """
    loaded = getattr(backend, "loaded", None)
    if loaded is None or str(loaded.device).startswith(device):
        return False
    from backends.models import device as device_policy

    dtype = device_policy.resolve_dtype(replace(settings, device=device), backend.spec, device)
    loaded.model.to(device, dtype)
    backend.loaded = replace(loaded, device=device, dtype=str(dtype).removeprefix("torch."))
    return True


def run_in_outcome(fn: Callable[[], Any]) -> Outcome:
    """Call ``fn``; a studio error becomes an ``Outcome`` (ZeroGPU would replace it with a generic error)."""
    try:
        return Outcome(value=fn())
    except StudioError as exc:
        return Outcome(error=exc)
