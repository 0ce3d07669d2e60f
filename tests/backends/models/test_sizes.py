"""Aspect-ratio presets: a size each selected model accepts, near its native pixel count."""

from __future__ import annotations

import pytest

from backends.core.errors import InvalidInput
from backends.models.registry import default_registry
from backends.models.sizes import RATIOS, preset_size
from backends.models.spec import SizeRule


def test_one_model_gets_its_native_area_at_the_ratio() -> None:
    rule = SizeRule(default=1024, minimum=512, maximum=2048, multiple=64)
    assert preset_size([rule], "1:1") == (1024, 1024)
    w, h = preset_size([rule], "16:9")
    assert (w, h) == (1344, 768) and w % 64 == 0 and h % 64 == 0
    assert abs(w * h - 1024 ** 2) / 1024 ** 2 < 0.1


def test_several_models_share_a_size_they_all_accept() -> None:
    registry = default_registry()
    rules = [registry[k].size for k in ("t2i/kolors", "t2i/cogview4", "t2i/qwen-image", "t2i/taiyi-sd-1b")]
    for ratio in (r for r in RATIOS if r != "21:9"):
        w, h = preset_size(rules, ratio)
        for rule, key in zip(rules, ("kolors", "cogview4", "qwen-image", "taiyi-sd-1b"), strict=True):
            rule.check(w, h, key)  # raises if any model refuses the size
    with pytest.raises(InvalidInput, match="no size at 21:9"):  # Taiyi's 1024 px over the others' 512 px minimum
        preset_size(rules, "21:9")


def test_pixel_caps_and_bad_ratios() -> None:
    capped = SizeRule(default=1024, minimum=512, maximum=2048, multiple=32, max_pixels=2 ** 20)
    w, h = preset_size([capped], "21:9", pixels=2 ** 21)
    assert w * h <= 2 ** 20
    with pytest.raises(InvalidInput, match="ratio"):
        preset_size([capped], "wide")
    with pytest.raises(InvalidInput, match="ratio"):
        preset_size([capped], "10:1")
    with pytest.raises(InvalidInput, match="no size at 9:16"):
        preset_size([SizeRule(default=512, minimum=512, maximum=512, multiple=8)], "9:16")
