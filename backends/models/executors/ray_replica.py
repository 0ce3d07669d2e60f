"""One Ray Serve replica of a model group: the studio's own ``LocalExecutor`` and ``ModelCache``, on the GPU share
Ray gave it. Imported by Ray on the cluster's workers; ray itself is not imported here.

A run streams back ``("progress", ProgressEvent)`` items, then ``("ok", result)`` or ``("error", data)`` (see
``wire.error_data``: the caller raises the same class with the same message). When the caller cancels (its Stop),
Ray Serve cancels this generator; the replica then sets the run's Stop so the backend ends at its next step.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from backends.core.errors import ModelUnavailable, StudioError
from backends.core.run import ProgressEvent, RunControl
from backends.core.settings import Settings
from backends.models.cache import EntryInfo, ModelCache
from backends.models.executors.groups import ModelGroup
from backends.models.executors.local import LocalExecutor
from backends.models.executors.wire import error_data

log = logging.getLogger(__name__)
PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress items a second per run: each streamed item is a Ray message


class StudioReplica:
    """Serves the models of one group.

    Args:
        settings: the deploying studio's settings, with the cache budget of this group's GPU share.
        group: the group this deployment serves.
    """

    def __init__(self, settings: Settings, group: ModelGroup) -> None:
        from backends.models.registry import default_registry

        self.group = group
        self.executor = LocalExecutor(ModelCache(default_registry(), settings))
        # One job at a time: a cancelled job finishes its current step before the next one starts.
        self._jobs = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"studio-{group.name}")

    async def run(self, key: str, request: Any) -> AsyncIterator[tuple[str, Any]]:
        """Run ``request`` on ``key``, streaming progress events, then the result or the error."""
        if key not in self.group.keys:
            yield "error", error_data(ModelUnavailable(f"{key} is not served by the Ray deployment "
                                                       f"{self.group.name} ({', '.join(self.group.keys)})"))
            return
        loop = asyncio.get_running_loop()
        items: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stop = threading.Event()

        def report(event: ProgressEvent) -> None:
            loop.call_soon_threadsafe(items.put_nowait, ("progress", event))

        def job() -> None:
            try:
                outcome: tuple[str, Any] = ("ok", self.executor.run(key, request, RunControl(report, stop)))
            except Exception as exc:  # every failure goes back to the caller, rebuilt there
                if not isinstance(exc, StudioError):
                    log.exception("%s failed on the Ray deployment %s", key, self.group.name)
                outcome = ("error", error_data(exc))
            loop.call_soon_threadsafe(items.put_nowait, outcome)

        loop.run_in_executor(self._jobs, job)
        held: tuple[str, Any] | None = None  # the latest progress not sent yet
        sent_at = 0.0
        try:
            while True:
                timeout = None if held is None else max(0.0, sent_at + PROGRESS_INTERVAL_S - loop.time())
                try:
                    kind, value = await asyncio.wait_for(items.get(), timeout)
                except TimeoutError:  # the interval passed: send what was held
                    yield held
                    held, sent_at = None, loop.time()
                    continue
                if kind == "progress":
                    if loop.time() - sent_at < PROGRESS_INTERVAL_S:
                        held = (kind, value)  # steps faster than the interval: only the latest one goes out
                        continue
                    held = None
                    yield kind, value
                    sent_at = loop.time()
                    continue
                if held is not None:
                    yield held  # the bar reaches the last step before the result arrives
                yield kind, value
                return
        finally:
            stop.set()  # cancelled by the caller's Stop (or done): the backend stops at its next step

    def loaded(self) -> list[EntryInfo]:
        """The models this replica holds."""
        return self.executor.loaded()

    def free(self, keys: list[str] | None = None) -> list[str]:
        """Unload models unless in use."""
        return self.executor.free(keys)

    def status(self) -> dict[str, Any]:
        """Memory, cache counters, the group and the process id (so operators and tests can find the process)."""
        return {**self.executor.status(), "group": self.group.name, "keys": list(self.group.keys),
                "pid": os.getpid()}
