"""The remote executor: models served by other studios (Hugging Face Spaces or self-hosted), called over Gradio.

``STUDIO_REMOTE_MODELS`` maps registry keys (or patterns such as ``t2i/*``) to a Space id or URL; each such studio
runs with ``STUDIO_SERVE_MODELS`` naming what it serves. A run calls the serving studio's undocumented
``/run_model`` endpoint with the request encoded by ``payload`` and gets back ``wire.encode_outcome``: the result,
or the error rebuilt here with its class and message. Progress comes from the job's status updates (the serving
studio reports to ``gr.Progress``); Stop calls ``/stop_model`` with the run's id, so the remote backend stops at its
next step. ``/model_availability`` says which models the serving studio can run. Every other key goes to the
fallback executor (local or Ray).

gradio_client is not imported here (backends never import Gradio's packages): ``connect`` comes from the
composition root (``tabs.serving.connect``), and tests may pass fakes.
"""

from __future__ import annotations

import fnmatch
import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from backends.core.errors import ModelUnavailable, StudioError
from backends.core.run import RunControl
from backends.models.cache import EntryInfo
from backends.models.executors import payload, wire
from backends.models.executors.base import Executor
from backends.models.executors.batch import Job, run_at_once

RUN_ENDPOINT, STOP_ENDPOINT, AVAILABILITY_ENDPOINT = "/run_model", "/stop_model", "/model_availability"
POLL_SECONDS = 0.1  # how often a running job's status is read (progress, Stop)
AVAILABILITY_TTL_S = 30.0  # the Models tab asks on every page load: one call per serving studio per 30 s


class RemoteClient(Protocol):
    """What the executor needs from ``gradio_client.Client``."""

    def submit(self, *args: Any, api_name: str) -> Any:
        """Start a job (``Job``: ``done()``, ``status()``, ``result()``, ``cancel()``)."""

    def predict(self, *args: Any, api_name: str) -> Any:
        """Call an endpoint and wait for its answer."""


class RemoteExecutor:
    """Routes some models to other studios and the rest to ``fallback``.

    Args:
        fallback: the executor of every model not routed elsewhere.
        routes: (key or fnmatch pattern, Space id or URL) pairs; the first match wins.
        connect: opens a client to a Space id or URL.
        token: the shared secret the serving studios expect (``STUDIO_REMOTE_TOKEN``).
    """

    def __init__(self, fallback: Executor, routes: Sequence[tuple[str, str]], connect: Callable[[str], RemoteClient],
                 token: str = "") -> None:
        self.fallback = fallback
        self.registry = fallback.registry
        self.settings = fallback.settings
        self.routes = tuple(routes)
        self._connect = connect
        self._token = token
        self._lock = threading.Lock()
        self._clients: dict[str, RemoteClient] = {}
        self._availability: dict[str, tuple[float, dict[str, Any]]] = {}

    def source(self, key: str) -> str | None:
        """The Space id or URL serving ``key``, or None when it runs through the fallback executor."""
        return next((source for pattern, source in self.routes if fnmatch.fnmatch(key, pattern)), None)

    # ----------------------------------------------------------------------------------------------------------------
    # The Executor protocol
    # ----------------------------------------------------------------------------------------------------------------
    def check(self, key: str, request: Any) -> None:
        """Validate ``request`` here: the same torch-free checks the serving studio runs."""
        self.fallback.check(key, request)

    def availability(self, key: str) -> tuple[bool, str]:
        """Routed models: what their serving studio says (cached for ``AVAILABILITY_TTL_S``)."""
        source = self.source(key)
        if source is None:
            return self.fallback.availability(key)
        self.registry.get_spec(key)
        try:
            answers = self._served(source)
        except ModelUnavailable as exc:
            return False, str(exc)
        if key not in answers:
            return False, f"{source} does not serve {key} (its STUDIO_SERVE_MODELS leaves it out)"
        ok, why = answers[key]
        return bool(ok), f"served by {source}: {why}"

    def run(self, key: str, request: Any, control: RunControl | None = None) -> Any:
        """Run ``request`` on the studio serving ``key`` (or the fallback executor).

        Raises:
            StudioError: raised by the serving studio (same class and message), or ``ModelUnavailable`` when it
                cannot be reached.
        """
        control = control or RunControl()
        source = self.source(key)
        if source is None:
            return self.fallback.run(key, request, control)
        self.registry.get_spec(key)
        client = self._client(source)
        run_id = uuid.uuid4().hex
        body = {"key": key, "request": payload.encode(request), "run_id": run_id, "token": self._token}
        try:
            job = client.submit(json.dumps(body), api_name=RUN_ENDPOINT)
            text = self._follow(client, job, run_id, control)
        except StudioError:
            raise
        except Exception as exc:
            raise ModelUnavailable(f"{key} runs on {source}, which failed to answer: {type(exc).__name__}: "
                                   f"{exc}") from exc
        return wire.decode_outcome(text, source)

    def run_many(self, jobs: Sequence[Job], control: RunControl | None = None) -> list[Any]:
        """Run the jobs at once: models served by different studios compute in parallel."""
        return run_at_once(self.run, jobs, control)

    def loaded(self) -> list[EntryInfo]:
        """Models held by the fallback executor (the serving studios show theirs)."""
        return self.fallback.loaded()

    def free(self, keys: list[str] | None = None) -> list[str]:
        """Unload models of the fallback executor."""
        return self.fallback.free(keys)

    def status(self) -> dict[str, Any]:
        """The fallback executor's status, plus the routes."""
        return {**self.fallback.status(), "remote": dict(self.routes)}

    # ----------------------------------------------------------------------------------------------------------------
    # Internals
    # ----------------------------------------------------------------------------------------------------------------
    def _client(self, source: str) -> RemoteClient:
        with self._lock:
            if source not in self._clients:
                try:
                    self._clients[source] = self._connect(source)
                except Exception as exc:
                    raise ModelUnavailable(f"cannot reach {source}: {type(exc).__name__}: {exc}") from exc
            return self._clients[source]

    def _follow(self, client: RemoteClient, job: Any, run_id: str, control: RunControl) -> str:
        """Wait for ``job``, forwarding its progress and the user's Stop; its answer."""
        stop_sent, last = False, None
        while not job.done():
            if control.stopped and not stop_sent:
                stop_sent = True
                client.predict(json.dumps({"run_id": run_id, "token": self._token}), api_name=STOP_ENDPOINT)
            units = getattr(job.status(), "progress_data", None) or []
            if units and units[-1].progress is not None and (units[-1].progress, units[-1].desc) != last:
                last = (units[-1].progress, units[-1].desc)
                control.report(float(units[-1].progress), units[-1].desc or "")
            time.sleep(POLL_SECONDS)
        return job.result()

    def _served(self, source: str) -> dict[str, Any]:
        now = time.monotonic()
        with self._lock:
            cached = self._availability.get(source)
        if cached is not None and now - cached[0] < AVAILABILITY_TTL_S:
            return cached[1]
        client = self._client(source)
        try:
            answers = wire.decode_outcome(client.predict(json.dumps({"token": self._token}),
                                                         api_name=AVAILABILITY_ENDPOINT), source)
        except StudioError:
            raise
        except Exception as exc:
            raise ModelUnavailable(f"{source} does not answer {AVAILABILITY_ENDPOINT}: {type(exc).__name__}: "
                                   f"{exc} (is STUDIO_SERVE_MODELS set there?)") from exc
        with self._lock:
            self._availability[source] = (now, answers)
        return answers
