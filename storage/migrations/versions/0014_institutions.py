"""institutions: the boundary of everything personal in a district installation

An installation that ran for one school upgrades into one institution: when the database holds any
programme or person, one institution is created and every programme, role, invitation, material,
training and audit entry is put in it (nothing else changes; rows whose institution is NULL would
belong to the first institution anyway).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 08:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

OWNED = ("programmes", "participant_roles", "invitations", "training_sessions", "materials", "audit_log")
DEFAULT_TITLE = "Образовательная организация"


def upgrade() -> None:
    op.create_table(
        "institutions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_institutions")),
    )
    for table in OWNED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("institution_id", sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_institution_id"), ["institution_id"], unique=False)
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_institution_id_institutions"),
                "institutions",
                ["institution_id"],
                ["id"],
            )
    with op.batch_alter_table("curator_programmes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("institution_id", sa.Integer(), nullable=True))
        batch_op.alter_column("programme_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_curator_programmes_institution_id_institutions"),
            "institutions",
            ["institution_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("participant_roles", schema=None) as batch_op:
        batch_op.drop_constraint("uq_participant_roles_participant_id_role_programme_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_participant_roles_holding",
            ["participant_id", "role", "programme_id", "institution_id"],
        )

    bind = op.get_bind()
    used = bind.execute(
        sa.text("SELECT (SELECT COUNT(*) FROM programmes) + (SELECT COUNT(*) FROM participants)")
    ).scalar()
    if used:
        institutions = sa.table(
            "institutions",
            sa.column("id", sa.Integer()),
            sa.column("title", sa.String()),
            sa.column("created_at", sa.DateTime(timezone=True)),
        )
        bind.execute(sa.insert(institutions).values(id=1, title=DEFAULT_TITLE, created_at=datetime.now(UTC)))
        if bind.dialect.name == "postgresql":
            bind.execute(sa.text("SELECT setval(pg_get_serial_sequence('institutions', 'id'), 1)"))
        for table in OWNED:
            bind.execute(sa.text(f"UPDATE {table} SET institution_id = 1 WHERE institution_id IS NULL"))
        bind.execute(sa.text("UPDATE curator_programmes SET institution_id = 1"))


def downgrade() -> None:
    with op.batch_alter_table("curator_programmes", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_curator_programmes_institution_id_institutions"), type_="foreignkey"
        )
        batch_op.drop_column("institution_id")
    op.execute("DELETE FROM curator_programmes WHERE programme_id IS NULL")
    with op.batch_alter_table("curator_programmes", schema=None) as batch_op:
        batch_op.alter_column("programme_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("participant_roles", schema=None) as batch_op:
        batch_op.drop_constraint("uq_participant_roles_holding", type_="unique")
        batch_op.create_unique_constraint(
            "uq_participant_roles_participant_id_role_programme_id",
            ["participant_id", "role", "programme_id"],
        )
    for table in OWNED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f"fk_{table}_institution_id_institutions"), type_="foreignkey"
            )
            batch_op.drop_index(batch_op.f(f"ix_{table}_institution_id"))
            batch_op.drop_column("institution_id")
    op.drop_table("institutions")
