"""What every tab shares: the application context, error handling, run control, handler binding and translations.

Tab modules define their handlers as module-level functions whose first argument is the ``AppContext`` (plain
Python, unit-tested without a browser); ``build(ctx)`` lays the tab out and wires ``bind(handler, ctx)`` to events.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import gradio as gr

from arena.sessions import LabelingService
from backends.core.errors import Cancelled, InvalidInput, StudioError
from backends.core.run import ProgressEvent, RunControl
from backends.core.settings import Settings
from backends.core.validation import check_number
from backends.models.executors import Executor
from backends.models.registry import Registry

log = logging.getLogger("studio.ui")
ASSETS = Path(__file__).resolve().parent.parent / "assets"
LOCALES = ("en", "zh-CN")
# Every event that runs an accelerator job shares this queue (read-only: it is spread into event listeners).
GPU: Mapping[str, Any] = MappingProxyType({"concurrency_id": "gpu", "concurrency_limit": 1})


class CancelTokens:
    """One Stop flag per browser session, so Stop ends the work of the session that pressed it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, threading.Event] = {}

    def start(self, session: str, progress: gr.Progress | None = None) -> RunControl:
        """A fresh run control for ``session`` (a new run clears an old Stop), reporting to ``progress``."""
        event = threading.Event()
        with self._lock:
            self._events[session] = event
        return RunControl(on_progress=gradio_progress(progress), stop=event)

    def stop(self, session: str) -> bool:
        """Ask the session's current run to stop; False when nothing runs."""
        with self._lock:
            event = self._events.get(session)
        if event is None or event.is_set():
            return False
        event.set()
        return True

    def finish(self, session: str, control: RunControl) -> None:
        """Forget the run's flag once it ended (unless a newer run replaced it)."""
        with self._lock:
            if self._events.get(session) is control.stop:
                del self._events[session]


@dataclass
class AppContext:
    """What ``app.py`` builds once and hands to every tab's ``build(ctx)`` and handlers.

    Attributes:
        settings: the studio settings.
        registry: the model registry.
        executor: where models run (the only way tabs reach models).
        i18n: UI translations.
        arena: the human-preference labeling service (sessions, battles, votes, leaderboards).
        cancels: per-session Stop flags.
    """

    settings: Settings
    registry: Registry
    executor: Executor
    i18n: gr.I18n
    arena: LabelingService | None = None
    cancels: CancelTokens = field(default_factory=CancelTokens)


def session_id(request: gr.Request | None) -> str:
    """A stable id for the browser session (API calls without one share ``"api"``)."""
    return getattr(request, "session_hash", None) or "api"


def client_id(request: gr.Request | None) -> str:
    """Who is calling, for the admin audit log and rate limit: the client's address (``"local"`` in-process)."""
    client = getattr(request, "client", None)
    return str(getattr(client, "host", None) or "local")


@contextlib.contextmanager
def run_control(ctx: AppContext, request: gr.Request | None, progress: gr.Progress | None) -> Iterator[RunControl]:
    """The run control of one event: progress to the browser's bar, Stop from the session's Stop button."""
    session = session_id(request)
    control = ctx.cancels.start(session, progress)
    try:
        yield control
    finally:
        ctx.cancels.finish(session, control)


def stop_run(ctx: AppContext, request: gr.Request) -> None:
    """Stop the session's current run at its next step."""
    if ctx.cancels.stop(session_id(request)):
        gr.Info("Stopping at the next step…")


def bind(handler: Callable[..., Any], ctx: AppContext, *fixed: Any) -> Callable[..., Any]:
    """``handler`` with the context (and any ``fixed`` leading arguments) bound, keeping its name, docstring and
    the signature of the remaining parameters.

    Gradio reads the signature and type hints to inject ``gr.Request`` / ``gr.Progress`` / ``gr.OAuthProfile``
    parameters and the docstring to describe the API endpoint; ``functools.partial`` would lose both.
    """
    signature = inspect.signature(handler)
    rest = list(signature.parameters.values())[1 + len(fixed):]

    if inspect.isgeneratorfunction(handler):

        @functools.wraps(handler)
        def generator(*args: Any, **kwargs: Any) -> Any:
            yield from handler(ctx, *fixed, *args, **kwargs)

        bound: Callable[..., Any] = generator
    else:

        @functools.wraps(handler)
        def bound(*args: Any, **kwargs: Any) -> Any:
            return handler(ctx, *fixed, *args, **kwargs)

    bound.__signature__ = signature.replace(parameters=rest)  # type: ignore[attr-defined]
    return bound


def ui_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn studio errors into ``gr.Error`` with a readable message, and log unexpected ones with an error id.

    Works for plain functions and generators. ``Cancelled`` becomes a gentle error saying the run was stopped.
    """

    def translate(exc: Exception) -> gr.Error:
        if isinstance(exc, gr.Error):
            return exc
        if isinstance(exc, Cancelled):
            return gr.Error(f"Stopped: {exc}", title="Stopped")
        if isinstance(exc, InvalidInput):
            return gr.Error(str(exc), title="Invalid input")
        if isinstance(exc, StudioError):
            return gr.Error(str(exc), title=type(exc).__name__)
        error_id = uuid.uuid4().hex[:8]
        log.exception("unexpected error %s in %s", error_id, fn.__name__)
        return gr.Error(f"Unexpected error (id {error_id}): {type(exc).__name__}: {exc}. The server log has details.")

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except Exception as exc:
                raise translate(exc) from exc

        return generator_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise translate(exc) from exc

    return wrapper


def gradio_progress(progress: gr.Progress | None) -> Callable[[ProgressEvent], None] | None:
    """Adapt ``gr.Progress`` to the backends' progress events."""
    if progress is None:
        return None

    def report(event: ProgressEvent) -> None:
        progress(event.fraction, desc=event.message)

    return report


def load_translations(assets: Path = ASSETS) -> dict[str, dict[str, str]]:
    """The UI strings per locale: ``assets/i18n/<locale>.json`` merged with each tab's ``<tab>.<locale>.json``.

    Raises:
        ValueError: two files define the same key (one would silently hide the other).
    """
    folder = assets / "i18n"
    translations: dict[str, dict[str, str]] = {}
    for locale in LOCALES:
        merged: dict[str, str] = {}
        for path in [folder / f"{locale}.json", *sorted(folder.glob(f"*.{locale}.json"))]:
            strings = json.loads(path.read_text("utf-8"))
            clash = set(strings) & set(merged)
            if clash:
                raise ValueError(f"{path.name} redefines {sorted(clash)}")
            merged.update(strings)
        translations[locale] = merged
    return translations


def make_i18n(assets: Path = ASSETS) -> gr.I18n:
    """A ``gr.I18n`` with the studio's English and Simplified Chinese strings."""
    return gr.I18n(**load_translations(assets))


def optional_number(value: Any) -> Any:
    """Gradio sends an empty number field as None; keep None, pass anything else through for validation."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def require_int(value: Any, field_name: str) -> int | None:
    """A whole number from a form field, None when empty; anything else is an ``InvalidInput`` naming the field."""
    value = optional_number(value)
    return None if value is None else int(check_number(value, field_name, integer=True))
