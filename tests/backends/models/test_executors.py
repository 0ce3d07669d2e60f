"""The executor seam: requests and results cross a process boundary as plain data (images as PNG bytes, arrays
as .npy), progress travels as events, and the local executor runs one device job at a time."""

from __future__ import annotations

import json
import pickle
import threading
import time

import numpy as np
import pytest
from PIL import Image

from backends.core.errors import InvalidInput
from backends.core.recipe import Provenance, make_recipe
from backends.core.run import ProgressEvent, RunControl
from backends.core.settings import Settings
from backends.models.cache import ModelCache
from backends.models.executors import Executor, LocalExecutor
from backends.models.executors.payload import decode, encode
from backends.models.registry import Registry
from backends.models.spec import ModelSpec
from backends.tasks.hand_repair.types import HandRepairRequest, HandRepairResult
from backends.tasks.t2i.types import T2IRequest, T2IResult
from backends.tasks.tokenize.types import TokenizeRequest
from backends.vision.ocr import OCRRequest

IMAGE = Image.fromarray(np.arange(48 * 64 * 3, dtype=np.uint8).reshape(48, 64, 3))
RECIPE = make_recipe(Provenance("t2i/x", "X", "org/x", "abc", "tiny", "XPipeline"), seed=3, width=64, height=48,
                     prompt="写着 \"OPEN\"", steps=2)


@pytest.mark.parametrize("value", [
    T2IRequest(prompt="一只猫", seed=None, width=512, height=768, steps=None, guidance=3.5),
    T2IResult(IMAGE, RECIPE),
    HandRepairRequest(IMAGE, method="inpaint", mask=np.eye(48, 64, dtype=bool), lora=None),
    HandRepairResult(IMAGE, RECIPE, [np.ones((8, 8), bool)], [(1, 2, 30, 40)], {"hands": []}, {"hands": []}),
    TokenizeRequest(np.zeros((16, 16, 3), np.float32), prefix=4, alpha=0.25),
    OCRRequest(IMAGE, ["OPEN", "开"]),
], ids=lambda v: type(v).__name__)
def test_requests_and_results_round_trip_as_json(value) -> None:
    data = json.loads(json.dumps(encode(value)))  # what crosses the wire is plain JSON
    back = decode(data)
    assert type(back) is type(value)
    for name in vars(value):
        a, b = getattr(value, name), getattr(back, name)
        if isinstance(a, Image.Image):
            assert a.size == b.size and a.tobytes() == b.tobytes()
        elif isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b)
        elif name == "schedule":
            assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
        else:
            assert a == b, name


def test_a_payload_cannot_name_a_class_outside_the_studio() -> None:
    with pytest.raises(ValueError, match="not one of the studio's types"):
        decode({"__type__": "subprocess:Popen", "args": ["true"]})
    with pytest.raises(ValueError, match="not a dataclass"):
        decode({"__type__": "backends.models.cache:ModelCache"})


def test_errors_and_progress_events_survive_pickling() -> None:
    error = pickle.loads(pickle.dumps(InvalidInput("width", "264 is not a multiple of 16")))
    assert str(error) == "width: 264 is not a multiple of 16" and error.field == "width"
    assert pickle.loads(pickle.dumps(ProgressEvent(0.5, "step 2/4"))) == ProgressEvent(0.5, "step 2/4")


def test_sub_tasks_report_into_their_slice_and_share_stop() -> None:
    events: list[ProgressEvent] = []
    control = RunControl(on_progress=events.append)
    second = control.part(1, 4)
    second.report(0.5, "half of the second model")
    assert events == [ProgressEvent(0.375, "half of the second model")]
    control.stop.set()
    assert second.stopped


class Slow:
    """A fake backend that records how many device jobs run at once."""

    active = 0
    most = 0
    lock = threading.Lock()

    def __init__(self, spec: ModelSpec, settings: Settings) -> None:
        self.spec = spec

    def load(self, report=None) -> None:
        pass

    def check_inputs(self, request) -> None:
        pass

    def __call__(self, request, control=None):
        with Slow.lock:
            Slow.active += 1
            Slow.most = max(Slow.most, Slow.active)
        time.sleep(0.03)
        with Slow.lock:
            Slow.active -= 1
        return request

    def unload(self) -> None:
        pass

    def memory_bytes(self) -> int:
        return 0


@pytest.mark.parametrize("loader, expected", [("diffusers", 1), ("builtin", 2)])
def test_device_jobs_of_different_models_pass_one_gate(loader: str, expected: int) -> None:
    specs = [ModelSpec(key=f"t2i/{name}", name=name, task="t2i", backend="x:Y", loader=loader,
                       repo_id="org/x" if loader == "diffusers" else None,
                       class_name="XPipeline" if loader == "diffusers" else None) for name in ("a", "b")]
    executor = LocalExecutor(ModelCache(Registry(specs), Settings(), factory=Slow, budget_bytes=10**9))
    assert isinstance(executor, Executor)
    Slow.most = 0
    threads = [threading.Thread(target=executor.run, args=(spec.key, i)) for i in range(3) for spec in specs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Slow.most == expected  # accelerator jobs one at a time; CPU engines (OCR, mediapipe) in parallel
