from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.demo.telegram import FakeTelegram
from bot.demo.harness import Harness, make_settings

CURATOR_ID = 1000


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/test.db"


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram()


@pytest.fixture
async def h(db_url: str, fake: FakeTelegram) -> AsyncIterator[Harness]:
    harness = await Harness.start(make_settings(db_url, curator_ids=str(CURATOR_ID)), fake)
    yield harness
    await harness.close()
