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

from bot.demo.harness import Harness, make_settings
from bot.demo.telegram import FakeTelegram
from bot.metrics import Metrics
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


# ----------------------------------------------------------------------------------------- private chats only
GROUP_ID = -1001234567890


def _group_message(h: Harness, user_id: int, text: str, chat_type: str = "supergroup") -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": next(h._msg_ids),
        "date": int(time.time()),
        "chat": {"id": GROUP_ID, "type": chat_type, "title": "8А"},
        "from": {"id": user_id, "is_bot": False, "first_name": "Curator", "language_code": "ru"},
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"message": message}


def _bot_added(user_id: int, chat_type: str = "group", status: str = "member") -> dict[str, Any]:
    from aiogram.types import ChatMemberAdministrator

    bot_user = {"id": 123456, "is_bot": True, "first_name": "Nastavnik", "username": "nastavnik_test_bot"}
    member: dict[str, Any] = {"status": status, "user": bot_user}
    if status == "administrator":  # every right Telegram must state, none granted
        fields = ChatMemberAdministrator.model_fields.items()
        member |= {k: False for k, f in fields if f.is_required() and k not in ("status", "user")}
    return {
        "my_chat_member": {
            "chat": {"id": GROUP_ID, "type": chat_type, "title": "8А"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Curator", "language_code": "ru"},
            "date": int(time.time()),
            "old_chat_member": {"status": "left", "user": bot_user},
            "new_chat_member": member,
        }
    }


def _requests_to(fake: FakeTelegram, chat_id: int) -> list:
    return [r for r in fake.requests if str(r.params.get("chat_id")) == str(chat_id)]


async def test_curator_commands_in_a_group_post_no_personal_data(h):
    from tests.helpers import onboard_curator, onboard_mentee, onboard_mentor

    curator = await onboard_curator(h)
    await onboard_mentee(h, curator, 2001, name="Петров Иван")
    await onboard_mentor(h, curator, 3001, name="Сидорова Ольга Павловна")
    await h.deliver_outbox()
    # In the private chat the curator does see the names (so the group check below is not vacuous).
    assert any("Петров" in t for t in [m.text or "" for m in await curator.send("/participants Петров")])

    before_docs = len(h.fake.sent("sendDocument"))
    for text in (
        "/participants",
        "/participants Петров",
        "/dashboard",
        "/mydata",
        "/start",
        "/export",
        "Петров",
    ):
        await h.feed(_group_message(h, 1000, text))
    await h.deliver_outbox()

    to_group = _requests_to(h.fake, GROUP_ID)
    said = [r.params.get("text") or "" for r in to_group if r.method == "sendMessage"]
    assert len(said) == 1, said  # one neutral line for the whole group, not one per message
    assert "Петров" not in said[0] and "Сидорова" not in said[0] and "Куратова" not in said[0]
    assert {r.method for r in to_group} <= {"sendMessage", "leaveChat"}
    assert [r.method for r in to_group].count("leaveChat") == 1
    assert len(h.fake.sent("sendDocument")) == before_docs  # no personal-data file anywhere
    # A button pressed under a message in the group does nothing either.
    await h.feed(
        {
            "callback_query": {
                "id": "cq-group",
                "from": {"id": 1000, "is_bot": False, "first_name": "Curator", "language_code": "ru"},
                "chat_instance": "g",
                "data": "pp:1",
                "message": {
                    "message_id": 5,
                    "date": int(time.time()),
                    "chat": {"id": GROUP_ID, "type": "supergroup", "title": "8А"},
                    "text": "x",
                },
            }
        }
    )
    assert len(_requests_to(h.fake, GROUP_ID)) == len(to_group)


@pytest.mark.parametrize(
    "chat_type, status, says",
    [("group", "member", True), ("supergroup", "administrator", True), ("channel", "administrator", False)],
)
async def test_bot_added_to_a_group_says_one_line_and_leaves(h, chat_type, status, says):
    await h.feed(_bot_added(1000, chat_type, status))
    to_group = _requests_to(h.fake, GROUP_ID)
    assert [r.method for r in to_group] == (["sendMessage", "leaveChat"] if says else ["leaveChat"])
    if says:
        assert "личн" in to_group[0].params["text"]


# ------------------------------------------------------------------------------- the sender, database failing
async def test_sender_backs_off_and_logs_once_while_the_database_fails(h, monkeypatch, caplog):
    """A full disk: the loop used to log a whole traceback about 2.5 times a second with nothing to send."""
    import asyncio
    import logging
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from bot.domain.entities import NewMessage
    from storage.repositories.outbox import OutboxRepo

    caplog.set_level(logging.INFO, logger="bot.outbox")
    real_due = OutboxRepo.due
    failing, attempts = True, []

    async def due(self, *args, **kwargs):
        attempts.append(time.monotonic())
        if failing:
            raise OperationalError("SELECT …", {}, sqlite3.OperationalError("database or disk is full"))
        return await real_due(self, *args, **kwargs)

    monkeypatch.setattr(OutboxRepo, "due", due)
    sender = h.app.sender
    task = asyncio.create_task(sender.run())
    try:
        await asyncio.sleep(2.5)
        lines = [r for r in caplog.records if r.name == "bot.outbox"]
        assert len(lines) == 1, [r.getMessage() for r in lines]
        assert lines[0].levelno == logging.ERROR and "OperationalError" in lines[0].getMessage()
        assert not lines[0].exc_info and "\n" not in lines[0].getMessage()
        assert 3 <= len(attempts) <= 6  # backing off: 0.2, 0.4, 0.8, 1.6 s … (was ≈ 12 in 2.5 s)
        # The database is back: a message enqueued now is sent and one line says so.
        failing = False
        async with unit_of_work(h.app.factory) as repos:
            await repos.outbox.enqueue([NewMessage(chat_id=777, text="hello", kind="test")], h.app.clock())
        sender.notify()
        for _ in range(100):
            if h.fake.delivered_to(777):
                break
            await asyncio.sleep(0.05)
        assert [m.text for m in h.fake.delivered_to(777)] == ["hello"]
        lines = [r for r in caplog.records if r.name == "bot.outbox"]
        assert [r.levelno for r in lines] == [logging.ERROR, logging.INFO], [r.getMessage() for r in lines]
    finally:
        await sender.stop()
        await asyncio.wait_for(task, 5)


# ----------------------------------------------------------------------------------- one update, handled once
async def test_the_same_update_delivered_twice_is_handled_once(h):
    """Telegram retries a webhook update whose answer came late (a big import): the work must not be repeated,
    not even after a restart."""
    await h.feed(_start_update(9001, user_id=5555))
    first = [m.text for m in h.fake.delivered_to(5555)]
    assert first  # the welcome
    await h.feed(_start_update(9001, user_id=5555))
    h = await h.restart()
    try:
        await h.feed(_start_update(9001, user_id=5555))
        assert [m.text for m in h.fake.delivered_to(5555)] == first
        await h.feed(_start_update(9002, user_id=5555))  # a new update is handled as usual
        assert len(h.fake.delivered_to(5555)) == 2 * len(first)
    finally:
        await h.close()


async def test_a_retry_arriving_while_the_first_is_still_handled_runs_once(db_url):
    import asyncio

    h = await Harness.start(make_settings(db_url), FakeTelegram(latency=0.3))
    try:
        await asyncio.gather(*(h.feed(_start_update(9101, user_id=5656)) for _ in range(3)))
        assert len(h.fake.delivered_to(5656)) == 1
    finally:
        await h.close()


async def test_an_update_that_failed_midway_is_handled_when_telegram_retries_it(h):
    h.fake.fail_next(500, method="sendMessage")  # the reply fails: the update ends in an error
    await h.feed(_start_update(9201, user_id=5757))
    assert not [m for m in h.fake.delivered_to(5757) if "приглашени" in (m.text or "")]
    await h.feed(_start_update(9201, user_id=5757))
    assert [m for m in h.fake.delivered_to(5757) if "приглашени" in (m.text or "")]


# ------------------------------------------------------------------------------------------------- shutdown
@pytest.mark.e2e
@pytest.mark.slow
async def test_sigterm_shuts_down_cleanly(tmp_path):
    """SIGTERM while people are writing: stop taking updates, finish those in flight, stop the sender and the
    scheduler, then close the database — no 'Exception during reset' from the pool, exit code 0."""
    import asyncio
    import signal

    from bot.demo.telegram import serve_http
    from tests.test_e2e_process import RemoteUser

    fake = FakeTelegram()
    runner, base = await serve_http(fake)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "REDIS_", "CURATOR_"))
    }
    env.update(
        BOT_TOKEN=fake.token,
        BOT_API_URL=base,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/stop.db",
        CURATOR_IDS="1000",
        PYTHONUNBUFFERED="1",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not any(r.method == "getUpdates" for r in fake.requests):
            assert proc.returncode is None and time.monotonic() < deadline, "the bot never started polling"
            await asyncio.sleep(0.1)
        for uid in range(3000, 3006):
            await RemoteUser(fake, uid, "ru").send("/start")
        curator = RemoteUser(fake, 1000, "ru")
        await curator.send("/start")
        await curator.click("✅ Даю согласие")
        # Updates still in flight when the signal comes: every reply takes Telegram 0.3 s.
        fake.latency = 0.3
        for uid in range(3100, 3110):
            fake.push_update(_start_update(fake.next_update_id(), user_id=uid))
        deadline = time.monotonic() + 10
        while not any(
            r.method == "sendMessage" and str(r.params.get("chat_id")) == "3109" for r in fake.requests
        ):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        await asyncio.wait_for(proc.wait(), 30)
        assert time.monotonic() - signalled < 10  # nothing waits for a timeout
    finally:
        if proc.returncode is None:
            proc.kill()
        _, err = await proc.communicate()
        await runner.cleanup()
    logs = err.decode()
    assert logs.count("Exception during reset") == 0, logs[-3000:]
    assert "Traceback" not in logs, logs[-3000:]
    assert proc.returncode == 0, logs[-3000:]
