"""The rating log (one narrow row per countable vote), per-session model numbers and per-annotator vote counts,
filled from the votes already stored, so a deployed database gains fast leaderboards without losing a vote.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("annotators") as batch:
        batch.add_column(sa.Column("n_votes", sa.Integer, nullable=False, server_default="0"))
    op.execute("UPDATE annotators SET n_votes = (SELECT count(*) FROM votes v "
               "WHERE v.session_id = annotators.session_id AND v.annotator_id = annotators.id)")
    op.create_table(
        "session_models",
        sa.Column("session_id", sa.String(64), sa.ForeignKey("sessions.id"), primary_key=True),
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.UniqueConstraint("session_id", "idx", name="session_model_index"),
    )
    op.create_table(
        "rating_log",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Float, primary_key=True),
        sa.Column("battle_id", sa.String(64), primary_key=True),
        sa.Column("a", sa.Integer, nullable=False),
        sa.Column("b", sa.Integer, nullable=False),
        sa.Column("code", sa.Integer, nullable=False),
        sa.Column("annotator_id", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8)),
        sqlite_with_rowid=False,
    )
    # Backfill: number every session's models by name, then log its countable votes in serving order.
    op.execute("""
        INSERT INTO session_models (session_id, name, idx)
        SELECT session_id, name, ROW_NUMBER() OVER (PARTITION BY session_id ORDER BY name) - 1
        FROM (SELECT session_id, left_model AS name FROM battles
              UNION SELECT session_id, right_model FROM battles) AS names
    """)
    op.execute("""
        INSERT INTO rating_log (session_id, seq, battle_id, a, b, code, annotator_id, language)
        SELECT b.session_id, b.served_at, b.id, ma.idx, mb.idx,
               CASE v.outcome WHEN 'left' THEN 0 WHEN 'right' THEN 1 WHEN 'both_good' THEN 2 ELSE 3 END,
               b.annotator_id, i.language
        FROM battles b
        JOIN votes v ON v.battle_id = b.id
        JOIN session_models ma ON ma.session_id = b.session_id AND ma.name = b.left_model
        JOIN session_models mb ON mb.session_id = b.session_id AND mb.name = b.right_model
        LEFT JOIN items i ON i.id = b.item_id
        WHERE b.kind IN ('normal', 'imported') AND v.outcome <> 'skip'
    """)


def downgrade() -> None:
    op.drop_table("rating_log")
    op.drop_table("session_models")
    with op.batch_alter_table("annotators") as batch:
        batch.drop_column("n_votes")
