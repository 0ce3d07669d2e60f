"""Validation of numbers and seeds that arrive from forms and the API, with messages that name the field."""

from __future__ import annotations

import math
import secrets
from typing import Any

from backends.core.errors import InvalidInput

MAX_SEED = 2**31 - 1  # the largest seed every API in the comparison accepts (the Ark API's limit)


def check_number(
    value: Any,
    field: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    integer: bool = False,
) -> float | int:
    """Validate a number that came from a form or the API and return it with the right type.

    Args:
        value: what the client sent (int, float, or something else by mistake).
        field: the field name used in the error message.
        minimum: smallest allowed value (inclusive), if any.
        maximum: largest allowed value (inclusive), if any.
        integer: whether the value must be a whole number.

    Returns:
        The value as ``int`` when ``integer`` else as ``float``.

    Raises:
        InvalidInput: not a number, NaN or infinite, fractional where an integer is needed, or out of range.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(field, f"expected a number, got {value!r}")
    if math.isnan(value) or math.isinf(value):
        raise InvalidInput(field, f"expected a finite number, got {value!r}")
    if integer:
        if value != int(value):
            raise InvalidInput(field, f"expected a whole number, got {value!r}")
        value = int(value)
    else:
        value = float(value)
    if minimum is not None and value < minimum:
        raise InvalidInput(field, f"{value!r} is below the minimum {minimum:g}")
    if maximum is not None and value > maximum:
        raise InvalidInput(field, f"{value!r} is above the maximum {maximum:g}")
    return value


def check_seed(value: Any, field: str = "seed") -> int | None:
    """A seed in 0..MAX_SEED, or None for "draw one"; ``InvalidInput`` naming ``field`` otherwise."""
    if value is None:
        return None
    return int(check_number(value, field, minimum=0, maximum=MAX_SEED, integer=True))


def resolve_seed(seed: int | None) -> int:
    """The seed to use: the requested one, or a fresh random one (always reported back in the recipe)."""
    return int(seed) if seed is not None else secrets.randbelow(MAX_SEED + 1)
