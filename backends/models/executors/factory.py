"""Build the executor the settings ask for: local (also on ZeroGPU), Ray Serve, and remote studios on top."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from typing import Any

from backends.core.settings import Settings
from backends.models.cache import ModelCache
from backends.models.executors.base import Executor
from backends.models.executors.local import LocalExecutor
from backends.models.registry import Registry

log = logging.getLogger(__name__)


def make_executor(settings: Settings, registry: Registry,
                  connect_remote: Callable[[str], Any] | None = None) -> Executor:
    """The studio's executor.

    - ``local``: this process. On ZeroGPU (``SPACES_ZERO_GPU``) models load on the CPU (with ``STUDIO_DEVICE=auto``)
      and move to CUDA inside the ``spaces.GPU`` call.
    - ``ray``: accelerator models on Ray Serve (connecting, and deploying when Ray is local, starts in the
      background so the first page load does not wait for it); built-in engines and APIs here.
    - ``STUDIO_REMOTE_MODELS``: the listed models on other studios, through ``connect_remote`` (a gradio_client
      factory the composition root passes in).

    Raises:
        ValueError: remote models are configured but no ``connect_remote`` was given.
    """
    cache_settings = settings
    if settings.zero_gpu and settings.device == "auto":
        # Outside @spaces.GPU, ZeroGPU emulates CUDA; load on the CPU and move inside the call instead.
        cache_settings = dataclasses.replace(settings, device="cpu")
    executor: Executor = LocalExecutor(ModelCache(registry, cache_settings))
    if settings.executor == "ray":
        from backends.models.executors.ray_serve import RayExecutor

        ray_executor = RayExecutor(registry, settings, local=executor)
        threading.Thread(target=_warm_up, args=(ray_executor,), name="ray-connect", daemon=True).start()
        executor = ray_executor
    if settings.remote_models:
        if connect_remote is None:
            raise ValueError("STUDIO_REMOTE_MODELS needs a connect_remote factory")
        from backends.models.executors.remote import RemoteExecutor

        executor = RemoteExecutor(executor, settings.remote_models, connect_remote, settings.remote_token)
    return executor


def _warm_up(executor: Any) -> None:
    try:
        executor.status()
    except Exception:  # the first run reports the same problem to the user
        log.exception("connecting to Ray failed")
