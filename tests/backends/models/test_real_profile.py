"""The real profile's loading path, offline: every registry model with Hugging Face weights is written in its
released repository's layout (repo id, subfolder, variant file names) into a scratch Hugging Face cache, then loaded
with ``STUDIO_PROFILE=real`` and ``HF_HUB_OFFLINE=1`` through the exact registry arguments and run once.

The weights are the tiny profile's random-weight miniatures, so what is tested is the loading code a GPU user runs
first: repo ids, revisions, subfolders, variants, dtypes and the backends on top.
"""

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
from backends.tasks.hand_repair.types import HandRepairRequest
from backends.tasks.t2i.types import T2IRequest
from backends.tasks.tokenize.types import TokenizeRequest

COMMIT = "0123456789abcdef0123456789abcdef01234567"  # the snapshot's commit: recipes must report it
HUB_MODELS = [s.key for s in default_registry().values() if s.loader == "diffusers"]
PHOTO = Path(__file__).resolve().parents[2] / "fixtures" / "photos" / "hagrid_four_06aa70cc.jpg"


def write_snapshot(spec, miniature: Path, cache: Path) -> Path:
    """The miniature saved as ``cache/models--org--name/snapshots/<commit>/[subfolder/]`` with the variant names."""
    import diffusers

    repo = cache / f"models--{spec.repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / spec.revision).write_text(COMMIT)
    target = repo / "snapshots" / COMMIT / (spec.subfolder or "")
    if not target.exists():
        model = getattr(diffusers, spec.class_name).from_pretrained(miniature, local_files_only=True)
        model.save_pretrained(target, variant=spec.variant, safe_serialization=True)
    return target


@pytest.fixture(scope="module")
def hub(tiny_settings: Settings, no_network, tmp_path_factory: pytest.TempPathFactory):
    """A scratch Hugging Face cache holding every hub model of the registry; the hub itself is unreachable."""
    import huggingface_hub.constants

    cache = tmp_path_factory.mktemp("hf-hub")
    with pytest.MonkeyPatch.context() as mp:
        # Read at call time by huggingface_hub (diffusers passes cache_dir=None through).
        mp.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
        registry = default_registry()
        for key in HUB_MODELS:
            spec = registry[key]
            write_snapshot(spec, weights.ensure_miniature(spec, tiny_settings), cache)
        yield cache


def request_for(spec):
    side = spec.size.minimum
    if spec.task == "t2i":
        return T2IRequest(prompt="一只猫 in the snow, a sign that says \"OPEN\"", seed=3, width=side, height=side,
                          steps=2)
    if spec.task == "inpaint":
        return HandRepairRequest(PHOTO, method="inpaint", seed=3, steps=2, resolution=side)
    return TokenizeRequest(np.asarray(Image.open(PHOTO).convert("RGB")), max_side=128, curves=False)


@pytest.mark.parametrize("key", HUB_MODELS)
def test_registry_arguments_load_the_released_layout_offline(hub: Path, key: str, tmp_path: Path) -> None:
    spec = default_registry()[key]
    settings = Settings(profile="real", device="cpu", data_dir=tmp_path, offline=True)
    snapshot = hub / f"models--{spec.repo_id.replace('/', '--')}" / "snapshots" / COMMIT / (spec.subfolder or "")
    files = [p.name for p in snapshot.rglob("*.safetensors")]
    if spec.variant:  # only variant files exist, so loading works only if the registry's variant is passed
        assert files and all(f".{spec.variant}." in name for name in files)
    assert weights.availability(spec, settings) == (True, "in the local cache")
    backend = import_backend(spec, settings)
    backend.load()
    result = backend(request_for(spec))
    recipe = result.recipe
    assert recipe.profile == "real" and recipe.repo_id == spec.repo_id and recipe.revision == COMMIT
    assert not recipe.random_weights
    image = result.image if spec.task != "tok" else result.reconstruction
    assert np.isfinite(np.asarray(image, dtype=np.float32)).all() and image.size[0] > 0
    backend.unload()


def test_a_model_missing_from_the_cache_names_the_fetch_command(hub: Path, tmp_path: Path) -> None:
    spec = default_registry()["t2i/kolors"]
    settings = Settings(profile="real", device="cpu", data_dir=tmp_path, offline=True)
    repo = hub / f"models--{spec.repo_id.replace('/', '--')}"
    hidden = repo.with_name(repo.name + ".hidden")
    repo.rename(hidden)
    try:
        assert weights.availability(spec, settings) == (False, "not cached and HF_HUB_OFFLINE=1; run: "
                                                               "make fetch MODEL=t2i/kolors")
        with pytest.raises(ModelUnavailable, match="make fetch MODEL=t2i/kolors"):
            import_backend(spec, settings).load()
    finally:
        hidden.rename(repo)
