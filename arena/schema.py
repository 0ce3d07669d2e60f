"""The arena's database schema: the vocabularies, the tables and the records the store hands out.

The tables are SQLAlchemy Core, portable between SQLite and PostgreSQL. Invariants live in the schema rather than
in code, so no writer can break them: one vote per battle (``UNIQUE(battle_id)`` on votes), one output per item and
model, item keys unique within a session, and the allowed modes, statuses, battle kinds and outcomes as CHECKs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# The vocabularies: the CHECK constraints below, session validation and the admin form all draw on these.
OUTCOMES = ("left", "right", "both_good", "both_bad", "skip")
CRITERION_CHOICES = ("left", "right", "tie", "skip")
REVEALS = ("after_vote", "after_session", "never")
BATTLE_KINDS = ("normal", "gold", "repeat", "imported")
# A countable vote's outcome as the rating's code (model A = the left model): 0 A wins, 1 B wins, 2 tie, 3 tie with
# both bad (FastChat's "tie (bothbad)"); a skip does not count.
RATING_CODES = MappingProxyType({"left": 0, "right": 1, "both_good": 2, "both_bad": 3})

metadata = MetaData()

sessions = Table(
    "sessions", metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("task", String(32), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("config", JSON, nullable=False),
    Column("status", String(16), nullable=False, default="open"),
    Column("created_at", Float, nullable=False),
    CheckConstraint("mode IN ('pool', 'live', 'imported')", name="session_mode"),
    CheckConstraint("status IN ('open', 'closed')", name="session_status"),
)

annotators = Table(
    "annotators", metadata,
    Column("session_id", ForeignKey("sessions.id"), primary_key=True),
    Column("id", String(64), primary_key=True),  # pseudonym: keyed hash of the name or token, never the name
    Column("group_name", String(64), nullable=False, default=""),
    Column("excluded", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    # votes cast, kept in the vote's transaction: progress is read on every battle served, and counting a
    # million-vote session's rows each time would not scale
    Column("n_votes", Integer, nullable=False, server_default="0"),
)

items = Table(
    "items", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", ForeignKey("sessions.id"), nullable=False),
    Column("item_key", String(200), nullable=False),
    Column("prompt", Text, nullable=False),
    Column("language", String(8), nullable=False),
    Column("input_image", Text),  # file name in the image store, for conditional tasks
    UniqueConstraint("session_id", "item_key", name="item_unique"),
)

outputs = Table(
    "outputs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", ForeignKey("items.id"), nullable=False),
    Column("model", String(200), nullable=False),
    Column("image", Text, nullable=False),  # file name in the image store (content hash)
    Column("recipe", JSON),
    UniqueConstraint("item_id", "model", name="output_unique"),
)

battles = Table(
    "battles", metadata,
    Column("id", String(64), primary_key=True),  # random, unguessable
    Column("session_id", ForeignKey("sessions.id"), nullable=False),
    Column("item_id", ForeignKey("items.id")),
    Column("annotator_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("left_model", String(200), nullable=False),
    Column("right_model", String(200), nullable=False),
    Column("left_image", Text),
    Column("right_image", Text),
    Column("gold_answer", String(8)),  # gold battles: the side that is not degraded
    Column("repeat_of", String(64)),
    Column("served_at", Float, nullable=False),
    CheckConstraint("kind IN ('normal', 'gold', 'repeat', 'imported')", name="battle_kind"),
    Index("battle_session_annotator", "session_id", "annotator_id"),
)

votes = Table(
    "votes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("battle_id", ForeignKey("battles.id"), nullable=False),
    # The battle's session, copied. No foreign key and no index of its own (migration 0005): the battle's key
    # already ties the vote to a stored battle and that battle to its session, no query looks votes up by session,
    # and on PostgreSQL the key check and the index cost a third of a million-vote import.
    Column("session_id", String(64), nullable=False),
    Column("annotator_id", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("criteria", JSON, nullable=False),
    Column("seconds_to_vote", Float),
    Column("created_at", Float, nullable=False),
    # One vote per battle implies one per battle and annotator: no second unique index to maintain (0005).
    UniqueConstraint("battle_id", name="one_vote_per_battle"),
    CheckConstraint("outcome IN ('left', 'right', 'both_good', 'both_bad', 'skip')", name="vote_outcome"),
    Index("vote_annotator_time", "annotator_id", "created_at"),  # the rate limit's count
)


# The rating log: one narrow row per countable vote (voted, not skipped, not a gold or repeat check), written in the
# vote's own transaction, so a leaderboard reads a million votes as one short range scan of small integers instead
# of joining the wide battle and vote rows. Models are numbered per session in session_models.
session_models = Table(
    "session_models", metadata,
    Column("session_id", ForeignKey("sessions.id"), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("idx", Integer, nullable=False),
    UniqueConstraint("session_id", "idx", name="session_model_index"),
)

rating_log = Table(
    "rating_log", metadata,
    Column("session_id", String(64), primary_key=True),
    Column("seq", Float, primary_key=True),  # serving time: the order online Elo follows
    Column("battle_id", String(64), primary_key=True),  # ties between equal serving times, as battle_rows orders
    Column("a", Integer, nullable=False),  # left model = model A, as session_models.idx
    Column("b", Integer, nullable=False),
    Column("code", Integer, nullable=False),  # 0 A wins, 1 B wins, 2 tie, 3 tie (both bad)
    Column("annotator_id", String(64), nullable=False),
    Column("language", String(8)),
    sqlite_with_rowid=False,
)


# Admin actions: who (the client's address), what and when, whether it was allowed; never a password. The
# per-client rate limit counts these rows, so it holds across replicas sharing the database.
admin_audit = Table(
    "admin_audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("client", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(256), nullable=False),
    Column("ok", Boolean, nullable=False),
    Index("audit_client_time", "client", "at"),
)

# Per-annotator invite tokens: the token itself is never stored, only its keyed hash (the annotator id it grants).
invites = Table(
    "invites", metadata,
    Column("session_id", ForeignKey("sessions.id"), primary_key=True),
    Column("annotator_id", String(64), primary_key=True),
    Column("alias", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
)

# What replicas must share besides the rows: the images (content-addressed PNGs, cached in each replica's folder)
# and the studio's secrets (the key that turns annotator names into pseudonyms).
images = Table(
    "images", metadata,
    Column("name", String(80), primary_key=True),  # <sha256>.png
    Column("data", LargeBinary, nullable=False),
)

secrets = Table(
    "secrets", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", LargeBinary, nullable=False),
)


@dataclass(frozen=True)
class Session:
    """A labeling session as stored.

    Attributes:
        id: session id.
        name: display name.
        task: ``t2i``, ``tryon``, ``hand``, ``tok``, ``face``.
        mode: ``pool`` (pre-generated outputs), ``live`` (generated on demand) or ``imported`` (battle logs).
        config: models, criteria, outcomes, reveal policy, gold / repeat / overlap rates, targets, live settings.
        status: ``open`` or ``closed``.
        created_at: Unix time.
    """

    id: str
    name: str
    task: str
    mode: str
    config: dict[str, Any]
    status: str
    created_at: float

    @property
    def models(self) -> list[str]:
        """The models being compared."""
        return list(self.config.get("models", []))


@dataclass(frozen=True)
class Battle:
    """One pair served to one annotator."""

    id: str
    session_id: str
    item_id: int | None
    annotator_id: str
    kind: str
    left_model: str
    right_model: str
    left_image: str | None
    right_image: str | None
    gold_answer: str | None
    repeat_of: str | None
    served_at: float


@dataclass
class ItemRecord:
    """An item to import: a prompt (and input image) with one output per model.

    Attributes:
        item_key: the pool's id for it.
        prompt: the prompt.
        language: ``zh``, ``en`` or ``mixed``.
        input_image: image-store file name of the input, for conditional tasks.
        outputs: model -> image-store file name.
        recipes: model -> recipe, when known.
    """

    item_key: str
    prompt: str
    language: str
    input_image: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    recipes: dict[str, dict[str, Any]] = field(default_factory=dict)
