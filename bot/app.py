"""Composition root: builds settings-driven parts once and wires them; main() only runs what this returns."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.domain.forms import load_forms
from bot.metrics import Metrics, MetricsMiddleware, serve_health
from bot.middlewares.chats import PrivateChatsOnly
from bot.middlewares.context import ContextMiddleware
from bot.middlewares.db import UnitOfWorkMiddleware, commit_before_reply
from bot.middlewares.logctx import LogContextMiddleware
from bot.middlewares.once import HandledOnce, OneCopyAtATime
from bot.middlewares.state import ConversationLock
from bot.operator import Operator, operator_ids
from bot.outbox import OutboxSender, SendJournal, sending_from_outbox
from bot.ratelimit import RateLimiter
from bot.services.privacy import ledger_key
from bot.services.questionnaires import Engine
from handlers import feature_routers, outside_private_chats
from scheduler import Jobs, build_scheduler
from scheduler.backup import Backups, backup_folder, schedule_backups
from scheduler.jobs import Erasure
from scheduler.reminders import ReminderScheduler
from storage.conversations import forget_conversations
from storage.db import create_engine, create_session_factory, sqlite_path
from storage.fsm import SqlStorage
from storage.migrate import upgrade
from storage.uow import unit_of_work

log = logging.getLogger("nastavnik")
SHUTDOWN_WAIT = 30  # seconds the updates being handled (and running jobs) get to finish at shutdown
REPLY_RETRY_MAX_WAIT = 5  # seconds a reply may wait after a 429 before the update gives up
PACED_METHODS = {
    "sendMessage",
    "sendDocument",
    "sendPhoto",
    "copyMessage",
    "forwardMessage",
    "sendMediaGroup",
}


_RESPONSE_TYPES: dict[Any, type[Response[Any]]] = {}


def keep_response_type(returning: Any) -> None:
    """aiogram reads every answer of the Bot API as `Response[<the method's result type>]`, and pydantic keeps
    such a parametrised model only while something else refers to it (a weak cache): without a reference it
    builds the model class again, schema and validator included, for nearly every request — about 0.5 ms, a
    sixth of an answered question's cost (bench/forms.py). One strong reference per result type ends that."""
    if returning not in _RESPONSE_TYPES:
        _RESPONSE_TYPES[returning] = Response[returning]


