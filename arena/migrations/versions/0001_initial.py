"""The labeling schema as the first releases created it: sessions, annotators, items, outputs, battles, votes.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("task", sa.String(32), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.CheckConstraint("mode IN ('pool', 'live', 'imported')", name="session_mode"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="session_status"),
    )
    op.create_table(
        "annotators",
        sa.Column("session_id", sa.String(64), sa.ForeignKey("sessions.id"), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("group_name", sa.String(64), nullable=False),
        sa.Column("excluded", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(64), sa.ForeignKey("sessions.id"), nullable=False),
        sa.Column("item_key", sa.String(200), nullable=False),
        sa.Column("prompt", sa.Text, nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("input_image", sa.Text),
        sa.UniqueConstraint("session_id", "item_key", name="item_unique"),
    )
    op.create_table(
        "outputs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("image", sa.Text, nullable=False),
        sa.Column("recipe", sa.JSON),
        sa.UniqueConstraint("item_id", "model", name="output_unique"),
    )
    op.create_table(
        "battles",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("session_id", sa.String(64), sa.ForeignKey("sessions.id"), nullable=False),
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id")),
        sa.Column("annotator_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("left_model", sa.String(200), nullable=False),
        sa.Column("right_model", sa.String(200), nullable=False),
        sa.Column("left_image", sa.Text),
        sa.Column("right_image", sa.Text),
        sa.Column("gold_answer", sa.String(8)),
        sa.Column("repeat_of", sa.String(64)),
        sa.Column("served_at", sa.Float, nullable=False),
        sa.CheckConstraint("kind IN ('normal', 'gold', 'repeat', 'imported')", name="battle_kind"),
    )
    op.create_index("battle_session_annotator", "battles", ["session_id", "annotator_id"])
    op.create_table(
        "votes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("battle_id", sa.String(64), sa.ForeignKey("battles.id"), nullable=False),
        sa.Column("session_id", sa.String(64), sa.ForeignKey("sessions.id"), nullable=False),
        sa.Column("annotator_id", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("criteria", sa.JSON, nullable=False),
        sa.Column("seconds_to_vote", sa.Float),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("battle_id", name="one_vote_per_battle"),
        sa.UniqueConstraint("battle_id", "annotator_id", name="one_vote_per_annotator_and_battle"),
        sa.CheckConstraint("outcome IN ('left', 'right', 'both_good', 'both_bad', 'skip')", name="vote_outcome"),
    )
    op.create_index("vote_session", "votes", ["session_id"])
    op.create_index("vote_annotator_time", "votes", ["annotator_id", "created_at"])


def downgrade() -> None:
    for table in ("votes", "battles", "outputs", "items", "annotators", "sessions"):
        op.drop_table(table)
