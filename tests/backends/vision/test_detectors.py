"""mediapipe's legacy solutions behind ``backends.detectors.Detectors``, on real HaGRID photos (fixtures/photos)."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backends.core.errors import InvalidInput
from backends.core.imaging import load_image
from backends.vision.detectors import Detectors, Hand, as_rgb_array

ROOT = Path(__file__).resolve().parents[3]
PHOTOS = ROOT / "tests" / "fixtures" / "photos"
GESTURES = ("hagrid_call_0413d5c5", "hagrid_call_044768ad", "hagrid_four_06aa70cc", "hagrid_four_105f8f8e")
NO_GESTURE = ("hagrid_none_00c84257", "hagrid_none_0a0ef3d2")


def photo(name: str) -> Image.Image:
    return load_image(PHOTOS / f"{name}.jpg")


@pytest.fixture(scope="module")
def detectors() -> Detectors:
    with Detectors() as shared:
        yield shared


def assert_hand_geometry(hand: Hand, size: tuple[int, int]) -> None:
    width, height = size
    x0, y0, x1, y1 = hand.box
    assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    assert hand.landmarks.shape == (21, 3) and hand.landmarks.dtype == np.float32
    assert not hand.landmarks.flags.writeable
    assert hand.handedness in ("Left", "Right")
    assert 0.0 <= hand.score <= 1.0
    # Landmarks inside their box, except where the hand runs off the image (mediapipe extrapolates past the border).
    xy = np.clip(hand.landmarks[:, :2], 0, (width, height))
    assert (xy[:, 0] >= x0).all() and (xy[:, 0] <= x1).all() and (xy[:, 1] >= y0).all() and (xy[:, 1] <= y1).all()


# --------------------------------------------------------------------------------------------------------------------
# Hands
# --------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", GESTURES)
def test_one_confident_hand_on_each_gesture_photo(detectors: Detectors, name: str) -> None:
    image = photo(name)
    hands = detectors.hands(image)
    assert len(hands) == 1
    assert hands[0].score > 0.9  # 0.94-0.99 on these photos
    assert_hand_geometry(hands[0], image.size)
    # The hand sits on the gesture: its box is a hand's size, not the whole image.
    x0, y0, x1, y1 = hands[0].box
    assert (x1 - x0) * (y1 - y0) < 0.1 * image.width * image.height


def test_photos_without_the_gesture_still_show_hands(detectors: Detectors) -> None:
    # HaGRID's "none" class shows people not making a gesture; their hands are often visible anyway. On these two
    # photos mediapipe finds two hands each; one of them runs off the bottom edge.
    for name in NO_GESTURE:
        image = photo(name)
        hands = detectors.hands(image)
        assert len(hands) == 2
        for hand in hands:
            assert hand.score > 0.5
            assert_hand_geometry(hand, image.size)
        assert [h.box[0] for h in hands] == sorted(h.box[0] for h in hands)  # left to right
    cut = detectors.hands(photo("hagrid_none_0a0ef3d2"))[1]
    assert cut.box[3] == 512 and cut.landmarks[:, 1].max() > 512  # clipped box, unclipped landmarks


def test_array_and_pil_inputs_give_the_same_hands(detectors: Detectors) -> None:
    image = photo("hagrid_four_06aa70cc")
    from_pil, from_array = detectors.hands(image), detectors.hands(np.asarray(image))
    assert [h.box for h in from_pil] == [h.box for h in from_array]
    np.testing.assert_array_equal(from_pil[0].landmarks, from_array[0].landmarks)


def test_max_hands_limits_the_count(detectors: Detectors) -> None:
    assert len(detectors.hands(photo("hagrid_none_00c84257"), max_hands=1)) == 1


def test_blank_image_has_no_hands(detectors: Detectors) -> None:
    assert detectors.hands(Image.new("RGB", (320, 240), "white")) == []


@pytest.mark.parametrize("image", [
    Image.new("RGBA", (64, 48), (10, 20, 30, 0)),
    Image.new("L", (64, 48), 128),
    Image.new("1", (64, 48)),
    Image.new("I;16", (64, 48), 30000),
    Image.new("RGB", (20, 20)),
    Image.new("RGB", (2000, 40), "gray"),
    Image.new("RGB", (1, 1)),
    np.zeros((30, 40), dtype=np.uint8),
    np.zeros((30, 40, 4), dtype=np.uint8),
    np.full((30, 40, 3), 0.5, dtype=np.float32),
], ids=["rgba", "grey", "1bit", "16bit", "tiny", "very-wide", "1x1", "grey-array", "rgba-array", "float-array"])
def test_odd_modes_and_sizes_do_not_crash(detectors: Detectors, image: Image.Image | np.ndarray) -> None:
    assert detectors.hands(image) == []
    assert detectors.faces(image) == []
    assert detectors.selfie_mask(image).shape == as_rgb_array(image).shape[:2]


def test_alpha_is_composited_before_detection(detectors: Detectors) -> None:
    rgba = photo("hagrid_four_06aa70cc").convert("RGBA")
    hands = detectors.hands(rgba)
    assert len(hands) == 1 and hands[0].score > 0.9


@pytest.mark.parametrize(("value", "field"), [
    ("not an image", "image"),
    (np.zeros((0, 10, 3), np.uint8), "image"),
    (np.zeros((4, 4, 5), np.uint8), "image"),
])
def test_bad_images_raise_invalid_input(detectors: Detectors, value: object, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        detectors.hands(value)
    assert error.value.field == field


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"max_hands": 0}, "max_hands"),
    ({"max_hands": 2.5}, "max_hands"),
    ({"min_confidence": 1.5}, "min_confidence"),
    ({"min_confidence": float("nan")}, "min_confidence"),
])
def test_bad_hand_settings_raise_invalid_input(detectors: Detectors, kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        detectors.hands(Image.new("RGB", (32, 32)), **kwargs)
    assert error.value.field == field


# --------------------------------------------------------------------------------------------------------------------
# Faces, face mesh, selfie segmentation, pose
# --------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", GESTURES + NO_GESTURE)
def test_one_face_per_photo(detectors: Detectors, name: str) -> None:
    image = photo(name)
    faces = detectors.faces(image)
    assert len(faces) == 1
    face = faces[0]
    assert face.score > 0.7
    x0, y0, x1, y1 = face.box
    assert 0 <= x0 < x1 <= image.width and 0 <= y0 < y1 <= image.height
    assert face.keypoints.shape == (6, 2)
    eyes = face.keypoints[:2]
    assert ((eyes[:, 0] >= x0) & (eyes[:, 0] <= x1) & (eyes[:, 1] >= y0) & (eyes[:, 1] <= y1)).all()


@pytest.mark.parametrize("name", GESTURES + NO_GESTURE)
def test_face_mesh_lies_on_the_face(detectors: Detectors, name: str) -> None:
    # Most of these faces are too small for face mesh's own short-range detector: the crop fallback meshes them.
    image = photo(name)
    (face,) = detectors.faces(image)
    (mesh,) = detectors.face_mesh(image)
    assert mesh.landmarks.shape == (478, 3)
    x0, y0, x1, y1 = face.box
    nose = mesh.landmarks[1, :2]  # mesh point 1 is the nose tip
    assert x0 <= nose[0] <= x1 and y0 <= nose[1] <= y1


def test_face_mesh_finds_nothing_on_a_blank_image(detectors: Detectors) -> None:
    assert detectors.face_mesh(Image.new("RGB", (64, 64))) == []


def test_selfie_mask_covers_the_person(detectors: Detectors) -> None:
    image = photo("hagrid_four_06aa70cc")
    mask = detectors.selfie_mask(image)
    assert mask.shape == (image.height, image.width) and mask.dtype == np.float32
    assert mask.min() >= 0.0 and mask.max() <= 1.0
    (face,) = detectors.faces(image)
    x0, y0, x1, y1 = face.box
    assert mask[y0:y1, x0:x1].mean() > 0.8  # the face is part of the person
    assert mask[:, :10].mean() < 0.5  # the side of the frame is background here


def test_pose_landmarks(detectors: Detectors) -> None:
    image = photo("hagrid_four_06aa70cc")
    pose = detectors.pose(image)
    assert pose is not None and pose.landmarks.shape == (33, 4)
    (face,) = detectors.faces(image)
    x0, y0, x1, y1 = face.box
    nose = pose.landmarks[0]
    assert x0 <= nose[0] <= x1 and y0 <= nose[1] <= y1 and nose[3] > 0.9  # visible nose on the face
    assert detectors.pose(Image.new("RGB", (64, 64))) is None


# --------------------------------------------------------------------------------------------------------------------
# Laziness, caching, threads, closing
# --------------------------------------------------------------------------------------------------------------------
def test_import_and_construction_do_not_load_mediapipe() -> None:
    code = ("import sys; from backends.vision.detectors import Detectors; d = Detectors(); "
            "assert 'mediapipe' not in sys.modules, 'mediapipe imported'; assert d.loaded() == []")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_hand_variants_are_cached_and_bounded() -> None:
    image = photo("hagrid_four_06aa70cc")
    with Detectors(max_variants=2) as detectors:
        detectors.hands(image, max_hands=1)
        detectors.hands(image, max_hands=1)
        detectors.selfie_mask(image)
        assert detectors.loaded() == [("hands", (1, 0.3)), ("selfie", None)]
        detectors.hands(image, max_hands=2)
        detectors.hands(image, max_hands=3)  # evicts (1, 0.3), the least recently used hands variant
        assert detectors.loaded() == [("selfie", None), ("hands", (2, 0.3)), ("hands", (3, 0.3))]
    with pytest.raises(RuntimeError, match="closed"):
        detectors.hands(image)


def test_concurrent_calls_match_sequential_ones(detectors: Detectors) -> None:
    images = [photo(name) for name in GESTURES + NO_GESTURE]
    expected = [[(h.box, h.landmarks.tobytes()) for h in detectors.hands(im)] for im in images]
    expected_faces = [[f.box for f in detectors.faces(im)] for im in images]
    jobs = [(kind, i) for _ in range(3) for i in range(len(images)) for kind in ("hands", "faces", "variant")]

    def run(job: tuple[str, int]) -> tuple[str, int, object]:
        kind, i = job
        if kind == "faces":
            return kind, i, [f.box for f in detectors.faces(images[i])]
        # A second hands variant in flight at the same time exercises the per-variant locks.
        found = detectors.hands(images[i], max_hands=4 if kind == "hands" else 3)
        return kind, i, [(h.box, h.landmarks.tobytes()) for h in found]

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(run, jobs))
    for kind, i, got in results:
        assert got == (expected_faces[i] if kind == "faces" else expected[i]), (kind, i)
