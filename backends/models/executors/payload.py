"""Requests and results as plain JSON-ready data, for executors in another process or on another machine.

Dataclasses become ``{"__type__": "module:Class", ...fields}``, PIL images PNG bytes, numpy arrays ``.npy`` bytes
(both base64), paths strings and tuples lists; everything else must already be JSON. Only dataclasses of the
studio's own packages are rebuilt on decode, so a payload cannot name an arbitrary class to construct.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

TRUSTED_PREFIXES = ("backends.",)  # modules whose dataclasses a payload may name


def encode(value: Any) -> Any:
    """``value`` as JSON-ready data (see the module docstring)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return {"__type__": f"{cls.__module__}:{cls.__qualname__}", **fields}
    if isinstance(value, Image.Image):
        buffer = io.BytesIO()
        value.save(buffer, format="PNG")
        return {"__image__": base64.b64encode(buffer.getvalue()).decode("ascii"), "mode": value.mode}
    if isinstance(value, np.ndarray):
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return {"__array__": base64.b64encode(buffer.getvalue()).decode("ascii")}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot encode a {type(value).__name__} for an executor")


def decode(data: Any) -> Any:
    """Rebuild what ``encode`` made.

    Raises:
        ValueError: the payload names a class outside the studio's packages, or not a dataclass.
    """
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "__image__" in data:
        image = Image.open(io.BytesIO(base64.b64decode(data["__image__"])))
        image.load()
        return image
    if "__array__" in data:
        return np.load(io.BytesIO(base64.b64decode(data["__array__"])), allow_pickle=False)
    if "__type__" in data:
        cls = _trusted_class(data["__type__"])
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values = {k: _restore(decode(v), fields[k].type) for k, v in data.items() if k in fields}
        return cls(**values)
    return {k: decode(v) for k, v in data.items()}


def _restore(value: Any, annotation: Any) -> Any:
    # JSON has no tuples: fields declared as tuples (sizes) or lists of tuples (boxes) get theirs back.
    kind = str(annotation).replace(" ", "")
    if isinstance(value, list) and kind.startswith("tuple"):
        return tuple(value)
    if isinstance(value, list) and kind.startswith("list[tuple"):
        return [tuple(v) if isinstance(v, list) else v for v in value]
    return value


def _trusted_class(name: Any) -> type:
    module_name, _, qualname = str(name).partition(":")
    if not module_name.startswith(TRUSTED_PREFIXES) or not qualname:
        raise ValueError(f"payload names {name!r}, which is not one of the studio's types")
    cls: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise ValueError(f"payload names {name!r}, which is not a dataclass")
    return cls
