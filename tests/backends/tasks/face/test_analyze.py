"""The measuring engine through the executor: report, overlay, crop, face choice, measured attribute checks, and
bad input named by field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backends.core.errors import InvalidInput
from backends.tasks.face.types import ANALYZER, FaceAnalyzeRequest

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
PHOTO = FIXTURES / "photos" / "hagrid_call_044768ad.jpg"


def astronaut() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut())


def pair() -> Image.Image:
    big, small = astronaut(), Image.open(PHOTO).convert("RGB")
    canvas = Image.new("RGB", (small.width + big.width, 520), "white")
    canvas.paste(small, (0, 0))
    canvas.paste(big, (small.width, 0))
    return canvas


def test_report_overlay_and_crop(executor):
    result = executor.run(ANALYZER, FaceAnalyzeRequest(PHOTO))
    report = result.report
    assert report["count"] == 1 and report["chosen"] == 1 and result.chosen == 1
    face = report["faces"][0]
    assert {"box", "pose", "eyes", "mouth", "smile", "gaze", "proportions"} <= set(face)
    assert set(face["pose"]) >= {"yaw", "pitch", "roll"} and face["eyes"]["right"]["open"]
    assert report["message"] == "1 face found." and "heuristic" in report["note"]
    assert result.overlay.size == Image.open(PHOTO).size and result.answer is None and result.checks == []
    x0, y0, x1, y1 = face["box"]
    assert result.crop.width > x1 - x0 and result.crop.height > y1 - y0  # room for hair and accessories


def test_several_faces_default_to_the_largest_and_can_be_chosen(executor):
    image = pair()
    default = executor.run(ANALYZER, FaceAnalyzeRequest(image, question="Is the person smiling?"))
    assert default.report["count"] == 2 and default.chosen == 2  # the astronaut is larger
    assert "face #2 (the largest)" in default.report["message"] and default.answer.verdict is True
    first = executor.run(ANALYZER, FaceAnalyzeRequest(image, face=1, question="Is the person smiling?"))
    assert first.chosen == 1 and first.answer.verdict is False and "(Face #1 of 2.)" in first.answer.text
    with pytest.raises(InvalidInput, match="face: 3 is out of range: 2 faces found, numbered 1-2 from the left"):
        executor.run(ANALYZER, FaceAnalyzeRequest(image, face=3))


def test_no_face_is_a_report_not_an_error(executor):
    wall = Image.new("RGB", (320, 240), (190, 190, 180))
    result = executor.run(ANALYZER, FaceAnalyzeRequest(wall, question="How many faces?"))
    assert result.report["count"] == 0 and result.report["message"].startswith("No face found")
    assert result.crop is None and result.chosen is None and result.answer.text.startswith("0 faces found")
    with pytest.raises(InvalidInput, match="face: 1 was asked for, but no face was found"):
        executor.run(ANALYZER, FaceAnalyzeRequest(wall, face=1))


def test_a_tiny_face_says_why_it_is_not_measured(executor):
    result = executor.run(ANALYZER, FaceAnalyzeRequest(FIXTURES / "faces" / "hagrid_four_25bb4c45.jpg",
                                                       question="Are the eyes open?"))
    assert result.report["count"] == 1 and "px wide" in result.report["message"]
    assert result.answer.verdict is None and "cannot be measured" in result.answer.text


def test_measured_checks_pass_and_fail_with_values(executor):
    targets = ["action.smile", "eyes.open", "pose.frontal", "mouth.closed", "glasses.yes"]
    result = executor.run(ANALYZER, FaceAnalyzeRequest(astronaut(), targets=targets))
    assert [c.attribute for c in result.checks] == targets
    closed = executor.run(ANALYZER, FaceAnalyzeRequest(astronaut(), targets=["eyes.closed"], overlay=False))
    checks = {c.attribute: c for c in result.checks + closed.checks}
    assert checks["action.smile"].passed and "corner lift" in checks["action.smile"].value
    assert checks["eyes.open"].passed and not checks["eyes.closed"].passed and "EAR" in checks["eyes.open"].value
    assert checks["pose.frontal"].passed and "15°" in checks["pose.frontal"].threshold
    assert all(checks[k].method == "measured" and checks[k].threshold for k in (*targets[:-1], "eyes.closed"))
    assert checks["glasses.yes"].method == "vlm" and checks["glasses.yes"].passed is None


def test_checks_fail_when_no_face_is_found(executor):
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8))
    result = executor.run(ANALYZER, FaceAnalyzeRequest(noise, targets=["eyes.open", "hat.yes"], overlay=False))
    assert result.overlay is None and result.checks[0].passed is False and result.checks[0].note == "no face found"
    assert result.checks[1].passed is None


@pytest.mark.parametrize("changes, message", [
    ({"face": -1}, "face: -1 is below the minimum 0"),
    ({"face": 1.5}, "face: expected a whole number"),
    ({"max_faces": 0}, "max_faces"),
    ({"min_confidence": 2}, "min_confidence"),
    ({"targets": ["eyes.open", "eyes.closed"]}, "targets: eyes.open and eyes.closed exclude each other"),
    ({"question": 5}, "question: expected text"),
    ({"image": None}, "image: no image was given"),
])
def test_bad_requests_name_the_field(executor, changes, message):
    request = FaceAnalyzeRequest(PHOTO)
    for key, value in changes.items():
        setattr(request, key, value)
    with pytest.raises(InvalidInput, match=message):
        executor.run(ANALYZER, request)
