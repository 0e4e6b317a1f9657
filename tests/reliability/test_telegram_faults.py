"""Telegram misbehaving at scale while the real sender loop runs: storms of 429, runs of 5xx, network timeouts
and recipients who blocked the bot, all during one broadcast. tests/test_outbox.py covers each fault once
and in isolation; here they come together and the end counts must be exact.

The app's clock runs 20× faster than real time, so backoffs (2, 4, 8 s …) pass in a fraction of a second;
Telegram's pacing (≈30/s, 1/s per chat) and 429's retry_after stay real."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiogram.exceptions import TelegramNetworkError
from sqlalchemy import select

from bot.demo.harness import Harness, make_settings
from bot.demo.telegram import FakeError, FakeTelegram
from bot.domain.entities import NewMessage, Status
from storage.models import Participant
from storage.uow import unit_of_work

SPEED = 20.0
N = 150
BLOCKED = 15  # every tenth recipient blocked the bot
BASE = 8_000_000


class FastClock:
    def __init__(self) -> None:
        self.start, self.m0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC), time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self.m0) * SPEED)


@pytest.fixture
async def fh(db_url: str, fake: FakeTelegram) -> AsyncIterator[Harness]:
    fake.enforce_limits = True
    harness = await Harness.start(make_settings(db_url), fake, FastClock())
    yield harness
    await harness.close()


async def enqueue_broadcast(h: Harness) -> list[int]:
    chats = [BASE + i for i in range(N)]
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        for chat in chats:  # people, so that a 403 marks them unreachable
            await repos.participants.create(chat, "ru", Status.ACTIVE, now)
        await repos.outbox.enqueue(
            [NewMessage(chat_id=c, text=f"объявление {c}", kind="announcement") for c in chats], now
        )
    return chats


async def run_sender_until_settled(h: Harness, within: float = 90.0) -> dict[str, int]:
    task = asyncio.create_task(h.app.sender.run())
    try:
        deadline = time.monotonic() + within
        while True:
            async with unit_of_work(h.app.factory) as repos:
                counts = await repos.outbox.counts()
            if not counts.get("pending") and not counts.get("sending"):
                return counts
            assert time.monotonic() < deadline, f"not settled: {counts}"
            assert not task.done(), task
            await asyncio.sleep(0.1)
    finally:
        await h.app.sender.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def storms(fake: FakeTelegram, windows: list[tuple[float, float]]) -> None:
    """During each (start, length) window, seconds from now, Telegram answers every send with 429."""
    t0 = time.monotonic()
    real = fake._dispatch

    async def dispatch(method, params):
        now = time.monotonic() - t0
        if method == "sendMessage" and any(a <= now < a + d for a, d in windows):
            fake.count_429 += 1
            raise FakeError(429, "Too Many Requests: retry after 1", retry_after=1)
        return await real(method, params)

    fake._dispatch = dispatch  # type: ignore[method-assign]


def flaky_network(h: Harness, *, before: int, after: int) -> Counter[str]:
    """The next `before` sends cannot connect (they never reach Telegram); then `after` sends reach it (the
    message is delivered) but the answer times out on the way back. Counts what was injected."""
    session = h.app.bot.session
    real = session.make_request
    injected: Counter[str] = Counter()

    async def make_request(bot, method, timeout=None):
        if method.__api_method__ == "sendMessage":
            if injected["before"] < before:
                injected["before"] += 1
                raise TelegramNetworkError(
                    method=method, message="ClientConnectorError: Cannot connect to host api.telegram.org:443"
                )
            if injected["after"] < after:
                injected["after"] += 1
                await real(bot, method, timeout)
                raise TelegramNetworkError(method=method, message="Request timeout error")
        return await real(bot, method, timeout)

    session.make_request = make_request  # type: ignore[method-assign]
    return injected


@pytest.mark.slow
async def test_storms_of_429_5xx_timeouts_and_blocked_recipients_give_exact_counts(fh):
    fake = fh.fake
    chats = await enqueue_broadcast(fh)
    blocked = set(chats[::10])
    assert len(blocked) == BLOCKED
    fake.blocked |= blocked
    storms(fake, [(0.0, 1.5), (3.0, 1.5)])  # everything refused, twice
    fake.fail_next(500, method="sendMessage", times=6)
    fake.fail_next(502, method="sendMessage", times=6)
    injected = flaky_network(fh, before=6, after=0)
    started = time.monotonic()
    counts = await run_sender_until_settled(fh)
    seconds = time.monotonic() - started

    per_chat = {c: len(fake.delivered_to(c)) for c in chats}
    refused = Counter(r.outcome for r in fake.requests if r.method == "sendMessage")
    async with unit_of_work(fh.app.factory) as repos:
        unreachable = set(
            (
                await repos.session.scalars(
                    select(Participant.telegram_id).where(Participant.unreachable.is_(True))
                )
            ).all()
        )
    print(
        f"\nn={N} blocked={BLOCKED} storms_s=3.0 refused_429={refused[429]} "
        f"injected_5xx={refused[500] + refused[502]} "
        f"timeouts={injected['before']} delivered={sum(1 for n in per_chat.values() if n == 1)} "
        f"duplicated={sum(1 for n in per_chat.values() if n > 1)} sent_rows={counts.get('sent', 0)} "
        f"unreachable_rows={counts.get('unreachable', 0)} failed_rows={counts.get('failed', 0)} "
        f"seconds={seconds:.1f}"
    )
    assert refused[429] >= 2 and refused[500] + refused[502] == 12 and injected["before"] == 6
    assert counts == {"sent": N - BLOCKED, "unreachable": BLOCKED}  # exact, nothing failed or left over
    assert all(per_chat[c] == (0 if c in blocked else 1) for c in chats)  # each once, blocked ones never
    assert unreachable == blocked


async def test_a_timeout_after_telegram_accepted_never_repeats_the_message(fh):
    """Telegram may accept a message and the answer be lost on the way back; the sender cannot tell this from
    a request that arrived too late, so it never sends such a row again: it is reported 'uncertain'. Every
    person still got their message exactly once."""
    fake = fh.fake
    chats = await enqueue_broadcast(fh)
    injected = flaky_network(fh, before=0, after=4)
    counts = await run_sender_until_settled(fh)
    per_chat = {c: len(fake.delivered_to(c)) for c in chats}
    duplicated = sum(1 for n in per_chat.values() if n > 1)
    print(
        f"\nn={N} timeouts_after_accept={injected['after']} duplicated={duplicated} "
        f"max_copies={max(per_chat.values())} rows={dict(sorted(counts.items()))}"
    )
    assert injected["after"] == 4
    assert all(n == 1 for n in per_chat.values())  # nobody missed out, nobody got two
    assert counts == {"sent": N - 4, "uncertain": 4}
