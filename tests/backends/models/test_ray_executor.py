"""The Ray Serve executor on a local 2-CPU Ray (one cluster and one set of Serve applications for the session), tiny
profile: the same /t2i request gives the same pixels as in-process, progress streams back, Stop cancels the remote
call, a model's error keeps its class and message, and a killed replica is replaced."""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

from backends.core.errors import Cancelled, InvalidInput, ModelUnavailable
from backends.core.run import ProgressEvent, RunControl
from backends.core.settings import Settings
from backends.models.cache import ModelCache
from backends.models.executors import Executor, LocalExecutor
from backends.models.executors.groups import GroupConfig
from backends.tasks.t2i.types import T2IRequest
from tabs.common import AppContext, make_i18n
from tabs.text_to_image import compare

pytestmark = pytest.mark.usefixtures("ray_cluster")
MODELS = ("t2i/flux-schnell", "t2i/hunyuan-dit")  # the two fastest t2i miniatures, on two deployments
ARGS = dict(prompt="一只红色的狐狸 in the snow", negative_prompt="", seed=11, width=512, height=512, steps=3,
            guidance=None)


@pytest.fixture(scope="module")
def ray_settings(tiny_settings: Settings) -> Settings:
    return dataclasses.replace(tiny_settings, executor="ray", ray_gpu_gb=0, ray_app="studio-test")


@pytest.fixture(scope="module")
def local(tiny_settings: Settings, registry) -> LocalExecutor:
    return LocalExecutor(ModelCache(registry, tiny_settings))


@pytest.fixture(scope="module")
def executor(ray_settings: Settings, registry, local: LocalExecutor) -> Iterator[Executor]:
    import torch

    from backends.models.executors.ray_serve import RayExecutor, delete

    # Replicas compute with as many threads as this process, so float sums (and pixels) match exactly.
    config = GroupConfig(models=MODELS, defaults={"min_replicas": 1, "max_replicas": 1, "num_cpus": 0.5,
                                                  "env": {"OMP_NUM_THREADS": str(torch.get_num_threads())}})
    ray_executor = RayExecutor(registry, ray_settings, local, config, auto_deploy=True)
    yield ray_executor
    delete(ray_settings, ray_executor.groups)


def pixels(path: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_the_same_t2i_request_gives_the_same_pixels_through_ray(executor, local, ray_settings, registry) -> None:
    assert isinstance(executor, Executor)
    runs = {}
    for name, chosen in (("local", local), ("ray", executor)):
        ctx = AppContext(ray_settings, registry, chosen, make_i18n())
        events: list[ProgressEvent] = []
        runs[name] = (compare(ctx, models=list(MODELS), **ARGS, control=RunControl(on_progress=events.append)),
                      events)
    (here, _), (there, events) = runs["local"], runs["ray"]
    for (local_path, _), (ray_path, _) in zip(here.gallery, there.gallery, strict=True):
        assert np.array_equal(pixels(local_path), pixels(ray_path))
    assert [r["recipe"]["seed"] for r in there.records] == [11, 11]
    # Progress streamed back from both replicas (steps faster than 20 a second are coalesced, the last one never)
    # into one bar that ends full.
    last = f"step {ARGS['steps']}/{ARGS['steps']}"
    assert {e.message.partition(":")[0] for e in events if e.message.endswith(last)} == {
        "FLUX.1-schnell (English reference)", "Hunyuan-DiT v1.2"}
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)


def test_side_by_side_models_on_different_replicas_run_at_once(executor) -> None:
    request = T2IRequest(prompt="a lighthouse", seed=2, width=512, height=512, steps=12)
    alone = [executor.run(key, request) for key in MODELS]  # both loaded in their replicas now
    events: list[ProgressEvent] = []
    together = executor.run_many([(key, request) for key in MODELS], RunControl(on_progress=events.append))
    for a, b in zip(alone, together, strict=True):
        assert a.image.tobytes() == b.image.tobytes()
    order = [0 if e.message.startswith("FLUX") else 1 for e in events if "step" in e.message]
    # Interleaved steps: each model reported before the other finished (one after the other would be 0...0 1...1).
    assert order.index(1) < len(order) - 1 - order[::-1].index(0)
    assert order.index(0) < len(order) - 1 - order[::-1].index(1)


def test_stop_cancels_the_remote_call(executor) -> None:
    stop = threading.Event()
    control = RunControl(on_progress=lambda event: stop.set(), stop=stop)  # Stop at the first step
    with pytest.raises(Cancelled, match="FLUX.1-schnell"):
        executor.run("t2i/flux-schnell", T2IRequest(prompt="a long run", width=512, height=512, steps=50), control)
    # The replica is free again: the next request is served.
    assert executor.run("t2i/flux-schnell", T2IRequest(prompt="next", seed=1, width=512, height=512, steps=1))


def test_a_model_error_keeps_its_class_and_message(executor, local) -> None:
    bad = T2IRequest(prompt="a cat", width=500, height=512, steps=2)  # sent without the front's check
    with pytest.raises(InvalidInput) as here:
        local.run("t2i/flux-schnell", bad)
    with pytest.raises(InvalidInput) as there:
        executor.run("t2i/flux-schnell", bad)
    assert str(there.value) == str(here.value) and there.value.field == "width"


def test_a_killed_replica_is_replaced_and_the_next_request_succeeds(executor) -> None:
    request = T2IRequest(prompt="after a crash", seed=4, width=512, height=512, steps=2)
    before = executor.run("t2i/flux-schnell", request)
    group = executor._group_of["t2i/flux-schnell"]
    pid = executor._handle(group).status.remote().result(timeout_s=30)["pid"]
    os.kill(pid, signal.SIGKILL)
    after = executor.run("t2i/flux-schnell", request)
    assert after.image.tobytes() == before.image.tobytes()
    assert executor._handle(group).status.remote().result(timeout_s=30)["pid"] != pid


def test_engines_run_here_and_undeployed_models_say_so(executor) -> None:
    ok, why = executor.availability("t2i/kolors")
    assert not ok and "not deployed" in why
    with pytest.raises(ModelUnavailable, match="t2i/kolors is not deployed on the Ray cluster"):
        executor.run("t2i/kolors", T2IRequest(prompt="x", width=512, height=512))
    assert executor.availability("t2i/flux-schnell") == (True, "on the Ray deployment t2i-flux-schnell")
    status = executor.status()
    assert status["ray"]["studio-test-t2i-flux-schnell"]["replicas"]["t2i-flux-schnell"] == {"RUNNING": 1}
    assert {e.key for e in executor.loaded()} >= set(MODELS)
