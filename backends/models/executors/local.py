"""Run requests in this process, through the model cache, one device job at a time."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from backends.core.run import RunControl
from backends.models import weights, zerogpu
from backends.models.cache import EntryInfo, ModelCache
from backends.models.executors.batch import Job, run_in_turn
from backends.models.executors.groups import DEVICE_LOADERS


class LocalExecutor:
    """The in-process executor.

    Every job that computes on the accelerator (any path: a tab, the API, a live labeling session) passes one gate,
    so two models never fill the device at once; the cache's run lock additionally keeps two requests off one
    loaded model. Built-in engines (OCR, hand detection, weight-free codecs) and remote APIs skip the gate.

    Device jobs enter through ONE function, ``_device_job``, made a GPU entry point by ``zerogpu.gpu_entry``: on
    Hugging Face ZeroGPU it runs inside ``spaces.GPU`` (a forked worker holding the GPU), elsewhere it is a plain call.
    There is one entry per ZeroGPU size, so a model over half a card asks for a whole one and the others do not.

    Args:
        cache: the model cache.
        zero_gpu: run device jobs through ZeroGPU (default: ``settings.zero_gpu``).
    """

    def __init__(self, cache: ModelCache, zero_gpu: bool | None = None) -> None:
        self.cache = cache
        self.registry = cache.registry
        self.settings = cache.settings
        self.zero_gpu = self.settings.zero_gpu if zero_gpu is None else zero_gpu
        self._device_gate = threading.RLock()  # re-entrant: a job may run a helper model (FID features) inside
        # Decorated here, before the app launches: ZeroGPU reports its GPU functions at start-up.
        self._on_device = {size: self._gpu_entry(size) for size in zerogpu.GPU_SIZES}

    def check(self, key: str, request: Any) -> None:
        """Validate ``request`` for ``key`` without loading anything."""
        self.cache.check(key, request)

    def availability(self, key: str) -> tuple[bool, str]:
        """Whether ``key`` can run here now, and why not."""
        return weights.availability(self.registry.get_spec(key), self.settings)

    def run(self, key: str, request: Any, control: RunControl | None = None) -> Any:
        """Run ``request`` on ``key`` (loading it first if needed)."""
        if self.registry.get_spec(key).loader not in DEVICE_LOADERS:
            return self.cache.run(key, request, control)
        on_device = self._on_device[zerogpu.gpu_size([self.registry[key]])]
        with self._device_gate:
            if not self.zero_gpu:
                return on_device(key, request, control)
            # Load on the CPU here, outside the GPU call: a freshly forked ZeroGPU worker then inherits it. Only
            # the progress part of the control goes in (its Stop event cannot be pickled).
            with self.cache.use(key, control.report if control else None):
                pass
            return on_device(key, request, zerogpu.PortableControl.of(control)).unwrap()

    def run_many(self, jobs: Sequence[Job], control: RunControl | None = None) -> list[Any]:
        """Run several requests (a side-by-side comparison) one after the other, each in its slice of the bar."""
        return run_in_turn(self.run, jobs, control)

    def loaded(self) -> list[EntryInfo]:
        """The models in memory, most recently used last."""
        return self.cache.entries()

    def free(self, keys: list[str] | None = None) -> list[str]:
        """Unload models unless in use."""
        return self.cache.free(keys)

    def status(self) -> dict[str, Any]:
        """Bytes held by loaded models, the budget, and the cache's counters."""
        return {"used_bytes": self.cache.used_bytes(), "budget_bytes": self.cache.budget_bytes,
                "stats": dict(self.cache.stats)}

    # ----------------------------------------------------------------------------------------------------------------
    # The GPU entry point
    # ----------------------------------------------------------------------------------------------------------------
    def _gpu_entry(self, size: str) -> Any:
        """The GPU entry point for models of one ZeroGPU ``size`` (a function of its own: spaces keys on it)."""

        def device_job(key: str, request: Any, control: RunControl | zerogpu.PortableControl | None = None) -> Any:
            return self._device_job(key, request, control)

        return zerogpu.gpu_entry(duration=self._duration, enabled=self.zero_gpu, size=size)(device_job)

    def _device_job(self, key: str, request: Any, control: RunControl | zerogpu.PortableControl | None = None) -> Any:
        """Run one device job; the only caller of the cache for accelerator models (see ``gpu_entry``).

        On ZeroGPU this runs in the GPU worker: the model moves to CUDA (once per worker) and a studio error comes
        back inside a ``zerogpu.Outcome``, since the worker would replace it with a generic one.
        """
        if isinstance(control, zerogpu.PortableControl):
            control = control.control()
        if not self.zero_gpu:
            return self.cache.run(key, request, control)

        def on_gpu() -> Any:
            with self.cache.use(key) as backend:
                zerogpu.to_accelerator(backend, self.settings)
            return self.cache.run(key, request, control)

        return zerogpu.run_in_outcome(on_gpu)

    def _duration(self, key: str, request: Any, control: RunControl | None = None) -> int:
        """ZeroGPU's duration for this call, from the model's size, the steps and the pixel count."""
        return zerogpu.estimate_seconds(self.registry.get_spec(key), request)
