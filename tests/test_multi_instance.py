"""Two bot instances behind one webhook on the real PostgreSQL and Redis: any instance handles any update,
exactly one runs the scheduler, and when it is killed (-9) the other takes over with no lost or repeated
reminder. Skipped where PostgreSQL or Redis is absent, a failure under CI=true."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from datetime import timedelta

import aiohttp
import pytest

from bot.demo.harness import Harness, make_settings
from bot.demo.telegram import FakeTelegram, serve_http
from bot.domain.entities import Role
from bot.services import matching
from bot.services import meetings as msvc
from storage.uow import unit_of_work
from tests.test_matching_flow import mentee_answers, mentor_answers, seed

SECRET = "multi-instance-secret-0123456789"
PAIRS = 5


@pytest.fixture
async def redis_url(redis_db):
    url = await redis_db(14)
    yield url
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    await client.flushdb()
    await client.aclose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def prepare(url: str, fake: FakeTelegram) -> dict[int, int]:
    """PAIRS pairs, each with a confirmed meeting whose "1 h before" reminders fall due 25–37 s from now."""
    h = await Harness.start(make_settings(url, curator_ids="1000"), fake)
    expected: dict[int, int] = {}
    try:
        for i in range(PAIRS):
            mentor_id, mentor_tg = await seed(h, Role.MENTOR, f"Наставник {i}", mentor_answers(["math"], 1))
            mentee_id, mentee_tg = await seed(h, Role.MENTEE, f"Ученик {i}", mentee_answers(["math"]))
            now = h.app.clock()
            async with unit_of_work(h.app.factory) as repos:
                programme = (await repos.programmes.active())[0]
                pair = await matching.create_pairing(repos, programme.id, mentee_id, mentor_id, None, now)
                st = await msvc.pair_state(repos, pair, now, "Europe/Moscow")
                mentor = await repos.participants.get(mentor_id)
                starts = now + timedelta(hours=1, seconds=25 + 3 * i)
                meeting, _ = await msvc.propose(repos, mentor, st, starts, "online", "https://x.example", now)
                mentee = await repos.participants.get(mentee_id)
                assert await msvc.confirm(repos, mentee, meeting, st, now)
            expected[mentor_tg] = expected.get(mentor_tg, 0) + 1
            expected[mentee_tg] = expected.get(mentee_tg, 0) + 1
    finally:
        await h.close()
    return expected


async def health(session: aiohttp.ClientSession, port: int) -> dict | None:
    try:
        async with session.get(
            f"http://127.0.0.1:{port}/healthz", timeout=aiohttp.ClientTimeout(total=2)
        ) as r:
            return await r.json()
    except (aiohttp.ClientError, TimeoutError):
        return None


@pytest.mark.slow
async def test_two_instances_one_scheduler_failover_without_loss_or_repeat(pg_url, redis_url, tmp_path):
    fake = FakeTelegram()
    runner, base = await serve_http(fake)
    from storage.db import create_engine
    from storage.migrate import upgrade

    engine = create_engine(pg_url)
    await upgrade(engine)
    await engine.dispose()
    ports = [free_port(), free_port()]
    procs = []
    env0 = {
        k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "REDIS_", "WEBHOOK_"))
    }
    for port in ports:
        env = dict(
            env0,
            BOT_TOKEN=fake.token,
            BOT_API_URL=base,
            DATABASE_URL=pg_url,
            REDIS_URL=redis_url,
            WEBHOOK_URL=f"http://127.0.0.1:{port}",
            WEBHOOK_SECRET=SECRET,
            WEBHOOK_PORT=str(port),
            WEBHOOK_HOST="127.0.0.1",
            CURATOR_IDS="1000",
        )
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                cwd=tmp_path,
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        )
    try:
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 30
            states: list[dict | None] = [None, None]
            while time.monotonic() < deadline:
                states = [await health(session, p) for p in ports]
                if all(states) and sum(bool(s and s["leader"]) for s in states) == 1:
                    break
                await asyncio.sleep(0.3)
            assert all(states) and sum(s["leader"] for s in states) == 1, states
            leader = next(i for i, s in enumerate(states) if s["leader"])
            # Reminders pending while the leader runs; it dies before they are due.
            expected = await prepare(pg_url, fake)
            # any instance handles any update; a wrong secret is refused
            for n, port in enumerate(ports):
                update = {
                    "update_id": 900 + n,
                    "message": {
                        "message_id": 1,
                        "date": int(time.time()),
                        "text": "/start",
                        "chat": {"id": 5000 + n, "type": "private"},
                        "from": {"id": 5000 + n, "is_bot": False, "first_name": "X", "language_code": "ru"},
                        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
                    },
                }
                async with session.post(
                    f"http://127.0.0.1:{port}/webhook",
                    data=json.dumps(update),
                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
                ) as r:
                    assert r.status == 200
                async with session.post(
                    f"http://127.0.0.1:{port}/webhook",
                    data=json.dumps(update),
                    headers={
                        "X-Telegram-Bot-Api-Secret-Token": "wrong-secret-000000",
                        "Content-Type": "application/json",
                    },
                ) as r:
                    assert r.status in (401, 403)
            for n in range(2):
                assert any("ссылке-приглашению" in (m.text or "") for m in fake.delivered_to(5000 + n))
            # kill -9 the scheduler's instance before any reminder is due
            procs[leader].send_signal(signal.SIGKILL)
            await procs[leader].wait()
            other = ports[1 - leader]
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                s = await health(session, other)
                if s and s["leader"]:
                    break
                await asyncio.sleep(0.3)
            assert s and s["leader"], "the surviving instance did not take over the scheduler"
            # every "1 h before" reminder arrives exactly once
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                got = {
                    chat: sum("Через час" in (m.text or "") for m in fake.delivered_to(chat))
                    for chat in expected
                }
                if got == expected:
                    break
                await asyncio.sleep(0.5)
            await asyncio.sleep(2)  # and nothing more comes after that
            got = {
                chat: sum("Через час" in (m.text or "") for m in fake.delivered_to(chat)) for chat in expected
            }
            print(
                f"reminders expected={sum(expected.values())} delivered={sum(got.values())} "
                f"leader_killed={leader} takeover=ok"
            )
            assert got == expected
    finally:
        for p in procs:
            if p.returncode is None:
                p.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(p.wait(), 10)
                except TimeoutError:
                    p.kill()
        await runner.cleanup()
