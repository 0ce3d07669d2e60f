"""MediaPipe's bundled legacy solutions (hands, face detection, face mesh, selfie segmentation, pose) behind one small
typed wrapper that the hand-repair, face and try-on backends share.

mediapipe 0.10.21 is the last wheel that ships the legacy ``mp.solutions`` models inside it, so everything here runs
offline on a CPU. mediapipe is imported inside the methods (never at import time) and each solution graph is built on
first use. A solution object keeps state between ``process`` calls and is not safe for concurrent use, so each one
has its own lock; different solutions (and different hand settings) run in parallel.

Coordinates are image pixels (x right, y down) of the RGB image that was passed in.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from backends.core.errors import InvalidInput
from backends.core.imaging import load_image, to_rgb
from backends.core.validation import check_number

ImageLike = Image.Image | np.ndarray
"""What the detectors accept: a PIL image (any mode) or an ``HxW`` / ``HxWx{1,3,4}`` array (``HxWx3`` uint8 = RGB)."""

# Full-range face detection (model_selection=1) finds faces up to ~5 m from the camera; the short-range model misses
# the half-body people of typical photos. Selfie segmentation model 0 is the general (256x256) one.
FACE_DETECTION_MODEL = 1
SELFIE_MODEL = 0
# Pose's full model (complexity 1) is the only one bundled in the wheel; 0 and 2 try to download their weights.
POSE_COMPLEXITY = 1
# Landmarks sit at joint centres (the fingertip one at the tip), so the skin reaches past their extent by about half a
# finger's width, roughly a tenth of the hand's size: pad the hand box by this fraction of its longer side.
HAND_BOX_MARGIN = 0.1


@dataclass(frozen=True)
class Hand:
    """One detected hand.

    Attributes:
        box: ``(x0, y0, x1, y1)`` in image pixels: the landmarks' extent padded by ``HAND_BOX_MARGIN`` of its longer
            side, clipped to the image (``x1``/``y1`` exclusive).
        landmarks: ``(21, 3)`` float32, read-only: x, y in pixels (may lie slightly outside the image when the hand
            is cut by the border), z mediapipe's relative depth (wrist = 0, smaller = nearer the camera, in units of
            the image width).
        handedness: ``"Left"`` or ``"Right"`` as mediapipe labels it, i.e. assuming a mirrored (selfie) image: on an
            ordinary photo of a person facing the camera, the label names the opposite hand.
        score: mediapipe's handedness score in [0, 1], the "MediaPipe hand confidence" MGHanD reports.
    """

    box: tuple[int, int, int, int]
    landmarks: np.ndarray
    handedness: str
    score: float


@dataclass(frozen=True)
class Face:
    """One detected face: ``box`` ``(x0, y0, x1, y1)`` pixels clipped to the image, the detector's ``score`` and
    ``keypoints`` ``(6, 2)`` pixels: right eye, left eye, nose tip, mouth centre, right ear, left ear (the subject's
    sides)."""

    box: tuple[int, int, int, int]
    score: float
    keypoints: np.ndarray


@dataclass(frozen=True)
class FaceMesh:
    """One face mesh: ``landmarks`` ``(478, 3)`` pixels (468 mesh points + 10 iris points; z is depth scaled by the
    image width, as mediapipe defines it, so all three axes are pixels)."""

    landmarks: np.ndarray


@dataclass(frozen=True)
class Pose:
    """One body pose: ``landmarks`` ``(33, 4)``: x, y pixels, z mediapipe's relative depth (hip centre = 0, in units
    of the image width), visibility in [0, 1]."""

    landmarks: np.ndarray


def as_rgb_array(image: ImageLike, field: str = "image") -> np.ndarray:
    """The image as a C-contiguous ``HxWx3`` uint8 RGB array (what mediapipe's ``process`` takes).

    Args:
        image: a PIL image in any mode, or a numpy array (``HxWx3`` uint8 is taken as RGB as is).
        field: the argument name for error messages.

    Raises:
        InvalidInput: not an image, an empty array, or an array of an unsupported shape.
    """
    if isinstance(image, np.ndarray):
        if image.size == 0:
            raise InvalidInput(field, f"the array of shape {image.shape} is empty")
        if image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3:
            return np.ascontiguousarray(image)  # the common case costs nothing
        # Anything else (grey, alpha, float, 16-bit) goes through imaging's conversion; no size limits here: the
        # upload was validated when it arrived, and the detectors cope with any size.
        image = load_image(image, field=field, min_side=1, max_aspect=math.inf)
    elif not isinstance(image, Image.Image):
        raise InvalidInput(field, f"expected a PIL image or a numpy array, got {type(image).__name__}")
    return np.ascontiguousarray(np.asarray(to_rgb(image)))


def _box(x0: float, y0: float, x1: float, y1: float, width: int, height: int) -> tuple[int, int, int, int]:
    """A float box rounded outwards to whole pixels and clipped to the image."""
    return (
        int(min(max(math.floor(x0), 0), width)),
        int(min(max(math.floor(y0), 0), height)),
        int(min(max(math.ceil(x1), 0), width)),
        int(min(max(math.ceil(y1), 0), height)),
    )


def _inside(x: float, y: float, points: np.ndarray) -> bool:
    """Whether ``(x, y)`` lies within the bounding box of ``points``."""
    return bool(points[:, 0].min() <= x <= points[:, 0].max() and points[:, 1].min() <= y <= points[:, 1].max())


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)  # the dataclasses are frozen; their arrays should be too
    return array


class _Slot:
    """One lazily built solution object and the lock that serialises its use."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self.factory = factory
        self.lock = threading.Lock()
        self.solution: Any = None
        self.closed = False

    def close(self) -> None:
        with self.lock:  # waits for a call in progress to finish before the graph is torn down
            if self.solution is not None:
                self.solution.close()
                self.solution = None
            self.closed = True


class Detectors:
    """Lazy, thread-safe access to mediapipe's legacy solutions.

    Nothing is built at construction: each solution is created on first use and kept for the next call. Every
    solution has its own lock (mediapipe solution objects are not safe for concurrent use), so concurrent calls to
    one solution queue while different solutions run side by side. Solutions whose graph depends on a parameter
    (the hand count and confidence, the face count, the face-detection confidence) are kept per parameter value,
    at most ``max_variants`` per kind, least recently used first out, so switching between a few settings does not
    rebuild graphs and memory stays bounded. ``close`` frees them all; the object can be used as a context manager.

    Args:
        max_variants: how many parameter variants of one solution kind to keep (>= 1).
    """

    def __init__(self, max_variants: int = 3) -> None:
        self.max_variants = int(check_number(max_variants, "max_variants", minimum=1, integer=True))
        self._lock = threading.Lock()  # guards _slots and _closed, never held while a graph runs
        self._slots: OrderedDict[tuple[str, Hashable], _Slot] = OrderedDict()
        self._closed = False

    def __enter__(self) -> Detectors:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------------------------------------------
    # Slot management
    # ----------------------------------------------------------------------------------------------------------------
    @contextmanager
    def _use(self, kind: str, params: Hashable, factory: Callable[[], Any]) -> Iterator[Any]:
        """Hold the solution for ``(kind, params)``, building it on first use and evicting the kind's LRU variant."""
        evicted: list[_Slot] = []
        with self._lock:
            if self._closed:
                raise RuntimeError("Detectors was closed; create a new one")
            key = (kind, params)
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _Slot(factory)
                same_kind = [k for k in self._slots if k[0] == kind]
                for old in same_kind[: max(0, len(same_kind) - self.max_variants)]:
                    evicted.append(self._slots.pop(old))
            self._slots.move_to_end(key)
        for old in evicted:  # closed outside the registry lock: it may wait for a call still using it
            old.close()
        with slot.lock:
            if slot.closed:  # evicted between lookup and lock by another thread: use a private, throwaway one
                solution = factory()
                try:
                    yield solution
                finally:
                    solution.close()
                return
            if slot.solution is None:
                slot.solution = slot.factory()
            yield slot.solution

    def close(self) -> None:
        """Free every solution (waiting for calls in progress); later calls raise ``RuntimeError``."""
        with self._lock:
            self._closed = True
            slots = list(self._slots.values())
            self._slots.clear()
        for slot in slots:
            slot.close()

    def loaded(self) -> list[tuple[str, Hashable]]:
        """The ``(kind, parameters)`` of the solutions currently held, oldest first (for tests and the Models tab)."""
        with self._lock:
            return [key for key, slot in self._slots.items() if slot.solution is not None]

    # ----------------------------------------------------------------------------------------------------------------
    # Detectors
    # ----------------------------------------------------------------------------------------------------------------
    def hands(self, image: ImageLike, max_hands: int = 4, min_confidence: float = 0.3) -> list[Hand]:
        """Detect hands and their 21 landmarks, sorted left to right.

        Args:
            image: the image (see ``as_rgb_array``).
            max_hands: the most hands to return (1 to 20).
            min_confidence: palm-detection threshold in [0, 1] (mediapipe's ``min_detection_confidence``; its
                landmark-presence threshold stays at the default 0.5).

        Returns:
            One ``Hand`` per hand found, ordered by the box's left edge, then top edge.
        """
        max_hands = int(check_number(max_hands, "max_hands", minimum=1, maximum=20, integer=True))
        min_confidence = float(check_number(min_confidence, "min_confidence", minimum=0, maximum=1))
        pixels = as_rgb_array(image)
        height, width = pixels.shape[:2]

        def build() -> Any:
            from mediapipe.python.solutions import hands

            return hands.Hands(static_image_mode=True, max_num_hands=max_hands,
                               min_detection_confidence=min_confidence)

        with self._use("hands", (max_hands, min_confidence), build) as solution:
            result = solution.process(pixels)
        found: list[Hand] = []
        for marks, side in zip(result.multi_hand_landmarks or (), result.multi_handedness or (), strict=True):
            points = np.array([(p.x * width, p.y * height, p.z) for p in marks.landmark], dtype=np.float32)
            (x0, y0), (x1, y1) = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
            margin = HAND_BOX_MARGIN * max(x1 - x0, y1 - y0)
            category = side.classification[0]
            found.append(Hand(box=_box(x0 - margin, y0 - margin, x1 + margin, y1 + margin, width, height),
                              landmarks=_frozen(points), handedness=str(category.label),
                              score=float(category.score)))
        return sorted(found, key=lambda h: (h.box[0], h.box[1], float(h.landmarks[0, 0])))

    def faces(self, image: ImageLike, min_confidence: float = 0.5) -> list[Face]:
        """Detect faces (full-range model), sorted left to right.

        Args:
            image: the image (see ``as_rgb_array``).
            min_confidence: detection threshold in [0, 1].
        """
        min_confidence = float(check_number(min_confidence, "min_confidence", minimum=0, maximum=1))
        pixels = as_rgb_array(image)
        height, width = pixels.shape[:2]

        def build() -> Any:
            from mediapipe.python.solutions import face_detection

            return face_detection.FaceDetection(model_selection=FACE_DETECTION_MODEL,
                                                min_detection_confidence=min_confidence)

        with self._use("faces", min_confidence, build) as solution:
            result = solution.process(pixels)
        found: list[Face] = []
        for detection in result.detections or ():
            rel = detection.location_data.relative_bounding_box
            keypoints = np.array([(k.x * width, k.y * height) for k in detection.location_data.relative_keypoints],
                                 dtype=np.float32).reshape(-1, 2)
            box = _box(rel.xmin * width, rel.ymin * height, (rel.xmin + rel.width) * width,
                       (rel.ymin + rel.height) * height, width, height)
            found.append(Face(box=box, score=float(detection.score[0]), keypoints=_frozen(keypoints)))
        return sorted(found, key=lambda f: (f.box[0], f.box[1]))

    def face_mesh(self, image: ImageLike, max_faces: int = 1,
                  detections: Sequence[Face] | None = None) -> list[FaceMesh]:
        """Dense face landmarks (with irises), sorted by the leftmost landmark.

        Face mesh finds faces with mediapipe's short-range detector, which misses faces smaller than about a fifth of
        the image (half the faces of the fixture photos). When it finds fewer than ``max_faces``, faces found by the
        full-range detector are cropped (twice the face box, so the face fills the crop as a selfie would) and meshed
        one by one.

        Args:
            image: the image (see ``as_rgb_array``).
            max_faces: the most faces to return (1 to 20).
            detections: faces already found by ``faces`` on this image, used for the crops instead of detecting
                again (a caller that needs both saves one detection pass).
        """
        max_faces = int(check_number(max_faces, "max_faces", minimum=1, maximum=20, integer=True))
        pixels = as_rgb_array(image)
        meshes = self._meshes(pixels, max_faces, (0, 0))
        if len(meshes) < max_faces:
            height, width = pixels.shape[:2]
            for face in self.faces(pixels) if detections is None else detections:
                x0, y0, x1, y1 = face.box
                cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
                if any(_inside(cx, cy, m.landmarks) for m in meshes):
                    continue  # already meshed
                half = max(x1 - x0, y1 - y0)
                box = _box(cx - half, cy - half, cx + half, cy + half, width, height)
                crop = np.ascontiguousarray(pixels[box[1]:box[3], box[0]:box[2]])
                if min(crop.shape[:2]) < 8:
                    continue
                found = [m for m in self._meshes(crop, max_faces, box[:2]) if _inside(cx, cy, m.landmarks)]
                meshes.extend(found[:1])
                if len(meshes) == max_faces:
                    break
        return sorted(meshes, key=lambda m: (float(m.landmarks[:, 0].min()), float(m.landmarks[:, 1].min())))

    def _meshes(self, pixels: np.ndarray, max_faces: int, offset: tuple[int, int]) -> list[FaceMesh]:
        """Face meshes of ``pixels``, shifted by ``offset`` (where a crop sits in the full image)."""
        height, width = pixels.shape[:2]

        def build() -> Any:
            from mediapipe.python.solutions import face_mesh

            return face_mesh.FaceMesh(static_image_mode=True, max_num_faces=max_faces, refine_landmarks=True)

        with self._use("face_mesh", max_faces, build) as solution:
            result = solution.process(pixels)
        return [
            FaceMesh(landmarks=_frozen(np.array(
                [(p.x * width + offset[0], p.y * height + offset[1], p.z * width) for p in face.landmark],
                dtype=np.float32)))
            for face in result.multi_face_landmarks or ()
        ]

    def selfie_mask(self, image: ImageLike) -> np.ndarray:
        """Person-versus-background probability, ``HxW`` float32 in [0, 1] (the general selfie-segmentation model)."""
        pixels = as_rgb_array(image)

        def build() -> Any:
            from mediapipe.python.solutions import selfie_segmentation

            return selfie_segmentation.SelfieSegmentation(model_selection=SELFIE_MODEL)

        with self._use("selfie", None, build) as solution:
            mask = solution.process(pixels).segmentation_mask
        # Copied (the result buffer belongs to mediapipe) and clipped (bilinear upsampling can overshoot slightly).
        return np.clip(np.array(mask, dtype=np.float32), 0.0, 1.0)

    def pose(self, image: ImageLike) -> Pose | None:
        """The 33 body landmarks of the most prominent person, or None when nobody is found."""
        pixels = as_rgb_array(image)
        height, width = pixels.shape[:2]

        def build() -> Any:
            from mediapipe.python.solutions import pose

            return pose.Pose(static_image_mode=True, model_complexity=POSE_COMPLEXITY)

        with self._use("pose", None, build) as solution:
            result = solution.process(pixels)
        if result.pose_landmarks is None:
            return None
        points = np.array([(p.x * width, p.y * height, p.z, p.visibility) for p in result.pose_landmarks.landmark],
                          dtype=np.float32)
        return Pose(landmarks=_frozen(points))

    def pose_segmentation(self, image: ImageLike) -> tuple[Pose | None, np.ndarray | None]:
        """The pose of the most prominent person and that person's mask (Pose with ``enable_segmentation``).

        Returns:
            ``(pose, mask)``: the 33 landmarks as ``pose`` returns them and the person-versus-background
            probability ``HxW`` float32 in [0, 1], or ``(None, None)`` when nobody is found.
        """
        pixels = as_rgb_array(image)
        height, width = pixels.shape[:2]

        def build() -> Any:
            from mediapipe.python.solutions import pose

            return pose.Pose(static_image_mode=True, model_complexity=POSE_COMPLEXITY, enable_segmentation=True)

        with self._use("pose_segmentation", None, build) as solution:
            result = solution.process(pixels)
            if result.pose_landmarks is None:
                return None, None
            mask = np.clip(np.array(result.segmentation_mask, dtype=np.float32), 0.0, 1.0)  # copied while locked
        points = np.array([(p.x * width, p.y * height, p.z, p.visibility) for p in result.pose_landmarks.landmark],
                          dtype=np.float32)
        return Pose(landmarks=_frozen(points)), mask


class DetectorBackend:
    """The base of registry backends whose model is the bundled MediaPipe detectors (CPU, nothing to download):
    loading creates the (lazy) detectors, unloading closes their graphs.

    Args:
        spec: the registry entry.
        settings: studio settings (unused: MediaPipe runs on the CPU).
    """

    #: Host memory the bundled models take once loaded (a few MB each; reported to the cache).
    MEMORY_BYTES = 20 * 1024**2

    def __init__(self, spec: Any, settings: Any) -> None:
        self.spec = spec
        self.settings = settings
        self.detectors: Detectors | None = None

    def load(self, report: Callable[..., Any] | None = None) -> None:
        """Create the (lazy) detectors."""
        self.detectors = Detectors()

    def unload(self) -> None:
        """Close the MediaPipe graphs."""
        if self.detectors is not None:
            self.detectors.close()
        self.detectors = None

    def memory_bytes(self) -> int:
        """The bundled models, in host memory (0 before loading)."""
        return 0 if self.detectors is None else self.MEMORY_BYTES
