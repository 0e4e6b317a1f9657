"""Alerts to the people who run the bot (OPERATOR_IDS; when empty, the first of CURATOR_IDS).

When: an update failed with an unexpected error, the outbox is stuck (its oldest message has waited longer
than OUTBOX_STUCK_MINUTES), the database could not be written for a minute, a backup failed; and once a week
a line about the backups. Each goes through the durable outbox like every other message (never straight to
Telegram), at most once per kind and hour: the hour is in the dedup key, so several instances noticing the
same trouble still send one. No personal data: the kind, the time, counts and an exception's class — never a
name, an answer or an update's text.

An alert the database cannot take (when it is the database that fails) waits here, in memory, and goes out
with the first check that can write again."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.domain.entities import NewMessage
from bot.domain.grammar import format_date
from bot.i18n import Translator
from storage.repositories.health import HealthRepo
from storage.uow import unit_of_work

if TYPE_CHECKING:
    from bot.metrics import Metrics

log = logging.getLogger("nastavnik.operator")

DB_DOWN_AFTER = timedelta(minutes=1)  # a database that cannot be written this long is worth a message
CHECK_EVERY = 15.0  # seconds between the watch's checks (real time)
PRIORITY = 1  # ahead of bulk messages: the operator should hear before the queue drains


class AlertKind(StrEnum):
    UPDATE_FAILED = "update_failed"
    OUTBOX_STUCK = "outbox_stuck"
    DATABASE = "database"
    BACKUP_FAILED = "backup_failed"
    BACKUP_WEEKLY = "backup_weekly"  # not an alert: the weekly line, once per ISO week


@dataclass
class _Alert:
    kind: AlertKind
    period: str  # the dedup period: an hour (2026112307) or, for the weekly line, a week (2026-W48)
    at: datetime
    # ints, class names, datetimes (formatted in each reader's language and the programme's zone)
    params: dict[str, Any] = field(default_factory=dict)


def error_name(exc: BaseException) -> str:
    """An exception's class; for SQLite, also its own fixed message ("database is locked", "disk I/O error"),
    which never quotes values. Other messages may quote data, so they stay out."""
    orig = getattr(exc, "orig", None)
    if isinstance(orig, sqlite3.Error) and str(orig):
        return f"{type(exc).__name__}: {str(orig).splitlines()[0][:80]}"
    return type(exc).__name__


class Operator:
    def __init__(
        self,
        factory: async_sessionmaker[AsyncSession],
        clock: Clock,
        chat_ids: tuple[int, ...],
        *,
        timezone: str,
        language: str,
        notify: Callable[[], None],
        stuck_after: timedelta,
        metrics: Metrics | None = None,
    ) -> None:
        self.factory, self.clock, self.chat_ids = factory, clock, chat_ids
        self.tz = ZoneInfo(timezone)
        self.language = language
        self.notify = notify
        self.stuck_after = stuck_after
        self.metrics = metrics
        self._pending: dict[AlertKind, _Alert] = {}
        self._done: dict[AlertKind, str] = {}  # kind → the period its last alert was queued for
        self._failed_updates: tuple[str, int] = ("", 0)  # (hour, updates failed in it)
        self._db_failing_since: datetime | None = None
        self._db_failures = 0
        self._said_nobody = False

    # -- what happened ---------------------------------------------------------------------------------
    async def update_failed(self, exc: BaseException) -> None:
        """From the error handler, after the person got the apology."""
        hour = self._hour(self.clock())
        seen, n = self._failed_updates
        self._failed_updates = (hour, n + 1 if seen == hour else 1)
        await self.alert(AlertKind.UPDATE_FAILED, error=type(exc).__name__, n=self._failed_updates[1])

    async def backup_failed(self, exc: BaseException, last_success: datetime | None) -> None:
        await self.alert(AlertKind.BACKUP_FAILED, error=type(exc).__name__, last=last_success)

    async def weekly_backups(self, **params: Any) -> None:
        now = self.clock()
        year, week, _ = now.astimezone(self.tz).isocalendar()
        await self._add(_Alert(AlertKind.BACKUP_WEEKLY, f"{year}-W{week:02d}", now, params))

    async def alert(self, kind: AlertKind, **params: Any) -> None:
        """Queue an alert of `kind` unless one was queued (or waits) for this hour already."""
        now = self.clock()
        await self._add(_Alert(kind, self._hour(now), now, params))

    # -- the watch -------------------------------------------------------------------------------------
    async def check(self) -> None:
        """One look: can the database be written (for a minute not: an alert), is the outbox stuck, and do
        alerts wait for the database. Run every CHECK_EVERY seconds on every instance (`run`)."""
        now = self.clock()
        try:
            async with unit_of_work(self.factory) as repos:
                health = HealthRepo(repos.session)
                await health.write_probe()
                wait = await health.outbox_wait(now - self.stuck_after)
        except Exception as exc:
            self._db_failures += 1
            if self._db_failing_since is None:
                self._db_failing_since = now
                log.warning("operator watch: the database cannot be written (%s)", error_name(exc))
            if now - self._db_failing_since >= DB_DOWN_AFTER:
                since, n = self._db_failing_since, self._db_failures
                await self.alert(AlertKind.DATABASE, since=since, n=n, error=error_name(exc))
            return
        if self._db_failing_since is not None:
            log.info("operator watch: the database works again (%d failed checks)", self._db_failures)
            self._db_failing_since, self._db_failures = None, 0
        if wait.waiting and wait.oldest is not None:
            await self.alert(
                AlertKind.OUTBOX_STUCK,
                since=wait.oldest,
                minutes=int(self.stuck_after.total_seconds() // 60),
                n=wait.waiting,
                pending=wait.pending,
            )
        await self.flush()

    async def run(self, every: float = CHECK_EVERY) -> None:
        while True:
            try:
                await self.check()
            except Exception:  # the watch must outlive any one failure of its own
                log.exception("operator watch: check failed")
            await asyncio.sleep(every)

    def start(self) -> asyncio.Task[None]:
        return asyncio.create_task(self.run(), name="operator-watch")

    # -- into the outbox -------------------------------------------------------------------------------
    async def _add(self, alert: _Alert) -> None:
        if self._done.get(alert.kind) == alert.period:
            return
        waiting = self._pending.get(alert.kind)
        if waiting is None or waiting.period != alert.period:
            self._pending[alert.kind] = alert
        else:  # the one waiting for the database keeps its time; its counts grow
            waiting.params.update({k: v for k, v in alert.params.items() if k in ("n", "pending")})
        if self._db_failing_since is None:  # else the next check that can write queues it
            await self.flush()

    async def flush(self) -> bool:
        """Queue the waiting alerts in one transaction; False when the database refuses (they wait on)."""
        if not self._pending:
            return True
        if not self.chat_ids:
            if not self._said_nobody:
                log.warning("operator: no OPERATOR_IDS or CURATOR_IDS, alerts go to the log only")
                self._said_nobody = True
            for alert in self._pending.values():
                log.warning("operator alert kind=%s", alert.kind)
                self._done[alert.kind] = alert.period
            self._pending.clear()
            return True
        alerts = list(self._pending.values())
        try:
            async with unit_of_work(self.factory) as repos:
                messages = []
                for chat in self.chat_ids:
                    person = await repos.participants.by_telegram_id(chat)
                    t = Translator(person.language if person is not None else self.language)
                    messages += [
                        NewMessage(
                            chat_id=chat,
                            kind=f"operator_{alert.kind}",
                            text=self._text(t, alert),
                            dedup_key=f"operator:{alert.kind}:{alert.period}:{chat}",
                            priority=PRIORITY,
                        )
                        for alert in alerts
                    ]
                await repos.outbox.enqueue(messages, self.clock())
        except Exception as exc:
            log.warning("operator: %d alert(s) wait for the database (%s)", len(alerts), error_name(exc))
            return False
        for alert in alerts:
            self._done[alert.kind] = alert.period
            self._pending.pop(alert.kind, None)
            if self.metrics is not None:
                self.metrics.alerted(alert.kind)
            log.info("operator alert queued kind=%s", alert.kind)
        self.notify()
        return True

    def _text(self, t: Translator, alert: _Alert) -> str:
        today = self.clock().astimezone(self.tz).date()

        def when(moment: datetime) -> str:
            local = moment.astimezone(self.tz)
            day = format_date(t, local.date(), today=today)
            return t("operator.moment", date=day, time=f"{local.hour:02d}:{local.minute:02d}")

        params = {k: when(v) if isinstance(v, datetime) else v for k, v in alert.params.items()}
        if "last" in params:  # the backups' kinds: the newest good copy, or that there is none
            last, size = alert.params["last"], alert.params.get("size") or 0
            params.pop("size", None)
            mb = f"{size / 1_000_000:.1f}".replace(".", t("operator.decimal_mark"))
            params["last"] = (
                t("operator.last_copy", when=when(last), size=t("operator.size_mb", mb=mb))
                if last is not None
                else t("operator.no_copy")
            )
        return t(f"operator.{alert.kind}", when=when(alert.at), **params)

    @staticmethod
    def _hour(moment: datetime) -> str:
        return f"{moment:%Y%m%d%H}"


def operator_ids(operator_ids: tuple[int, ...], curator_ids: tuple[int, ...]) -> tuple[int, ...]:
    """OPERATOR_IDS, or the first curator of CURATOR_IDS when it is empty."""
    return operator_ids or curator_ids[:1]
