"""matching waiting list: mentees a finished matching round left without a pair, and since when

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "waiting_mentees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_waiting_mentees_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programmes.id"],
            name=op.f("fk_waiting_mentees_programme_id_programmes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waiting_mentees")),
    )
    with op.batch_alter_table("waiting_mentees", schema=None) as batch_op:
        batch_op.create_index("ix_waiting_mentees_open", ["programme_id", "ended_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_waiting_mentees_participant_id"), ["participant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("waiting_mentees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waiting_mentees_participant_id"))
        batch_op.drop_index("ix_waiting_mentees_open")
    op.drop_table("waiting_mentees")
