"""The outbox: every message reaches Telegram once, failures are classified, crashes never cause a resend,
and everything shares one pace. Backoff runs on an injected clock, so nothing here waits for it."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from aiogram.exceptions import TelegramNetworkError
from sqlalchemy import select

import bot.outbox as outbox_module
from bot.demo.harness import Harness, make_settings
from bot.demo.telegram import FakeTelegram
from bot.domain.entities import NewMessage, Status
from bot.outbox import LEASE, MAX_ATTEMPTS, PER_CHAT_INTERVAL, OutboxSender, SendJournal
from bot.ratelimit import RateLimiter
from storage.models import OutboxMessage
from storage.uow import unit_of_work


class MutableClock:
    """The app's clock, moved by hand: backoff and leases pass without real waiting."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> MutableClock:
    return MutableClock()


@pytest.fixture
async def oh(db_url: str, fake: FakeTelegram, clock: MutableClock) -> AsyncIterator[Harness]:
    harness = await Harness.start(make_settings(db_url), fake, clock)
    yield harness
    await harness.close()


@pytest.fixture
def no_chat_pacing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries to one chat without the real 1 s per-chat gap (that pacing has its own test)."""
    monkeypatch.setattr(outbox_module, "PER_CHAT_INTERVAL", 0.0)


async def enqueue(h: Harness, *messages: NewMessage) -> int:
    async with unit_of_work(h.app.factory) as repos:
        return await repos.outbox.enqueue(list(messages), h.app.clock())


def msg(chat_id: int, text: str = "hello", **kw) -> NewMessage:
    return NewMessage(chat_id=chat_id, text=text, kind="test", **kw)


async def rows(h: Harness) -> list[OutboxMessage]:
    async with unit_of_work(h.app.factory) as repos:
        return list((await repos.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def row(h: Harness, chat_id: int) -> OutboxMessage:
    (only,) = [r for r in await rows(h) if r.chat_id == chat_id]
    return only


def send_requests(fake: FakeTelegram, chat_id: int) -> list:
    return [
        r for r in fake.requests if r.method == "sendMessage" and int(r.params.get("chat_id", 0)) == chat_id
    ]


async def run_until(sender: OutboxSender, done: Callable[[], bool], within: float = 15.0) -> None:
    """Run the sender's real loop (run(): expires leases first) until done() holds, then stop it."""
    task = asyncio.create_task(sender.run())
    try:
        deadline = time.monotonic() + within
        while not done():
            assert time.monotonic() < deadline, "the sender did not finish in time"
            assert not task.done(), task
            await asyncio.sleep(0.01)
    finally:
        await sender.stop()
        await asyncio.wait_for(task, 5)
        await sender.stop()  # a row claimed while stopping is finished too


# -- delivery -----------------------------------------------------------------------------------------------


async def test_messages_to_distinct_chats_each_arrive_once(oh):
    chats = [700_000 + i for i in range(12)]
    assert await enqueue(oh, *(msg(c, f"text {c}") for c in chats)) == len(chats)
    await oh.deliver_outbox()
    for c in chats:
        delivered = oh.fake.delivered_to(c)
        assert [m.text for m in delivered] == [f"text {c}"]
    stored = await rows(oh)
    assert {r.status for r in stored} == {"sent"}
    assert {r.chat_id: r.telegram_message_id for r in stored} == {
        c: oh.fake.delivered_to(c)[0].message_id for c in chats
    }
    assert all(r.sent_at is not None and r.attempts == 1 for r in stored)
    # A second drain finds nothing more to do.
    await oh.deliver_outbox()
    assert len(oh.fake.all_delivered()) == len(chats)


async def test_same_dedup_key_is_delivered_once(oh):
    assert await enqueue(oh, msg(701, "reminder", dedup_key="meeting:7:24h")) == 1
    assert await enqueue(oh, msg(701, "reminder", dedup_key="meeting:7:24h")) == 0
    await oh.deliver_outbox()
    assert await enqueue(oh, msg(701, "reminder", dedup_key="meeting:7:24h")) == 0  # also after sending
    await oh.deliver_outbox()
    assert [m.text for m in oh.fake.delivered_to(701)] == ["reminder"]
    assert len(await rows(oh)) == 1


