"""The `nastavnik` command: run the bot (default), add a curator, apply migrations, back up and restore."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import sqlite3
import sys
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import DatabaseSettings, Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["demo"]:
        # Offline, before any setting is read: no token, no database URL, no network.
        from bot.demo import main as demo_main

        return demo_main(argv[1:])
    parser = argparse.ArgumentParser(prog="nastavnik", description="Nastavnik mentoring-programme bot")
    sub = parser.add_subparsers(dest="cmd")
    sub.add_parser("run", help="run the bot: long polling, or webhook mode when WEBHOOK_URL is set (default)")
    add = sub.add_parser("add-curator", help="make a Telegram user a curator")
    add.add_argument("telegram_id", type=int)
    add.add_argument(
        "--institution", type=int, default=None, help="the institution's number (default: the first one)"
    )
    coordinator = sub.add_parser(
        "add-coordinator", help="make a Telegram user the district's (mentoring centre's) coordinator"
    )
    coordinator.add_argument("telegram_id", type=int)
    sub.add_parser("migrate", help="apply database migrations and exit")
    sub.add_parser("healthcheck", help="ask the running bot's /healthz; exit 0 when it answers healthy")
    sub.add_parser("demo", help="run a whole programme offline against a fake Telegram (no token needed)")
    backup = sub.add_parser("backup", help="copy the SQLite database to PATH (safe while the bot runs)")
    backup.add_argument("path")
    restore = sub.add_parser("restore", help="replace the SQLite database with the backup PATH (bot stopped)")
    restore.add_argument("path")
    move = sub.add_parser(
        "migrate-to", help="copy this installation's database into another (e.g. PostgreSQL)"
    )
    move.add_argument(
        "--database-url", required=True, help="the target, e.g. postgresql+asyncpg://user@host/db"
    )
    args = parser.parse_args(argv)

    from bot.preflight import StartupError

    try:
        if args.cmd == "add-curator":
            settings = load_settings(DatabaseSettings)
            return asyncio.run(
                _add_role(settings.database_url, args.telegram_id, "curator", args.institution)
            )
        if args.cmd == "add-coordinator":
            settings = load_settings(DatabaseSettings)
            return asyncio.run(_add_role(settings.database_url, args.telegram_id, "coordinator", None))
        if args.cmd == "migrate":
            settings = load_settings(DatabaseSettings)
            return asyncio.run(_migrate(settings.database_url))
        if args.cmd == "migrate-to":
            settings = load_settings(DatabaseSettings)
            target = load_settings(DatabaseSettings, database_url=args.database_url)
            return asyncio.run(_migrate_to(settings.database_url, target.database_url))
        if args.cmd in ("backup", "restore"):
            settings = load_settings(DatabaseSettings)
            if args.cmd == "restore":
                from bot.preflight import check_database_folder

                check_database_folder(settings.database_url)
            run = backup_sqlite if args.cmd == "backup" else restore_sqlite
            print(f"nastavnik: {run(settings.database_url, Path(args.path))}")
            return 0
        settings = load_settings()
        if args.cmd == "healthcheck":
            return healthcheck(settings)
        return _run(settings)
    except (SettingsError, BackupError) as exc:
        print(f"nastavnik: {exc}", file=sys.stderr)
        return 2
    except StartupError as exc:
        print(f"nastavnik: {exc}", file=sys.stderr)
        return exc.code


def _run(settings: Settings) -> int:
    """Start the bot. A start-up failure the operator can act on (a service that does not answer, a refused
    token, a broken form, a port taken) ends the process with one line on stderr and a non-zero code."""
    from bot.preflight import check_files

    check_files(settings)
    from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError

    from bot.domain.forms import FormError
    from bot.logging_setup import setup_logging
    from bot.preflight import SETTING_EXIT, StartupError, bot_api_error

    setup_logging(settings.log_level, settings.log_json)
    try:
        asyncio.run(_serve(settings))
    except KeyboardInterrupt:
        pass
    except FormError as exc:
        raise StartupError(f"form {exc}", SETTING_EXIT) from None
    except TelegramUnauthorizedError:
        raise StartupError(
            "BOT_TOKEN was refused by the Bot API (check it with @BotFather)", SETTING_EXIT
        ) from None
    except TelegramNetworkError as exc:  # the host answered the check, then not the first request
        raise bot_api_error(settings.bot_api_url, exc.message) from None
    return 0


async def _serve(settings: Settings) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.preflight import StartupError, check_services, database_error

    new_database = _absent_sqlite_file(settings.database_url)
    await check_services(settings)
    from bot.app import build_app, run_polling  # after the checks: a failed one answers at once

    if new_database is not None:
        logging.getLogger("nastavnik").info("no database at %s: a new one is created", new_database)
    try:
        app = await build_app(settings)
    except (SQLAlchemyError, ConnectionError, TimeoutError) as exc:  # it answered a moment ago
        raise database_error(settings.database_url, exc) from None
    if not settings.webhook_url:
        await run_polling(app)  # a taken /healthz port is logged there, and the bot runs on
        return
    from bot.webhook import run_webhook

    try:
        await run_webhook(app)
    except OSError as exc:
        if exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise
        raise StartupError(
            f"cannot listen for Telegram's updates (WEBHOOK_HOST, WEBHOOK_PORT): {exc.strerror or exc}"
        ) from None


def _absent_sqlite_file(url: str) -> Path | None:
    from storage.db import sqlite_path

    path = sqlite_path(url)
    return path if path is not None and not path.exists() else None


def healthcheck(settings: Settings) -> int:
    """The container's health check: the running instance's /healthz (webhook mode: WEBHOOK_HOST:WEBHOOK_PORT;
    long polling: WEB_HOST:WEB_PORT) answers 200. One line either way; exit 0 healthy, 1 not."""
    import urllib.error
    import urllib.request

    if settings.webhook_url:
        host, port = settings.webhook_host, settings.webhook_port
    elif settings.web_enabled:
        host, port = settings.web_host, settings.web_port
    else:
        print("nastavnik: unhealthy: WEB_ENABLED is false, so there is no /healthz to ask", file=sys.stderr)
        return 1
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/healthz"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through HTTP_PROXY
    try:
        with opener.open(url, timeout=5) as response:
            body = response.read(500).decode("utf-8", "replace").strip()
    except urllib.error.HTTPError as exc:
        print(f"nastavnik: unhealthy: {url} answered {exc.code}", file=sys.stderr)
        return 1
    except OSError as exc:
        from bot.preflight import reason

        print(f"nastavnik: unhealthy: {url} does not answer ({reason(exc)})", file=sys.stderr)
        return 1
    print(f"nastavnik: healthy: {body}")
    return 0


async def _migrate_to(source_url: str, target_url: str) -> int:
    from bot.preflight import check_database
    from storage.db import create_engine
    from storage.transfer import copy_database

    if source_url == target_url:
        print("nastavnik: the target is the current database", file=sys.stderr)
        return 2
    await check_database(source_url)
    await check_database(target_url)
    source, target = create_engine(source_url), create_engine(target_url)
    try:
        copied = await copy_database(source, target, lambda table, n: print(f"  {table}: {n}"))
    except RuntimeError as exc:
        print(f"nastavnik: {exc}", file=sys.stderr)
        return 2
    finally:
        await source.dispose()
        await target.dispose()
    print(f"nastavnik: copied {sum(copied.values())} rows; now set DATABASE_URL to the new database")
    return 0


async def _migrate(url: str) -> int:
    """Apply the migrations and say what was done: a database created, migrated from one revision to
    another, or already up to date."""
    from bot.preflight import check_database, database_label
    from storage.db import create_engine
    from storage.migrate import upgrade

    created = _absent_sqlite_file(url) is not None
    await check_database(url)
    engine = create_engine(url)
    try:
        before = await _revision(engine)
        await upgrade(engine)
        after = await _revision(engine)
    finally:
        await engine.dispose()
    label = database_label(url)
    if created:
        print(f"nastavnik: database {label} created and migrated to revision {after}")
    elif before is None:
        print(f"nastavnik: database {label} was empty: tables created, migrated to revision {after}")
    elif before != after:
        print(f"nastavnik: database {label} migrated from revision {before} to {after}")
    else:
        print(f"nastavnik: database {label} is up to date (revision {after})")
    return 0


async def _revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as conn:
        return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


async def _add_role(url: str, telegram_id: int, role_name: str, institution: int | None) -> int:
    """The first curator of an institution, or the district's first coordinator (later ones are invited
    by link). A curator without --institution is a curator of the first institution."""
    from bot.clock import utc_now
    from bot.domain.entities import Role, Status
    from bot.preflight import check_database
    from storage.db import create_engine, create_session_factory
    from storage.migrate import upgrade
    from storage.uow import unit_of_work

    role = Role(role_name)
    await check_database(url)
    engine = create_engine(url)
    await upgrade(engine)
    now = utc_now()
    async with unit_of_work(create_session_factory(engine)) as repos:
        if institution is not None and await repos.institutions.get(institution) is None:
            await engine.dispose()
            print(f"nastavnik: there is no institution no. {institution}", file=sys.stderr)
            return 2
        me = await repos.participants.by_telegram_id(telegram_id)
        if me is None:
            # Only the id is stored; the person still gives consent and a name on /start.
            me = await repos.participants.create(telegram_id, "ru", Status.ONBOARDING.value, now)
        added = await repos.participants.add_role(me.id, role, now, institution_id=institution)
        await repos.audit.log(f"{role.value}.add", now, object_type="participant", object_id=me.id, via="cli")
    await engine.dispose()
    print(
        f"nastavnik: {'added ' + role.value if added else 'already a ' + role.value} (participant #{me.id}); "
        "they finish joining with /start"
    )
    return 0


class BackupError(Exception):
    """A backup or restore that cannot be done; the text is one line for the console."""


PG_HINT = (
    "backup and restore are for SQLite; for PostgreSQL use pg_dump (e.g. pg_dump -Fc -f nastavnik.dump) "
    "and pg_restore"
)


def _database_file(url: str) -> Path:
    if url.startswith("postgresql"):
        raise BackupError(PG_HINT)
    rest = url.split(":///", 1)[1].split("?", 1)[0] if ":///" in url else ""
    if not rest or rest == ":memory:":
        raise BackupError("DATABASE_URL names no database file (in-memory SQLite)")
    return Path(rest)


def _check(conn: sqlite3.Connection, what: Path) -> None:
    try:
        result = conn.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{what} is not a readable SQLite database ({exc})") from None
    if result != "ok":
        raise BackupError(f"{what} is damaged (quick_check: {result})")


def backup_sqlite(url: str, dest: Path) -> str:
    """Copy the live database with SQLite's online backup API: a consistent snapshot of what is committed,
    taken while the bot keeps running and writing (WAL). The copy is one self-contained file, written
    next to PATH and renamed into place, so PATH is never half-written."""
    db = _database_file(url)
    if not db.is_file():
        raise BackupError(f"database file {db} does not exist")
    if dest.exists() and dest.resolve() == db.resolve():
        raise BackupError("the backup path is the database file itself")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    part.unlink(missing_ok=True)
    try:
        with closing(sqlite3.connect(db, timeout=30)) as src, closing(sqlite3.connect(part)) as out:
            src.backup(out)  # all pages in one step: one read transaction, one snapshot
            out.execute("PRAGMA journal_mode=DELETE")  # no -wal file needed beside the copy
            _check(out, part)
    except (sqlite3.Error, BackupError) as exc:
        part.unlink(missing_ok=True)
        raise BackupError(f"backup failed: {exc}") from None
    part.replace(dest)
    return f"backed up {db} to {dest} ({dest.stat().st_size} bytes)"


def restore_sqlite(url: str, source: Path) -> str:
    """Replace the database with a backup. Refused while anyone (the bot) has the database open. The current
    database is first saved to <database>.bak-<timestamp>; the backup is then written into it with the
    backup API in one transaction, so a crash leaves either the old or the new database, never a mix (a
    plain file copy over a WAL database could be mixed with its stale -wal file)."""
    db = _database_file(url)
    if not source.is_file():
        raise BackupError(f"backup file {source} does not exist")
    if db.exists() and source.resolve() == db.resolve():
        raise BackupError("the backup path is the database file itself")
    with closing(sqlite3.connect(source, timeout=30)) as src:
        _check(src, source)
        tables = {row[0] for row in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"alembic_version", "participants"} <= tables:
            raise BackupError(f"{source} is not a Nastavnik database backup")
        had_data = db.is_file() and db.stat().st_size > 0
        db.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(db, timeout=0, isolation_level=None)) as live:
            try:
                # Held until this connection closes: nobody else can read or write meanwhile.
                live.execute("PRAGMA locking_mode=EXCLUSIVE")
                live.execute("BEGIN EXCLUSIVE")
                live.execute("SELECT count(*) FROM sqlite_master").fetchone()
                live.execute("COMMIT")
            except sqlite3.OperationalError:
                raise BackupError(f"the database {db} is in use — stop the bot, then restore") from None
            # Who was erased in the database being replaced: they are erased again in the restored one.
            ledger = _read_ledger(live)
            saved = None
            if had_data:
                saved = db.with_name(f"{db.name}.bak-{datetime.now():%Y%m%d-%H%M%S}")
                with closing(sqlite3.connect(saved)) as keep:
                    live.backup(keep)
                    keep.execute("PRAGMA journal_mode=DELETE")
            try:
                live.execute("PRAGMA journal_mode=DELETE")  # the swap is one journaled transaction
                src.backup(live)
                # Messages in flight when the backup was taken may have reached Telegram: never re-sent.
                live.execute(
                    "UPDATE outbox SET status = 'uncertain', claimed_until = NULL, "
                    "last_error = 'in flight when the backup was taken' WHERE status = 'sending'"
                )
                live.execute("PRAGMA journal_mode=WAL")
                _check(live, db)
            except sqlite3.Error as exc:
                raise BackupError(f"restore failed, the database is unchanged: {exc}") from None
        # The send journal speaks of the replaced database's rows.
        Path(f"{db}.outbox-journal").unlink(missing_ok=True)
    try:
        erased = asyncio.run(_erase_again(url, ledger))
    except Exception as exc:  # one line for the console; the restore itself is done
        raise BackupError(
            f"restored {db}, but erasing again the people forgotten since the backup failed "
            f"({exc.__class__.__name__}); do not start the bot: restore {saved or 'the previous database'} "
            "to undo, fix the cause and restore again"
        ) from None
    kept = f"; the previous database was saved to {saved}" if saved else ""
    return f"restored {db} from {source}{kept}; erased again: {erased} (forgotten since the backup was made)"


def _read_ledger(conn: sqlite3.Connection) -> list[tuple[str | None, int, datetime]]:
    if not conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'erasure_ledger'"
    ).fetchone():
        return []
    rows = conn.execute(
        "SELECT anon_key, participant_id, erased_at FROM erasure_ledger ORDER BY id"
    ).fetchall()
    return [(key, pid, datetime.fromisoformat(at).replace(tzinfo=UTC)) for key, pid, at in rows]


def _ledger_key() -> bytes | None:
    """The ledger's HMAC key comes from BOT_TOKEN (never stored in the database); without it, the restored
    database is erased again by participant number alone."""
    from bot.services.privacy import ledger_key

    try:
        settings = load_settings()
    except SettingsError:
        return None
    return ledger_key(settings.bot_token.get_secret_value())


async def _erase_again(url: str, ledger: list[tuple[str | None, int, datetime]]) -> int:
    """Re-apply every erasure of the ledger (the replaced database's and the restored one's) to the restored
    database, at its current schema; the -wal file is cut back after."""
    from bot.clock import utc_now
    from bot.services.privacy import reapply_ledger
    from storage.db import create_engine, create_session_factory, truncate_wal
    from storage.migrate import upgrade
    from storage.uow import unit_of_work

    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with unit_of_work(create_session_factory(engine)) as repos:
            done = await reapply_ledger(repos, ledger, utc_now(), key=_ledger_key())
        await truncate_wal(engine)
    finally:
        await engine.dispose()
    return len(done)


if __name__ == "__main__":
    sys.exit(main())
