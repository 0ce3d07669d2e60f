"""A tokenizer without weights (the studio's codecs, fitted on the image) is not a "random-weight miniature" in the
tiny profile: its recipe and PNG text say it has no weights, while a miniature's still say random weights."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from skimage import data

from backends.core import imaging
from backends.core.recipe import Recipe
from backends.models.cache import ModelCache
from backends.tasks.tokenize.types import TokenizeRequest

IMAGE = data.astronaut()[::4, ::4]  # 128x128, public domain


@pytest.fixture(scope="module")
def cache(tiny_settings, registry) -> ModelCache:
    return ModelCache(registry, tiny_settings)


@pytest.mark.parametrize("key", ["tok/pca", "tok/vq", "tok/dct"])
def test_weight_free_codecs_say_they_have_no_weights(cache: ModelCache, key: str) -> None:
    recipe = cache.run(key, TokenizeRequest(IMAGE, curves=False)).recipe
    assert recipe.profile == "tiny" and recipe.weight_free and not recipe.random_weights
    text = imaging.format_parameters(recipe)
    assert "Weights: none (computed from the image)" in text and "random-weight" not in text
    info = Image.open(io.BytesIO(imaging.png_bytes(Image.new("RGB", (8, 8)), recipe))).info
    stored = json.loads(info["studio_recipe"])
    assert stored["weight_free"] is True and stored["random_weights"] is False
    assert "random-weight" not in info["parameters"]


def test_a_miniature_with_weights_still_says_random_weights(cache: ModelCache) -> None:
    recipe = cache.run("tok/taesd", TokenizeRequest(IMAGE, curves=False)).recipe
    assert not recipe.weight_free and recipe.random_weights
    assert "Weights: random-weight miniature" in imaging.format_parameters(recipe)


def test_recipes_written_before_the_flag_read_back_as_having_weights() -> None:
    recipe = miniature_recipe()
    old = {k: v for k, v in recipe.to_dict().items() if k != "weight_free"}
    assert Recipe.from_dict(old).weight_free is False and Recipe.from_dict(old).random_weights


def miniature_recipe() -> Recipe:
    return Recipe(model="tok/sd-vae", name="SD VAE", repo_id="miniature of stabilityai/sd-vae-ft-mse", revision="x",
                  profile="tiny", pipeline="AutoencoderTokenizer", scheduler="n/a", seed=0, steps=None, guidance=None,
                  guidance_param=None, width=8, height=8, prompt="", negative_prompt="", language="en",
                  quoted_text=[], device="cpu", dtype="float32")
