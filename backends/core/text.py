"""Prompt text: validation, language detection (zh / en / mixed), quoted text to render, and OCR accuracy.

Shared by every text-conditioned backend, the text-rendering check and the labeling sessions.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from backends.core.errors import InvalidInput

MAX_PROMPT_CHARS = 2000
_ALLOWED_CONTROL = frozenset("\n\t\r")
# CJK Unified Ideographs (+ extension A and compatibility ideographs): what makes a prompt Chinese.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# Text to render sits in quotes, as Seedream 2.0 and HunyuanImage-2.1 expect: "..." “...” ‘...’ 「...」 『...』 and
# '...' when the apostrophes are not inside a word (so "don't" is not a quote).
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|‘([^’]+)’|「([^」]+)」|『([^』]+)』|(?<!\w)'([^']+)'(?!\w)")


def check_prompt(value: Any, field: str = "prompt", *, required: bool = True) -> str:
    """Validate a prompt and return it with surrounding whitespace removed.

    Raises:
        InvalidInput: not a string, empty when required, longer than ``MAX_PROMPT_CHARS``, or holding control
            characters (other than tab and newline).
    """
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(field, f"expected text, got {type(value).__name__}")
    text = value.strip()
    if required and not text:
        raise InvalidInput(field, "must not be empty or only whitespace")
    if len(text) > MAX_PROMPT_CHARS:
        raise InvalidInput(field, f"{len(text):,} characters is longer than the limit of {MAX_PROMPT_CHARS:,}")
    for position, char in enumerate(text):
        if unicodedata.category(char) == "Cc" and char not in _ALLOWED_CONTROL:
            raise InvalidInput(field, f"control character U+{ord(char):04X} at position {position} is not allowed")
    return text


def extract_quoted(prompt: str) -> list[str]:
    """The text segments the prompt asks to render, in order (quotes removed, whitespace trimmed)."""
    found = []
    for match in _QUOTED.finditer(prompt):
        text = next(g for g in match.groups() if g is not None).strip()
        if text:
            found.append(text)
    return found


def detect_language(prompt: str) -> str:
    """Classify a prompt as ``"zh"``, ``"en"`` or ``"mixed"``.

    Quoted text is ignored (a Chinese prompt asking to render "SALE" is still Chinese). A prompt is ``zh`` when it
    has Han characters and no Latin word of two or more letters, ``en`` when it has no Han character, and
    ``mixed`` otherwise.
    """
    body = _QUOTED.sub(" ", prompt)
    han = len(_HAN.findall(body))
    latin = len(_LATIN_WORD.findall(body))
    if han and not latin:
        return "zh"
    if not han:
        if latin or not _HAN.search(prompt):
            return "en"
        return "zh"  # only the quoted text carries Han characters
    return "mixed"


def normalize_for_ocr(text: str) -> str:
    """Fold what OCR cannot be held to: case, width (full-width forms), whitespace and punctuation."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if not (ch.isspace() or unicodedata.category(ch).startswith("P")))


def infix_edit_distance(target: str, text: str) -> int:
    """Levenshtein distance between ``target`` and the substring of ``text`` that matches it best.

    OCR returns everything legible in the image, so the rendered target may sit inside other text: skipping text
    before and after the match is free (semi-global alignment). Hand-written because the usual libraries
    (rapidfuzz, python-Levenshtein) compute global distances or Indel-based partial ratios, not this; the
    strings are short (a prompt's quoted text against a poster's worth of OCR).
    """
    if not target:
        return 0
    # Column over ``target``; one pass per character of ``text``.
    previous = list(range(len(target) + 1))
    best = len(target)
    for ch in text:
        current = [0]  # a match may start anywhere in ``text``
        for i, t in enumerate(target, start=1):
            current.append(min(previous[i] + 1, current[i - 1] + 1, previous[i - 1] + (t != ch)))
        best = min(best, current[-1])
        previous = current
    return best


def char_accuracy(target: str, recognised: str) -> float:
    """Share of the target's characters rendered correctly: ``1 - distance / len(target)``, at least 0.

    Both strings are normalised with ``normalize_for_ocr`` first. A target with no legible characters left
    (only punctuation) scores 1.0.
    """
    goal = normalize_for_ocr(target)
    if not goal:
        return 1.0
    distance = infix_edit_distance(goal, normalize_for_ocr(recognised))
    return max(0.0, 1.0 - distance / len(goal))
