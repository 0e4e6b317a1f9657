"""onboarding consent and invitations: a refusal keeps an HMAC of the Telegram id instead of the id;
a parent's decline is recorded on the child

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("telegram_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_consents_telegram_hash"), ["telegram_hash"], unique=False)
    # Refusals recorded before this revision kept the Telegram id; nothing links them to a person any
    # more, so the id goes (the refusal itself, its date and version stay).
    op.execute("UPDATE consents SET telegram_id = NULL WHERE accepted = false AND participant_id IS NULL")
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_declined_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.drop_column("parent_declined_at")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consents_telegram_hash"))
        batch_op.drop_column("telegram_hash")
