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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import gradio as gr

from arena.sessions import LabelingService
from backends.core.clients import client_address
from backends.core.errors import InvalidInput, StudioError
from backends.core.i18n import Catalog, pick_locale
from backends.core.run import ProgressEvent, RunControl
from backends.core.settings import Settings
from backends.core.validation import check_number
from backends.models.executors import Executor
from backends.models.registry import Registry

log = logging.getLogger("studio.ui")
ASSETS = Path(__file__).resolve().parent.parent / "assets"
LOCALES = ("en", "zh-CN")
# studio.js keeps the page's current language here (Gradio's Settings may change it after load).
LOCALE_COOKIE = "studio-locale"
# Every event that runs an accelerator job shares this queue (read-only: it is spread into event listeners).
GPU: Mapping[str, Any] = MappingProxyType({"concurrency_id": "gpu", "concurrency_limit": 1})
# Text-to-image models compared side by side in one run (the form's limit and the handlers' check).
MAX_MODELS = 4


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


def client_id(ctx: AppContext, request: gr.Request | None) -> str:
    """Who is calling, for the admin audit log and rate limit: the client's address (``"local"`` in-process); behind
    a proxy listed in ``STUDIO_TRUSTED_PROXIES``, the client it forwards for (``X-Forwarded-For``)."""
    client = getattr(request, "client", None)
    headers = {str(k).lower(): str(v) for k, v in dict(getattr(request, "headers", None) or {}).items()}
    return client_address(getattr(client, "host", None), headers.get("x-forwarded-for"),
                          ctx.settings.trusted_proxies)


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
    """Stop the session's current run at its next step, and say so (a toast in the reader's language)."""
    gr.Info(stop_message(ctx, request))


def stop_message(ctx: AppContext, request: gr.Request) -> str:
    """Stop the session's current run; returns what to tell the user (for a status line beside the Stop button)."""
    return tr("common.stopping" if ctx.cancels.stop(session_id(request)) else "common.nothing_to_stop", request)


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
        # In the reader's language: the backends' English messages are looked up by their templates.
        if isinstance(exc, gr.Error):
            return exc
        if isinstance(exc, StudioError):
            title = next(f"errors.title.{k.__name__}" for k in type(exc).__mro__
                         if texts().has(f"errors.title.{k.__name__}") or k is StudioError)
            return gr.Error(error_message(exc), title=tr(title))
        error_id = uuid.uuid4().hex[:8]
        log.exception("unexpected error %s in %s", error_id, fn.__name__)
        return gr.Error(tr("errors.unexpected", id=error_id, kind=type(exc).__name__, detail=str(exc)),
                        title=tr("errors.title.unexpected"))

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


@dataclass(frozen=True)
class GradioProgress:
    """``gr.Progress`` as a sink of the backends' progress events; picklable, so it also reports from inside a
    ZeroGPU worker (Spaces forwards Gradio's progress updates from there)."""

    progress: gr.Progress
    locale: str = "en"  # messages are worded in the reader's language (taken in the event's own thread)

    def __call__(self, event: ProgressEvent) -> None:
        self.progress(event.fraction, desc=texts().message(self.locale, event.message))


def gradio_progress(progress: gr.Progress | None) -> Callable[[ProgressEvent], None] | None:
    """Adapt ``gr.Progress`` to the backends' progress events."""
    return None if progress is None else GradioProgress(progress, locale_of())


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


@functools.lru_cache(maxsize=1)
def texts() -> Catalog:
    """The server-side strings (the UI's, with parameters) and the backends' message templates
    (``assets/i18n/messages/<locale>.json``), read once: they ship with the code and never change at run time."""
    folder = ASSETS / "i18n" / "messages"
    messages = {loc: json.loads((folder / f"{loc}.json").read_text("utf-8")) for loc in LOCALES
                if (folder / f"{loc}.json").is_file()}
    return Catalog(load_translations(), messages)


