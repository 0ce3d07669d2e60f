"""Studio-to-studio serving: the endpoints a front studio calls to run models here, and the client it calls with.

A studio started with ``STUDIO_SERVE_MODELS`` (keys or patterns, e.g. ``t2i/*``) runs those models for other
studios whose ``STUDIO_REMOTE_MODELS`` point at it (see ``backends.models.executors.remote``). The endpoints are
undocumented (callable by gradio_client, absent from the API page), take and return JSON text, and check the shared
``STUDIO_REMOTE_TOKEN`` when one is set:

- ``/run_model``: ``{"key", "request" (payload-encoded), "run_id", "token"}`` -> ``{"ok": result}`` or
  ``{"error": {"type", "message", ...}}``; progress goes to ``gr.Progress``; it queues with the other GPU work.
- ``/stop_model``: ``{"run_id", "token"}`` -> whether a run was stopped (at its next step).
- ``/model_availability``: ``{"token"}`` -> ``{"ok": {key: [available, why]}}`` for every served model.
"""

from __future__ import annotations

import fnmatch
import hmac
import json
import logging
from typing import Any

import gradio as gr

from backends.core.errors import InvalidInput, ModelUnavailable, StudioError
from backends.models.executors import payload, wire
from tabs.common import GPU, AppContext, bind

log = logging.getLogger("studio.serving")


def connect(source: str) -> Any:
    """A gradio_client to another studio (a Space id such as ``me/kolors`` or a URL); the local Hugging Face token,
    if any, is used for private Spaces, and a ZeroGPU visitor's quota header is forwarded from inside events."""
    from gradio_client import Client

    return Client(source, verbose=False, download_files=False, analytics_enabled=False)


def served(ctx: AppContext, key: str) -> bool:
    """Whether this studio runs ``key`` for other studios."""
    return any(fnmatch.fnmatch(key, pattern) for pattern in ctx.settings.serve_models)


def _parse(ctx: AppContext, text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        raise InvalidInput("payload", "is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidInput("payload", "must be a JSON object")
    if not hmac.compare_digest(str(data.get("token", "")), ctx.settings.remote_token):
        raise InvalidInput("token", "does not match this studio's STUDIO_REMOTE_TOKEN")
    return data


def run_model(ctx: AppContext, request_json: str, request: gr.Request,
              progress: gr.Progress = gr.Progress()) -> str:  # noqa: B008 (Gradio's injection idiom)
    """Run one registry model for another studio (see the module docstring).

    Args:
        request_json: {"key", "request" (payload-encoded), "run_id", "token"} as JSON.

    Returns:
        {"ok": the payload-encoded result} or {"error": the error's class, message and field} as JSON.
    """
    control, session = None, ""
    try:
        data = _parse(ctx, request_json)
        key = str(data.get("key"))
        ctx.registry.get_spec(key)
        if not served(ctx, key):
            raise ModelUnavailable(f"this studio does not serve {key} to other studios (STUDIO_SERVE_MODELS)")
        task_request = payload.decode(data.get("request"))
        session = f"remote:{data.get('run_id') or ''}"
        control = ctx.cancels.start(session, progress)
        return wire.encode_outcome(ctx.executor.run(key, task_request, control))
    except Exception as exc:
        if not isinstance(exc, StudioError):
            log.exception("a remote run failed")
        return wire.encode_outcome(error=exc)
    finally:
        if control is not None:
            ctx.cancels.finish(session, control)


def stop_model(ctx: AppContext, request_json: str) -> str:
    """Stop a run started through /run_model at its next step.

    Args:
        request_json: {"run_id", "token"} as JSON.

    Returns:
        {"ok": true} when a run was stopped, {"ok": false} when none was running, or an error.
    """
    try:
        data = _parse(ctx, request_json)
        return wire.encode_outcome(ctx.cancels.stop(f"remote:{data.get('run_id') or ''}"))
    except StudioError as exc:
        return wire.encode_outcome(error=exc)


def model_availability(ctx: AppContext, request_json: str) -> str:
    """Which served models can run here now, and why not.

    Args:
        request_json: {"token"} as JSON.

    Returns:
        {"ok": {key: [available, why]}} for every model of STUDIO_SERVE_MODELS, or an error.
    """
    try:
        _parse(ctx, request_json)
        answers = {key: list(ctx.executor.availability(key)) for key in ctx.registry if served(ctx, key)}
        return wire.encode_outcome(answers)
    except StudioError as exc:
        return wire.encode_outcome(error=exc)


def build(ctx: AppContext) -> None:
    """Register the serving endpoints when ``STUDIO_SERVE_MODELS`` is set (hidden components, no visible UI; events
    rather than ``gr.api`` so that ``gr.Progress`` and ``gr.Request`` are injected)."""
    if not ctx.settings.serve_models:
        return
    with gr.Group(visible=False):
        text_in, text_out, trigger = gr.Textbox(), gr.Textbox(), gr.Button()
    hidden = {"api_visibility": "undocumented"}
    trigger.click(bind(run_model, ctx), text_in, text_out, api_name="run_model", **hidden, **GPU)
    trigger.click(bind(stop_model, ctx), text_in, text_out, api_name="stop_model", queue=False, **hidden)
    trigger.click(bind(model_availability, ctx), text_in, text_out, api_name="model_availability", queue=False,
                  **hidden)
