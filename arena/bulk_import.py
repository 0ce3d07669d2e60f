"""Importing battle logs into the store at bulk speed: one transaction, the driver's own bulk paths.

A million FastChat battles become a session, its annotators, a battle and a vote row each, and the rating log, in
one transaction (all or nothing). What makes it fast, measured on SQLite (``bench/leaderboard_e2e.py``):

* rows reach the driver as plain tuples (``arena.db.bulk_insert``: ``executemany`` on SQLite, COPY on
  PostgreSQL) instead of SQLAlchemy's per-row parameter processing;
* battles and votes go in sorted by battle id, so their id indexes grow at one end, and the rating log in its own
  key order;
* on SQLite, foreign-key lookups are switched off for the transaction (every key is created in it: the session,
  then its battles, then their votes) and the page cache is enlarged so index pages stay in memory until COMMIT.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, insert

from arena.db import bulk_insert
from arena.schema import RATING_CODES, annotators, battles, rating_log, sessions, votes

SQLITE_BULK_CACHE_KB = 262_144  # page cache while importing (restored afterwards)


@contextmanager
def bulk_transaction(store: Any) -> Iterator[Connection]:
    """A transaction tuned for bulk inserts (on SQLite: no foreign-key lookups, a large page cache)."""
    with store.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # PRAGMA foreign_keys is ignored inside a transaction: set it before BEGIN, on the driver
            driver = connection.connection.driver_connection
            driver.execute("PRAGMA foreign_keys = OFF")
            driver.execute(f"PRAGMA cache_size = -{SQLITE_BULK_CACHE_KB}")
        try:
            with connection.begin():
                connection.info["after_commit"] = []
                yield connection
                after = connection.info.pop("after_commit")
            for callback in after:
                callback()
        finally:
            if sqlite:
                driver.execute("PRAGMA foreign_keys = ON")
                driver.execute("PRAGMA cache_size = -2000")


def import_battles(store: Any, session: dict[str, Any], rows: Sequence[dict[str, Any]]) -> int:
    """Create ``session`` with the battle logs ``rows`` (as ``arena.export.parse_fastchat`` returns them).

    Returns:
        The number of battles imported.

    Raises:
        IntegrityError: a battle id is stored already (nothing is imported then).
    """
    now = time.time()
    session_id = session["id"]
    # 1. everything the rows need, computed before the transaction opens
    people = {row["annotator_id"]: row.get("group", "") for row in rows}
    cast = Counter(row["annotator_id"] for row in rows)
    served = [row.get("tstamp") or now + k * 1e-6 for k, row in enumerate(rows)]  # else the order in the file
    order = sorted(range(len(rows)), key=lambda k: rows[k]["battle_id"])
    names = sorted({row["left_model"] for row in rows} | {row["right_model"] for row in rows})
    # 2. one transaction: session, model numbers, annotators, battles, votes, rating log
    with bulk_transaction(store) as db:
        db.execute(insert(sessions).values(**session, mode="imported", status="open", created_at=now))
        index = store._register_models(db, session_id, names)
        bulk_insert(db, annotators, ("session_id", "id", "group_name", "excluded", "created_at", "n_votes"),
                    [(session_id, who, group, False, now, cast[who]) for who, group in people.items()])
        bulk_insert(db, battles, ("id", "session_id", "annotator_id", "kind", "left_model", "right_model",
                                  "served_at"),
                    [(rows[k]["battle_id"], session_id, rows[k]["annotator_id"], "imported", rows[k]["left_model"],
                      rows[k]["right_model"], served[k]) for k in order])
        bulk_insert(db, votes, ("battle_id", "session_id", "annotator_id", "outcome", "criteria", "created_at"),
                    [(rows[k]["battle_id"], session_id, rows[k]["annotator_id"], rows[k]["outcome"],
                      json.dumps(rows[k]["criteria"]) if rows[k].get("criteria") else "{}", served[k])
                     for k in order])
        bulk_insert(db, rating_log, ("session_id", "seq", "battle_id", "a", "b", "code", "annotator_id"),
                    sorted((session_id, served[k], row["battle_id"], index[row["left_model"]],
                            index[row["right_model"]], RATING_CODES[row["outcome"]], row["annotator_id"])
                           for k, row in enumerate(rows) if row["outcome"] in RATING_CODES))
    return len(rows)
