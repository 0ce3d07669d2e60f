"""OmniMamba's miniature on CUDA: both tasks in the registry's float32 (as the authors' scripts run) and in float16,
the same output twice, and the transformers Mamba-2 path (with the mamba-ssm kernels where installed). Opt in with
``STUDIO_RUN_GPU=1`` on a machine with a CUDA GPU (no network needed); skipped everywhere else."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from backends.core.settings import Settings
from backends.models.cache import ModelCache
from backends.models.executors import LocalExecutor
from backends.models.registry import default_registry
from backends.tasks.omnimamba.types import OmniMambaGenerateRequest
from backends.vision.vqa import VQARequest

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]
PHOTO = Path(__file__).resolve().parents[1] / "fixtures" / "photos" / "hagrid_four_06aa70cc.jpg"


@pytest.fixture(scope="module", params=["auto", "float16"])
def executor(request: pytest.FixtureRequest, shared_data_dir: Path) -> LocalExecutor:
    settings = Settings(profile="tiny", device="cuda", dtype=request.param, data_dir=shared_data_dir, offline=True)
    return LocalExecutor(ModelCache(default_registry(), settings))


def test_understanding_on_cuda(executor: LocalExecutor) -> None:
    request = VQARequest(Image.open(PHOTO), ["What is the person doing?", "Is the person smiling?"],
                         max_new_tokens=8)
    first = executor.run("face/omnimamba-1.3b", request)
    assert first.recipe.device.startswith("cuda") and first.recipe.dtype in ("float32", "float16")
    assert [a.text for a in executor.run("face/omnimamba-1.3b", request).answers] == [a.text for a in first.answers]


def test_generation_on_cuda(executor: LocalExecutor) -> None:
    request = OmniMambaGenerateRequest("a red cat on a white sofa", seed=1, top_k=0)
    first = executor.run("t2i/omnimamba-1.3b", request)
    assert first.recipe.device.startswith("cuda") and first.image.size == (256, 256)
    assert np.isfinite(np.asarray(first.image, dtype=np.float32)).all()
    again = executor.run("t2i/omnimamba-1.3b", request)
    assert again.codes == first.codes, "the same seed samples the same codes on the GPU (a CPU generator)"
