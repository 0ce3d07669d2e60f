"""Measured face attributes from MediaPipe's 478-point face mesh: head pose, eye openness, mouth openness, a
geometric smile, iris gaze in the head frame, the face box, count and proportions, each with the landmarks behind it.

Every number here is geometry, not a learned label, and every threshold is a heuristic (the sources are cited next
to each constant); answers built on them state the measured value and the threshold.

Frames: landmarks come in image pixels (x right, y down, z depth scaled like x, smaller = nearer). They are turned
into the canonical model's frame (x towards the subject's left, y up, z towards the camera) by flipping y and z, and
the head pose is the weighted rigid (Umeyama / Procrustes) alignment of MediaPipe's canonical face model to them,
with MediaPipe's own 33 Procrustes weights. Points are then expressed in the head frame, so eye and mouth measures
and the gaze do not depend on how the head is turned.

Sides are the subject's: "right eye" is the person's right eye, on the image's left in an ordinary photo.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from backends.vision.detectors import Detectors, Face, FaceMesh, ImageLike, as_rgb_array
from backends.vision.face_model import CANONICAL_VERTICES, PROCRUSTES_WEIGHTS

# --------------------------------------------------------------------------------------------------------------------
# Landmark indices (mediapipe/python/solutions/face_mesh_connections.py; "right" = the subject's right)
# --------------------------------------------------------------------------------------------------------------------
#: Eye-aspect-ratio points p1..p6 per eye (Soukupova & Cech 2016): outer/inner corner and two lid pairs.
EAR_POINTS = MappingProxyType({"right": (33, 160, 158, 133, 153, 144), "left": (362, 385, 387, 263, 373, 380)})
#: Eye corners (outer, inner), lid centres (upper, lower) and iris centre per eye, for the gaze.
EYE_CORNERS = MappingProxyType({"right": (33, 133), "left": (263, 362)})
EYE_LIDS = MappingProxyType({"right": (159, 145), "left": (386, 374)})
IRIS = MappingProxyType({"right": (468, 469, 470, 471, 472), "left": (473, 474, 475, 476, 477)})
#: Inner-lip pairs (upper, lower) and the inner corners of the mouth-aspect ratio.
MAR_PAIRS = ((81, 178), (13, 14), (311, 402))
MAR_CORNERS = (78, 308)
MOUTH_CORNERS = (61, 291)  # outer corners, for the smile
LIP_CENTRE = (13, 14)
FOREHEAD, CHIN, NOSE_TIP, CHEEKS = 10, 152, 1, (234, 454)

# --------------------------------------------------------------------------------------------------------------------
# Heuristic thresholds (stated in every answer)
# --------------------------------------------------------------------------------------------------------------------
#: Eye open at EAR >= this. Blink detectors on 2D MediaPipe landmarks use 0.2-0.25 (preprints.org 202410.0131);
#: measured in the head frame, the open eyes of the 25 HaGRID fixture photos (and their mirror images) ranged
#: 0.10-0.37, closed eyes sit near 0.05. Single-frame EAR confuses squints and downward looks with closed eyes and
#: varies per person.
EAR_OPEN = 0.15
#: Mouth open at MAR >= this (inner lips; closed lips measure ~0-0.05, speech ~0.1-0.3).
MAR_OPEN = 0.25
#: Smile when the outer mouth corners sit above the inner-lip centre by this fraction of the mouth width, in the
#: head frame (MediaPipe's neutral canonical face measures -0.015; the fixture photos' closed mouths -0.10..+0.05,
#: the smiling astronaut +0.11), or the mouth is this much wider (against the inter-ocular width) than neutral.
SMILE_LIFT = 0.06
SMILE_WIDTH = 1.15
#: Head turned (yaw), nodding (pitch) or tilted (roll) beyond these many degrees; "frontal" within them.
FRONTAL_DEG = 15.0
TILT_DEG = 10.0
#: Irises off-centre by this fraction of the eye width (head frame) count as looking aside / up / down.
GAZE_SIDE = 0.08
GAZE_VERTICAL = 0.08
#: Beyond this yaw the far eye is hidden: its EAR and the gaze are not measured.
PROFILE_YAW = 40.0
#: Beyond this yaw the mesh is mostly guessed: only the box and the pose are reported.
EXTREME_YAW = 65.0
#: Faces narrower than this are not measured; narrower than SMALL_FACE_PX get a low-resolution warning (the mesh
#: model works on a 192x192 crop).
MIN_FACE_PX = 32
SMALL_FACE_PX = 80

_CANONICAL = np.asarray(CANONICAL_VERTICES, dtype=np.float64)
_WEIGHT_IDS = np.asarray([i for i, _ in PROCRUSTES_WEIGHTS])
_WEIGHTS = np.asarray([w for _, w in PROCRUSTES_WEIGHTS], dtype=np.float64)
_FLIP = np.array([1.0, -1.0, -1.0])  # image (x right, y down, z away) -> model frame (x, y up, z towards camera)


@dataclass(frozen=True)
class HeadPose:
    """The head's rotation relative to the camera.

    Attributes:
        yaw: degrees; positive when the nose points towards the image's right (the subject turns to their left).
        pitch: degrees; positive when the nose points up (chin raised).
        roll: degrees; positive when the head tilts counter-clockwise in the image (top of the head towards the
            image's left).
        rotation: ``(3, 3)`` rotation of the canonical model into the camera frame (x right, y up, z towards the
            camera); the angles decompose it as ``Ry(yaw) @ Rx(-pitch) @ Rz(roll)`` (intrinsic Y-X-Z).
        scale: pixels per canonical centimetre.
        translation: ``(3,)`` where the model's origin lands, in flipped image pixels.
        residual: root-mean-square distance between the fitted model and the weighted landmarks, in centimetres.
    """

    yaw: float
    pitch: float
    roll: float
    rotation: np.ndarray
    scale: float
    translation: np.ndarray
    residual: float

    def to_head(self, points: np.ndarray) -> np.ndarray:
        """Image-pixel landmarks ``(N, 3)`` in the head frame (canonical centimetres: x subject's left, y up)."""
        return ((points * _FLIP - self.translation) @ self.rotation) / self.scale

    def to_image(self, head_points: np.ndarray) -> np.ndarray:
        """Head-frame points ``(N, 3)`` back into image pixels."""
        return (self.scale * head_points @ self.rotation.T + self.translation) * _FLIP


@dataclass(frozen=True)
class FaceMeasures:
    """What was measured on one face, and what could not be.

    Attributes:
        index: 1-based position, left to right.
        box: ``(x0, y0, x1, y1)`` pixels.
        score: the detector's confidence (None when only the mesh found the face).
        landmarks: ``(478, 3)`` image pixels, or None when the mesh could not be fitted or was not trusted.
        pose: the head pose, or None.
        ear: eye aspect ratio per eye (``"right"``, ``"left"``); an eye is missing when it could not be measured.
        mar: mouth aspect ratio (inner lips), or None.
        smile: ``corner_lift`` (mouth corners above the lip centre, fraction of mouth width) and ``width_ratio``
            (mouth width over inter-ocular width, relative to the canonical face), or empty.
        gaze: per eye ``(horizontal, vertical)`` iris offsets from the eye centre in eye widths, head frame
            (horizontal positive towards the image's right on a frontal face, vertical positive up), and their mean.
        proportions: face ratios in the head frame.
        unmeasured: attribute -> why it was not measured.
        warnings: caveats that apply to all numbers of this face.
    """

    index: int
    box: tuple[int, int, int, int]
    score: float | None
    landmarks: np.ndarray | None
    pose: HeadPose | None = None
    ear: dict[str, float] = field(default_factory=dict)
    mar: float | None = None
    smile: dict[str, float] = field(default_factory=dict)
    gaze: dict[str, tuple[float, float]] = field(default_factory=dict)
    proportions: dict[str, float] = field(default_factory=dict)
    unmeasured: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def width(self) -> int:
        """Box width in pixels."""
        return self.box[2] - self.box[0]

    @property
    def area(self) -> int:
        """Box area in pixels."""
        return self.width * (self.box[3] - self.box[1])

    # Verdicts: None when the attribute was not measured.
    def eye_open(self, side: str) -> bool | None:
        """Whether the subject's ``side`` eye is open (EAR >= ``EAR_OPEN``)."""
        return None if side not in self.ear else self.ear[side] >= EAR_OPEN

    def mouth_open(self) -> bool | None:
        """Whether the mouth is open (MAR >= ``MAR_OPEN``)."""
        return None if self.mar is None else self.mar >= MAR_OPEN

    def smiling(self) -> bool | None:
        """Geometric smile: corners lifted by ``SMILE_LIFT`` or the mouth ``SMILE_WIDTH`` times its neutral width."""
        if not self.smile:
            return None
        return self.smile["corner_lift"] >= SMILE_LIFT or self.smile["width_ratio"] >= SMILE_WIDTH

    def gaze_direction(self) -> tuple[str, str] | None:
        """Coarse iris direction in the head frame: (``left``/``centre``/``right`` as seen in the image,
        ``up``/``centre``/``down``), or None."""
        if "mean" not in self.gaze:
            return None
        h, v = self.gaze["mean"]
        horizontal = "centre" if abs(h) < GAZE_SIDE else ("right" if h > 0 else "left")
        vertical = "centre" if abs(v) < GAZE_VERTICAL else ("up" if v > 0 else "down")
        return horizontal, vertical

    def to_dict(self, image_size: tuple[int, int]) -> dict[str, Any]:
        """The measurements as JSON-ready data, with each verdict's threshold."""
        width, height = image_size
        data: dict[str, Any] = {
            "index": self.index,
            "box": list(self.box),
            "score": None if self.score is None else round(self.score, 3),
            "box_fraction": round(self.area / max(1, width * height), 4),
            "measured": self.landmarks is not None,
            "unmeasured": dict(self.unmeasured),
            "warnings": list(self.warnings),
        }
        if self.pose is not None:
            data["pose"] = {"yaw": round(self.pose.yaw, 1), "pitch": round(self.pose.pitch, 1),
                            "roll": round(self.pose.roll, 1), "fit_residual_cm": round(self.pose.residual, 3),
                            "frontal": abs(self.pose.yaw) < FRONTAL_DEG and abs(self.pose.pitch) < FRONTAL_DEG,
                            "threshold_deg": FRONTAL_DEG, "tilt_threshold_deg": TILT_DEG,
                            "convention": "yaw + = nose to image right; pitch + = nose up; roll + = counter-clockwise"}
        if self.ear:
            data["eyes"] = {side: {"ear": round(value, 3), "open": value >= EAR_OPEN}
                            for side, value in self.ear.items()}
            data["eyes"]["threshold"] = EAR_OPEN
        if self.mar is not None:
            data["mouth"] = {"mar": round(self.mar, 3), "open": self.mar >= MAR_OPEN, "threshold": MAR_OPEN}
        if self.smile:
            data["smile"] = {"corner_lift": round(self.smile["corner_lift"], 3),
                             "width_ratio": round(self.smile["width_ratio"], 3), "smiling": self.smiling(),
                             "laughing": bool(self.smiling() and self.mouth_open()),
                             "threshold_lift": SMILE_LIFT, "threshold_width": SMILE_WIDTH}
        if self.gaze:
            direction = self.gaze_direction()
            data["gaze"] = {key: [round(v, 3) for v in value] for key, value in self.gaze.items()}
            if direction is not None:
                data["gaze"]["direction"] = list(direction)
            data["gaze"]["threshold_side"], data["gaze"]["threshold_vertical"] = GAZE_SIDE, GAZE_VERTICAL
        if self.proportions:
            data["proportions"] = {key: round(value, 3) for key, value in self.proportions.items()}
        return data


# --------------------------------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------------------------------
def head_pose(landmarks: np.ndarray) -> HeadPose:
    """Weighted rigid alignment (rotation, uniform scale, translation) of the canonical model to the landmarks:
    Umeyama's closed form (IEEE TPAMI 13(4), 1991) with MediaPipe's Procrustes weights.

    Args:
        landmarks: ``(>=468, 3)`` face-mesh landmarks in image pixels.
    """
    observed = np.asarray(landmarks, dtype=np.float64)[_WEIGHT_IDS] * _FLIP
    model = _CANONICAL[_WEIGHT_IDS]
    weights = _WEIGHTS / _WEIGHTS.sum()
    obs_mean, model_mean = weights @ observed, weights @ model
    obs_c, model_c = observed - obs_mean, model - model_mean
    # The rotation taking the centred model onto the centred observation: SVD of the weighted cross-covariance,
    # with the reflection case folded back into a rotation.
    u, _, vt = np.linalg.svd((weights[:, None] * obs_c).T @ model_c)
    matrix = u @ np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))]) @ vt
    rotated = model_c @ matrix.T
    scale = float((weights * (rotated * obs_c).sum(axis=1)).sum() / (weights * (rotated**2).sum(axis=1)).sum())
    translation = obs_mean - scale * model_mean @ matrix.T
    residual = math.sqrt(float((weights * ((obs_c / scale - rotated) ** 2).sum(axis=1)).sum()))
    # R = Ry(yaw) Rx(x) Rz(roll) (intrinsic Y-X-Z): R[1,2] = -sin x, R[0,2] / R[2,2] = tan yaw, R[1,0] / R[1,1] =
    # tan roll. The nose points along R's third column, so pitch (nose up) is -x.
    x_angle = math.degrees(math.asin(max(-1.0, min(1.0, -matrix[1, 2]))))
    yaw = math.degrees(math.atan2(matrix[0, 2], matrix[2, 2]))
    roll = math.degrees(math.atan2(matrix[1, 0], matrix[1, 1]))
    return HeadPose(yaw, -x_angle, roll, matrix, scale, translation, residual)


