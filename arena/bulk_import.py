"""Importing battle logs into the store at bulk speed: one transaction, the driver's own bulk paths.

A million FastChat battles become a session, its annotators, a battle and a vote row each, and the rating log, in
one transaction (all or nothing). What makes it fast, measured on SQLite (``bench/leaderboard_e2e.py``):

* rows reach the driver as plain tuples (``arena.db.bulk_insert``: ``executemany`` on SQLite, COPY on
  PostgreSQL) instead of SQLAlchemy's per-row parameter processing;
* battles and votes go in sorted by battle id, so their id indexes grow at one end, and the rating log in its own
  key order;
* foreign-key checks are switched off for the transaction, because every key the rows refer to is created in it
  (the session, then its battles, then their votes, all from the same id list) and no other transaction can see
  those keys, let alone delete them, before COMMIT. On SQLite that is ``PRAGMA foreign_keys``; on PostgreSQL it is
  ``SET LOCAL session_replication_role = replica``, the switch ``pg_restore --disable-triggers`` uses, which skips
  the per-row key-check triggers (about 8 of 22 s at a million battles) but not the unique indexes or CHECKs, so a
  battle id stored before still fails the import. PostgreSQL lets only a superuser, or a role granted
  ``SET ON PARAMETER session_replication_role`` (PostgreSQL 15+), set it; any other role imports with the checks on;
* on SQLite the page cache is enlarged so index pages stay in memory until COMMIT.
"""

from __future__ import annotations

import gc
import json
import logging
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from typing import Any

import numpy as np
from sqlalchemy import Connection, insert
from sqlalchemy.exc import DBAPIError

from arena.battle_import_parse import BattleColumns
from arena.db import bulk_insert
from arena.schema import RATING_CODES, annotators, battles, rating_log, sessions, votes

SQLITE_BULK_CACHE_KB = 262_144  # page cache while importing (restored afterwards)
log = logging.getLogger(__name__)


@contextmanager
def bulk_transaction(store: Any) -> Iterator[Connection]:
    """A transaction tuned for bulk inserts whose rows refer only to keys created in it: no foreign-key checks
    (where the database role may switch them off), and on SQLite a large page cache."""
    with store.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # PRAGMA foreign_keys is ignored inside a transaction: set it before BEGIN, on the driver
            driver = connection.connection.driver_connection
            driver.execute("PRAGMA foreign_keys = OFF")
            driver.execute(f"PRAGMA cache_size = -{SQLITE_BULK_CACHE_KB}")
        try:
            with connection.begin():
                connection.info["after_commit"] = []
                if not sqlite:
                    _key_checks_off(connection)
                yield connection
                after = connection.info["after_commit"]
            for callback in after:
                callback()
        finally:
            connection.info.pop("after_commit", None)  # the pooled connection's info outlives this transaction
            if sqlite:
                driver.execute("PRAGMA foreign_keys = ON")
                driver.execute("PRAGMA cache_size = -2000")


def _key_checks_off(connection: Connection) -> None:
    """Switch PostgreSQL's foreign-key triggers off until the end of the current transaction, if the role may.

    A role that may not set ``session_replication_role`` leaves them on: the SET is tried in a savepoint, so its
    refusal does not abort the transaction.
    """
    try:
        with connection.begin_nested():  # a released savepoint keeps its SET LOCAL until the transaction ends
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
    except DBAPIError as exc:
        log.info("bulk import with foreign-key checks on (%s); a superuser, or a role granted SET ON PARAMETER "
                 "session_replication_role, imports faster", str(exc.orig).strip().splitlines()[0])


def import_battles(store: Any, session: dict[str, Any], rows: Sequence[dict[str, Any]]) -> int:
    """Create ``session`` with the battle logs ``rows`` (as ``arena.export.parse_fastchat`` returns them, or the
    same as ``arena.battle_import_parse.BattleColumns``).

    Returns:
        The number of battles imported.

    Raises:
        IntegrityError: a battle id is stored already (nothing is imported then).
    """
    with _collector_paused():
        return _import(store, session, BattleColumns.from_rows(rows))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the duration: the import allocates millions of tuples (no cycles
    among them), and each full collection they trigger walks every live object, costing seconds in all."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _import(store: Any, session: dict[str, Any], table: BattleColumns) -> int:
    now = time.time()
    session_id = session["id"]
    # 1. everything the rows need, computed column by column before the transaction opens (a dict or tuple per
    # battle more than the ones handed to the driver costs seconds at a million)
    n = len(table)
    groups = table.group if table.group is not None else repeat("")
    people = dict(zip(table.annotator_id, groups, strict=False))
    cast = Counter(table.annotator_id)
    stamps = table.tstamp
    # a missing (or zero) tstamp: the order in the file
    served = np.where(np.isnan(stamps) | (stamps == 0), now + np.arange(n) * 1e-6, stamps)
    order = np.array(sorted(range(n), key=table.battle_id.__getitem__), dtype=np.intp)

    def by_id(column: Sequence[Any]) -> list[Any]:
        return np.array(column, dtype=object)[order].tolist()

    ids, annotator, left, right, outcome = (by_id(c) for c in (table.battle_id, table.annotator_id,
                                                               table.left_model, table.right_model, table.outcome))
    criteria = (by_id([_json(c) for c in table.criteria]) if table.criteria is not None
                else repeat("{}", n))
    served_by_id = served[order]
    times = served_by_id.tolist()
    names = sorted(set(table.left_model) | set(table.right_model))
    # the rating log (countable votes) in its key order: serving time, then battle id (a stable sort of the id order)
    counted = np.flatnonzero([o in RATING_CODES for o in outcome])
    by_time = counted[np.argsort(served_by_id[counted], kind="stable")]

    def by_time_order(column: Sequence[Any]) -> list[Any]:
        return np.array(column, dtype=object)[by_time].tolist()

    # 2. one transaction: session, model numbers, annotators, battles, votes, rating log. The big tables' rows are
    # made as the driver takes them: on PostgreSQL that happens while the server works through the rows sent before.
    with bulk_transaction(store) as db:
        db.execute(insert(sessions).values(**session, mode="imported", status="open", created_at=now))
        index = store._register_models(db, session_id, names)
        bulk_insert(db, annotators, ("session_id", "id", "group_name", "excluded", "created_at", "n_votes"),
                    [(session_id, who, group, False, now, cast[who]) for who, group in people.items()])
        bulk_insert(db, battles, ("id", "session_id", "annotator_id", "kind", "left_model", "right_model",
                                  "served_at"),
                    zip(ids, repeat(session_id), annotator, repeat("imported"), left, right, times, strict=False))
        bulk_insert(db, votes, ("battle_id", "session_id", "annotator_id", "outcome", "criteria", "created_at"),
                    zip(ids, repeat(session_id), annotator, outcome, criteria, times, strict=False))
        a, b = ([index[name] for name in column] for column in (left, right))
        bulk_insert(db, rating_log, ("session_id", "seq", "battle_id", "a", "b", "code", "annotator_id"),
                    zip(repeat(session_id), served_by_id[by_time].tolist(), by_time_order(ids), by_time_order(a),
                        by_time_order(b), by_time_order([RATING_CODES.get(o) for o in outcome]),
                        by_time_order(annotator), strict=False))
    return n


def _json(criteria: dict[str, Any]) -> str:
    """A vote's criteria as the JSON text the votes table stores."""
    return json.dumps(criteria) if criteria else "{}"