async def test_blocked_chat_is_unreachable_and_others_still_delivered(oh, clock):
    async with unit_of_work(oh.app.factory) as repos:
        blocked = await repos.participants.create(702, "ru", Status.ACTIVE, clock())
        fine = await repos.participants.create(703, "ru", Status.ACTIVE, clock())
    oh.fake.blocked.add(702)
    await enqueue(oh, msg(702, participant_id=blocked.id), msg(703, participant_id=fine.id), msg(704))
    await oh.deliver_outbox()
    r = await row(oh, 702)
    assert r.status == "unreachable" and r.last_error == "403"
    assert len(send_requests(oh.fake, 702)) == 1  # 403 is final: no retry
    clock.advance(3600)
    await oh.deliver_outbox()
    assert len(send_requests(oh.fake, 702)) == 1
    async with unit_of_work(oh.app.factory) as repos:
        assert (await repos.participants.by_telegram_id(702)).unreachable is True
        assert (await repos.participants.by_telegram_id(703)).unreachable is False
    assert len(oh.fake.delivered_to(703)) == 1 and len(oh.fake.delivered_to(704)) == 1
    assert (await row(oh, 703)).status == "sent" and (await row(oh, 704)).status == "sent"


async def test_429_pauses_everyone_then_the_message_is_retried_once(oh, clock):
    oh.fake.fail_next(429, retry_after=1)
    await enqueue(oh, msg(705, "first"), msg(706, "second"))
    await oh.deliver_outbox()
    refused = oh.fake.requests[0]
    assert refused.outcome == 429 and int(refused.params["chat_id"]) == 705
    # The whole sender paused for retry_after, not just that chat: the next message waited ~1 s.
    (other,) = send_requests(oh.fake, 706)
    assert other.at - refused.at >= 0.9
    r = await row(oh, 705)
    assert r.status == "pending" and r.attempts == 0  # a 429 does not use up an attempt
    assert r.not_before == clock() + timedelta(seconds=1)
    assert oh.fake.delivered_to(705) == []
    clock.advance(1)
    await oh.deliver_outbox()
    assert [m.text for m in oh.fake.delivered_to(705)] == ["first"]
    assert len(oh.fake.delivered_to(706)) == 1
    assert (await row(oh, 705)).status == "sent"


async def test_server_errors_and_timeouts_back_off_until_delivered(oh, clock, no_chat_pacing, monkeypatch):
    session = oh.app.bot.session
    real_request = session.make_request
    timeouts = [1]

    async def flaky(bot, method, timeout=None):
        # What AiohttpSession raises when it cannot connect: the request never left.
        if method.__api_method__ == "sendMessage" and timeouts:
            timeouts.pop()
            raise TelegramNetworkError(
                method=method, message="ClientConnectorError: Cannot connect to host api.telegram.org:443"
            )
        return await real_request(bot, method, timeout)

    oh.fake.fail_next(500)
    oh.fake.fail_next(502)
    await enqueue(oh, msg(707, "eventually"))

    await oh.deliver_outbox()  # 500
    r = await row(oh, 707)
    assert (r.status, r.attempts, r.last_error) == ("pending", 1, "TelegramServerError")
    assert r.not_before == clock() + timedelta(seconds=2)
    clock.advance(1.9)
    await oh.deliver_outbox()  # not due yet: nothing sent
    assert len(send_requests(oh.fake, 707)) == 1

    clock.advance(0.1)
    await oh.deliver_outbox()  # 502
    r = await row(oh, 707)
    assert (r.status, r.attempts) == ("pending", 2) and r.not_before == clock() + timedelta(seconds=4)

    monkeypatch.setattr(session, "make_request", flaky)
    clock.advance(4)
    await oh.deliver_outbox()  # no connection
    r = await row(oh, 707)
    assert (r.status, r.attempts, r.last_error) == ("pending", 3, "network: not connected")
    assert r.not_before == clock() + timedelta(seconds=8)

    clock.advance(8)
    await oh.deliver_outbox()
    r = await row(oh, 707)
    assert (r.status, r.attempts) == ("sent", 4) and r.telegram_message_id is not None
    assert [m.text for m in oh.fake.delivered_to(707)] == ["eventually"]


