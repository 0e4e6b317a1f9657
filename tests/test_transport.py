"""Transport: the webhook's secret, private chats only, the sender under a failing database, one update
handled once, and a clean shutdown."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.metrics import Metrics
from bot.testing.fake_telegram import FakeTelegram
from bot.testing.harness import Harness, make_settings
from bot.webhook import WEBHOOK_PATH, make_web_app
from scheduler.leader import Leadership
from storage.uow import unit_of_work

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET = "transport-test-secret-0123456789abcdef"


def _start_update(update_id: int, user_id: int = 4242) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Mallory"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Mallory", "language_code": "ru"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def _nothing() -> None:
    return None


# ------------------------------------------------------------------------------------------------- webhook
def test_webhook_mode_without_a_secret_does_not_start(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "WEBHOOK_", "REDIS_"))
    }
    env.update(
        BOT_TOKEN="123:" + "a" * 30,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/w.db",
        WEBHOOK_URL="https://bot.example.org",
        WEBHOOK_SECRET="",
    )
    p = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode == 2 and len(lines) == 1, p.stderr
    assert "WEBHOOK_SECRET is not set" in lines[0] and "Traceback" not in p.stderr


async def test_webhook_refuses_a_post_without_the_right_secret_header(db_url):
    fake = FakeTelegram()
    settings = make_settings(db_url, webhook_url="https://bot.example.org", webhook_secret=SECRET)
    h = await Harness.start(settings, fake)
    web_app = make_web_app(h.app, Metrics(), Leadership(db_url, _nothing, _nothing))
    client = TestClient(TestServer(web_app))
    await client.start_server()
    try:
        forged = [{}, {"X-Telegram-Bot-Api-Secret-Token": "guess"}, {"X-Telegram-Bot-Api-Secret-Token": ""}]
        for n, headers in enumerate(forged, start=1):
            resp = await client.post(WEBHOOK_PATH, json=_start_update(n), headers=headers)
            assert resp.status == 401
        assert not fake.sent("sendMessage")
        async with unit_of_work(h.app.factory) as repos:
            assert await repos.participants.by_telegram_id(4242) is None
        # The same update with Telegram's header is handled (the check above is not vacuous).
        resp = await client.post(
            WEBHOOK_PATH, json=_start_update(10), headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
        assert resp.status == 200
        assert fake.delivered_to(4242)
    finally:
        await client.close()
        await h.close()


async def test_web_app_is_never_built_without_a_secret(db_url):
    h = await Harness.start(make_settings(db_url))
    try:
        with pytest.raises(RuntimeError, match="WEBHOOK_SECRET"):
            make_web_app(h.app, Metrics(), Leadership(db_url, _nothing, _nothing))
    finally:
        await h.close()
