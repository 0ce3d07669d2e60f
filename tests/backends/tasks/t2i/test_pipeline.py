"""The text-to-image backend on every architecture's random-weight miniature (tiny profile, CPU)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from backends.core.errors import Cancelled, GenerationFailed, InvalidInput, ModelUnavailable
from backends.core.run import ProgressEvent, RunControl
from backends.core.settings import Settings
from backends.models.cache import ModelCache
from backends.models.device import resolve_dtype
from backends.models.registry import default_registry
from backends.tasks.t2i.pipeline import DiffusersTextToImage
from backends.tasks.t2i.types import T2IRequest

LOCAL_T2I = [s.key for s in default_registry().by_task("t2i") if s.loader == "diffusers"]  # (code: OmniMamba)
PROMPT = "春节庙会的红色灯笼下，一块木牌上写着“恭喜发财” with lanterns"


@pytest.fixture(scope="module")
def cache(tiny_settings: Settings, registry) -> ModelCache:
    return ModelCache(registry, tiny_settings)


def request(spec, **changes) -> T2IRequest:
    fields = dict(prompt=PROMPT, seed=1234, width=spec.size.minimum, height=spec.size.minimum, steps=2)
    fields.update(changes)
    return T2IRequest(**fields)


@pytest.mark.parametrize("key", LOCAL_T2I)
def test_miniature_is_deterministic_and_its_recipe_is_right(cache: ModelCache, key: str) -> None:
    spec = cache.registry[key]
    steps_seen: list[float] = []
    # a load (if this test loads the model) reports at 0.0 first; then one event per step
    record = lambda event: steps_seen.append(event.fraction) if ": step " in event.message else None  # noqa: E731
    first = cache.run(key, request(spec), RunControl(on_progress=record))
    second = cache.run(key, request(spec))
    assert first.image.size == (spec.size.minimum, spec.size.minimum)
    assert np.array_equal(np.asarray(first.image), np.asarray(second.image)), "same seed must give the same image"
    # once per denoising step (PNDM runs one warm-up evaluation more), increasing to 1
    assert len(steps_seen) in (2, 3) and steps_seen[-1] == 1.0 and steps_seen == sorted(set(steps_seen))
    r = first.recipe
    assert (r.model, r.seed, r.steps, r.width, r.height, r.profile) == (key, 1234, 2, *first.image.size, "tiny")
    assert r.random_weights and r.repo_id == f"miniature of {spec.repo_id}"
    assert r.guidance == spec.generation.guidance and r.guidance_param == spec.generation.guidance_param
    assert r.pipeline == spec.class_name and r.scheduler.endswith("Scheduler")
    assert r.language == "mixed" and r.quoted_text == ["恭喜发财"]
    assert r.revision == f"tiny:{spec.architecture}:seed0" and r.run_seconds > 0
    assert r.versions["diffusers"] and r.dtype == "float32" and r.device == "cpu"


@pytest.mark.parametrize("key", ["t2i/taiyi-sd-1b", "t2i/qwen-image", "t2i/hunyuan-image-2.1"])
def test_seed_and_guidance_change_the_output(cache: ModelCache, key: str) -> None:
    spec = cache.registry[key]
    base = np.asarray(cache.run(key, request(spec)).image, dtype=np.int16)
    other_seed = np.asarray(cache.run(key, request(spec, seed=99)).image, dtype=np.int16)
    other_guidance = np.asarray(cache.run(key, request(spec, guidance=9.0, negative_prompt="blurry")).image,
                                dtype=np.int16)
    assert np.abs(base - other_seed).mean() > 0.5
    assert np.abs(base - other_guidance).mean() > 0.1


def test_each_model_takes_guidance_its_own_way(tiny_settings: Settings, registry) -> None:
    qwen = DiffusersTextToImage(registry["t2i/qwen-image"], tiny_settings)
    kwargs = qwen._call_arguments(T2IRequest(prompt="a cat"), steps=2, guidance=4.0)
    assert kwargs["true_cfg_scale"] == 4.0 and kwargs["negative_prompt"] == " " and "guidance_scale" not in kwargs
    kolors = DiffusersTextToImage(registry["t2i/kolors"], tiny_settings)
    kwargs = kolors._call_arguments(T2IRequest(prompt="a cat", negative_prompt="dog"), steps=2, guidance=5.0)
    assert kwargs["guidance_scale"] == 5.0 and kwargs["negative_prompt"] == "dog"
    assert kwargs["max_sequence_length"] == 256
    flux = DiffusersTextToImage(registry["t2i/flux-schnell"], tiny_settings)
    kwargs = flux._call_arguments(T2IRequest(prompt="a cat", negative_prompt="dog"), steps=4, guidance=0.0)
    assert "negative_prompt" not in kwargs and "guidance_scale" not in kwargs


def test_hunyuan_image_guider_is_restored_after_the_call(cache: ModelCache) -> None:
    spec = cache.registry["t2i/hunyuan-image-2.1"]
    cache.run(spec.key, request(spec, guidance=7.0))
    with cache.use(spec.key) as backend:
        assert backend.model.guider.config.guidance_scale == 3.5


def test_stop_cancels_between_steps(cache: ModelCache) -> None:
    spec = cache.registry["t2i/kolors"]
    stop = threading.Event()
    seen: list[str] = []

    def progress(event: ProgressEvent) -> None:
        seen.append(event.message)
        stop.set()  # pressed during the first step

    with pytest.raises(Cancelled, match="stopped at step 2/4"):
        cache.run(spec.key, request(spec, steps=4), RunControl(on_progress=progress, stop=stop))
    assert seen == ["Kolors: step 1/4"]
    assert all(e.pinned == 0 for e in cache.entries()), "a cancelled run releases its model"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"prompt": "  "}, "prompt: must not be empty"),
        ({"prompt": "x" * 20_000}, "prompt: 20,000 characters"),
        ({"prompt": "a\x1bcat"}, "prompt: control character"),
        ({"width": 0}, "width: 0 is outside 512..2048"),
        ({"height": 100000}, "height: 100000 is outside"),
        ({"width": 528}, "width: 528 is not a multiple of 32"),
        ({"steps": 0}, "steps: 0 is below the minimum 1"),
        ({"steps": 10**6}, "steps: 1000000 is above the maximum 200"),
        ({"seed": -3}, "seed: -3 is below the minimum 0"),
        ({"guidance": float("nan")}, "guidance: expected a finite number"),
        ({"guidance": -1.0}, "guidance: -1.0 is below the minimum 0"),
    ],
)
def test_bad_requests_name_the_field(tiny_settings: Settings, registry, changes: dict, message: str) -> None:
    backend = DiffusersTextToImage(registry["t2i/cogview4"], tiny_settings)
    with pytest.raises(InvalidInput, match=message):
        backend.check_inputs(request(registry["t2i/cogview4"], **changes))


def test_missing_weights_offline_name_the_fetch_command(tmp_path) -> None:
    settings = Settings(profile="real", device="cpu", data_dir=tmp_path, offline=True)
    backend = DiffusersTextToImage(default_registry()["t2i/kolors"], settings)
    with pytest.raises(ModelUnavailable, match=r"Kolors \(t2i/kolors.*make fetch MODEL=t2i/kolors"):
        backend.load()


def test_cogview4_refuses_float16(registry) -> None:
    settings = Settings(dtype="float16")
    with pytest.raises(ModelUnavailable, match="cannot run in float16.*STUDIO_DTYPE"):
        resolve_dtype(settings, registry["t2i/cogview4"], "cuda")
    import torch

    assert resolve_dtype(Settings(), registry["t2i/cogview4"], "cpu") == torch.float32


def test_nan_output_is_a_clear_error_not_a_black_image(cache: ModelCache) -> None:
    # Qwen-Image's scheduler stretches sigmas to a terminal value; at a single step that divides 0 by 0.
    spec = cache.registry["t2i/qwen-image"]
    with pytest.raises(GenerationFailed, match="Qwen-Image produced invalid .NaN. pixels at 1 steps"):
        cache.run(spec.key, request(spec, steps=1))
    assert cache.run(spec.key, request(spec, steps=2)).image.size == (256, 256)


def test_memory_is_measured_and_unload_frees_it(tiny_settings: Settings, registry) -> None:
    backend = DiffusersTextToImage(registry["t2i/flux-schnell"], tiny_settings)
    assert backend.memory_bytes() == 0
    backend.load()
    assert backend.memory_bytes() > 10_000
    backend.unload()
    assert backend.memory_bytes() == 0 and backend.loaded is None
