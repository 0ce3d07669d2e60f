"""A check shared by the tab tests: folders written under the served outputs have an unguessable part."""

from __future__ import annotations

import re
from pathlib import Path


def assert_unguessable(folder: Path | str, root: Path, readable: str) -> None:
    """``folder`` is ``root/<date>/<random>/<readable>``: a random part no clock or counter predicts, and the readable
    name (a regular expression) last, for display and download."""
    date, random_part, name = Path(folder).relative_to(root).parts
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", date), folder
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,}", random_part), folder  # 96 random bits, URL-safe
    assert re.fullmatch(readable, name), folder
