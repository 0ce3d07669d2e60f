"""Same seed, same image, however many clients ask at once: requests on one loaded pipeline never interleave
(diffusers schedulers keep per-call state on the pipeline), through the executor every tab and session uses."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from backends.core.settings import Settings
from backends.models.cache import ModelCache
from backends.models.executors import LocalExecutor
from backends.tasks.t2i.types import T2IRequest

CLIENTS = 4


@pytest.mark.parametrize("through", ["cache", "executor"])
@pytest.mark.parametrize("key", ["t2i/taiyi-sd-1b", "t2i/flux-schnell"])
def test_concurrent_requests_with_one_seed_equal_the_serial_result(tiny_settings: Settings, registry, key: str,
                                                                    through: str) -> None:
    cache = ModelCache(registry, tiny_settings)
    run = cache.run if through == "cache" else LocalExecutor(cache).run  # the cache's run lock, and the gate above
    request = T2IRequest(prompt="一只猫 sitting on a red sofa", seed=77, width=256, height=256, steps=3)
    serial = np.asarray(run(key, request).image)
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(lambda _: run(key, request), range(CLIENTS)))
    for result in results:
        assert np.array_equal(np.asarray(result.image), serial)
        assert result.recipe.seed == 77
