"""Tests for ``backends.tiny.inpaint``: inpainting miniatures build, reload offline, inpaint, and take a LoRA.

Each architecture is built once per module, saved and loaded back through the real pipeline class's
``from_pretrained(local_files_only=True)``, exactly like the studio's ``tiny`` profile, with the Hub in offline
mode and outgoing socket connections refused.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from backends import tiny

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")
np = pytest.importorskip("numpy")
Image = pytest.importorskip("PIL.Image")

# The real checkpoints' geometry, written down independently of the module under test:
# (pipeline class, denoiser component, denoiser in_channels, VAE latent channels, vae_scale_factor).
REAL: dict[str, tuple[str, str, int, int, int]] = {
    "sd_inpaint": ("StableDiffusionInpaintPipeline", "unet", 9, 4, 8),
    "sdxl_inpaint": ("StableDiffusionXLInpaintPipeline", "unet", 9, 4, 8),
    # 64 packed latents + 64 packed masked-image latents + 2x2x8x8 folded mask pixels (FLUX.1-Fill-dev config)
    "flux_fill": ("FluxFillPipeline", "transformer", 384, 16, 8),
}
# Smallest size the pipeline runs without resizing: the SD-1.5 UNet downsamples the latent 3 times (64 px),
# SDXL's twice (32 px); FLUX packs 2x2 latents (16 px).
SMALLEST_SIZE = {"sd_inpaint": 64, "sdxl_inpaint": 32, "flux_fill": 16}
PROMPT = "a photo of a hand"


@pytest.fixture(scope="module", autouse=True)
def offline(no_network: None) -> None:
    """Every test of this module runs with the hub offline and sockets refused (see ``no_network``)."""


@pytest.fixture(scope="module", params=list(REAL))
def miniature(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Any, Any]:
    """Build, save and reload one inpainting architecture; returns ``(arch, saved folder, loaded pipeline)``."""
    arch = request.param
    out_dir = tmp_path_factory.mktemp(arch)
    tiny.build_miniature(arch, out_dir, seed=0)
    pipe = getattr(diffusers, tiny.ARCHITECTURES[arch].class_name).from_pretrained(
        out_dir, torch_dtype=torch.float32, local_files_only=True
    )
    pipe.set_progress_bar_config(disable=True)
    return arch, out_dir, pipe


def _image(size: int, seed: int = 0) -> Any:
    """A random RGB test image."""
    return Image.fromarray((np.random.default_rng(seed).random((size, size, 3)) * 255).astype(np.uint8))


def _mask(size: int, box: tuple[float, float, float, float]) -> Any:
    """A binary mask (white = repaint) over ``box``, given as fractions of the side (left, top, right, bottom)."""
    mask = Image.new("L", (size, size), 0)
    mask.paste(255, tuple(round(f * size) for f in box))
    return mask


def _inpaint(pipe: Any, size: int, mask: Any, image: Any = None, **kwargs: Any) -> Any:
    """2-step inpainting with a fixed seed, as a uint8 array."""
    out = pipe(
        prompt=PROMPT, image=image if image is not None else _image(size), mask_image=mask, height=size, width=size,
        num_inference_steps=2, generator=torch.Generator("cpu").manual_seed(0), output_type="pil", **kwargs,
    ).images[0]
    return np.asarray(out)


def test_architectures_are_registered() -> None:
    assert {a.id for a in tiny.ARCHITECTURES.values() if a.module == "inpaint"} == set(REAL)
    for arch, (class_name, *_) in REAL.items():
        assert tiny.ARCHITECTURES[arch].class_name == class_name
        assert tiny.ARCHITECTURES[arch].kind == "pipeline"
        assert hasattr(diffusers, class_name)


def test_unknown_architecture_raises_value_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="Unknown tiny architecture 'sd_inpainting'"):
        tiny.build_miniature("sd_inpainting", tmp_path / "pipe")
    with pytest.raises(ValueError, match="No tiny LoRA for architecture 'sd'"):
        tiny.build_tiny_lora("sd", tmp_path / "lora")
    with pytest.raises(ValueError, match="rank"):
        tiny.build_tiny_lora("sd_inpaint", tmp_path / "lora", rank=0)
    assert not (tmp_path / "pipe").exists() and not (tmp_path / "lora").exists()


def test_saved_folder_matches_the_real_repo_layout(miniature: tuple[str, Any, Any]) -> None:
    arch, out_dir, pipe = miniature
    class_name, denoiser, in_channels, latent_channels, scale_factor = REAL[arch]
    index = json.loads((out_dir / "model_index.json").read_text())
    assert index["_class_name"] == class_name
    assert type(pipe).__name__ == class_name
    assert pipe.components[denoiser].config.in_channels == in_channels
    assert pipe.vae.config.latent_channels == latent_channels
    assert pipe.vae_scale_factor == scale_factor
    assert type(pipe.tokenizer).__name__ == "CLIPTokenizer" and type(pipe.text_encoder).__name__ == "CLIPTextModel"
    if arch == "sd_inpaint":
        assert pipe.safety_checker is None and type(pipe.scheduler).__name__ == "DDIMScheduler"
    elif arch == "sdxl_inpaint":
        assert type(pipe.text_encoder_2).__name__ == "CLIPTextModelWithProjection"
        assert pipe.config.requires_aesthetics_score is False
    else:
        assert type(pipe.text_encoder_2).__name__ == "T5EncoderModel"
        assert pipe.transformer.config.out_channels == 4 * latent_channels
        assert pipe.transformer.config.guidance_embeds  # FLUX.1-Fill-dev is guidance-distilled
        assert pipe.vae.config.use_quant_conv is False and pipe.vae.config.shift_factor == pytest.approx(0.1159)


def test_inpainting_is_deterministic_with_the_right_size(miniature: tuple[str, Any, Any]) -> None:
    arch, _, pipe = miniature
    size = SMALLEST_SIZE[arch]
    mask = _mask(size, (0.0, 0.0, 0.5, 0.5))
    first, second = _inpaint(pipe, size, mask), _inpaint(pipe, size, mask)
    assert first.shape == (size, size, 3)
    assert (first == second).all()


def test_a_different_mask_changes_the_output(miniature: tuple[str, Any, Any]) -> None:
    arch, _, pipe = miniature
    size = SMALLEST_SIZE[arch]
    top_left = _inpaint(pipe, size, _mask(size, (0.0, 0.0, 0.5, 0.5)))
    bottom_right = _inpaint(pipe, size, _mask(size, (0.5, 0.5, 1.0, 1.0)))
    assert (top_left != bottom_right).any()


@pytest.mark.parametrize("miniature", ["sd_inpaint", "sdxl_inpaint"], indirect=True)
def test_padding_mask_crop_keeps_pixels_outside_the_mask(miniature: tuple[str, Any, Any]) -> None:
    # "Inpaint only masked": the pipeline repaints a crop around the mask and pastes it back over the input,
    # so everything outside the mask must come back byte for byte.
    arch, _, pipe = miniature
    image, mask = _image(128, seed=1), _mask(128, (0.625, 0.625, 0.875, 0.875))
    out = _inpaint(pipe, SMALLEST_SIZE[arch], mask, image=image, padding_mask_crop=8)
    inside = np.asarray(mask) > 0
    assert out.shape == (128, 128, 3)
    assert (out[~inside] == np.asarray(image)[~inside]).all()
    assert (out[inside] != np.asarray(image)[inside]).any()


def test_lora_loads_and_changes_the_output(
    miniature: tuple[str, Any, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    arch, _, pipe = miniature
    size = SMALLEST_SIZE[arch]
    mask = _mask(size, (0.25, 0.25, 0.75, 0.75))
    lora_dir = tiny.build_tiny_lora(arch, tmp_path_factory.mktemp(f"{arch}-lora"), seed=0)
    assert (lora_dir / "pytorch_lora_weights.safetensors").is_file()
    before = _inpaint(pipe, size, mask)
    pipe.load_lora_weights(lora_dir, adapter_name="natural_hands")
    try:
        with_lora = _inpaint(pipe, size, mask)
        pipe.set_adapters(["natural_hands"], adapter_weights=[0.0])
        weight_zero = _inpaint(pipe, size, mask)
    finally:
        pipe.unload_lora_weights()  # the pipeline is shared by the module's other tests
    assert (with_lora != before).any()
    assert np.abs(weight_zero.astype(int) - before).max() <= 1  # a zero-weight adapter is (nearly) a no-op
    assert (_inpaint(pipe, size, mask) == before).all()  # unloading restores the base model exactly


def test_lora_file_is_in_diffusers_format_and_seeded(tmp_path: pathlib.Path) -> None:
    from safetensors.torch import load_file

    paths = {
        name: tiny.build_tiny_lora("sd_inpaint", tmp_path / name, seed=seed, rank=rank, scale=scale)
        for name, seed, rank, scale in (("a", 0, 4, 1.0), ("b", 0, 4, 1.0), ("c", 1, 4, 1.0), ("d", 0, 4, 2.0),
                                        ("e", 0, 2, 1.0))
    }
    weights = {name: load_file(path / "pytorch_lora_weights.safetensors") for name, path in paths.items()}
    a = weights["a"]
    assert a and all(key.startswith("unet.") for key in a)
    # diffusers' LoRA key format: <module>.lora.down.weight (A, rank x in) and <module>.lora.up.weight (B)
    assert {key.rsplit(".", 4)[-4] for key in a if ".lora.down." in key} == {"to_q", "to_k", "to_v", "0"}
    assert all(t.shape[0] == 4 for k, t in a.items() if ".lora.down." in k)
    assert all(t.abs().sum() > 0 for k, t in a.items() if ".lora.up." in k)  # not the usual no-op init (B = 0)
    assert all(torch.equal(a[k], weights["b"][k]) for k in a)
    assert not all(torch.equal(a[k], weights["c"][k]) for k in a)
    assert all(torch.allclose(2 * a[k], weights["d"][k]) for k in a if ".lora.up." in k)
    assert all(t.shape[0] == 2 for k, t in weights["e"].items() if ".lora.down." in k)