def _ear(points: np.ndarray, ids: Sequence[int]) -> float:
    p1, p2, p3, p4, p5, p6 = (points[i] for i in ids)
    return float((np.linalg.norm(p2 - p6) + np.linalg.norm(p3 - p5)) / (2 * np.linalg.norm(p1 - p4)))


def _mar(points: np.ndarray) -> float:
    vertical = sum(np.linalg.norm(points[a] - points[b]) for a, b in MAR_PAIRS)
    return float(vertical / (3 * np.linalg.norm(points[MAR_CORNERS[0]] - points[MAR_CORNERS[1]])))


def _smile(head: np.ndarray) -> dict[str, float]:
    left, right = head[MOUTH_CORNERS[0]], head[MOUTH_CORNERS[1]]
    width = float(np.linalg.norm(left[:2] - right[:2]))
    centre_y = float(head[list(LIP_CENTRE), 1].mean())
    eyes = float(np.linalg.norm(head[EYE_CORNERS["right"][0], :2] - head[EYE_CORNERS["left"][0], :2]))
    neutral = _NEUTRAL_MOUTH_OVER_EYES
    return {"corner_lift": ((left[1] + right[1]) / 2 - centre_y) / width, "width_ratio": width / eyes / neutral}


def _gaze(head: np.ndarray, side: str) -> tuple[float, float]:
    outer, inner = head[EYE_CORNERS[side][0]], head[EYE_CORNERS[side][1]]
    upper, lower = head[EYE_LIDS[side][0]], head[EYE_LIDS[side][1]]
    iris = head[IRIS[side][0]]
    eye_width = float(np.linalg.norm(outer[:2] - inner[:2]))
    h = (iris[0] - (outer[0] + inner[0]) / 2) / eye_width
    v = (iris[1] - (upper[1] + lower[1]) / 2) / eye_width
    return float(h), float(v)


