"""The `nastavnik` command: run the bot (default), add a curator, apply migrations."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.config import DatabaseSettings, SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nastavnik", description="Nastavnik mentoring-programme bot")
    sub = parser.add_subparsers(dest="cmd")
    sub.add_parser("run", help="run the bot with long polling (default)")
    add = sub.add_parser("add-curator", help="make a Telegram user a curator")
    add.add_argument("telegram_id", type=int)
    sub.add_parser("migrate", help="apply database migrations and exit")
    args = parser.parse_args(argv)

    try:
        if args.cmd == "add-curator":
            settings = load_settings(DatabaseSettings)
            return asyncio.run(_add_curator(settings.database_url, args.telegram_id))
        if args.cmd == "migrate":
            settings = load_settings(DatabaseSettings)
            return asyncio.run(_migrate(settings.database_url))
        settings = load_settings()
    except SettingsError as exc:
        print(f"nastavnik: {exc}", file=sys.stderr)
        return 2
    from bot.app import build_app, run_polling
    from bot.logging_setup import setup_logging

    setup_logging(settings.log_level, settings.log_json)

    async def _run() -> None:
        app = await build_app(settings)
        if settings.webhook_url:
            from bot.webhook import run_webhook

            await run_webhook(app)
        else:
            await run_polling(app)

    from aiogram.exceptions import TelegramUnauthorizedError

    from bot.domain.forms import FormError

    try:
        asyncio.run(_run())
    except KeyboardInterrupt:
        pass
    except FormError as exc:
        print(f"nastavnik: form {exc}", file=sys.stderr)
        return 2
    except TelegramUnauthorizedError:
        print("nastavnik: BOT_TOKEN was refused by the Bot API (check it with @BotFather)", file=sys.stderr)
        return 2
    return 0


async def _migrate(url: str) -> int:
    from storage.db import create_engine
    from storage.migrate import upgrade

    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    print("nastavnik: database is up to date")
    return 0


async def _add_curator(url: str, telegram_id: int) -> int:
    from bot.clock import utc_now
    from bot.domain.entities import Role, Status
    from storage.db import create_engine, create_session_factory
    from storage.migrate import upgrade
    from storage.uow import unit_of_work

    engine = create_engine(url)
    await upgrade(engine)
    now = utc_now()
    async with unit_of_work(create_session_factory(engine)) as repos:
        me = await repos.participants.by_telegram_id(telegram_id)
        if me is None:
            # Only the id is stored; the person still gives consent and a name on /start.
            me = await repos.participants.create(telegram_id, "ru", Status.ONBOARDING.value, now)
        added = await repos.participants.add_role(me.id, Role.CURATOR, now)
        await repos.audit.log("curator.add", now, object_type="participant", object_id=me.id, via="cli")
    await engine.dispose()
    print(
        f"nastavnik: {'added curator' if added else 'already a curator'} (participant #{me.id}); "
        "they finish joining with /start"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
