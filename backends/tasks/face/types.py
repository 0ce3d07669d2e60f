"""What the face tab imports: the requests and results, the UniF2ace taxonomy and prompt builder, the question
routing over the Q&A engines (through an executor), the UniF2ace dataset reader, and the scoring of answers and of
the closed loop. Torch-free; the one module of the task that tabs import.

Engines: ``face/mediapipe`` (``ANALYZER``) measures and answers from the measurements; every other ``face/*``
registry entry is a Q&A engine taking a ``VQARequest`` (``backends.vision.vqa``), so a new engine is one more
catalog entry.
"""

from __future__ import annotations

from backends.tasks.face.dataset import UniF2aceRecord, UniF2aceSet, load_unif2ace
from backends.tasks.face.evaluate import accuracy, score, summarize_scores
from backends.tasks.face.messages import (
    ANALYZER,
    HEURISTIC_NOTE,
    AttributeCheck,
    FaceAnalysis,
    FaceAnalyzeRequest,
    FaceAnswer,
    check_analyze_request,
    engine_keys,
)
from backends.tasks.face.qa import QA, ask_engines, check_engines
from backends.tasks.face.taxonomy import (
    ATTRIBUTES,
    BY_ID,
    CATEGORIES,
    CATEGORY_NAMES,
    MAX_ATTRIBUTES,
    MEASURED_TOPICS,
    QUESTIONS,
    SUBJECTS,
    Attribute,
    build_prompt,
    check_attributes,
)
from backends.vision.vqa import VQAAnswer, VQARequest, VQAResult

__all__ = [
    "ANALYZER", "ATTRIBUTES", "BY_ID", "CATEGORIES", "CATEGORY_NAMES", "HEURISTIC_NOTE", "MAX_ATTRIBUTES",
    "MEASURED_TOPICS", "QA", "QUESTIONS", "SUBJECTS", "Attribute", "AttributeCheck", "FaceAnalysis",
    "FaceAnalyzeRequest", "FaceAnswer", "UniF2aceRecord", "UniF2aceSet", "VQAAnswer", "VQARequest", "VQAResult",
    "accuracy", "ask_engines", "build_prompt", "check_analyze_request", "check_attributes", "check_engines",
    "engine_keys", "load_unif2ace", "score", "summarize_scores",
]
