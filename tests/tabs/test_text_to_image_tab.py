"""The text-to-image tab's handlers, without a browser, on the tiny profile."""

from __future__ import annotations

import pytest

from backends.core import imaging
from backends.core.errors import InvalidInput, ModelUnavailable
from backends.core.run import RunControl
from backends.models.cache import ModelCache
from backends.models.executors import LocalExecutor
from tabs.common import AppContext, CancelTokens, make_i18n
from tabs.text_to_image import check_models, compare, prompt_info


@pytest.fixture(scope="module")
def ctx(tiny_settings, registry) -> AppContext:
    return AppContext(tiny_settings, registry, LocalExecutor(ModelCache(registry, tiny_settings)), make_i18n())


def run(ctx: AppContext, **changes):
    arguments = dict(prompt="a poster that says \"OPEN\"", negative_prompt="", models=["t2i/flux-schnell"],
                     seed=5, width=256, height=256, steps=2, guidance=None)
    arguments.update(changes)
    seen: list[tuple[float, str]] = []
    result = compare(ctx, **arguments, control=RunControl(on_progress=lambda e: seen.append((e.fraction, e.message))))
    return result, seen


def test_compare_writes_pngs_with_recipes_and_checks_text(ctx: AppContext) -> None:
    result, seen = run(ctx, models=["t2i/flux-schnell", "t2i/qwen-image"], seed=None)
    assert [r["model"] for r in result.records] == ["t2i/flux-schnell", "t2i/qwen-image"]
    seeds = {r["recipe"]["seed"] for r in result.records}
    assert len(seeds) == 1, "every model gets the same seed"
    for (path, text), record in zip(result.gallery, result.records, strict=True):
        assert imaging.read_recipe(path) == record["recipe"]
        assert path.startswith(str(ctx.settings.outputs_dir))
        assert "random weights" in text
        assert record["text_check"]["targets"][0]["text"] == "OPEN"
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] <= 1.0 and any(f > 0.5 for f in fractions)
    assert "| FLUX.1-schnell" in result.summary and "Qwen-Image" in result.summary


def test_compare_validates_every_model_before_running_any(ctx: AppContext) -> None:
    # FLUX accepts 256 px but CogView4 does not: nothing may run.
    before = ctx.executor.cache.stats["loads"] + ctx.executor.cache.stats["hits"]
    with pytest.raises(InvalidInput, match="width: 256 is outside 512..2048 pixels for t2i/cogview4"):
        run(ctx, models=["t2i/flux-schnell", "t2i/cogview4"])
    assert ctx.executor.cache.stats["loads"] + ctx.executor.cache.stats["hits"] == before


def test_unavailable_models_fail_before_running(ctx: AppContext) -> None:
    with pytest.raises(ModelUnavailable, match="ARK_API_KEY"):
        run(ctx, models=["t2i/seedream"], width=512, height=512)


@pytest.mark.parametrize(
    "models, message",
    [
        ([], "pick at least one"),
        (None, "pick at least one"),
        (["t2i/kolors"] * 2, "selected twice"),
        (["t2i/a", "t2i/b", "t2i/c", "t2i/d", "t2i/e"], "5 models selected"),
        (["nope"], "unknown model key"),
        (["ocr/rapidocr"], "not a text-to-image"),
    ],
)
def test_check_models(ctx: AppContext, models, message: str) -> None:
    with pytest.raises(InvalidInput, match=f"models: .*{message}"):
        check_models(ctx.registry, models)


def test_check_models_accepts_a_single_string(ctx: AppContext) -> None:
    assert check_models(ctx.registry, "t2i/kolors") == ["t2i/kolors"]


def test_prompt_info() -> None:
    assert prompt_info("一张海报，写着“你好”") == "**Language:** 中文 (zh) · **Text to render:** “你好”"
    assert "English (en)" in prompt_info("a red fox") and "—" in prompt_info("a red fox")
    assert prompt_info("   ") == ""


def test_cancel_tokens_are_per_session() -> None:
    tokens = CancelTokens()
    a, b = tokens.start("a"), tokens.start("b")
    assert tokens.stop("a") and a.stop.is_set() and not b.stop.is_set()
    assert not tokens.stop("a"), "a second Stop is a no-op"
    tokens.finish("a", a)
    assert not tokens.stop("a")


def test_caption_marks_random_weights(ctx: AppContext) -> None:
    result, _ = run(ctx)
    text = result.gallery[0][1]
    assert text.startswith("FLUX.1-schnell (English reference) · seed 5 ·") and text.endswith("random weights")
