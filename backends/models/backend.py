"""The Backend protocol every task backend implements, and the shared base of those loaded with
``from_pretrained``.

A backend is constructed cheaply from its spec and the settings (no I/O), loads weights in ``load``, validates a
request in ``check_inputs`` without needing the weights, runs it in ``__call__`` with a ``RunControl`` passed beside
the request, and frees memory in ``unload``. The model cache is the only caller of ``load`` and ``__call__``.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from typing import Any, Protocol, runtime_checkable

from backends.core.recipe import Provenance
from backends.core.run import ProgressFn, RunControl
from backends.core.settings import Settings
from backends.models import device, weights
from backends.models.spec import ModelSpec


@runtime_checkable
class Backend(Protocol):
    """What the cache expects from every task backend."""

    spec: ModelSpec

    def load(self, report: ProgressFn | None = None) -> None:
        """Load weights (downloading them first when allowed) onto the configured device."""

    def check_inputs(self, request: Any) -> None:
        """Raise ``InvalidInput`` naming the field, value and rule for anything the model cannot take."""

    def __call__(self, request: Any, control: RunControl | None = None) -> Any:
        """Run one request; the only way to run a backend."""

    def unload(self) -> None:
        """Drop every reference to the weights so their memory can be reclaimed."""

    def memory_bytes(self) -> int:
        """Bytes held by the loaded weights (0 when not loaded); the cache budgets with it."""


BackendFactory = Callable[[ModelSpec, Settings], Backend]


def import_backend(spec: ModelSpec, settings: Settings) -> Backend:
    """The default factory: import ``spec.backend`` ("module:Class") and construct it (cheap, no I/O)."""
    module_name, class_name = spec.backend.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(spec, settings)


class PretrainedBackend:
    """Loading, unloading, memory accounting and provenance for a backend built on one ``from_pretrained`` model.

    Subclasses implement ``check_inputs`` and ``__call__`` and reach the pipeline or model as ``self.model``.

    Args:
        spec: the registry entry.
        settings: device, dtype, profile and offload policy.
    """

    def __init__(self, spec: ModelSpec, settings: Settings) -> None:
        self.spec = spec
        self.settings = settings
        self.loaded: weights.Loaded | None = None
        self._unreported_load_seconds = 0.0

    def load(self, report: ProgressFn | None = None) -> None:
        """``load_pretrained`` (the miniature in the tiny profile), placed per the device policy."""
        self.loaded = weights.load_pretrained(self.spec, self.settings, report)
        self._unreported_load_seconds = self.loaded.seconds

    def unload(self) -> None:
        """Drop the model; the cache then returns the memory to the device."""
        self.loaded = None

    def memory_bytes(self) -> int:
        """Bytes of all parameters and buffers of the loaded modules."""
        return weights.module_bytes(self.loaded.model if self.loaded else None)

    @property
    def model(self) -> Any:
        """The loaded pipeline or model.

        Raises:
            RuntimeError: not loaded (backends are run through the model cache, which loads them first).
        """
        if self.loaded is None:
            raise RuntimeError(f"{self.spec.key} is not loaded; use it through the ModelCache")
        return self.loaded.model

    @property
    def device(self) -> str:
        """Where the model runs ("cpu" before loading)."""
        return self.loaded.device if self.loaded else "cpu"

    def provenance(self) -> Provenance:
        """What every recipe of this model carries."""
        if self.loaded is None:
            raise RuntimeError(f"{self.spec.key} is not loaded; use it through the ModelCache")
        return weights.provenance(self.spec, self.settings, self.loaded)

    def take_load_seconds(self) -> float:
        """The load time not yet charged to an output (the first output after a load reports it, then 0)."""
        seconds, self._unreported_load_seconds = self._unreported_load_seconds, 0.0
        return seconds

    @contextlib.contextmanager
    def computing(self) -> Iterator[None]:
        """Inference mode, with denormals flushed while a random-weight miniature runs."""
        import torch

        with torch.inference_mode(), device.flushed_denormals(self.settings.profile == "tiny"):
            yield
