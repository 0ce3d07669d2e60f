"""Shared fixtures: tiny-profile settings, a session-wide data dir (miniatures build once), GPU opt-in."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backends.core.settings import Settings
from backends.models.registry import default_registry

FIXTURES = Path(__file__).parent / "fixtures"
ARTIFACTS = Path(__file__).parent / "artifacts"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """GPU and slow tests run only with STUDIO_RUN_GPU=1 (CI has no GPU)."""
    if os.environ.get("STUDIO_RUN_GPU") == "1":
        return
    skip = pytest.mark.skip(reason="needs a GPU and real weights: set STUDIO_RUN_GPU=1")
    for item in items:
        if "gpu" in item.keywords or "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _quiet_and_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))


@pytest.fixture(scope="session")
def shared_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for the whole run, so each miniature is built and saved once."""
    return tmp_path_factory.mktemp("studio-data")


@pytest.fixture(scope="session")
def tiny_settings(shared_data_dir: Path) -> Settings:
    """Tiny profile on the CPU, offline."""
    return Settings(profile="tiny", device="cpu", data_dir=shared_data_dir, offline=True)


@pytest.fixture(scope="session")
def registry():
    return default_registry()


def _refuse_connection(*args: Any, **kwargs: Any) -> None:
    raise OSError("network access is disabled in this test module")


@pytest.fixture(scope="module")
def no_network() -> Iterator[None]:
    """Hub offline mode for a whole module, and no outgoing connections at all (proof nothing is downloaded)."""
    import huggingface_hub.constants

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # parsed once at import time
        mp.setattr(socket.socket, "connect", _refuse_connection)
        mp.setattr(socket.socket, "connect_ex", _refuse_connection)
        yield
