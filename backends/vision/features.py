"""Inception-v3 features for rFID / pFID: a registry backend, so the model cache manages its memory."""

from __future__ import annotations

from typing import Any

import numpy as np

from backends.core.errors import InvalidInput
from backends.core.run import ProgressFn, RunControl
from backends.vision.metrics import MetricUnavailable, to_float_image


# --------------------------------------------------------------------------------------------------------------------
class InceptionFeatures:
    """Inception-v3 pool features (2048-d) through torchmetrics' FID extractor (the weights torch-fidelity uses).

    Optional: torchmetrics[image] pulls torchvision, which the studio does not pin (it would replace the pinned
    torch build), and the weights are downloaded on first use; without either, loading raises ``MetricUnavailable``
    with the fix, and rFID / pFID are reported as unavailable.

    Args:
        spec: the registry entry.
        settings: studio settings (device).
    """

    def __init__(self, spec: Any, settings: Any) -> None:
        self.spec = spec
        self.settings = settings
        self.model: Any = None

    def load(self, report: ProgressFn | None = None) -> None:
        """Build the extractor (downloads its weights when the network allows)."""
        try:
            from torchmetrics.image.fid import NoTrainInceptionV3
        except ImportError as exc:
            raise MetricUnavailable(
                "rFID / pFID need torchmetrics[image] (with torch-fidelity and torchvision) and the Inception-v3 "
                "weights: pip install 'torchmetrics[image]' on a machine with network access") from exc
        try:
            self.model = NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048"]).eval()
        except OSError as exc:  # includes urllib's URLError when offline
            raise MetricUnavailable(f"the Inception-v3 weights could not be downloaded ({exc}); rFID / pFID are "
                                    "unavailable offline") from exc

    def check_inputs(self, images: Any) -> None:
        """A non-empty list of images."""
        if not isinstance(images, list) or not images:
            raise InvalidInput("images", "expected a non-empty list of images")

    def __call__(self, images: list[Any], control: RunControl | None = None) -> np.ndarray:
        """Features (N, 2048) of HxWx3 images in [0, 1]."""
        import torch

        self.check_inputs(images)
        batch = torch.stack([torch.from_numpy(np.rint(to_float_image(i) * 255).astype(np.uint8)).permute(2, 0, 1)
                             for i in images])  # (N, 3, H, W) uint8, as the extractor expects
        with torch.inference_mode():
            return self.model(batch).reshape(len(images), -1).double().numpy()

    def unload(self) -> None:
        """Drop the network."""
        self.model = None

    def memory_bytes(self) -> int:
        """About 95 MB of weights when loaded."""
        return 0 if self.model is None else 95 * 1024**2
