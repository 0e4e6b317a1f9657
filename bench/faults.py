"""kill -9 at random moments while the real `python -m bot` sends a broadcast through the outbox; restart;
repeat 20 times. Prints delivered / lost / duplicated / uncertain.

The bot long-polls an HTTP fake of the Bot API (Telegram's limits enforced). Every message is a row; the
sender claims a row right before its request and records the answer right after, so a kill can only hit
the rows in flight at that instant: Telegram may or may not have accepted them and offers no way to ask,
so they are never re-sent (no duplicate is possible) and are counted as "uncertain" — delivered or lost,
reported exactly."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.testing.fake_telegram import FakeTelegram, serve_http  # noqa: E402

N = 1000
KILLS = 20
SEED = 7


def seed_outbox(db: Path) -> None:
    now = "2026-01-01 00:00:00.000000"
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO outbox (chat_id, kind, method, payload, priority, dedup_key, status, attempts,"
            " not_before, created_at) VALUES (?, 'announcement', 'sendMessage', ?, 5, ?, 'pending', 0, ?, ?)",
            [(10_000 + i, f'{{"text": "broadcast {i}"}}', f"fault:{i}", now, now) for i in range(N)],
        )


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())


async def main() -> int:
    rng = random.Random(SEED)
    fake = FakeTelegram(enforce_limits=True, latency=0.01)
    runner, base = await serve_http(fake)
    tmp = Path(tempfile.mkdtemp(prefix="nastavnik-faults-"))
    db = tmp / "faults.db"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "REDIS_", "WEBHOOK_"))
    }
    env.update(
        BOT_TOKEN=fake.token, BOT_API_URL=base, DATABASE_URL=f"sqlite+aiosqlite:///{db}", LOG_LEVEL="ERROR"
    )
    migrate = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "migrate", cwd=tmp, env=env, stdout=asyncio.subprocess.DEVNULL
    )
    await migrate.wait()
    seed_outbox(db)
    started = time.monotonic()
    kills = 0
    try:
        for _ in range(KILLS):
            polls = sum(r.method == "getUpdates" for r in fake.requests)
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                cwd=tmp,
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            # Kill while it is sending: wait until the bot is up (it polls), then a random moment later.
            for _ in range(2400):  # up to 2 minutes for a slow start
                if sum(r.method == "getUpdates" for r in fake.requests) > polls:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(rng.uniform(0.2, 2.5))
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            kills += 1
            c = counts(db)
            print(
                f"kill {kills:2d}: sent={c.get('sent', 0)} pending={c.get('pending', 0)} "
                f"in-flight={c.get('sending', 0)}",
                flush=True,
            )
        # The last start runs until the queue is empty; rows left mid-send settle when their lease ends.
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=tmp,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            c = counts(db)
            if not c.get("pending") and not c.get("sending"):
                break
            await asyncio.sleep(1)
        proc.send_signal(signal.SIGTERM)
        await proc.wait()
    finally:
        await runner.cleanup()
    c = counts(db)
    per_chat = {10_000 + i: 0 for i in range(N)}
    for m in fake.all_delivered():
        if m.chat_id in per_chat:
            per_chat[m.chat_id] += 1
    delivered = sum(1 for v in per_chat.values() if v == 1)
    duplicated = sum(1 for v in per_chat.values() if v > 1)
    lost = sum(1 for v in per_chat.values() if v == 0)
    uncertain = c.get("uncertain", 0) + c.get("sending", 0)
    print(f"{N} messages, {kills} kills, {time.monotonic() - started:.0f} s; outbox rows: {c}")
    print(
        f"messages in flight at a kill (uncertain): {uncertain}; of those Telegram had accepted "
        f"{uncertain - lost} (delivered once) and not {lost} (never sent, by design not retried)"
    )
    print(
        f"n={N} kills={kills} delivered={delivered} duplicated={duplicated} lost={lost} uncertain={uncertain}"
    )
    return 1 if duplicated else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
