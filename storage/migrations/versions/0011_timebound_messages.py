"""time-bound messages: an outbox row may carry its deadline and the meeting / pair it is about, re-checked
right before sending

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("meeting_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("meeting_sequence", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pair_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("pair_id")
        batch_op.drop_column("meeting_sequence")
        batch_op.drop_column("meeting_id")
        batch_op.drop_column("expires_at")
