"""Automatic garment ("agnostic") masks for virtual try-on from mediapipe alone: no human parser, no download.

Mask-based try-on models (CatVTON, IDM-VTON, OOTDiffusion, Leffa) repaint the region a garment of a category may
cover. Their pipelines draw it from a human parser (SCHP / ATR / LIP) plus DensePose or OpenPose; none of those ships
offline, so this masker keeps the geometric half of that recipe (IDM-VTON's arm lines and torso polygon, CatVTON's
dilation and hole filling) and takes the rest from what the mediapipe wheel bundles:

* Pose (``model_complexity=1``, the only model in the wheel) with its segmentation mask: shoulders, elbows, wrists,
  hips, knees and ankles drive the garment region; the mask bounds it to this person;
* selfie segmentation: a second silhouette that fills what the pose mask misses near the person;
* the face mesh (or Pose's face points when no mesh is found): the face is protected, as are the hands (Pose's
  wrist, thumb, index and pinky points) and the body parts the category does not cover.

What it cannot tell, having no garment classes: the current garment from skin (sleeve, trouser and dress length are
guessed from the skeleton, so a short-sleeved garment still gets the whole arm), hair over the shoulders (masked
and repainted), accessories (bags, belts, scarves), and more than one person at a time (the largest is used).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from backends.core.errors import InvalidInput
from backends.vision.detectors import Detectors, Face, ImageLike, as_rgb_array

CATEGORIES = ("upper", "lower", "overall")
LANDMARKS = MappingProxyType({
    "nose": 0, "left_ear": 7, "right_ear": 8, "left_shoulder": 11, "right_shoulder": 12, "left_elbow": 13,
    "right_elbow": 14, "left_wrist": 15, "right_wrist": 16, "left_pinky": 17, "right_pinky": 18, "left_index": 19,
    "right_index": 20, "left_thumb": 21, "right_thumb": 22, "left_hip": 23, "right_hip": 24, "left_knee": 25,
    "right_knee": 26, "left_ankle": 27, "right_ankle": 28,
})
# Which landmarks draw which category's region (reported back as "landmarks used").
USES = MappingProxyType({
    "upper": ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
              "left_hip", "right_hip"),
    "lower": ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_shoulder",
              "right_shoulder"),
    "overall": ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
                "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"),
})
LIMITS = (
    "garment vs skin: no clothing classes, so sleeve, trouser and dress length are guessed from the skeleton",
    "hair: long hair over the shoulders is masked and repainted",
    "accessories (bags, belts, scarves, hats) are not protected",
    "one person at a time: with several, the largest face's person is used",
)
VISIBLE = 0.5  # Pose visibility above which a landmark counts as seen
PERSON = 0.5  # segmentation probability above which a pixel is the person
# Body proportions in units of the shoulder width S (landmark to landmark), from IDM-VTON's drawing at 512 px
# (arm lines ~60 px on shoulders ~150 px apart) and average adult anthropometry.
ARM_WIDTH = 0.42
THIGH_WIDTH = 0.6
SHIN_WIDTH = 0.42
SHOULDER_OUT = 0.18  # the garment reaches past the shoulder joint
COLLAR_UP = 0.12
HIP_OUT = 0.22
WAIST_UP = 0.22  # fraction of the torso length a waistband sits above the hip joints
HEM_DOWN = 0.12  # fraction of the torso length a top hangs below them
HAND_RADIUS = 0.3
TORSO_RATIO = 1.45  # torso length / shoulder width, used when the hips are out of the picture


@dataclass(frozen=True)
class AgnosticMask:
    """One automatic mask and how it was made.

    Attributes:
        mask: ``HxW`` bool, True where the garment goes (the region a mask-based model repaints).
        person: ``HxW`` bool silhouette of the person the mask is for (the mask lies inside it).
        protected: ``HxW`` bool: face, hands and the parts the category does not cover.
        category: ``upper``, ``lower`` or ``overall``.
        landmarks: the Pose landmarks used, name -> ``(x, y, visibility)`` in pixels.
        people: how many faces were found (the largest person is masked when several).
        box: ``(x0, y0, x1, y1)`` of the part of the image the person was looked for in.
        warnings: what the user should know (several people, landmarks guessed, an empty mask...).
    """

    mask: np.ndarray
    person: np.ndarray
    protected: np.ndarray
    category: str
    landmarks: dict[str, tuple[float, float, float]]
    people: int
    box: tuple[int, int, int, int]
    warnings: tuple[str, ...] = field(default=())

    @property
    def area_fraction(self) -> float:
        """Share of the image the mask covers."""
        return float(self.mask.mean())

    def info(self) -> dict[str, Any]:
        """JSON-ready summary: category, area fraction, landmarks used, people, warnings and the masker's limits."""
        return {"category": self.category, "area_fraction": round(self.area_fraction, 4),
                "landmarks_used": {k: [round(float(c), 3) for c in v] for k, v in self.landmarks.items()},
                "people": self.people, "box": list(self.box), "warnings": list(self.warnings),
                "limits": list(LIMITS)}


