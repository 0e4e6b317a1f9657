"""With REDIS_URL, conversation state and event isolation live in Redis (the real local server: skipped
where it is absent, a failure under CI=true)."""

from __future__ import annotations

import uuid

from bot.demo.harness import Harness, make_settings
from tests.helpers import invite, onboard_curator


async def test_conversation_survives_restart_with_redis(redis_db, tmp_path, fake):
    url = await redis_db(15)
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/r.db", curator_ids="1000", redis_url=url)
    h = await Harness.start(settings, fake)
    from aiogram.fsm.storage.redis import RedisStorage

    assert isinstance(h.app.dp.storage, RedisStorage)
    uid = 20_000 + uuid.uuid4().int % 10_000
    try:
        c = await onboard_curator(h)
        token = await invite(c, "наставляемый")
        u = h.user(uid, "M", "ru")
        await u.send(f"/start {token}")
        await u.click("✅ Даю согласие")
        await u.send("Редисова Ольга")
        h = await h.restart()
        u = h.user(uid, "M", "ru")
        replies = await u.send("7Г")
        assert "18 лет" in replies[-1].text
        state = await h.app.dp.storage.redis.keys(f"fsm:*{uid}*")
        assert state
    finally:
        await h.app.dp.storage.redis.flushdb()
        await h.close()
