"""Moving an SQLite installation to PostgreSQL keeps every row and the bot carries on there."""

from __future__ import annotations

from bot.demo.harness import Harness, make_settings
from bot.demo.telegram import FakeTelegram
from storage.db import create_engine
from storage.transfer import copy_database
from storage.uow import unit_of_work
from tests.helpers import invite, onboard_curator, onboard_mentee


async def test_sqlite_to_postgresql(tmp_path, pg_url):
    sqlite_url = f"sqlite+aiosqlite:///{tmp_path}/old.db"
    fake = FakeTelegram()
    h = await Harness.start(make_settings(sqlite_url, curator_ids="1000"), fake)
    c = await onboard_curator(h)
    await onboard_mentee(h, c, 2701)
    await h.close()
    source, target = create_engine(sqlite_url), create_engine(pg_url)
    seen: list[str] = []
    copied = await copy_database(source, target, lambda table, n: seen.append(table))
    await source.dispose()
    await target.dispose()
    assert copied["participants"] == 2 and copied["consents"] >= 2 and "form_responses" in seen
    h = await Harness.start(make_settings(pg_url, curator_ids="1000"), fake)
    try:
        async with unit_of_work(h.app.factory) as repos:
            me = await repos.participants.by_telegram_id(2701)
        assert me is not None and me.full_name == "Петров Иван"
        c = h.user(1000, "Curator", "ru")
        token = await invite(c, "наставник")  # new rows get fresh ids after the copied ones
        assert token
    finally:
        await h.close()
    # copying into a non-empty database is refused
    source, target = create_engine(sqlite_url), create_engine(pg_url)
    try:
        import pytest

        with pytest.raises(RuntimeError, match="not empty"):
            await copy_database(source, target, lambda *a: None)
    finally:
        await source.dispose()
        await target.dispose()


def test_migrate_to_command(tmp_path, pg_url):
    import os
    import subprocess
    import sys

    env = dict(os.environ, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/cli.db")
    env.pop("BOT_TOKEN", None)
    run = [sys.executable, "-m", "bot"]
    assert (
        subprocess.run([*run, "add-curator", "4242"], env=env, cwd=tmp_path, capture_output=True).returncode
        == 0
    )
    p = subprocess.run(
        [*run, "migrate-to", "--database-url", pg_url],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0 and "participants: 1" in p.stdout, p.stderr
    p = subprocess.run(
        [*run, "migrate-to", "--database-url", pg_url],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2 and "not empty" in p.stderr
