"""Battle logs in and out: FastChat's battle schema, a dataset of battles with their images, and preference pairs
for reward-model / DPO training.

FastChat schema (``clean_battle_data``): ``model_a``, ``model_b``, ``winner`` in ``model_a`` | ``model_b`` |
``tie`` | ``tie (bothbad)``, plus ``judge``, ``tstamp``, ``language``, ``anony``. In the studio ``model_a`` is the
model shown on the left.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from backends.core.errors import InvalidInput

WINNERS = ("model_a", "model_b", "tie", "tie (bothbad)")
_OUTCOME_TO_WINNER = MappingProxyType({"left": "model_a", "right": "model_b", "both_good": "tie",
                                       "both_bad": "tie (bothbad)"})
WINNER_TO_OUTCOME = MappingProxyType({v: k for k, v in _OUTCOME_TO_WINNER.items()})
MAX_IMPORT_LINES = 2_000_000


def countable(row: Mapping[str, Any]) -> bool:
    """Whether a battle row counts for the leaderboard and exports: voted, not skipped, not a gold or repeat check."""
    return row.get("outcome") not in (None, "skip") and row["kind"] in ("normal", "imported")


def fastchat_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Countable battles in FastChat's schema (with the studio's extra keys: item, criteria, group)."""
    out = []
    for row in rows:
        if not countable(row):
            continue
        out.append({
            "question_id": row["id"],
            "model_a": row["left_model"],
            "model_b": row["right_model"],
            "winner": _OUTCOME_TO_WINNER[row["outcome"]],
            "judge": row["annotator_id"],
            "tstamp": row.get("voted_at"),
            "language": row.get("language"),
            "anony": True,
            "turn": 1,
            "item_id": row.get("item_key"),
            "prompt": row.get("prompt"),
            "criteria": row.get("criteria") or {},
            "annotator_group": row.get("group_name") or "",
        })
    return out


def default_pseudonym(judge: str) -> str:
    """An imported judge's annotator id when no keyed hash is given (tests): an unkeyed hash of the name."""
    return "j-" + hashlib.sha256(judge.encode()).hexdigest()[:16]


def parse_fastchat(lines: Iterable[str], pseudonym: Callable[[str], str] | None = None) -> list[dict[str, Any]]:
    """Validate FastChat battle JSONL and return rows ready for ``ArenaStore.import_battles``.

    Args:
        lines: the file's lines.
        pseudonym: the keyed hash that turns a judge into an annotator id (the labeling service's, so imported
            judges are as unlinkable as annotators); default an unkeyed hash, for tests.

    Raises:
        InvalidInput: naming the first bad line and what is wrong with it (nothing is imported then).
    """
    rows = []
    judges: dict[str, str] = {}  # a keyed hash per distinct judge, not per line
    for number, line in enumerate(lines, start=1):
        if number > MAX_IMPORT_LINES:
            raise InvalidInput("battles", f"more than {MAX_IMPORT_LINES:,} lines")
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput("battles", f"line {number} is not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise InvalidInput("battles", f"line {number} is not a JSON object")
        for key in ("model_a", "model_b", "winner"):
            if not isinstance(record.get(key), str) or not record[key].strip():
                raise InvalidInput("battles", f"line {number} has no {key!r}")
        if record["winner"] not in WINNERS:
            raise InvalidInput("battles", f"line {number}: winner {record['winner']!r} is not one of {WINNERS}")
        if record["model_a"] == record["model_b"]:
            raise InvalidInput("battles", f"line {number}: a model cannot battle itself ({record['model_a']})")
        judge = str(record.get("judge") or "anonymous")
        digest = hashlib.sha256(f"{number}:{line}".encode()).hexdigest()[:24]
        rows.append({
            "line": number,
            "battle_id": f"imp-{digest}",
            "left_model": record["model_a"].strip(),
            "right_model": record["model_b"].strip(),
            "outcome": WINNER_TO_OUTCOME[record["winner"]],
            # Judges are pseudonymised like annotators: the export never carries an imported IP or user name.
            "annotator_id": judges.get(judge) or judges.setdefault(
                judge, pseudonym(judge) if pseudonym else default_pseudonym(judge)),
            "tstamp": record.get("tstamp") if isinstance(record.get("tstamp"), int | float) else None,
            "criteria": record.get("criteria") if isinstance(record.get("criteria"), dict) else {},
        })
    if not rows:
        raise InvalidInput("battles", "the file holds no battles")
    return rows


def preference_pairs(rows: Iterable[Mapping[str, Any]], image_path: Any) -> list[dict[str, Any]]:
    """Decisive votes (overall and per criterion) as ``prompt`` / ``chosen`` / ``rejected`` pairs.

    Args:
        rows: battle rows.
        image_path: ``(model, item_key) -> relative image path`` in the exported dataset.
    """
    pairs = []
    for row in rows:
        if not countable(row) or row.get("item_key") is None:
            continue
        judgements = {"overall": row["outcome"], **(row.get("criteria") or {})}
        for criterion, choice in judgements.items():
            if choice not in ("left", "right"):
                continue
            chosen, rejected = (row["left_model"], row["right_model"])[:: 1 if choice == "left" else -1]
            pairs.append({
                "prompt": row.get("prompt"), "chosen": image_path(chosen, row["item_key"]),
                "rejected": image_path(rejected, row["item_key"]), "chosen_model": chosen,
                "rejected_model": rejected, "criterion": criterion, "annotator": row["annotator_id"],
                "item_id": row["item_key"], "language": row.get("language"), "battle_id": row["id"],
            })
    return pairs


def write_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> Path:
    """Write records as JSON lines (UTF-8, Chinese readable); atomic."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    with tmp.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def write_dataset(folder: Path, items: list[dict[str, Any]], rows: list[dict[str, Any]],
                  image_file: Callable[[str], Path], session: Mapping[str, Any]) -> Path:
    """A self-contained dataset: the pool layout (``prompts.jsonl``, ``<model>/<item>.png``, ``inputs/``) plus
    ``battles.jsonl`` (FastChat schema), ``preferences.jsonl`` (DPO pairs) and ``session.json``; zipped.

    The folder can be imported again as a pool; ``image_file`` gives a stored image's local file. Returns the zip
    file.
    """
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    prompts = []
    for item in items:
        entry = {"item_id": item["item_key"], "prompt": item["prompt"], "language": item["language"]}
        if item.get("input_image"):
            entry["input_image"] = f"inputs/{_safe(item['item_key'])}.png"
            _copy(image_file(item["input_image"]), folder / entry["input_image"])
        for model, image in item["outputs"].items():
            _copy(image_file(image), folder / _safe(model) / f"{_safe(item['item_key'])}.png")
        prompts.append(entry)
    write_jsonl(folder / "prompts.jsonl", prompts)
    write_jsonl(folder / "battles.jsonl", fastchat_rows(rows))
    write_jsonl(folder / "preferences.jsonl",
                preference_pairs(rows, lambda model, key: f"{_safe(model)}/{_safe(key)}.png"))
    (folder / "session.json").write_text(json.dumps(dict(session), ensure_ascii=False, indent=2), "utf-8")
    archive = folder.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder.parent))
    return archive


def _safe(name: str) -> str:
    """A model key or item id as a file name (``t2i/kolors`` -> ``t2i__kolors``)."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name.replace("/", "__"))


def model_folder(name: str) -> str:
    """The folder name a model's images use in a pool or dataset (inverse of how pools name models)."""
    return _safe(name)


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
