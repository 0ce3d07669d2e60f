"""Reading a pool folder (``prompts.jsonl`` + ``<model>/<item_id>.png``) and checking every file before import."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from backends.core.errors import InvalidInput
from backends.core.imaging import IMAGE_SUFFIXES, load_image
from backends.core.text import check_prompt


def scan_pool(root: Path, expected_models: list[str]) -> tuple[list[tuple[dict, dict, Path | None]], dict[str, str]]:
    """Validate a pool folder completely and return what to import.

    Args:
        root: the folder.
        expected_models: the session's models (empty: take them from the folder).

    Returns:
        ``(entry, {folder: image path}, input path | None)`` per item, and ``folder -> model name`` (a dataset
        export writes ``t2i/kolors`` as the folder ``t2i__kolors``).

    Raises:
        InvalidInput: a bad prompts line, fewer than two models, models that differ from the session's, or any
            missing or unreadable image (named).
    """
    if not root.is_dir():
        raise InvalidInput("folder", f"{str(root)!r} is not a folder on the server")
    entries = read_prompts(root / "prompts.jsonl")
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != "inputs")
    names = {m: m.replace("__", "/") for m in folders}
    if len(folders) < 2:
        raise InvalidInput("folder", f"needs at least two model folders, found {folders}")
    if expected_models and sorted(expected_models) != sorted(names.values()):
        raise InvalidInput("folder", f"model folders {sorted(names.values())} differ from the session's "
                                     f"models {sorted(expected_models)}")
    planned, missing = [], []
    for entry in entries:
        files = {m: find_image(root / m, entry["item_id"]) for m in folders}
        missing += [f"{m}/{entry['item_id']}" for m, f in files.items() if f is None]
        input_file = root / entry["input_image"] if entry.get("input_image") else None
        if input_file is not None and not input_file.is_file():
            missing.append(str(entry["input_image"]))
        planned.append((entry, files, input_file))
    if missing:
        raise InvalidInput("folder", f"{len(missing)} image(s) missing, e.g. {', '.join(missing[:5])}")
    for _entry, files, input_file in planned:
        for path in [*files.values(), *([input_file] if input_file else [])]:
            load_image(path, field=str(path.relative_to(root)))
    return planned, names


def read_prompts(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise InvalidInput("folder", "has no prompts.jsonl (one JSON object per line: item_id, prompt)")
    entries, seen = [], set()
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput("prompts.jsonl", f"line {number} is not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict) or "item_id" not in record or "prompt" not in record:
            raise InvalidInput("prompts.jsonl", f"line {number} needs \"item_id\" and \"prompt\"")
        item_id = str(record["item_id"]).strip()
        if not re.fullmatch(r"[\w.\-]{1,200}", item_id):
            raise InvalidInput("prompts.jsonl", f"line {number}: item_id {item_id!r} must be a plain file name")
        if item_id in seen:
            raise InvalidInput("prompts.jsonl", f"line {number}: item_id {item_id!r} appears twice")
        seen.add(item_id)
        try:
            prompt = check_prompt(record["prompt"], "prompt")
        except InvalidInput as exc:
            raise InvalidInput("prompts.jsonl", f"line {number}: {exc}") from exc
        entries.append({**record, "item_id": item_id, "prompt": prompt})
    if not entries:
        raise InvalidInput("prompts.jsonl", "holds no items")
    return entries


def find_image(folder: Path, item_id: str) -> Path | None:
    for suffix in IMAGE_SUFFIXES:
        if (folder / f"{item_id}{suffix}").is_file():
            return folder / f"{item_id}{suffix}"
    return None


