"""Hand detection and the hand report (MediaPipe Hands, bundled with mediapipe; runs on the CPU)."""

from __future__ import annotations

from backends.core.imaging import load_image
from backends.core.run import RunControl
from backends.core.validation import check_number
from backends.tasks.hand_repair.types import HandDetectRequest, HandDetectResult
from backends.vision import hands as hand_masks
from backends.vision.detectors import DetectorBackend


class HandDetector(DetectorBackend):
    """Hands with their landmarks, handedness confidence and anatomical checks, and an overlay; loading as
    :class:`DetectorBackend`."""

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

