"""The real `python -m bot` process, long-polling an HTTP fake of the Bot API given by BOT_API_URL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from typing import Any

import pytest

from bot.demo.telegram import FakeTelegram, serve_http
from tests.helpers import token_in

pytestmark = pytest.mark.e2e
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class RemoteUser:
    def __init__(self, fake: FakeTelegram, user_id: int, lang: str) -> None:
        self.fake, self.id, self.lang = fake, user_id, lang
        self._mid = 1

    def _from(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": False, "first_name": "U", "language_code": self.lang}

    async def _wait_new(self, before: int, timeout: float = 15.0) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msgs = self.fake.delivered_to(self.id)
            if len(msgs) > before:
                await asyncio.sleep(0.3)  # let the rest of a multi-message reply arrive
                return self.fake.delivered_to(self.id)[before:]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no reply to user {self.id} within {timeout}s")

    async def send(self, text: str) -> list:
        before = len(self.fake.delivered_to(self.id))
        self._mid += 1
        msg: dict[str, Any] = {
            "message_id": self._mid,
            "date": int(time.time()),
            "text": text,
            "chat": {"id": self.id, "type": "private"},
            "from": self._from(),
        }
        if text.startswith("/"):
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        self.fake.push_update({"update_id": self.fake.next_update_id(), "message": msg})
        return await self._wait_new(before)

    async def click(self, text: str) -> list:
        for m in reversed(self.fake.delivered_to(self.id)):
            for b in m.buttons():
                if b["text"] == text:
                    before = len(self.fake.delivered_to(self.id))
                    self.fake.push_update(
                        {
                            "update_id": self.fake.next_update_id(),
                            "callback_query": {
                                "id": str(time.monotonic_ns()),
                                "from": self._from(),
                                "chat_instance": "c",
                                "data": b["callback_data"],
                                "message": {
                                    "message_id": m.message_id,
                                    "date": int(time.time()),
                                    "text": m.text,
                                    "chat": {"id": self.id, "type": "private"},
                                },
                            },
                        }
                    )
                    return await self._wait_new(before)
        raise AssertionError(f"no button {text!r}")


@pytest.mark.slow
async def test_process_walks_curator_and_mentee_onboarding(tmp_path):
    fake = FakeTelegram()
    runner, base = await serve_http(fake)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "REDIS_", "CURATOR_"))
    }
    env.update(
        BOT_TOKEN=fake.token,
        BOT_API_URL=base,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/e2e.db",
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
            assert proc.returncode is None, (await proc.stderr.read()).decode()
            assert time.monotonic() < deadline, "the bot never started polling"
            await asyncio.sleep(0.1)
        curator = RemoteUser(fake, 1000, "ru")
        await curator.send("/start")
        await curator.click("✅ Даю согласие")
        await curator.send("Куратова Анна")
        await curator.send("/invite")
        replies = await curator.click("наставляемый")
        token = token_in(replies[-1].text)
        mentee = RemoteUser(fake, 2000, "en")
        replies = await mentee.send(f"/start {token}")
        assert "Consent" in replies[-1].text
        await mentee.click("✅ I consent")
        await mentee.send("Ivan Petrov")
        await mentee.send("9A")
        replies = await mentee.click("Yes")
        assert any("You are in the mentoring programme" in (m.text or "") for m in replies)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
        _, err = await proc.communicate()
        await runner.cleanup()
    logs = err.decode()
    assert proc.returncode == 0, logs[-2000:]
    assert fake.token not in logs and fake.token.split(":")[1] not in logs
    assert "Ivan Petrov" not in logs and "Куратова" not in logs
    assert "polling started" in logs


def _run_bot(env_extra: dict[str, str], tmp_path) -> tuple[int, str]:
    import subprocess

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOT_", "DATABASE_", "REDIS_", "CURATOR_", "TIMEZONE", "DEFAULT_LANGUAGE"))
    }
    env.update(env_extra)
    p = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    return p.returncode, p.stderr


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, "BOT_TOKEN is not set"),
        ({"BOT_TOKEN": "nonsense"}, "BOT_TOKEN is malformed"),
        ({"BOT_TOKEN": "123:" + "a" * 30, "CURATOR_IDS": "12,abc"}, "CURATOR_IDS is malformed"),
        ({"BOT_TOKEN": "123:" + "a" * 30, "TIMEZONE": "Moon/Base"}, "TIMEZONE is malformed"),
        ({"BOT_TOKEN": "123:" + "a" * 30, "DATABASE_URL": "mysql://x"}, "DATABASE_URL is malformed"),
        ({"BOT_TOKEN": "123:" + "a" * 30, "BOT_API_URL": "ftp://x"}, "BOT_API_URL is malformed"),
        ({"BOT_TOKEN": "123:" + "a" * 30, "DEFAULT_LANGUAGE": "de"}, "DEFAULT_LANGUAGE is malformed"),
    ],
)
def test_bad_setting_stops_with_one_clear_line(env, expected, tmp_path):
    code, err = _run_bot(env, tmp_path)
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and expected in lines[0], err
    assert "Traceback" not in err
    assert "a" * 30 not in err


def test_add_curator_command(tmp_path):
    import subprocess

    env = dict(os.environ, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/cli.db")
    env.pop("BOT_TOKEN", None)
    cmd = [sys.executable, "-m", "bot", "add-curator", "777"]
    p = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "added curator" in p.stdout, p.stderr
    p = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert "already a curator" in p.stdout


def test_broken_form_stops_start_up_with_one_line(tmp_path):
    forms = tmp_path / "forms"
    forms.mkdir()
    (forms / "mentor.yaml").write_text(
        "id: mentor\nversion: 1\ntitle: {ru: Анкета}\naudience: mentor\nquestions: []\n", encoding="utf-8"
    )
    code, err = _run_bot(
        {
            "BOT_TOKEN": "123:" + "a" * 30,
            "FORMS_DIR": str(forms),
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/f.db",
        },
        tmp_path,
    )
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and "mentor.yaml" in lines[0], err
