"""Reading a FastChat battle file for import fast: a columnar parse whose rows equal the exact parser's.

``arena.export.parse_fastchat`` reads line by line (``json.loads`` and a dict per battle: about 4.4 s for a million
lines) and names the first bad line. Here the whole file is parsed by pyarrow's JSON reader against an explicit
schema (a third of a second) and checked column by column; the battles stay in columns (:class:`BattleColumns`)
all the way to the bulk insert, which makes its tuples once. The fast path takes only files it reproduces exactly
and hands every other file to the exact parser, so a bad file is still reported by its first bad line:

* bytes that the text-mode reader would change or refuse: a carriage return (universal newlines), invalid UTF-8;
* a non-blank line that is not one object alone, flush (``{`` first, ``}`` last: no whitespace around it, which
  pyarrow would skip where the exact parser sees a line), so rows map one to one onto non-blank lines;
* a ``criteria`` key with any value but null, a duplicate key, a value of another type than the exact parser
  reads the same way (a non-string judge is ``str()``-ed there), a non-finite ``tstamp`` or one too large to be
  read exactly as a float;
* every check of the exact parser (missing or blank model names, unknown winners, a model against itself, too
  many lines, no battles).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np

from arena import export
from arena.battle_io import arrow_integers, mapped_distinct

_EXACT_FLOAT = 2.0 ** 53  # beyond this an integer tstamp read as a float may differ from the exact parser's int


@dataclass
class BattleColumns(Sequence[dict[str, Any]]):
    """Parsed battles, one list per field, in file order; as a sequence, the rows ``parse_fastchat`` returns.

    Attributes:
        line: each battle's line number in the file.
        battle_id: ``imp-`` and a hash of the line and its number.
        left_model: ``model_a``, stripped.
        right_model: ``model_b``, stripped.
        outcome: the studio's outcome for ``winner``.
        annotator_id: the judge's pseudonym.
        tstamp: the FastChat time stamp, NaN where the line has none.
        criteria: per-criterion outcomes, or None when no battle has any (each row then reads ``{}``).
        group: the annotator group per battle, or None when none is given.
    """

    line: Sequence[int]
    battle_id: list[str]
    left_model: list[str]
    right_model: list[str]
    outcome: list[str]
    annotator_id: list[str]
    tstamp: np.ndarray
    criteria: list[dict[str, Any]] | None = None
    group: list[str] | None = None

    @classmethod
    def from_rows(cls, rows: Sequence[dict[str, Any]]) -> BattleColumns:
        """Columns from row dicts (as ``parse_fastchat`` returns them); a missing or non-numeric tstamp is NaN."""
        if isinstance(rows, BattleColumns):
            return rows

        def column(key: str) -> list[Any]:
            return [row[key] for row in rows]

        stamps = [row.get("tstamp") for row in rows]
        criteria = [row.get("criteria") or {} for row in rows]
        return cls(
            line=[row.get("line") for row in rows], battle_id=column("battle_id"), left_model=column("left_model"),
            right_model=column("right_model"), outcome=column("outcome"), annotator_id=column("annotator_id"),
            tstamp=np.array([s if isinstance(s, int | float) else np.nan for s in stamps], dtype=np.float64),
            criteria=criteria if any(criteria) else None,
            group=[row["group"] for row in rows] if any("group" in row for row in rows) else None,
        )

    def __len__(self) -> int:
        return len(self.battle_id)

    @overload
    def __getitem__(self, k: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, k: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, k: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(k, slice):
            return [self[j] for j in range(*k.indices(len(self)))]
        k = range(len(self))[k]  # negative indices, and IndexError past the end (which ends iteration)
        stamp = float(self.tstamp[k])
        row = {"line": self.line[k], "battle_id": self.battle_id[k], "left_model": self.left_model[k],
               "right_model": self.right_model[k], "outcome": self.outcome[k], "annotator_id": self.annotator_id[k],
               "tstamp": None if stamp != stamp else stamp,
               "criteria": self.criteria[k] if self.criteria is not None else {}}
        if self.group is not None:
            row["group"] = self.group[k]
        return row

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self[k] for k in range(len(self)))


def parse_fastchat_file(path: Path, pseudonym: Callable[[str], str] | None = None) -> BattleColumns:
    """Read a FastChat battle JSONL file for ``ArenaStore.import_battles``: fast when the file allows, else exactly.

    Args:
        path: the file (UTF-8).
        pseudonym: as for ``arena.export.parse_fastchat``.

    Returns:
        The battles, equal row for row to what ``parse_fastchat`` returns for the file (read as
        :meth:`BattleColumns.from_rows` does: time stamps as floats, a NaN one as none).

    Raises:
        InvalidInput: naming the first bad line (from the exact parser).
        UnicodeDecodeError: the file is not UTF-8.
    """
    fast = parse_columnar(Path(path).read_bytes(), pseudonym)
    if fast is not None:
        return fast
    with Path(path).open(encoding="utf-8", errors="strict") as handle:
        return BattleColumns.from_rows(export.parse_fastchat(handle, pseudonym))


def parse_columnar(data: bytes, pseudonym: Callable[[str], str] | None = None) -> BattleColumns | None:
    """The battles of a file's bytes when the fast path reproduces ``parse_fastchat`` exactly, else None."""
    import pyarrow as pa
    import pyarrow.json as pj

    if not data or b"\r" in data:
        return None
    try:
        data.decode("utf-8")  # the exact parser reads strictly; pyarrow does not check the fields it skips
    except UnicodeDecodeError:
        return None
    lines = data.split(b"\n")
    final_newline = not lines[-1]
    if final_newline:
        lines.pop()
    if len(lines) > export.MAX_IMPORT_LINES:
        return None
    if any(text and (text[0] != 123 or text[-1] != 125) for text in lines):  # 123 "{", 125 "}"
        return None
    schema = pa.schema([("model_a", pa.string()), ("model_b", pa.string()), ("winner", pa.string()),
                        ("judge", pa.string()), ("tstamp", pa.float64()),
                        ("criteria", pa.null())])  # any criteria but null fails the read: the exact parser keeps it
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    try:
        table = pj.read_json(pa.py_buffer(data), parse_options=options)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    blank = lines.count(b"")
    n = len(lines) - blank
    if n == 0 or table.num_rows != n:
        return None
    columns = _checked_columns(table, pseudonym)
    if columns is None:
        return None
    numbers: Sequence[int] = range(1, len(lines) + 1)
    if blank:
        numbers = [number for number, text in enumerate(lines, start=1) if text]
    # Ids hash the line as the text-mode reader yields it: with its newline, but for a last line without one.
    sha = hashlib.sha256
    ids = ["imp-" + sha(b"%d:%s\n" % (number, text)).hexdigest()[:24]
           for number, text in enumerate(lines, start=1) if text]
    if not final_newline:
        ids[-1] = "imp-" + sha(b"%d:%s" % (len(lines), lines[-1])).hexdigest()[:24]
    return BattleColumns(line=numbers, battle_id=ids, **columns)


