"""A vote's write path as plain SQL statements, built once per dialect.

Every vote runs these inside the group-commit writer (``arena.db.GroupCommit``), one after another on one thread,
so their Python cost bounds how many votes a process ingests per second. Building the same SQLAlchemy expressions
for every vote cost more than the database work itself (about 1 ms of the writer's time per vote, measured with
cProfile), so the hot path sends fixed SQL text straight to the driver's cursor; the schema stays defined in
``arena.schema``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Connection

from arena.schema import RATING_CODES, Battle
from backends.core.errors import InvalidInput


@dataclass(frozen=True)
class VoteStatements:
    """The SQL of one vote, with the driver's placeholders."""

    stored: str
    recent: str
    insert: str
    count: str
    log: str


@cache
def statements(dialect: str) -> VoteStatements:
    """The vote's statements for ``dialect`` (``sqlite`` or ``postgresql``)."""
    mark, json_mark = ("%s", "%s::json") if dialect == "postgresql" else ("?", "?")
    return VoteStatements(
        stored=f"SELECT annotator_id, outcome, criteria FROM votes WHERE battle_id = {mark}",
        recent=f"SELECT count(*) FROM votes WHERE annotator_id = {mark} AND created_at > {mark}",
        insert="INSERT INTO votes (battle_id, session_id, annotator_id, outcome, criteria, seconds_to_vote, "
               f"created_at) VALUES ({mark}, {mark}, {mark}, {mark}, {json_mark}, {mark}, {mark})",
        count=f"UPDATE annotators SET n_votes = n_votes + 1 WHERE session_id = {mark} AND id = {mark} "
              "RETURNING n_votes",
        log="INSERT INTO rating_log (session_id, seq, battle_id, a, b, code, annotator_id, language) "
            f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark}, {mark}, {mark}, "
            f"(SELECT language FROM items WHERE id = {mark}))",
    )


def same_vote_stored(db: Connection, battle: Battle, annotator_id: str, outcome: str,
                     criteria: dict[str, str]) -> bool:
    """True if this very vote is stored already; an error if a different one is; False if none is."""
    sql = statements(db.dialect.name)
    stored = _cursor(db).execute(sql.stored, (battle.id,)).fetchone()
    if stored is None:
        return False
    who, choice, chosen = stored
    chosen = json.loads(chosen) if isinstance(chosen, str) else chosen
    if (who, choice, chosen or {}) != (annotator_id, outcome, criteria or {}):
        raise InvalidInput("battle_id", f"battle {battle.id} already has a different vote (one vote per battle)")
    return True


def insert_vote(db: Connection, battle: Battle, annotator_id: str, outcome: str, criteria: dict[str, str],
                now: float, max_per_minute: int, index: dict[str, int] | None) -> int:
    """Check the rate limit, store the vote (and its rating-log row when it counts) and return the annotator's
    vote count, in the caller's transaction.

    Args:
        db: the connection, inside a transaction.
        battle: the battle voted on.
        annotator_id: who voted.
        outcome: the vote.
        criteria: per-criterion choices.
        now: the vote's time.
        max_per_minute: the annotator's rate limit.
        index: the session's model numbers, for a countable vote (None: the vote does not count).

    Raises:
        InvalidInput: over the rate limit.
    """
    sql = statements(db.dialect.name)
    # The counter's UPDATE comes first: it locks the annotator's row until COMMIT, so on PostgreSQL a concurrent
    # vote of the same annotator (through any replica) waits here and then counts this one; without it both would
    # count the same recent votes and both pass the limit. (SQLite runs one writer at a time anyway.)
    cursor = _cursor(db)
    counted = cursor.execute(sql.count, (battle.session_id, annotator_id)).fetchone()
    votes = counted[0] if counted else 0
    recent = cursor.execute(sql.recent, (annotator_id, now - 60)).fetchone()[0]
    if recent >= max_per_minute:  # the caller's savepoint is rolled back, the counter's increment with it
        raise InvalidInput("annotator", f"rate limit: at most {max_per_minute} votes per minute; take a breath "
                                        "and vote again shortly")
    params: tuple[Any, ...] = (battle.id, battle.session_id, annotator_id, outcome, json.dumps(criteria or {}),
                               round(now - battle.served_at, 3), now)
    cursor.execute(sql.insert, params)
    if index is not None:
        cursor.execute(sql.log, (battle.session_id, battle.served_at, battle.id, index[battle.left_model],
                                     index[battle.right_model], RATING_CODES[outcome], annotator_id, battle.item_id))
    return votes


def _cursor(db: Connection) -> Any:
    """A cursor of the driver's own connection, inside ``db``'s transaction: SQLAlchemy's per-statement dispatch
    (events, result wrapping) cost a third of the writer's time per vote, more than the statements themselves."""
    return db.connection.driver_connection.cursor()
