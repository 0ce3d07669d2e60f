"""OmniMamba's two backends on the tiny profile's miniature, loaded once per module."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from backends.models.backend import import_backend
from backends.models.registry import default_registry

PHOTOS = Path(__file__).resolve().parents[3] / "fixtures" / "photos"


@pytest.fixture(scope="module")
def understand(tiny_settings):
    backend = import_backend(default_registry()["face/omnimamba-1.3b"], tiny_settings)
    backend.load()
    yield backend
    backend.unload()


@pytest.fixture(scope="module")
def generate(tiny_settings):
    backend = import_backend(default_registry()["t2i/omnimamba-1.3b"], tiny_settings)
    backend.load()
    yield backend
    backend.unload()


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return Image.open(PHOTOS / "hagrid_four_06aa70cc.jpg").convert("RGB")


@pytest.fixture(scope="module")
def other_photo() -> Image.Image:
    return Image.open(PHOTOS / "hagrid_none_00af1db1.jpg").convert("RGB")