def _proportions(head: np.ndarray) -> dict[str, float]:
    face_width = float(np.linalg.norm(head[CHEEKS[0], :2] - head[CHEEKS[1], :2]))
    face_height = float(np.linalg.norm(head[FOREHEAD, :2] - head[CHIN, :2]))
    eyes = float(np.linalg.norm(head[EYE_CORNERS["right"][1], :2] - head[EYE_CORNERS["left"][1], :2]))
    mouth = float(np.linalg.norm(head[MOUTH_CORNERS[0], :2] - head[MOUTH_CORNERS[1], :2]))
    return {"height_over_width": face_height / face_width, "inner_eye_gap_over_width": eyes / face_width,
            "mouth_over_width": mouth / face_width,
            "chin_to_mouth_over_height": float(head[list(LIP_CENTRE), 1].mean() - head[CHIN, 1]) / face_height}


def _neutral_mouth_over_eyes() -> float:
    c = _CANONICAL
    mouth = np.linalg.norm(c[MOUTH_CORNERS[0], :2] - c[MOUTH_CORNERS[1], :2])
    eyes = np.linalg.norm(c[EYE_CORNERS["right"][0], :2] - c[EYE_CORNERS["left"][0], :2])
    return float(mouth / eyes)


_NEUTRAL_MOUTH_OVER_EYES = _neutral_mouth_over_eyes()


