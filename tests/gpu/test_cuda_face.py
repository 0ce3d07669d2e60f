"""The face VLM miniatures on CUDA in the half precision their model cards ask for, answering the same way twice.
Opt in with ``STUDIO_RUN_GPU=1`` on a machine with a CUDA GPU (no network needed); skipped everywhere else."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from backends.core.settings import Settings
from backends.models.cache import ModelCache
from backends.models.executors import LocalExecutor
from backends.models.registry import default_registry
from backends.vision.vqa import VQARequest

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]
VLMS = [s.key for s in default_registry().values() if s.task == "face" and s.architecture is not None]
PHOTO = Path(__file__).resolve().parents[1] / "fixtures" / "photos" / "hagrid_call_0413d5c5.jpg"


@pytest.fixture(scope="module")
def executor(shared_data_dir: Path) -> LocalExecutor:
    settings = Settings(profile="tiny", device="cuda", dtype="auto", data_dir=shared_data_dir, offline=True)
    return LocalExecutor(ModelCache(default_registry(), settings))


@pytest.mark.parametrize("key", VLMS)
def test_each_vlm_answers_on_cuda_in_half_precision(executor: LocalExecutor, key: str) -> None:
    spec = executor.registry[key]
    request = VQARequest(Image.open(PHOTO), ["Is the person smiling?", "这张脸是否戴眼镜？"], mode="yesno",
                         max_new_tokens=4)
    result = executor.run(key, request)
    assert result.recipe.device.startswith("cuda")
    expected = spec.dtype if spec.dtype != "bfloat16" or torch.cuda.is_bf16_supported() else "float16"
    assert result.recipe.dtype == expected
    assert all(0.0 <= a.yes_probability <= 1.0 and isinstance(a.text, str) for a in result.answers)
    again = executor.run(key, request)
    assert [a.text for a in again.answers] == [a.text for a in result.answers]
