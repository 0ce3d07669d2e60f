"""The mediapipe-only agnostic masker on real photos: where the upper-, lower- and full-body masks lie, what they
protect, and what it says about photos it cannot handle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from backends.core.errors import InvalidInput
from backends.vision.agnostic import LANDMARKS, AgnosticMasker
from backends.vision.detectors import Detectors

PHOTOS = Path(__file__).resolve().parents[2] / "fixtures" / "photos"
# Upper body with the hips in view (chosen by looking at them): full body, head to thighs, head to hips.
UPPER = ("hagrid_four_06aa70cc.jpg", "hagrid_four_077fa4bf.jpg", "hagrid_four_07fdea90.jpg")
LOWER = ("hagrid_four_06aa70cc.jpg", "hagrid_four_077fa4bf.jpg")  # hips and thighs in view


@pytest.fixture(scope="module")
def detectors() -> Detectors:
    with Detectors() as shared:
        yield shared


@pytest.fixture(scope="module")
def masker(detectors: Detectors) -> AgnosticMasker:
    return AgnosticMasker(detectors)


def photo(name: str) -> Image.Image:
    return Image.open(PHOTOS / name).convert("RGB")


def person_segmentation(detectors: Detectors, image: Image.Image) -> np.ndarray:
    """Pose's and selfie segmentation's person masks, straight from mediapipe (independent of the masker)."""
    _, pose = detectors.pose_segmentation(image)
    return (pose >= 0.5) | (detectors.selfie_mask(image) >= 0.5)


def landmark(detectors: Detectors, image: Image.Image, name: str) -> np.ndarray:
    return detectors.pose(image).landmarks[LANDMARKS[name], :2]


@pytest.mark.parametrize("name", UPPER)
def test_upper_mask_covers_the_torso_and_not_the_face(masker: AgnosticMasker, detectors: Detectors,
                                                      name: str) -> None:
    image = photo(name)
    result = masker(image, "upper")
    quad = Image.new("L", image.size, 0)
    corners = [landmark(detectors, image, n) for n in ("left_shoulder", "right_shoulder", "right_hip", "left_hip")]
    ImageDraw.Draw(quad).polygon([tuple(map(float, c)) for c in corners], fill=1)
    torso = (np.asarray(quad) > 0) & person_segmentation(detectors, image)
    assert torso.sum() > 500
    assert (result.mask & torso).sum() / torso.sum() > 0.9  # the shoulder-hip quadrilateral is repainted
    x0, y0, x1, y1 = detectors.faces(image)[0].box
    assert result.mask[y0:y1, x0:x1].mean() < 0.02  # the face is not
    assert 0.02 < result.area_fraction < 0.5


@pytest.mark.parametrize("name", LOWER)
def test_lower_mask_lies_below_the_hips(masker: AgnosticMasker, detectors: Detectors, name: str) -> None:
    image = photo(name)
    result = masker(image, "lower")
    shoulders = (landmark(detectors, image, "left_shoulder")[1] + landmark(detectors, image, "right_shoulder")[1]) / 2
    hips = (landmark(detectors, image, "left_hip")[1] + landmark(detectors, image, "right_hip")[1]) / 2
    rows = np.nonzero(result.mask)[0]
    assert rows.min() >= hips - 0.3 * (hips - shoulders)  # nothing above the waistband
    assert rows.mean() > hips  # the bulk is below the hip joints
    for side in ("left", "right"):  # the thighs are covered: the points halfway from hip to knee
        x, y = np.round((landmark(detectors, image, f"{side}_hip") + landmark(detectors, image, f"{side}_knee")) / 2)
        if 0 <= y < image.height:
            assert result.mask[int(y), int(x)]


@pytest.mark.parametrize("name", UPPER)
@pytest.mark.parametrize("category", ["upper", "lower", "overall"])
def test_every_mask_lies_inside_the_person(masker: AgnosticMasker, detectors: Detectors, name: str,
                                           category: str) -> None:
    image = photo(name)
    try:
        result = masker(image, category)
    except InvalidInput as exc:  # a half-body photo has no lower body to mask: said, not guessed
        assert category != "upper" and "not visible" in str(exc)
        return
    assert not (result.mask & ~person_segmentation(detectors, image)).any()
    assert not (result.mask & result.protected).any()
    info = result.info()
    assert info["category"] == category and set(info["landmarks_used"]) >= {"left_hip", "right_hip"}
    assert any("sleeve" in limit for limit in info["limits"])


def test_overall_covers_upper_and_lower(masker: AgnosticMasker) -> None:
    image = photo("hagrid_four_06aa70cc.jpg")
    overall, upper, lower = (masker(image, c).mask for c in ("overall", "upper", "lower"))
    assert (overall & upper).sum() > 0.8 * upper.sum() and (overall & lower).sum() > 0.8 * lower.sum()


def test_the_astronaut_half_body_photo(masker: AgnosticMasker, detectors: Detectors) -> None:
    skimage = pytest.importorskip("skimage")
    image = Image.fromarray(skimage.data.astronaut())
    result = masker(image, "upper")
    assert any("hips out of view" in w for w in result.warnings)
    x0, y0, x1, y1 = detectors.faces(image)[0].box
    assert result.mask[y0:y1, x0:x1].mean() < 0.02 and result.area_fraction > 0.1
    with pytest.raises(InvalidInput, match="person: the hips are not visible"):
        masker(image, "lower")


def test_several_people_the_largest_is_masked_and_it_is_said(masker: AgnosticMasker) -> None:
    small = photo("hagrid_four_07fdea90.jpg").resize((288, 384))  # three quarters of the size
    canvas = Image.new("RGB", (384 + 384, 512), (200, 200, 200))
    canvas.paste(photo("hagrid_four_07fdea90.jpg"), (0, 0))  # the larger person, on the left
    canvas.paste(small, (384 + 48, 128))
    result = masker(canvas, "upper")
    assert result.people == 2 and "2 people found" in result.warnings[0]
    columns = np.nonzero(result.mask)[1]
    assert columns.max() < 384 + 48 and result.area_fraction > 0.05  # all on the large person, none on the small


def test_no_person_and_unknown_category(masker: AgnosticMasker) -> None:
    with pytest.raises(InvalidInput, match="person: no person found"):
        masker(Image.new("RGB", (300, 400), "white"), "upper")
    with pytest.raises(InvalidInput, match="category: 'hat' is not one of upper, lower, overall"):
        masker(photo(UPPER[0]), "hat")
