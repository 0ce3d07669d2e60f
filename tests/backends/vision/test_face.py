"""Measured face attributes on real photos: one frontal face each, the mirror image flips yaw and roll, open eyes
measured open; the pose fit recovers known rotations of the canonical model; several, tiny and missing faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from backends.vision import face as geometry
from backends.vision import face_overlay
from backends.vision.detectors import Detectors
from backends.vision.face_model import CANONICAL_VERTICES, PROCRUSTES_WEIGHTS

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
# The six HaGRID fixture photos (other tests add more to the folder): one roughly frontal face each, eyes open.
PHOTOS = [FIXTURES / "photos" / f"hagrid_{name}.jpg" for name in ("call_0413d5c5", "call_044768ad", "four_06aa70cc",
                                                                  "four_105f8f8e", "none_00c84257", "none_0a0ef3d2")]
TURNED, TILTED, TINY = (FIXTURES / "faces" / name for name in ("hagrid_call_0e022ee9.jpg", "hagrid_call_1f5fb137.jpg",
                                                               "hagrid_four_25bb4c45.jpg"))


@pytest.fixture(scope="module")
def detectors():
    with Detectors() as shared:
        yield shared


def astronaut() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut())


def _only(detectors: Detectors, image) -> geometry.FaceMeasures:
    faces = geometry.analyze_faces(detectors, image)
    assert len(faces) == 1, [f.box for f in faces]
    return faces[0]


def test_the_canonical_table_is_complete() -> None:
    vertices = np.asarray(CANONICAL_VERTICES)
    assert vertices.shape == (468, 3)
    assert len(PROCRUSTES_WEIGHTS) == 33 and abs(sum(w for _, w in PROCRUSTES_WEIGHTS) - 1.055) < 1e-3
    # symmetric about x = 0: the subject's right eye corner (33) mirrors the left one (263)
    assert np.allclose(vertices[33] * [-1, 1, 1], vertices[263])


@pytest.mark.parametrize("yaw, pitch, roll", [(0, 0, 0), (30, 0, 0), (-20, 10, 5), (10, -25, -15), (50, 5, 20)])
def test_the_fit_recovers_a_known_rotation(yaw: float, pitch: float, roll: float) -> None:
    from scipy.spatial.transform import Rotation

    # The canonical face rotated (Ry(yaw) Rx(-pitch) Rz(roll)), scaled to pixels, moved and seen in image axes.
    rotation = Rotation.from_euler("YXZ", [yaw, -pitch, roll], degrees=True).as_matrix()
    model = np.asarray(CANONICAL_VERTICES) @ rotation.T * 12.0 + [300.0, -250.0, 0.0]
    pixels = model * [1, -1, -1]
    pose = geometry.head_pose(pixels)
    assert (pose.yaw, pose.pitch, pose.roll) == pytest.approx((yaw, pitch, roll), abs=1e-6)
    assert pose.scale == pytest.approx(12.0) and pose.residual < 1e-6
    assert np.allclose(pose.to_image(pose.to_head(pixels)), pixels)


@pytest.mark.parametrize("photo", PHOTOS, ids=lambda p: p.stem)
def test_each_photo_has_one_frontal_face_with_open_eyes(detectors: Detectors, photo: Path) -> None:
    face = _only(detectors, Image.open(photo))
    assert abs(face.pose.yaw) < 15 and abs(face.pose.pitch) < 25, (face.pose.yaw, face.pose.pitch)
    assert set(face.ear) == {"right", "left"} and face.eye_open("right") and face.eye_open("left"), face.ear
    assert not face.mouth_open() and not face.smiling()
    assert face.landmarks.shape == (478, 3) and not face.unmeasured
    x0, y0, x1, y1 = face.box
    nose = face.landmarks[geometry.NOSE_TIP]
    assert x0 <= nose[0] <= x1 and y0 <= nose[1] <= y1


def test_the_astronaut_smiles_with_open_eyes_facing_the_camera(detectors: Detectors) -> None:
    face = _only(detectors, astronaut())
    assert abs(face.pose.yaw) < 10 and face.eye_open("right") and face.eye_open("left")
    assert face.smiling() and face.smile["corner_lift"] > geometry.SMILE_LIFT
    report = face.to_dict((512, 512))
    assert report["smile"]["smiling"] and report["eyes"]["threshold"] == geometry.EAR_OPEN
    assert report["pose"]["frontal"] and "yaw +" in report["pose"]["convention"]


@pytest.mark.parametrize("photo", [TURNED, TILTED], ids=["turned", "tilted"])
def test_the_mirror_image_flips_yaw_and_roll(detectors: Detectors, photo: Path) -> None:
    image = Image.open(photo).convert("RGB")
    face, mirrored = _only(detectors, image), _only(detectors, ImageOps.mirror(image))
    big = "yaw" if photo == TURNED else "roll"
    assert abs(getattr(face.pose, big)) > 10  # a clear angle, so its sign is meaningful
    for angle in ("yaw", "roll"):
        a, b = getattr(face.pose, angle), getattr(mirrored.pose, angle)
        assert abs(a + b) < 5, (angle, a, b)  # opposite signs, same size
    assert np.sign(face.pose.yaw) != np.sign(mirrored.pose.yaw) and np.sign(face.pose.roll) != np.sign(
        mirrored.pose.roll)
    assert abs(face.pose.pitch - mirrored.pose.pitch) < 5  # pitch does not change
    assert np.sign(face.gaze["mean"][0]) != np.sign(mirrored.gaze["mean"][0])  # the irises flip too


def test_the_turned_head_is_reported_as_turned_towards_the_image_right(detectors: Detectors) -> None:
    face = _only(detectors, Image.open(TURNED))
    assert face.pose.yaw > 15  # the person turns to their left: the nose points to the image's right


def test_several_faces_the_largest_and_a_choice(detectors: Detectors) -> None:
    big = astronaut()
    small = Image.open(PHOTOS[0]).convert("RGB")
    canvas = Image.new("RGB", (big.width + small.width, max(big.height, small.height)), "white")
    canvas.paste(small, (0, 0))
    canvas.paste(big, (small.width, 0))
    faces = geometry.analyze_faces(detectors, canvas)
    assert len(faces) == 2 and [f.index for f in faces] == [1, 2]
    assert faces[0].box[0] < faces[1].box[0]  # numbered left to right
    assert geometry.largest(faces) is faces[1]
    overlay = face_overlay.overlay(canvas, faces, chosen=2)
    assert overlay.size == canvas.size and np.asarray(overlay).tobytes() != np.asarray(canvas).tobytes()


def test_a_tiny_face_is_boxed_but_not_measured(detectors: Detectors) -> None:
    [face] = geometry.analyze_faces(detectors, Image.open(TINY))
    assert face.width < geometry.MIN_FACE_PX and face.landmarks is None and face.pose is None
    assert "px wide" in face.unmeasured["eyes"] and face.eye_open("left") is None
    assert face.to_dict((384, 512))["measured"] is False


def test_a_small_face_is_measured_with_a_warning() -> None:
    face = geometry.measure(1, (0, 0, 50, 60), 0.9, _canonical_pixels(3.0))
    assert face.pose is not None and any("low resolution" in w for w in face.warnings)


def test_a_profile_says_what_cannot_be_measured() -> None:
    from scipy.spatial.transform import Rotation

    rotation = Rotation.from_euler("YXZ", [50, 0, 0], degrees=True).as_matrix()
    pixels = (np.asarray(CANONICAL_VERTICES) @ rotation.T * 15 + [200, -200, 0]) * [1, -1, -1]
    face = geometry.measure(1, (80, 60, 320, 340), 0.9, np.vstack([pixels, pixels[:10]]))
    assert face.pose.yaw == pytest.approx(50, abs=1e-3)
    assert set(face.ear) == {"right"} and "left eye" in face.unmeasured["eyes"]  # the subject's left turned away
    assert "gaze" in face.unmeasured and face.gaze_direction() is None
    extreme = geometry.measure(1, (80, 60, 320, 340), 0.9, np.vstack([_rotated(80), _rotated(80)[:10]]))
    assert extreme.pose is not None and not extreme.ear and "profile" in extreme.unmeasured["mouth"]


def test_no_face(detectors: Detectors) -> None:
    wall = Image.new("RGB", (320, 240), (190, 190, 180))
    assert geometry.analyze_faces(detectors, wall) == []
    assert geometry.largest([]) is None


def test_the_mesh_reuses_the_detections(detectors: Detectors) -> None:
    # face_mesh(detections=...) crops around the given faces instead of detecting again: same meshes either way.
    image = np.asarray(Image.open(PHOTOS[2]).convert("RGB"))
    found = detectors.faces(image)
    again = detectors.face_mesh(image, max_faces=2, detections=found)
    alone = detectors.face_mesh(image, max_faces=2)
    assert len(again) == len(alone) >= 1
    assert np.allclose(again[0].landmarks, alone[0].landmarks)
    # This face is too small for the mesh's own short-range detector: with no detections given, nothing is meshed,
    # so the meshes above came from the detections passed in.
    assert detectors.face_mesh(image, max_faces=2, detections=[]) == []


def _rotated(yaw: float) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    rotation = Rotation.from_euler("YXZ", [yaw, 0, 0], degrees=True).as_matrix()
    return (np.asarray(CANONICAL_VERTICES) @ rotation.T * 15 + [200, -200, 0]) * [1, -1, -1]


def _canonical_pixels(scale: float) -> np.ndarray:
    pixels = (np.asarray(CANONICAL_VERTICES) * scale + [25, -30, 0]) * [1, -1, -1]
    return np.vstack([pixels, pixels[:10]])  # 478 points; the irises' values do not matter here
