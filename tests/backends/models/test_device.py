"""Device policy: the memory budget is read from the device models will run on, and the placement policy
(``STUDIO_OFFLOAD``) applies to every pipeline the cache loads, whatever its task."""

from __future__ import annotations

import types

import pytest
import torch

from backends.core.errors import ModelUnavailable
from backends.core.settings import Settings
from backends.models import device, weights
from backends.models.backend import import_backend
from backends.models.registry import default_registry

GB = 1024**3


@pytest.fixture
def two_gpus(monkeypatch: pytest.MonkeyPatch) -> dict[int, int]:
    """A faked CUDA machine with an 80 GB device 0 and a 24 GB device 1."""
    sizes = {0: 80 * GB, 1: 24 * GB}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_properties",
                        lambda index: types.SimpleNamespace(total_memory=sizes[index]))
    return sizes


def test_budget_is_read_from_the_cuda_device_models_run_on(two_gpus: dict[int, int]) -> None:
    assert device.memory_budget(Settings(device="auto")) == int(0.9 * two_gpus[0])
    assert device.memory_budget(Settings(device="cuda")) == int(0.9 * two_gpus[0])
    assert device.memory_budget(Settings(device="cuda:1")) == int(0.9 * two_gpus[1])  # not device 0's memory


def test_an_explicit_budget_wins_and_the_cpu_budget_is_half_the_ram(two_gpus: dict[int, int]) -> None:
    assert device.memory_budget(Settings(device="cuda:1", cache_budget_gb=3)) == 3 * GB
    ram = device.os.sysconf("SC_PAGE_SIZE") * device.os.sysconf("SC_PHYS_PAGES")
    assert device.memory_budget(Settings(device="cpu")) == int(0.5 * ram)


def test_asking_for_cuda_without_it_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ModelUnavailable, match="STUDIO_DEVICE=cuda:1 but no CUDA device"):
        device.memory_budget(Settings(device="cuda:1"))


@pytest.mark.parametrize("offload, method", [("model", "enable_model_cpu_offload"),
                                              ("sequential", "enable_sequential_cpu_offload")])
@pytest.mark.parametrize("key", ["t2i/taiyi-sd-1b", "inpaint/sd15"])
def test_offload_applies_to_every_pipeline(monkeypatch: pytest.MonkeyPatch, tiny_settings: Settings, key: str,
                                           offload: str, method: str) -> None:
    """The same ``load_pretrained`` places text-to-image and hand-repair pipelines (hand repair ignored it once)."""
    import diffusers

    spec = default_registry()[key]
    calls: list[str] = []
    pipeline_class = getattr(diffusers, spec.class_name)
    monkeypatch.setattr(pipeline_class, method, lambda self, device=None: calls.append(device), raising=True)
    monkeypatch.setattr(pipeline_class, "to", lambda self, *a, **k: pytest.fail("offloaded pipelines are not moved"))
    monkeypatch.setattr(device, "resolve_device", lambda settings: "cuda:0")
    monkeypatch.setattr(device, "resolve_dtype", lambda settings, spec, where: torch.float32)
    settings = Settings(profile="tiny", device="cpu", data_dir=tiny_settings.data_dir, offline=True, offload=offload)
    loaded = weights.load_pretrained(spec, settings)
    assert calls == ["cuda:0"] and loaded.device == "cuda:0"
    backend = import_backend(spec, settings)  # the task backend goes through the same loader
    monkeypatch.setattr(weights, "load_pretrained", lambda *a, **k: loaded)
    backend.load()
    assert backend.model is loaded.model
