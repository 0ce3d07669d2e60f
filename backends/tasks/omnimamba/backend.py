"""The shared base of OmniMamba's two backends (understanding, generation): loading the parts a task needs
(``loader``), memory accounting, provenance for recipes, and the run context.

OmniMamba is a ``code`` model (its checkpoint is loaded into this project's modules), so it does not derive from
``PretrainedBackend``; it offers the same surface to the model cache (``load``, ``unload``, ``memory_bytes``,
``provenance``, ``take_load_seconds``, ``computing``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from backends.core.recipe import Provenance, library_versions
from backends.core.run import ProgressFn
from backends.core.settings import Settings
from backends.models import device
from backends.models.spec import ModelSpec
from backends.tasks.omnimamba import loader
from backends.tasks.omnimamba.config import RELEASED, OmniMambaConfig
from backends.tasks.omnimamba.keymap import KeyReport


class OmniMambaBackend:
    """Loads the language model, tokenizer and ``task``'s own parts; subclasses run the task.

    Args:
        spec: the registry entry (``CodeDefaults``: the released file and the parts' repos).
        settings: device, dtype, profile, checkpoint roots, offline.
    """

    task = "mmu"

    def __init__(self, spec: ModelSpec, settings: Settings) -> None:
        self.spec = spec
        self.settings = settings
        self.lm: Any = None
        self.tokenizer: Any = None
        self.token_ids: dict[str, int] = {}
        self.config: OmniMambaConfig | None = None
        self.report: KeyReport | None = None
        self.parts: loader.Parts | None = None
        self._where, self._dtype = "cpu", "float32"
        self._versions: dict[str, str] = {}
        self._unreported_load_seconds = 0.0

    def load(self, report: ProgressFn | None = None) -> None:
        """Find the parts, read and check the main file strictly, and load what ``task`` runs."""
        started = time.perf_counter()
        self.parts = loader.find_parts(self.spec, self.settings, self.task, report)
        self._where = device.resolve_device(self.settings)
        dtype = device.resolve_dtype(self.settings, self.spec, self._where)
        self._dtype = str(dtype).removeprefix("torch.")
        self._versions = library_versions()  # once per load: it scans package metadata
        with device.flushed_denormals(self.settings.profile == "tiny"):
            self.lm, self.config, self.report = loader.load_lm(self.parts.main, self.task, self._where, dtype)
            self.tokenizer, self.token_ids = loader.load_tokenizer(
                self.parts.tokenizer, dict(self.parts.pretrained_kwargs or {}), self.config.vocab_size)
            self.load_task_parts(dtype)
        self._unreported_load_seconds = time.perf_counter() - started

    def load_task_parts(self, dtype: Any) -> None:  # pragma: no cover - abstract
        """Load the parts only this task needs (encoders or the VQ decoder)."""
        raise NotImplementedError

    def task_modules(self) -> list[Any]:
        """The loaded modules beyond the language model (for memory accounting)."""
        return []

    def unload(self) -> None:
        """Drop every module; the cache then returns the memory to the device."""
        self.lm = self.tokenizer = None
        self.token_ids = {}

    def memory_bytes(self) -> int:
        """Bytes of all loaded parameters and buffers (shared tensors counted once)."""
        seen: dict[int, int] = {}
        for module in [self.lm, *self.task_modules()]:
            if module is None:
                continue
            for tensor in (*module.parameters(), *module.buffers()):
                seen[id(tensor)] = tensor.numel() * tensor.element_size()
        return sum(seen.values())

    @property
    def device(self) -> str:
        """Where the model runs."""
        return self._where

    @property
    def loaded(self) -> bool:
        """Whether ``load`` has run."""
        return self.lm is not None

    def provenance(self) -> Provenance:
        """Repo, file and commit (or the miniature's id) of the loaded weights."""
        real = self.settings.profile == "real"
        path = self.parts.main if self.parts else None
        revision = f"tiny:{self.spec.architecture}:seed0"
        if real and path is not None:
            parts = path.parts
            revision = parts[parts.index("snapshots") + 1] if "snapshots" in parts else f"local file {path}"
        architecture = "" if self.config in (None, RELEASED) else " (architecture read from the file differs from " \
                                                                  "the released one)"
        return Provenance(
            model=self.spec.key, name=self.spec.name,
            repo_id=str(self.spec.repo_id) if real else f"miniature of {self.spec.repo_id}", revision=revision,
            profile=self.settings.profile,
            pipeline=f"OmniMamba on transformers Mamba2Model ({self.task}){architecture}",
            device=self._where, dtype=self._dtype, versions=self._versions)

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

    def pretrained_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the ``from_pretrained`` parts (offline, revision)."""
        return dict(self.parts.pretrained_kwargs or {}) if self.parts else {}

