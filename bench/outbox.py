"""Benchmark: the durable outbox against a fake Telegram that enforces the real limits.

3,000 messages to 3,000 distinct chats are enqueued at once; the real OutboxSender, paced by the real
RateLimiter (outbox_rate_per_second from settings, 29/s by default), sends them to FakeTelegram with
enforce_limits=True (≈30 messages/s per bot in any 1 s window, ≈1/s per chat) and 20 ms of simulated network
latency per request. It reports the sustained rate, the 429s Telegram would have answered, and whether any
message was lost or delivered twice.

Run: python bench/outbox.py   (no arguments; the last line is key=value figures for tracking)
"""

from __future__ import annotations

import sys
from pathlib import Path

# Lets `python bench/outbox.py` import the bot package without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncio
import logging
import tempfile
import time

from bot.demo.harness import Harness, make_settings
from bot.demo.telegram import FakeTelegram
from bot.domain.entities import NewMessage
from storage.repositories.outbox import FINAL
from storage.uow import unit_of_work

N = 3000
LATENCY = 0.02
TIME_LIMIT = 280.0  # seconds; the run is declared stuck after this


async def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        fake = FakeTelegram(enforce_limits=True, latency=LATENCY)
        h = await Harness.start(make_settings(f"sqlite+aiosqlite:///{tmp}/bench.db"), fake)
        try:
            return await run(h, fake)
        finally:
            await h.close()


async def run(h: Harness, fake: FakeTelegram) -> int:
    app = h.app
    rate_setting = app.settings.outbox_rate_per_second
    chats = [10_000_000 + i for i in range(N)]
    t0 = time.perf_counter()
    async with unit_of_work(app.factory) as repos:
        inserted = await repos.outbox.enqueue(
            [
                NewMessage(
                    chat_id=c,
                    text=f"bulk message {i}",
                    kind="bench",
                    dedup_key=f"bench:{i}",
                    batch_id="bench",
                )
                for i, c in enumerate(chats)
            ],
            app.clock(),
        )
    enqueue_s = time.perf_counter() - t0
    assert inserted == N, inserted

    start = time.perf_counter()
    start_mono = time.monotonic()  # the fake stamps requests with time.monotonic()
    task = asyncio.create_task(app.sender.run(), name="outbox-bench")
    last_report = start
    stuck = False
    while True:
        await asyncio.sleep(0.5)
        async with unit_of_work(app.factory) as repos:
            counts = await repos.outbox.counts()
        done = sum(n for status, n in counts.items() if status in FINAL)
        now = time.perf_counter()
        if done >= N:
            break
        if task.done():
            print("the sender stopped early:", task.exception() if not task.cancelled() else "cancelled")
            stuck = True
            break
        if now - last_report >= 10:
            sent = counts.get("sent", 0)
            print(
                f"  {now - start:6.1f} s  sent={sent:5d}  ({sent / (now - start):.1f}/s)  "
                f"429s={fake.count_429}"
            )
            last_report = now
        if now - start > TIME_LIMIT:
            print(f"gave up after {TIME_LIMIT:.0f} s: {counts}")
            stuck = True
            break
    # Time of the last delivery, not of the poll that noticed it.
    sends = [r.at for r in fake.requests if r.method == "sendMessage" and r.outcome == 200]
    first_request = min((r.at for r in fake.requests if r.method == "sendMessage"), default=0.0)
    await app.sender.stop()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    async with unit_of_work(app.factory) as repos:
        counts = await repos.outbox.counts()
    delivered_per_chat = {c: len(fake.messages.get(c, [])) for c in chats}
    lost_rows = N - counts.get("sent", 0)
    undelivered = sum(1 for n in delivered_per_chat.values() if n == 0)
    duplicated = sum(1 for n in delivered_per_chat.values() if n > 1)
    seconds = (max(sends) - first_request) if sends else float("nan")
    # Wall clock from the sender's start to the last delivery (includes the first tick's queries).
    wall = (max(sends) - start_mono) if sends else float("nan")
    rate = len(sends) / seconds if sends else 0.0
    worst = max_in_window(sends)

    print(f"outbox benchmark: {N} messages to {N} distinct chats, enqueued in {enqueue_s:.2f} s")
    print(
        f"  limiter {rate_setting:g}/s (settings.outbox_rate_per_second); fake Telegram enforces "
        f"{fake.limits.per_second}/s per bot, {fake.limits.chat_rate:g}/s per chat; "
        f"latency {LATENCY * 1000:.0f} ms"
    )
    print(f"  first to last delivery: {seconds:.1f} s (sender start to last delivery {wall:.1f} s)")
    print(f"  sustained rate:         {rate:.2f} messages/s")
    print(f"  most sends in any 1 s:  {worst}")
    print(f"  429 answers:            {fake.count_429}")
    print(f"  final statuses:         {dict(sorted(counts.items()))}")
    print(f"  lost (rows not 'sent'): {lost_rows}; chats that received nothing: {undelivered}")
    print(f"  duplicated (chats that received >1): {duplicated}")
    print(
        f"n={N} rate={rate:.2f} seconds={seconds:.1f} errors_429={fake.count_429} lost={lost_rows} "
        f"duplicated={duplicated}"
    )
    return 1 if (stuck or lost_rows or duplicated) else 0


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most successful sends within any sliding window (what Telegram's limit looks at)."""
    times = sorted(times)
    best = lo = 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
