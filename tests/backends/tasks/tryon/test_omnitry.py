"""OmniTry's FLUX tier on the FLUX.1-Fill miniature: two rows, per-row positions, shared attention, row adapters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from backends.core.errors import ModelUnavailable
from backends.models.cache import ModelCache
from backends.tasks.tryon.omnitry import load_row_adapters, row_ids
from backends.tasks.tryon.types import TryOnRequest
from tests.backends.tasks.tryon.common import GARMENTS, PERSON, SIZE, pixels

KEY = "tryon/omnitry"


def tryon(cache: ModelCache, garment: Image.Image, **fields):
    return cache.run(KEY, TryOnRequest(PERSON, garment, **{"seed": 4, "steps": 2, **SIZE, **fields}))


def test_row_ids_put_the_garment_to_the_right() -> None:
    person, garment = row_ids(2, 3, 4, "cpu", torch.float32)
    assert person.shape == (12, 3) and not person[:, 0].any()
    assert torch.equal(garment[:, 0], torch.ones(12)) and torch.equal(garment[:, 1], person[:, 1])
    assert torch.equal(garment[:, 2], person[:, 2] + 4)  # width offset: row index x latent width


def test_two_rows_one_output_deterministic(cache: ModelCache, garment: Image.Image) -> None:
    seen = []
    result = tryon(cache, garment)
    with cache.use(KEY) as backend:
        hook = backend.model.transformer.register_forward_pre_hook(
            lambda m, args, kwargs: seen.append(kwargs["hidden_states"].shape), with_kwargs=True)
    try:
        again = tryon(cache, garment)
    finally:
        hook.remove()
    assert seen[0][0] == 2  # person and garment rows in one batch
    assert result.image.size == (SIZE["width"], SIZE["height"])
    assert np.array_equal(pixels(result.image), pixels(again.image))
    assert result.recipe.prompt == "replacing the top cloth" and result.recipe.extra["rows"] == "person, garment"
    assert result.recipe.extra["lora"]["rank"] == 4 and result.mask is None


def test_the_person_row_sees_the_garment(cache: ModelCache, garment: Image.Image) -> None:
    dress = Image.open(GARMENTS / "dress.png")
    first, other = tryon(cache, garment), tryon(cache, dress)
    assert np.abs(pixels(other.image) - pixels(first.image)).max() > 0
    from diffusers.models.transformers.transformer_flux import FluxAttnProcessor

    with cache.use(KEY) as backend:
        transformer = backend.model.transformer
        shared = transformer.attn_processors
        transformer.set_attn_processor(FluxAttnProcessor())  # rows attend only to themselves
    try:
        assert np.array_equal(pixels(tryon(cache, garment).image), pixels(tryon(cache, dress).image))
    finally:
        transformer.set_attn_processor(shared)


def test_each_row_gets_its_own_adapter(cache: ModelCache, garment: Image.Image) -> None:
    routed = []
    with cache.use(KEY) as backend:
        layer = backend.model.transformer.transformer_blocks[0].attn.to_q
        hook = layer.register_forward_pre_hook(lambda m, a, k: routed.append(k.get("adapter_names")), with_kwargs=True)
    try:
        with_adapters = tryon(cache, garment)
        with cache.use(KEY) as backend:
            backend.model.transformer.disable_adapters()
        try:
            without = tryon(cache, garment)
        finally:
            with cache.use(KEY) as backend:
                backend.model.transformer.enable_adapters()
    finally:
        hook.remove()
    assert routed[0] == ["vtryon_lora", "garment_lora"]
    assert np.abs(pixels(with_adapters.image) - pixels(without.image)).max() > 0  # the LoRAs act


def test_a_lora_file_of_another_layout_is_refused(tmp_path: Path) -> None:
    from diffusers import FluxTransformer2DModel

    transformer = FluxTransformer2DModel(patch_size=1, in_channels=384, out_channels=64, num_layers=1,
                                         num_single_layers=1, attention_head_dim=16, num_attention_heads=2,
                                         joint_attention_dim=32, pooled_projection_dim=32, guidance_embeds=True,
                                         axes_dims_rope=(4, 6, 6))
    diffusers_style = {"transformer.transformer_blocks.0.attn.to_q.lora_A.weight": torch.zeros(4, 32)}
    with pytest.raises(ModelUnavailable, match="no 'vtryon_lora' adapter keys"):
        load_row_adapters(transformer, diffusers_style, ("vtryon_lora", "garment_lora"))
    one_adapter = {"transformer_blocks.0.attn.to_q.lora_A.vtryon_lora.weight": torch.zeros(4, 32),
                   "transformer_blocks.0.attn.to_q.lora_B.vtryon_lora.weight": torch.zeros(32, 4)}
    with pytest.raises(ModelUnavailable, match="missing"):
        load_row_adapters(transformer, one_adapter, ("vtryon_lora", "garment_lora"))
