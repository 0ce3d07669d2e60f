"""The real profile's loading path for the face VLMs, offline: each miniature is written in its released repo's
layout (repo id, revision) into a scratch Hugging Face cache, then loaded with ``STUDIO_PROFILE=real`` and
``HF_HUB_OFFLINE=1`` through the registry's arguments (model and processor) and asked a question."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from backends.core.errors import ModelUnavailable
from backends.core.settings import Settings
from backends.models import weights
from backends.models.backend import import_backend
from backends.models.registry import default_registry
from backends.vision.vqa import VQARequest

COMMIT = "89abcdef0123456789abcdef0123456789abcdef"
VLMS = [s.key for s in default_registry().values() if s.task == "face" and s.loader == "transformers"
        and s.architecture is not None]
PHOTO = Path(__file__).resolve().parents[3] / "fixtures" / "photos" / "hagrid_call_0413d5c5.jpg"


@pytest.fixture(scope="module")
def hub(tiny_settings: Settings, no_network, tmp_path_factory: pytest.TempPathFactory):
    import huggingface_hub.constants

    cache = tmp_path_factory.mktemp("hf-hub-vlm")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
        registry = default_registry()
        for key in VLMS:
            spec = registry[key]
            repo = cache / f"models--{spec.repo_id.replace('/', '--')}"
            (repo / "refs").mkdir(parents=True)
            (repo / "refs" / spec.revision).write_text(COMMIT)
            shutil.copytree(weights.ensure_miniature(spec, tiny_settings), repo / "snapshots" / COMMIT)
        yield cache


@pytest.mark.parametrize("key", VLMS)
def test_registry_arguments_load_the_released_layout_offline(hub: Path, key: str, tmp_path: Path) -> None:
    spec = default_registry()[key]
    settings = Settings(profile="real", device="cpu", data_dir=tmp_path, offline=True)
    assert weights.availability(spec, settings) == (True, "in the local cache")
    backend = import_backend(spec, settings)
    backend.load()
    result = backend(VQARequest(Image.open(PHOTO), ["Is the person smiling?"], max_new_tokens=4))
    recipe = result.recipe
    assert recipe.profile == "real" and recipe.repo_id == spec.repo_id and recipe.revision == COMMIT
    assert not recipe.random_weights and isinstance(result.answers[0].text, str)
    backend.unload()
    assert backend.processor is None


def test_a_missing_vlm_names_the_fetch_command(hub: Path, tmp_path: Path) -> None:
    spec = default_registry()["face/smolvlm-256m"]
    settings = Settings(profile="real", device="cpu", data_dir=tmp_path, offline=True)
    repo = hub / f"models--{spec.repo_id.replace('/', '--')}"
    hidden = repo.with_name(repo.name + ".hidden")
    repo.rename(hidden)
    try:
        with pytest.raises(ModelUnavailable, match="make fetch MODEL=face/smolvlm-256m"):
            import_backend(spec, settings).load()
    finally:
        hidden.rename(repo)
