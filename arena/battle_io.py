"""Reading FastChat battle JSONL fast: a columnar parse, vectorised validation, model names encoded once.

Chosen by measurement on 1,000,000 lines (``bench/leaderboard_io.py``): pyarrow's multi-threaded JSON reader with an
explicit schema parses the file several times faster than ``json.loads`` per line, ``orjson`` per line, or pandas'
own reader. Each column is then checked with vectorised operations and the model names are dictionary-encoded in
one pass over both columns. A bad file is rare and must be reported precisely, so on any problem the reader
re-parses line by line (:func:`parse_lines`), which stops at the first bad line with its number.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from arena.battle_table import OUTCOMES, Battles


def parse_lines(lines: Iterable[str], source: str = "<input>") -> Battles:
    """Parse FastChat battle JSONL line by line (the exact, slower path: it names the first bad line).

    Args:
        lines: The file's lines.
        source: Name used in error messages.

    Returns:
        The battles, in file order.

    Raises:
        ValueError: ``"<source> line N: <what is wrong>"`` for the first bad line.
    """
    rows, labels = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise ValueError(f"{source} line {number}: not valid JSON ({error.msg})") from None
        labels.append(f"{source} line {number}")
    return Battles.from_records(rows, labels)


def read_battles(path: str | Path) -> Battles:
    """Read a battle JSONL file (``"-"``: standard input), fast; errors name the first bad line.

    Raises:
        ValueError: the first bad line, with its number (see :func:`parse_lines`).
        OSError: the file cannot be read.
    """
    import pyarrow as pa

    source = "<stdin>" if str(path) == "-" else str(path)
    if source == "<stdin>":
        data = sys.stdin.buffer.read()
        battles = _columnar(pa.BufferReader(data))
    else:
        data = None
        # Mapped, not read: the parser reads the page cache directly (a copy of a 100 MB file is a tenth of a second).
        with Path(path).open("rb") as probe:
            empty = not probe.read(1)
        battles = None
        if not empty:
            with pa.memory_map(source) as mapped:
                battles = _columnar(mapped)
    if battles is None:  # something is wrong somewhere: find the first bad line exactly
        data = Path(path).read_bytes() if data is None else data
        return parse_lines(data.decode("utf-8", errors="replace").splitlines(), source)
    return battles


def _columnar(source: Any) -> Battles | None:
    """The battles of a well-formed file (a pyarrow readable: memory map or buffer reader), or None when any line is
    not (the exact parser then explains)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj

    schema = pa.schema([("model_a", pa.string()), ("model_b", pa.string()), ("winner", pa.string()),
                        ("a_on_left", pa.bool_())])
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    try:
        table = pj.read_json(source, parse_options=options)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.num_rows == 0:
        return None
    model_a, model_b, winner = (table.column(n) for n in ("model_a", "model_b", "winner"))
    for column in (model_a, model_b, winner):
        if column.null_count:
            return None
    outcome = mapped_distinct(winner, OUTCOMES, np.int8)
    if outcome is None:
        return None
    # Screen side, when the file records it.
    side = table.column("a_on_left")
    sides = known = None
    if side.null_count < table.num_rows:
        known = pc.is_valid(side).to_numpy(zero_copy_only=False)
        sides = pc.fill_null(side, False).to_numpy(zero_copy_only=False)
    try:
        battles = battles_from_columns(model_a, model_b, outcome, sides, known)
    except ValueError:  # a model against itself
        return None
    # A blank name, checked on the distinct names (Python's strip, as the exact parser does) rather than per row.
    return None if any(not name.strip() for name in battles.models) else battles


def battles_from_columns(model_a: Any, model_b: Any, outcome: np.ndarray, a_on_left: np.ndarray | None = None,
                         side_known: np.ndarray | None = None) -> Battles:
    """A :class:`Battles` table from name columns (Arrow arrays or sequences of str) and outcome codes, with the
    model names dictionary-encoded once over both columns and listed by name.

    Raises:
        ValueError: a battle compares a model with itself, or the columns differ in length.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    def chunks(column: Any) -> list:
        column = column if isinstance(column, pa.ChunkedArray | pa.Array) else pa.array(column, pa.string())
        return column.chunks if isinstance(column, pa.ChunkedArray) else [column]

    n = len(outcome)
    if n == 0:
        return Battles((), np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0, np.int8))
    both = pc.dictionary_encode(pa.chunked_array(chunks(model_a) + chunks(model_b), pa.string())).combine_chunks()
    names = np.array(both.dictionary.to_pylist(), dtype=object)
    order = np.argsort(names)
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    index = rank[arrow_integers(both.indices)]
    if len(index) != 2 * n:
        raise ValueError("model_a, model_b and outcome must have the same length")
    return Battles(tuple(str(m) for m in names[order]), index[:n], index[n:], outcome, a_on_left, side_known)


def mapped_distinct(column: Any, mapping: Mapping[str, Any], dtype: Any) -> np.ndarray | None:
    """A null-free Arrow string column mapped through ``mapping``, each distinct value looked up once (a column of
    a million winners holds four); None when a value is not in ``mapping``."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(column).combine_chunks()
    distinct = encoded.dictionary.to_pylist()
    if any(value not in mapping for value in distinct):
        return None
    return np.array([mapping[value] for value in distinct], dtype=dtype)[arrow_integers(encoded.indices)]


def arrow_integers(array: Any) -> np.ndarray:
    """A null-free Arrow integer array as a numpy view of its data buffer.

    ``Array.to_numpy`` would do, but its first call imports pandas (about a quarter of a second, an eighth of the
    leaderboard CLI's whole run) to look for extension types that dictionary indices never are.
    """
    if array.null_count:
        return array.to_numpy(zero_copy_only=False)
    dtype = np.dtype(f"int{array.type.bit_width}")
    return np.frombuffer(array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * dtype.itemsize)
