"""A fake Telegram Bot API for tests, benchmarks and the offline demo.

One core (FakeTelegram) keeps every request, the chats' messages and the update queue, and can be told to
answer 429/403/5xx or to enforce Telegram's limits (≈30 messages/s per bot, ≈1/s per chat with short bursts).
It is reachable two ways: in-process through FakeSession (an aiogram BaseSession), or over HTTP through
serve_http() so that a real `python -m bot` process can poll it via BOT_API_URL."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import itertools
import json
import re
import time
from collections import defaultdict, deque
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile

# Telegram's limits: message text and caption in UTF-16 code units, callback data in bytes.
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
DESCRIPTION_LIMITS = {
    "setMyDescription": ("description", 512),
    "setMyShortDescription": ("short_description", 120),
}


def _units(text: str, parse_mode: object = None) -> int:
    """Length as Telegram counts it: UTF-16 code units of the text after entity parsing (an HTML text's
    tags are not counted and `&amp;` is one character)."""
    if isinstance(parse_mode, str) and parse_mode.upper() == "HTML":
        text = html.unescape(re.sub(r"<[^>]*>", "", text))
    return len(text.encode("utf-16-le")) // 2


SEND_METHODS = {"sendMessage", "sendDocument", "sendPhoto", "copyMessage", "forwardMessage"}
JSON_FIELDS = {
    "reply_markup",
    "commands",
    "scope",
    "allowed_updates",
    "link_preview_options",
    "entities",
    "caption_entities",
    "reply_parameters",
    "media",
}


@dataclass
class Request:
    method: str
    params: dict[str, Any]
    at: float
    outcome: int = 200  # HTTP status the fake answered


@dataclass
class SentMessage:
    message_id: int
    chat_id: int
    text: str | None
    reply_markup: dict[str, Any] | None
    method: str
    document: dict[str, Any] | None = None
    edits: int = 0

    def buttons(self) -> list[dict[str, Any]]:
        if not self.reply_markup:
            return []
        rows = self.reply_markup.get("inline_keyboard") or []
        return [b for row in rows for b in row]


class FakeError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


@dataclass
class Limits:
    per_second: int = 30
    chat_burst: int = 3
    chat_rate: float = 1.0


@dataclass
class FakeTelegram:
    token: str = "123456:TEST-token-for-the-fake-bot-api-000"
    bot_username: str = "nastavnik_test_bot"
    enforce_limits: bool = False
    limits: Limits = field(default_factory=Limits)
    latency: float = 0.0

    def __post_init__(self) -> None:
        self.requests: list[Request] = []
        self.messages: dict[int, list[SentMessage]] = defaultdict(list)
        self.blocked: set[int] = set()
        self.failures: deque[tuple[str | None, int, int | None]] = deque()
        self.fail_every: dict[int, int] = {}
        self.count_429 = 0
        self.commands: dict[str, Any] = {}
        self.descriptions: dict[str, str] = {}  # "setMyDescription|ru" → the text
        self.menu_buttons: dict[int, Any] = {}  # chat id → its menu button (setChatMenuButton)
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._updates: deque[dict[str, Any]] = deque()
        self._update_event = asyncio.Event()
        self._global_window: deque[float] = deque()
        self._chat_tokens: dict[int, tuple[float, float]] = {}
        self._send_counter = 0

    # -- knobs ---------------------------------------------------------------------------------------
    def fail_next(
        self, status: int, *, method: str | None = None, times: int = 1, retry_after: int | None = None
    ) -> None:
        for _ in range(times):
            self.failures.append((method, status, retry_after))

    def init_data(
        self,
        user_id: int,
        *,
        first_name: str = "Test",
        language_code: str = "ru",
        auth_date: int | None = None,
        token: str | None = None,
    ) -> str:
        """The initData Telegram hands a Mini App this user opened, signed as Telegram signs it: HMAC-SHA256
        of the sorted fields, keyed by HMAC-SHA256("WebAppData", bot token). ``token``: another bot's."""
        fields = {
            "auth_date": str(int(time.time()) if auth_date is None else auth_date),
            "query_id": f"AAH{user_id}",
            "user": json.dumps(
                {"id": user_id, "first_name": first_name, "language_code": language_code},
                separators=(",", ":"),
                ensure_ascii=False,
            ),
        }
        check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
        secret = hmac.new(b"WebAppData", (token or self.token).encode(), hashlib.sha256).digest()
        fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
        return urlencode(fields)

    def next_update_id(self) -> int:
        return next(self._update_ids)

    # -- updates (for getUpdates) --------------------------------------------------------------------
    def push_update(self, update: dict[str, Any]) -> None:
        self._updates.append(update)
        self._update_event.set()

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        while self._updates and self._updates[0]["update_id"] < offset:
            self._updates.popleft()
        if not self._updates:
            self._update_event.clear()
            timeout = float(params.get("timeout") or 0)
            if timeout:
                try:
                    await asyncio.wait_for(self._update_event.wait(), min(timeout, 1.0))
                except TimeoutError:
                    pass
        while self._updates and self._updates[0]["update_id"] < offset:
            self._updates.popleft()
        return list(self._updates)[: int(params.get("limit") or 100)]

    # -- reading what the bot did --------------------------------------------------------------------
    def sent(self, method: str | None = None) -> list[Request]:
        return [r for r in self.requests if (method is None or r.method == method) and r.outcome == 200]

    def delivered_to(self, chat_id: int) -> list[SentMessage]:
        return list(self.messages.get(chat_id, []))

    def all_delivered(self) -> list[SentMessage]:
        return [m for msgs in self.messages.values() for m in msgs]

    # -- the API -------------------------------------------------------------------------------------
    def _limit(self, chat_id: int) -> None:
        now = time.monotonic()
        window = self._global_window
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= self.limits.per_second:
            self.count_429 += 1
            raise FakeError(429, "Too Many Requests: retry after 1", retry_after=1)
        tokens, last = self._chat_tokens.get(chat_id, (float(self.limits.chat_burst), now))
        tokens = min(float(self.limits.chat_burst), tokens + (now - last) * self.limits.chat_rate)
        if tokens < 1.0:
            self.count_429 += 1
            raise FakeError(429, "Too Many Requests: retry after 1", retry_after=1)
        self._chat_tokens[chat_id] = (tokens - 1.0, now)
        window.append(now)

    async def handle(self, method: str, params: dict[str, Any]) -> Any:
        request = Request(method=method, params=params, at=time.monotonic())
        self.requests.append(request)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            result = await self._dispatch(method, params)
        except FakeError as exc:
            request.outcome = exc.status
            raise
        return result

    async def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getUpdates":
            return await self._get_updates(params)
        if self.failures and self.failures[0][0] in (None, method) and method != "getMe":
            _, status, retry_after = self.failures.popleft()
            raise FakeError(status, self._description(status), retry_after)
        if method == "getMe":
            return {
                "id": int(self.token.split(":")[0]),
                "is_bot": True,
                "first_name": "Nastavnik",
                "username": self.bot_username,
                "can_join_groups": False,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if method in (
            "deleteWebhook",
            "setMyCommands",
            "deleteMyCommands",
            "answerCallbackQuery",
            "setWebhook",
            "close",
            "logOut",
            "deleteMessage",
            "sendChatAction",
            "leaveChat",
            "setMyDescription",
            "setMyShortDescription",
            "setChatMenuButton",
        ):
            if method == "setChatMenuButton":
                self.menu_buttons[int(params.get("chat_id") or 0)] = params.get("menu_button")
            if method == "setMyCommands":
                scope = params.get("scope") or {"type": "default"}
                key = f"{json.dumps(scope, sort_keys=True)}|{params.get('language_code') or ''}"
                self.commands[key] = params.get("commands")
            if method in DESCRIPTION_LIMITS:
                field_name, limit = DESCRIPTION_LIMITS[method]
                text = str(params.get(field_name) or "")
                if _units(text) > limit:
                    raise FakeError(400, f"Bad Request: {field_name} is too long")
                self.descriptions[f"{method}|{params.get('language_code') or ''}"] = text
            return True
        chat_id = int(params.get("chat_id", 0) or 0)
        self._check_sizes(method, params)
        if method in SEND_METHODS:
            if chat_id in self.blocked:
                raise FakeError(403, "Forbidden: bot was blocked by the user")
            if self.enforce_limits:
                self._limit(chat_id)
            msg = SentMessage(
                message_id=next(self._ids),
                chat_id=chat_id,
                text=params.get("text") or params.get("caption"),
                reply_markup=params.get("reply_markup"),
                method=method,
                document=params.get("_file"),
            )
            self.messages[chat_id].append(msg)
            return self._message_json(msg)
        if method in ("editMessageText", "editMessageReplyMarkup", "editMessageCaption"):
            mid = int(params.get("message_id", 0))
            for msg in self.messages.get(chat_id, []):
                if msg.message_id == mid:
                    if "text" in params:
                        msg.text = params["text"]
                    msg.reply_markup = params.get("reply_markup")
                    msg.edits += 1
                    return self._message_json(msg)
            raise FakeError(400, "Bad Request: message to edit not found")
        if method == "getChat":
            return {"id": chat_id, "type": "private"}
        raise FakeError(400, f"Bad Request: method {method} is not supported by the fake")

    @staticmethod
    def _check_sizes(method: str, params: dict[str, Any]) -> None:
        """Telegram's hard limits, with the errors the real API gives: every test checks them."""
        text, caption = params.get("text"), params.get("caption")
        if isinstance(text, str) and _units(text, params.get("parse_mode")) > TEXT_LIMIT:
            raise FakeError(
                400,
                "Bad Request: MESSAGE_TOO_LONG"
                if method == "editMessageText"
                else "Bad Request: message is too long",
            )
        if isinstance(caption, str) and _units(caption, params.get("parse_mode")) > CAPTION_LIMIT:
            raise FakeError(400, "Bad Request: message caption is too long")
        markup = params.get("reply_markup")
        rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
        for row in rows or []:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode("utf-8")) <= CALLBACK_DATA_LIMIT:
                    raise FakeError(400, "Bad Request: BUTTON_DATA_INVALID")

    @staticmethod
    def _description(status: int) -> str:
        return {
            429: "Too Many Requests: retry after 1",
            403: "Forbidden: bot was blocked by the user",
            400: "Bad Request: chat not found",
            500: "Internal Server Error",
            502: "Bad Gateway",
        }.get(status, "Error")

    def _message_json(self, msg: SentMessage) -> dict[str, Any]:
        out: dict[str, Any] = {
            "message_id": msg.message_id,
            "date": int(time.time()),
            "chat": {"id": msg.chat_id, "type": "private"},
            "from": {
                "id": int(self.token.split(":")[0]),
                "is_bot": True,
                "first_name": "Nastavnik",
                "username": self.bot_username,
            },
        }
        if msg.method == "sendMessage" or msg.text is not None:
            out["text" if msg.method == "sendMessage" else "caption"] = msg.text or ""
        if msg.method == "sendDocument":
            out["document"] = {
                "file_id": f"doc{msg.message_id}",
                "file_unique_id": f"u{msg.message_id}",
                "file_name": (msg.document or {}).get("filename", "file"),
            }
        if msg.method == "sendPhoto":
            out["photo"] = [
                {
                    "file_id": f"ph{msg.message_id}",
                    "file_unique_id": f"p{msg.message_id}",
                    "width": 1,
                    "height": 1,
                }
            ]
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:  # a reply keyboard is not echoed back
            out["reply_markup"] = msg.reply_markup
        return out

    def response_body(self, result: Any = None, error: FakeError | None = None) -> tuple[int, str]:
        if error is None:
            return 200, json.dumps({"ok": True, "result": result})
        body: dict[str, Any] = {"ok": False, "error_code": error.status, "description": error.description}
        if error.retry_after is not None:
            body["parameters"] = {"retry_after": error.retry_after}
        return error.status, json.dumps(body)