def measure(index: int, box: tuple[int, int, int, int], score: float | None,
            landmarks: np.ndarray | None) -> FaceMeasures:
    """Measure one face from its mesh (``landmarks``), saying what could not be measured and why.

    Args:
        index: 1-based position, left to right.
        box: the face box in pixels.
        score: detector confidence (None when only the mesh found it).
        landmarks: ``(478, 3)`` pixels, or None when the mesh could not be fitted.
    """
    attributes = ("pose", "eyes", "mouth", "smile", "gaze", "proportions")
    width = box[2] - box[0]
    if landmarks is None:
        why = "the face mesh could not be fitted (a profile, an occluded or blurred face)"
        return FaceMeasures(index, box, score, None, unmeasured=dict.fromkeys(attributes, why))
    if width < MIN_FACE_PX:
        why = f"the face is only {width} px wide; landmarks need at least {MIN_FACE_PX} px"
        return FaceMeasures(index, box, score, None, unmeasured=dict.fromkeys(attributes, why))
    points = np.asarray(landmarks, dtype=np.float64)
    pose = head_pose(points)
    head = pose.to_head(points)
    warnings: list[str] = []
    if width < SMALL_FACE_PX:
        warnings.append(f"low resolution: the face is {width} px wide (under {SMALL_FACE_PX} px the landmarks "
                        f"are coarse)")
    unmeasured: dict[str, str] = {}
    if abs(pose.yaw) >= EXTREME_YAW:
        why = f"the head is turned {abs(pose.yaw):.0f}° (a profile): the far side of the face is not visible"
        unmeasured = dict.fromkeys(("eyes", "mouth", "smile", "gaze", "proportions"), why)
        return FaceMeasures(index, box, score, _readonly(points), pose, unmeasured=unmeasured,
                            warnings=tuple(warnings))
    # Distances in the head frame (centimetres): turning or nodding the head does not shrink them.
    ear = {side: _ear(head, ids) for side, ids in EAR_POINTS.items()}
    gaze = {side: _gaze(head, side) for side in ("right", "left")}
    if abs(pose.yaw) >= PROFILE_YAW:
        far = "left" if pose.yaw > 0 else "right"  # nose to the image's right: the subject's left side turns away
        del ear[far]
        why = f"the head is turned {abs(pose.yaw):.0f}°: the {far} eye is hidden"
        unmeasured["eyes"] = f"{far} eye: {why}"
        unmeasured["gaze"] = why
        gaze = {}
        warnings.append("turned head: mouth and smile are measured on a partly hidden mouth")
    else:
        gaze["mean"] = tuple(float(v) for v in np.mean([gaze["right"], gaze["left"]], axis=0))
    return FaceMeasures(index, box, score, _readonly(points), pose, ear=ear, mar=_mar(head), smile=_smile(head),
                        gaze=gaze, proportions=_proportions(head), unmeasured=unmeasured, warnings=tuple(warnings))


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float32)
    array.setflags(write=False)
    return array