def locale_of(request: gr.Request | None = None) -> str:
    """The locale of the browser behind ``request`` (default: the event being handled now): the page's language
    (studio.js keeps it in a cookie, so Gradio's Settings switch counts), else Accept-Language, else English."""
    if request is None:
        request = gr.context.LocalContext.request.get(None)
    if request is None:
        return "en"
    try:
        cookie = request.cookies.get(LOCALE_COOKIE)
        header = request.headers.get("accept-language")
    except AttributeError:  # a request rebuilt without its HTTP details (e.g. in tests)
        return "en"
    return pick_locale((cookie, header), LOCALES)


def tr(key: str, request: gr.Request | None = None, **params: Any) -> str:
    """The UI string ``key`` in the requesting browser's locale, with ``params`` filled in (server-made text:
    summaries, table headers, messages)."""
    return texts().text(locale_of(request), key, **params)


def message(text: str, request: gr.Request | None = None) -> str:
    """A backend's English message (a leaderboard note, a quality flag) in the reader's language, when the message
    catalog has its template."""
    return texts().message(locale_of(request), text)


def error_message(exc: StudioError, request: gr.Request | None = None) -> str:
    """A studio error as the reader should see it: ``InvalidInput`` as "field: message", the message translated
    through its English template when the catalog has one."""
    catalog, locale = texts(), locale_of(request)
    if isinstance(exc, InvalidInput):
        return f"{exc.field}: {catalog.message(locale, exc.reason)}"
    return catalog.message(locale, str(exc))


def headed(rows: list[list[Any]], headers: Sequence[str]) -> Any:
    """A table update with its English ``headers`` in the reader's language (through the message catalog, where a
    header is a template without values), shown: tables start hidden, so no untranslated header is ever on screen."""
    words = [tr(f"col.{h}") if texts().has(f"col.{h}") else message(h) for h in headers]  # short ones have keys
    return gr.Dataframe(value=rows, headers=words, visible=True)


def english(value: Any) -> Any:
    """A label as plain English text (``gr.I18n`` keys resolved), for places that are not translated in the
    browser: the API page, gradio_client's view_api and the MCP tool schemas."""
    key = getattr(value, "key", None)
    if isinstance(value, gr.i18n.I18nData) and isinstance(key, str):
        return texts().text("en", key)
    return value


class StudioBlocks(gr.Blocks):
    """``gr.Blocks`` whose API description names parameters by their English labels, not by translation keys
    (which the "Use via API" page would print as "[object Object]"), and lets a parameter the handler types as
    ``... | None`` be null (the MCP tool schemas are built from this description: "seed: None for random")."""

    def get_api_info(self, all_endpoints: bool = False, page: str | None = None) -> Any:
        """Gradio's API info with every parameter and return label in plain English, and None allowed where the
        handler allows it."""
        info = super().get_api_info(all_endpoints=all_endpoints, page=page)
        handlers = {f"/{fn.api_name}": fn.fn for fn in self.fns.values() if fn.api_name and fn.fn}
        for endpoints in info.values():
            for name, endpoint in endpoints.items() if isinstance(endpoints, dict) else ():
                optional = _optional_parameters(handlers.get(name))
                for entry in [*endpoint.get("parameters", []), *endpoint.get("returns", [])]:
                    entry["label"] = english(entry.get("label"))
                    kind = entry.get("type")
                    if entry.get("parameter_name") in optional and isinstance(kind, dict) and "anyOf" not in kind:
                        entry["type"] = {"anyOf": [kind, {"type": "null"}]}
        return info


def _optional_parameters(handler: Callable[..., Any] | None) -> set[str]:
    """The parameters of ``handler`` whose annotation admits None (``float | None``)."""
    if handler is None:
        return set()
    try:
        parameters = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return set()
    return {p.name for p in parameters if "None" in str(p.annotation)}


def optional_number(value: Any) -> Any:
    """Gradio sends an empty number field as None; keep None, pass anything else through for validation."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def require_int(value: Any, field_name: str) -> int | None:
    """A whole number from a form field, None when empty; anything else is an ``InvalidInput`` naming the field."""
    value = optional_number(value)
    return None if value is None else int(check_number(value, field_name, integer=True))
