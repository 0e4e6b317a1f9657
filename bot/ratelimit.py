"""One pace for everything the bot sends: Telegram allows about 30 messages a second per bot.

Replies to a person (urgent) go ahead of bulk sends; both share the same budget, so the total stays under
the limit. A 429 from Telegram pauses everyone for retry_after."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, rate_per_second: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / rate_per_second
        self._mono = monotonic
        self._next = 0.0
        self._urgent_waiting = 0

    async def acquire(self, urgent: bool = False) -> None:
        if urgent:
            self._urgent_waiting += 1
        try:
            while True:
                now = self._mono()
                if not urgent and self._urgent_waiting:
                    await asyncio.sleep(max(self._next - now, self.interval / 4))
                    continue
                if now >= self._next:
                    # No await between the check and the update: the slot is ours alone. Spacing is strict
                    # (never closer than one interval), so no second can exceed the limit even with jitter.
                    self._next = now + self.interval
                    return
                await asyncio.sleep(self._next - now)
        finally:
            if urgent:
                self._urgent_waiting -= 1

    def pause(self, seconds: float) -> None:
        self._next = max(self._next, self._mono() + seconds)


class SharedRateLimiter(RateLimiter):
    """The same budget shared by every instance through Redis (several instances behind one webhook).

    Each second is a Redis counter; a sender takes a slot only while the counter is under the limit. Bulk
    sends leave a few slots of every second to replies, which go first. A 429's retry_after pauses every
    instance. Local spacing still smooths each instance's own sends."""

    def __init__(
        self,
        redis: object,
        rate_per_second: float,
        reserve_for_replies: int = 3,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(rate_per_second, monotonic)
        self.redis = redis
        self.limit = int(rate_per_second)
        self.reserve = reserve_for_replies

    async def acquire(self, urgent: bool = False) -> None:
        await super().acquire(urgent)
        allowed = self.limit if urgent else max(1, self.limit - self.reserve)
        while True:
            pause_ms = await self.redis.pttl("nastavnik:rate:pause")  # type: ignore[attr-defined]
            if pause_ms and pause_ms > 0:
                await asyncio.sleep(pause_ms / 1000)
                continue
            now = time.time()
            key = f"nastavnik:rate:{int(now)}"
            count = await self.redis.incr(key)  # type: ignore[attr-defined]
            if count == 1:
                await self.redis.expire(key, 3)  # type: ignore[attr-defined]
            if count <= allowed:
                return
            await asyncio.sleep(max(0.001, 1.0 - (now - int(now))))

    def pause(self, seconds: float) -> None:
        super().pause(seconds)
        self._pause_task = asyncio.ensure_future(
            self.redis.set("nastavnik:rate:pause", "1", px=max(1, int(seconds * 1000)))
        )  # type: ignore[attr-defined]
