"""Visual question answering: the request and result every Q&A engine takes and returns, whatever runs it.

A Q&A engine is any registry entry whose backend answers a ``VQARequest`` with a ``VQAResult``: the face tab's
vision-language models (``backends.tasks.face.vlm``) today, other unified models later. The types live here, below
the tasks, so engines of different tasks share them without importing each other. Torch-free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from backends.core.errors import InvalidInput
from backends.core.recipe import Recipe
from backends.core.text import check_prompt
from backends.core.validation import check_number

MODES = ("answer", "yesno")
MAX_QUESTIONS = 16
MAX_NEW_TOKENS = 512
#: Appended to a yes/no question so chat models answer with one word first.
YESNO_SUFFIX: Mapping[str, str] = MappingProxyType({"en": " Answer yes or no.", "zh": "请回答是或否。"})


@dataclass
class VQARequest:
    """Questions about one image.

    Attributes:
        image: the image (a face crop for the face tab); any mode and size, validated.
        questions: one to ``MAX_QUESTIONS`` questions, answered one by one.
        mode: ``answer`` (free text) or ``yesno`` (the probability of "yes" against "no" at the first answer
            token, VQAScore-style, plus the text).
        max_new_tokens: longest answer (None: the model's default).
    """

    image: Any
    questions: list[str]
    mode: str = "answer"
    max_new_tokens: int | None = None


@dataclass
class VQAAnswer:
    """One answer.

    Attributes:
        question: the question as asked.
        text: the model's answer.
        yes_probability: ``yesno`` mode: P(yes) / (P(yes) + P(no)) over the first generated token; else None.
        prompt: how the question was put to the model (``chat`` template, ``prefix`` for PaliGemma, ``caption`` /
            ``task`` for Florence-2, which describes rather than answers).
    """

    question: str
    text: str
    yes_probability: float | None = None
    prompt: str = "chat"


@dataclass
class VQAResult:
    """The answers, in the order asked, and the recipe of the run."""

    answers: list[VQAAnswer]
    recipe: Recipe


def check_vqa_request(request: VQARequest) -> None:
    """Validate a ``VQARequest`` (the image itself is validated when it is read).

    Raises:
        InvalidInput: naming ``image``, ``questions``, ``mode`` or ``max_new_tokens``.
    """
    if request.image is None:
        raise InvalidInput("image", "no image was given")
    questions = request.questions
    if isinstance(questions, str) or not isinstance(questions, list | tuple) or not questions:
        raise InvalidInput("questions", "give a list of one or more questions")
    if len(questions) > MAX_QUESTIONS:
        raise InvalidInput("questions", f"{len(questions)} questions; at most {MAX_QUESTIONS} per request")
    for question in questions:
        check_prompt(question, "questions")
    if request.mode not in MODES:
        raise InvalidInput("mode", f"{request.mode!r} is not one of {', '.join(MODES)}")
    if request.max_new_tokens is not None:
        check_number(request.max_new_tokens, "max_new_tokens", minimum=1, maximum=MAX_NEW_TOKENS, integer=True)
