"""ZeroGPU: GPU entry points are sync, every accelerator job enters through one, arguments and results survive
pickling, studio errors come back whole, and models move to CUDA inside the call once per worker."""

from __future__ import annotations

import ast
import pickle
import sys
import threading
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

from backends.core.errors import InvalidInput
from backends.core.run import ProgressEvent, RunControl
from backends.models import zerogpu
from backends.models.cache import ModelCache
from backends.models.executors import LocalExecutor
from backends.models.zerogpu import gpu_entry, is_gpu_entry
from backends.tasks.t2i.types import T2IRequest
from backends.vision.ocr import OCRRequest

ROOT = Path(__file__).resolve().parents[3]
SOURCES = [ROOT / "app.py",
           *sorted(p for folder in ("backends", "tabs", "arena") for p in (ROOT / folder).rglob("*.py"))]


def test_async_functions_cannot_be_gpu_entries() -> None:
    async def coroutine() -> None: ...

    async def stream():
        yield 1

    for fn in (coroutine, stream):
        with pytest.raises(TypeError, match="ZeroGPU runs only sync"):
            gpu_entry(duration=30)(fn)


def test_no_gpu_entry_in_the_code_is_async() -> None:
    """Decorated functions (``@gpu_entry``/``@spaces.GPU``) and functions wrapped by a ``gpu_entry(...)(fn)`` call
    are all plain ``def``: locally ``spaces.GPU`` passes async through, only ZeroGPU would refuse it."""
    found = []
    for path in SOURCES:
        tree = ast.parse(path.read_text("utf-8"))
        functions = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for decorator in node.decorator_list:
                    if any(name in ast.unparse(decorator) for name in ("gpu_entry", "spaces.GPU")):
                        found.append((path.name, node.name, isinstance(node, ast.AsyncFunctionDef)))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Call) and "gpu_entry" in ast.unparse(
                    node.func.func):
                target = ast.unparse(node.args[0]).rpartition(".")[2]
                found.append((path.name, target, isinstance(functions[target], ast.AsyncFunctionDef)))
    assert ("local.py", "device_job", False) in found, "the executor's device job is the GPU entry point"
    assert not [f for f in found if f[2]], f"async GPU entry points: {[f for f in found if f[2]]}"


def test_only_the_local_executor_runs_models_through_the_cache() -> None:
    """Tabs, tasks, the arena and the other executors run models through an executor, so every accelerator job
    passes the local executor's GPU entry point (a Ray replica runs a LocalExecutor too)."""
    callers = [p.relative_to(ROOT).as_posix() for p in SOURCES if "cache.run(" in p.read_text("utf-8")]
    assert callers == ["backends/models/executors/local.py"]


@dataclass
class FakeSpaces:
    """``spaces`` on ZeroGPU, in miniature: arguments and results are pickled, the call is marked as on the GPU."""

    calls: list
    on_gpu: threading.local

    def GPU(self, fn, duration=None, size=None):  # the real name
        def worker(*args, **kwargs):
            args, kwargs = pickle.loads(pickle.dumps((args, kwargs)))
            seconds = duration(*args, **kwargs) if callable(duration) else duration
            self.calls.append((args[0], seconds, size))
            self.on_gpu.active = True
            try:
                result = fn(*args, **kwargs)
            finally:
                self.on_gpu.active = False
            return pickle.loads(pickle.dumps(result))

        return worker


@pytest.fixture
def zero_executor(monkeypatch, tiny_settings, registry):
    spaces = FakeSpaces([], threading.local())
    monkeypatch.setitem(sys.modules, "spaces", types.SimpleNamespace(GPU=spaces.GPU))
    moved: list[tuple[str, bool]] = []
    monkeypatch.setattr(zerogpu, "to_accelerator",
                        lambda backend, settings: moved.append((backend.spec.key, getattr(spaces.on_gpu, "active",
                                                                                          False))))
    runs: list[tuple[str, bool]] = []
    original = ModelCache.run

    def recording_run(cache, key, request, control=None):
        runs.append((key, getattr(spaces.on_gpu, "active", False)))
        return original(cache, key, request, control)

    monkeypatch.setattr(ModelCache, "run", recording_run)
    executor = LocalExecutor(ModelCache(registry, tiny_settings), zero_gpu=True)
    return executor, spaces, moved, runs


