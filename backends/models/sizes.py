"""Aspect-ratio presets: the width and height a model (or several compared side by side) should get for a ratio.

A1111 and ComfyUI users pick "16:9" and expect a size each model was trained around: about the model's native pixel
count (its default side squared), each side a multiple of what the model needs, inside its limits. Several models
compared side by side get one size they all accept: the smallest native pixel count among them, sides a multiple of
every model's multiple (their least common multiple).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from backends.core.errors import InvalidInput
from backends.models.spec import SizeRule

RATIOS = ("1:1", "4:3", "3:4", "3:2", "2:3", "16:9", "9:16", "21:9")


def parse_ratio(ratio: str) -> tuple[int, int]:
    """``"16:9"`` as ``(16, 9)``.

    Raises:
        InvalidInput: not two positive whole numbers joined by a colon.
    """
    parts = str(ratio).replace("×", ":").replace("x", ":").split(":")
    try:
        across, down = (int(p) for p in parts)
    except ValueError:
        raise InvalidInput("ratio", f"{ratio!r} is not a ratio like 16:9") from None
    if across <= 0 or down <= 0 or max(across, down) / min(across, down) > 4:
        raise InvalidInput("ratio", f"{ratio!r} must be two positive numbers at most 4:1 apart")
    return across, down


def preset_size(rules: Sequence[SizeRule], ratio: str, pixels: int | None = None) -> tuple[int, int]:
    """The size every rule in ``rules`` accepts that is closest to ``ratio`` at about ``pixels`` pixels.

    Args:
        rules: the size rules of the models that will share the size (at least one).
        ratio: ``"W:H"``.
        pixels: target pixel count; default the smallest native one (default side squared) among ``rules``.

    Returns:
        ``(width, height)``, each a multiple of every rule's multiple and inside every rule's limits.

    Raises:
        InvalidInput: the ratio is malformed, or the models share no size at this ratio.
    """
    if not rules:
        raise InvalidInput("models", "pick at least one model")
    across, down = parse_ratio(ratio)
    step = math.lcm(*(r.multiple for r in rules))
    low = max(r.minimum for r in rules)
    high = min(r.maximum for r in rules)
    cap = min((r.max_pixels for r in rules if r.max_pixels), default=None)
    area = pixels or min(r.default ** 2 for r in rules)
    if cap:
        area = min(area, cap)
    width = math.sqrt(area * across / down)
    height = width * down / across
    # Keep the shape inside the shared limits: grow a side that is too short, shrink one that is too long.
    scale = max(1.0, low / min(width, height))
    scale = min(scale, high / max(width, height))
    width *= scale

    def snap(side: float) -> int:
        return max(step * math.ceil(low / step), min(step * (high // step), step * round(side / step)))

    w, h = snap(width), snap(width * down / across)
    while cap and w * h > cap and max(w, h) - step >= low:  # rounding up can cross a pixel cap: step back
        w, h = (w - step, h) if w / h > across / down else (w, h - step)
    off_ratio = abs(math.log((w / h) / (across / down))) > 0.15  # clamped to the limits, the shape is lost
    if off_ratio or not (low <= w <= high and low <= h <= high) or (cap and w * h > cap):
        raise InvalidInput("ratio", f"no size at {ratio} suits every selected model (sides {low}..{high}, "
                                    f"multiples of {step})")
    return w, h
