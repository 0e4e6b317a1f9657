"""What the operator reads when the bot cannot start: one line on stderr naming the cause and the setting to
look at — no traceback, no token, no password — and an exit code (2: a setting to correct, 1: a service that
cannot be reached). And `nastavnik migrate` says what it did, and refuses a database folder that is not
there."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.demo.telegram import FakeTelegram, serve_http

TOKEN = "123456:" + "S3cretTokenPart" * 3
SETTINGS_PREFIXES = (
    "BOT_",
    "DATABASE_",
    "REDIS_",
    "WEBHOOK_",
    "WEB_",
    "CURATOR_",
    "LOG_",
    "FORMS_DIR",
    "TIMEZONE",
    "BACKUP_",
)


def nastavnik(tmp_path: Path, *args: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` (what the `nastavnik` console script runs) in an empty folder: no .env is read."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_PREFIXES)}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


def one_line(p: subprocess.CompletedProcess[str], code: int, *names: str) -> str:
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode == code, p.stderr[-3000:]
    assert len(lines) == 1, p.stderr[-3000:]
    assert "Traceback" not in p.stderr
    assert TOKEN not in p.stderr and TOKEN.split(":")[1] not in p.stderr
    line = lines[0]
    assert line.startswith("nastavnik: ")
    for name in names:
        assert name in line, line
    return line


@pytest.mark.parametrize(
    "env, code, names",
    [
        pytest.param(
            {"DATABASE_URL": "postgresql+asyncpg://postgres:pg-Passw0rd@127.0.0.1:1/test"},
            1,
            ["database 127.0.0.1:1/test", "DATABASE_URL", "Connect call failed"],
            id="postgresql-unreachable",
        ),
        pytest.param(
            {"BOT_API_URL": "http://127.0.0.1:1"},
            1,
            ["Bot API at http://127.0.0.1:1", "BOT_API_URL", "Connect call failed"],
            id="bot-api-unreachable",
        ),
        pytest.param(
            {"REDIS_URL": "redis://:redis-Passw0rd@127.0.0.1:1/0"},
            1,
            ["Redis at 127.0.0.1:1", "REDIS_URL"],
            id="redis-unreachable",
        ),
        pytest.param({"LOG_LEVEL": "LOUD"}, 2, ["LOG_LEVEL is malformed", "DEBUG, INFO"], id="log-level"),
    ],
)
def test_a_start_up_problem_is_one_line_naming_its_cause(tmp_path, env, code, names):
    env = {"BOT_TOKEN": TOKEN, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/bot.db", **env}
    line = one_line(nastavnik(tmp_path, "run", **env), code, *names)
    assert "Passw0rd" not in line


def test_the_maintenance_commands_say_the_same_line(tmp_path):
    url = "postgresql+asyncpg://postgres:pg-Passw0rd@127.0.0.1:1/test"
    for args in (["migrate"], ["add-curator", "777"]):
        line = one_line(nastavnik(tmp_path, *args, DATABASE_URL=url), 1, "database 127.0.0.1:1/test")
        assert "Passw0rd" not in line


async def test_a_token_the_bot_api_refuses_is_one_line(tmp_path, db_url):
    """The token is checked by the bot's first request, after the migrations (which log at INFO: the level is
    WARNING here so that the line is all there is)."""
    fake = FakeTelegram()
    runner, base = await serve_http(fake)
    try:
        p = await _in_thread(
            tmp_path,
            "run",
            BOT_TOKEN=TOKEN,  # not the fake's: answered 401
            BOT_API_URL=base,
            DATABASE_URL=db_url,
            LOG_LEVEL="WARNING",
        )
    finally:
        await runner.cleanup()
    one_line(p, 2, "BOT_TOKEN was refused")


async def test_a_taken_webhook_port_is_one_line(tmp_path, db_url):
    fake = FakeTelegram()
    runner, base = await serve_http(fake)
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        p = await _in_thread(
            tmp_path,
            "run",
            BOT_TOKEN=fake.token,
            BOT_API_URL=base,
            DATABASE_URL=db_url,
            WEBHOOK_URL="https://bot.example.org",
            WEBHOOK_SECRET="s" * 40,
            WEBHOOK_HOST="127.0.0.1",
            WEBHOOK_PORT=str(taken.getsockname()[1]),
            LOG_LEVEL="WARNING",
        )
    finally:
        taken.close()
        await runner.cleanup()
    assert fake.token not in p.stderr
    one_line(p, 1, "WEBHOOK_HOST, WEBHOOK_PORT", "address already in use")


async def _in_thread(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    import asyncio

    return await asyncio.to_thread(nastavnik, tmp_path, *args, **env)


# ------------------------------------------------------------------------------------------ nastavnik migrate
def test_migrate_says_it_created_the_database_then_that_it_is_up_to_date(tmp_path):
    """The default database (data/nastavnik.db): its folder is the one made when missing."""
    first = nastavnik(tmp_path, "migrate")
    assert first.returncode == 0, first.stderr
    assert "data/nastavnik.db created and migrated to revision" in first.stdout
    assert "up to date" not in first.stdout
    assert (tmp_path / "data" / "nastavnik.db").is_file()
    again = nastavnik(tmp_path, "migrate")
    assert again.returncode == 0, again.stderr
    assert "data/nastavnik.db is up to date (revision" in again.stdout
    assert "created" not in again.stdout


async def test_migrate_on_an_empty_postgresql_database_says_it_created_the_tables(tmp_path, pg_url):
    import asyncio

    first = await asyncio.to_thread(nastavnik, tmp_path, "migrate", DATABASE_URL=pg_url)
    assert first.returncode == 0, first.stderr
    assert "was empty: tables created, migrated to revision" in first.stdout
    again = await asyncio.to_thread(nastavnik, tmp_path, "migrate", DATABASE_URL=pg_url)
    assert "is up to date" in again.stdout


@pytest.mark.parametrize("args", [["migrate"], ["run"], ["add-curator", "777"]])
def test_a_database_folder_that_does_not_exist_is_refused_not_created(tmp_path, args):
    """A typo in DATABASE_URL must not leave a new empty database in a new folder while the real one waits."""
    url = f"sqlite+aiosqlite:///{tmp_path}/dta/nastavnik.db"
    p = nastavnik(tmp_path, *args, DATABASE_URL=url, BOT_TOKEN=TOKEN)
    one_line(p, 2, f"the folder {tmp_path}/dta", "does not exist", "DATABASE_URL")
    assert not (tmp_path / "dta").exists()
