"""One question put to several Q&A engines about one image, through an executor: the measured answer first (the
analyzer also gives the overlay and the face crop), then each vision-language model on the crop. Shared by the Q&A
form, the API and the UniF2ace evaluation."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from backends.core.errors import InvalidInput
from backends.core.imaging import load_image
from backends.core.run import RunControl
from backends.core.text import check_prompt
from backends.tasks.face.messages import ANALYZER, FaceAnalysis, FaceAnalyzeRequest, FaceAnswer, engine_keys
from backends.vision.vqa import VQARequest


@dataclass
class QA:
    """The measurements of the image and every engine's answer, in the order the engines were picked."""

    analysis: FaceAnalysis
    answers: list[FaceAnswer]


def check_engines(registry: Any, engines: Any) -> list[str]:
    """Validate an engine pick: registry keys of Q&A engines (``face/*``), at least one, duplicates dropped.

    Raises:
        InvalidInput: naming ``engines``.
    """
    if isinstance(engines, str):
        engines = [engines]
    if not isinstance(engines, list | tuple) or not engines:
        raise InvalidInput("engines", f"pick at least one Q&A engine, e.g. {ANALYZER}")
    known = engine_keys(registry.values())
    for key in engines:
        if key not in known:
            raise InvalidInput("engines", f"{key!r} is not a Q&A engine; engines: {', '.join(known)}")
    return list(dict.fromkeys(engines))


def ask_engines(executor: Any, image: Any, question: Any, engines: Any, face: int | None = None,
                control: RunControl | None = None) -> QA:
    """Measure the image, then put ``question`` to every engine: the measured answer and each VLM's on the face crop
    (the whole image when no face is found). An unavailable engine gets an answer saying why instead of failing all.

    Args:
        executor: where models run (``backends.models.executors.Executor``).
        image: the image.
        question: the question (English or Chinese; other languages get a message from the measured engine).
        engines: registry keys of Q&A engines.
        face: which face, 1-based from the left; None or 0 for the largest.
        control: progress and Stop.

    Raises:
        InvalidInput: no image, an empty question, unknown engines, a face number beyond the faces found.
    """
    control = control or RunControl()
    registry = executor.registry
    # 1. validate before anything runs
    keys = check_engines(registry, engines)
    question = check_prompt(question, "question")
    source = load_image(image)
    # 2. measure (always: the overlay and the crop come from it)
    analysis = executor.run(ANALYZER, FaceAnalyzeRequest(source, face=face, question=question))
    answers = [analysis.answer] if ANALYZER in keys and analysis.answer else []
    # 3. the VLMs, one after the other, on the crop
    vlms = [k for k in keys if k != ANALYZER]
    view = analysis.crop if analysis.crop is not None else source
    for index, key in enumerate(vlms):
        ok, why = executor.availability(key)
        if not ok:
            answers.append(FaceAnswer(key, question, "", f"unavailable: {why}", applies=False))
            continue
        started = time.perf_counter()
        result = executor.run(key, VQARequest(view, [question]), control.part(index, len(vlms)))
        reply = result.answers[0]
        text = reply.text or "(empty answer)"
        if reply.prompt == "caption":
            text = f"[{registry[key].name} describes rather than answers] {text}"
        if analysis.crop is None:
            text = f"[no face found: shown the whole image] {text}"
        answers.append(FaceAnswer(key, question, "", text, random_weights=result.recipe.random_weights,
                                  seconds=round(time.perf_counter() - started, 3)))
    control.raise_if_stopped()
    return QA(analysis, answers)
