"""Hand detection and repair (inpaint, and MGHanD's guided loop) on the tiny profile with real photos."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from backends.core.errors import Cancelled, InvalidInput
from backends.core.run import ProgressEvent, RunControl
from backends.models.cache import ModelCache
from backends.tasks.hand_repair.types import HandDetectRequest, HandRepairRequest
from backends.tiny import build_tiny_lora

PHOTOS = Path(__file__).resolve().parents[3] / "fixtures" / "photos"
PHOTO = PHOTOS / "hagrid_four_06aa70cc.jpg"
STEPS = 6


@pytest.fixture(scope="module")
def cache(tiny_settings, registry, tmp_path_factory) -> ModelCache:
    # LoRAs and discriminators load only from the operator's model roots: the tests' scratch folders here.
    settings = dataclasses.replace(tiny_settings, model_roots=(tmp_path_factory.getbasetemp(),),
                                   lora_allowlist=("org/natural-hands-lora",))
    return ModelCache(registry, settings)


def repair(cache: ModelCache, key: str = "inpaint/sd15", control: RunControl | None = None, **fields):
    fields = {"seed": 3, "steps": STEPS, "text_guidance": 2.0, **fields}
    return cache.run(key, HandRepairRequest(fields.pop("image", PHOTO), **fields), control)


def pixels(image) -> np.ndarray:
    return np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else Image.open(image).convert("RGB"),
                      dtype=np.int16)


def test_detection_reports_hands_with_scores(cache: ModelCache) -> None:
    result = cache.run("hand/mediapipe", HandDetectRequest(PHOTO))
    assert result.report["count"] >= 1 and result.report["mean_score"] > 0.5
    assert result.overlay.size == Image.open(PHOTO).size


def test_mghand_without_guidance_is_plain_inpainting(cache: ModelCache) -> None:
    plain = repair(cache, method="inpaint")
    guided_off = repair(cache, method="mghand", text_guidance=0.0)
    assert np.array_equal(pixels(plain.image), pixels(guided_off.image))
    guided_on = repair(cache, method="mghand", text_guidance=3.0)
    assert np.abs(pixels(guided_on.image) - pixels(plain.image)).max() > 0


def test_pixels_outside_the_mask_stay_put(cache: ModelCache) -> None:
    result = repair(cache, method="mghand")
    before, after = pixels(Image.open(PHOTO)), pixels(result.image)
    x0, y0, x1, y1 = result.regions[0]
    outside = np.ones(before.shape[:2], bool)
    outside[max(0, y0 - 8):y1 + 8, max(0, x0 - 8):x1 + 8] = False
    assert np.abs(before - after)[outside].max() <= 1  # untouched away from the crop (JPEG decode rounding aside)
    inside = np.abs(before - after)[y0:y1, x0:x1].mean()
    assert inside > 1, "the hand region was repaired"


def test_a_lora_changes_the_result_inside_the_mask(cache: ModelCache, tmp_path: Path) -> None:
    lora = build_tiny_lora("sd_inpaint", tmp_path / "lora", seed=0)
    without = repair(cache, method="mghand")
    with_lora = repair(cache, method="mghand", lora=str(lora))
    diff = np.abs(pixels(without.image) - pixels(with_lora.image))
    x0, y0, x1, y1 = with_lora.regions[0]
    assert diff[y0:y1, x0:x1].mean() > 0.5
    outside = np.ones(diff.shape[:2], bool)
    outside[max(0, y0 - 8):y1 + 8, max(0, x0 - 8):x1 + 8] = False
    assert diff[outside].max() == 0
    # the LoRA is used only for the guidance prediction: plain inpainting is unaffected afterwards
    assert np.array_equal(pixels(repair(cache, method="inpaint").image), pixels(repair(cache, method="inpaint",
                                                                                      lora=str(lora)).image))


def test_a_random_discriminator_gradient_changes_the_result(cache: ModelCache, tmp_path: Path) -> None:
    class Critic(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.conv = torch.nn.Conv2d(4, 8, 3, padding=1)
            self.head = torch.nn.Linear(8, 1)

        def forward(self, latents: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
            features = torch.tanh(self.conv(latents)).mean(dim=(2, 3))
            return self.head(features).squeeze(1) + 0.0 * timesteps.float()

    path = tmp_path / "critic.pt"
    torch.jit.save(torch.jit.script(Critic()), str(path))
    base = repair(cache, method="mghand", text_guidance=0.0)
    guided = repair(cache, method="mghand", text_guidance=0.0, visual_guidance=2.0, discriminator=str(path))
    x0, y0, x1, y1 = guided.regions[0]
    diff = np.abs(pixels(base.image) - pixels(guided.image))
    assert diff[y0:y1, x0:x1].mean() > 0.05 and diff[y0:y1, x0:x1].max() >= 3
    assert guided.recipe.extra["visual_guidance"] == 2.0


def test_the_cumulative_mask_grows_over_the_steps(cache: ModelCache) -> None:
    result = repair(cache, method="mghand", strength=1.0, mask_growth=1.0)
    schedule = result.schedule
    assert len(schedule) >= STEPS - 1
    sizes = [int(m.sum()) for m in schedule]
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]
    still = repair(cache, method="mghand", strength=1.0, mask_growth=0.0).schedule
    assert len({int(m.sum()) for m in still}) == 1


def test_feather_zero_pastes_a_hard_edge(cache: ModelCache) -> None:
    soft = repair(cache, method="inpaint", feather=0.05)
    hard = repair(cache, method="inpaint", feather=0.0)
    assert hard.recipe.extra["feather"] == 0.0 and soft.recipe.extra["feather"] == 0.05
    assert not np.array_equal(pixels(soft.image), pixels(hard.image))


def test_recipe(cache: ModelCache) -> None:
    result = repair(cache, method="mghand", strength=0.5)
    recipe = result.recipe
    assert (recipe.model, recipe.seed, recipe.steps, recipe.profile) == ("inpaint/sd15", 3, STEPS, "tiny")
    assert recipe.extra["method"] == "mghand" and recipe.extra["strength"] == 0.5
    assert recipe.extra["regions"] == [list(r) for r in result.regions]


def test_user_mask(cache: ModelCache) -> None:
    size = Image.open(PHOTO).size
    mask = np.zeros(size[::-1], bool)
    mask[100:180, 120:200] = True
    result = repair(cache, method="inpaint", mask=mask)
    assert result.recipe.extra["user_mask"] and len(result.regions) == 1
    with pytest.raises(InvalidInput, match="mask: .*(size|match)"):
        repair(cache, method="inpaint", mask=np.ones((10, 10), bool))


def test_no_hand_is_a_clear_message(cache: ModelCache) -> None:
    blank = Image.new("RGB", (256, 256), (200, 180, 160))
    with pytest.raises(InvalidInput, match="No hand found"):
        repair(cache, image=blank)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"method": "magic"}, "method: 'magic' is not one of inpaint, mghand"),
        ({"strength": 0}, "strength: 0"),
        ({"mask_growth": 2}, "mask_growth: 2"),
        ({"steps": 0}, "steps: 0 is below"),
        ({"visual_guidance": 5.0}, "visual_guidance: needs a discriminator"),
        ({"discriminator": "/nope.pt", "visual_guidance": 1.0},
         "discriminator: '/nope.pt' is not a file this server may read"),
        ({"lora": "/no/such/lora"}, "lora: '/no/such/lora' is not a folder this server may read"),
        ({"resolution": 100}, "width: 100 is outside"),
        ({"dilation": 0.5}, "dilation: 0.5 is above the maximum 0.2"),
        ({"feather": -1}, "feather: -1"),
    ],
)
def test_bad_requests(cache: ModelCache, fields: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        repair(cache, **{"method": "mghand", **fields})


def test_other_inpainting_models_repair_with_their_pipelines(cache: ModelCache) -> None:
    for key in ("inpaint/sdxl", "inpaint/flux-fill"):
        with pytest.raises(InvalidInput, match="method: mghand's guided loop runs on SD-1.x"):
            repair(cache, key, method="mghand")
        result = repair(cache, key, method="inpaint", resolution=512)
        before, after = pixels(Image.open(PHOTO)), pixels(result.image)
        assert after.shape == before.shape
        x0, y0, x1, y1 = result.regions[0]
        outside = np.ones(before.shape[:2], bool)
        outside[max(0, y0 - 8):y1 + 8, max(0, x0 - 8):x1 + 8] = False
        assert np.abs(before - after)[outside].max() <= 1


def test_stop_between_steps(cache: ModelCache) -> None:
    stop = threading.Event()

    def progress(event: ProgressEvent) -> None:
        stop.set()

    with pytest.raises(Cancelled, match="stopped at step"):
        repair(cache, method="mghand", control=RunControl(on_progress=progress, stop=stop))


def test_mediapipe_still_works_after_a_miniature_ran(cache: ModelCache) -> None:
    # Miniatures flush denormals while they run; left on, the flag breaks mediapipe's XNNPACK graphs on the thread.
    from backends.vision.detectors import Detectors

    repair(cache, method="inpaint")
    with Detectors() as detectors:
        assert detectors.selfie_mask(Image.open(PHOTO)).shape == Image.open(PHOTO).size[::-1]


def test_model_files_come_only_from_the_operators_roots(cache: ModelCache, tmp_path: Path) -> None:
    """A LoRA or TorchScript file named by a client is code to run: only files under STUDIO_MODEL_ROOTS (or LoRA
    repo ids on the allowlist) are accepted, and the refusal does not reveal whether a path exists."""
    outside = Path("/etc/hostname")
    escape = tmp_path / ".." / ".." / ".." / ".." / "etc" / "hostname"
    link = tmp_path / "link.pt"
    link.symlink_to(outside)
    messages = set()
    for path in (outside, escape, link, Path("/etc/no-such-file")):
        with pytest.raises(InvalidInput, match="is not a file this server may read") as error:
            repair(cache, method="mghand", visual_guidance=1.0, discriminator=str(path))
        messages.add(str(error.value).replace(repr(str(path)), "PATH"))
    assert len(messages) == 1  # existing and missing files are refused in the same words
    with pytest.raises(InvalidInput, match="lora: 'someone/evil-lora' is not a folder this server may read"):
        repair(cache, method="mghand", lora="someone/evil-lora")
    # The allowlisted hub id passes the policy (loading it would need the network).
    with cache.use("inpaint/sd15") as backend:
        assert backend._lora_source("org/natural-hands-lora") == "org/natural-hands-lora"


def test_loaded_adapters_are_bounded(cache: ModelCache, tmp_path: Path) -> None:
    from backends.tasks.hand_repair.repair import MAX_ADAPTERS

    loras = [build_tiny_lora("sd_inpaint", tmp_path / f"lora{k}", seed=k) for k in range(MAX_ADAPTERS + 2)]
    for lora in loras:
        repair(cache, method="mghand", lora=str(lora), steps=2)
    with cache.use("inpaint/sd15") as backend:
        assert len(backend._loras) == MAX_ADAPTERS
        assert len(backend.model.get_list_adapters().get("unet", [])) == MAX_ADAPTERS


def test_loaded_discriminators_are_bounded_too(cache: ModelCache, tmp_path: Path) -> None:
    """MAX_ADAPTERS bounds the TorchScript discriminators as well: the least recently used one is dropped first."""
    from backends.tasks.hand_repair.repair import MAX_ADAPTERS

    class Critic(torch.nn.Module):
        def __init__(self, weight: float) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.tensor(weight))

        def forward(self, latents: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
            return self.weight * latents.mean(dim=(1, 2, 3)) + 0.0 * timesteps.float()

    paths = []
    for k in range(MAX_ADAPTERS + 2):
        paths.append(tmp_path / f"critic{k}.pt")
        torch.jit.save(torch.jit.script(Critic(float(k + 1))), str(paths[-1]))
    for path in (*paths, paths[2]):  # the last call uses critic2 again: it becomes the most recently used
        repair(cache, method="mghand", text_guidance=0.0, visual_guidance=1.0, discriminator=str(path), steps=2)
    with cache.use("inpaint/sd15") as backend:
        kept = [Path(file).name for file in backend._discriminators]
    assert len(kept) == MAX_ADAPTERS
    assert kept == [p.name for p in (*paths[3:], paths[2])]  # critic0 and critic1 went first; critic2 came back
