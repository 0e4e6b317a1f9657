"""The daily SQLite backup: `nastavnik backup`'s own code (SQLite's online backup API, a consistent copy while
the bot writes) into BACKUP_DIR at BACKUP_HOUR, the newest BACKUP_KEEP copies kept. A scheduler job, so only
the scheduler's leader runs it. Off for PostgreSQL (pg_dump is the tool there) and with BACKUP_KEEP=0.

A copy is named by when it was made, nastavnik-YYYYMMDD-HHMMSS.db (UTC), so the names sort by age and the
folder itself says what is kept; nothing else in the folder is ever deleted. Older copies go only after a new
one was made. A failure is an operator alert; the week's result is a weekly line to the operator."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.clock import Clock
from bot.config import Settings
from bot.operator import Operator
from storage.db import sqlite_path

log = logging.getLogger(__name__)
NAME = re.compile(r"nastavnik-(\d{8}-\d{6})\.db")
STAMP = "%Y%m%d-%H%M%S"


@dataclass(frozen=True)
class BackupState:
    last_ok: bool  # the latest attempt since the start; before any, whether a copy is kept
    last_success: datetime | None  # the newest kept copy
    last_failure: datetime | None  # since the start
    files: int
    last_size: int


def backup_folder(settings: Settings) -> Path | None:
    """Where the daily copies go; None when there are none (PostgreSQL, in-memory SQLite, BACKUP_KEEP=0)."""
    db = sqlite_path(settings.database_url)
    if db is None or settings.backup_keep == 0:
        return None
    return Path(settings.backup_dir) if settings.backup_dir else db.parent / "backups"


class Backups:
    def __init__(
        self, database_url: str, folder: Path, keep: int, clock: Clock, operator: Operator | None = None
    ) -> None:
        self.url, self.folder, self.keep = database_url, folder, keep
        self.clock, self.operator = clock, operator
        self._last_ok: bool | None = None
        self._last_failure: datetime | None = None
        # for the weekly line: since when, how many made and failed
        self._since = clock()
        self._made = self._failed = 0

    def kept(self) -> list[tuple[datetime, Path]]:
        """The copies in the folder, oldest first, with when each was made."""
        try:
            entries = list(self.folder.iterdir())
        except OSError:
            return []
        out = []
        for path in entries:
            match = NAME.fullmatch(path.name)
            if match and path.is_file():
                out.append((datetime.strptime(match[1], STAMP).replace(tzinfo=UTC), path))
        return sorted(out)

    async def run(self) -> bool:
        """Make today's copy, then drop the oldest beyond BACKUP_KEEP. True when the copy was made."""
        now = self.clock()
        dest = self.folder / f"nastavnik-{now.astimezone(UTC):{STAMP}}.db"
        try:
            size = await asyncio.to_thread(self._copy_and_rotate, dest)
        except Exception as exc:  # a folder that is a file, a full disk, a damaged database: all alike
            self._last_ok, self._last_failure = False, now
            self._failed += 1
            log.error("backup failed: %s: %s", type(exc).__name__, exc)
            if self.operator is not None:
                kept = self.kept()
                await self.operator.backup_failed(exc, kept[-1][0] if kept else None)
            return False
        self._last_ok = True
        self._made += 1
        log.info("backup made (%d bytes); %d kept", size, len(self.kept()))
        return True

    def _copy_and_rotate(self, dest: Path) -> int:
        from bot.cli import backup_sqlite  # the `nastavnik backup` command's own code path

        backup_sqlite(self.url, dest)
        for _, old in self.kept()[: -self.keep]:
            old.unlink()
        return dest.stat().st_size

    def state(self) -> BackupState:
        kept = self.kept()
        newest = kept[-1] if kept else None
        size = 0
        if newest is not None:
            try:
                size = newest[1].stat().st_size
            except OSError:
                pass
        return BackupState(
            last_ok=self._last_ok if self._last_ok is not None else newest is not None,
            last_success=newest[0] if newest else None,
            last_failure=self._last_failure,
            files=len(kept),
            last_size=size,
        )

    async def weekly_report(self) -> None:
        """The operator's weekly line: copies made and failed since the last line, the newest, the count."""
        if self.operator is None:
            return
        state = self.state()
        await self.operator.weekly_backups(
            since=self._since,
            made=self._made,
            failed=self._failed,
            last=state.last_success,
            size=state.last_size,
            kept=state.files,
        )
        self._since, self._made, self._failed = self.clock(), 0, 0


def schedule_backups(
    sched: AsyncIOScheduler, backups: Backups, hour: int, report_hour: int, timezone: str
) -> None:
    """Daily at BACKUP_HOUR; the weekly line on Mondays with the other weekly messages (the digest hour)."""
    common = dict(replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=6 * 3600)
    sched.add_job(backups.run, CronTrigger(hour=hour, minute=0, timezone=timezone), id="backup", **common)
    sched.add_job(
        backups.weekly_report,
        CronTrigger(day_of_week="mon", hour=report_hour, minute=45, timezone=timezone),
        id="backup_report",
        **common,
    )
