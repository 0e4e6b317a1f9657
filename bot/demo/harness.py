"""Drive the real dispatcher with real Update objects against the fake Bot API (tests, benchmarks, demo)."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from aiogram.types import Update

from bot.app import App, build_app
from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.demo.telegram import FakeSession, FakeTelegram, SentMessage

_UPDATE_IDS = itertools.count(1)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        bot_token=FakeTelegram.token,
        database_url=database_url,
        bot_api_url="http://127.0.0.1:9",
        curator_ids="",
        _env_file=None,
    )
    values.update(overrides)
    return Settings(**values)


class Harness:
    """One app (dispatcher, database, outbox) wired to one FakeTelegram."""

    def __init__(self, app: App, fake: FakeTelegram) -> None:
        self.app = app
        self.fake = fake
        # One sequence for every harness in the process: a restart on the same database must not reuse an id
        # (an update id already handled is skipped, as Telegram's retries are).
        self._update_ids = _UPDATE_IDS
        self._msg_ids = itertools.count(1_000_000)

    @classmethod
    async def start(
        cls, settings: Settings, fake: FakeTelegram | None = None, clock: Clock = utc_now
    ) -> Harness:
        fake = fake or FakeTelegram()
        app = await build_app(settings, session=FakeSession(fake), clock=clock)
        return cls(app, fake)

    async def restart(self, clock: Clock | None = None) -> Harness:
        """A new process on the same database: new dispatcher, new bot, same fake Telegram."""
        settings = self.app.settings
        await self.app.close()
        return await Harness.start(settings, self.fake, clock or self.app.clock)

    async def close(self) -> None:
        await self.app.close()

    async def feed(self, update: dict[str, Any]) -> None:
        update.setdefault("update_id", next(self._update_ids))
        obj = Update.model_validate(update, context={"bot": self.app.bot})
        await self.app.dp.feed_update(self.app.bot, obj)

    def user(
        self, user_id: int, first_name: str = "Test", language_code: str = "ru", username: str | None = None
    ) -> Client:
        return Client(self, user_id, first_name, language_code, username)

    def unpaced(self) -> Harness:
        """No real-time pacing (per chat and global): for tests that move a simulated clock."""
        self.app.sender.per_chat_interval = 0.0
        self.app.limiter.set_rate(0)
        return self

    async def deliver_outbox(self) -> None:
        await self.app.sender.drain()


@dataclass
class Client:
    """A person in a private chat with the bot: send text, press a button by its text, read replies."""

    h: Harness
    id: int
    first_name: str
    language_code: str
    username: str | None = None
    _seen: int = 0
    _edits: dict[int, int] = field(default_factory=dict)

    def _from(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }
        if self.username:
            out["username"] = self.username
        return out

    def _snapshot(self) -> None:
        msgs = self.h.fake.delivered_to(self.id)
        self._seen = len(msgs)
        self._edits = {m.message_id: m.edits for m in msgs}

    def _new(self) -> list[SentMessage]:
        msgs = self.h.fake.delivered_to(self.id)
        fresh = msgs[self._seen :]
        edited = [m for m in msgs[: self._seen] if m.edits != self._edits.get(m.message_id, 0)]
        return edited + fresh

    async def send(self, text: str) -> list[SentMessage]:
        self._snapshot()
        message: dict[str, Any] = {
            "message_id": next(self.h._msg_ids),
            "date": int(time.time()),
            "chat": {"id": self.id, "type": "private", "first_name": self.first_name},
            "from": self._from(),
            "text": text,
        }
        if text.startswith("/"):
            cmd = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(cmd)}]
        await self.h.feed({"message": message})
        return self._new()

    async def send_document(self, filename: str, file_id: str = "DOC1") -> list[SentMessage]:
        self._snapshot()
        message = {
            "message_id": next(self.h._msg_ids),
            "date": int(time.time()),
            "chat": {"id": self.id, "type": "private"},
            "from": self._from(),
            "document": {"file_id": file_id, "file_unique_id": file_id, "file_name": filename},
        }
        await self.h.feed({"message": message})
        return self._new()

    async def share(self, button: str, *user_ids: int) -> list[SentMessage]:
        """Press the reply-keyboard button with this text that asks to choose people (request_users) on the
        newest message that has it, and choose `user_ids` in Telegram's list: a users_shared message."""
        for msg in reversed(self.h.fake.delivered_to(self.id)):
            rows = (msg.reply_markup or {}).get("keyboard") or []
            found = [b for row in rows for b in row if b.get("text") == button and "request_users" in b]
            if found:
                break
        else:
            raise AssertionError(f"no button {button!r} that asks to choose people: {self.texts()[-3:]}")
        self._snapshot()
        shared = {
            "request_id": found[0]["request_users"]["request_id"],
            "users": [{"user_id": uid} for uid in user_ids],
        }
        message = {
            "message_id": next(self.h._msg_ids),
            "date": int(time.time()),
            "chat": {"id": self.id, "type": "private"},
            "from": self._from(),
            "users_shared": shared,
        }
        await self.h.feed({"message": message})
        return self._new()

    async def press(self, data: str, message: SentMessage | None = None) -> list[SentMessage]:
        """Press a button with raw callback data (also used to forge data)."""
        self._snapshot()
        msgs = self.h.fake.delivered_to(self.id)
        msg = message or (msgs[-1] if msgs else SentMessage(1, self.id, "", None, "sendMessage"))
        await self.h.feed(
            {
                "callback_query": {
                    "id": str(next(self.h._update_ids)),
                    "from": self._from(),
                    "chat_instance": "ci",
                    "data": data,
                    "message": {
                        "message_id": msg.message_id,
                        "date": int(time.time()),
                        "chat": {"id": self.id, "type": "private"},
                        "text": msg.text or "",
                        "from": {"id": 123456, "is_bot": True, "first_name": "Nastavnik"},
                    },
                }
            }
        )
        return self._new()

    async def click(self, text: str) -> list[SentMessage]:
        """Press the button with this text on the newest message that has it."""
        for msg in reversed(self.h.fake.delivered_to(self.id)):
            for b in msg.buttons():
                if b.get("text") == text and "callback_data" in b:
                    return await self.press(b["callback_data"], msg)
        raise AssertionError(f"no button {text!r}; last messages: {self.texts()[-3:]}")

    def last(self) -> SentMessage:
        msgs = self.h.fake.delivered_to(self.id)
        if not msgs:
            raise AssertionError("the bot sent nothing to this chat")
        return msgs[-1]

    def texts(self) -> list[str]:
        return [m.text or "" for m in self.h.fake.delivered_to(self.id)]

    def alerts(self) -> list[str]:
        return [
            r.params.get("text", "")
            for r in self.h.fake.requests
            if r.method == "answerCallbackQuery" and r.params.get("text")
        ]
