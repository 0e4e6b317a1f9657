"""Benchmark: what one update costs in the real dispatcher, against a bare aiogram echo bot.

The real app (middlewares, SQL unit of work, SQL FSM storage, i18n, handlers) handles 300 complete mentee
onboardings — /start <token>, the consent press, the name, the class, the "adult" press: 1,500 updates — fed
one after another through the in-process fake Bot API. Then a bare aiogram Dispatcher with one echo handler
(message -> message.answer(text)) is fed the same number of text updates through the same kind of
FakeSession. Both are timed per update from the raw update dict to the handler's last reply.

The app normally paces every reply through the shared RateLimiter (≈30 messages/s, Telegram's limit). That
would measure the limiter, not the handlers, so its interval is set to 0 here (the output says so).

Run: python bench/updates.py   (no arguments; the last line is key=value figures for tracking)
"""

from __future__ import annotations

import sys
from pathlib import Path

# Lets `python bench/updates.py` import the bot package without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncio
import itertools
import logging
import math
import tempfile
import time
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Message, Update
from sqlalchemy import func, select

from bot.demo.harness import Harness, make_settings
from bot.demo.telegram import FakeSession, FakeTelegram
from bot.domain.entities import Status
from storage.models import Participant
from storage.uow import unit_of_work
from tests.helpers import invite, onboard_curator

CONVERSATIONS = 300
FIRST_USER = 50_000
CLASSES = ["5А", "6Б", "7В", "8Г", "9А", "10Б", "11В"]
NAMES = ["Иванов Иван", "Петрова Анна", "Сидоров Пётр", "Кузнецова Мария", "Смирнов Олег"]


def p99(durations: list[float]) -> float:
    ordered = sorted(durations)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


async def bench_app(tmp: str) -> tuple[list[float], float]:
    """Onboard CONVERSATIONS mentees through the real app; returns per-update seconds and the wall time."""
    fake = FakeTelegram(enforce_limits=False)
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp}/updates.db", curator_ids="1000", outbox_rate_per_second=30
    )
    h = await Harness.start(settings, fake)
    try:
        # Handler cost, not Telegram pacing: replies are not spaced 1/30 s apart in this benchmark.
        h.app.limiter.set_rate(0)
        curator = await onboard_curator(h)
        token = await invite(curator, "наставляемый")  # one reusable link for everybody

        durations: list[float] = []
        real_feed = h.feed

        async def timed_feed(update: dict[str, Any]) -> None:
            t0 = time.perf_counter()
            await real_feed(update)
            durations.append(time.perf_counter() - t0)

        h.feed = timed_feed  # type: ignore[method-assign]
        start = time.perf_counter()
        for i in range(CONVERSATIONS):
            u = h.user(FIRST_USER + i, "Mentee", "ru")
            await u.send(f"/start {token}")
            await u.click("✅ Даю согласие")
            await u.send(NAMES[i % len(NAMES)])
            await u.send(CLASSES[i % len(CLASSES)])
            await u.click("Да")
        wall = time.perf_counter() - start

        async with unit_of_work(h.app.factory) as repos:
            active = await repos.session.scalar(
                select(func.count())
                .select_from(Participant)
                .where(Participant.telegram_id >= FIRST_USER, Participant.status == Status.ACTIVE.value)
            )
        if active != CONVERSATIONS:
            raise SystemExit(f"only {active} of {CONVERSATIONS} onboardings finished: benchmark invalid")
        return durations, wall
    finally:
        await h.close()


async def bench_echo(n: int) -> tuple[list[float], float]:
    """A bare aiogram Dispatcher with one echo handler, fed n text updates through FakeSession."""
    fake = FakeTelegram(enforce_limits=False)
    bot = Bot(token=fake.token, session=FakeSession(fake))
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    ids = itertools.count(1)
    durations: list[float] = []
    try:
        start = time.perf_counter()
        for i in range(n):
            user = FIRST_USER + i % CONVERSATIONS
            raw = {
                "update_id": next(ids),
                "message": {
                    "message_id": next(ids),
                    "date": int(time.time()),
                    "text": NAMES[i % len(NAMES)],
                    "chat": {"id": user, "type": "private", "first_name": "Mentee"},
                    "from": {"id": user, "is_bot": False, "first_name": "Mentee", "language_code": "ru"},
                },
            }
            t0 = time.perf_counter()
            update = Update.model_validate(raw, context={"bot": bot})
            await dp.feed_update(bot, update)
            durations.append(time.perf_counter() - t0)
        wall = time.perf_counter() - start
        if len(fake.all_delivered()) != n:
            raise SystemExit("the echo bot did not answer every update: the benchmark is invalid")
        return durations, wall
    finally:
        await bot.session.close()


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        app_durations, app_wall = await bench_app(tmp)
    n = len(app_durations)
    echo_durations, echo_wall = await bench_echo(n)

    # Throughput from the time spent inside the dispatcher (the client-side bookkeeping of the app's
    # conversations is excluded, so both sides count the same thing).
    rate = n / sum(app_durations)
    echo_rate = n / sum(echo_durations)
    app_p99 = p99(app_durations) * 1000
    echo_p99 = p99(echo_durations) * 1000
    print(
        f"updates benchmark: {CONVERSATIONS} mentee onboardings = {n} updates, fed one at a time "
        f"(wall: app {app_wall:.1f} s, echo {echo_wall:.2f} s)"
    )
    print("  NOTE: the app's RateLimiter interval is set to 0 (outbox_rate_per_second=30 otherwise): this")
    print("        measures handler cost, not Telegram pacing; with pacing a reply waits up to 1/30 s.")
    print(
        f"  real dispatcher: {rate:8.1f} updates/s   mean {1000 / rate:6.2f} ms   "
        f"p50 {sorted(app_durations)[n // 2] * 1000:6.2f} ms   p99 {app_p99:6.2f} ms   "
        f"max {max(app_durations) * 1000:6.2f} ms"
    )
    print(
        f"  bare echo bot:   {echo_rate:8.1f} updates/s   mean {1000 / echo_rate:6.2f} ms   "
        f"p50 {sorted(echo_durations)[n // 2] * 1000:6.2f} ms   p99 {echo_p99:6.2f} ms   "
        f"max {max(echo_durations) * 1000:6.2f} ms"
    )
    print(f"  the real dispatcher costs {echo_rate / rate:.1f}× an echo per update")
    print(
        f"updates={n} rate={rate:.1f} p99_ms={app_p99:.2f} echo_rate={echo_rate:.1f} "
        f"echo_p99_ms={echo_p99:.2f} ratio={echo_rate / rate:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