async def test_gives_up_after_max_attempts(oh, clock, no_chat_pacing):
    oh.fake.fail_next(500, times=MAX_ATTEMPTS)
    await enqueue(oh, msg(708))
    for _ in range(MAX_ATTEMPTS + 2):
        await oh.deliver_outbox()
        clock.advance(301)  # beyond the longest backoff
    r = await row(oh, 708)
    assert r.status == "failed" and r.attempts == MAX_ATTEMPTS
    assert len(send_requests(oh.fake, 708)) == MAX_ATTEMPTS
    assert oh.fake.delivered_to(708) == [] and not oh.fake.failures


async def test_bad_request_fails_without_retry(oh, clock):
    oh.fake.fail_next(400)
    await enqueue(oh, msg(709), msg(710))
    await oh.deliver_outbox()
    clock.advance(3600)
    await oh.deliver_outbox()
    r = await row(oh, 709)
    assert r.status == "failed" and r.last_error.startswith("400") and r.attempts == 1
    assert len(send_requests(oh.fake, 709)) == 1
    assert len(oh.fake.delivered_to(710)) == 1


# -- crash and restart --------------------------------------------------------------------------------------


async def test_row_in_flight_at_a_crash_becomes_uncertain_and_pending_rows_go_out_once(oh, clock):
    chats = [711, 712, 713, 714]
    await enqueue(oh, *(msg(c, f"for {c}") for c in chats))
    # A sender that dies mid-send: Telegram accepts the first message, the answer never gets recorded.
    accepted = asyncio.Event()
    real_handle = oh.fake.handle

    async def accept_then_hang(method, params):
        result = await real_handle(method, params)
        if method == "sendMessage":
            accepted.set()
            await asyncio.Event().wait()
        return result

    oh.fake.handle = accept_then_hang
    dying = OutboxSender(oh.app.bot, oh.app.factory, oh.app.limiter, clock, max_in_flight=1)
    tick = asyncio.create_task(dying.tick())
    await asyncio.wait_for(accepted.wait(), 5)
    for task in [tick, *dying._tasks]:
        task.cancel()
    await asyncio.gather(tick, *dying._tasks, return_exceptions=True)
    del oh.fake.handle
    assert [(r.chat_id, r.status) for r in await rows(oh)] == [
        (711, "sending"),
        (712, "pending"),
        (713, "pending"),
        (714, "pending"),
    ]

    # A restart while the lease still runs does not touch the row (its sender may be alive).
    async with unit_of_work(oh.app.factory) as repos:
        assert await repos.outbox.expire_leases(clock()) == 0

    clock.advance(LEASE.total_seconds() + 1)
    h2 = await oh.restart()
    try:
        await run_until(h2.app.sender, lambda: all(h2.fake.delivered_to(c) for c in chats[1:]))
        await h2.deliver_outbox()
        stored = {r.chat_id: r for r in await rows(h2)}
        assert stored[711].status == "uncertain" and stored[711].last_error == "sender stopped mid-send"
        assert all(stored[c].status == "sent" for c in chats[1:])
        for c in chats:
            assert [m.text for m in h2.fake.delivered_to(c)] == [f"for {c}"]  # nobody got a second copy
        assert len(send_requests(h2.fake, 711)) == 1
    finally:
        await h2.close()


# -- order, pace, priority ----------------------------------------------------------------------------------


async def test_one_chat_gets_its_messages_in_order_about_a_second_apart(oh):
    await enqueue(oh, *(msg(715, f"part {i}") for i in range(3)))
    await oh.deliver_outbox()
    assert [m.text for m in oh.fake.delivered_to(715)] == ["part 0", "part 1", "part 2"]
    times = [r.at for r in send_requests(oh.fake, 715)]
    assert all(b - a >= PER_CHAT_INTERVAL * 0.95 for a, b in itertools.pairwise(times))


