"""OmniMamba's real loading path, offline: the released files (random weights, released repos and names) in a
scratch Hugging Face cache, ``STUDIO_PROFILE=real`` and ``HF_HUB_OFFLINE=1``; each file found by ``hf_hub_download``
or ``from_pretrained`` under its repo id, read safely, checked strictly, run. And what the registry says when a file
or memory is missing."""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import pytest

from backends.core.errors import ModelUnavailable
from backends.core.settings import Settings
from backends.models import weights
from backends.models.backend import import_backend
from backends.models.registry import default_registry
from backends.tasks.omnimamba import loader
from backends.tasks.omnimamba.types import OmniMambaGenerateRequest
from backends.vision.vqa import VQARequest
from tests.backends.tasks.omnimamba.hub import COMMIT, snapshot, write_omnimamba_snapshots

KEYS = ("face/omnimamba-1.3b", "t2i/omnimamba-1.3b")


@pytest.fixture(scope="module")
def hub(tiny_settings: Settings, no_network, tmp_path_factory: pytest.TempPathFactory):
    import huggingface_hub.constants

    cache = tmp_path_factory.mktemp("hf-hub-omnimamba")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))  # read at call time
        write_omnimamba_snapshots(cache, tiny_settings)
        yield cache


def real(tmp_path: Path, **extra) -> Settings:
    return Settings(profile="real", device="cpu", data_dir=tmp_path, offline=True, cache_budget_gb=64, **extra)


def test_both_tasks_load_the_released_layout_offline_and_run(hub: Path, tmp_path: Path, photo) -> None:
    registry = default_registry()
    for key in KEYS:
        assert weights.availability(registry[key], real(tmp_path)) == (True, "in the local cache")
    understand = import_backend(registry["face/omnimamba-1.3b"], real(tmp_path))
    understand.load()
    assert f"/snapshots/{COMMIT}/" in str(understand.parts.main) and understand.report.ok
    answer = understand(VQARequest(photo, ["What is it?"], max_new_tokens=3))
    generate = import_backend(registry["t2i/omnimamba-1.3b"], real(tmp_path))
    generate.load()
    image = generate(OmniMambaGenerateRequest("a dog", seed=0))
    for recipe in (answer.recipe, image.recipe):
        assert recipe.profile == "real" and recipe.repo_id == "hustvl/OmniMamba" and recipe.revision == COMMIT
        assert not recipe.random_weights and "differs from the released one" in recipe.pipeline  # a miniature
    assert image.image.size == (256, 256)


def test_each_missing_file_is_named(hub: Path, tmp_path: Path) -> None:
    spec = default_registry()["t2i/omnimamba-1.3b"]
    vq = snapshot(hub, "peizesun/llamagen_t2i") / "vq_ds16_t2i.pt"
    vq.rename(vq.with_suffix(".kept"))
    try:
        ok, why = weights.availability(spec, real(tmp_path))
        assert not ok and "missing 1 file(s)" in why and "peizesun/llamagen_t2i/vq_ds16_t2i.pt" in why
        assert "make fetch MODEL=t2i/omnimamba-1.3b" in why
        backend = import_backend(spec, real(tmp_path))
        with pytest.raises(ModelUnavailable, match="peizesun/llamagen_t2i/vq_ds16_t2i.pt"):
            backend.load()
    finally:
        vq.with_suffix(".kept").rename(vq)


def test_too_little_memory_is_reported_with_the_numbers(hub: Path, tmp_path: Path) -> None:
    settings = Settings(profile="real", device="cpu", data_dir=tmp_path, offline=True, cache_budget_gb=2)
    ok, why = weights.availability(default_registry()["face/omnimamba-1.3b"], settings)
    assert not ok and why == ("needs about 9.0 GB for its weights in float32 on cpu, more than the 2.0 GB memory "
                              "budget here (STUDIO_CACHE_BUDGET_GB or the device's)")


def test_a_checkpoint_root_is_searched_first(hub: Path, tmp_path: Path) -> None:
    spec = default_registry()["t2i/omnimamba-1.3b"]
    root = tmp_path / "roots"
    (root / "hustvl/OmniMamba").mkdir(parents=True)
    source = snapshot(hub, "hustvl/OmniMamba") / "OmniMamba-1.3b.pth"
    (root / "hustvl/OmniMamba/OmniMamba-1.3b.pth").write_bytes(source.read_bytes())
    parts = loader.find_parts(spec, real(tmp_path, checkpoint_roots=(root,)), "t2i")
    assert parts.main == root / "hustvl/OmniMamba/OmniMamba-1.3b.pth"


def test_an_unexpected_key_is_refused_with_the_list(hub: Path, tmp_path: Path) -> None:
    import torch

    state = torch.load(snapshot(hub, "hustvl/OmniMamba") / "OmniMamba-1.3b.pth", weights_only=True)
    state["llm_backbone.mamba.backbone.adaln_group.weight"] = torch.zeros(2)
    del state["projector.projector.4.bias"]
    path = tmp_path / "edited.pth"
    torch.save(state, path)
    with pytest.raises(ModelUnavailable) as caught:
        loader.load_lm(path, "mmu", "cpu", torch.float32)
    message = str(caught.value)
    assert "unexpected (1)" in message and "adaln_group.weight" in message
    assert "missing (1)" in message and "projector.projector.4.bias" in message


def test_a_pickle_with_code_is_never_unpickled(tmp_path: Path) -> None:
    class Payload:
        def __reduce__(self):
            return (print, ("unpickled!",))

    path = tmp_path / "evil.pth"
    with path.open("wb") as handle:
        pickle.dump({"weights": Payload()}, handle)
    with pytest.raises(ModelUnavailable, match="safe unpickler refuses"):
        loader.read_file(path)
    import torch

    torch.save({"model": {}, "args": argparse.Namespace(vq_model="VQ-16")}, tmp_path / "container.pt")
    assert isinstance(loader.read_file(tmp_path / "container.pt")["args"], argparse.Namespace)
