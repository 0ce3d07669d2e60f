"""The research adapters' real loading path, offline: released layouts in a scratch Hugging Face cache (see
``hub.py``), ``STUDIO_PROFILE=real`` and ``HF_HUB_OFFLINE=1``, each file found by ``hf_hub_download`` under its
released repo id and name, read safely, unwrapped, architecture read from the tensors, loaded strictly, and run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backends.core.errors import ModelUnavailable
from backends.core.settings import Settings
from backends.models import weights
from backends.models.backend import import_backend
from backends.models.registry import default_registry
from backends.tasks.tokenize.types import TokenizeRequest
from tests.backends.tasks.tokenize.hub import COMMIT, snapshot, write_research_snapshots

KEYS = ["tok/llamagen-vq", "tok/robusttok", "tok/xqgan-4096", "tok/xqgan-8192", "tok/robustok-post", "tok/titok",
        "tok/titok-sl256-vq8k", "tok/titok-bl128-vae", "tok/semanticist", "tok/va-vae"]
PHOTO = Path(__file__).resolve().parents[3] / "fixtures" / "photos" / "hagrid_four_06aa70cc.jpg"


@pytest.fixture(scope="module")
def hub(tiny_settings: Settings, no_network, tmp_path_factory: pytest.TempPathFactory):
    import huggingface_hub.constants

    cache = tmp_path_factory.mktemp("hf-hub-research")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))  # read at call time by hf_hub_download
        write_research_snapshots(cache, KEYS, tiny_settings)
        yield cache


def real(tmp_path: Path) -> Settings:
    return Settings(profile="real", device="cpu", data_dir=tmp_path, offline=True)


@pytest.mark.parametrize("key", KEYS)
def test_the_released_layout_loads_offline_and_tokenizes(hub: Path, key: str, tmp_path: Path) -> None:
    spec = default_registry()[key]
    settings = real(tmp_path)
    assert weights.availability(spec, settings) == (True, "in the local cache")
    backend = import_backend(spec, settings)
    backend.load()
    assert "/snapshots/" + COMMIT in str(backend.paths["weights"])
    result = backend(TokenizeRequest(np.asarray(Image.open(PHOTO).convert("RGB")), curves=False, steps=2))
    recipe = result.recipe
    assert recipe.profile == "real" and recipe.repo_id == spec.repo_id and recipe.revision == COMMIT
    assert not recipe.random_weights and backend.paths["weights"].name in recipe.pipeline
    assert result.reconstruction.size == (256, 256)
    assert np.isfinite(np.asarray(result.reconstruction, dtype=np.float32)).all()
    # the miniature is not the released architecture, and the summary says so
    assert "differs from the released one" in result.summary["note"]
    backend.unload()


def test_a_mixin_repo_with_only_pytorch_model_bin_loads(hub: Path, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    spec = default_registry()["tok/titok"]
    folder = snapshot(hub, str(spec.repo_id))
    (folder / "model.safetensors").rename(folder / "kept.safetensors")
    try:
        torch.save(load_file(folder / "kept.safetensors"), folder / "pytorch_model.bin")
        backend = import_backend(spec, real(tmp_path))
        backend.load()
        assert backend.paths["weights"].name == "pytorch_model.bin"
    finally:
        (folder / "kept.safetensors").rename(folder / "model.safetensors")
        (folder / "pytorch_model.bin").unlink(missing_ok=True)


def test_a_missing_file_names_the_fetch_command(hub: Path, tmp_path: Path) -> None:
    spec = default_registry()["tok/robustok-main"]  # its repo is not in the scratch cache
    settings = real(tmp_path)
    assert weights.availability(spec, settings) == (False, "not cached and HF_HUB_OFFLINE=1; run: "
                                                           "make fetch MODEL=tok/robustok-main")
    with pytest.raises(ModelUnavailable, match="main-train.pt: .*make fetch MODEL=tok/robustok-main"):
        import_backend(spec, settings).load()
