"""Votes lose two redundant constraints and an unused index that slowed every vote and bulk import:
``UNIQUE(battle_id, annotator_id)`` (implied by ``UNIQUE(battle_id)``), the foreign key on the denormalised
``session_id`` (a vote's battle already has one to its session) and the index ``vote_session`` (no query looks votes
up by session). The votes and every other constraint stay as they are.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from types import MappingProxyType

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# SQLite's foreign keys have no names: batch mode names the reflected ones by this convention so one can be dropped.
NAMING = MappingProxyType({"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"})
SQLITE_SESSION_KEY = "fk_votes_session_id_sessions"
POSTGRES_SESSION_KEY = "votes_session_id_fkey"  # PostgreSQL's own name for the key 0001 created


def upgrade() -> None:
    # Dropped where present: a database made from the schema of a later release before it had migrations (then
    # stamped with an older revision) may lack them already.
    inspector = sa.inspect(op.get_bind())
    pair = any(c["name"] == "one_vote_per_annotator_and_battle" for c in inspector.get_unique_constraints("votes"))
    keys = [k["name"] or SQLITE_SESSION_KEY for k in inspector.get_foreign_keys("votes")
            if k["constrained_columns"] == ["session_id"]]
    if any(index["name"] == "vote_session" for index in inspector.get_indexes("votes")):
        op.drop_index("vote_session", table_name="votes")
    if not pair and not keys:
        return
    # On SQLite, batch mode copies the table with its rows (the only way to drop a constraint there); on PostgreSQL
    # these are plain ALTER TABLE ... DROP CONSTRAINT.
    with op.batch_alter_table("votes", naming_convention=dict(NAMING)) as batch:
        if pair:
            batch.drop_constraint("one_vote_per_annotator_and_battle", type_="unique")
        for key in keys:
            batch.drop_constraint(key, type_="foreignkey")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.create_index("vote_session", "votes", ["session_id"])
    with op.batch_alter_table("votes", naming_convention=dict(NAMING)) as batch:
        batch.create_unique_constraint("one_vote_per_annotator_and_battle", ["battle_id", "annotator_id"])
        batch.create_foreign_key(SQLITE_SESSION_KEY if sqlite else POSTGRES_SESSION_KEY, "sessions",
                                 ["session_id"], ["id"])
