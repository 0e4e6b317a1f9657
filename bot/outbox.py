"""The one road for messages to many people: a durable table and one paced sender.

Guarantees: a row is sent at most once, and a row not sent is never given up silently. With PostgreSQL
(several instances) a row is claimed (committed, SELECT … FOR UPDATE SKIP LOCKED) right before its request and
finished right after the answer; a row that was in flight when its instance died may or may not have reached
Telegram, so it is never re-sent: it becomes 'uncertain' when its lease runs out.

With SQLite (one process, one writer at a time) claiming row by row would put a wait for the write lock in
front of every message, so the sender claims a few rows per transaction and writes each row's id to a send
journal (a local append-only file, written before the request leaves; a kill -9 does not lose it) right
before its request. After a crash the rows still 'sending' are settled from the journal: started ones become
'uncertain', the others go back to 'pending' and are sent once. An exclusive lock on the journal keeps a
second sender on the same database file to row-by-row claims."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import timedelta

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock, utc_now
from bot.domain.entities import OutboxItem
from bot.domain.statuses import OutboxStatus
from bot.ratelimit import RateLimiter
from storage.uow import Repos, unit_of_work

log = logging.getLogger(__name__)

# Set while the sender itself calls the Bot API, so the request middleware does not pace it a second time.
sending_from_outbox: ContextVar[bool] = ContextVar("sending_from_outbox", default=False)

MAX_ATTEMPTS = 5
RECORD_DELAY = 0.01  # seconds an outcome waits for others to share its transaction
PER_CHAT_INTERVAL = 1.0
LEASE = timedelta(seconds=60)
CLAIM_AHEAD = 8  # rows claimed per transaction with a journal (≈ 0.3 s of sending at 29/s)
JOURNAL_COMPACT_BYTES = 64 * 1024
BACKOFF_MAX = 30  # seconds between the sender's attempts while the database keeps failing
STILL_FAILING_EVERY = 600.0  # seconds between the short "still failing" lines
STOP_WAIT = 10.0  # seconds the loop may take to finish its step when the sender stops


def _is_database_error(exc: BaseException) -> bool:
    return isinstance(exc, (SQLAlchemyError, sqlite3.Error, OSError))


def _describe(exc: BaseException) -> str:
    """The exception's type, and SQLite's own message (fixed texts such as "database or disk is full", never
    values); other messages may quote data, so they stay out of the log."""
    orig = getattr(exc, "orig", None)
    if isinstance(orig, sqlite3.Error):
        return f"{type(exc).__name__}: {str(orig).splitlines()[0][:120]}" if str(orig) else type(exc).__name__
    return type(exc).__name__ if orig is None else f"{type(exc).__name__}: {type(orig).__name__}"


def _never_left(exc: TelegramNetworkError) -> bool:
    """The connection could not even be made (aiohttp's connector error): the request never reached Telegram,
    so sending it again cannot make a second copy."""
    return exc.message.startswith(
        ("ClientConnectorError", "ClientConnectorDNSError", "ClientProxyConnectionError")
    )


class SendJournal:
    """Ids of outbox rows whose request has started, appended before the request; one sender per file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Open and lock the journal; False if another live sender holds it."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    @property
    def active(self) -> bool:
        return self._fd is not None

    def _write(self, tag: bytes, ids: list[int]) -> None:
        assert self._fd is not None
        os.write(self._fd, b"".join(b"%s%d\n" % (tag, i) for i in ids))

    def intend(self, ids: list[int]) -> None:
        """Before the claim's commit: these rows may become ours."""
        self._write(b"c", ids)

    def missed(self, ids: list[int]) -> None:
        """After the claim: these rows did not become ours."""
        self._write(b"x", ids)

    def started(self, outbox_id: int) -> None:
        """Right before the request."""
        self._write(b"s", [outbox_id])

    def read(self) -> tuple[set[int], set[int]]:
        """(rows this sender claimed, rows whose request started)."""
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        data = os.pread(self._fd, size, 0) if size else b""
        marks: dict[bytes, set[int]] = {b"c": set(), b"x": set(), b"s": set()}
        for line in data.split(b"\n"):
            tag, digits = line[:1], line[1:]
            if tag in marks and digits.isdigit():
                marks[tag].add(int(digits))
        return marks[b"c"] - marks[b"x"], marks[b"s"]

    def size(self) -> int:
        return os.fstat(self._fd).st_size if self._fd is not None else 0

    def reset(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock
            self._fd = None


class OutboxSender:
    def __init__(
        self,
        bot: Bot,
        factory: async_sessionmaker[AsyncSession],
        limiter: RateLimiter,
        clock: Clock = utc_now,
        *,
        max_in_flight: int = 8,
        batch: int = 60,
        idle_sleep: float = 0.2,
        journal: SendJournal | None = None,
    ) -> None:
        self.bot = bot
        self.journal = journal
        self.factory = factory
        self.limiter = limiter
        self.clock = clock
        self.batch = batch
        self.idle_sleep = idle_sleep
        self._in_flight: set[int] = set()  # chat ids
        self._last_sent: dict[int, float] = {}
        self._sem = asyncio.Semaphore(max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self._records: list[tuple] = []
        self._flusher: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._recovered = False
        self.expired = 0  # time-bound messages dropped at the claim instead of sent late
        # None: Telegram's ≈1 message/s per chat (PER_CHAT_INTERVAL); tests with a simulated clock set 0.
        self.per_chat_interval: float | None = None
        # Told every send's outcome (status or retry kind, error) — the metrics' counters (bot/metrics.py).
        self.on_outcome: Callable[[str, str | None], None] | None = None

    def notify(self) -> None:
        """Something was enqueued: look now rather than after the idle sleep."""
        self._wake.set()

    async def recover(self) -> None:
        """Settle what the previous sender left 'sending' (see the module's docstring)."""
        self._recovered = True
        if self.journal is not None and self.journal.acquire():
            claimed, started = self.journal.read()
            async with unit_of_work(self.factory) as repos:
                unsent, uncertain = await repos.outbox.settle_claims(claimed, started)
            self.journal.reset()
            if unsent or uncertain:
                log.warning(
                    "outbox: after a stop, %d claimed messages had not been sent (queued again) and %d were "
                    "in flight (marked uncertain)",
                    unsent,
                    uncertain,
                )
        # Rows another sender claimed (row by row) settle when their lease runs out.
        async with unit_of_work(self.factory) as repos:
            lost = await repos.outbox.expire_leases(self.clock())
        if lost:
            log.warning(
                "outbox: %d messages were in flight when the sender last stopped; marked uncertain", lost
            )

    async def run(self) -> None:
        self._runner = asyncio.current_task()
        recovered = False
        last_sweep = time.monotonic()
        failures, failing_since, last_said, delay = 0, 0.0, 0.0, self.idle_sleep
        while not self._stopping:
            try:
                if not recovered:
                    await self.recover()
                    recovered = True
                if time.monotonic() - last_sweep > 30:
                    # Another instance (or this one before a restart) may have died mid-send: settle its rows.
                    last_sweep = time.monotonic()
                    async with unit_of_work(self.factory) as repos:
                        await repos.outbox.expire_leases(self.clock())
                    self._compact_journal()
                sent_any = await self.tick()
            except Exception as exc:
                # A database failure (a full disk, a lost server) must not stop all sending until the
                # next restart, nor fill the log (and the disk) with a traceback per attempt: back off.
                failures += 1
                now = time.monotonic()
                delay = self.idle_sleep if failures == 1 else min(delay * 2, BACKOFF_MAX)
                if failures == 1:
                    failing_since = last_said = now
                    log.error(
                        "outbox: sender failed (%s); retrying with back-off up to %d s",
                        _describe(exc),
                        BACKOFF_MAX,
                        exc_info=not _is_database_error(exc),  # a bug, not the database: its traceback, once
                    )
                elif now - last_said >= STILL_FAILING_EVERY:
                    last_said = now
                    log.warning("outbox: sender still failing (%s), %d attempts", _describe(exc), failures)
                if self._stopping:
                    break
                self._wake.clear()  # a wake-up from before the failure must not turn this into a busy loop
                with contextlib.suppress(TimeoutError):
                    # A commit elsewhere (notify) means the database may be back: try at once.
                    await asyncio.wait_for(self._wake.wait(), delay)
                continue
            if failures:
                log.info(
                    "outbox: sender working again after %d failed attempts in %.0f s",
                    failures,
                    time.monotonic() - failing_since,
                )
                failures, delay = 0, self.idle_sleep
            if not sent_any:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.idle_sleep)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        runner = getattr(self, "_runner", None)
        if runner is not None and runner is not asyncio.current_task() and not runner.done():
            # Let the loop finish its step (a claim in progress) rather than cancel it mid-transaction.
            _, late = await asyncio.wait({runner}, timeout=STOP_WAIT)
            for task in late:
                task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
        if self.journal is not None:
            self.journal.close()

    def _compact_journal(self) -> None:
        """Only rows still 'sending' need their line: when nothing is claimed or in flight, start afresh."""
        if (
            self.journal is not None
            and self.journal.active
            and not self._tasks
            and not self._records
            and self.journal.size() > JOURNAL_COMPACT_BYTES
        ):
            self.journal.reset()

    async def drain(self, within: float = 60.0) -> None:
        """Send until nothing is due (used by tests, the demo and benchmarks)."""
        if not self._recovered:
            await self.recover()
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            started = await self.tick()
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
            elif not started:
                async with unit_of_work(self.factory) as repos:
                    if not await repos.outbox.due(self.clock(), 1):
                        return
                await asyncio.sleep(0.05)

    async def tick(self) -> bool:
        """Start sending what is due now; returns whether anything was started."""
        self._wake.clear()
        now = self.clock()
        async with unit_of_work(self.factory) as repos:
            items = await repos.outbox.due(now, self.batch)
            if not items:
                return False
            firsts: dict[int, tuple[int, int]] = {}
            for it in items:
                firsts.setdefault(it.chat_id, (it.priority, it.id))
            blocked = await repos.outbox.earlier_pending_chats(firsts, now)
        chosen: list[OutboxItem] = []
        seen: set[int] = set()
        gap = PER_CHAT_INTERVAL if self.per_chat_interval is None else self.per_chat_interval
        for item in items:
            chat = item.chat_id
            if chat in seen or chat in blocked or chat in self._in_flight or firsts[chat][1] != item.id:
                continue
            seen.add(chat)
            last = self._last_sent.get(chat)
            if last is not None and time.monotonic() - last < gap:
                continue
            chosen.append(item)
        batched = self.journal is not None and self.journal.active
        started = False
        for at in range(0, len(chosen), CLAIM_AHEAD if batched else 1):
            group = chosen[at : at + (CLAIM_AHEAD if batched else 1)]
            if self._stopping:
                break
            if batched:
                group = await self._claim(group)
            for n, item in enumerate(group):
                await self._sem.acquire()
                await self.limiter.acquire(urgent=item.priority <= 0)
                if self._stopping:
                    self._sem.release()
                    if batched:
                        await self._unclaim(group[n:])
                    return started
                if not batched and not await self._claim([item]):
                    self._sem.release()
                    continue
                self._in_flight.add(item.chat_id)
                task = asyncio.create_task(self._send(item, journaled=batched))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                started = True
            if not batched and self._wake.is_set() and group and group[0].priority > 0:
                # Something new was enqueued (maybe urgent): look at the queue again before more bulk.
                break
            if batched and self._wake.is_set():
                break
        return started

    async def _claim(self, items: list[OutboxItem]) -> list[OutboxItem]:
        """Claim rows in one transaction; rows of people who withdrew consent are dropped instead, and
        time-bound rows past their meaning expire."""
        journal = self.journal if self.journal is not None and self.journal.active else None
        if journal is not None:
            journal.intend([it.id for it in items])
        now = self.clock()
        async with unit_of_work(self.factory) as repos:
            claimed = await repos.outbox.claim_many([it.id for it in items], now, LEASE)
            passed_over = [it.id for it in items if it.id not in claimed]
            # A time-bound message (a reminder queued before a stop) is re-checked by the claim itself; the
            # ones it refused for that reason are marked here, never sent late.
            expired = await repos.outbox.expire_stale(passed_over, now)
            self.expired += len(expired)
            for chat in {it.chat_id for it in items if it.id not in claimed and it.id not in expired}:
                if not await repos.participants.chat_is_writable(chat):
                    await repos.outbox.drop_for_chat(chat, "consent withdrawn")
        if journal is not None and len(claimed) < len(items):
            journal.missed([it.id for it in items if it.id not in claimed])
        return [it for it in items if it.id in claimed]

    async def _unclaim(self, items: list[OutboxItem]) -> None:
        if items:
            async with unit_of_work(self.factory) as repos:
                await repos.outbox.unclaim([it.id for it in items])

    async def _send(self, item: OutboxItem, journaled: bool = False) -> None:
        token = sending_from_outbox.set(True)
        outcome: tuple[str, str | None, int | None, float | None] = (
            OutboxStatus.FAILED,
            "unknown",
            None,
            None,
        )
        try:
            if journaled and self.journal is not None:
                # As late as possible: a kill before this line leaves a row sent once after the restart.
                self.journal.started(item.id)
            message_id = await self._call(item)
            outcome = (OutboxStatus.SENT, None, message_id, None)
        except TelegramRetryAfter as exc:
            self.limiter.pause(exc.retry_after)
            outcome = ("retry_free", "429", None, float(exc.retry_after))
        except TelegramForbiddenError:
            outcome = (OutboxStatus.UNREACHABLE, "403", None, None)
        except TelegramNetworkError as exc:
            if _never_left(exc):
                outcome = ("retry", "network: not connected", None, None)
            else:
                # A timeout or a dropped connection after the request left: Telegram may have delivered it and
                # there is no way to ask. Never sent again (that could be a second copy); reported instead.
                outcome = (OutboxStatus.UNCERTAIN, "network: no answer", None, None)
        except TelegramServerError as exc:
            outcome = ("retry", type(exc).__name__, None, None)
        except (TelegramBadRequest, TelegramNotFound) as exc:
            outcome = (OutboxStatus.FAILED, f"400 {exc.message[:150]}", None, None)
        except TelegramUnauthorizedError:
            log.critical("outbox: the Bot API refused the token; stopping the sender")
            outcome = ("retry_free", "401", None, 30.0)
            self._stopping = True
        except Exception:
            log.exception("outbox: unexpected error sending message id=%s", item.id)
            outcome = ("retry", "internal", None, None)
        finally:
            sending_from_outbox.reset(token)
        if self.on_outcome is not None:
            self.on_outcome(outcome[0], outcome[1])
        try:
            await self._record(item, *outcome)
        finally:
            self._last_sent[item.chat_id] = time.monotonic()
            self._in_flight.discard(item.chat_id)
            self._sem.release()

    async def _record(
        self, item: OutboxItem, result: str, error: str | None, message_id: int | None, wait: float | None
    ) -> None:
        """Outcomes of sends that finish close together are written in one transaction (the row stays
        'sending' until then, so a kill in between makes it 'uncertain', never a second send)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._records.append((item, result, error, message_id, wait, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        await asyncio.sleep(RECORD_DELAY)  # let sends finishing about now join this transaction
        while self._records:
            batch, self._records = self._records, []
            try:
                async with unit_of_work(self.factory) as repos:
                    for item, result, error, message_id, wait, _ in batch:
                        await self._apply(repos, item, result, error, message_id, wait)
            except Exception as exc:
                for *_, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for *_, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def _apply(
        self,
        repos: Repos,
        item: OutboxItem,
        result: str,
        error: str | None,
        message_id: int | None,
        wait: float | None,
    ) -> None:
        now = self.clock()
        if result == OutboxStatus.SENT:
            await repos.outbox.finish(item.id, OutboxStatus.SENT, now, message_id=message_id)
        elif result == OutboxStatus.UNCERTAIN:
            await repos.outbox.finish(item.id, OutboxStatus.UNCERTAIN, now, error=error)
        elif result == OutboxStatus.UNREACHABLE:
            await repos.outbox.finish(item.id, OutboxStatus.UNREACHABLE, now, error=error)
            await repos.participants.mark_unreachable_by_chat(item.chat_id, now)
        elif result == "retry_free":
            await repos.outbox.retry_later(
                item.id, now + timedelta(seconds=wait or 1), error or "429", count_attempt=False
            )
        elif result == "retry" and item.attempts + 1 < MAX_ATTEMPTS:
            backoff = min(2 ** (item.attempts + 1), 300)
            await repos.outbox.retry_later(item.id, now + timedelta(seconds=backoff), error or "retry")
        else:
            await repos.outbox.finish(item.id, OutboxStatus.FAILED, now, error=error)

    async def _call(self, item: OutboxItem) -> int | None:
        p = item.payload
        markup = InlineKeyboardMarkup.model_validate(p["reply_markup"]) if p.get("reply_markup") else None
        if item.method == "sendMessage":
            msg = await self.bot.send_message(
                item.chat_id,
                p["text"],
                reply_markup=markup,
                parse_mode=p.get("parse_mode"),
                link_preview_options=None,
            )
        elif item.method in ("sendDocument", "sendPhoto"):
            if "file_b64" in p:
                media: object = BufferedInputFile(
                    base64.b64decode(p["file_b64"]), filename=p.get("filename", "file")
                )
            else:
                media = p["file_id"]
            if item.method == "sendDocument":
                msg = await self.bot.send_document(
                    item.chat_id,
                    media,
                    caption=p.get("text") or None,  # type: ignore[arg-type]
                    reply_markup=markup,
                    parse_mode=p.get("parse_mode"),
                )
            else:
                msg = await self.bot.send_photo(
                    item.chat_id,
                    media,
                    caption=p.get("text") or None,  # type: ignore[arg-type]
                    reply_markup=markup,
                    parse_mode=p.get("parse_mode"),
                )
        else:
            raise ValueError(f"unsupported outbox method {item.method}")
        return msg.message_id
