"""The admin audit log (who, what, when; never a secret) and per-annotator invite tokens (only their keyed hash).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("client", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(256), nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
    )
    op.create_index("audit_client_time", "admin_audit", ["client", "at"])
    op.create_table(
        "invites",
        sa.Column("session_id", sa.String(64), sa.ForeignKey("sessions.id"), primary_key=True),
        sa.Column("annotator_id", sa.String(64), primary_key=True),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("invites")
    op.drop_table("admin_audit")
