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

from sqlalchemy import Connection, Engine, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from arena import migrate, vote_sql
from arena.db import GroupCommit, bulk_insert, insert_new, make_engine
from arena.schema import (
    BATTLE_KINDS,
    CRITERION_CHOICES,
    OUTCOMES,
    RATING_CODES,
    REVEALS,
    Battle,
    ItemRecord,
    Session,
    admin_audit,
    annotators,
    battles,
    images,
    invites,
    items,
    metadata,
    outputs,
    secrets,
    session_models,
    sessions,
    votes,
)
from backends.core.errors import InvalidInput

# How long a replica may serve a session's row from memory (it is read on every call): another replica's change,
# such as closing the session, is seen within this many seconds.
SESSION_TTL = 1.0
# How stale the sampler's per-pair counts and a session's vote total may be (other replicas' votes; a replica counts
# its own at once): the counts only balance which pair comes next, the total is progress shown to annotators, and
# recounting a large session on every serve or vote would not scale.
COUNTS_TTL = 1.0

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
        self.engine: Engine = make_engine(url)
        migrate.upgrade(self.engine)  # creates or upgrades in place (Alembic); never drops data
        self.writer = GroupCommit(self.engine)  # the hot writes (battles served, votes): one fsync per group
        self._items_cache: dict[str, tuple[tuple, list[dict[str, Any]]]] = {}
        # session -> model -> index, as stored in session_models (rows never change once written, so a cached
        # entry stays true for every replica)
        self._model_index: dict[str, dict[str, int]] = {}
        self._annotators: set[tuple[str, str]] = set()  # (session, annotator) rows known to exist
        self._sessions: dict[str, tuple[float, Session]] = {}  # read on every call; see SESSION_TTL
        self._unit_counts: dict[str, tuple[float, list[tuple]]] = {}  # the sampler's balance counts, see below
        self._totals: dict[str, tuple[float, int]] = {}  # session -> (read at, votes): see session_votes
        self._item_rows: dict[int, dict[str, Any]] = {}  # prompt, language, input image: never change

    @classmethod
    def open(cls, data_dir: Path, database_url: str = "") -> ArenaStore:
        """The studio's store: ``database_url`` if given, else SQLite at ``<data_dir>/arena/arena.db``."""
        folder = data_dir / "arena"
        folder.mkdir(parents=True, exist_ok=True)
        url = database_url or f"sqlite:///{(folder / 'arena.db').resolve()}"
        return cls(url, folder / "images")

    @property
    def is_sqlite(self) -> bool:
        """True for a SQLite file (one host); False for a database server that replicas may share."""
        return self.engine.dialect.name == "sqlite"

    # ----------------------------------------------------------------------------------------------------------------
    # What replicas share besides rows: secrets and images
    # ----------------------------------------------------------------------------------------------------------------
    def shared_secret(self, name: str, proposed: bytes) -> bytes:
        """The stored secret ``name``; ``proposed`` becomes it if there is none yet (the first replica wins)."""
        with self.transaction() as db:
            stored = db.execute(select(secrets.c.value).where(secrets.c.name == name)).scalar_one_or_none()
            if stored is None:
                db.execute(insert_new(db, secrets, ("name",)).values(name=name, value=proposed))
                stored = db.execute(select(secrets.c.value).where(secrets.c.name == name)).scalar_one()
        return bytes(stored)

    def save_images(self, entries: Sequence[tuple[str, bytes]]) -> None:
        """Store content-addressed images (names already stored are skipped), all in one transaction."""
        with self.transaction() as db:
            for start in range(0, len(entries), 500):
                batch = entries[start:start + 500]
                known = set(db.execute(select(images.c.name).where(images.c.name.in_([n for n, _ in batch])))
                            .scalars())
                fresh = [{"name": n, "data": d} for n, d in batch if n not in known]
                if fresh:
                    db.execute(insert_new(db, images, ("name",)), fresh)

    def load_image(self, name: str) -> bytes | None:
        """A stored image's bytes, or None."""
        with self.reading() as db:
            data = db.execute(select(images.c.data).where(images.c.name == name)).scalar_one_or_none()
        return None if data is None else bytes(data)

    def adopt_image_files(self) -> int:
        """Copy images that exist only in this replica's folder (stored before images lived in the database) into
        the database; returns how many."""
        if not self.image_dir.is_dir():
            return 0
        files = {path.name: path for path in self.image_dir.glob("*.png")}
        with self.reading() as db:
            stored = set(db.execute(select(images.c.name)).scalars())
        missing = sorted(set(files) - stored)
        for start in range(0, len(missing), 100):
            self.save_images([(name, files[name].read_bytes()) for name in missing[start:start + 100]])
        return len(missing)

    def close(self) -> None:
        """Finish the queued writes and release every pooled connection."""
        self.writer.close()
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One atomic unit of work: committed on success, rolled back on any error.

        Work that must follow only a successful commit (e.g. caching what was written) is appended to
        ``connection.info["after_commit"]``.
        """
        with self.engine.begin() as connection:
            connection.info["after_commit"] = []
            yield connection
            after = connection.info.pop("after_commit")
        for callback in after:
            callback()

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
                self._register_models(db, session_id, config.get("models", ()))
        except IntegrityError as exc:
            raise InvalidInput("session", f"a session with id {session_id!r} already exists") from exc
        return Session(**row)

    def register_models(self, session_id: str, names: Sequence[str]) -> dict[str, int]:
        """Number a session's models for the rating log (new names get the next numbers; known ones keep theirs)."""
        with self.transaction() as db:
            return self._register_models(db, session_id, names)

    def _register_models(self, db: Connection, session_id: str, names: Sequence[str]) -> dict[str, int]:
        known = self._model_index.get(session_id, {})
        if all(name in known for name in names):
            return known
        if db.dialect.name == "postgresql":  # replicas numbering the same session's new models take turns
            db.execute(text("SELECT pg_advisory_xact_lock(:lock, hashtext(:session))"),
                       {"lock": migrate.LOCK_ID, "session": session_id})
        known = dict(db.execute(select(session_models.c.name, session_models.c.idx)
                                .where(session_models.c.session_id == session_id)).all())
        new = [name for name in dict.fromkeys(names) if name not in known]
        if new:
            rows = [(session_id, name, len(known) + k) for k, name in enumerate(new)]
            bulk_insert(db, session_models, ("session_id", "name", "idx"), rows)
            known.update({name: idx for _, name, idx in rows})
        # cached only once committed: a rolled-back numbering must not outlive its transaction
        db.info["after_commit"].append(lambda: self._model_index.__setitem__(session_id, known))
        return known

    def session(self, session_id: Any) -> Session:
        """The session with this id.

        Raises:
            InvalidInput: no such session.
        """
        key = str(session_id)
        cached = self._sessions.get(key)
        if cached is not None and time.monotonic() - cached[0] < SESSION_TTL:
            return cached[1]
        with self.reading() as db:
            row = db.execute(select(sessions).where(sessions.c.id == key)).first()
        if row is None:
            raise InvalidInput("session", f"unknown session {session_id!r}")
        session = _row(Session, row)
        self._sessions[key] = (time.monotonic(), session)
        return session

    def sessions(self) -> list[Session]:
        """All sessions, newest first."""
        with self.reading() as db:
            rows = db.execute(select(sessions).order_by(sessions.c.created_at.desc())).all()
        return [_row(Session, r) for r in rows]

    def set_session_status(self, session_id: str, status: str) -> None:
        """Open or close a session."""
        with self.transaction() as db:
            db.execute(update(sessions).where(sessions.c.id == session_id).values(status=status))
        self._sessions.pop(session_id, None)

    def update_config(self, session_id: str, config: dict[str, Any]) -> None:
        """Replace a session's configuration (admin edits such as a new vote target)."""
        with self.transaction() as db:
            db.execute(update(sessions).where(sessions.c.id == session_id).values(config=config))
        self._sessions.pop(session_id, None)

    def ensure_annotator(self, session_id: str, annotator_id: str, group: str = "") -> None:
        """Create the annotator's row in this session on first sight (an annotator's group is the first one given)."""
        if (session_id, annotator_id) in self._annotators:
            return
        with self.reading() as db:
            known = db.execute(select(annotators.c.id).where(
                annotators.c.session_id == session_id, annotators.c.id == annotator_id)).first() is not None
        if not known:  # concurrent first requests (on any replica): the first insert wins, the others do nothing
            row = {"session_id": session_id, "id": annotator_id, "group_name": group, "excluded": False,
                   "created_at": time.time()}
            self.writer.run(lambda db: db.execute(insert_new(db, annotators, ("session_id", "id")).values(**row)))
        self._annotators.add((session_id, annotator_id))  # rows are never deleted, so this stays true

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

    def item_row(self, item_id: int) -> dict[str, Any]:
        """An item's own fields (prompt, language, input image), which never change: kept in memory."""
        row = self._item_rows.get(item_id)
        if row is None:
            with self.reading() as db:
                found = db.execute(select(items).where(items.c.id == item_id)).first()
            if found is None:
                raise InvalidInput("item_id", f"unknown item {item_id!r}")
            row = self._item_rows[item_id] = dict(found._mapping)
        return row

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
        """Record that a pair was served to an annotator (durably, before it is shown), unless the annotator has an
        unvoted battle already (made meanwhile by another replica): that one is returned instead.

        The check and the insert share one transaction, serialised per annotator (PostgreSQL: an advisory lock on
        the session and annotator; SQLite: one writer at a time), so an annotator never holds two open battles.
        """
        def write(db: Connection) -> Battle:
            if db.dialect.name == "postgresql":
                db.execute(text("SELECT pg_advisory_xact_lock(hashtext(:who))"),
                           {"who": f"{battle.session_id}/{battle.annotator_id}"})
            pending = db.execute(self._pending_query(battle.session_id, battle.annotator_id)).first()
            if pending is not None:
                return _row(Battle, pending)
            db.execute(insert(battles).values(**battle.__dict__))
            return battle

        return self.writer.run(write)

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
        with self.reading() as db:
            row = db.execute(self._pending_query(session_id, annotator_id)).first()
        return None if row is None else _row(Battle, row)

    @staticmethod
    def _pending_query(session_id: str, annotator_id: str) -> Any:
        voted = select(votes.c.battle_id).where(votes.c.battle_id == battles.c.id).exists()
        return (select(battles).where(battles.c.session_id == session_id, battles.c.annotator_id == annotator_id,
                                      ~voted, battles.c.kind != "imported").order_by(battles.c.served_at).limit(1))

    def record_vote(self, battle: Battle, annotator_id: str, outcome: str, criteria: dict[str, str],
                    max_per_minute: int) -> int:
        """Store a vote, durably, and return how many votes the annotator has in the session.

        Idempotent: the same vote sent again (a client retrying after a lost answer, perhaps through another
        replica) is acknowledged again and stored once. The rate limit is checked inside the same transaction, in
        the database, so concurrent requests on any replica cannot slip past it. The vote is committed with the
        others arriving meanwhile (group commit) and this returns only after that commit.

        Raises:
            InvalidInput: a different vote on an already voted battle, or the annotator is over the rate limit.
        """
        now = time.time()
        countable = battle.kind == "normal" and outcome in RATING_CODES

        def write(db: Connection) -> int:
            if vote_sql.same_vote_stored(db, battle, annotator_id, outcome, criteria):
                return self._own_votes(db, battle.session_id, annotator_id)
            index = self._register_models(db, battle.session_id, (battle.left_model, battle.right_model)) \
                if countable else None
            own = vote_sql.insert_vote(db, battle, annotator_id, outcome, criteria, now, max_per_minute, index)
            db.info["after_commit"].append(lambda: self._count_vote(battle.session_id))
            return own

        try:
            return self.writer.run(write)
        except IntegrityError:  # the same battle voted at this instant through another replica
            with self.transaction() as db:
                vote_sql.same_vote_stored(db, battle, annotator_id, outcome, criteria)
                return self._own_votes(db, battle.session_id, annotator_id)

    @staticmethod
    def _own_votes(db: Connection, session_id: str, annotator_id: str) -> int:
        return db.execute(select(annotators.c.n_votes).where(
            annotators.c.session_id == session_id, annotators.c.id == annotator_id)).scalar_one_or_none() or 0

    def import_battles(self, session: dict[str, Any], rows: Sequence[dict[str, Any]]) -> int:
        """Create ``session`` (id, name, task, config) with imported battle logs (a battle and its vote per row,
        annotators as needed): all in one transaction, so a failure leaves no session behind.

        Raises:
            InvalidInput: a battle was imported before (naming its line and the session holding it).
        """
        from arena.bulk_import import import_battles

        try:
            return import_battles(self, session, rows)
        except (IntegrityError, self.engine.dialect.dbapi.IntegrityError) as exc:  # the driver's, from bulk inserts
            raise self._duplicate_import(rows) from exc

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
            Unit counts ``(item_id, left, right, voted, count)`` over normal and repeat battles of everyone (up to
            ``COUNTS_TTL`` seconds old), and this annotator's own battles (id, item_id, kind, models, repeat_of,
            outcome), always current.
        """
        voted = select(votes.c.battle_id).where(votes.c.battle_id == battles.c.id).exists()
        mine = battles.c.annotator_id == annotator_id
        counts = (
            select(battles.c.item_id, battles.c.left_model, battles.c.right_model, voted.label("voted"), func.count())
            .where(battles.c.session_id == session_id, battles.c.kind.in_(("normal", "repeat")))
            .group_by(battles.c.item_id, battles.c.left_model, battles.c.right_model, voted)
        )
        own = (
            select(battles.c.id, battles.c.item_id, battles.c.kind, battles.c.left_model, battles.c.right_model,
                   battles.c.repeat_of, votes.c.outcome)
            .select_from(battles.outerjoin(votes, votes.c.battle_id == battles.c.id))
            .where(battles.c.session_id == session_id, mine)
        )
        cached = self._unit_counts.get(session_id)
        with self.reading() as db:
            if cached is None or time.monotonic() - cached[0] >= COUNTS_TTL:
                cached = self._unit_counts[session_id] = (time.monotonic(), [tuple(r) for r in db.execute(counts)])
            return cached[1], [dict(r._mapping) for r in db.execute(own).all()]

    def vote_count(self, session_id: str, annotator_id: str | None = None) -> int:
        """Votes in a session (see :meth:`session_votes`), or of one annotator in it when given (read each time)."""
        if annotator_id is None:
            return self.session_votes(session_id)
        with self.reading() as db:
            return self._own_votes(db, session_id, annotator_id)

    def session_votes(self, session_id: str) -> int:
        """Votes in a session: the annotators' counters summed at most every ``COUNTS_TTL`` seconds, and this
        process's own votes counted in as they commit. Summing a counter per annotator on every vote made that sum
        half of a vote's cost with a few thousand annotators; what other replicas record shows up within a second."""
        cached = self._totals.get(session_id)
        if cached is not None and time.monotonic() - cached[0] < COUNTS_TTL:
            return cached[1]
        read_at = time.monotonic()
        with self.reading() as db:
            total = int(db.execute(select(func.coalesce(func.sum(annotators.c.n_votes), 0)).where(
                annotators.c.session_id == session_id)).scalar_one())
        self._totals[session_id] = (read_at, total)
        return total

    def _count_vote(self, session_id: str) -> None:
        """A vote of this process committed: count it in the cached session total (see :meth:`session_votes`)."""
        cached = self._totals.get(session_id)
        if cached is not None:
            self._totals[session_id] = (cached[0], cached[1] + 1)

    def progress(self, session_id: str, annotator_id: str) -> tuple[int, int]:
        """``(the annotator's votes, the session's votes)``: the annotator's counter, and :meth:`session_votes`."""
        return self.vote_count(session_id, annotator_id), self.session_votes(session_id)
