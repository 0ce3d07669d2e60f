"""UniF2aceD-1M (hf ``tulvgengenr/UniF2aceD-1M``, Apache-2.0) read from a local copy: image-caption pairs for
generation and VQA pairs for Q&A.

The dataset card documents no schema (the VQA files came in PR #2, "Upload VQA", 2025-07-14), and the files cannot
be downloaded here, so the reader accepts the layouts such releases use rather than one guessed layout:

* ``.json`` (a list of records, or ``{"data"|"annotations"|"images": [...]}``) and ``.jsonl`` files, anywhere under
  the folder; ``.parquet`` files too when pyarrow is installed;
* the image under ``image`` / ``image_path`` / ``file_name`` / ``filename`` / ``img`` / ``path``, relative to the
  record's file, the folder or its ``images/`` sub-folder (an image missing locally leaves ``image`` None);
* the caption under ``caption`` / ``text`` / ``description`` / ``prompt`` / ``gpt4o_caption``;
* the VQA pairs as LLaVA-style ``conversations`` (``from``: human / gpt, the ``<image>`` tag dropped, as Show-o,
  UniF2ace's base, trains on), or ``question`` + ``answer``, or a list under ``qa`` / ``vqa`` of such pairs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backends.core.errors import InvalidInput

IMAGE_KEYS = ("image", "image_path", "file_name", "filename", "img", "path", "image_file")
CAPTION_KEYS = ("caption", "text", "description", "prompt", "gpt4o_caption")
LIST_KEYS = ("data", "annotations", "images", "samples")
HUMAN, ASSISTANT = ("human", "user"), ("gpt", "assistant", "model")
MAX_RECORDS = 100_000


@dataclass
class UniF2aceRecord:
    """One image with its caption and / or question-answer pairs.

    Attributes:
        image: the local image file, or None when the record's image is not present.
        caption: the generation caption ("" when the record has none).
        qa: ``(question, answer)`` pairs.
        source: ``file:line`` (or ``file#index``) the record came from.
    """

    image: Path | None
    caption: str = ""
    qa: list[tuple[str, str]] = field(default_factory=list)
    source: str = ""


@dataclass
class UniF2aceSet:
    """What was read from a folder.

    Attributes:
        folder: the folder.
        records: the records, in file order.
        files: the annotation files read.
        notes: what was skipped and why (unreadable lines, parquet without pyarrow, missing images).
    """

    folder: Path
    records: list[UniF2aceRecord]
    files: list[Path]
    notes: list[str] = field(default_factory=list)

    def questions(self) -> list[tuple[int, str, str]]:
        """``(record index, question, reference answer)`` for every VQA pair whose image is present."""
        return [(i, q, a) for i, r in enumerate(self.records) if r.image is not None for q, a in r.qa]

    def captions(self) -> list[str]:
        """Every caption, for generation prompts."""
        return [r.caption for r in self.records if r.caption]

    def summary(self) -> dict[str, Any]:
        """Counts for the UI."""
        return {"folder": str(self.folder), "files": [str(f.relative_to(self.folder)) for f in self.files],
                "records": len(self.records), "with_image": sum(r.image is not None for r in self.records),
                "captions": len(self.captions()), "qa_pairs": sum(len(r.qa) for r in self.records),
                "notes": self.notes}


def load_unif2ace(folder: Any, limit: int = MAX_RECORDS) -> UniF2aceSet:
    """Read a local UniF2aceD-1M copy (see the module docstring for the layouts recognised).

    Args:
        folder: the dataset folder.
        limit: stop after this many records.

    Raises:
        InvalidInput: ``folder`` is missing, or holds no recognisable record.
    """
    if not isinstance(folder, str | Path) or not str(folder).strip():
        raise InvalidInput("folder", "give the path of a local UniF2aceD-1M copy")
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise InvalidInput("folder", f"{root} is not a folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".json", ".jsonl", ".parquet") and p.is_file())
    dataset = UniF2aceSet(root, [], [], [])
    for path in files:
        if len(dataset.records) >= limit:
            break
        before = len(dataset.records)
        for item, where in _rows(path, dataset.notes):
            record = _record(item, path, root, where)
            if record is not None:
                dataset.records.append(record)
                if len(dataset.records) >= limit:
                    break
        if len(dataset.records) > before:
            dataset.files.append(path)
    if not dataset.records:
        raise InvalidInput("folder", f"no UniF2ace records found in {root}: looked for .json / .jsonl (and .parquet "
                                     f"with pyarrow) records with a caption or VQA pairs")
    missing = sum(r.image is None for r in dataset.records)
    if missing:
        dataset.notes.append(f"{missing} records name an image that is not in the folder")
    return dataset


def _rows(path: Path, notes: list[str]) -> Iterator[tuple[dict[str, Any], str]]:
    name = path.name
    if path.suffix.lower() == ".jsonl":
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as exc:
                    notes.append(f"{name}:{number}: not JSON ({exc.msg})")
                    continue
                if isinstance(item, dict):
                    yield item, f"{name}:{number}"
        return
    if path.suffix.lower() == ".parquet":
        try:
            import pyarrow.parquet as parquet
        except ImportError:
            notes.append(f"{name}: parquet needs pyarrow (pip install pyarrow); skipped")
            return
        try:
            rows = parquet.read_table(path).to_pylist()
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError, ArrowIOError an OSError
            notes.append(f"{name}: not a readable parquet file ({exc.__class__.__name__}); skipped")
            return
        for index, item in enumerate(rows):
            yield item, f"{name}#{index}"
        return
    try:
        data = json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        notes.append(f"{name}: not JSON ({exc})")
        return
    if isinstance(data, dict):
        data = next((data[k] for k in LIST_KEYS if isinstance(data.get(k), list)), [data])
    for index, item in enumerate(data if isinstance(data, list) else []):
        if isinstance(item, dict):
            yield item, f"{name}#{index}"


def _record(item: dict[str, Any], path: Path, root: Path, where: str) -> UniF2aceRecord | None:
    caption = next((str(item[k]).strip() for k in CAPTION_KEYS if isinstance(item.get(k), str)), "")
    qa = _pairs(item)
    if not caption and not qa:
        return None
    name = next((item[k] for k in IMAGE_KEYS if isinstance(item.get(k), str) and item[k].strip()), None)
    image = None
    if name:
        candidates = (path.parent / name, root / name, root / "images" / name, root / "images" / Path(name).name)
        image = next((c for c in candidates if c.is_file()), None)
    return UniF2aceRecord(image=image, caption=caption, qa=qa, source=where)


def _pairs(item: dict[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    turns = item.get("conversations")
    if isinstance(turns, list):
        question = None
        for turn in turns:
            if not isinstance(turn, dict):
                continue
            role = str(turn.get("from", turn.get("role", ""))).lower()
            text = _clean(turn.get("value", turn.get("content")))
            if role in HUMAN:
                question = text
            elif role in ASSISTANT and question:
                pairs.append((question, text))
                question = None
    if isinstance(item.get("question"), str) and isinstance(item.get("answer"), str):
        pairs.append((_clean(item["question"]), _clean(item["answer"])))
    for key in ("qa", "vqa"):
        for pair in item.get(key) or []:
            if isinstance(pair, dict) and all(isinstance(pair.get(k), str) for k in ("question", "answer")):
                pairs.append((_clean(pair["question"]), _clean(pair["answer"])))
    return [(q, a) for q, a in pairs if q and a]


def _clean(text: Any) -> str:
    return str(text or "").replace("<image>", " ").strip()
