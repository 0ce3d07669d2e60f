"""Shared fixtures of the try-on tests: the tiny-profile cache, real photos and a drawn garment."""

from __future__ import annotations

import dataclasses

import pytest
from PIL import Image

from backends.models.cache import ModelCache
from tests.backends.tasks.tryon.common import GARMENTS


@pytest.fixture(scope="module")
def cache(tiny_settings, registry, tmp_path_factory) -> ModelCache:
    """The tiny-profile cache; local VAEs and TorchScript extractors may come from the tests' scratch area."""
    settings = dataclasses.replace(tiny_settings, model_roots=(tmp_path_factory.getbasetemp(),))
    return ModelCache(registry, settings)


@pytest.fixture(scope="session")
def garment() -> Image.Image:
    return Image.open(GARMENTS / "tshirt.png").convert("RGB")
