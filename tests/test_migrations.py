"""Stairway: every migration goes up, down and up again — on SQLite, and on PostgreSQL (skipped where it
is absent, a failure under CI=true)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from storage.db import create_engine
from storage.migrate import alembic_config, downgrade, upgrade
from storage.models import Base

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions("base", "heads")))]


async def _stairway(engine) -> None:
    revs = revisions()
    assert revs, "no migrations found"
    for i, rev in enumerate(revs):
        await upgrade(engine, rev)
        await downgrade(engine, revs[i - 1] if i else "base")
        await upgrade(engine, rev)
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert set(Base.metadata.tables) <= tables


async def test_stairway_sqlite(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/stairs.db")
    try:
        await _stairway(engine)
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_models_match_migrations(tmp_path):
    """A model change without a migration fails here (autogenerate finds nothing to do at head)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/cmp.db")
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"render_as_batch": True}), Base.metadata
                )
            )
        assert diff == []
    finally:
        await engine.dispose()


@pytest.mark.slow
async def test_stairway_postgresql(pg_admin):
    schema = f"stairs_{uuid.uuid4().hex[:8]}"
    await pg_admin.execute(f"CREATE SCHEMA {schema}")
    engine = create_engine(PG_URL, connect_args={"server_settings": {"search_path": schema}})
    try:
        await _stairway(engine)
    finally:
        await engine.dispose()
        await pg_admin.execute(f"DROP SCHEMA {schema} CASCADE")


async def _single_school_upgrade(engine) -> None:
    """A database that ran one school at 0013 (programmes, people, roles, pairs, invitations, materials,
    trainings, audit) goes to head: one institution holds all of it, and no row is lost."""
    await upgrade(engine, "0013")
    now = datetime(2026, 9, 1, 8, tzinfo=UTC)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO programmes (id, title, timezone, settings, created_at) "
                "VALUES (1, 'Школа', 'UTC', '{}', :n)"
            ),
            {"n": now},
        )
        for pid, name in ((1, "Куратова Анна"), (2, "Петров Иван"), (3, "Учитель Мария")):
            await conn.execute(
                text(
                    "INSERT INTO participants (id, telegram_id, full_name, language, status, unreachable, "
                    "created_at, updated_at) VALUES (:i, :t, :f, 'ru', 'active', false, :n, :n)"
                ),
                {"i": pid, "t": 100 + pid, "f": name, "n": now},
            )
        for rid, (pid, role, prog) in enumerate(
            ((1, "curator", None), (2, "mentee", 1), (3, "mentor", 1)), 1
        ):
            await conn.execute(
                text(
                    "INSERT INTO participant_roles (id, participant_id, role, programme_id, created_at) "
                    "VALUES (:i, :p, :r, :g, :n)"
                ),
                {"i": rid, "p": pid, "r": role, "g": prog, "n": now},
            )
        await conn.execute(
            text(
                "INSERT INTO pairs (id, programme_id, mentor_id, status, stage, created_at) "
                "VALUES (1, 1, 3, 'active', 'introduction', :n)"
            ),
            {"n": now},
        )
        await conn.execute(
            text(
                "INSERT INTO invitations (id, token_hash, role, programme_id, uses, expires_at, created_at) "
                "VALUES (1, 'h', 'mentee', 1, 0, :n, :n)"
            ),
            {"n": now},
        )
        await conn.execute(
            text(
                "INSERT INTO audit_log (id, at, actor_id, action, details) "
                "VALUES (1, :n, 1, 'pair.approve', '{}')"
            ),
            {"n": now},
        )
    await upgrade(engine)
    async with engine.connect() as conn:
        institutions = (await conn.execute(text("SELECT id, title FROM institutions"))).all()
        assert [i for i, _ in institutions] == [1]
        for table, n in (("programmes", 1), ("participant_roles", 3), ("invitations", 1), ("audit_log", 1)):
            rows = (await conn.execute(text(f"SELECT institution_id FROM {table}"))).scalars().all()
            assert rows == [1] * n, table
        assert (await conn.execute(text("SELECT COUNT(*) FROM participants"))).scalar() == 3
        assert (await conn.execute(text("SELECT COUNT(*) FROM pairs"))).scalar() == 1
        names = (await conn.execute(text("SELECT full_name FROM participants ORDER BY id"))).scalars().all()
        assert names == ["Куратова Анна", "Петров Иван", "Учитель Мария"]
    async with engine.begin() as conn:
        # The next institution a coordinator adds gets a new number (PostgreSQL's sequence moved past 1).
        await conn.execute(
            text("INSERT INTO institutions (title, created_at) VALUES ('Вторая', :n)"), {"n": now}
        )
        ids = (await conn.execute(text("SELECT id FROM institutions ORDER BY id"))).scalars().all()
        assert ids == [1, 2]


async def test_a_single_school_database_upgrades_into_one_institution_sqlite(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/school.db")
    try:
        await _single_school_upgrade(engine)
    finally:
        await engine.dispose()


@pytest.mark.slow
async def test_a_single_school_database_upgrades_into_one_institution_postgresql(pg_admin):
    schema = f"school_{uuid.uuid4().hex[:8]}"
    await pg_admin.execute(f"CREATE SCHEMA {schema}")
    engine = create_engine(PG_URL, connect_args={"server_settings": {"search_path": schema}})
    try:
        await _single_school_upgrade(engine)
    finally:
        await engine.dispose()
        await pg_admin.execute(f"DROP SCHEMA {schema} CASCADE")
