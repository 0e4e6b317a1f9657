"""kill -9 at random moments of the real `python -m bot`, twenty times, then a last start — while a broadcast
of 3,000 is in the outbox, 200 reminders fall due within 30 seconds and (from the eighth kill on) 20 people
answer the mentee questionnaire. Prints what was kept and what was delivered.

The bot long-polls an HTTP fake of the Bot API (Telegram's limits enforced). An answer counts as acknowledged
when the bot asked the next question; after every kill each acknowledged answer must be in the database and
every response whole (tests/support/chaos.py checks). Every message is an outbox row; the sender claims a row
right before its request and records the answer right after, so a kill can only hit the rows in flight at
that instant: Telegram may or may not have accepted them and offers no way to ask, so they are never re-sent
(no duplicate is possible) and are counted as "uncertain" — delivered or not, reported exactly.

Run: python bench/faults.py   (no arguments; under five minutes; the last line is key=value figures)"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import chaos  # noqa: E402

KILLS = 20
PEOPLE = 20
REMINDERS = 200
BROADCAST = 3000
REMINDER_SPREAD = 30.0  # seconds over which the reminders fall due
PEOPLE_AFTER = (
    8  # kills before the people start answering: the first ones hit the reminders and the broadcast
)
MAX_UP = 3.0  # a kill comes at most this long after the restarted bot started working


STARTED = time.monotonic()


def progress(n: int, persons: list[chaos.Person], db: Path) -> None:
    with sqlite3.connect(db) as conn:
        rows = dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
        due = conn.execute("SELECT count(*) FROM reminders WHERE status = 'pending'").fetchone()[0]
    print(
        f"{time.monotonic() - STARTED:5.0f} s kill {n:2d}: outbox sent={rows.get('sent', 0)} "
        f"pending={rows.get('pending', 0)} "
        f"in-flight={rows.get('sending', 0) + rows.get('uncertain', 0)}; reminders not yet fired={due}; "
        f"answers acknowledged={sum(len(p.acks) for p in persons)}, "
        f"people done={sum(p.done for p in persons)}",
        flush=True,
    )


async def main() -> int:
    with tempfile.TemporaryDirectory(prefix="nastavnik-faults-") as tmp:
        r = await chaos.run(
            Path(tmp),
            people=PEOPLE,
            reminders=REMINDERS,
            broadcast=BROADCAST,
            kills=KILLS,
            max_up=MAX_UP,
            reminder_spread=REMINDER_SPREAD,
            people_after=PEOPLE_AFTER,
            progress=progress,
        )
    b, m = r.broadcast, r.reminders
    print(
        f"{r.kills} kills and {r.starts} starts in {r.seconds:.0f} s; "
        f"processes that died on their own: {r.crashes}"
    )
    print(
        f"questionnaire: {r.people} people, {r.actions} updates, {r.answers} answers acknowledged, "
        f"{r.answers_lost} of them missing after a kill, {r.submitted} submitted, {r.resyncs} times a person "
        f"had to /start to see where they were"
    )
    for problem in r.problems[:10]:
        print(f"  problem: {problem}")
    for name, c in (("reminders", m), ("broadcast", b)):
        print(
            f"{name}: {c['n']} messages, delivered once {c['delivered']}, twice or more {c['duplicated']}, "
            f"lost {c['lost']}; in flight at a kill (uncertain) {c['uncertain']}, of which Telegram had "
            f"accepted {c['uncertain'] - c['uncertain_unsent']} and not {c['uncertain_unsent']} "
            f"(never sent, by design not retried)"
        )
    print(r.line())
    failed = r.problems or r.answers_lost or m["duplicated"] or b["duplicated"] or m["lost"] or b["lost"]
    return 1 if failed or r.crashes else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