def check_category(category: Any, field_name: str = "category") -> str:
    """A garment category among ``CATEGORIES``; ``InvalidInput`` naming the field otherwise."""
    if category not in CATEGORIES:
        raise InvalidInput(field_name, f"{category!r} is not one of {', '.join(CATEGORIES)}")
    return str(category)


class AgnosticMasker:
    """Agnostic masks for upper-body, lower-body and full-body (dress) garments (see the module docstring).

    Args:
        detectors: the shared mediapipe wrapper (one is created when None).
    """

    def __init__(self, detectors: Detectors | None = None) -> None:
        self.detectors = detectors or Detectors()

    def __call__(self, image: ImageLike, category: str = "upper", dilation: float = 0.01) -> AgnosticMask:
        """The agnostic mask of the (largest) person of ``image`` for ``category``.

        Args:
            image: the person photo.
            category: ``upper``, ``lower`` or ``overall``.
            dilation: growth of the region before it is bounded by the silhouette, as a fraction of the long side.

        Raises:
            InvalidInput: an unknown category, no person found, or the body part the category needs out of view.
        """

        category = check_category(category)
        pixels = as_rgb_array(image, field="person")
        height, width = pixels.shape[:2]
        warnings: list[str] = []
        # 1. who: the largest face's person when there are several (Pose follows one person only)
        faces = self.detectors.faces(pixels)
        box = person_box(faces, width, height)
        if len(faces) > 1:
            warnings.append(f"{len(faces)} people found: the mask is for the largest one (face at x≈"
                            f"{(box[0] + box[2]) // 2}px); crop the photo to choose another")
        x0, y0, x1, y1 = box
        crop = np.ascontiguousarray(pixels[y0:y1, x0:x1])
        # 2. pose and silhouette (Pose's own mask, completed by selfie segmentation near it)
        marks, person = silhouette(self.detectors, pixels, box)
        # 3. the category's region, bounded by the silhouette, dilated and hole-filled
        shoulder = _shoulder_width(marks, category)
        region = garment_region(marks, category, shoulder, (height, width), warnings)
        region &= person
        grow = max(1, round(dilation * max(width, height)))
        region = grow_mask(region, grow)
        region = _fill_holes(region) & person
        # 4. protect the face, the hands and what the category does not cover
        protected = self._protected(crop, (x0, y0), marks, category, shoulder, (height, width))
        mask = _drop_specks(region & ~protected)
        if not mask.any():
            raise InvalidInput("person", f"the {category} garment region is empty: the body part is out of view or "
                                         "hidden; try another category or photo")
        used = {name: (float(marks[LANDMARKS[name], 0]), float(marks[LANDMARKS[name], 1]),
                       float(marks[LANDMARKS[name], 3])) for name in USES[category]}
        return AgnosticMask(mask, person, protected, category, used, len(faces), box, tuple(warnings))

    def _protected(self, crop: np.ndarray, offset: tuple[int, int], marks: np.ndarray, category: str,
                   shoulder: float, shape: tuple[int, int]) -> np.ndarray:
        """Face (mesh hull, or Pose's face points), hands, and the parts the category leaves alone."""
        import cv2

        height, width = shape
        protected = np.zeros(shape, np.uint8)
        meshes = self.detectors.face_mesh(crop)
        if meshes:
            points = meshes[0].landmarks[:, :2] + np.asarray(offset, np.float32)
            hull = cv2.convexHull(np.round(points).astype(np.int32))
            cv2.fillConvexPoly(protected, hull, 1)
            face_size = float(np.ptp(points[:, 0]) + np.ptp(points[:, 1])) / 2
            protected = grow_mask(protected > 0, max(1, round(0.08 * face_size))).astype(np.uint8)
        else:  # back or side view: an ellipse around Pose's nose, eyes, ears and mouth
            face = marks[:11, :2]
            centre = face.mean(axis=0)
            radius = max(float(np.ptp(face[:, 0])), shoulder * 0.35)
            cv2.ellipse(protected, _pt(centre), (round(radius * 0.75), round(radius)), 0, 0, 360, 1, -1)
        for side in ("left", "right"):
            hand = marks[[LANDMARKS[f"{side}_{p}"] for p in ("wrist", "pinky", "index", "thumb")], :2]
            centre = hand.mean(axis=0)
            cv2.circle(protected, _pt(centre), round(HAND_RADIUS * shoulder), 1, -1)
        mark = _Marks(marks)
        if category == "upper":  # below the hem: the legs
            hem = mark.hip_line_y() + HEM_DOWN * mark.torso_length(shoulder)
            protected[int(min(max(hem, 0), height)):, :] = 1
        elif category == "lower":  # the arms hanging beside the hips, and everything above the waist
            for side in ("left", "right"):
                _thick_line(protected, [mark[f"{side}_elbow"], mark[f"{side}_wrist"]], ARM_WIDTH * shoulder)
            waist = mark.hip_line_y() - WAIST_UP * mark.torso_length(shoulder)
            protected[: int(min(max(waist, 0), height)), :] = 1
        for side in ("left", "right"):  # feet (shoes are not part of any of the three categories)
            ankle = mark[f"{side}_ankle"]
            if mark.visible(f"{side}_ankle"):
                cv2.circle(protected, _pt(ankle + (0, 0.15 * shoulder)), round(0.3 * shoulder), 1, -1)
        return protected.astype(bool)


