"""Closing the app stops everything that uses the database before the database closes: an announcement's
progress watcher, which runs beside the updates, was left running and opened a connection after the engine was
disposed (found when a restore right after a stop said the database was in use)."""

from __future__ import annotations

import os
from pathlib import Path

from bot.domain.entities import Role
from handlers import announce
from tests.helpers import onboard_curator
from tests.test_announce import person, send_button


def open_handles(path: Path) -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(path)):
            found.append(target)
    return found


async def test_closing_stops_the_announcement_watcher_and_leaves_no_database_handle(h, db_url):
    c = await onboard_curator(h)
    await person(h, Role.MENTOR, "Наставник Один")
    await c.send("/announce")
    await c.send("Собрание наставников в пятницу")
    await c.click("Наставникам")
    button = send_button(c)
    await c.press(button["data"], button["message"])
    watchers = list(announce.progress_tasks.values())
    assert watchers, "the progress watcher did not start"

    await h.close()

    assert all(task.done() for task in watchers)
    assert open_handles(Path(db_url.split("///", 1)[1])) == []
