"""The measuring engine (``face/mediapipe``): faces, their measured attributes and an overlay of the landmarks
behind each number; optionally the measured answer to a question and the measured attribute checks of the closed
loop. MediaPipe's bundled face detection and face mesh run on the CPU, offline."""

from __future__ import annotations

import math
import time

from PIL import Image

from backends.core.errors import InvalidInput
from backends.core.imaging import load_image
from backends.core.run import RunControl
from backends.tasks.face import rules
from backends.tasks.face.check import measured_checks
from backends.tasks.face.messages import HEURISTIC_NOTE, FaceAnalysis, FaceAnalyzeRequest, check_analyze_request
from backends.tasks.face.taxonomy import check_attributes
from backends.vision import face as geometry
from backends.vision import face_overlay
from backends.vision.detectors import DetectorBackend, as_rgb_array
from backends.vision.face import FaceMeasures

# The VLM crop: the face box grown to this many times its larger side, centred a little above the box's centre, so
# hair, hats, ears and earrings are in it.
CROP_SCALE = 2.0
CROP_LIFT = 0.15


class FaceAnalyzer(DetectorBackend):
    """Measures faces with MediaPipe (see ``backends.vision.face``); loading as :class:`DetectorBackend`."""

    def check_inputs(self, request: FaceAnalyzeRequest) -> None:
        """Validate the request (see ``check_analyze_request``)."""
        check_analyze_request(request)

    def __call__(self, request: FaceAnalyzeRequest, control: RunControl | None = None) -> FaceAnalysis:
        """Measure every face, pick one, and answer / check what the request asks.

        Raises:
            InvalidInput: a bad field, or a face index beyond the faces found.
        """
        started = time.perf_counter()
        # 1. validate
        self.check_inputs(request)
        image = load_image(request.image)
        pixels = as_rgb_array(image)
        # 2. detect, fit the mesh, measure: two MediaPipe calls, then geometry
        faces = geometry.analyze_faces(self.detectors, pixels, max_faces=int(request.max_faces),
                                       min_confidence=float(request.min_confidence))
        # 3. the face asked about: the largest unless one is named
        chosen = choose(faces, request.face)
        # 4. what was asked: a measured answer, measured attribute checks
        answer = rules.answer(request.question, faces, chosen, image.size) if request.question.strip() else None
        checks = measured_checks(check_attributes(list(request.targets), "targets"), chosen) if request.targets else []
        report = build_report(faces, chosen, image.size)
        report["seconds"] = round(time.perf_counter() - started, 4)
        return FaceAnalysis(
            report=report,
            overlay=face_overlay.overlay(pixels, faces, chosen.index if chosen else None) if request.overlay else None,
            crop=face_crop(image, chosen) if chosen else None, chosen=chosen.index if chosen else None,
            answer=answer, checks=checks,
        )



def choose(faces: list[FaceMeasures], index: int | None) -> FaceMeasures | None:
    """Face ``index`` (1-based, left to right), or the largest when ``index`` is None or 0.

    Raises:
        InvalidInput: ``face`` names a face that was not found.
    """
    if not index:
        return geometry.largest(faces)
    if not faces:
        raise InvalidInput("face", f"{index} was asked for, but no face was found in the image")
    if not 1 <= int(index) <= len(faces):
        raise InvalidInput("face", f"{index} is out of range: {len(faces)} face{'s' if len(faces) > 1 else ''} "
                                   f"found, numbered 1-{len(faces)} from the left (0 = the largest)")
    return faces[int(index) - 1]


def build_report(faces: list[FaceMeasures], chosen: FaceMeasures | None, size: tuple[int, int]) -> dict:
    """The JSON report: every face's measurements, which one answers are about, and a one-line message."""
    if not faces:
        message = ("No face found (MediaPipe face detection, confidence >= 0.5): use a photo with a visible face, "
                   "at least ~32 px wide.")
    else:
        largest = geometry.largest(faces)
        message = f"{len(faces)} face{'s' if len(faces) > 1 else ''} found"
        if len(faces) > 1:
            which = "the largest" if chosen is largest else "chosen"
            message += f"; answers are about face #{chosen.index} ({which}); pick another with the face number"
        issues = list(chosen.unmeasured.items())
        if issues:
            message += "; not measured: " + "; ".join(f"{k} ({why})" for k, why in issues[:3])
        message += "."
    return {
        "count": len(faces), "chosen": chosen.index if chosen else None, "image_size": list(size),
        "faces": [face.to_dict(size) for face in faces], "message": message, "note": HEURISTIC_NOTE["en"],
    }


def face_crop(image: Image.Image, face: FaceMeasures) -> Image.Image:
    """A square crop around ``face`` with room for hair and accessories (``CROP_SCALE``), clipped to the image."""
    x0, y0, x1, y1 = face.box
    side = CROP_SCALE * max(x1 - x0, y1 - y0, 1)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - CROP_LIFT * (y1 - y0)
    box = (max(0, math.floor(cx - side / 2)), max(0, math.floor(cy - side / 2)),
           min(image.width, math.ceil(cx + side / 2)), min(image.height, math.ceil(cy + side / 2)))
    return image.crop(box)