class PacingMiddleware(BaseRequestMiddleware):
    """Every request the bot makes while handling an update.

    - What the person is told is already saved: before a handler's message, edit or button answer leaves, the
      update's transaction so far is committed. A kill right after the reply cannot lose an answer the person
      saw acknowledged, and no database lock is held while Telegram answers. (What the handler writes after
      that commits at the end of the update, as before.)
    - Replies to the person in front of us share Telegram's budget with the outbox, and go first.
    - The model aiogram reads the answer with is kept for the next request (`keep_response_type`)."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        keep_response_type(method.__returning__)
        name = method.__api_method__
        if not name.startswith("get"):
            await commit_before_reply()
        if sending_from_outbox.get():
            return await make_request(bot, method)
        if name in PACED_METHODS:
            await self.limiter.acquire(urgent=True)
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter as exc:
            # A reply refused for flood control: everyone waits, then this one person's reply goes once more
            # (a short wait; a long one fails the update cleanly and the person is told to try again).
            if exc.retry_after > REPLY_RETRY_MAX_WAIT:
                raise
            self.limiter.pause(exc.retry_after)
            await asyncio.sleep(exc.retry_after)
            return await make_request(bot, method)


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    factory: async_sessionmaker[AsyncSession]
    bot: Bot
    dp: Dispatcher
    limiter: RateLimiter
    sender: OutboxSender
    scheduler: AsyncIOScheduler
    clock: Clock
    reminders: ReminderScheduler
    jobs: Jobs
    extras: dict[str, Any] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)
    operator: Operator | None = None
    backups: Backups | None = None  # None: no daily backups (PostgreSQL, BACKUP_KEEP=0)

    async def close(self) -> None:
        """Shut down in order, each step after the previous one finished: no new updates are taken (the caller
        stopped polling or the web server first), the updates being handled finish, the sender stops, the
        scheduler stops with its running jobs done, and only then the bot session and the database close (a
        connection torn away mid-transaction logs "Exception during reset" from the pool)."""
        in_flight: OneCopyAtATime | None = self.dp.get("updates_in_flight")
        if in_flight is not None and not await in_flight.wait_idle(SHUTDOWN_WAIT):
            log.warning("shutdown: updates still being handled after %d s", SHUTDOWN_WAIT)
        await self.sender.stop()
        background = list(self.dp.get("background", ()))
        for task in background:  # before the database closes: a watcher would open a connection after it
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        if self.scheduler.running:
            self.scheduler.pause()
            executors = self.scheduler._executors.values()  # APScheduler 3 has no public "running jobs"
            jobs = [f for ex in executors for f in getattr(ex, "_pending_futures", ())]
            if jobs:  # APScheduler's asyncio executor would cancel them mid-transaction
                await asyncio.wait(jobs, timeout=SHUTDOWN_WAIT)
            self.scheduler.shutdown(wait=False)
        await self.dp.storage.close()
        await self.dp.fsm.events_isolation.close()
        await self.bot.session.close()
        await self.engine.dispose()


def build_limiter(settings: Settings) -> RateLimiter:
    """With Redis, every instance draws on one shared budget; alone, a local limiter is enough."""
    if settings.redis_url:
        from redis.asyncio import Redis

        from bot.ratelimit import SharedRateLimiter

        return SharedRateLimiter(Redis.from_url(settings.redis_url), settings.outbox_rate_per_second)
    return RateLimiter(settings.outbox_rate_per_second)


def build_storage(
    settings: Settings, factory: async_sessionmaker[AsyncSession], clock: Clock
) -> tuple[BaseStorage, BaseEventIsolation]:
    if settings.redis_url:
        from aiogram.fsm.storage.base import DefaultKeyBuilder
        from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage

        storage = RedisStorage.from_url(settings.redis_url, key_builder=DefaultKeyBuilder(with_destiny=True))
        return storage, RedisEventIsolation(redis=storage.redis, key_builder=storage.key_builder)
    return SqlStorage(factory, clock), SimpleEventIsolation()


def build_dispatcher(
    engine: Engine,
    settings: Settings,
    factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    storage: BaseStorage,
    isolation: BaseEventIsolation,
    sender: OutboxSender,
) -> Dispatcher:
    # aiogram's own FSM middleware would read the state before the unit of work opens (a transaction of its
    # own): ConversationLock takes the person's lock in its place and ContextMiddleware reads the state.
    dp = Dispatcher(storage=storage, events_isolation=isolation, disable_fsm=True)
    dp.update.outer_middleware(ConversationLock(dp.fsm.storage, dp.fsm.events_isolation, dp.fsm.strategy))
    dp["clock"] = clock
    dp["engine"] = engine
    dp["factory"] = factory
    # tasks that outlive their update (an announcement's progress watcher); App.close stops them
    dp["background"] = set()
    dp.update.outer_middleware(LogContextMiddleware())
    in_flight = dp["updates_in_flight"] = OneCopyAtATime()
    dp.update.outer_middleware(in_flight)
    dp.update.outer_middleware(UnitOfWorkMiddleware(factory, on_commit=sender.notify))
    dp.update.outer_middleware(HandledOnce(clock))
    dp.update.outer_middleware(ContextMiddleware(settings))
    dp.update.outer_middleware(PrivateChatsOnly(outside_private_chats()))
    dp.include_routers(*feature_routers())
    return dp


async def build_app(
    settings: Settings, *, session: BaseSession | None = None, clock: Clock = utc_now, migrate: bool = True
) -> App:
    # Validated at start: a broken form stops start-up with one line. An institution's own forms (FORMS_DIR)
    # replace the shipped ones with the same id and add new ones.
    forms = load_forms()
    if settings.forms_dir:
        forms.update(load_forms(Path(settings.forms_dir)))
    engine = create_engine(settings.database_url)
    if migrate:
        await upgrade(engine)
    factory = create_session_factory(engine)
    await ensure_programme(factory, settings, clock)
    if session is None:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.bot_api_url))
    bot = Bot(token=settings.bot_token.get_secret_value(), session=session)
    limiter = build_limiter(settings)
    bot.session.middleware(PacingMiddleware(limiter))
    db_file = sqlite_path(settings.database_url)
    journal = SendJournal(f"{db_file}.outbox-journal") if db_file is not None else None
    sender = OutboxSender(bot, factory, limiter, clock, journal=journal)
    storage, isolation = build_storage(settings, factory, clock)
    dp = build_dispatcher(Engine(forms), settings, factory, clock, storage, isolation, sender)
    erasure = Erasure(ledger_key(bot.token), partial(forget_conversations, storage, bot.id))
    scheduler, reminders, jobs = build_scheduler(
        factory, clock, settings.timezone, settings.digest_hour, sender.notify, erasure
    )
    dp["reminders"] = reminders
    jobs.small_numbers = settings.small_numbers
    metrics = Metrics()  # one registry per app: several apps live in one process in tests
    dp.update.outer_middleware(MetricsMiddleware(metrics))
    sender.on_outcome = metrics.sent
    operator = dp["operator"] = Operator(
        factory,
        clock,
        operator_ids(settings.operator_ids, settings.curator_ids),
        timezone=settings.timezone,
        language=settings.default_language,
        notify=sender.notify,
        stuck_after=timedelta(minutes=settings.outbox_stuck_minutes),
        metrics=metrics,
    )
    folder = backup_folder(settings)
    backups = None
    if folder is not None:
        backups = Backups(settings.database_url, folder, settings.backup_keep, clock, operator)
        schedule_backups(scheduler, backups, settings.backup_hour, settings.digest_hour, settings.timezone)
    # Erasures that fell due while the bot was down happen now, not an hour after the start.
    await jobs.purge()
    return App(
        settings=settings,
        engine=engine,
        factory=factory,
        bot=bot,
        dp=dp,
        limiter=limiter,
        sender=sender,
        scheduler=scheduler,
        clock=clock,
        reminders=reminders,
        jobs=jobs,
        metrics=metrics,
        operator=operator,
        backups=backups,
    )


async def ensure_programme(
    factory: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock
) -> None:
    """A fresh installation gets one programme so invitations have somewhere to point."""
    from bot.i18n import Translator

    async with unit_of_work(factory) as repos:
        if not await repos.programmes.active():
            await repos.programmes.create(
                Translator(settings.default_language)("programme.default_title"), settings.timezone, clock()
            )


async def run_polling(app: App) -> None:
    from handlers.menu import refresh_desk_menus, set_default_menus

    sender_task = asyncio.create_task(app.sender.run(), name="outbox")
    await app.reminders.rearm_all()
    app.scheduler.start()
    web = await serve_health(app)  # /healthz and /metrics on WEB_HOST:WEB_PORT
    if app.operator is not None:
        app.dp["background"].add(app.operator.start())  # App.close stops it
    try:
        await app.bot.delete_webhook(drop_pending_updates=False)
        await set_default_menus(app.bot, app.settings.default_language, app.settings)
        await refresh_desk_menus(app.bot, app.factory, app.settings, app.clock())
        log.info("polling started")
        await app.dp.start_polling(app.bot, handle_signals=True, close_bot_session=False)
    finally:
        if web is not None:
            await web.cleanup()
        await app.close()  # stops the sender, which ends its task
        await asyncio.gather(sender_task, return_exceptions=True)
