"""Face requests and results (torch-free dataclasses); ``backends.tasks.face.types`` re-exports them for the tabs.

Engines: ``face/mediapipe`` (``ANALYZER``) measures and answers from the measurements (the "rules" engine); every
other ``face/*`` registry entry is a Q&A engine whose backend takes a ``VQARequest`` and returns a ``VQAResult``
(``backends.vision.vqa``), so a new engine is one more catalog entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from PIL import Image

from backends.core.validation import check_number
from backends.tasks.face.taxonomy import check_attributes

ANALYZER = "face/mediapipe"
HEURISTIC_NOTE: Mapping[str, str] = MappingProxyType({
    "en": "Thresholds are heuristic, not calibrated for this person or camera.",
    "zh": "阈值为经验值，未针对此人或相机校准。",
})


@dataclass
class FaceAnalyzeRequest:
    """Measure the faces of an image; optionally answer a question from the measurements, or check attributes.

    Attributes:
        image: the image (any mode and size; validated).
        face: which face the answer and checks are about, 1-based from the left; None or 0: the largest.
        question: a question in English or Chinese, answered from the measurements ("" for none).
        targets: attribute ids (``taxonomy.ATTRIBUTES``) to check on the chosen face (the closed loop).
        max_faces: most faces to measure.
        min_confidence: face-detection threshold.
        overlay: draw the overlay (the landmarks behind each number).
    """

    image: Any
    face: int | None = None
    question: str = ""
    targets: list[str] = field(default_factory=list)
    max_faces: int = 8
    min_confidence: float = 0.5
    overlay: bool = True


@dataclass
class FaceAnswer:
    """One engine's answer to one question.

    Attributes:
        engine: registry key (``face/mediapipe`` for the measured answer).
        question: the question.
        language: ``en`` or ``zh`` (the answer's), or the detected other language when not understood.
        text: the answer, with the measured value and threshold for measured ones.
        applies: whether the engine could answer (the rules engine answers measured attributes only).
        topic: what the question was taken to ask (``eyes``, ``smile``...), or "".
        verdict: yes / no when the question is a yes/no one that was measured, else None.
        values: the measured numbers behind the answer.
        threshold: the rule applied, in words.
        random_weights: the engine is a random-weight miniature (tiny profile).
        seconds: time to answer.
    """

    engine: str
    question: str
    language: str
    text: str
    applies: bool = True
    topic: str = ""
    verdict: bool | None = None
    values: dict[str, float] = field(default_factory=dict)
    threshold: str = ""
    random_weights: bool = False
    seconds: float = 0.0


@dataclass
class AttributeCheck:
    """Whether a face shows one asked-for attribute.

    Attributes:
        attribute: the attribute id.
        label: its English label.
        method: ``measured`` (face-mesh geometry) or ``vlm`` (a vision-language model's yes/no answer).
        passed: True / False, or None while undecided.
        value: the measured value (or the VLM's P(yes)) in words.
        threshold: the rule applied.
        note: why it could not be measured, or which model checked it.
    """

    attribute: str
    label: str
    method: str
    passed: bool | None
    value: str = ""
    threshold: str = ""
    note: str = ""


@dataclass
class FaceAnalysis:
    """The measurements of one image.

    Attributes:
        report: JSON-ready: ``count``, ``chosen``, ``faces`` (box, pose, eyes, mouth, smile, gaze, proportions,
            unmeasured, warnings per face), ``message`` and ``note``.
        overlay: the image with the landmarks behind each number, or None when not asked for.
        crop: the chosen face with hair and shoulders room, for the VLM engines (None without a face).
        chosen: 1-based index of the chosen face, or None.
        answer: the measured answer to ``question`` (None when no question was asked).
        checks: the attribute checks asked for (``targets``); VLM-decided ones have ``passed`` None.
    """

    report: dict[str, Any]
    overlay: Image.Image | None
    crop: Image.Image | None
    chosen: int | None
    answer: FaceAnswer | None = None
    checks: list[AttributeCheck] = field(default_factory=list)


def check_analyze_request(request: FaceAnalyzeRequest) -> None:
    """Validate the limits, the face index, the question and the targets (the image is validated when read).

    Raises:
        InvalidInput: naming the field.
    """
    from backends.core.text import check_prompt

    check_number(request.max_faces, "max_faces", minimum=1, maximum=20, integer=True)
    check_number(request.min_confidence, "min_confidence", minimum=0, maximum=1)
    if request.face is not None:
        check_number(request.face, "face", minimum=0, maximum=20, integer=True)
    check_prompt(request.question, "question", required=False)
    if request.targets:
        check_attributes(list(request.targets), "targets")


def engine_keys(specs: Iterable[Any]) -> list[str]:
    """The Q&A engines among registry specs: the measuring analyzer first, then every other ``face`` entry."""
    keys = [spec.key for spec in specs if getattr(spec, "task", None) == "face"]
    return sorted(keys, key=lambda key: key != ANALYZER)
