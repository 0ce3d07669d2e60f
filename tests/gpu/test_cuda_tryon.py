"""The try-on miniatures on CUDA in bf16 (fp16 where bf16 is unsupported): CatVTON-MaskFree, CatVTON and OmniTry.
Opt in with ``STUDIO_RUN_GPU=1`` on a machine with a CUDA GPU; skipped everywhere else."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from backends.core.settings import Settings
from backends.models.cache import ModelCache
from backends.models.executors import LocalExecutor
from backends.models.registry import default_registry
from backends.tasks.tryon.types import TryOnRequest

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]
ROOT = Path(__file__).resolve().parents[2]
PERSON = ROOT / "tests" / "fixtures" / "photos" / "hagrid_four_06aa70cc.jpg"
GARMENT = ROOT / "assets" / "examples" / "garments" / "tshirt.png"


@pytest.fixture(scope="module")
def executor(shared_data_dir: Path) -> LocalExecutor:
    settings = Settings(profile="tiny", device="cuda", dtype="auto", data_dir=shared_data_dir, offline=True)
    return LocalExecutor(ModelCache(default_registry(), settings))


@pytest.mark.parametrize("key", ["tryon/catvton-maskfree", "tryon/catvton", "tryon/omnitry"])
def test_each_tryon_miniature_runs_on_cuda(executor: LocalExecutor, key: str) -> None:
    request = TryOnRequest(PERSON, GARMENT, seed=1, steps=2, width=256, height=320)
    result = executor.run(key, request)
    assert np.isfinite(np.asarray(result.image, dtype=np.float32)).all() and result.recipe.device.startswith("cuda")
    expected = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    assert result.recipe.dtype == expected
    assert executor.run(key, request).image.tobytes() == result.image.tobytes()  # same seed, same pixels
