"""Hand report, overlay, hand masks and the cumulative mask schedule (``backends.hands``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from backends.core.errors import InvalidInput
from backends.core.imaging import load_image
from backends.vision import hands as H
from backends.vision.detectors import Detectors, Hand

PHOTOS = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "photos"
SIZE = (400, 400)


# --------------------------------------------------------------------------------------------------------------------
# A synthetic hand built joint by joint
# --------------------------------------------------------------------------------------------------------------------
def synthetic_hand(bends: dict[tuple[str, str], float] | None = None, handedness: str = "Right",
                   scale: dict[tuple[str, int], float] | None = None) -> Hand:
    """An open hand, palm to the camera, fingers up, in a 400x400 image, shaped like a left hand (mediapipe labels it
    "Right": its labels assume a mirrored image). ``bends`` maps (finger, joint) to degrees of flexion (negative =
    backwards); ``scale`` multiplies the length of (finger, segment index 0..2)."""
    bends, scale = bends or {}, scale or {}
    wrist = np.array([200.0, 340.0, 0.0])
    knuckles = {"index": (160, 235), "middle": (192, 228), "ring": (222, 234), "pinky": (248, 248)}
    lengths = {"index": (49, 30, 24), "middle": (53, 34, 26), "ring": (49, 32, 25), "pinky": (39, 24, 20)}
    directions = {"index": (-0.15, -1), "middle": (0, -1), "ring": (0.1, -1), "pinky": (0.25, -1)}
    points = np.zeros((21, 3))
    points[0] = wrist
    thumb = np.array([-0.6, -0.8, 0.0])
    for i, length in enumerate((45, 47, 37, 29), start=1):
        points[i] = points[i - 1] + length * scale.get(("thumb", i - 2), 1.0) * thumb
    for f, name in enumerate(("index", "middle", "ring", "pinky")):
        base = 5 + 4 * f
        points[base] = (*knuckles[name], 0.0)
        d0 = np.array([*directions[name], 0.0]) / np.hypot(*directions[name])
        angle = 0.0
        for s, joint in enumerate(("mcp", "pip", "dip")):
            # Flexion turns the finger towards the palm, i.e. towards the camera (mediapipe's negative z).
            angle += np.radians(bends.get((name, joint), 0.0))
            step = np.cos(angle) * d0 + np.sin(angle) * np.array([0.0, 0.0, -1.0])
            points[base + s + 1] = points[base + s] + lengths[name][s] * scale.get((name, s), 1.0) * step
    points[:, 2] /= SIZE[0]  # mediapipe's z is in units of the image width
    xy = points[:, :2]
    box = (int(xy[:, 0].min()) - 10, int(xy[:, 1].min()) - 10, int(xy[:, 0].max()) + 11, int(xy[:, 1].max()) + 11)
    return Hand(box=box, landmarks=points.astype(np.float32), handedness=handedness, score=0.95)


FIST = {(f, j): a for f in ("index", "middle", "ring", "pinky") for j, a in (("mcp", 70), ("pip", 90), ("dip", 60))}


@pytest.fixture(scope="module")
def detected() -> dict[str, tuple[Image.Image, list[Hand]]]:
    with Detectors() as detectors:
        return {path.stem: (image, detectors.hands(image))
                for path in sorted(PHOTOS.glob("*.jpg")) for image in [load_image(path)]}


# --------------------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------------------
def test_open_hand_is_plausible_with_five_fingers_out() -> None:
    checks = H.hand_checks(synthetic_hand(), SIZE)
    assert checks["plausible"] and checks["reasons"] == []
    assert checks["extended_count"] == 5 and all(checks["extended"].values())
    assert all(abs(a) < 1 for joints in checks["flexion_deg"].values() for a in joints.values())
    assert checks["label_consistent"]


def test_finger_bent_backwards_is_flagged() -> None:
    checks = H.hand_checks(synthetic_hand({("index", "pip"): -60}), SIZE)
    assert not checks["plausible"]
    (reason,) = checks["reasons"]
    assert reason.startswith("index finger bent backwards ") and reason.endswith("° at the PIP joint (limit 30°)")
    # The flexion is measured about the knuckle line, which is a little oblique to this tilted finger: about 60.
    assert checks["flexion_deg"]["index"]["pip"] == pytest.approx(-60, abs=2)
    # Within the anatomical range (PIP does not hyperextend, noise allowance 30°) nothing is flagged.
    assert H.hand_checks(synthetic_hand({("index", "pip"): -20}), SIZE)["plausible"]


def test_fist_is_plausible_and_survives_a_wrong_handedness_label() -> None:
    checks = H.hand_checks(synthetic_hand(FIST), SIZE)
    assert checks["plausible"] and checks["label_consistent"]
    assert checks["extended"] == {"thumb": True, "index": False, "middle": False, "ring": False, "pinky": False}
    assert checks["flexion_deg"]["middle"]["pip"] == pytest.approx(90, abs=0.5)
    # With the opposite label every curled finger would read as bent backwards: the checks notice and flip.
    swapped = H.hand_checks(synthetic_hand(FIST, handedness="Left"), SIZE)
    assert swapped["plausible"] and not swapped["label_consistent"]
    assert swapped["flexion_deg"] == checks["flexion_deg"]


def test_segment_far_too_long_or_finger_far_too_short_is_flagged() -> None:
    long = H.hand_checks(synthetic_hand(scale={("middle", 2): 3.5}), SIZE)
    assert not long["plausible"] and long["reasons"][0].startswith("middle's distal segment is 3.")
    stub = H.hand_checks(synthetic_hand(scale={("ring", s): 0.2 for s in range(3)}), SIZE)
    assert not stub["plausible"] and stub["reasons"][0].startswith("ring is 0.1")


def test_report_on_photos(detected: dict) -> None:
    for name, (image, hands) in detected.items():
        report = H.hand_report(hands, image.size)
        json.dumps(report)  # JSON-ready
        assert report["count"] == len(hands) == len(report["hands"])
        assert report["mean_score"] == pytest.approx(np.mean([h.score for h in hands]), abs=1e-3)
        assert report["message"].startswith(f"Found {len(hands)} hand")
        for entry, hand in zip(report["hands"], hands, strict=True):
            assert entry["box"] == list(hand.box) and entry["handedness"] == hand.handedness
            assert np.array(entry["landmarks"]).shape == (21, 2)
            assert entry["checks"]["plausible"], (name, entry["checks"]["reasons"])  # real hands are plausible
        if "_four_" in name:  # four fingers up, thumb folded
            assert report["hands"][0]["checks"]["extended"] == {
                "thumb": False, "index": True, "middle": True, "ring": True, "pinky": True}
        if "_call_" in name:  # thumb and little finger out
            assert report["hands"][0]["checks"]["extended"] == {
                "thumb": True, "index": False, "middle": False, "ring": False, "pinky": True}


def test_report_says_plainly_when_no_hand_was_found() -> None:
    with Detectors() as detectors:
        blank = Image.new("RGB", (320, 240), "white")
        report = H.hand_report(detectors.hands(blank), blank.size)
    assert report == {"hands": [], "count": 0, "mean_score": None, "message": report["message"]}
    assert report["message"].startswith("No hand found: ") and "320x240" in report["message"]


def test_report_names_the_implausible_hand() -> None:
    report = H.hand_report([synthetic_hand(), synthetic_hand({("ring", "dip"): -70})], SIZE)
    assert report["message"].startswith("Found 2 hands (mean MediaPipe confidence 0.95); 1 looks implausible")
    assert "ring finger bent backwards 70° at the DIP joint" in report["message"]


# --------------------------------------------------------------------------------------------------------------------
# Overlay
# --------------------------------------------------------------------------------------------------------------------
def test_overlay_draws_on_the_hand_only(detected: dict) -> None:
    image, hands = detected["hagrid_none_00c84257"]
    drawn = H.overlay(image, hands)
    assert drawn.size == image.size and drawn.mode == "RGB" and drawn is not image
    changed = np.any(np.asarray(drawn) != np.asarray(image), axis=2)
    near = H.masks_for(hands, image.size, kind="loose", padding=0.5)
    assert changed[near].any() and not changed[~near].any()
    assert np.array_equal(np.asarray(H.overlay(image, [])), np.asarray(image))


def test_overlay_label_fits_at_the_top_edge() -> None:
    hand = synthetic_hand()
    moved = Hand(box=(hand.box[0], 0, hand.box[2], hand.box[3]), landmarks=hand.landmarks, handedness="Left",
                 score=0.5)
    assert H.overlay(Image.new("L", SIZE), [moved]).size == SIZE


# --------------------------------------------------------------------------------------------------------------------
# Masks
# --------------------------------------------------------------------------------------------------------------------
def test_tight_mask_is_inside_the_loose_mask(detected: dict) -> None:
    for image, hands in detected.values():
        for hand in hands:
            tight = H.tight_mask(hand, image.size)
            assert tight.shape == (image.height, image.width) and tight.dtype == bool and tight.any()
            for padding in (0.0, 0.25):
                loose = H.loose_mask(hand, image.size, padding)
                assert not (tight & ~loose).any()
            x0, y0, x1, y1 = hand.box
            assert H.loose_mask(hand, image.size, 0.0).sum() == (x1 - x0) * (y1 - y0)
            grown = H.tight_mask(hand, image.size, dilation_px=5)
            assert not (tight & ~grown).any() and grown.sum() > tight.sum()


def test_loose_mask_padding_is_clipped_to_the_image() -> None:
    hand = synthetic_hand()
    assert H.loose_mask(hand, SIZE, padding=10.0).all()
    with pytest.raises(InvalidInput, match="padding"):
        H.loose_mask(hand, SIZE, padding=-0.1)


def test_dilate_is_a_euclidean_disc() -> None:
    mask = np.zeros((21, 21), dtype=bool)
    mask[10, 10] = True
    yy, xx = np.mgrid[:21, :21]
    assert np.array_equal(H.dilate(mask, 3), (yy - 10) ** 2 + (xx - 10) ** 2 <= 9)
    assert np.array_equal(H.dilate(mask, 0), mask)
    assert not H.dilate(np.zeros((5, 5), bool), 4).any()
    with pytest.raises(InvalidInput, match="px"):
        H.dilate(mask, -1)


def test_feather_is_a_soft_edge() -> None:
    mask = np.zeros((100, 100), dtype=bool)
    mask[20:80, 20:80] = True
    soft = H.feather(mask, 8)
    assert soft.dtype == np.float32 and soft.shape == mask.shape
    assert soft.min() >= 0.0 and soft.max() <= 1.0
    assert soft[50, 50] == pytest.approx(1.0, abs=1e-3) and soft[50, 5] == pytest.approx(0.0, abs=1e-3)
    assert soft[50, 20] == pytest.approx(0.5, abs=0.1)  # the edge
    assert soft[50, 28] > 0.95 and soft[50, 12] < 0.05  # radius_px inside / outside
    assert np.array_equal(H.feather(mask, 0), mask.astype(np.float32))


def test_union_and_masks_for(detected: dict) -> None:
    image, hands = detected["hagrid_none_00c84257"]
    tights = [H.tight_mask(h, image.size) for h in hands]
    assert np.array_equal(H.union(tights, image.size), tights[0] | tights[1])
    assert np.array_equal(H.masks_for(hands, image.size, "tight"), tights[0] | tights[1])
    assert not H.union([], image.size).any() and H.union([], image.size).shape == (image.height, image.width)
    assert not H.masks_for([], image.size, "loose").any()
    with pytest.raises(InvalidInput) as error:
        H.union([tights[0], np.zeros((3, 3), bool)], image.size)
    assert error.value.field == "masks[1]"
    with pytest.raises(InvalidInput, match="kind"):
        H.masks_for(hands, image.size, "round")


# --------------------------------------------------------------------------------------------------------------------
# User masks
# --------------------------------------------------------------------------------------------------------------------
def test_check_mask_accepts_common_forms() -> None:
    size = (40, 30)
    painted = np.zeros((30, 40), dtype=bool)
    painted[5:15, 10:20] = True
    layer = np.zeros((30, 40, 4), dtype=np.uint8)
    layer[painted] = (255, 255, 255, 255)  # an ImageEditor layer: white strokes on transparency
    opaque = np.zeros((30, 40, 4), dtype=np.uint8)
    opaque[..., 3] = 255
    opaque[painted, :3] = 255  # a black-and-white mask saved as RGBA
    forms = [painted, painted.astype(np.uint8) * 255, Image.fromarray(painted.astype(np.uint8) * 255, "L"),
             Image.fromarray(painted), Image.fromarray(layer, "RGBA"), Image.fromarray(opaque, "RGBA"),
             Image.fromarray(painted.astype(np.uint8) * 255, "L").convert("RGB"),
             Image.fromarray(painted.astype(np.uint8) * 255, "L").convert("P"), layer, painted.astype(np.float32)]
    for form in forms:
        result = H.check_mask(form, size)
        assert result.dtype == bool and np.array_equal(result, painted), type(form)


def test_check_mask_rejects_wrong_sizes_and_empty_masks() -> None:
    with pytest.raises(InvalidInput) as error:
        H.check_mask(np.ones((30, 40), bool), (64, 48), field="hand_mask")
    assert error.value.field == "hand_mask" and "40x30" in str(error.value) and "64x48" in str(error.value)
    with pytest.raises(InvalidInput, match="empty"):
        H.check_mask(Image.new("RGBA", (40, 30), (255, 255, 255, 0)), (40, 30))
    with pytest.raises(InvalidInput, match="empty"):
        H.check_mask(Image.new("L", (40, 30)), (40, 30))
    with pytest.raises(InvalidInput, match="mask"):
        H.check_mask("mask.png", (40, 30))


# --------------------------------------------------------------------------------------------------------------------
# Cumulative schedule
# --------------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pair(detected: dict) -> tuple[np.ndarray, np.ndarray]:
    image, (hand,) = detected["hagrid_four_06aa70cc"]
    return H.tight_mask(hand, image.size), H.loose_mask(hand, image.size)


@pytest.mark.parametrize("curve", H.CURVES)
def test_schedule_grows_from_tight_to_loose(pair: tuple[np.ndarray, np.ndarray], curve: str) -> None:
    tight, loose = pair
    schedule = H.cumulative_schedule(tight, loose, 30, curve=curve)
    assert len(schedule) == 30
    assert np.array_equal(schedule[0], tight) and np.array_equal(schedule[-1], loose)
    for before, after in zip(schedule, schedule[1:], strict=False):
        assert not (before & ~after).any()  # monotone
    for mask in schedule:
        assert mask.dtype == bool and not (tight & ~mask).any() and not (mask & ~(tight | loose)).any()
    areas = [int(m.sum()) for m in schedule]
    assert areas[0] < areas[15] < areas[-1]


def test_schedule_grows_by_distance_from_the_tight_mask(pair: tuple[np.ndarray, np.ndarray]) -> None:
    tight, loose = pair
    schedule = H.cumulative_schedule(tight, loose, 11)
    distance = ndimage.distance_transform_edt(~tight)  # an independent exact reference
    reach = distance[loose].max()
    expected = loose & (distance <= 0.5 * reach)
    assert (schedule[5] != expected).mean() < 1e-3


def test_schedule_partial_growth_and_single_step(pair: tuple[np.ndarray, np.ndarray]) -> None:
    tight, loose = pair
    partial = H.cumulative_schedule(tight, loose, 5, start=0.2, end=0.6)
    full = H.cumulative_schedule(tight, loose, 11)
    assert np.array_equal(partial[0], full[2]) and np.array_equal(partial[-1], full[6])
    (only,) = H.cumulative_schedule(tight, loose, 1)
    assert np.array_equal(only, loose)
    # A loose mask not containing the tight one: the schedule stays inside their union.
    shifted = np.roll(loose, 40, axis=1)
    assert np.array_equal(H.cumulative_schedule(tight, shifted, 3)[-1], tight | shifted)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"steps": 0}, "steps"),
    ({"steps": 2.5}, "steps"),
    ({"start": -0.1}, "start"),
    ({"end": 1.5}, "end"),
    ({"start": 0.8, "end": 0.2}, "start"),
    ({"curve": "zigzag"}, "curve"),
])
def test_schedule_rejects_bad_arguments(pair: tuple[np.ndarray, np.ndarray], kwargs: dict, field: str) -> None:
    tight, loose = pair
    arguments = {"steps": 10} | kwargs
    with pytest.raises(InvalidInput) as error:
        H.cumulative_schedule(tight, loose, **arguments)
    assert error.value.field == field and str(list(kwargs.values())[-1])[:3] in str(error.value)


def test_schedule_rejects_mismatched_or_empty_masks(pair: tuple[np.ndarray, np.ndarray]) -> None:
    tight, loose = pair
    with pytest.raises(InvalidInput) as error:
        H.cumulative_schedule(tight, loose[:-1], 10)
    assert error.value.field == "loose"
    with pytest.raises(InvalidInput) as error:
        H.cumulative_schedule(np.zeros_like(tight), loose, 10)
    assert error.value.field == "tight"


def test_mask_strip(pair: tuple[np.ndarray, np.ndarray]) -> None:
    tight, loose = pair
    schedule = H.cumulative_schedule(tight, loose, 30)
    strip = H.mask_strip(schedule, n=8, height=96)
    tile = round(tight.shape[1] * 96 / tight.shape[0])
    assert strip.mode == "RGB" and strip.width == 8 * tile and strip.height > 96
    assert H.mask_strip(schedule[:3], n=8).width == 3 * tile
    with pytest.raises(InvalidInput, match="schedule"):
        H.mask_strip([])
