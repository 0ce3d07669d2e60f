"""The executor seam: what tabs, the arena's live sessions and the command line call to run a model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from backends.core.run import RunControl
from backends.core.settings import Settings
from backends.models.cache import EntryInfo
from backends.models.registry import Registry


@runtime_checkable
class Executor(Protocol):
    """Runs requests on registry models, wherever the models live.

    Requests and results are the task dataclasses of ``backends.tasks.*.types`` (serialisable with
    ``backends.models.executors.payload``); the ``RunControl`` travels beside the request, never inside it.
    """

    registry: Registry
    settings: Settings

    def check(self, key: str, request: Any) -> None:
        """Validate ``request`` for model ``key`` without running anything (raises ``InvalidInput``)."""

    def availability(self, key: str) -> tuple[bool, str]:
        """Whether ``key`` can run now, and why not."""

    def run(self, key: str, request: Any, control: RunControl | None = None) -> Any:
        """Run one request on model ``key`` and return its result."""

    def run_many(self, jobs: Sequence[tuple[str, Any]], control: RunControl | None = None) -> list[Any]:
        """Run several ``(key, request)`` jobs (a side-by-side comparison) and return their results in order: in
        turn where models share a device, at once where they live apart (Ray replicas, other studios)."""

    def loaded(self) -> list[EntryInfo]:
        """The models in memory."""

    def free(self, keys: list[str] | None = None) -> list[str]:
        """Unload models (all when None) unless in use; returns the keys freed."""

    def status(self) -> dict[str, Any]:
        """``used_bytes`` and ``budget_bytes`` of loaded models, and the cache's counters (``stats``)."""
