"""The automatic agnostic mask as a registry backend (``tryon/automask``): a preview the user can edit before the
mask-based model runs, and the ``/tryon_mask`` API. The masker itself is perception, in ``backends.vision``."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from backends.core.run import ProgressFn, RunControl
from backends.core.settings import Settings
from backends.core.validation import check_number
from backends.models.spec import ModelSpec
from backends.tasks.tryon.inputs import load_person
from backends.tasks.tryon.types import TryOnMaskRequest, TryOnMaskResult
from backends.vision.agnostic import AgnosticMask, AgnosticMasker, check_category
from backends.vision.detectors import DetectorBackend

GARMENT = (230, 40, 40)
PROTECTED = (40, 90, 230)


class AutoMasker(DetectorBackend):
    """Agnostic masks from mediapipe Pose, selfie segmentation and the face mesh (CPU, bundled models); loading as
    :class:`DetectorBackend`, plus the masker over the detectors."""

    MEMORY_BYTES = 30 * 1024**2  # pose with segmentation and the face mesh

    def __init__(self, spec: ModelSpec, settings: Settings) -> None:
        super().__init__(spec, settings)
        self.masker: AgnosticMasker | None = None

    def load(self, report: ProgressFn | None = None) -> None:
        """Create the (lazy) detectors and the masker over them."""
        super().load(report)
        self.masker = AgnosticMasker(self.detectors)

    def check_inputs(self, request: TryOnMaskRequest) -> None:
        """Category and dilation (the photo is validated when read)."""
        check_category(request.category)
        check_number(request.dilation, "dilation", minimum=0, maximum=0.1)

    def __call__(self, request: TryOnMaskRequest, control: RunControl | None = None) -> TryOnMaskResult:
        """The mask of the (largest) person for the category, an overlay, and the JSON report."""
        # 1. validate
        self.check_inputs(request)
        person = load_person(request.person)
        # 2. mask: pose, silhouette, garment region, protected parts
        agnostic = self.masker(person, request.category, dilation=float(request.dilation))
        # 3. report
        mask = Image.fromarray(agnostic.mask.astype(np.uint8) * 255, "L")
        return TryOnMaskResult(mask, overlay(person, agnostic), agnostic.info())

    def unload(self) -> None:
        """Close the mediapipe graphs and drop the masker."""
        super().unload()
        self.masker = None


def overlay(image: Image.Image, agnostic: AgnosticMask) -> Image.Image:
    """The photo with the garment region in red, the protected parts of the person in blue, and the landmarks used
    (yellow when seen, grey when Pose guessed them)."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    for region, colour in ((agnostic.protected & agnostic.person, PROTECTED), (agnostic.mask, GARMENT)):
        pixels[region] = pixels[region] * 0.45 + np.asarray(colour, np.float32) * 0.55
    out = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(out)
    radius = max(2, round(max(image.size) / 150))
    for x, y, visibility in agnostic.landmarks.values():
        fill = (255, 220, 0) if visibility >= 0.5 else (150, 150, 150)
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=fill, outline=(0, 0, 0))
    return out
