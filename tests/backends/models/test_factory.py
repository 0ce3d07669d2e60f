"""The executor the settings ask for, and a clear error when the Ray extra is not installed."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from backends.core.errors import ModelUnavailable
from backends.models.cache import ModelCache
from backends.models.executors import Executor, LocalExecutor
from backends.models.executors.factory import make_executor
from backends.models.executors.ray_serve import RayExecutor, connect
from backends.models.executors.remote import RemoteExecutor


def test_local_by_default_and_remote_models_on_top(tiny_settings, registry) -> None:
    local = make_executor(tiny_settings, registry)
    assert type(local) is LocalExecutor and not local.zero_gpu
    routed = dataclasses.replace(tiny_settings, remote_models=(("t2i/*", "me/t2i"),), remote_token="s")
    with pytest.raises(ValueError, match="connect_remote"):
        make_executor(routed, registry)
    remote = make_executor(routed, registry, connect_remote=lambda source: None)
    assert isinstance(remote, RemoteExecutor) and isinstance(remote, Executor)
    assert remote.source("t2i/kolors") == "me/t2i" and type(remote.fallback) is LocalExecutor


def test_on_zerogpu_models_load_on_the_cpu(tiny_settings, registry, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "spaces", type(sys)("spaces"))
    sys.modules["spaces"].GPU = lambda fn, duration=None, size=None: fn
    executor = make_executor(dataclasses.replace(tiny_settings, device="auto", zero_gpu=True), registry)
    assert executor.zero_gpu and executor.cache.settings.device == "cpu"


def test_ray_without_the_extra_says_how_to_install_it(tiny_settings, registry, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(ModelUnavailable, match=r"pip install -r requirements-ray.txt"):
        connect(tiny_settings)
    settings = dataclasses.replace(tiny_settings, executor="ray", ray_address="ray://nowhere:10001")
    executor = RayExecutor(registry, settings, LocalExecutor(ModelCache(registry, tiny_settings)))
    ok, why = executor.availability("t2i/kolors")
    assert not ok and "requirements-ray.txt" in why
    assert "requirements-ray.txt" in executor.status()["ray"]["error"]
    assert executor.availability("ocr/rapidocr")[0]  # built-in engines run here, without Ray
