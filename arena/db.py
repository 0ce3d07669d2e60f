"""Database plumbing under the labeling store: the engine, bulk inserts, and group commit.

Group commit is how a vote is both durable and cheap. Every acknowledged vote must be on disk (SQLite in WAL with
``synchronous=FULL``: the commit waits for an fsync), and an fsync costs milliseconds, so one transaction per vote
caps a crowd at a few hundred votes a second whatever the CPU. :class:`GroupCommit` runs the writes that arrive
together in one transaction, each inside its own SAVEPOINT (one failing write is rolled back alone and gets its own
error), and answers every caller only after the shared COMMIT returned: the same promise, one fsync per group.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event

log = logging.getLogger(__name__)
T = TypeVar("T")


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, ``synchronous=FULL``, foreign keys and a busy timeout."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=16)
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


def bulk_insert(db: Connection, table: Any, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """Insert many rows inside the current transaction at the driver's full speed.

    SQLAlchemy's per-row parameter processing costs more than the database's own work at a million rows, so this
    goes to the driver: PostgreSQL's COPY (psycopg), or SQLite's ``executemany`` with plain tuples. ``rows`` may be
    a generator: on PostgreSQL they are then made while the server works through the ones sent before. JSON
    columns must already be JSON text.
    """
    driver = db.connection.driver_connection
    names = ", ".join(columns)
    if db.dialect.name == "postgresql":
        with driver.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(columns))
    cursor = driver.cursor()
    try:
        cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)
    finally:
        cursor.close()


def insert_new(db: Connection, table: Any, keys: Sequence[str]) -> Any:
    """``INSERT ... ON CONFLICT (keys) DO NOTHING`` in the connection's dialect (replicas racing to insert the same
    row: the first wins, the others do not fail)."""
    if db.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(table).on_conflict_do_nothing(index_elements=list(keys))


class GroupCommit:
    """One writer thread that commits the writes queued meanwhile as one transaction.

    Args:
        engine: the database.
        max_group: most writes in one transaction (bounds the latency of the last one in a group).
    """

    def __init__(self, engine: Engine, max_group: int = 128) -> None:
        self.engine = engine
        self.max_group = max_group
        self._queue: queue.SimpleQueue[tuple[Callable[[Connection], Any], Future] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self.groups = 0  # transactions committed, for tests and benches
        self.writes = 0

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work(connection)`` in the next group transaction; return its result once it is committed.

        ``work`` may append callables to ``connection.info["after_commit"]``: they run after the COMMIT, and are
        dropped when its own SAVEPOINT is rolled back.

        Raises:
            Whatever ``work`` raised (its writes are rolled back), or the COMMIT's error (every write of the group
            is then lost and each caller hears it).
        """
        if threading.current_thread() is self._thread:  # a write made from inside a write: already in a transaction
            raise RuntimeError("GroupCommit.run called from inside a grouped write")
        self._ensure_thread()
        future: Future = Future()
        self._queue.put((work, future))
        return future.result()

    def close(self) -> None:
        """Stop the writer thread after the writes already queued."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def _ensure_thread(self) -> None:
        with self._start:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="arena-group-commit", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            while len(group) < self.max_group:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this group
                    break
                group.append(item)
            self._commit(group)

    def _commit(self, group: list[tuple[Callable[[Connection], Any], Future]]) -> None:
        # A group is first run as plain statements: a savepoint around each write costs two more statements per
        # write (about a fifth of the writer's time per vote), and writes rarely fail. When one does, the whole
        # transaction is rolled back and the group run again with each write in its own savepoint, so the failure
        # reaches only its caller. (Writes are closures over their arguments: running one again is safe.)
        try:
            try:
                outcomes, after = self._transaction(group, isolated=False)
            except _WriteFailed as failed:
                if len(group) > 1:
                    outcomes, after = self._transaction(group, isolated=True)
                else:  # a lone write: its failure was its transaction's, rolled back already
                    self.writes += 1
                    group[0][1].set_exception(failed.__cause__ or failed)
                    return
        except BaseException as error:  # the COMMIT failed: no write of the group is stored
            log.exception("group commit of %d writes failed", len(group))
            for _work, future in group:
                future.set_exception(error)
            return
        self.groups += 1
        self.writes += len(group)
        for callback in after:
            callback()
        for future, result, error in outcomes:
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)

    def _transaction(self, group: list[tuple[Callable[[Connection], Any], Future]], isolated: bool
                     ) -> tuple[list[tuple[Future, Any, BaseException | None]], list[Callable[[], None]]]:
        """Run the group in one transaction, each write in its own savepoint when ``isolated``.

        Raises:
            _WriteFailed: a write failed outside a savepoint (from the write's error; the transaction is rolled
                back).
        """
        outcomes: list[tuple[Future, Any, BaseException | None]] = []
        after: list[Callable[[], None]] = []
        with self.engine.begin() as connection:
            for work, future in group:
                connection.info["after_commit"] = []
                savepoint = connection.begin_nested() if isolated else None
                try:
                    result = work(connection)
                    if savepoint is not None:
                        savepoint.commit()
                except BaseException as error:  # handed to the caller, who re-raises it
                    if savepoint is None:
                        raise _WriteFailed from error
                    savepoint.rollback()
                    outcomes.append((future, None, error))
                else:
                    after.extend(connection.info["after_commit"])
                    outcomes.append((future, result, None))
            connection.info.pop("after_commit", None)
        return outcomes, after


class _WriteFailed(Exception):
    """A write of a group run without savepoints failed: the group is run again, each write isolated."""