def _checked_columns(table: Any, pseudonym: Callable[[str], str] | None) -> dict[str, Any] | None:
    """The model, outcome, annotator and tstamp columns, with the exact parser's checks; None when any fails."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = table.num_rows
    model_a, model_b, winner = (table.column(name) for name in ("model_a", "model_b", "winner"))
    if model_a.null_count or model_b.null_count or winner.null_count:
        return None
    # Names and winners are few: check and convert each distinct value once, then index.
    both = pc.dictionary_encode(pa.chunked_array(model_a.chunks + model_b.chunks, pa.string())).combine_chunks()
    names = both.dictionary.to_pylist()
    stripped = np.array([name.strip() for name in names], dtype=object)
    if not all(stripped):
        return None
    index = arrow_integers(both.indices)
    if np.any(index[:n] == index[n:]):  # compared before stripping, as the exact parser does
        return None
    outcomes = mapped_distinct(winner, export.WINNER_TO_OUTCOME, object)
    if outcomes is None:
        return None
    judges = pc.dictionary_encode(table.column("judge"), null_encoding="encode").combine_chunks()
    labels = [name or "anonymous" for name in judges.dictionary.to_pylist()]
    hashed = {label: (pseudonym or export.default_pseudonym)(label) for label in set(labels)}
    annotators = np.array([hashed[label] for label in labels], dtype=object)
    stamps = _floats(table.column("tstamp").combine_chunks())
    given = stamps[~np.isnan(stamps)]
    if given.size and not (np.all(np.isfinite(given)) and np.abs(given).max() < _EXACT_FLOAT):
        return None
    if np.isnan(stamps).sum() != table.column("tstamp").null_count:  # a NaN in the file itself
        return None
    return {"left_model": stripped[index[:n]].tolist(), "right_model": stripped[index[n:]].tolist(),
            "outcome": outcomes.tolist(),
            "annotator_id": annotators[arrow_integers(judges.indices)].tolist(), "tstamp": stamps}


def _floats(array: Any) -> np.ndarray:
    """A float64 Arrow array as numpy, NaN for nulls (without ``to_numpy``, whose first call imports pandas)."""
    values = np.frombuffer(array.buffers()[1], dtype=np.float64, count=len(array), offset=array.offset * 8).copy()
    if array.null_count:
        bits = np.unpackbits(np.frombuffer(array.buffers()[0], dtype=np.uint8), bitorder="little")
        values[bits[array.offset:array.offset + len(array)] == 0] = np.nan
    return values

