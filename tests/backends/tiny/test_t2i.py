"""Tests for ``backends.tiny.t2i``: every text-to-image miniature builds, saves, reloads offline and generates
deterministically.

One module-scoped fixture per architecture builds the miniature once, saves it and loads it back through
``from_pretrained(local_files_only=True)``, exactly like the studio's ``tiny`` profile. The whole module
runs with the Hub in offline mode and with outgoing socket connections refused.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from backends import tiny

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

# The real checkpoints' geometry (from their configs), written down independently of backends/tiny/:
# (vae_scale_factor, size multiple = vae_scale_factor * transformer patch size; UNets have no patching).
REAL_GEOMETRY: dict[str, tuple[int, int]] = {
    "sd": (8, 8),  # Taiyi-SD-1B: SD-1.x VAE, 4 blocks
    "sdxl": (8, 8),
    "flux": (8, 16),  # 2x2 latent packing
    "kolors": (8, 8),
    "hunyuan_dit": (8, 16),  # patch 2; the pipeline also floors sizes to multiples of 16
    "cogview4": (8, 16),  # patch 2; the model card further asks for 512..2048, multiples of 32
    "qwen_image": (8, 16),  # 2x2 latent packing
    "hunyuan_image": (32, 32),  # 32x VAE, patch 1 (the pipeline warns unless a multiple of 64)
}

# Smallest size the pipeline takes without warning or resizing whose latent also tiles the denoiser exactly
# (SD-1.x UNet: 3 downsamples -> 64 px; SDXL/Kolors UNet: 2 downsamples -> 32 px; DiTs: one patch).
SMALLEST_SIZE: dict[str, int] = {
    "sd": 64,
    "sdxl": 32,
    "flux": 16,
    "kolors": 32,
    "hunyuan_dit": 16,
    "cogview4": 16,
    "qwen_image": 16,
    "hunyuan_image": 64,
}

# Call arguments the real models need too: Qwen-Image only does CFG through true_cfg_scale + a negative
# prompt; HunyuanDiT snaps every size to its trained resolutions (>= 768 px) unless binning is turned off.
CALL_KWARGS: dict[str, dict[str, Any]] = {
    "hunyuan_dit": {"use_resolution_binning": False},
    "qwen_image": {"negative_prompt": " ", "true_cfg_scale": 4.0},
}

PROMPT_ZH = "一只可爱的猫，油画风格"
PROMPT_EN = "a cute cat, oil painting"
PROMPT_MIXED = "一只 cute 猫 in the city"
PROMPT_GLYPH = "一张海报，上面写着“你好世界”"


@pytest.fixture(scope="module", autouse=True)
def offline(no_network: None) -> None:
    """Every test of this module runs with the hub offline and sockets refused (see ``no_network``)."""


@pytest.fixture(scope="module", params=list(REAL_GEOMETRY))
def miniature(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Any, Any]:
    """Build, save and reload one architecture; returns ``(arch, saved folder, loaded pipeline)``."""
    arch = request.param
    out_dir = tmp_path_factory.mktemp(arch)
    tiny.build_miniature(arch, out_dir, seed=0)
    pipeline_class = getattr(diffusers, tiny.ARCHITECTURES[arch].class_name)
    pipe = pipeline_class.from_pretrained(out_dir, torch_dtype=torch.float32, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return arch, out_dir, pipe


def _generate(arch: str, pipe: Any, prompt: str, size: int, **kwargs: Any) -> Any:
    """2-step generation with a fixed seed, as a uint8 array."""
    import numpy as np

    images = pipe(
        prompt=prompt, num_inference_steps=2, height=size, width=size, generator=torch.Generator("cpu").manual_seed(0),
        output_type="pil", **CALL_KWARGS.get(arch, {}), **kwargs,
    ).images
    return np.asarray(images[0])


def test_architectures_name_diffusers_pipelines() -> None:
    assert set(REAL_GEOMETRY) <= set(tiny.ARCHITECTURES)
    assert {a.id for a in tiny.ARCHITECTURES.values() if a.module == "t2i"} == set(REAL_GEOMETRY)
    for arch in tiny.ARCHITECTURES.values():
        if arch.kind in ("pipeline", "model"):  # the diffusers ones (transformers / files kinds name other classes)
            assert hasattr(diffusers, arch.class_name), arch.class_name
    for arch in REAL_GEOMETRY:
        assert tiny.ARCHITECTURES[arch].kind == "pipeline"


def test_unknown_architecture_raises_value_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="Unknown tiny architecture 'sd3'"):
        tiny.build_miniature("sd3", tmp_path / "out")
    with pytest.raises(KeyError):  # also a failed lookup
        tiny.build_miniature("", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_same_seed_gives_same_weights(tmp_path: pathlib.Path) -> None:
    from safetensors.torch import load_file

    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        tiny.build_miniature("cogview4", tmp_path / name, seed=seed)
    weights = {
        name: load_file(tmp_path / name / "transformer" / "diffusion_pytorch_model.safetensors") for name in "abc"
    }
    assert all(torch.equal(weights["a"][k], weights["b"][k]) for k in weights["a"])
    assert not all(torch.equal(weights["a"][k], weights["c"][k]) for k in weights["a"])


def test_saved_folder_is_a_complete_pipeline(miniature: tuple[str, Any, Any]) -> None:
    arch, out_dir, pipe = miniature
    index = json.loads((out_dir / "model_index.json").read_text())
    assert index["_class_name"] == tiny.ARCHITECTURES[arch].class_name
    for name, (library, class_name) in ((k, v) for k, v in index.items() if isinstance(v, list)):
        if class_name is not None:
            assert (out_dir / name).is_dir(), f"{name} ({library}.{class_name}) was not saved"
            assert type(pipe.components[name]).__name__ == class_name


def test_vae_scale_factor_matches_real_model(miniature: tuple[str, Any, Any]) -> None:
    arch, _, pipe = miniature
    assert pipe.vae_scale_factor == REAL_GEOMETRY[arch][0]


def test_weights_are_finite(miniature: tuple[str, Any, Any]) -> None:
    _, _, pipe = miniature
    for name, component in pipe.components.items():
        if isinstance(component, torch.nn.Module):
            for key, tensor in component.state_dict().items():
                if tensor.is_floating_point():
                    assert torch.isfinite(tensor).all(), f"{name}.{key}"


def test_tokenizers_cover_chinese_and_match_encoders(miniature: tuple[str, Any, Any]) -> None:
    _, _, pipe = miniature
    for tokenizer_name, encoder_name in (("tokenizer", "text_encoder"), ("tokenizer_2", "text_encoder_2")):
        tokenizer, encoder = pipe.components.get(tokenizer_name), pipe.components.get(encoder_name)
        if tokenizer is None:
            continue
        config = getattr(encoder.config, "text_config", encoder.config)
        assert config.vocab_size == len(tokenizer), tokenizer_name
        zh_ids = tokenizer(PROMPT_ZH, add_special_tokens=False).input_ids
        en_ids = tokenizer(PROMPT_EN, add_special_tokens=False).input_ids
        assert zh_ids and tokenizer.unk_token_id not in zh_ids, f"{tokenizer_name} maps Chinese to UNK"
        assert zh_ids != en_ids


def test_generation_is_deterministic_with_the_right_size(miniature: tuple[str, Any, Any]) -> None:
    arch, _, pipe = miniature
    size = SMALLEST_SIZE[arch]
    assert size % REAL_GEOMETRY[arch][1] == 0
    steps: list[int] = []

    def on_step_end(pipeline: Any, step: int, timestep: Any, callback_kwargs: dict[str, Any]) -> dict[str, Any]:
        steps.append(step)
        return callback_kwargs

    first = _generate(arch, pipe, PROMPT_ZH, size, callback_on_step_end=on_step_end)
    second = _generate(arch, pipe, PROMPT_ZH, size)
    assert first.shape == (size, size, 3)
    assert (first == second).all()
    # callback_on_step_end is honoured once per denoiser call (PNDM adds one warm-up call: 2 steps -> 3 calls)
    assert steps == list(range(len(pipe.scheduler.timesteps))) and len(steps) >= 2


def test_different_prompts_give_different_images(miniature: tuple[str, Any, Any]) -> None:
    arch, _, pipe = miniature
    size = SMALLEST_SIZE[arch]
    zh, en, mixed = (_generate(arch, pipe, p, size) for p in (PROMPT_ZH, PROMPT_EN, PROMPT_MIXED))
    assert (zh != en).any() and (zh != mixed).any() and (en != mixed).any()


@pytest.mark.parametrize("miniature", ["hunyuan_image"], indirect=True)
def test_hunyuan_image_quoted_text_goes_through_byt5(miniature: tuple[str, Any, Any]) -> None:
    arch, _, pipe = miniature
    *_, glyph_embeds, glyph_mask = pipe.encode_prompt(PROMPT_GLYPH)
    assert glyph_mask.sum() > 0 and glyph_embeds.abs().sum() > 0  # 'Text "你好世界". ' was encoded by ByT5
    *_, plain_mask = pipe.encode_prompt(PROMPT_ZH)
    assert plain_mask.sum() == 0
    glyph = _generate(arch, pipe, PROMPT_GLYPH, SMALLEST_SIZE[arch])
    assert glyph.shape == (SMALLEST_SIZE[arch], SMALLEST_SIZE[arch], 3)