def _decode(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key in JSON_FIELDS and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        out[key] = value
    return out


class FakeSession(BaseSession):
    """An aiogram session whose requests go to a FakeTelegram in the same process."""

    def __init__(self, fake: FakeTelegram) -> None:
        super().__init__()
        self.fake = fake

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        files: dict[str, InputFile] = {}
        params: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files)
            if prepared is not None and prepared != "":
                params[key] = prepared
        params = _decode(params)
        if files:
            name, input_file = next(iter(files.items()))
            data = b"".join([chunk async for chunk in input_file.read(bot)])
            params["_file"] = {"filename": input_file.filename or name, "data": data}
        try:
            result = await self.fake.handle(method.__api_method__, params)
            status, body = self.fake.response_body(result)
        except FakeError as exc:
            status, body = self.fake.response_body(error=exc)
        response = self.check_response(bot=bot, method=method, status_code=status, content=body)
        return response.result  # type: ignore[return-value]

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield b""

    async def close(self) -> None:
        return None


async def serve_http(fake: FakeTelegram, host: str = "127.0.0.1", port: int = 0) -> tuple[Any, str]:
    """Serve the fake over HTTP like api.telegram.org; returns (runner, base_url) — call runner.cleanup()."""
    from aiohttp import web

    async def endpoint(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        if token != fake.token:
            return web.Response(
                status=401,
                text=json.dumps({"ok": False, "error_code": 401, "description": "Unauthorized"}),
                content_type="application/json",
            )
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            post = await request.post()
            for key, value in post.items():
                if hasattr(value, "file"):
                    params["_file"] = {"filename": value.filename, "data": value.file.read()}
                else:
                    params[key] = value
        params = _decode(params)
        try:
            result = await fake.handle(method, params)
            status, body = fake.response_body(result)
        except FakeError as exc:
            status, body = fake.response_body(error=exc)
        return web.Response(status=status, text=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", endpoint)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    sockets = site._server.sockets  # type: ignore[union-attr]
    real_port = sockets[0].getsockname()[1]
    return runner, f"http://{host}:{real_port}"
