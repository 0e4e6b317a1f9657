from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import NoReturn

import pytest

from bot.demo.harness import Harness, make_settings
from bot.demo.telegram import FakeTelegram
from storage.db import create_engine
from storage.migrate import upgrade

CURATOR_ID = 1000
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def unavailable(service: str, exc: BaseException) -> NoReturn:
    """A service test without its service: skipped on a developer's machine (the reason printed), a failure
    under CI=true — CI starts PostgreSQL and Redis (.ci/run), so a missing one is a broken run, not a pass."""
    reason = f"{service} not reachable ({exc.__class__.__name__}: {exc})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI=true a service test fails rather than skips", pytrace=False)
    print(f"\nskipped: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> str:
    """An empty SQLite database the migrations have run on once (the state after a first start). Each test
    starts the bot on its own copy, so the bot's start-up (the same code, migrations included, which find
    nothing to do) is not paid again in every test; tests/test_migrations.py migrates from nothing itself."""
    path = tmp_path_factory.mktemp("migrated") / "migrated.db"

    async def migrate() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(migrate())
    return str(path)


@pytest.fixture
def db_url(tmp_path, migrated_sqlite) -> str:
    shutil.copyfile(migrated_sqlite, tmp_path / "test.db")
    return f"sqlite+aiosqlite:///{tmp_path}/test.db"


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram()


@pytest.fixture
async def h(db_url: str, fake: FakeTelegram) -> AsyncIterator[Harness]:
    harness = await Harness.start(make_settings(db_url, curator_ids=str(CURATOR_ID)), fake)
    yield harness
    await harness.close()


@pytest.fixture
async def pg_admin():
    """A connection to the local PostgreSQL's `test` database (127.0.0.1:5432, user postgres, trust)."""
    import asyncpg

    try:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable("PostgreSQL at 127.0.0.1:5432", exc)
    yield conn
    await conn.close()


@pytest.fixture
async def pg_url(pg_admin) -> AsyncIterator[str]:
    """A fresh PostgreSQL database for one test, dropped after it."""
    name = f"nastavnik_{uuid.uuid4().hex[:10]}"
    await pg_admin.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    await pg_admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_db() -> Callable[[int], Awaitable[str]]:
    """`await redis_db(n)`: the URL of database n of the local Redis (127.0.0.1:6379), emptied."""

    async def reach(n: int) -> str:
        from redis.asyncio import Redis

        url = f"redis://127.0.0.1:6379/{n}"
        client = Redis.from_url(url, socket_connect_timeout=2)
        try:
            await client.ping()
            await client.flushdb()
        except Exception as exc:
            unavailable(f"Redis at {url}", exc)
        finally:
            await client.aclose()
        return url

    return reach
