"""Stairway: every migration goes up, down and up again — on SQLite, and on PostgreSQL (skipped where it
is absent, a failure under CI=true)."""

from __future__ import annotations

import uuid

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
