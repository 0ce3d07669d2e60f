"""The research tokenizer adapters on their miniatures (tiny profile, through the model cache): token shapes and
bits as the papers count them, determinism, RobustTok's perturbation, Semanticist's prefixes, steps, guidance,
progress and Stop, TiTok's legacy reshape, and the released container layouts the miniatures are written in."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from backends.core.errors import Cancelled, InvalidInput, ModelUnavailable
from backends.core.run import RunControl
from backends.models.cache import ModelCache
from backends.tasks.tokenize.research import checkpoint, dit, titok, vavae
from backends.tasks.tokenize.types import TokenizeRequest

torch = pytest.importorskip("torch")
IMAGE = data.astronaut()[::2, ::2]  # 256x256, public domain
WIDE = data.coffee()  # 400x600: center-cropped to a square, then resized to 256


@pytest.fixture(scope="module")
def cache(tiny_settings, registry) -> ModelCache:
    return ModelCache(registry, tiny_settings)


def run(cache: ModelCache, key: str, **fields):
    return cache.run(key, TokenizeRequest(fields.pop("image", IMAGE), **{"curves": False, **fields}))


@pytest.mark.parametrize("key, shape, bits_each, repo", [
    ("tok/llamagen-vq", [16, 16], 14, "FoundationVision/LlamaGen"),
    ("tok/robusttok", [16, 16], 12, "qiuk6/RobustTok"),
    ("tok/xqgan-8192", [16, 16], 13, "qiuk6/RobustTok"),
    ("tok/robustok-post", [16, 16], 12, "qiuk6/RobusTok"),
    ("tok/titok", [32], 12, "yucornetto/tokenizer_titok_l32_imagenet"),
    ("tok/titok-sl256-vq8k", [256], 13, "yucornetto/tokenizer_titok_sl256_vq8k_imagenet"),
])
def test_discrete_tokens_are_counted_as_the_papers_count_them(cache: ModelCache, key: str, shape: list[int],
                                                              bits_each: int, repo: str) -> None:
    result = run(cache, key, image=WIDE)
    s = result.summary
    count = int(np.prod(shape))
    assert s["kind"] == "discrete" and s["discrete"] and not s["ordered"] and s["shape"] == shape
    assert s["count"] == count and s["bits"] == count * bits_each
    assert s["bits_per_pixel"] == pytest.approx(count * bits_each / 256**2, abs=1e-5)
    assert s["size"] == [256, 256] and "center-cropped" in s["preprocess"] and "note" not in s
    assert result.reconstruction.size == result.token_map.size == (256, 256)
    assert result.recipe.repo_id == f"miniature of {repo}" and result.recipe.revision.startswith("tiny:")
    again = run(cache, key, image=WIDE)
    assert np.array_equal(np.asarray(again.reconstruction), np.asarray(result.reconstruction))


@pytest.mark.parametrize("key, shape", [("tok/titok-bl128-vae", [128, 16]), ("tok/va-vae", [32, 16, 16]),
                                        ("tok/mar-vae", [16, 16, 16])])
def test_continuous_tokens_count_float16_values(cache: ModelCache, key: str, shape: list[int]) -> None:
    result = run(cache, key, alpha=0.5, max_side=256)
    s = result.summary
    assert s["kind"] == "continuous" and s["shape"] == shape and s["bits"] == int(np.prod(shape)) * 16
    assert result.perturbed is None and np.isfinite(s["metrics"]["psnr"])


def test_dc_ae_is_f32_with_32_channels(cache: ModelCache) -> None:
    s = run(cache, "tok/dc-ae-f32c32", image=data.astronaut(), max_side=512).summary
    assert s["shape"] == [32, 16, 16] and s["size"] == [512, 512] and s["bits"] == 32 * 16 * 16 * 16


def test_perturbation_replaces_codes_by_their_nearest_codewords(cache: ModelCache) -> None:
    with cache.use("tok/llamagen-vq") as backend:
        image = backend.prepare(IMAGE, None)
        tokens = backend.encode(image, TokenizeRequest(IMAGE))
        same = backend.perturb(tokens, 1.0, 1, 0)  # delta 1: the code itself
        assert np.array_equal(same.data, tokens.data)
        none = backend.perturb(tokens, 0.0, 64, 0)
        assert np.array_equal(none.data, tokens.data)
        half = backend.perturb(tokens, 0.5, 8, 3)
        full = backend.perturb(tokens, 1.0, 8, 3)
        changed_half, changed_full = half.data != tokens.data, full.data != tokens.data
        assert 0 < changed_half.sum() < changed_full.sum() and not (changed_half & ~changed_full).any()
        assert np.array_equal(backend.perturb(tokens, 0.5, 8, 3).data, half.data)  # the seed decides
        codebook = backend.codebook()  # l2-normalised: nearest = highest cosine
        for old, new in zip(tokens.data.ravel()[changed_full.ravel()], full.data.ravel()[changed_full.ravel()],
                            strict=True):
            rank = np.argsort(-(codebook @ codebook[old]), kind="stable")
            assert new in rank[:8]
        assert dict(full.params["perturbation"]) == {"alpha": 1.0, "delta": 8, "seed": 3}


def test_perturbed_view_and_robustness_curve(cache: ModelCache) -> None:
    result = run(cache, "tok/robusttok", alpha=1.0, delta=64, seed=1, curves=True)
    s = result.summary
    assert result.perturbed is not None and s["perturbation"]["delta"] == 64
    assert not np.array_equal(np.asarray(result.perturbed), np.asarray(result.reconstruction))
    assert s["curve"]["x"] == "alpha" and s["curve"]["points"][0][1] == pytest.approx(s["metrics"]["psnr"], abs=1e-3)


def test_semanticist_prefixes_ignore_the_tail(cache: ModelCache) -> None:
    with cache.use("tok/semanticist") as backend:
        image = backend.prepare(IMAGE, None)
        tokens = backend.encode(image, TokenizeRequest(IMAGE, steps=3, guidance=2.0, seed=5))
        assert tokens.ordered and tokens.count == 256 and tokens.data.shape == (256, 16)
        assert np.allclose(tokens.data.mean(axis=1), 0, atol=1e-5)  # each token standardised over its 16 values
        first = backend.decode_prefix(tokens, 16)
        other_tail = np.array(tokens.data)
        other_tail[16:] = np.random.default_rng(0).normal(size=other_tail[16:].shape)
        from dataclasses import replace

        changed = replace(tokens, data=other_tail)
        assert np.array_equal(backend.decode_prefix(changed, 16), first)  # the tail is replaced by null tokens
        assert not np.array_equal(backend.decode_prefix(changed, 17), backend.decode_prefix(tokens, 17))
        with pytest.raises(InvalidInput, match="prefix"):
            backend.decode_prefix(tokens, 0)


def test_semanticist_steps_guidance_progress_and_stop(cache: ModelCache) -> None:
    events = []
    result = cache.run("tok/semanticist", TokenizeRequest(IMAGE, prefix=4, steps=4, guidance=1.0, seed=2),
                       RunControl(on_progress=events.append))
    s = result.summary
    assert s["ordered"] and s["prefix"]["k"] == 4 and [p[0] for p in s["curve"]["points"]] == [1, 4, 16, 64, 256]
    assert result.recipe.extra["steps"] == 4 and result.recipe.extra["guidance"] == 1.0
    steps = [e.message for e in events if "step" in e.message]
    assert any("256 tokens: step 4/4, ~0 s left" in m for m in steps) and any("1 tokens: step 1/4" in m for m in steps)
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    guided = run(cache, "tok/semanticist", steps=4, guidance=4.0, seed=2)
    assert guided.summary["metrics"]["psnr"] != s["metrics"]["psnr"]
    control = RunControl()
    control.stop.set()
    with pytest.raises(Cancelled, match="stopped at step 1/3"):
        cache.run("tok/semanticist", TokenizeRequest(IMAGE, steps=3, curves=False), control)
    with pytest.raises(InvalidInput, match="steps: 0 is below"):
        run(cache, "tok/semanticist", steps=0)


def test_semanticist_sampler_is_adm_respacing() -> None:
    assert dit.respaced_timesteps(5) == [999, 749, 500, 250, 0]  # round(i * 999 / 4)
    assert dit.respaced_timesteps(250)[:3] == [999, 995, 991] and len(dit.respaced_timesteps(250)) == 250
    assert dit.respaced_timesteps(1000) == list(range(999, -1, -1))
    schedule = dit.scheduler(5)
    assert schedule.timesteps.tolist() == [999, 749, 500, 250, 0] and schedule.config.variance_type == "learned_range"


def test_titok_legacy_encoder_reshapes_without_permute() -> None:
    config = titok.TiTokConfig(enc_width=32, enc_depth=1, dec_width=32, dec_depth=1, tokens=8, token_size=32,
                               legacy=False, pixel=None)
    torch.manual_seed(0)
    model = titok.build(config)
    with torch.no_grad():  # conv_out = identity: z shows what conv_out reads
        model.encoder.conv_out.weight.copy_(torch.eye(32)[:, :, None, None])
        model.encoder.conv_out.bias.zero_()
    seen = {}
    model.encoder.ln_post.register_forward_hook(lambda m, i, o: seen.update(latents=o))
    x = torch.rand(1, 3, 256, 256)
    with torch.no_grad():
        fixed = titok.encode_latents(model, x, config)[0, :, 0]  # (C, K)
        assert torch.allclose(fixed, seen["latents"][0].T)  # token k's channels, as a fixed model reads them
        legacy = titok.encode_latents(model, x, titok.TiTokConfig(**{**config.__dict__, "legacy": True}))[0, :, 0]
        assert torch.allclose(legacy, seen["latents"][0].reshape(32, 8))  # memory read as (W, K): scrambled
        assert not torch.allclose(legacy, fixed)


def test_miniatures_are_written_in_the_released_containers(cache: ModelCache, tiny_settings) -> None:
    with cache.use("tok/robusttok") as backend:
        content = checkpoint.read_file(backend.paths["weights"])
        assert backend.paths["weights"].name == "RobustTok-zero.pt"
        assert {"model", "ema", "optimizer", "discriminator", "steps", "args"} <= set(content)
        assert content["args"].codebook_size == 4096 and any(k.startswith("semantic_model.") for k in content["ema"])
        assert backend.report.entry == "ema" and any(k.startswith("semantic_model.") for k in backend.report.dropped)
    with cache.use("tok/titok") as backend:
        assert {p.name for p in backend.paths.values()} == {"config.json", "model.safetensors"}
    with cache.use("tok/semanticist") as backend:
        flat = checkpoint.read_file(backend.paths["weights"])
        assert any("._orig_mod." in k for k in flat) and backend.report.entry == "flat"
    with cache.use("tok/va-vae") as backend:
        ldm = checkpoint.read_file(backend.paths["weights"])["state_dict"]
        assert "encoder.down.4.attn.0.q.weight" in ldm and ldm["encoder.down.4.attn.0.q.weight"].ndim == 4
        assert "loss.logvar" in backend.report.dropped


def test_vavae_key_names_round_trip() -> None:
    with torch.device("meta"):
        keys = list(vavae.build(vavae.RELEASED).state_dict())
    ldm = [vavae.to_ldm(k, 5) for k in keys]
    assert len(set(ldm)) == len(keys) and [vavae.to_diffusers(k, 5) for k in ldm] == keys
    assert "decoder.up.4.attn.2.proj_out.weight" in ldm and "encoder.mid.attn_1.norm.bias" in ldm
    assert "decoder.up.0.block.2.conv2.weight" in ldm and "encoder.down.1.block.0.nin_shortcut.weight" not in ldm
    assert "encoder.down.2.block.0.nin_shortcut.weight" in ldm  # 128 -> 256 channels


def test_lactok_says_exactly_what_is_missing(cache: ModelCache, registry, tiny_settings) -> None:
    from backends.models import weights

    ok, why = weights.availability(registry["tok/lactok"], tiny_settings)
    assert not ok and "key listing" in why and "SDXL" in why and "licence" in why
    with pytest.raises(ModelUnavailable, match="no adapter in the studio: no key listing of LaCTok-T.pth"):
        cache.run("tok/lactok", TokenizeRequest(IMAGE))
