"""One local Ray cluster for the whole test session (started on first use, shut down at the end)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backends.core.settings import Settings

RAY_OBJECT_STORE_BYTES = 256 * 1024**2  # results are a few images: keep the shared-memory store small on CI


@pytest.fixture(scope="session")
def ray_cluster(tiny_settings: Settings) -> Iterator[None]:
    """A 2-CPU local Ray, through the executor's own ``connect`` (PYTHONPATH set for its workers); Serve is shut
    down at the end, and Ray too unless another fixture started it."""
    pytest.importorskip("ray.serve", reason="Ray Serve is optional: pip install -r requirements-ray.txt")
    import ray
    from ray import serve

    from backends.models.executors.ray_serve import connect

    started = not ray.is_initialized()  # another session fixture (the arena's pool pre-generation) may have
    connect(tiny_settings, num_cpus=2, log_to_driver=False, object_store_memory=RAY_OBJECT_STORE_BYTES)
    yield
    serve.shutdown()
    if started:
        ray.shutdown()
