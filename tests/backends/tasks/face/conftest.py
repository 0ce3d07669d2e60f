"""A tiny-profile executor shared by the face task's tests (miniatures build once per session)."""

from __future__ import annotations

import pytest

from backends.models.cache import ModelCache
from backends.models.executors import LocalExecutor


@pytest.fixture(scope="module")
def executor(tiny_settings, registry) -> LocalExecutor:
    return LocalExecutor(ModelCache(registry, tiny_settings))
