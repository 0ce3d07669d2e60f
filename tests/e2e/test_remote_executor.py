"""A front studio comparing models served by two other studio processes on loopback (the Spaces layout: a CPU front
Space, one GPU Space per memory group): the remote executor in-process, and a whole front studio over its /t2i."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client
from PIL import Image

from backends.core.errors import Cancelled, InvalidInput, ModelUnavailable
from backends.core.run import ProgressEvent, RunControl
from backends.core.settings import Settings
from backends.models.cache import ModelCache
from backends.models.executors import LocalExecutor
from backends.models.executors.remote import RemoteExecutor
from backends.tasks.t2i.types import T2IRequest
from tabs.serving import connect
from tests.e2e.conftest import Studio, start_studio, stop_studio

pytestmark = pytest.mark.e2e
TOKEN = "e2e-remote-token"
MODELS = ("t2i/flux-schnell", "t2i/hunyuan-dit")
T2I = dict(negative_prompt="", seed=21, width=512, height=512, steps=3, guidance=None)


@pytest.fixture(scope="module")
def model_studios(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Studio]]:
    """One studio per model, each serving only its own, as one GPU Space per memory group would."""
    studios: dict[str, Studio] = {}
    try:
        for key in MODELS:
            folder = tmp_path_factory.mktemp(key.replace("/", "-"))
            studios[key] = start_studio(folder / "data", folder / "studio.log",
                                        {"STUDIO_SERVE_MODELS": key, "STUDIO_REMOTE_TOKEN": TOKEN})
        yield studios
    finally:
        for studio in studios.values():
            stop_studio(studio)


@pytest.fixture(scope="module")
def front_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(profile="tiny", device="cpu", data_dir=tmp_path_factory.mktemp("front"), offline=True)


@pytest.fixture(scope="module")
def remote(model_studios, front_settings, registry) -> RemoteExecutor:
    routes = [(key, studio.url) for key, studio in model_studios.items()]
    return RemoteExecutor(LocalExecutor(ModelCache(registry, front_settings)), routes, connect, TOKEN)


@pytest.fixture(scope="module")
def local(front_settings, registry) -> LocalExecutor:
    return LocalExecutor(ModelCache(registry, front_settings))


def test_remote_models_give_the_same_pixels_with_progress(remote, local) -> None:
    request = T2IRequest(prompt="一只红色的狐狸 in the snow", seed=21, width=512, height=512, steps=3)
    events: list[ProgressEvent] = []
    there = remote.run_many([(key, request) for key in MODELS], RunControl(on_progress=events.append))
    for key, result in zip(MODELS, there, strict=True):
        here = local.run(key, request)
        assert result.image.tobytes() == here.image.tobytes()
        assert result.recipe.model == key and result.recipe.seed == 21
    assert events and max(e.fraction for e in events) <= 1.0
    assert any("step" in e.message for e in events)


def test_availability_comes_from_the_serving_studio(remote) -> None:
    assert remote.availability("t2i/flux-schnell") == (True, f"served by {remote.source('t2i/flux-schnell')}: "
                                                              "random-weight miniature")
    assert remote.availability("ocr/rapidocr")[0]  # not routed: this process


def test_stop_stops_the_remote_backend(remote) -> None:
    stop = threading.Event()
    control = RunControl(on_progress=lambda event: stop.set() if "step" in event.message else None, stop=stop)
    with pytest.raises(Cancelled, match=r"FLUX.1-schnell .* stopped at step \d+/50"):
        remote.run("t2i/flux-schnell", T2IRequest(prompt="a long run", width=512, height=512, steps=50), control)


def test_errors_keep_their_class_and_message(remote, local, model_studios, front_settings, registry) -> None:
    bad = T2IRequest(prompt="a cat", width=500, height=512, steps=2)
    with pytest.raises(InvalidInput) as here:
        local.run("t2i/flux-schnell", bad)
    with pytest.raises(InvalidInput) as there:
        remote.run("t2i/flux-schnell", bad)
    assert str(there.value) == str(here.value) and there.value.field == "width"
    # A studio serves only what STUDIO_SERVE_MODELS lists, and only to callers holding the token.
    wrong_route = RemoteExecutor(local, [("t2i/kolors", model_studios["t2i/flux-schnell"].url)], connect, TOKEN)
    with pytest.raises(ModelUnavailable, match="does not serve t2i/kolors to other studios"):
        wrong_route.run("t2i/kolors", T2IRequest(prompt="x", width=512, height=512, steps=1))
    intruder = RemoteExecutor(local, [("t2i/*", model_studios["t2i/flux-schnell"].url)], connect, "guess")
    with pytest.raises(InvalidInput, match="token: does not match"):
        intruder.run("t2i/flux-schnell", T2IRequest(prompt="x", width=512, height=512, steps=1))
    unreachable = RemoteExecutor(local, [("t2i/*", "http://127.0.0.1:9")], connect, TOKEN)
    with pytest.raises(ModelUnavailable, match="cannot reach http://127.0.0.1:9"):
        unreachable.run("t2i/flux-schnell", T2IRequest(prompt="x", width=512, height=512, steps=1))


def test_a_front_studio_compares_models_served_by_two_studios(model_studios, tmp_path: Path, local) -> None:
    routes = ",".join(f"{key}={studio.url}" for key, studio in model_studios.items())
    front = start_studio(tmp_path / "data", tmp_path / "front.log",
                         {"STUDIO_REMOTE_MODELS": routes, "STUDIO_REMOTE_TOKEN": TOKEN})
    try:
        client = Client(front.url, verbose=False)
        prompt = "a lighthouse at dusk"
        gallery, recipes, _ = client.predict(prompt=prompt, models=list(MODELS), **T2I, api_name="/t2i")
        assert [r["model"] for r in recipes] == list(MODELS)
        for item, key in zip(gallery, MODELS, strict=True):
            here = local.run(key, T2IRequest(prompt=prompt, seed=21, width=512, height=512, steps=3))
            assert np.array_equal(np.asarray(Image.open(item["image"]).convert("RGB")), np.asarray(here.image))
        models = client.predict(api_name="/models")
        flux = next(m for m in models if m["key"] == "t2i/flux-schnell")
        assert flux["available"] and "served by" in flux["availability"]
    finally:
        stop_studio(front)
    assert "Traceback" not in front.log.read_text()


def test_settings_route_patterns(front_settings, registry) -> None:
    settings = dataclasses.replace(front_settings, remote_models=(("t2i/*", "me/t2i"), ("t2i/kolors", "me/kolors")))
    executor = RemoteExecutor(LocalExecutor(ModelCache(registry, settings)), settings.remote_models, connect)
    assert executor.source("t2i/kolors") == "me/t2i"  # the first match wins
    assert executor.source("ocr/rapidocr") is None
