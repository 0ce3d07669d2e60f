"""Try-on scores: fidelity to the truth, preservation outside the garment region, FID / KID with a pluggable
extractor, and what is reported when a network is missing."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from backends.core.errors import InvalidInput
from backends.models.cache import ModelCache
from backends.tasks.tryon.evaluate import PAIRED_CAVEAT, kid_from_features, score
from backends.tasks.tryon.types import SCORE_KEY, TryOnScoreRequest
from tests.backends.tasks.tryon.common import PERSON

SIDE = (96, 128)


def photo() -> np.ndarray:
    return np.asarray(Image.open(PERSON).convert("RGB").resize(SIDE), np.float32) / 255


def region() -> np.ndarray:
    mask = np.zeros(SIDE[::-1], bool)
    mask[40:100, 20:76] = True
    return mask


def test_a_model_that_repaints_the_background_loses_preservation() -> None:
    person, inside = photo(), region()
    careful = person.copy()
    careful[inside] = 0.5  # a new garment, the rest untouched (what a mask-based model does)
    sloppy = careful.copy()
    sloppy[~inside] = np.clip(sloppy[~inside] + 0.2, 0, 1)  # the background repainted too
    good = score("a", "careful", careful, person, None, inside)
    bad = score("a", "sloppy", sloppy, person, None, inside)
    assert good["preserved_psnr"] == 100.0 and good["preserved_ssim"] == 1.0
    assert bad["preserved_psnr"] < 20 and bad["preserved_ssim"] < good["preserved_ssim"]
    assert good["ssim"] is None  # no truth: no fidelity score


def test_fidelity_to_the_truth() -> None:
    person = photo()
    same = score("a", "m", person, person, person, None)
    assert same["ssim"] == 1.0 and same["psnr"] == 100.0 and same["preserved_ssim"] is None
    noisy = np.clip(person + np.random.default_rng(0).normal(0, 0.05, person.shape), 0, 1).astype(np.float32)
    assert 20 < score("a", "m", noisy, person, person, None)["psnr"] < 30


def test_kid_is_near_zero_for_one_distribution_and_grows_with_a_shift() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(200, 16)), rng.normal(size=(200, 16))
    assert abs(kid_from_features(a, b, subset=50)) < 0.05
    assert kid_from_features(a, b + 1.0, subset=50) > 0.5
    with pytest.raises(InvalidInput, match="features"):
        kid_from_features(a[:1], b[:1])


@pytest.fixture()
def scored(tmp_path: Path) -> TryOnScoreRequest:
    """Two methods on three items: "copy" returns the person, "shift" repaints everything a little."""
    items = []
    for index in range(3):
        person = (photo() * 255).astype(np.uint8)
        for folder, image in (("inputs", person), ("copy", person),
                              ("shift", np.clip(person.astype(int) + 30 + 5 * index, 0, 255).astype(np.uint8))):
            (tmp_path / folder).mkdir(exist_ok=True)
            Image.fromarray(image).save(tmp_path / folder / f"{index}.png")
        (tmp_path / "regions").mkdir(exist_ok=True)
        Image.fromarray(region().astype(np.uint8) * 255).save(tmp_path / "regions" / f"{index}.png")
        items.append({"id": str(index), "person": str(tmp_path / "inputs" / f"{index}.png"),
                      "truth": str(tmp_path / "inputs" / f"{index}.png"),
                      "region": str(tmp_path / "regions" / f"{index}.png")})
    return TryOnScoreRequest(items, {"copy": str(tmp_path / "copy"), "shift": str(tmp_path / "shift")},
                             str(tmp_path / "scores"))


def test_scores_per_item_and_means_with_an_extractor_from_the_model_roots(cache: ModelCache, scored, tmp_path) -> None:
    torch.manual_seed(0)
    extractor = torch.jit.script(torch.nn.Sequential(torch.nn.Conv2d(3, 8, 5, stride=4), torch.nn.ReLU(),
                                                     torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()))
    path = tmp_path / "random_extractor.pt"
    extractor.save(str(path))
    scored.extractor = str(path)
    events = []
    from backends.core.run import RunControl

    result = cache.run(SCORE_KEY, scored, RunControl(on_progress=events.append))
    rows = list(csv.DictReader(Path(result.csv).read_text("utf-8").splitlines()))
    assert len(rows) == 6 and {r["method"] for r in rows} == {"copy", "shift"}
    copy, shift = result.summary
    assert copy["ssim"] == 1.0 and copy["preserved_psnr"] == 100.0 and shift["preserved_psnr"] < 25
    assert copy["fid"] == pytest.approx(0.0, abs=1e-3) and shift["fid"] > copy["fid"] and shift["kid"] > copy["kid"]
    assert copy["lpips"].startswith("unavailable") and copy["real_images"] == 3
    assert PAIRED_CAVEAT in result.notes and any("random_extractor.pt" in n for n in result.notes)
    assert events[-1].fraction == 1.0 and "scoring" in events[0].message
    assert (Path(scored.out_dir) / "summary.json").is_file()


def test_missing_networks_are_reported_not_raised(cache: ModelCache, scored) -> None:
    scored.extractor = "inception"  # torchmetrics and its weights are not installed here
    result = cache.run(SCORE_KEY, scored)
    assert str(result.summary[0]["fid"]).startswith("unavailable") and "torchmetrics" in result.summary[0]["fid"]
    scored.extractor = "/etc/passwd"  # TorchScript runs code: only files under STUDIO_MODEL_ROOTS
    with pytest.raises(InvalidInput, match="extractor: '/etc/passwd' is not a file this server may read"):
        cache.run(SCORE_KEY, scored)
