"""Perception engines several tasks share (OCR for the text-rendering check).

Data only: one ``ModelSpec`` per model, with the facts that matter to run it well. Facts come from the model
cards and the diffusers docs. Keys are ``"<task>/<name>"`` and are the same in the ``real`` and ``tiny`` profiles.
"""

from __future__ import annotations

from backends.models.spec import ModelSpec

ORDER = 90  # where the UI lists these models
SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        key="ocr/rapidocr", name="RapidOCR (PP-OCR, zh/en)", task="ocr", backend="backends.vision.ocr:RapidOCRBackend",
        loader="builtin", dtype="float32", license="apache-2.0", languages=("zh", "en"), vram_gb=0.1, cpu_ok=True,
        paper="PP-OCR (arXiv:2009.09941) through RapidOCR's ONNX models, shipped inside the wheel",
        notes="Reads rendered text for the text-rendering check; runs offline on the CPU.",
    ),
)
