"""One pace for everything the bot sends: Telegram allows about 30 messages a second per bot.

Replies to a person (urgent) go ahead of bulk sends; both share the same budget, so the total stays under
the limit. A 429 from Telegram pauses everyone for retry_after."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """At most floor(rate) sends in any one-second window, and never two closer than half an interval.

    Counting sends in the last second (rather than spacing each send a full interval after the previous
    one) means a late wake-up is not lost time, so the sustained rate really is the configured one; the
    half-interval spacing keeps the sends smooth rather than in bursts. `set_rate(0)` turns pacing off."""

    def __init__(self, rate_per_second: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.set_rate(rate_per_second)
        self._mono = monotonic
        self._next = 0.0
        self._window: deque[float] = deque()
        self._urgent_waiting = 0

    def set_rate(self, rate_per_second: float) -> None:
        """Messages per second; 0 turns pacing off (tests and benchmarks that measure something else)."""
        self.interval = 1.0 / rate_per_second if rate_per_second else 0.0
        self.per_window = max(1, int(rate_per_second))

    def _wait_needed(self, now: float) -> float:
        if self.interval == 0:
            return 0.0
        while self._window and now - self._window[0] >= 1.0:
            self._window.popleft()
        wait = self._next - now
        if len(self._window) >= self.per_window:
            wait = max(wait, 1.0 - (now - self._window[0]))
        return max(wait, 0.0)

    async def acquire(self, urgent: bool = False) -> None:
        if urgent:
            self._urgent_waiting += 1
        try:
            while True:
                now = self._mono()
                wait = self._wait_needed(now)
                if not urgent and self._urgent_waiting:
                    await asyncio.sleep(max(wait, self.interval / 4))
                    continue
                if wait <= 0:
                    # No await between the check and the update: the slot is ours alone.
                    self._next = now + self.interval / 2
                    if self.interval:
                        self._window.append(now)
                    return
                await asyncio.sleep(wait)
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
