"""Text-rendering check (Seedream 2.0's text-rendering evaluation): read an output with OCR and score how much of
the prompt's quoted text it renders.

RapidOCR ships PP-OCR's Chinese/English ONNX models inside its wheel, so the check runs offline on the CPU.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from backends.core.errors import InvalidInput, ModelUnavailable
from backends.core.imaging import to_rgb
from backends.core.run import ProgressFn, RunControl
from backends.core.settings import Settings
from backends.core.text import char_accuracy, normalize_for_ocr
from backends.models.spec import ModelSpec


@dataclass
class OCRRequest:
    """Read ``image`` and score it against the texts the prompt asked to render.

    Attributes:
        image: the generated image.
        targets: the quoted texts of the prompt (may be empty: then only the reading is returned).
    """

    image: Image.Image
    targets: list[str] = field(default_factory=list)


@dataclass
class OCRResult:
    """What OCR read and how well the targets were rendered.

    Attributes:
        lines: the text lines read, top to bottom, with their confidence.
        per_target: for each target, its character accuracy in [0, 1].
        accuracy: character accuracy over all targets (weighted by their length), None without targets.
        seconds: OCR time.
    """

    lines: list[tuple[str, float]]
    per_target: list[tuple[str, float]]
    accuracy: float | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the UI and the API."""
        return {
            "text": " / ".join(text for text, _ in self.lines),
            "accuracy": None if self.accuracy is None else round(self.accuracy, 4),
            "targets": [{"text": t, "accuracy": round(a, 4)} for t, a in self.per_target],
            "lines": [{"text": t, "confidence": round(c, 4)} for t, c in self.lines],
            "seconds": round(self.seconds, 3),
        }


class RapidOCRBackend:
    """OCR with RapidOCR (PP-OCR detection + recognition, Chinese and English).

    Args:
        spec: the registry entry.
        settings: studio settings (unused: the engine always runs on the CPU with onnxruntime).
    """

    def __init__(self, spec: ModelSpec, settings: Settings) -> None:
        self.spec = spec
        self.settings = settings
        self.engine: Any = None

    def load(self, report: ProgressFn | None = None) -> None:
        """Create the engine from the models bundled in the wheel."""
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise ModelUnavailable("the text-rendering check needs rapidocr-onnxruntime: pip install -r "
                                   "requirements.txt") from exc
        if report is not None:
            report(0.0, "Loading the OCR engine")
        self.engine = RapidOCR()

    def check_inputs(self, request: OCRRequest) -> None:
        """The image must be a PIL image and the targets strings."""
        if not isinstance(request.image, Image.Image):
            raise InvalidInput("image", f"expected a PIL image, got {type(request.image).__name__}")
        if not all(isinstance(t, str) for t in request.targets):
            raise InvalidInput("targets", "every target must be a string")

    def __call__(self, request: OCRRequest, control: RunControl | None = None) -> OCRResult:
        """Read the image and score each target (one quick pass: nothing to report or stop)."""
        # 1. validate
        self.check_inputs(request)
        started = time.perf_counter()
        # 2. detect and recognise text lines: RapidOCR returns [[box, text, score], ...] or None
        found, _ = self.engine(np.asarray(to_rgb(request.image)))
        lines = [(str(text), float(score)) for _box, text, score in (found or [])]
        # 3. score each target against everything that was read
        read = "".join(text for text, _ in lines)
        per_target = [(t, char_accuracy(t, read)) for t in request.targets]
        weights = [len(normalize_for_ocr(t)) for t, _ in per_target]
        accuracy = None
        if per_target and sum(weights):
            accuracy = sum(a * w for (_, a), w in zip(per_target, weights, strict=True)) / sum(weights)
        elif per_target:  # only punctuation to render: nothing legible to miss
            accuracy = 1.0
        return OCRResult(lines, per_target, accuracy, time.perf_counter() - started)

    def unload(self) -> None:
        """Drop the engine."""
        self.engine = None

    def memory_bytes(self) -> int:
        """About 15 MB of ONNX models; small enough to count as nothing against a GPU budget."""
        return 0 if self.engine is None else 15 * 1024**2
