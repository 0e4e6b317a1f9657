"""The curator's desk as it runs: the polling web server's own application (bot.metrics.polling_web_app) over
the real app, and requests signed with initData as Telegram signs it (FakeTelegram.init_data)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.demo.harness import Harness
from bot.metrics import polling_web_app

DESK_URL = "https://desk.school.example/app/"


class Desk:
    """An HTTP client of the desk, signed in as one Telegram user (or with the initData given)."""

    def __init__(self, client: TestClient, h: Harness) -> None:
        self.client = client
        self.h = h

    def auth(self, telegram_id: int, **kw: Any) -> dict[str, str]:
        return {"Authorization": f"tma {self.h.fake.init_data(telegram_id, **kw)}"}

    async def get(self, telegram_id: int, path: str, **params: Any) -> tuple[int, Any]:
        r = await self.client.get(path, headers=self.auth(telegram_id), params=params or None)
        return r.status, await r.json()

    async def post(self, telegram_id: int, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        r = await self.client.post(
            path, headers=self.auth(telegram_id), json=body if body is not None else {}, **kw
        )
        return r.status, await r.json()


@asynccontextmanager
async def desk_of(h: Harness) -> AsyncIterator[Desk]:
    server = TestServer(polling_web_app(h.app))
    client = TestClient(server)
    await client.start_server()
    try:
        yield Desk(client, h)
    finally:
        await client.close()
