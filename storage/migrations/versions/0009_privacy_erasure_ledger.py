"""privacy erasure ledger: who was erased (an HMAC of the Telegram id and the participant number), so that a
restore can erase them again

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erasure_ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("anon_key", sa.String(length=64), nullable=True),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_ledger")),
    )
    with op.batch_alter_table("erasure_ledger", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erasure_ledger_anon_key"), ["anon_key"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_erasure_ledger_participant_id"), ["participant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("erasure_ledger", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasure_ledger_participant_id"))
        batch_op.drop_index(batch_op.f("ix_erasure_ledger_anon_key"))
    op.drop_table("erasure_ledger")