# --------------------------------------------------------------------------------------------------------------------
# Detection + mesh -> measured faces
# --------------------------------------------------------------------------------------------------------------------
def analyze_faces(detectors: Detectors, image: ImageLike, max_faces: int = 8,
                  min_confidence: float = 0.5) -> list[FaceMeasures]:
    """Detect faces, fit the mesh to each and measure them; ordered left to right and numbered from 1.

    Two MediaPipe calls: full-range face detection (boxes and scores), then the face mesh with irises, which
    reuses those detections for faces its own short-range detector misses.

    Args:
        detectors: the shared MediaPipe wrapper.
        image: the image.
        max_faces: most faces to mesh (1 to 20).
        min_confidence: face-detection threshold in [0, 1].
    """
    pixels = as_rgb_array(image)
    height, width = pixels.shape[:2]
    found = detectors.faces(pixels, min_confidence=min_confidence)
    meshes: list[FaceMesh] = []
    if found:
        meshes = detectors.face_mesh(pixels, max_faces=min(max(len(found), 1), max_faces), detections=found)
    pairs = _pair(found, meshes)
    faces: list[tuple[tuple[int, int, int, int], float | None, np.ndarray | None]] = []
    for face, mesh in pairs:
        if face is not None:
            faces.append((face.box, face.score, None if mesh is None else mesh.landmarks))
        elif mesh is not None:  # the mesh's own detector found a face the full-range one missed
            (x0, y0), (x1, y1) = mesh.landmarks[:, :2].min(axis=0), mesh.landmarks[:, :2].max(axis=0)
            box = (max(0, int(x0)), max(0, int(y0)), min(width, int(math.ceil(x1))), min(height, int(math.ceil(y1))))
            faces.append((box, None, mesh.landmarks))
    faces.sort(key=lambda f: (f[0][0], f[0][1]))
    return [measure(i + 1, box, score, marks) for i, (box, score, marks) in enumerate(faces[:max_faces])]


def _pair(found: Sequence[Face], meshes: Sequence[FaceMesh]) -> list[tuple[Face | None, FaceMesh | None]]:
    """Match each detection to the mesh whose landmarks contain its box centre (nearest nose first)."""
    pairs: list[tuple[Face | None, FaceMesh | None]] = []
    free = list(meshes)
    for face in found:
        cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
        inside = [m for m in free if m.landmarks[:, 0].min() <= cx <= m.landmarks[:, 0].max()
                  and m.landmarks[:, 1].min() <= cy <= m.landmarks[:, 1].max()]
        mesh = min(inside, key=lambda m: math.dist(m.landmarks[NOSE_TIP, :2], (cx, cy)), default=None)
        if mesh is not None:
            free.remove(mesh)
        pairs.append((face, mesh))
    pairs.extend((None, m) for m in free)
    return pairs


def largest(faces: Sequence[FaceMeasures]) -> FaceMeasures | None:
    """The face with the largest box (the default choice when several are found)."""
    return max(faces, key=lambda f: f.area, default=None)
