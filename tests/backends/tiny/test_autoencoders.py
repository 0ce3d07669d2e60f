"""Tests for ``backends.tiny.autoencoders``: each autoencoder miniature builds, reloads offline and round-trips.

Every model is built once per module with ``build_miniature``, saved with the model's own ``save_pretrained`` and
loaded back with the real class's ``from_pretrained(local_files_only=True)`` (Hub offline, sockets refused).
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any

import pytest

from backends import tiny

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

# The real checkpoints' configs, written down independently of the module under test:
# class, downsampling factor, latent channels, scaling_factor, shift_factor (None: the class has none).
REAL: dict[str, tuple[str, int, int, float, float | None]] = {
    "vae_sd": ("AutoencoderKL", 8, 4, 0.18215, None),  # stabilityai/sd-vae-ft-mse
    "vae_sdxl": ("AutoencoderKL", 8, 4, 0.13025, None),  # madebyollin/sdxl-vae-fp16-fix
    "vae_flux": ("AutoencoderKL", 8, 16, 0.3611, 0.1159),  # FLUX.1-schnell/vae
    "taesd": ("AutoencoderTiny", 8, 4, 1.0, 0.0),  # madebyollin/taesd
    "vqgan": ("VQModel", 8, 4, 0.18215, None),  # kandinsky-2-2-decoder/movq
    "vae_mar16": ("AutoencoderKL", 16, 16, 0.2325, None),  # xwen99/mar-vae-kl16 (MAR's latent scale)
    "dc_ae_f32c32": ("AutoencoderDC", 32, 32, 0.41407, None),  # mit-han-lab/dc-ae-f32c32-sana-1.0-diffusers
}
HEIGHT, WIDTH = 64, 96  # non-square, so a wrong factor on either axis shows


@pytest.fixture(scope="module", autouse=True)
def offline(no_network: None) -> None:
    """Every test of this module runs with the hub offline and sockets refused (see ``no_network``)."""


@pytest.fixture(scope="module", params=list(REAL))
def autoencoder(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Any, Any]:
    """Build, save and reload one autoencoder; returns ``(arch, saved folder, loaded model)``."""
    arch = request.param
    out_dir = tmp_path_factory.mktemp(arch)
    tiny.build_miniature(arch, out_dir, seed=0)
    model = getattr(diffusers, tiny.ARCHITECTURES[arch].class_name).from_pretrained(out_dir, local_files_only=True)
    return arch, out_dir, model.eval()


def _images(seed: int = 0) -> Any:
    """A batch of one random image in [-1, 1], the range these autoencoders take."""
    return torch.rand(1, 3, HEIGHT, WIDTH, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _encode(model: Any, images: Any) -> Any:
    """Deterministic latents: the posterior mean for KL VAEs, the encoder output for TAESD and VQ."""
    with torch.no_grad():
        encoded = model.encode(images)
    if hasattr(encoded, "latent_dist"):
        return encoded.latent_dist.mode()
    return encoded.latent if hasattr(encoded, "latent") else encoded.latents  # DC-AE names it ``latent``


def test_model_classes_are_registered() -> None:
    assert {a.id for a in tiny.ARCHITECTURES.values() if a.module == "autoencoders"} == set(REAL)
    assert set(REAL) <= set(tiny.models())  # other tasks add single-model miniatures too (try-on UNets)
    assert not set(tiny.models()) & set(tiny.pipelines())  # single models are not pipelines
    for arch, (class_name, *_) in REAL.items():
        assert tiny.ARCHITECTURES[arch].class_name == class_name
        assert tiny.ARCHITECTURES[arch].kind == "model"
        assert hasattr(diffusers, class_name)


def test_mappings_are_read_only() -> None:
    with pytest.raises(TypeError):
        tiny.ARCHITECTURES["vae_sd"] = tiny.ARCHITECTURES["vae_flux"]  # type: ignore[index]
    with pytest.raises(TypeError):
        tiny.ARCHITECTURES["x"] = tiny.ARCHITECTURES["vae_sd"]  # type: ignore[index]
    with pytest.raises(TypeError):
        del tiny.ARCHITECTURES["vae_sd"]  # type: ignore[attr-defined]
    with pytest.raises(dataclasses.FrozenInstanceError):
        tiny.ARCHITECTURES["vae_sd"].class_name = "AutoencoderKLWan"  # type: ignore[misc]


def test_unknown_architecture_raises_value_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="Unknown tiny architecture 'vae_sd3'"):
        tiny.build_miniature("vae_sd3", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_same_seed_gives_same_weights(tmp_path: pathlib.Path) -> None:
    from safetensors.torch import load_file

    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        tiny.build_miniature("taesd", tmp_path / name, seed=seed)
    weights = {name: load_file(tmp_path / name / "diffusion_pytorch_model.safetensors") for name in "abc"}
    assert all(torch.equal(weights["a"][k], weights["b"][k]) for k in weights["a"])
    assert not all(torch.equal(weights["a"][k], weights["c"][k]) for k in weights["a"])


def test_saved_folder_is_a_single_model(autoencoder: tuple[str, Any, Any]) -> None:
    arch, out_dir, model = autoencoder
    config = json.loads((out_dir / "config.json").read_text())
    assert config["_class_name"] == REAL[arch][0] == type(model).__name__
    assert (out_dir / "diffusion_pytorch_model.safetensors").is_file()
    assert not (out_dir / "model_index.json").exists()


def test_config_matches_the_real_model(autoencoder: tuple[str, Any, Any]) -> None:
    arch, _, model = autoencoder
    _, factor, latent_channels, scaling, shift = REAL[arch]
    config = model.config
    assert config.latent_channels == latent_channels
    assert config.scaling_factor == pytest.approx(scaling)
    if shift is not None:
        assert config.shift_factor == pytest.approx(shift)
    # How diffusers' pipelines derive vae_scale_factor from any of these classes.
    channels = config.encoder_block_out_channels if arch == "dc_ae_f32c32" else config.block_out_channels
    assert 2 ** (len(channels) - 1) == factor
    if arch == "vae_flux":
        assert config.use_quant_conv is False and config.use_post_quant_conv is False
    if arch == "vae_sdxl":
        assert config.force_upcast is False  # the point of the fp16 fix
    if arch == "vqgan":
        assert config.norm_type == "spatial" and config.num_vq_embeddings == 16384 and config.vq_embed_dim == 4


def test_round_trip_shapes_and_determinism(autoencoder: tuple[str, Any, Any]) -> None:
    arch, _, model = autoencoder
    _, factor, latent_channels, *_ = REAL[arch]
    images = _images()
    latents = _encode(model, images)
    assert latents.shape == (1, latent_channels, HEIGHT // factor, WIDTH // factor)
    with torch.no_grad():
        decoded = model.decode(latents).sample
    assert decoded.shape == images.shape
    assert torch.isfinite(decoded).all()
    assert torch.equal(latents, _encode(model, images))
    assert not torch.equal(latents, _encode(model, _images(seed=1)))


@pytest.mark.parametrize("autoencoder", ["vae_flux"], indirect=True)
def test_kl_posterior_samples_follow_the_generator(autoencoder: tuple[str, Any, Any]) -> None:
    _, _, model = autoencoder
    with torch.no_grad():
        posterior = model.encode(_images()).latent_dist
    first = posterior.sample(generator=torch.Generator().manual_seed(0))
    again = posterior.sample(generator=torch.Generator().manual_seed(0))
    assert torch.equal(first, again) and not torch.equal(first, posterior.mode())


@pytest.mark.parametrize("autoencoder", ["vqgan"], indirect=True)
def test_vq_indices_are_available_and_decode(autoencoder: tuple[str, Any, Any]) -> None:
    _, _, model = autoencoder
    latents = _encode(model, _images())
    with torch.no_grad():
        quantized, commit_loss, (_, _, indices) = model.quantize(latents)
        from_indices = model.quantize.get_codebook_entry(indices, (1, HEIGHT // 8, WIDTH // 8, 4))
        via_decode = model.decode(latents)  # quantises internally
        via_codes = model.decode(quantized, force_not_quantize=True)
    assert indices.shape == (HEIGHT // 8 * WIDTH // 8,)
    assert indices.dtype == torch.long and indices.min() >= 0 and indices.max() < 16384
    # The tokens alone rebuild the quantised latents (up to the straight-through estimator's rounding).
    assert torch.allclose(from_indices, quantized, atol=1e-6)
    # The codebook covers the encoder's output range, so the token map is not one repeated code.
    assert indices.unique().numel() > indices.numel() // 4
    assert torch.allclose(via_decode.sample, via_codes.sample, atol=1e-5)
    assert torch.isfinite(commit_loss).all() and via_decode.commit_loss is not None
