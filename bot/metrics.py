"""Prometheus metrics in the text exposition format (no extra dependency): updates handled, handler latency,
outbox queue depth and send outcomes, reminders due and late."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.updates: dict[str, int] = defaultdict(int)  # outcome → count
        self.latency_buckets = [0] * len(BUCKETS)
        self.latency_sum = 0.0
        self.latency_count = 0

    def observe(self, seconds: float, outcome: str) -> None:
        self.updates[outcome] += 1
        self.latency_sum += seconds
        self.latency_count += 1
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.latency_buckets[i] += 1

    def render(
        self, outbox: dict[str, int], reminders_pending: int, reminders_late: int, leader: bool
    ) -> str:
        lines = ["# TYPE nastavnik_updates_total counter"]
        lines += [f'nastavnik_updates_total{{outcome="{k}"}} {v}' for k, v in sorted(self.updates.items())]
        lines.append("# TYPE nastavnik_handler_seconds histogram")
        for bound, n in zip(BUCKETS, self.latency_buckets, strict=True):
            lines.append(f'nastavnik_handler_seconds_bucket{{le="{bound}"}} {n}')
        lines.append(f'nastavnik_handler_seconds_bucket{{le="+Inf"}} {self.latency_count}')
        lines.append(f"nastavnik_handler_seconds_sum {self.latency_sum:.6f}")
        lines.append(f"nastavnik_handler_seconds_count {self.latency_count}")
        lines.append("# TYPE nastavnik_outbox_messages gauge")
        lines += [f'nastavnik_outbox_messages{{status="{k}"}} {v}' for k, v in sorted(outbox.items())]
        lines.append("# TYPE nastavnik_reminders_pending gauge")
        lines.append(f"nastavnik_reminders_pending {reminders_pending}")
        lines.append("# TYPE nastavnik_reminders_late gauge")
        lines.append(f"nastavnik_reminders_late {reminders_late}")
        lines.append("# TYPE nastavnik_scheduler_leader gauge")
        lines.append(f"nastavnik_scheduler_leader {int(leader)}")
        return "\n".join(lines) + "\n"


class MetricsMiddleware(BaseMiddleware):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await handler(event, data)
        except Exception:
            outcome = "error"
            raise
        finally:
            self.metrics.observe(time.perf_counter() - started, outcome)