def test_every_accelerator_job_runs_inside_the_gpu_call(zero_executor) -> None:
    executor, spaces, moved, runs = zero_executor
    assert all(is_gpu_entry(entry) for entry in executor._on_device.values())
    request = T2IRequest(prompt="a fox", seed=1, width=256, height=256, steps=2)
    result = executor.run("t2i/flux-schnell", request)
    assert result.image.size == (256, 256)  # the result survived pickling
    executor.run("ocr/rapidocr", OCRRequest(result.image, ["OPEN"]))  # a CPU engine: no GPU call
    assert runs == [("t2i/flux-schnell", True), ("ocr/rapidocr", False)]
    assert moved == [("t2i/flux-schnell", True)]  # moved to CUDA inside the call
    (key, seconds, size), = spaces.calls
    assert key == "t2i/flux-schnell" and 15 <= seconds <= 300 and size == "large"
    executor.run("t2i/qwen-image", T2IRequest(prompt="a fox", seed=1, width=256, height=256, steps=2))
    assert spaces.calls[-1][0::2] == ("t2i/qwen-image", "xlarge")  # 58 GB: a whole card


SEEN: list[ProgressEvent] = []


class Recorder:
    """A picklable progress sink (like the tabs' ``GradioProgress``): its pickled copy reports to ``SEEN``."""

    def __call__(self, event: ProgressEvent) -> None:
        SEEN.append(event)


def test_progress_crosses_into_the_gpu_call_when_its_sink_pickles(zero_executor) -> None:
    executor = zero_executor[0]
    request = T2IRequest(prompt="a fox", seed=1, width=256, height=256, steps=2)
    SEEN.clear()
    executor.run("t2i/flux-schnell", request, RunControl(on_progress=Recorder()).part(1, 2))
    assert [e.fraction for e in SEEN if "step" in e.message] == [0.75, 1.0]  # the second half of the bar
    closure_events: list[ProgressEvent] = []
    executor.run("t2i/flux-schnell", request, RunControl(on_progress=closure_events.append))  # does not pickle
    assert not [e for e in closure_events if "step" in e.message]  # dropped at the boundary, the run still works


def test_a_studio_error_inside_the_gpu_call_keeps_its_class_and_message(zero_executor) -> None:
    executor = zero_executor[0]
    with pytest.raises(InvalidInput, match=r"^width: 500 is not a multiple of 16") as caught:
        executor.run("t2i/flux-schnell", T2IRequest(prompt="a fox", width=500, height=256, steps=2))
    assert caught.value.field == "width"


def test_the_duration_grows_with_steps_size_and_model(registry) -> None:
    small, big = registry["t2i/taiyi-sd-1b"], registry["t2i/qwen-image"]
    short = zerogpu.estimate_seconds(big, T2IRequest(prompt="x", width=1024, height=1024, steps=10))
    long = zerogpu.estimate_seconds(big, T2IRequest(prompt="x", width=1328, height=1328, steps=50))
    assert zerogpu.estimate_seconds(small, T2IRequest(prompt="x", width=512, height=512, steps=20)) < short < long
    assert long <= zerogpu.MAX_SECONDS and zerogpu.gpu_size([big]) == "xlarge" and zerogpu.gpu_size([small]) == "large"


class FakeModel:
    def __init__(self) -> None:
        self.moves: list[tuple] = []

    def to(self, *args) -> FakeModel:
        self.moves.append(args)
        return self


def test_models_move_to_cuda_once_per_worker(registry, tiny_settings) -> None:
    import torch

    from backends.models.weights import Loaded

    backend = types.SimpleNamespace(spec=registry["t2i/kolors"],
                                    loaded=Loaded(FakeModel(), "cpu", "float32", "tiny", 0.1))
    assert zerogpu.to_accelerator(backend, tiny_settings) is True
    assert zerogpu.to_accelerator(backend, tiny_settings) is False  # a reused worker: already there
    assert backend.loaded.model.moves == [("cuda", torch.float16)]  # the model card's GPU dtype (auto)
    assert (backend.loaded.device, backend.loaded.dtype) == ("cuda", "float16")
    assert zerogpu.to_accelerator(types.SimpleNamespace(loaded=None), tiny_settings) is False  # built-in engines


def test_outside_zerogpu_the_entry_is_a_plain_call() -> None:
    def job(x: int) -> int:
        return x + 1

    entry = gpu_entry(duration=30)(job)
    assert is_gpu_entry(entry) and entry(1) == 2 and "spaces" not in sys.modules
