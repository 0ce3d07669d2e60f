"""Tokenizer backends: weight-free codecs and diffusers autoencoder miniatures through the cache (tiny profile)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from backends.core.errors import InvalidInput, ModelUnavailable
from backends.models import weights
from backends.models.cache import ModelCache
from backends.tasks.tokenize.types import TokenizeRequest

IMAGE = data.astronaut()[::2, ::2]  # 256x256, public domain


@pytest.fixture(scope="module")
def cache(tiny_settings, registry) -> ModelCache:
    return ModelCache(registry, tiny_settings)


def run(cache: ModelCache, key: str, **fields):
    return cache.run(key, TokenizeRequest(fields.pop("image", IMAGE), **fields))


@pytest.mark.parametrize(
    "key, channels, discrete",
    [("tok/sd-vae", 4, False), ("tok/sdxl-vae", 4, False), ("tok/flux-vae", 16, False), ("tok/taesd", 4, False),
     ("tok/movq", None, True)],
)
def test_autoencoder_miniatures_round_trip_with_the_right_shapes(cache: ModelCache, key: str, channels: int | None,
                                                                  discrete: bool) -> None:
    result = run(cache, key, curves=False)
    s = result.summary
    assert s["size"] == [256, 256] and result.reconstruction.size == (256, 256)
    if discrete:
        assert s["kind"] == "discrete" and s["shape"] == [32, 32] and s["bits"] == 32 * 32 * 14
    else:
        assert s["kind"] == "continuous" and s["shape"] == [channels, 32, 32] and s["bits"] == channels * 32 * 32 * 16
    assert s["count"] == 32 * 32 and 0 < s["metrics"]["psnr"] < 60
    assert result.recipe.model == key and result.recipe.profile == "tiny"
    assert result.token_map.size == (256, 256)


def test_pca_prefix_and_curve(cache: ModelCache) -> None:
    result = run(cache, "tok/pca", prefix=8)
    s = result.summary
    assert s["ordered"] and s["count"] == 192 and s["prefix"]["k"] == 8
    assert s["metrics"]["psnr"] is None or s["metrics"]["psnr"] > 60  # the full sequence is (almost) exact
    assert s["prefix"]["psnr"] < 40
    points = s["curve"]["points"]
    psnrs = [p[1] if p[1] is not None else np.inf for p in points]
    assert psnrs == sorted(psnrs) and [p[0] for p in points] == sorted(p[0] for p in points)
    with pytest.raises(InvalidInput, match="prefix: 500 is larger than the 192 tokens"):
        run(cache, "tok/pca", prefix=500)


def test_vq_perturbation_and_robustness_curve(cache: ModelCache) -> None:
    clean = run(cache, "tok/vq", alpha=0.0)
    noisy = run(cache, "tok/vq", alpha=0.6, delta=16, seed=3)
    assert clean.perturbed is None and noisy.perturbed is not None
    assert noisy.summary["perturbation"]["psnr"] < noisy.summary["metrics"]["psnr"]
    curve = noisy.summary["curve"]
    assert curve["x"] == "alpha" and curve["points"][0][1] == pytest.approx(noisy.summary["metrics"]["psnr"], 1e-3)
    assert curve["points"][-1][1] < curve["points"][0][1]


def test_movq_perturbation_uses_nearest_codewords(cache: ModelCache) -> None:
    result = run(cache, "tok/movq", alpha=1.0, delta=4, seed=0)
    assert result.perturbed is not None and result.summary["perturbation"]["delta"] == 4
    same = run(cache, "tok/movq", alpha=1.0, delta=1, seed=0, curves=False)  # delta 1: the code itself
    assert same.summary["perturbation"]["psnr"] == same.summary["metrics"]["psnr"]


def test_dct_matches_a_bit_budget(cache: ModelCache) -> None:
    result = run(cache, "tok/dct", bits=8192)
    assert 8192 - 64 * 8 <= result.summary["bits"] <= 8192


def test_continuous_tokenizers_have_no_perturbation_or_prefix(cache: ModelCache) -> None:
    result = run(cache, "tok/taesd", alpha=0.5, prefix=4, curves=False)
    assert result.perturbed is None and result.prefix is None


@pytest.mark.parametrize(
    "fields, message",
    [({"alpha": 1.5}, "alpha: 1.5 is above the maximum 1"), ({"alpha": -0.1}, "alpha"), ({"delta": 0}, "delta"),
     ({"prefix": 0}, "prefix: 0 is below"), ({"image": None}, "image: no image"),
     ({"image": np.zeros((4, 4, 3), np.uint8)}, "smaller than 16")],
)
def test_bad_requests(cache: ModelCache, fields: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        run(cache, "tok/vq", **fields)


def test_any_mode_and_size_is_resized_and_reported(cache: ModelCache) -> None:
    wide = np.random.default_rng(0).integers(0, 255, (300, 1000), dtype=np.uint8)  # greyscale, 1000x300
    result = run(cache, "tok/sd-vae", image=wide, max_side=512, curves=False)
    width, height = result.summary["size"]
    assert width == 512 and height % 8 == 0 and abs(height - 154) <= 8


def test_research_tokenizers_have_miniatures_and_lactok_says_what_it_needs(tiny_settings, registry) -> None:
    for key in ("tok/robusttok", "tok/semanticist", "tok/titok", "tok/llamagen-vq", "tok/va-vae"):
        assert weights.availability(registry[key], tiny_settings) == (True, "random-weight miniature")
    ok, why = weights.availability(registry["tok/lactok"], tiny_settings)
    assert not ok and "needs the authors' code" in why and "github.com/Alpha-X-95/LaCToK" in why
    with pytest.raises(ModelUnavailable, match="LaCTok"):
        ModelCache(registry, tiny_settings).run("tok/lactok", TokenizeRequest(IMAGE))
