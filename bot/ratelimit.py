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
                    # No await between the check and the update: the slot is ours alone.
                    self._next = now + self.interval
                    return
                await asyncio.sleep(self._next - now)
        finally:
            if urgent:
                self._urgent_waiting -= 1

    def pause(self, seconds: float) -> None:
        self._next = max(self._next, self._mono() + seconds)
