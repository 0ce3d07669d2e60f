"""Lazy model cache: load on first use, pin while in use, evict least-recently-used under a budget, retry on OOM.

The policy follows InvokeAI's model cache (LRU eviction, locked entries never evicted) in the small: one tier and
one budget. Each entry has a run lock: a loaded pipeline keeps per-call state (diffusers schedulers set their
timesteps on ``self``), so two requests on one model run one after the other, and the same seed gives the same
image however many clients ask at once. Everything here is plain Python; torch is only touched by the device
policy, to size the budget and to recover from an out-of-memory error.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from backends.core.errors import OutOfMemory
from backends.core.run import ProgressFn, RunControl
from backends.core.settings import Settings
from backends.models import device
from backends.models.backend import Backend, BackendFactory, import_backend
from backends.models.registry import Registry
from backends.models.spec import ModelSpec

log = logging.getLogger(__name__)
GB = 1024**3


@dataclass
class _Entry:
    key: str
    backend: Backend
    size_bytes: int
    load_seconds: float
    last_used: float
    pins: int = 0
    run_lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class EntryInfo:
    """A snapshot of one loaded model, for the Models tab.

    Attributes:
        key: registry key.
        size_bytes: bytes its weights hold.
        pinned: how many requests are using it now.
        idle_seconds: seconds since it was last used.
        load_seconds: how long it took to load.
    """

    key: str
    size_bytes: int
    pinned: int
    idle_seconds: float
    load_seconds: float


class ModelCache:
    """Loads backends lazily and keeps them within a memory budget.

    Args:
        registry: the model registry.
        settings: studio settings (budget, profile, device).
        factory: builds an unloaded backend from a spec; tests inject fakes here.
        budget_bytes: overrides the budget from the settings (0 or None: the device policy's).
        clock: monotonic clock, injectable for tests.
    """

    def __init__(
        self,
        registry: Registry,
        settings: Settings,
        factory: BackendFactory | None = None,
        budget_bytes: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self._factory = factory or import_backend
        self._budget = budget_bytes or None
        self._clock = clock
        self._lock = threading.RLock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # least recently used first
        self._load_locks: dict[str, threading.Lock] = {}
        self._known_sizes: dict[str, int] = {}
        self.stats = {"hits": 0, "loads": 0, "evictions": 0, "oom_retries": 0}

    # ----------------------------------------------------------------------------------------------------------------
    # Public API
    # ----------------------------------------------------------------------------------------------------------------
    @property
    def budget_bytes(self) -> int:
        """The memory budget in bytes, read from the device on first use so start-up touches no device."""
        if self._budget is None:
            self._budget = device.memory_budget(self.settings)
        return self._budget

    def check(self, key: str, request: Any) -> None:
        """Validate ``request`` for model ``key`` without loading anything (raises ``InvalidInput``)."""
        spec = self.registry.get_spec(key)
        self._factory(spec, self.settings).check_inputs(request)

    @contextmanager
    def use(self, key: str, report: ProgressFn | None = None) -> Iterator[Backend]:
        """Yield the loaded backend for ``key``, loading it first if needed; it cannot be evicted meanwhile.

        Runs go through ``run``, which also holds the entry's run lock.

        Raises:
            InvalidInput: unknown key.
            ModelUnavailable: weights missing (offline), optional dependency or API key absent.
            OutOfMemory: loading failed for memory even after evicting everything else and retrying once.
        """
        entry = self._acquire(key, report)
        try:
            yield entry.backend
        finally:
            self._release(entry)

    def run(self, key: str, request: Any, control: RunControl | None = None) -> Any:
        """Run ``request`` on model ``key``, one request per model at a time; on out-of-memory evict every other
        idle model and retry once.

        Raises:
            OutOfMemory: the retry ran out of memory too.
        """
        control = control or RunControl()
        for attempt in (1, 2):
            entry = self._acquire(key, control.report)
            try:
                with entry.run_lock:
                    return entry.backend(request, control)
            except Exception as exc:
                if not device.is_out_of_memory(exc):
                    raise
                if attempt == 2:
                    raise OutOfMemory(_oom_message(key)) from exc
                log.warning("%s ran out of memory; evicting idle models and retrying once", key)
            finally:
                self._release(entry)
            self.stats["oom_retries"] += 1
            self._evict(lambda e: e.key != key)
            device.release_device_memory()
        raise AssertionError("unreachable")  # the loop returns or raises

    def free(self, keys: list[str] | None = None) -> list[str]:
        """Unload the given models (all when None) unless in use; returns the keys actually freed."""
        wanted = set(keys) if keys is not None else None
        freed = self._evict(lambda e: wanted is None or e.key in wanted)
        device.release_device_memory()
        return freed

    def entries(self) -> list[EntryInfo]:
        """Loaded models, most recently used last."""
        now = self._clock()
        with self._lock:
            return [
                EntryInfo(e.key, e.size_bytes, e.pins, now - e.last_used, e.load_seconds)
                for e in self._entries.values()
            ]

    def is_loaded(self, key: str) -> bool:
        """Whether ``key`` is in memory now."""
        with self._lock:
            return key in self._entries

    def used_bytes(self) -> int:
        """Bytes held by all loaded models."""
        with self._lock:
            return sum(e.size_bytes for e in self._entries.values())

    # ----------------------------------------------------------------------------------------------------------------
    # Internals
    # ----------------------------------------------------------------------------------------------------------------
    def _pin_if_loaded(self, key: str) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry.pins += 1
                self._entries.move_to_end(key)
                self.stats["hits"] += 1
            return entry

    def _release(self, entry: _Entry) -> None:
        with self._lock:
            entry.pins -= 1
            entry.last_used = self._clock()

    def _acquire(self, key: str, report: ProgressFn | None) -> _Entry:
        spec = self.registry.get_spec(key)
        entry = self._pin_if_loaded(key)
        if entry is not None:
            return entry
        with self._lock:
            load_lock = self._load_locks.setdefault(key, threading.Lock())
        # One loader per key; other keys load (or run) in parallel. A second caller waits, then finds it loaded.
        with load_lock:
            entry = self._pin_if_loaded(key)
            if entry is not None:
                return entry
            backend, seconds = self._load(spec, report)
            with self._lock:
                entry = _Entry(key, backend, backend.memory_bytes(), seconds, self._clock(), pins=1)
                self._entries[key] = entry
                self._known_sizes[key] = entry.size_bytes
                self.stats["loads"] += 1
                self._make_room(0)
            return entry

    def _load(self, spec: ModelSpec, report: ProgressFn | None) -> tuple[Backend, float]:
        """Construct and load a backend, making room first; on OOM evict everything idle and retry once."""
        for attempt in (1, 2):
            with self._lock:
                self._make_room(self._estimate(spec))
            backend = self._factory(spec, self.settings)
            started = time.perf_counter()
            try:
                backend.load(report)
                return backend, time.perf_counter() - started
            except Exception as exc:
                backend.unload()
                if not device.is_out_of_memory(exc):
                    raise
                if attempt == 2:
                    raise OutOfMemory(_oom_message(spec.key)) from exc
                log.warning("loading %s ran out of memory; evicting idle models and retrying once", spec.key)
            self.stats["oom_retries"] += 1
            self._evict(lambda e: True)
            device.release_device_memory()
        raise AssertionError("unreachable")

    def _estimate(self, spec: ModelSpec) -> int:
        if spec.key in self._known_sizes:
            return self._known_sizes[spec.key]
        return 0 if self.settings.profile == "tiny" else int(spec.vram_gb * GB)

    def _make_room(self, needed: int) -> None:
        """Evict idle entries, least recently used first, until ``needed`` more bytes fit the budget."""
        budget = self.budget_bytes
        for entry in list(self._entries.values()):
            if self.used_bytes() + needed <= budget:
                return
            if entry.pins == 0:
                self._unload(entry)
        if self.used_bytes() + needed > budget:
            log.warning("model cache over budget (%.1f GB needed, %.1f GB budget): models in use cannot be evicted",
                        (self.used_bytes() + needed) / GB, budget / GB)

    def _evict(self, predicate: Callable[[_Entry], bool]) -> list[str]:
        with self._lock:
            victims = [e for e in self._entries.values() if e.pins == 0 and predicate(e)]
            for entry in victims:
                self._unload(entry)
            return [e.key for e in victims]

    def _unload(self, entry: _Entry) -> None:
        del self._entries[entry.key]
        entry.backend.unload()
        self.stats["evictions"] += 1
        log.info("evicted %s (%.2f GB)", entry.key, entry.size_bytes / GB)


def _oom_message(key: str) -> str:
    return (
        f"{key} ran out of memory even after freeing every other model and retrying. Try a smaller size, "
        "fewer models at once, or STUDIO_OFFLOAD=model (CPU offload)."
    )
