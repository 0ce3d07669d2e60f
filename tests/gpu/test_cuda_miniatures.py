"""Every miniature on CUDA in the half precision its model card asks for (fp16 / bf16), with the cache budget read
from the device. Opt in with ``STUDIO_RUN_GPU=1`` on a machine with a CUDA GPU (no network needed: miniatures only);
skipped everywhere else, so CI never depends on a GPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from backends.core.settings import Settings
from backends.models.cache import ModelCache
from backends.models.executors import LocalExecutor
from backends.models.registry import default_registry
from backends.tasks.hand_repair.types import HandRepairRequest
from backends.tasks.t2i.types import T2IRequest
from backends.tasks.tokenize.types import TokenizeRequest

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]
# The face VLMs answer questions rather than draw images: tests/gpu/test_cuda_face.py runs them; the try-on models
# take a person and a garment: tests/gpu/test_cuda_tryon.py.
MINIATURES = [s.key for s in default_registry().values()
              if s.architecture is not None and s.task not in ("face", "tryon")]
PHOTO = Path(__file__).resolve().parents[1] / "fixtures" / "photos" / "hagrid_four_06aa70cc.jpg"


@pytest.fixture(scope="module")
def executor(shared_data_dir: Path) -> LocalExecutor:
    settings = Settings(profile="tiny", device="cuda", dtype="auto", data_dir=shared_data_dir, offline=True)
    return LocalExecutor(ModelCache(default_registry(), settings))


def test_the_budget_is_read_from_the_device(executor: LocalExecutor) -> None:
    total = torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory
    assert executor.status()["budget_bytes"] == int(0.9 * total)


@pytest.mark.parametrize("key", MINIATURES)
def test_each_miniature_runs_on_cuda_in_half_precision(executor: LocalExecutor, key: str) -> None:
    spec = executor.registry[key]
    side = spec.size.minimum
    if spec.task == "t2i":
        request = T2IRequest(prompt="一只猫 in the snow", seed=1, width=side, height=side, steps=2)
    elif spec.task == "inpaint":
        request = HandRepairRequest(PHOTO, method="inpaint", seed=1, steps=2, resolution=side)
    else:
        request = TokenizeRequest(PHOTO, max_side=256, curves=False)
    result = executor.run(key, request)
    image = result.reconstruction if spec.task == "tok" else result.image
    assert np.isfinite(np.asarray(image, dtype=np.float32)).all()
    assert result.recipe.device.startswith("cuda")
    expected = spec.dtype if spec.dtype != "bfloat16" or torch.cuda.is_bf16_supported() else "float16"
    assert result.recipe.dtype == expected
    second = executor.run(key, request)
    same = (second.reconstruction if spec.task == "tok" else second.image).tobytes() == image.tobytes()
    assert same, "the same seed gives the same pixels on the GPU too"