def silhouette(detectors: Detectors, pixels: np.ndarray,
               box: tuple[int, int, int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The Pose landmarks ``(33, 4)`` (image pixels) and the ``HxW`` bool silhouette of the person in ``box``.

    The silhouette is Pose's segmentation mask, completed by selfie segmentation within a small margin of it (selfie
    segmentation alone would include everyone in the photo).

    Raises:
        InvalidInput: nobody found.
    """

    height, width = pixels.shape[:2]
    x0, y0, x1, y1 = box or (0, 0, width, height)
    pose, pose_mask = detectors.pose_segmentation(np.ascontiguousarray(pixels[y0:y1, x0:x1]))
    if pose is None:
        raise InvalidInput("person", "no person found: use a photo of one person, head to at least the hips, "
                                     "facing the camera")
    marks = pose.landmarks.copy()
    marks[:, 0] += x0
    marks[:, 1] += y0
    person = np.zeros((height, width), bool)
    person[y0:y1, x0:x1] = pose_mask >= PERSON
    selfie = detectors.selfie_mask(pixels) >= PERSON
    near = grow_mask(person, max(3, round(0.03 * max(width, height))))
    return marks, person | (selfie & near)


# --------------------------------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------------------------------
class _Marks:
    """Landmarks by name, with the derived body measures the regions need."""

    def __init__(self, marks: np.ndarray) -> None:
        self.marks = marks

    def __getitem__(self, name: str) -> np.ndarray:
        return self.marks[LANDMARKS[name], :2].astype(np.float64)

    def visible(self, name: str) -> bool:
        return bool(self.marks[LANDMARKS[name], 3] >= VISIBLE)

    def hip_line_y(self) -> float:
        return float((self["left_hip"][1] + self["right_hip"][1]) / 2)

    def torso_length(self, shoulder: float) -> float:
        top = (self["left_shoulder"] + self["right_shoulder"]) / 2
        bottom = (self["left_hip"] + self["right_hip"]) / 2
        return max(float(np.linalg.norm(bottom - top)), 0.8 * shoulder)


def person_box(faces: list[Face], width: int, height: int) -> tuple[int, int, int, int]:
    """The part of the image to look for the person in: all of it, or around the largest face when there are
    several (up to four face widths each side, never past the midpoint to a neighbour's face)."""
    if len(faces) < 2:
        return 0, 0, width, height
    largest = max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
    centre = (largest.box[0] + largest.box[2]) / 2
    face_width = largest.box[2] - largest.box[0]
    left, right = centre - 4 * face_width, centre + 4 * face_width
    for face in faces:
        if face is largest:
            continue
        other = (face.box[0] + face.box[2]) / 2
        if other < centre:
            left = max(left, (other + centre) / 2)
        else:
            right = min(right, (other + centre) / 2)
    top = max(0, largest.box[1] - face_width)
    return int(max(0, left)), int(top), int(min(width, right)), height


def _shoulder_width(marks: np.ndarray, category: str) -> float:
    mark = _Marks(marks)
    width = float(np.linalg.norm(mark["left_shoulder"] - mark["right_shoulder"]))
    hips = float(np.linalg.norm(mark["left_hip"] - mark["right_hip"]))
    if not (mark.visible("left_shoulder") or mark.visible("right_shoulder")) and category != "lower":
        raise InvalidInput("person", "the shoulders are not visible: an upper-body or dress mask needs them")
    # Side views foreshorten the shoulder line; the hips (about 0.7 S apart) give a floor.
    return max(width, hips / 0.7 if hips > 0 else 0.0, 8.0)


def garment_region(marks: np.ndarray, category: str, shoulder: float, shape: tuple[int, int],
                   warnings: list[str]) -> np.ndarray:
    """The region a garment of ``category`` may cover, from the skeleton alone (before the silhouette bounds it).

    Upper: the torso quadrilateral from the shoulders (widened, raised to the collar) to just below the hips, and
    thick arm lines shoulder -> elbow -> wrist. Lower: from the waist (above the hip joints) down thick leg lines to
    the ankles, with the gap between the thighs filled. Overall (dress): both, and the hull between hips and knees.
    """
    import cv2

    mark = _Marks(marks)
    height, width = shape
    region = np.zeros(shape, np.uint8)
    torso = mark.torso_length(shoulder)
    if not (mark.visible("left_hip") or mark.visible("right_hip")):
        if category != "upper":
            raise InvalidInput("person", "the hips are not visible: a lower-body or dress mask needs the body at "
                                         "least down to the knees")
        warnings.append("hips out of view: the torso length was estimated from the shoulder width")
        top = (mark["left_shoulder"] + mark["right_shoulder"]) / 2
        torso = TORSO_RATIO * shoulder
        down = np.array([0.0, torso])
        marks = marks.copy()
        for side in ("left", "right"):
            marks[LANDMARKS[f"{side}_hip"], :2] = top + (mark[f"{side}_shoulder"] - top) * 0.7 + down
        mark = _Marks(marks)
    if category in ("lower", "overall"):
        for side in ("left", "right"):
            if not mark.visible(f"{side}_knee"):
                warnings.append(f"{side} knee out of view: the legs are extended to the image border")
    across = _unit(mark["left_shoulder"] - mark["right_shoulder"])
    hips_across = _unit(mark["left_hip"] - mark["right_hip"])
    if category in ("upper", "overall"):
        down = _unit((mark["left_hip"] + mark["right_hip"]) / 2 - (mark["left_shoulder"] + mark["right_shoulder"]) / 2)
        quad = [
            mark["left_shoulder"] + across * SHOULDER_OUT * shoulder - down * COLLAR_UP * shoulder,
            mark["right_shoulder"] - across * SHOULDER_OUT * shoulder - down * COLLAR_UP * shoulder,
            mark["right_hip"] - hips_across * HIP_OUT * shoulder + down * HEM_DOWN * torso,
            mark["left_hip"] + hips_across * HIP_OUT * shoulder + down * HEM_DOWN * torso,
        ]
        cv2.fillPoly(region, [np.round(quad).astype(np.int32)], 1)
        for side in ("left", "right"):
            _thick_line(region, [mark[f"{side}_shoulder"], mark[f"{side}_elbow"], mark[f"{side}_wrist"]],
                        ARM_WIDTH * shoulder)
    if category in ("lower", "overall"):
        up = np.array([0.0, -WAIST_UP * torso])
        knees = [mark["left_knee"], mark["right_knee"]]
        pelvis = [mark["left_hip"] + hips_across * HIP_OUT * shoulder + up,
                  mark["right_hip"] - hips_across * HIP_OUT * shoulder + up,
                  knees[1] - hips_across * 0.15 * shoulder, knees[0] + hips_across * 0.15 * shoulder]
        cv2.fillPoly(region, [np.round(pelvis).astype(np.int32)], 1)
        for side in ("left", "right"):
            _thick_line(region, [mark[f"{side}_hip"], mark[f"{side}_knee"]], THIGH_WIDTH * shoulder)
            _thick_line(region, [mark[f"{side}_knee"], mark[f"{side}_ankle"]], SHIN_WIDTH * shoulder)
    if category == "overall":  # a dress hangs between the legs
        hull = cv2.convexHull(np.round(np.array([
            mark["left_hip"] + hips_across * HIP_OUT * shoulder, mark["right_hip"] - hips_across * HIP_OUT * shoulder,
            mark["left_knee"] + hips_across * 0.2 * shoulder, mark["right_knee"] - hips_across * 0.2 * shoulder,
        ])).astype(np.int32))
        cv2.fillConvexPoly(region, hull, 1)
    return region[:height, :width].astype(bool)


def _thick_line(canvas: np.ndarray, points: list[np.ndarray], thickness: float) -> None:
    import cv2

    polyline = np.round(np.array(points)).astype(np.int32)
    cv2.polylines(canvas, [polyline], False, 1, thickness=max(1, round(thickness)), lineType=cv2.LINE_8)
    for point in polyline:  # round joints and ends, as a limb has
        cv2.circle(canvas, (int(point[0]), int(point[1])), max(1, round(thickness / 2)), 1, -1)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 1e-6 else np.array([1.0, 0.0])


def _pt(point: np.ndarray) -> tuple[int, int]:
    return int(round(float(point[0]))), int(round(float(point[1])))


def grow_mask(mask: np.ndarray, radius: float) -> np.ndarray:
    """``mask`` dilated by a disc of ``radius`` pixels, through a distance transform (linear time, where a large
    elliptical ``cv2.dilate`` kernel costs radius-squared per pixel)."""
    import cv2

    x, y, w, h = cv2.boundingRect(mask.astype(np.uint8))
    if w == 0 or h == 0:
        return mask.copy()
    # Only the mask's bounding box, widened by the radius, can change.
    pad = int(np.ceil(radius)) + 1
    y0, y1 = max(0, y - pad), min(mask.shape[0], y + h + pad)
    x0, x1 = max(0, x - pad), min(mask.shape[1], x + w + pad)
    out = np.zeros_like(mask, dtype=bool)
    window = mask[y0:y1, x0:x1]
    distance = cv2.distanceTransform((~window).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_5)
    out[y0:y1, x0:x1] = distance <= radius
    return out


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill enclosed holes: flood the background from the border of a padded copy; what it cannot reach is a hole."""
    import cv2

    padded = np.pad(mask.astype(np.uint8), 1)
    flooded = padded.copy()
    cv2.floodFill(flooded, None, (0, 0), 1)
    holes = flooded[1:-1, 1:-1] == 0
    return mask | holes


def _drop_specks(mask: np.ndarray, share: float = 0.01) -> np.ndarray:
    """Remove connected pieces smaller than ``share`` of the mask (slivers left between protected parts)."""
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 2:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= share * areas.sum()) + 1
    return np.isin(labels, keep)
