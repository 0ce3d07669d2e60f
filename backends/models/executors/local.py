"""Run requests in this process, through the model cache, one device job at a time."""

from __future__ import annotations

import threading
from typing import Any

from backends.core.run import RunControl
from backends.models import weights
from backends.models.cache import EntryInfo, ModelCache

DEVICE_LOADERS = ("diffusers", "transformers", "code")  # models that compute on the accelerator


class LocalExecutor:
    """The in-process executor.

    Every job that computes on the accelerator (any path: a tab, the API, a live labeling session) passes one gate,
    so two models never fill the device at once; the cache's run lock additionally keeps two requests off one
    loaded model. Built-in engines (OCR, hand detection, weight-free codecs) and remote APIs skip the gate.

    Args:
        cache: the model cache.
    """

    def __init__(self, cache: ModelCache) -> None:
        self.cache = cache
        self.registry = cache.registry
        self.settings = cache.settings
        self._device_gate = threading.RLock()  # re-entrant: a job may run a helper model (FID features) inside

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
        with self._device_gate:
            return self.cache.run(key, request, control)

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
