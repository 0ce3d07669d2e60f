"""Outcomes of remote runs as plain data: a result, or an error rebuilt on the caller's side with its class and
message (only the classes of ``backends.core.errors``; anything else is a bug on the far side, raised as a
``RuntimeError`` naming it)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from backends.core import errors
from backends.core.errors import InvalidInput, StudioError
from backends.models.executors import payload

ERROR_CLASSES: Mapping[str, type[StudioError]] = MappingProxyType({
    cls.__name__: cls for cls in (errors.InvalidInput, errors.ModelUnavailable, errors.OutOfMemory,
                                  errors.GenerationFailed, errors.Cancelled, errors.StudioError)
})


def error_data(exc: BaseException) -> dict[str, Any]:
    """``exc`` as JSON-ready data."""
    if not isinstance(exc, StudioError):
        return {"type": f"{type(exc).__module__}.{type(exc).__qualname__}", "message": str(exc), "unexpected": True}
    # A task's own subclass (e.g. MetricUnavailable) travels as the nearest class of backends.core.errors.
    base = next(cls for cls in type(exc).__mro__ if ERROR_CLASSES.get(cls.__name__) is cls)
    data: dict[str, Any] = {"type": base.__name__, "message": str(exc)}
    if isinstance(exc, InvalidInput):
        data.update(field=exc.field, message=exc.reason)
    return data


def error_from_data(data: Mapping[str, Any], where: str = "the remote side") -> Exception:
    """Rebuild what ``error_data`` made: the same studio error class with the same message."""
    cls = ERROR_CLASSES.get(str(data.get("type")))
    if cls is None or data.get("unexpected"):
        return RuntimeError(f"{where} failed with {data.get('type')}: {data.get('message')}")
    if cls is InvalidInput:
        return InvalidInput(str(data.get("field", "request")), str(data.get("message", "")))
    return cls(str(data.get("message", "")))


def encode_outcome(value: Any = None, error: BaseException | None = None) -> str:
    """A result (``payload``-encoded) or an error, as one JSON string."""
    if error is not None:
        return json.dumps({"error": error_data(error)})
    return json.dumps({"ok": payload.encode(value)})


def decode_outcome(text: str, where: str = "the remote side") -> Any:
    """The result of ``encode_outcome``, or raise its error.

    Raises:
        StudioError: the error raised on the far side (same class and message).
        RuntimeError: an unexpected error on the far side, or an answer that is not an outcome.
    """
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        raise RuntimeError(f"{where} answered something that is not an outcome: {str(text)[:200]!r}") from None
    if isinstance(data, dict) and "error" in data:
        raise error_from_data(data["error"], where)
    if not isinstance(data, dict) or "ok" not in data:
        raise RuntimeError(f"{where} answered something that is not an outcome: {str(text)[:200]!r}")
    return payload.decode(data["ok"])