async def test_urgent_message_overtakes_a_bulk_backlog(oh):
    oh.app.limiter.set_rate(500)  # a fast pace so a long backlog drains quickly
    backlog = 150
    await enqueue(oh, *(msg(720_000 + i, "bulk", priority=5) for i in range(backlog)))
    sender = oh.app.sender
    urgent_enqueued: list[int] = []
    pending: list[asyncio.Task[int]] = []

    def progress() -> bool:
        delivered = len(oh.fake.all_delivered())
        if not urgent_enqueued and delivered >= 5:
            urgent_enqueued.append(delivered)
            urgent = enqueue(oh, msg(719, "urgent", priority=0))
            pending.append(asyncio.get_running_loop().create_task(urgent))
            sender.notify()
        return delivered == backlog + 1

    await run_until(sender, progress)
    assert await pending[0] == 1
    order = [int(r.params["chat_id"]) for r in oh.fake.sent("sendMessage")]
    position = order.index(719)
    # It waits at most for the batch already being worked through, not for the whole backlog.
    assert position <= urgent_enqueued[0] + sender.batch + 10
    assert backlog - position >= 50


async def test_withdrawn_consent_drops_pending_messages(oh, clock):
    async with unit_of_work(oh.app.factory) as repos:
        await repos.participants.create(716, "ru", Status.WITHDRAWN, clock())
        await repos.participants.create(717, "ru", Status.ACTIVE, clock())
    await enqueue(oh, msg(716, "one"), msg(716, "two"), msg(717, "kept"))
    await oh.deliver_outbox()
    assert oh.fake.delivered_to(716) == [] and send_requests(oh.fake, 716) == []
    stored = await rows(oh)
    assert [(r.status, r.last_error) for r in stored if r.chat_id == 716] == [
        ("dropped", "consent withdrawn"),
        ("dropped", "consent withdrawn"),
    ]
    assert [m.text for m in oh.fake.delivered_to(717)] == ["kept"]


# -- the limiter --------------------------------------------------------------------------------------------


async def test_limiter_keeps_every_second_under_the_limit_and_sustains_the_rate():
    limiter = RateLimiter(29)
    times = []
    for _ in range(70):
        await limiter.acquire()
        times.append(time.monotonic())
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1 / 58 - 0.001  # smooth: never a burst
    assert all(times[i + 29] - times[i] >= 1.0 - 0.002 for i in range(len(times) - 29))  # ≤ 29 in any second
    assert len(times) / (times[-1] - times[0] + 1 / 29) >= 28  # the sustained rate is really ~29/s


async def test_limiter_pause_holds_everyone():
    limiter = RateLimiter(29)
    await limiter.acquire()
    limiter.pause(0.3)
    start = time.monotonic()
    await limiter.acquire(urgent=True)
    assert time.monotonic() - start >= 0.29


async def test_urgent_acquirers_go_ahead_of_waiting_bulk():
    limiter = RateLimiter(29)
    await limiter.acquire()  # the current slot is taken: everyone below has to wait
    order: list[str] = []

    async def take(name: str, urgent: bool) -> None:
        await limiter.acquire(urgent=urgent)
        order.append(name)

    bulk = [asyncio.create_task(take(f"bulk{i}", False)) for i in range(3)]
    await asyncio.sleep(0)  # the bulk acquirers are queued first
    urgent = asyncio.create_task(take("urgent", True))
    await asyncio.gather(*bulk, urgent)
    assert order[0] == "urgent" and sorted(order[1:]) == ["bulk0", "bulk1", "bulk2"]


async def test_with_a_send_journal_a_crash_requeues_claimed_rows_that_never_left(oh, clock, tmp_path):
    """SQLite claims a few rows per transaction; the journal tells, after a kill, which requests had started:
    those become 'uncertain' at once (never sent twice), the rest go out exactly once."""
    chats = [721, 722, 723, 724]
    await enqueue(oh, *(msg(c, f"for {c}") for c in chats))
    accepted = asyncio.Event()
    real_handle = oh.fake.handle

    async def accept_then_hang(method, params):
        result = await real_handle(method, params)
        if method == "sendMessage":
            accepted.set()
            await asyncio.Event().wait()
        return result

    oh.fake.handle = accept_then_hang
    journal = SendJournal(tmp_path / "test.db.outbox-journal")
    dying = OutboxSender(oh.app.bot, oh.app.factory, oh.app.limiter, clock, max_in_flight=1, journal=journal)
    await dying.recover()
    assert journal.active
    # While it lives, no other sender can take the journal.
    assert not SendJournal(tmp_path / "test.db.outbox-journal").acquire()
    tick = asyncio.create_task(dying.tick())
    await asyncio.wait_for(accepted.wait(), 5)
    for task in [tick, *dying._tasks]:
        task.cancel()
    await asyncio.gather(tick, *dying._tasks, return_exceptions=True)
    journal.close()  # what a kill does to the lock
    del oh.fake.handle
    # All four were claimed in one transaction; only the first request had started.
    assert [r.status for r in await rows(oh)] == ["sending"] * 4

    h2 = await oh.restart()  # no lease wait: the journal settles the rows at once
    try:
        await h2.deliver_outbox()
        stored = {r.chat_id: r for r in await rows(h2)}
        assert stored[721].status == "uncertain"
        assert all(stored[c].status == "sent" for c in chats[1:])
        for c in chats:
            assert [m.text for m in h2.fake.delivered_to(c)] == [f"for {c}"]
    finally:
        await h2.close()


