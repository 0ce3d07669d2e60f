"""Labeling sessions, annotators, items, battles and votes in a real database.

SQLite (WAL, ``synchronous=FULL``) under the data dir by default, or any SQLAlchemy URL (PostgreSQL) from
``STUDIO_DATABASE_URL``. Every vote the client is told about has been committed first, so it survives a crash.
A second vote on a battle is impossible by construction (``UNIQUE(battle_id)`` on votes); every multi-row write
(a pool import, an annotator exclusion) is one transaction, so nothing is ever half-written.

The tables and record types are defined in ``arena.schema``; they are re-exported here, where callers have always
imported them from.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from arena.schema import (
    BATTLE_KINDS,
    CRITERION_CHOICES,
    OUTCOMES,
    REVEALS,
    Battle,
    ItemRecord,
    Session,
    admin_audit,
    annotators,
    battles,
    invites,
    items,
    metadata,
    outputs,
    sessions,
    votes,
)
from backends.core.errors import InvalidInput

__all__ = [
    "BATTLE_KINDS",
    "CRITERION_CHOICES",
    "OUTCOMES",
    "REVEALS",
    "ArenaStore",
    "Battle",
    "ItemRecord",
    "Session",
    "metadata",
]


def _row(model: type, row: Any) -> Any:
    return model(**dict(row._mapping))


class ArenaStore:
    """Database access for the labeling sessions.

    Args:
        url: SQLAlchemy URL (``sqlite:///path.db`` or ``postgresql+psycopg://...``).
        image_dir: folder of the content-addressed image store.
    """

    def __init__(self, url: str, image_dir: Path) -> None:
        self.url = url
        self.image_dir = image_dir
        self.engine: Engine = _make_engine(url)
        metadata.create_all(self.engine)
        self._items_cache: dict[str, tuple[tuple, list[dict[str, Any]]]] = {}

    @classmethod
    def open(cls, data_dir: Path, database_url: str = "") -> ArenaStore:
        """The studio's store: ``database_url`` if given, else SQLite at ``<data_dir>/arena/arena.db``."""
        folder = data_dir / "arena"
        folder.mkdir(parents=True, exist_ok=True)
        url = database_url or f"sqlite:///{(folder / 'arena.db').resolve()}"
        return cls(url, folder / "images")

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One atomic unit of work: committed on success, rolled back on any error."""
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only connection (on SQLite a deferred transaction, which never waits for writers in WAL)."""
        with self.engine.connect() as connection:
            yield connection.execution_options(read_only=True)

    # ----------------------------------------------------------------------------------------------------------------
    # Admin audit log and invites
    # ----------------------------------------------------------------------------------------------------------------
    def audit(self, client: str, action: str, target: str, ok: bool) -> None:
        """Record an admin action (who, what, when, allowed or not); never pass secrets here."""
        with self.transaction() as db:
            db.execute(insert(admin_audit).values(at=time.time(), client=client[:128], action=action[:64],
                                                  target=target[:256], ok=bool(ok)))

    def admin_calls(self, client: str, since: float) -> tuple[int, int]:
        """Admin calls of ``client`` since ``since`` (Unix time): all of them, and the refused ones."""
        with self.reading() as db:
            total, refused = db.execute(
                select(func.count(), func.count().filter(admin_audit.c.ok.is_(False)))
                .where(admin_audit.c.client == client, admin_audit.c.at >= since)).one()
        return int(total), int(refused)

    def audit_log(self, limit: int = 200) -> list[dict[str, Any]]:
        """The latest admin actions, newest first."""
        with self.reading() as db:
            rows = db.execute(select(admin_audit).order_by(admin_audit.c.id.desc()).limit(limit)).all()
        return [dict(r._mapping) for r in rows]

    def add_invites(self, session_id: str, entries: Sequence[tuple[str, str]]) -> None:
        """Store invites as ``(annotator id, alias)`` pairs, all or nothing."""
        now = time.time()
        try:
            with self.transaction() as db:
                for annotator_id, alias in entries:
                    db.execute(insert(invites).values(session_id=session_id, annotator_id=annotator_id,
                                                      alias=alias, created_at=now))
        except IntegrityError as exc:
            raise InvalidInput("aliases", "an invite with this token exists already; create new ones") from exc

    def invite_aliases(self, session_id: str) -> dict[str, str]:
        """Annotator id -> alias of the session's invites."""
        with self.reading() as db:
            rows = db.execute(select(invites.c.annotator_id, invites.c.alias)
                              .where(invites.c.session_id == session_id)).all()
        return {r.annotator_id: r.alias for r in rows}

    # ----------------------------------------------------------------------------------------------------------------
    # Sessions and annotators
    # ----------------------------------------------------------------------------------------------------------------
    def create_session(self, session_id: str, name: str, task: str, mode: str, config: dict[str, Any]) -> Session:
        """Insert a session; its id must be new."""
        row = {"id": session_id, "name": name, "task": task, "mode": mode, "config": config, "status": "open",
               "created_at": time.time()}
        try:
            with self.transaction() as db:
                db.execute(insert(sessions).values(**row))
        except IntegrityError as exc:
            raise InvalidInput("session", f"a session with id {session_id!r} already exists") from exc
        return Session(**row)

    def session(self, session_id: Any) -> Session:
        """The session with this id.

        Raises:
            InvalidInput: no such session.
        """
        with self.reading() as db:
            row = db.execute(select(sessions).where(sessions.c.id == str(session_id))).first()
        if row is None:
            raise InvalidInput("session", f"unknown session {session_id!r}")
        return _row(Session, row)

    def sessions(self) -> list[Session]:
        """All sessions, newest first."""
        with self.reading() as db:
            rows = db.execute(select(sessions).order_by(sessions.c.created_at.desc())).all()
        return [_row(Session, r) for r in rows]

    def set_session_status(self, session_id: str, status: str) -> None:
        """Open or close a session."""
        with self.transaction() as db:
            db.execute(update(sessions).where(sessions.c.id == session_id).values(status=status))

    def update_config(self, session_id: str, config: dict[str, Any]) -> None:
        """Replace a session's configuration (admin edits such as a new vote target)."""
        with self.transaction() as db:
            db.execute(update(sessions).where(sessions.c.id == session_id).values(config=config))

    def ensure_annotator(self, session_id: str, annotator_id: str, group: str = "") -> dict[str, Any]:
        """The annotator's row in this session, created on first sight."""
        with self.transaction() as db:
            row = db.execute(select(annotators).where(
                annotators.c.session_id == session_id, annotators.c.id == annotator_id)).first()
            if row is None:
                try:
                    with db.begin_nested():
                        db.execute(insert(annotators).values(session_id=session_id, id=annotator_id,
                                                             group_name=group, excluded=False,
                                                             created_at=time.time()))
                except IntegrityError:
                    pass  # a concurrent first request created it
                row = db.execute(select(annotators).where(
                    annotators.c.session_id == session_id, annotators.c.id == annotator_id)).first()
        return dict(row._mapping)

    def annotator_rows(self, session_id: str) -> list[dict[str, Any]]:
        """Every annotator of a session."""
        with self.reading() as db:
            rows = db.execute(select(annotators).where(annotators.c.session_id == session_id)).all()
        return [dict(r._mapping) for r in rows]

    def set_excluded(self, session_id: str, annotator_ids: Sequence[str], excluded: bool) -> int:
        """Exclude (or re-include) annotators from the leaderboard; returns how many rows changed."""
        with self.transaction() as db:
            result = db.execute(update(annotators).where(
                annotators.c.session_id == session_id, annotators.c.id.in_(list(annotator_ids))).values(
                excluded=excluded))
        return result.rowcount

    # ----------------------------------------------------------------------------------------------------------------
    # Items and outputs
    # ----------------------------------------------------------------------------------------------------------------
    def add_items(self, session_id: str, records: Sequence[ItemRecord]) -> int:
        """Insert items with their outputs in one transaction; an item key already present is an error.

        Returns:
            The number of items added.
        """
        with self.transaction() as db:
            for record in records:
                try:
                    with db.begin_nested():
                        item_id = db.execute(insert(items).values(
                            session_id=session_id, item_key=record.item_key, prompt=record.prompt,
                            language=record.language, input_image=record.input_image)).inserted_primary_key[0]
                except IntegrityError as exc:
                    raise InvalidInput("item_id", f"{record.item_key!r} is already in session {session_id}") from exc
                for model, image in record.outputs.items():
                    db.execute(insert(outputs).values(item_id=item_id, model=model, image=image,
                                                      recipe=record.recipes.get(model)))
        return len(records)

    def add_output(self, item_id: int, model: str, image: str, recipe: dict[str, Any] | None) -> None:
        """Store one generated output (live mode); a concurrent duplicate keeps the first."""
        try:
            with self.transaction() as db:
                db.execute(insert(outputs).values(item_id=item_id, model=model, image=image, recipe=recipe))
        except IntegrityError:
            pass

    def items(self, session_id: str) -> list[dict[str, Any]]:
        """Items of a session with their outputs as ``{model: image}`` (shared, read-only).

        Served from memory while a one-row fingerprint (item and output counts, newest output) is unchanged:
        items are read on every battle served but only change on imports and live generation.
        """
        stamp_query = (select(func.count(func.distinct(items.c.id)), func.count(outputs.c.id), func.max(outputs.c.id))
                       .select_from(items.outerjoin(outputs, outputs.c.item_id == items.c.id))
                       .where(items.c.session_id == session_id))
        with self.reading() as db:
            stamp = tuple(db.execute(stamp_query).one())
            cached = self._items_cache.get(session_id)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            item_rows = db.execute(select(items).where(items.c.session_id == session_id).order_by(items.c.id)).all()
            output_rows = db.execute(select(outputs.c.item_id, outputs.c.model, outputs.c.image).join(
                items, items.c.id == outputs.c.item_id).where(items.c.session_id == session_id)).all()
        by_item: dict[int, dict[str, str]] = {}
        for item_id, model, image in output_rows:
            by_item.setdefault(item_id, {})[model] = image
        result = [{**dict(r._mapping), "outputs": by_item.get(r.id, {})} for r in item_rows]
        self._items_cache[session_id] = (stamp, result)
        return result

    def item(self, item_id: int) -> dict[str, Any]:
        """One item with its outputs."""
        with self.reading() as db:
            row = db.execute(select(items).where(items.c.id == item_id)).first()
            outs = db.execute(select(outputs.c.model, outputs.c.image, outputs.c.recipe).where(
                outputs.c.item_id == item_id)).all()
        return {**dict(row._mapping), "outputs": {m: i for m, i, _ in outs}, "recipes": {m: r for m, _, r in outs}}

    # ----------------------------------------------------------------------------------------------------------------
    # Battles and votes
    # ----------------------------------------------------------------------------------------------------------------
    def add_battle(self, battle: Battle) -> Battle:
        """Record that a pair was served to an annotator."""
        with self.transaction() as db:
            db.execute(insert(battles).values(**battle.__dict__))
        return battle

    def battle(self, battle_id: Any) -> Battle:
        """The battle with this id.

        Raises:
            InvalidInput: no such battle.
        """
        with self.reading() as db:
            row = db.execute(select(battles).where(battles.c.id == str(battle_id))).first()
        if row is None:
            raise InvalidInput("battle_id", f"unknown battle {battle_id!r}")
        return _row(Battle, row)

    def pending_battle(self, session_id: str, annotator_id: str) -> Battle | None:
        """The annotator's battle that was served but not voted on yet, if any (it is served again)."""
        voted = select(votes.c.battle_id).where(votes.c.battle_id == battles.c.id).exists()
        with self.reading() as db:
            row = db.execute(select(battles).where(
                battles.c.session_id == session_id, battles.c.annotator_id == annotator_id, ~voted,
                battles.c.kind != "imported").order_by(battles.c.served_at).limit(1)).first()
        return None if row is None else _row(Battle, row)

    def record_vote(self, battle: Battle, annotator_id: str, outcome: str, criteria: dict[str, str],
                    max_per_minute: int) -> int:
        """Store a vote, durably, and return how many votes the annotator has in the session.

        The rate limit is checked inside the same transaction, so concurrent requests cannot slip past it.

        Raises:
            InvalidInput: a second vote on the battle, or the annotator is over the rate limit.
        """
        now = time.time()
        try:
            with self.transaction() as db:
                recent = db.execute(select(func.count()).select_from(votes).where(
                    votes.c.annotator_id == annotator_id, votes.c.created_at > now - 60)).scalar_one()
                if recent >= max_per_minute:
                    raise InvalidInput("annotator", f"rate limit: at most {max_per_minute} votes per minute; "
                                                    "take a breath and vote again shortly")
                db.execute(insert(votes).values(
                    battle_id=battle.id, session_id=battle.session_id, annotator_id=annotator_id, outcome=outcome,
                    criteria=criteria, seconds_to_vote=round(now - battle.served_at, 3), created_at=now))
                return db.execute(select(func.count()).select_from(votes).where(
                    votes.c.session_id == battle.session_id, votes.c.annotator_id == annotator_id)).scalar_one()
        except IntegrityError as exc:
            raise InvalidInput("battle_id", f"battle {battle.id} already has a vote (one vote per battle)") from exc

    def import_battles(self, session: dict[str, Any], rows: Sequence[dict[str, Any]]) -> int:
        """Create ``session`` (id, name, task, config) with imported battle logs (a battle and its vote per row,
        annotators as needed): all in one transaction, so a failure leaves no session behind.

        Raises:
            InvalidInput: a battle was imported before (naming its line and the session holding it).
        """
        now = time.time()
        session_id = session["id"]
        try:
            with self.transaction() as db:
                db.execute(insert(sessions).values(**session, mode="imported", status="open", created_at=now))
                known: set[str] = set()
                for row in rows:
                    if row["annotator_id"] not in known:
                        known.add(row["annotator_id"])
                        db.execute(insert(annotators).values(session_id=session_id, id=row["annotator_id"],
                                                             group_name=row.get("group", ""), excluded=False,
                                                             created_at=now))
                    stamp = row.get("tstamp") or now
                    db.execute(insert(battles).values(
                        id=row["battle_id"], session_id=session_id, item_id=None, annotator_id=row["annotator_id"],
                        kind="imported", left_model=row["left_model"], right_model=row["right_model"],
                        left_image=None, right_image=None, gold_answer=None, repeat_of=None, served_at=stamp))
                    db.execute(insert(votes).values(
                        battle_id=row["battle_id"], session_id=session_id, annotator_id=row["annotator_id"],
                        outcome=row["outcome"], criteria=row.get("criteria") or {}, seconds_to_vote=None,
                        created_at=stamp))
        except IntegrityError as exc:
            raise self._duplicate_import(rows) from exc
        return len(rows)

    def _duplicate_import(self, rows: Sequence[dict[str, Any]]) -> InvalidInput:
        """The error for an import that hit a battle stored before: names the first such line and its session."""
        line_of = {row["battle_id"]: row.get("line") for row in rows}
        ids = list(line_of)
        with self.reading() as db:
            for start in range(0, len(ids), 900):  # stay under SQLite's bound-parameter limit
                found = db.execute(select(battles.c.id, battles.c.session_id)
                                   .where(battles.c.id.in_(ids[start:start + 900]))).all()
                if found:
                    first = min(found, key=lambda hit: line_of[hit.id])
                    return InvalidInput("battles", f"line {line_of[first.id]} was imported before (into session "
                                                   f"{first.session_id!r}); nothing was imported")
        return InvalidInput("battles", "the file repeats a battle; nothing was imported")

    def battle_rows(self, session_id: str) -> list[dict[str, Any]]:
        """Every battle of a session joined with its vote (None when not voted) and its item's language."""
        query = (
            select(battles, votes.c.outcome, votes.c.criteria, votes.c.created_at.label("voted_at"),
                   votes.c.seconds_to_vote, items.c.language, items.c.prompt, items.c.item_key,
                   annotators.c.group_name, annotators.c.excluded)
            .select_from(battles.outerjoin(votes, votes.c.battle_id == battles.c.id)
                         .outerjoin(items, items.c.id == battles.c.item_id)
                         .outerjoin(annotators, (annotators.c.id == battles.c.annotator_id)
                                    & (annotators.c.session_id == battles.c.session_id)))
            .where(battles.c.session_id == session_id)
            .order_by(battles.c.served_at, battles.c.id)
        )
        with self.reading() as db:
            return [dict(r._mapping) for r in db.execute(query).all()]

    def sampler_view(self, session_id: str, annotator_id: str) -> tuple[list[tuple], list[dict[str, Any]]]:
        """What the pair sampler needs, aggregated in SQL so its cost does not grow with the battles served.

        Returns:
            Unit counts ``(item_id, left, right, mine, voted, count)`` over normal and repeat battles, and this
            annotator's own battles (id, item_id, kind, models, repeat_of, outcome).
        """
        voted = select(votes.c.battle_id).where(votes.c.battle_id == battles.c.id).exists()
        mine = battles.c.annotator_id == annotator_id
        counts = (
            select(battles.c.item_id, battles.c.left_model, battles.c.right_model, mine.label("mine"),
                   voted.label("voted"), func.count())
            .where(battles.c.session_id == session_id, battles.c.kind.in_(("normal", "repeat")))
            .group_by(battles.c.item_id, battles.c.left_model, battles.c.right_model, mine, voted)
        )
        own = (
            select(battles.c.id, battles.c.item_id, battles.c.kind, battles.c.left_model, battles.c.right_model,
                   battles.c.repeat_of, votes.c.outcome)
            .select_from(battles.outerjoin(votes, votes.c.battle_id == battles.c.id))
            .where(battles.c.session_id == session_id, mine)
        )
        with self.reading() as db:
            return [tuple(r) for r in db.execute(counts).all()], [dict(r._mapping) for r in db.execute(own).all()]

    def vote_count(self, session_id: str, annotator_id: str | None = None) -> int:
        """Votes in a session (of one annotator when given)."""
        query = select(func.count()).select_from(votes).where(votes.c.session_id == session_id)
        if annotator_id is not None:
            query = query.where(votes.c.annotator_id == annotator_id)
        with self.reading() as db:
            return db.execute(query).scalar_one()


def _make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite otherwise defers it), so that write
        # transactions take the write lock up front and wait for it (busy_timeout) instead of failing on upgrade.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # a committed vote is on disk before the client hears of it
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get("read_only", False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
