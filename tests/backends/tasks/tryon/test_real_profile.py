"""The try-on models' real loading path, offline: every file they read from the hub is written in its released
repository's layout (base UNet and scheduler, VAE, CatVTON's attention checkpoint, FLUX.1-Fill and OmniTry's LoRA)
into a scratch Hugging Face cache, then loaded with ``STUDIO_PROFILE=real`` and ``HF_HUB_OFFLINE=1`` and run once.
The weights are the tiny profile's miniatures: what is tested is the code a GPU user runs first."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from backends.core.errors import ModelUnavailable
from backends.core.settings import Settings
from backends.models import weights
from backends.models.backend import import_backend
from backends.models.registry import default_registry
from backends.tasks.tryon.types import TryOnRequest
from tests.backends.tasks.tryon.common import GARMENTS, PERSON

COMMIT = "fedcba9876543210fedcba9876543210fedcba98"
KEYS = ("tryon/catvton-maskfree", "tryon/catvton", "tryon/omnitry")


def snapshot(cache: Path, repo: str) -> Path:
    folder = cache / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    (folder / "refs" / "main").write_text(COMMIT)
    return folder / "snapshots" / COMMIT


@pytest.fixture(scope="module")
def hub(tiny_settings: Settings, no_network, tmp_path_factory: pytest.TempPathFactory):
    """A scratch hub cache holding every file the three try-on models read; the hub itself is unreachable."""
    import huggingface_hub.constants
    from diffusers import AutoencoderKL, FluxFillPipeline, UNet2DConditionModel

    cache = tmp_path_factory.mktemp("hf-hub")
    registry = default_registry()
    for key in ("tryon/catvton-maskfree", "tryon/catvton"):
        spec = registry[key]
        miniature = weights.ensure_miniature(spec, tiny_settings)
        base = snapshot(cache, spec.defaults.options["base"])
        UNet2DConditionModel.from_pretrained(miniature).save_pretrained(base / "unet")
        shutil.copytree(miniature / "scheduler", base / "scheduler", dirs_exist_ok=True)
        attention = snapshot(cache, spec.repo_id) / spec.subfolder
        attention.mkdir(parents=True, exist_ok=True)
        shutil.copy(miniature / "attention" / "model.safetensors", attention / "model.safetensors")
    vae = registry["tok/sd-vae"]
    AutoencoderKL.from_pretrained(weights.ensure_miniature(vae, tiny_settings)).save_pretrained(
        snapshot(cache, "stabilityai/sd-vae-ft-mse"))
    omnitry = registry["tryon/omnitry"]
    miniature = weights.ensure_miniature(omnitry, tiny_settings)
    FluxFillPipeline.from_pretrained(miniature).save_pretrained(snapshot(cache, omnitry.defaults.options["base"]))
    lora = snapshot(cache, omnitry.repo_id)
    lora.mkdir(parents=True, exist_ok=True)
    shutil.copy(miniature / omnitry.defaults.filename, lora / omnitry.defaults.filename)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
        yield cache


@pytest.mark.parametrize("key", KEYS)
def test_the_released_layout_loads_offline_and_runs(hub: Path, key: str, tmp_path: Path) -> None:
    spec = default_registry()[key]
    settings = Settings(profile="real", device="cpu", data_dir=tmp_path, offline=True)
    assert weights.availability(spec, settings) == (True, "in the local cache")
    backend = import_backend(spec, settings)
    backend.load()
    result = backend(TryOnRequest(PERSON, GARMENTS / "tshirt.png", seed=1, steps=1, width=256, height=320))
    recipe = result.recipe
    assert recipe.profile == "real" and recipe.repo_id == spec.repo_id and recipe.revision == COMMIT
    assert not recipe.random_weights and "non" in recipe.extra["license"].lower()
    assert np.isfinite(np.asarray(result.image, np.float32)).all() and result.image.size == (256, 320)
    backend.unload()


def test_a_missing_attention_checkpoint_names_the_fetch_command(hub: Path, tmp_path: Path) -> None:
    spec = default_registry()["tryon/catvton"]
    repo = hub / f"models--{spec.repo_id.replace('/', '--')}"
    hidden = repo.with_name(repo.name + ".hidden")
    repo.rename(hidden)
    try:
        settings = Settings(profile="real", device="cpu", data_dir=tmp_path, offline=True)
        assert weights.availability(spec, settings)[0] is False
        with pytest.raises(ModelUnavailable, match="make fetch MODEL=tryon/catvton"):
            import_backend(spec, settings).load()
    finally:
        hidden.rename(repo)
