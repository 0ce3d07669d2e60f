"""Hand detection and the hand report (MediaPipe Hands, bundled with mediapipe; runs on the CPU)."""

from __future__ import annotations

from backends.core.imaging import load_image
from backends.core.run import ProgressFn, RunControl
from backends.core.settings import Settings
from backends.core.validation import check_number
from backends.models.spec import ModelSpec
from backends.tasks.hand_repair.types import HandDetectRequest, HandDetectResult
from backends.vision import hands as hand_masks
from backends.vision.detectors import Detectors


class HandDetector:
    """Hands with their landmarks, handedness confidence and anatomical checks, and an overlay.

    Args:
        spec: the registry entry.
        settings: studio settings (unused: mediapipe runs on the CPU).
    """

    def __init__(self, spec: ModelSpec, settings: Settings) -> None:
        self.spec = spec
        self.settings = settings
        self.detectors: Detectors | None = None

    def load(self, report: ProgressFn | None = None) -> None:
        """Create the (lazy) detectors."""
        self.detectors = Detectors()

    def check_inputs(self, request: HandDetectRequest) -> None:
        """Validate the limits (the image is validated when read)."""
        check_number(request.max_hands, "max_hands", minimum=1, maximum=20, integer=True)
        check_number(request.min_confidence, "min_confidence", minimum=0, maximum=1)

    def __call__(self, request: HandDetectRequest, control: RunControl | None = None) -> HandDetectResult:
        """Detect hands and report them."""
        # 1. validate
        self.check_inputs(request)
        image = load_image(request.image)
        # 2. detect: MediaPipe landmarks and handedness scores
        found = self.detectors.hands(image, max_hands=int(request.max_hands),
                                     min_confidence=float(request.min_confidence))
        # 3. report and overlay
        return HandDetectResult(hand_masks.hand_report(found, image.size), hand_masks.overlay(image, found), found)

    def unload(self) -> None:
        """Close the mediapipe graphs."""
        if self.detectors is not None:
            self.detectors.close()
        self.detectors = None

    def memory_bytes(self) -> int:
        """The bundled models are a few MB, in host memory."""
        return 0 if self.detectors is None else 20 * 1024**2