async def test_a_timeout_after_the_request_left_is_never_sent_again(oh, clock, no_chat_pacing, monkeypatch):
    """Telegram may have accepted a message whose answer timed out: sending it again could be a second copy,
    so the row is reported 'uncertain' instead."""
    session = oh.app.bot.session
    real_request = session.make_request

    async def accepted_then_timed_out(bot, method, timeout=None):
        result = await real_request(bot, method, timeout)
        if method.__api_method__ == "sendMessage":
            raise TelegramNetworkError(method=method, message="Request timeout error")
        return result

    monkeypatch.setattr(session, "make_request", accepted_then_timed_out)
    await enqueue(oh, msg(709, "once"))
    await oh.deliver_outbox()
    monkeypatch.setattr(session, "make_request", real_request)
    clock.advance(600)
    await oh.deliver_outbox()
    r = await row(oh, 709)
    assert (r.status, r.last_error) == ("uncertain", "network: no answer")
    assert [m.text for m in oh.fake.delivered_to(709)] == ["once"]


async def test_a_reply_refused_for_flood_control_waits_and_goes_once(h):
    """A 429 on a reply to the person in front of the bot: a short wait and one more try, not an apology."""
    u = h.user(4242, "Flood", "ru")
    h.fake.fail_next(429, method="sendMessage", retry_after=1)
    started = time.monotonic()
    replies = await u.send("/help")
    assert len(replies) == 1 and replies[0].text  # the reply, once, after the wait
    assert time.monotonic() - started >= 1.0
    assert [r.outcome for r in h.fake.requests if r.method == "sendMessage"] == [429, 200]


# -- dedup keys longer than the column ----------------------------------------------------------------------


def long_key(n: int = 0) -> str:
    """An immediate alert's key naming every late pair: far longer than the 200-character column."""
    return f"alert:{n}:2026-12-05:" + ",".join(str(i) for i in range(1000, 1090))


async def test_a_dedup_key_longer_than_the_column_is_stored_within_it_and_still_deduplicates(oh):
    assert len(long_key()) > 200
    assert await enqueue(oh, msg(702, "alert", dedup_key=long_key())) == 1
    assert await enqueue(oh, msg(702, "alert", dedup_key=long_key())) == 0
    # Another key with the same beginning is another message.
    assert await enqueue(oh, msg(702, "other alert", dedup_key=long_key() + ",1090")) == 1
    # A long text with a long key: every piece's key fits too, and a second enqueue adds nothing.
    text = "\n\n".join(f"Пара №{i}: этап просрочен. " + "Подробности. " * 20 for i in range(40))
    assert await enqueue(oh, msg(703, text, dedup_key=long_key(1))) == 1
    assert await enqueue(oh, msg(703, text, dedup_key=long_key(1))) == 0
    stored = await rows(oh)
    keys = [r.dedup_key for r in stored]
    assert len(keys) == len(set(keys)) and all(key is not None and len(key) <= 200 for key in keys)
    assert [r.chat_id for r in stored].count(702) == 2 and [r.chat_id for r in stored].count(703) > 1
    async with unit_of_work(oh.app.factory) as repos:
        assert await repos.outbox.was_enqueued(long_key())
        assert not await repos.outbox.was_enqueued(long_key(2))
    await oh.deliver_outbox()
    assert [m.text for m in oh.fake.delivered_to(702)] == ["alert", "other alert"]
