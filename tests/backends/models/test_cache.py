"""ModelCache: lazy loading, LRU eviction under a budget, pinning, OOM retry, thread safety (fake backends)."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from backends.core.errors import InvalidInput, OutOfMemory
from backends.core.settings import Settings
from backends.models.cache import ModelCache
from backends.models.device import is_out_of_memory
from backends.models.registry import Registry
from backends.models.spec import ModelSpec

MB = 1024**2
KEYS = ("t2i/a", "t2i/b", "t2i/c")


class FakeBackend:
    """Holds `size` bytes; can be told to run out of memory a number of times when loading or running."""

    loads: list[str]
    unloads: list[str]

    def __init__(self, spec: ModelSpec, settings: Settings, world: World) -> None:
        self.spec, self.world, self.loaded = spec, world, False

    def load(self, progress=None) -> None:
        time.sleep(self.world.load_delay)
        if self.world.load_ooms.get(self.spec.key, 0) > 0:
            self.world.load_ooms[self.spec.key] -= 1
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        with self.world.lock:
            self.world.loads.append(self.spec.key)
        self.loaded = True

    def check_inputs(self, request) -> None:
        if request == "bad":
            raise InvalidInput("prompt", "bad")

    def __call__(self, request, control=None):
        with self.world.lock:
            self.world.running[self.spec.key] = self.world.running.get(self.spec.key, 0) + 1
            self.world.overlap = max(self.world.overlap, self.world.running[self.spec.key])
            self.world.parallel = max(self.world.parallel, sum(self.world.running.values()))
        try:
            time.sleep(self.world.run_delay)
            return self._run(request)
        finally:
            with self.world.lock:
                self.world.running[self.spec.key] -= 1

    def _run(self, request):
        if self.world.run_ooms.get(self.spec.key, 0) > 0:
            self.world.run_ooms[self.spec.key] -= 1
            raise torch.OutOfMemoryError("CUDA out of memory.")
        return f"{self.spec.key}:{request}"

    def unload(self) -> None:
        with self.world.lock:
            self.world.unloads.append(self.spec.key)
        self.loaded = False

    def memory_bytes(self) -> int:
        return self.world.sizes[self.spec.key] if self.loaded else 0


class World:
    def __init__(self, sizes: dict[str, int] | None = None, load_delay: float = 0.0) -> None:
        self.sizes = sizes or {k: 40 * MB for k in KEYS}
        self.loads: list[str] = []
        self.unloads: list[str] = []
        self.load_ooms: dict[str, int] = {}
        self.run_ooms: dict[str, int] = {}
        self.load_delay = load_delay
        self.run_delay = 0.0
        self.running: dict[str, int] = {}
        self.overlap = 0  # the most requests ever inside one model's __call__ at once
        self.parallel = 0  # the most requests ever inside any model's __call__ at once
        self.lock = threading.Lock()


def make_cache(world: World, budget: int = 100 * MB) -> ModelCache:
    registry = Registry(ModelSpec(key=k, name=k, task="t2i", backend="x:Y", loader="builtin") for k in KEYS)
    settings = Settings(profile="tiny", device="cpu")
    return ModelCache(registry, settings, factory=lambda s, st: FakeBackend(s, st, world), budget_bytes=budget)


def test_nothing_loads_until_first_use() -> None:
    world = World()
    cache = make_cache(world)
    assert world.loads == [] and cache.entries() == []
    assert cache.run("t2i/a", "x") == "t2i/a:x"
    assert cache.run("t2i/a", "y") == "t2i/a:y"
    assert world.loads == ["t2i/a"] and cache.stats["hits"] == 1


def test_least_recently_used_is_evicted_under_the_budget() -> None:
    world = World()
    cache = make_cache(world, budget=100 * MB)  # room for two 40 MB models
    cache.run("t2i/a", 1)
    cache.run("t2i/b", 1)
    cache.run("t2i/a", 2)  # a is now more recent than b
    cache.run("t2i/c", 1)
    assert {e.key for e in cache.entries()} == {"t2i/a", "t2i/c"}
    assert world.unloads == ["t2i/b"]
    assert cache.used_bytes() <= cache.budget_bytes


def test_a_pinned_model_is_never_evicted() -> None:
    world = World()
    cache = make_cache(world, budget=50 * MB)  # room for one
    with cache.use("t2i/a") as backend:
        cache.run("t2i/b", 1)  # must not evict a, which is in use
        assert backend.loaded and "t2i/a" not in world.unloads
        assert cache.is_loaded("t2i/a")
    assert world.unloads == []  # over budget while a is pinned, rather than pulling a model from under a request
    cache.run("t2i/c", 1)  # both idle now: least recently acquired first
    assert world.unloads == ["t2i/a", "t2i/b"]
    assert cache.used_bytes() <= cache.budget_bytes


def test_free_keeps_models_in_use() -> None:
    world = World()
    cache = make_cache(world)
    cache.run("t2i/a", 1)
    with cache.use("t2i/b"):
        assert cache.free() == ["t2i/a"]
        assert [e.key for e in cache.entries()] == ["t2i/b"]
    assert cache.free(["t2i/b"]) == ["t2i/b"] and cache.entries() == []


def test_oom_while_running_evicts_the_others_and_retries_once() -> None:
    world = World()
    cache = make_cache(world, budget=1000 * MB)
    cache.run("t2i/a", 1)
    cache.run("t2i/b", 1)
    world.run_ooms["t2i/b"] = 1
    assert cache.run("t2i/b", 2) == "t2i/b:2"
    assert world.unloads == ["t2i/a"] and cache.stats["oom_retries"] == 1


def test_oom_twice_is_a_clear_error() -> None:
    world = World()
    cache = make_cache(world)
    world.run_ooms["t2i/a"] = 2
    with pytest.raises(OutOfMemory, match="t2i/a ran out of memory.*STUDIO_OFFLOAD=model"):
        cache.run("t2i/a", 1)
    assert cache.run("t2i/a", 1) == "t2i/a:1"  # the cache still serves afterwards


def test_oom_while_loading_evicts_and_retries() -> None:
    world = World()
    cache = make_cache(world, budget=1000 * MB)
    cache.run("t2i/a", 1)
    world.load_ooms["t2i/b"] = 1
    assert cache.run("t2i/b", 1) == "t2i/b:1"
    assert "t2i/a" in world.unloads
    world.load_ooms["t2i/c"] = 2
    with pytest.raises(OutOfMemory):
        cache.run("t2i/c", 1)
    assert not cache.is_loaded("t2i/c")


def test_other_errors_pass_through_and_unpin() -> None:
    world = World()
    cache = make_cache(world)
    with pytest.raises(InvalidInput):
        cache.check("t2i/a", "bad")
    with pytest.raises(InvalidInput, match="unknown model key"):
        cache.run("t2i/zzz", 1)
    with pytest.raises(ZeroDivisionError), cache.use("t2i/a"):
        raise ZeroDivisionError
    assert cache.entries()[0].pinned == 0


def test_concurrent_users_load_a_model_once_and_stay_within_budget() -> None:
    world = World(load_delay=0.05)
    cache = make_cache(world, budget=100 * MB)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            for j in range(20):
                key = KEYS[(i + j) % 3]
                assert cache.run(key, j) == f"{key}:{j}"
                assert cache.used_bytes() <= cache.budget_bytes + 40 * MB  # at most one pinned overflow
        except BaseException as exc:  # collected, asserted in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(e.pinned == 0 for e in cache.entries())
    assert len(world.loads) - len(world.unloads) == len(cache.entries())


def test_concurrent_first_use_loads_once() -> None:
    world = World(load_delay=0.2)
    cache = make_cache(world)
    threads = [threading.Thread(target=cache.run, args=("t2i/a", i)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert world.loads == ["t2i/a"]


def test_is_out_of_memory() -> None:
    assert is_out_of_memory(torch.OutOfMemoryError("x"))
    assert is_out_of_memory(RuntimeError("MPS backend out of memory"))
    assert is_out_of_memory(MemoryError())
    assert not is_out_of_memory(RuntimeError("shape mismatch"))


def test_requests_on_one_model_never_overlap_but_different_models_run_in_parallel() -> None:
    world = World()
    world.run_delay = 0.05
    cache = make_cache(world, budget=1000 * MB)
    threads = [threading.Thread(target=cache.run, args=(key, i)) for i in range(4) for key in ("t2i/a", "t2i/b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert world.overlap == 1  # a loaded pipeline keeps per-call state: one request at a time per model
    assert world.parallel == 2  # the lock is per model, not global
