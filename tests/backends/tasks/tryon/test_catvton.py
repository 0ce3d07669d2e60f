"""CatVTON-MaskFree and CatVTON on their miniatures: how person and garment meet, zero-garment guidance, seeds,
masks, the attention checkpoint, and every bad input named."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from backends.core.errors import Cancelled, InvalidInput
from backends.core.run import RunControl
from backends.models.cache import ModelCache
from backends.tasks.tryon.attention import load_attention_checkpoint
from backends.tasks.tryon.types import TryOnRequest
from tests.backends.tasks.tryon.common import GARMENTS, PERSON, PHOTOS, SIZE, authors_flat_list, perturb, pixels

MASK_FREE, MASK_BASED = "tryon/catvton-maskfree", "tryon/catvton"
STEPS = 2


def tryon(cache: ModelCache, key: str, garment: Image.Image, control: RunControl | None = None, **fields):
    fields = {"seed": 5, "steps": STEPS, **SIZE, **fields}
    return cache.run(key, TryOnRequest(fields.pop("person", PERSON), garment, **fields), control)


class UNetInputs:
    """Records what the UNet of a loaded backend receives at each step."""

    def __init__(self, cache: ModelCache, key: str) -> None:
        self.calls: list[torch.Tensor] = []
        with cache.use(key) as backend:
            self.unet = backend.model
        self.handle = self.unet.register_forward_pre_hook(lambda m, args: self.calls.append(args[0].clone()))

    def __enter__(self) -> UNetInputs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.remove()


@pytest.mark.parametrize(("key", "channels", "shape"), [(MASK_FREE, 8, (40, 64)), (MASK_BASED, 9, (80, 32))])
def test_person_and_garment_are_concatenated_along_width_or_height(cache: ModelCache, garment: Image.Image, key: str,
                                                                   channels: int, shape: tuple[int, int]) -> None:
    tryon(cache, key, garment, steps=1)  # load
    with UNetInputs(cache, key) as seen:
        result = tryon(cache, key, garment)
    assert len(seen.calls) == STEPS
    # 320x256 pixels -> 40x32 latents; the canvas doubles the width (mask-free) or the height (mask-based)
    assert tuple(seen.calls[0].shape) == (2, channels, *shape)
    assert result.image.size == (SIZE["width"], SIZE["height"]) and result.person.size == result.image.size
    assert result.recipe.extra["concat"] == ("width" if key == MASK_FREE else "height")


def test_mask_free_guidance_zeroes_only_the_garment_latent(cache: ModelCache, garment: Image.Image) -> None:
    with UNetInputs(cache, MASK_FREE) as seen:
        tryon(cache, MASK_FREE, garment, guidance=2.5)
    condition = seen.calls[0][:, 4:]  # (2, 4, 40, 64): row 0 unconditional, row 1 conditional
    person, garment_half = condition[..., :32], condition[..., 32:]
    assert torch.equal(person[0], person[1])  # the full person latent in both branches
    assert not garment_half[0].any() and garment_half[1].abs().mean() > 0  # zeros in place of the garment
    assert torch.equal(seen.calls[0][0, :4], seen.calls[0][1, :4])  # the same noisy latent in both


def test_mask_based_guidance_zeroes_only_the_garment_latent(cache: ModelCache, garment: Image.Image) -> None:
    with UNetInputs(cache, MASK_BASED) as seen:
        result = tryon(cache, MASK_BASED, garment)
    mask, masked = seen.calls[0][:, 4:5], seen.calls[0][:, 5:]  # (2, 1, 80, 32), (2, 4, 80, 32)
    assert torch.equal(mask[0], mask[1]) and mask[:, :, :40].any() and not mask[:, :, 40:].any()
    assert torch.equal(masked[0, :, :40], masked[1, :, :40])  # the masked person, on top, in both
    assert not masked[0, :, 40:].any() and masked[1, :, 40:].abs().mean() > 0  # zero garment below
    assert result.recipe.extra["mask"] == "automatic (mediapipe)" and 0.02 < result.recipe.extra["mask_area"] < 0.6


def test_guidance_combines_the_two_branches(cache: ModelCache, garment: Image.Image) -> None:
    outputs, steps = [], []
    with cache.use(MASK_FREE) as backend:
        unet, scheduler = backend.model, backend.scheduler
    hook = unet.register_forward_hook(lambda m, i, o: outputs.append(o[0].clone()))
    original = scheduler.step

    def step(noise, *args, **kwargs):
        steps.append(noise.clone())
        return original(noise, *args, **kwargs)

    scheduler.step = step
    try:
        tryon(cache, MASK_FREE, garment, guidance=3.0, steps=2)
        unconditional, conditional = outputs[0].chunk(2)
        assert torch.allclose(steps[0], unconditional + 3.0 * (conditional - unconditional), atol=1e-5)
        outputs.clear()
        tryon(cache, MASK_FREE, garment, guidance=1.0, steps=2)
        assert outputs[0].shape[0] == 1  # no guidance: the conditional branch alone
    finally:
        hook.remove()
        del scheduler.step


@pytest.mark.parametrize("key", [MASK_FREE, MASK_BASED])
def test_the_same_seed_gives_the_same_image(cache: ModelCache, garment: Image.Image, key: str) -> None:
    first, second = tryon(cache, key, garment, seed=11), tryon(cache, key, garment, seed=11)
    assert np.array_equal(pixels(first.image), pixels(second.image))
    assert first.recipe.seed == 11 and first.recipe.steps == STEPS and first.recipe.guidance == 2.5
    other = tryon(cache, key, garment, seed=12)
    assert np.abs(pixels(other.image) - pixels(first.image)).max() > 0
    other_garment = tryon(cache, key, Image.open(GARMENTS / "dress.png"), seed=11)
    assert np.abs(pixels(other_garment.image) - pixels(first.image)).max() > 0  # the garment matters


def test_an_attention_checkpoint_changes_the_backend_output(cache: ModelCache, garment: Image.Image,
                                                            tmp_path: Path) -> None:
    from accelerate import Accelerator

    before = tryon(cache, MASK_FREE, garment)
    with cache.use(MASK_FREE) as backend:
        unet = backend.model
        saved = {k: v.clone() for k, v in unet.state_dict().items() if ".attn1." in k}
        processors = unet.attn_processors
        modules = authors_flat_list(unet)  # the released layout, built from the loaded UNet
        with torch.no_grad():
            perturb(modules, seed=3)
        Accelerator(cpu=True).save_model(modules, tmp_path)
        unet.set_attn_processor(processors)
        unet.load_state_dict(saved, strict=False)  # back to the miniature's checkpoint
        assert np.array_equal(pixels(tryon(cache, MASK_FREE, garment).image), pixels(before.image))
        load_attention_checkpoint(unet, tmp_path / "model.safetensors")
        try:
            after = tryon(cache, MASK_FREE, garment)
        finally:
            unet.load_state_dict(saved, strict=False)
    assert np.abs(pixels(after.image) - pixels(before.image)).mean() > 1


def test_the_users_mask_and_repaint(cache: ModelCache, garment: Image.Image) -> None:
    photo = Image.open(PERSON)
    mask = np.zeros((photo.height, photo.width), bool)
    mask[200:330, 100:280] = True  # the torso of the fixture photo
    result = tryon(cache, MASK_BASED, garment, mask=mask, repaint=True)
    assert result.recipe.extra["mask"] == "user" and result.recipe.extra["repaint"]
    far = ~np.asarray(Image.fromarray(result.mask).resize(result.image.size)).astype(bool)
    grown = np.asarray(Image.fromarray(result.mask.astype(np.uint8) * 255).resize((SIZE["width"], SIZE["height"])))
    from scipy.ndimage import binary_dilation

    far = ~binary_dilation(grown > 0, iterations=8)
    assert np.array_equal(pixels(result.image)[far], pixels(result.person)[far])  # outside the mask: the person
    with pytest.raises(InvalidInput, match="mask: is 10x10 but the person photo is 384x512"):
        tryon(cache, MASK_BASED, garment, mask=np.ones((10, 10), bool))
    ignored = tryon(cache, MASK_FREE, garment, mask=mask)
    assert any("mask-free" in w for w in ignored.warnings) and ignored.mask is None


def test_bad_inputs_are_named(cache: ModelCache, garment: Image.Image) -> None:
    cases = [
        ({"person": Image.new("RGB", (300, 400), "white")}, "person: no person found"),
        ({"person": Image.new("RGB", (40, 40))}, "person: 40x40 is smaller than 64"),
        ({"person": Image.new("RGB", (600, 100))}, "person: 600x100 has an aspect ratio beyond 1:4"),
        ({"garment": Image.new("RGB", (10, 10))}, "garment: 10x10 is smaller than 32"),
        ({"person": None}, "person: no person photo"),
        ({"width": 260}, "width: 260 is not a multiple of 8"),
        ({"height": 4096}, "height: 4096 is outside 256..2048"),
        ({"steps": 0}, "steps: 0 is below the minimum 1"),
        ({"guidance": 99}, "guidance: 99.0 is above the maximum 20"),
        ({"category": "hat"}, "category: 'hat' is not one of upper, lower, overall"),
        ({"seed": -1}, "seed: -1 is below the minimum 0"),
        ({"vae": "someone/else-vae"}, "vae: 'someone/else-vae' is not an allowed VAE"),
    ]
    for fields, message in cases:
        with pytest.raises(InvalidInput, match=message):
            tryon(cache, MASK_BASED, fields.pop("garment", garment), **fields)


def test_what_the_user_should_hear_about(cache: ModelCache, garment: Image.Image) -> None:
    rgba = Image.open(GARMENTS / "tshirt_transparent.png")
    buffer = io.BytesIO()
    rgba.save(buffer, format="PNG")
    transparent = tryon(cache, MASK_FREE, buffer.getvalue())
    assert any("transparent" in w for w in transparent.warnings)
    assert transparent.garment.getpixel((5, 5)) == (255, 255, 255)  # composited on white
    worn = tryon(cache, MASK_FREE, Image.open(PHOTOS / "hagrid_four_07fdea90.jpg"))
    assert any("shows a person wearing it" in w for w in worn.warnings)
    two = Image.new("RGB", (768, 512), (200, 200, 200))
    two.paste(Image.open(PERSON), (0, 0))
    two.paste(Image.open(PERSON).resize((288, 384)), (432, 128))
    crowd = tryon(cache, MASK_BASED, garment, person=two)
    assert any("2 people" in w for w in crowd.warnings) and crowd.recipe.extra["person_crop"][2] <= 432
    assert crowd.recipe.extra["people"] == 2


def test_stop_ends_the_run_between_steps(cache: ModelCache, garment: Image.Image) -> None:
    control = RunControl(stop=threading.Event())
    control.stop.set()
    with pytest.raises(Cancelled, match="stopped at step 1"):
        tryon(cache, MASK_FREE, garment, control=control)


def test_progress_is_reported_per_step(cache: ModelCache, garment: Image.Image) -> None:
    events = []
    tryon(cache, MASK_BASED, garment, control=RunControl(on_progress=events.append))
    assert [e.message.split(": ")[-1] for e in events][-STEPS:] == [f"step {i}/{STEPS}" for i in range(1, STEPS + 1)]
    assert events[-1].fraction == 1.0


def test_a_vae_from_the_model_roots(cache: ModelCache, garment: Image.Image, tmp_path: Path) -> None:
    from backends import tiny

    folder = tmp_path / "my-vae"
    tiny.build_miniature("vae_sd", folder, seed=0)
    result = tryon(cache, MASK_FREE, garment, vae=str(folder))
    assert result.recipe.extra["vae"] == str(folder)
    with pytest.raises(InvalidInput, match="vae: '/etc' is not an allowed VAE"):
        tryon(cache, MASK_FREE, garment, vae="/etc")


def test_requests_and_results_cross_a_process_boundary(cache: ModelCache, garment: Image.Image) -> None:
    from backends.models.executors.payload import decode, encode

    mask = np.zeros((512, 384), bool)
    mask[200:300, 100:250] = True
    request = TryOnRequest(PERSON, garment, seed=1, steps=1, mask=mask, **SIZE)
    assert np.array_equal(decode(encode(request)).mask, mask)
    result = cache.run(MASK_BASED, request)
    back = decode(encode(result))
    assert np.array_equal(pixels(back.image), pixels(result.image)) and np.array_equal(back.mask, result.mask)
    assert back.recipe == result.recipe and back.warnings == result.warnings
