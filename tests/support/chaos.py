"""Faults for the real bot process: `python -m bot` long-polls the HTTP fake of the Bot API and is killed with
SIGKILL at random moments, then started again, while simulated people answer the mentee questionnaire, a burst
of reminders falls due and a broadcast goes out. Shared by tests/reliability/test_kill.py and bench/faults.py.

What counts as kept:
- an answer is acknowledged when the bot asks the next question after it; from then on it must be in the
  database (checked after every kill, while the process is dead) and the response must be consistent: one
  response per person, valid values, the current question the first unanswered one, the FSM pointing at it;
- a reminder or broadcast message is delivered once, or its outbox row was in flight at a kill ('uncertain':
  Telegram may or may not have accepted it and offers no way to ask, so it is never re-sent). Never twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.demo.telegram import FakeTelegram, SentMessage
from bot.domain import forms as f

FORM_ID = "mentee_needs"
SUMMARY = "<summary>"
SUBMITTED = "<submitted>"
CURATOR_ID = 1000
PEOPLE_BASE = 3_000_000  # chat ids of the people answering the questionnaire
REMINDER_BASE = 4_000_000  # chat ids of the people who get a reminder
BROADCAST_BASE = 5_000_000  # chat ids of the broadcast's recipients (no participant rows)
HAS_PROC = os.path.isdir("/proc/self/fd")  # where a process's open files can be seen (Linux)
LOST_AFTER = 3.0  # seconds without an answer to a consumed update before a person asks where they are


def _env_without_settings() -> dict[str, str]:
    prefixes = ("BOT_", "DATABASE_", "REDIS_", "WEBHOOK_", "CURATOR_", "LOG_", "FORMS_DIR")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


class BotProcess:
    """The real `python -m bot`, started, killed with SIGKILL and started again on one SQLite file."""

    def __init__(self, fake: FakeTelegram, base_url: str, workdir: Path, db: Path) -> None:
        self.fake = fake
        self.workdir = workdir
        self.db = db.resolve()
        self.env = _env_without_settings()
        self.env.update(
            BOT_TOKEN=fake.token,
            BOT_API_URL=base_url,
            DATABASE_URL=f"sqlite+aiosqlite:///{self.db}",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.kills = 0
        self.crashes: list[int] = []  # exit codes of processes that ended without being killed
        self.log = workdir / "bot.log"

    async def _spawn(self, *args: str) -> asyncio.subprocess.Process:
        with self.log.open("ab") as log:
            return await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                *args,
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=log,
            )

    async def start(self) -> None:
        self._polls_before = self._polls()
        self._requests_before = len(self.fake.requests)
        self.proc = await self._spawn()
        self.starts += 1

    def made_requests(self) -> bool:
        """Whether this start has talked to the Bot API yet (the previous process is dead by now)."""
        return len(self.fake.requests) > self._requests_before

    def _polls(self) -> int:
        return sum(1 for r in self.fake.requests if r.method == "getUpdates")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def _has_db_open(self) -> bool:
        assert self.proc is not None
        fds = Path(f"/proc/{self.proc.pid}/fd")
        try:
            return any(os.readlink(fds / fd) == str(self.db) for fd in os.listdir(fds))
        except OSError:
            return False

    async def wait_db_open(self, timeout: float = 120.0) -> None:
        """Until the process has the database open (its imports are done, the migrations start) — or, where
        /proc is absent, until it polls."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                raise RuntimeError(f"the bot exited with {self.proc.returncode}; see {self.log}")
            if self._has_db_open() if HAS_PROC else self._polls() > self._polls_before:
                return
            await asyncio.sleep(0.02)
        raise TimeoutError("the bot did not start in time")

    async def wait_first_request(self, timeout: float = 120.0) -> None:
        """Until the process talks to the Bot API: its start-up (migrations, the reminders that fell due while
        it was down) is done and it sends and polls."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while not self.made_requests():
            if self.proc.returncode is not None:
                raise RuntimeError(f"the bot exited with {self.proc.returncode}; see {self.log}")
            if time.monotonic() > deadline:
                raise TimeoutError("the bot never called the Bot API")
            await asyncio.sleep(0.02)

    async def wait_polling(self, timeout: float = 120.0) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while self._polls() <= self._polls_before:
            if self.proc.returncode is not None:
                raise RuntimeError(f"the bot exited with {self.proc.returncode}; see {self.log}")
            if time.monotonic() > deadline:
                raise TimeoutError("the bot never started polling")
            await asyncio.sleep(0.05)

    async def kill(self) -> None:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()
            self.kills += 1
        else:
            self.crashes.append(self.proc.returncode)

    async def stop(self) -> None:
        """A graceful stop (SIGINT, as Ctrl+C); SIGKILL if it does not finish in time."""
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


# ------------------------------------------------------------------------------------------------- seeding
@dataclass
class Seeded:
    people: list[int]  # telegram ids, each at the first question of the mentee questionnaire
    reminders: dict[int, str]  # chat id → the reminder text it must get once
    broadcast: dict[int, str]  # chat id → the broadcast text it must get once


async def seed(
    db_url: str, fake: FakeTelegram, people: int, reminders: int, broadcast: int, reminder_spread: float = 0.0
) -> Seeded:
    """Through the real dispatcher in this process (the same fake): a curator invites `people` mentees who
    consent and fill in their profile, so each stands at the first question of the questionnaire. Then, in
    bulk: `reminders` reminders (one per person, two per pair, each about a meeting an hour away) falling
    due from now over the next `reminder_spread` seconds, and a broadcast of `broadcast` messages."""
    from bot.demo.harness import Harness, make_settings

    h = await Harness.start(make_settings(db_url, curator_ids=str(CURATOR_ID)), fake)
    enforcing, fake.enforce_limits = fake.enforce_limits, False  # seeding is not under test
    try:
        curator = h.user(CURATOR_ID, "Curator")
        await curator.send("/start")
        await curator.click("✅ Даю согласие")
        await curator.send("Куратова Анна Сергеевна")
        await curator.send("/invite")
        link = (await curator.click("наставляемый"))[-1].text or ""
        token = link.split("?start=", 1)[1].split()[0]
        ids = []
        for i in range(people):
            u = h.user(PEOPLE_BASE + i, "Mentee")
            await u.send(f"/start {token}")
            await u.click("✅ Даю согласие")
            await u.send(f"Ученикова Мария {_letters(i)}")
            await u.send("9А")
            await u.click("Да")
            ids.append(u.id)
        reminder_texts = await _seed_reminders(h, reminders, reminder_spread)
        broadcast_texts = await _seed_broadcast(h, broadcast)
    finally:
        fake.enforce_limits = enforcing
        await h.close()
    return Seeded(ids, reminder_texts, broadcast_texts)


def _letters(i: int) -> str:
    """A distinct word of Cyrillic letters per number (names may hold no digits)."""
    alphabet = "абвгдежзиклмнопрстуфхцчшэюя"
    word = ""
    while True:
        i, r = divmod(i, len(alphabet))
        word += alphabet[r]
        if not i:
            return word.capitalize() + "овна"


async def _seed_reminders(h: Any, n: int, spread: float) -> dict[int, str]:
    from bot.domain import reminders as rem
    from storage.uow import unit_of_work
    from tests.support.seeding import seed_reminder_burst

    if n <= 0:
        return {}
    pairs = (n + 1) // 2
    now = h.app.clock()
    plan = [
        (now - timedelta(seconds=1) + timedelta(seconds=spread * j / pairs), rem.URGENT_LEAD)
        for j in range(pairs)
    ]
    await seed_reminder_burst(h.app.factory, now, plan, REMINDER_BASE, reminded=n)
    # The text each person must get: composed the way the bot composes it.
    from scheduler.reminders import compose

    texts: dict[int, str] = {}
    async with unit_of_work(h.app.factory) as repos:
        for r in await repos.reminders.pending():
            (message, *_) = await compose(repos, r, h.app.reminders.tz)
            texts[message.chat_id] = message.text
    return texts


async def _seed_broadcast(h: Any, n: int) -> dict[int, str]:
    from bot.domain.entities import NewMessage
    from storage.uow import unit_of_work

    texts = {BROADCAST_BASE + i: f"Объявление для всех, № {i}" for i in range(n)}
    messages = [
        NewMessage(chat_id=c, text=t, kind="announcement", dedup_key=f"chaos-broadcast:{c}", priority=5)
        for c, t in texts.items()
    ]
    async with unit_of_work(h.app.factory) as repos:
        await repos.outbox.enqueue(messages, h.app.clock())
    return texts


# ------------------------------------------------------------------------------------------- the people
class Watch:
    """What the bot told the fake Bot API about updates, read incrementally (the request log grows long)."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self._seen = 0
        self.offset = 0  # the highest offset a getUpdates asked for: every update below it was consumed
        self.callback_answers: dict[str, str] = {}  # callback query id → the alert text ("" if none)

    def _catch_up(self) -> None:
        requests = self.fake.requests
        for r in requests[self._seen :]:
            if r.method == "getUpdates":
                self.offset = max(self.offset, int(r.params.get("offset") or 0))
            elif r.method == "answerCallbackQuery":
                self.callback_answers[str(r.params.get("callback_query_id"))] = r.params.get("text") or ""
        self._seen = len(requests)

    def consumed(self, update_id: int) -> bool:
        self._catch_up()
        return self.offset > update_id

    def alert(self, cb_id: str) -> str:
        self._catch_up()
        return self.callback_answers.get(cb_id, "")


@dataclass
class Ack:
    key: str  # a question key, or SUBMITTED
    value: Any
    at: float


@dataclass
class Person:
    """A mentee answering the questionnaire over the fake Bot API, patiently: one update at a time; when the
    bot went away with an update (it was consumed and never answered), they send /start to see where they
    are. Each answer is planned in advance, so what the bot acknowledged can be checked in the database."""

    fake: FakeTelegram
    watch: Watch
    form: f.Form
    id: int
    index: int
    rng: random.Random
    # Telegram lets a bot send about one message a second to a chat; people read before they answer.
    think: tuple[float, float] = (1.1, 2.0)
    acks: list[Ack] = field(default_factory=list)
    actions: int = 0
    resyncs: int = 0
    done: bool = False
    submitted_text: str = ""
    all_set_texts: tuple[str, ...] = ()
    _msg_id: int = 1

    # -- the plan: what this person answers to each question
    def planned(self, key: str) -> Any:
        q = self.form.question(key)
        options = [o.value for o in q.options]
        if key == "goals":
            return ["grades"]  # keeps the exam questions hidden
        if q.type == f.QuestionType.SINGLE:
            return options[self.index % len(options)]
        if q.type == f.QuestionType.MULTI:
            return [options[self.index % len(options)]]
        if q.type == f.QuestionType.TEXT:
            return f"Ответ {key} человека {self.index}"
        raise AssertionError(f"the plan does not cover {q.type}")

    def sequence(self) -> list[str]:
        """The questions this person is asked, in order, given their planned answers."""
        return [q.key for q in self.form.visible({q.key: self.planned(q.key) for q in self.form.questions})]

    # -- what the person sees
    def _messages(self) -> list[SentMessage]:
        return self.fake.delivered_to(self.id)

    def shown(self, msg: SentMessage) -> str | None:
        """The question (or the summary) a message asks with its buttons; None for anything else."""
        for b in msg.buttons():
            data = b.get("callback_data") or ""
            if data.startswith("fq:"):
                q = int(data.split(":")[2])
                return SUMMARY if q < 0 else self.form.keys[q]
        return None

    def current(self) -> tuple[SentMessage, str] | None:
        for msg in reversed(self._messages()):
            key = self.shown(msg)
            if key is not None:
                return msg, key
        return None

    # -- sending updates
    def _from(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": False, "first_name": "Mentee", "language_code": "ru"}

    def _push_text(self, text: str) -> int:
        self._msg_id += 1
        message: dict[str, Any] = {
            "message_id": self._msg_id,
            "date": int(time.time()),
            "text": text,
            "chat": {"id": self.id, "type": "private"},
            "from": self._from(),
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        uid = self.fake.next_update_id()
        self.fake.push_update({"update_id": uid, "message": message})
        return uid

    def _push_press(self, data: str, msg: SentMessage) -> tuple[int, str]:
        cb_id = f"{self.id}-{time.monotonic_ns()}"
        uid = self.fake.next_update_id()
        self.fake.push_update(
            {
                "update_id": uid,
                "callback_query": {
                    "id": cb_id,
                    "from": self._from(),
                    "chat_instance": "ci",
                    "data": data,
                    "message": {
                        "message_id": msg.message_id,
                        "date": int(time.time()),
                        "text": msg.text or "",
                        "chat": {"id": self.id, "type": "private"},
                    },
                },
            }
        )
        return uid, cb_id

    async def _outcome(
        self, update_id: int, cb_id: str | None, before: int, watch: SentMessage | None, edits: int
    ) -> tuple[str, Any]:
        """What came of an update: ("question", key) | ("submitted", None) | ("edited", None) |
        ("alert", text) | ("lost", None)."""
        consumed_at: float | None = None
        while True:
            fresh = self._messages()[before:]
            for msg in fresh:
                key = self.shown(msg)
                if key is not None:
                    return "question", key
                if msg.text == self.submitted_text or msg.text in self.all_set_texts:
                    return "submitted", None
            if watch is not None and watch.edits != edits:
                return "edited", None
            if cb_id is not None:
                alert = self.watch.alert(cb_id)
                if alert:
                    return "alert", alert
            if consumed_at is None and self.watch.consumed(update_id):
                consumed_at = time.monotonic()
            if consumed_at is not None and time.monotonic() - consumed_at > LOST_AFTER:
                return "lost", None
            await asyncio.sleep(0.03)

    async def resync(self) -> None:
        """Ask the bot where we are: /start resumes the questionnaire at the question the database holds."""
        self.resyncs += 1
        while True:
            before = len(self._messages())
            uid = self._push_text("/start")
            kind, _ = await self._outcome(uid, None, before, None, 0)
            if kind == "submitted":
                self.done = True
                return
            if kind == "question":
                return

    async def run(self) -> None:
        from bot.i18n import Translator
        from handlers.questionnaire import say

        t = Translator("ru")
        key = f"questionnaire.submitted.{FORM_ID}"
        self.submitted_text = t(key if t.has(key) else "questionnaire.submitted.default")
        # /start after a submission whose reply a kill lost: a pupil is told «ты», an adult «вы».
        self.all_set_texts = (t("start.all_set"), say(t, f.Register.TY, "start.all_set"))
        seq = self.sequence()
        while not self.done:
            await asyncio.sleep(self.rng.uniform(*self.think))
            view = self.current()
            if view is None:
                await self.resync()
                continue
            msg, key = view
            before, edits = len(self._messages()), msg.edits
            cb_id: str | None = None
            value: Any = None
            ticking = False
            if key == SUMMARY:
                uid, cb_id = self._push_press(self._data(msg, "x"), msg)
            else:
                q = self.form.question(key)
                value = self.planned(key)
                if q.type == f.QuestionType.TEXT:
                    uid = self._push_text(value)
                elif q.type == f.QuestionType.SINGLE:
                    v = [o.value for o in q.options].index(value)
                    uid, cb_id = self._push_press(self._data(msg, "p", str(v)), msg)
                else:
                    wanted = {o.text.get("ru") for o in q.options if o.value in value}
                    ticked = {b["text"][2:] for b in msg.buttons() if b["text"].startswith("✅ ")}
                    ticking = wanted != ticked
                    if ticking:
                        pick = next(iter(wanted - ticked or ticked - wanted))
                        v = [o.text.get("ru") for o in q.options].index(pick)
                        uid, cb_id = self._push_press(self._data(msg, "t", str(v)), msg)
                    else:
                        uid, cb_id = self._push_press(self._data(msg, "d"), msg)
            self.actions += 1
            outcome, shown = await self._outcome(uid, cb_id, before, msg if ticking else None, edits)
            if outcome == "edited":
                continue
            if outcome == "submitted" and key == SUMMARY:
                self.acks.append(Ack(SUBMITTED, None, time.monotonic()))
                self.done = True
            elif outcome == "question":
                following = seq[seq.index(key) + 1] if key in seq[:-1] else SUMMARY
                if key != SUMMARY and shown == following:
                    self.acks.append(Ack(key, value, time.monotonic()))
            else:
                await self.resync()

    @staticmethod
    def _data(msg: SentMessage, action: str, value: str = "") -> str:
        for b in msg.buttons():
            data = b.get("callback_data") or ""
            if data.startswith("fq:"):
                _, r, q, *_ = data.split(":")
                return f"fq:{r}:{q}:{action}:{value}"
        raise AssertionError("no questionnaire button on the message")


# ------------------------------------------------------------------------------------------- the checks
def _connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def check_answers(db: Path, form: f.Form, people: list[Person]) -> list[str]:
    """Every acknowledged answer is stored; each person's response is whole and consistent. Run while the bot
    process is dead. Returns the problems found (empty: all good)."""
    problems: list[str] = []
    with _connect(db) as conn:
        for p in people:
            pid = conn.execute("SELECT id FROM participants WHERE telegram_id = ?", (p.id,)).fetchone()[0]
            rows = conn.execute(
                "SELECT id, status, answers, current_key, editing FROM form_responses"
                " WHERE participant_id = ? AND form_id = ?",
                (pid, FORM_ID),
            ).fetchall()
            if len(rows) != 1:
                problems.append(f"person {p.index}: {len(rows)} responses instead of one")
                continue
            row = rows[0]
            answers = json.loads(row["answers"] or "{}")
            for ack in p.acks:
                if ack.key == SUBMITTED:
                    if row["status"] != "submitted":
                        problems.append(f"person {p.index}: submission acknowledged, status {row['status']}")
                elif answers.get(ack.key) != ack.value:
                    problems.append(f"person {p.index}: acknowledged answer to {ack.key} not stored")
            for key, value in answers.items():
                if key not in form.keys:
                    problems.append(f"person {p.index}: answer to unknown question {key}")
                elif value is not None and not f.is_valid_value(form.question(key), value):
                    problems.append(f"person {p.index}: invalid stored answer to {key}")
                elif value != p.planned(key):
                    problems.append(f"person {p.index}: {key} holds an answer never given")
            fsm = conn.execute(
                "SELECT state, data FROM fsm_states WHERE key LIKE ?", (f"%:{p.id}:{p.id}:%",)
            ).fetchone()
            if row["status"] == "in_progress":
                # Half-saved would show as a stored answer whose question is still current, or a gap.
                k = form.first_key(answers)
                while k is not None and k in answers:
                    k = form.next_key(answers, k)
                if row["current_key"] != k or row["editing"]:
                    problems.append(
                        f"person {p.index}: current question {row['current_key']}, first unanswered {k}"
                    )
                if fsm is None or json.loads(fsm["data"] or "{}").get("rid") != row["id"]:
                    problems.append(f"person {p.index}: conversation state does not point at the response")
            elif row["status"] == "submitted":
                if form.missing_required(answers):
                    problems.append(f"person {p.index}: submitted with answers missing")
            else:
                problems.append(f"person {p.index}: response status {row['status']}")
    return problems


def outbox_rows(db: Path) -> dict[int, list[str]]:
    with _connect(db) as conn:
        out: dict[int, list[str]] = {}
        for chat, status in conn.execute("SELECT chat_id, status FROM outbox"):
            out.setdefault(chat, []).append(status)
        return out


def pending_work(db: Path) -> int:
    """Rows still to send or being sent, and reminders still to fire. A row the running sender has claimed
    counts: stopping the bot while it is 'sending' puts the claimed rows whose request has not started back
    to 'pending' for the next start (a full run once stopped with 7 of a claim of 8 unsent, counted lost).
    Rows left 'sending' by the last kill are settled by the final start's recovery before this reaches 0."""
    with _connect(db) as conn:
        outbox = "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"
        pending = conn.execute(outbox).fetchone()[0]
        due = conn.execute("SELECT count(*) FROM reminders WHERE status = 'pending'").fetchone()[0]
        return pending + due


def delivery(fake: FakeTelegram, expected: dict[int, str], rows: dict[int, list[str]]) -> dict[str, int]:
    """Per message expected once: delivered once, twice or more, or not at all — and if not, whether its row
    was in flight at a kill (uncertain, by design never re-sent) or is a real loss."""
    c: Counter[str] = Counter()
    for chat, text in expected.items():
        n = sum(1 for m in fake.delivered_to(chat) if m.text == text)
        statuses = rows.get(chat, [])
        in_flight = any(s in ("sending", "uncertain") for s in statuses)
        c["n"] += 1
        c["uncertain"] += in_flight
        if n == 1:
            c["delivered"] += 1
        elif n > 1:
            c["duplicated"] += 1
        elif in_flight:
            c["uncertain_unsent"] += 1
        else:
            c["lost"] += 1
            c["lost_as_" + ("+".join(statuses) or "no_row")] += 1
    keys = ("n", "delivered", "duplicated", "lost", "uncertain", "uncertain_unsent")
    return {k: c[k] for k in keys} | {k: v for k, v in c.items() if k.startswith("lost_as_")}


# ------------------------------------------------------------------------------------------------- a run
@dataclass
class Report:
    kills: int
    starts: int
    crashes: list[int]
    seconds: float
    answers: int
    answers_lost: int
    submitted: int
    people: int
    actions: int
    resyncs: int
    problems: list[str]
    reminders: dict[str, int]
    broadcast: dict[str, int]

    def line(self) -> str:
        r, b = self.reminders, self.broadcast
        figures = dict(
            kills=self.kills,
            people=self.people,
            answers=self.answers,
            answers_lost=self.answers_lost,
            submitted=self.submitted,
            resyncs=self.resyncs,
            inconsistent=len(self.problems),
            reminders=r["n"],
            reminders_delivered=r["delivered"],
            reminders_dup=r["duplicated"],
            reminders_lost=r["lost"],
            reminders_uncertain=r["uncertain"],
            broadcast_n=b["n"],
            delivered=b["delivered"],
            duplicated=b["duplicated"],
            lost=b["lost"],
            uncertain=b["uncertain"],
            uncertain_unsent=b["uncertain_unsent"],
            crashes=len(self.crashes),
            seconds=round(self.seconds),
        )
        return " ".join(f"{k}={v}" for k, v in figures.items())


async def run(
    workdir: Path,
    *,
    people: int,
    reminders: int,
    broadcast: int,
    kills: int = 20,
    max_up: float = 2.5,
    reminder_spread: float = 60.0,
    people_after: int = 0,
    seed_value: int = 7,
    final_timeout: float = 240.0,
    progress: Any = None,
) -> Report:
    """Seed, then `kills` times: start the bot, SIGKILL it at a random moment between late in its start-up
    and `max_up` seconds of work, check the answers; finally start it once more, let it finish, stop it and
    count. The people start answering before the kill number `people_after` (replies go before bulk
    messages, so a later start leaves the first kills to the reminders and the broadcast)."""
    from bot.demo.telegram import Limits, serve_http
    from bot.domain.forms import load_forms

    rng = random.Random(seed_value)
    fake = FakeTelegram(enforce_limits=True, limits=Limits(), latency=0.01)
    runner, base = await serve_http(fake)
    db = workdir / "chaos.db"
    started = time.monotonic()
    try:
        bot = BotProcess(fake, base, workdir, db)
        seeded = await seed(f"sqlite+aiosqlite:///{db}", fake, people, reminders, broadcast, reminder_spread)
        form = load_forms()[FORM_ID]
        watch = Watch(fake)
        persons = [
            Person(fake, watch, form, pid, i, random.Random(seed_value * 1000 + i))
            for i, pid in enumerate(seeded.people)
        ]
        tasks: list[asyncio.Task[None]] = []
        problems: list[str] = []
        lost: set[str] = set()
        try:
            startup: float | None = None  # from opening the database to the first request, as measured
            for n in range(kills):
                if n == people_after:
                    tasks = [asyncio.create_task(p.run(), name=f"person-{p.index}") for p in persons]
                await bot.start()
                await bot.wait_db_open()
                opened = time.monotonic()
                if startup is None:
                    await bot.wait_first_request()
                    startup = time.monotonic() - opened
                    delay = startup + rng.uniform(0.0, max_up)
                else:
                    # From late in the start-up (the catch-up of due reminders) to a while of work.
                    delay = rng.uniform(0.7 * startup, startup + max_up)
                measured = bot.made_requests()
                while time.monotonic() - opened < delay:
                    if not measured and bot.made_requests():
                        measured = True
                        startup = (startup + (time.monotonic() - opened)) / 2
                    await asyncio.sleep(0.01)
                await bot.kill()
                await asyncio.sleep(0.1)  # people notice the last replies before the check
                found = check_answers(db, form, persons)
                lost |= {p for p in found if "acknowledged" in p}
                problems += [f"after kill {n + 1}: {p}" for p in found]
                if progress is not None:
                    progress(n + 1, persons, db)
            if not tasks:
                tasks = [asyncio.create_task(p.run(), name=f"person-{p.index}") for p in persons]
            await bot.start()
            await bot.wait_polling()
            deadline = time.monotonic() + final_timeout
            while time.monotonic() < deadline:
                if all(t.done() for t in tasks) and pending_work(db) == 0:
                    break
                await asyncio.sleep(0.5)
            await bot.stop()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if bot.alive():
                await bot.kill()
        found = check_answers(db, form, persons)
        lost |= {p for p in found if "acknowledged" in p}
        problems += [f"at the end: {p}" for p in found]
        problems += [f"person {p.index} did not finish" for p in persons if not p.done]
        rows = outbox_rows(db)
        with _connect(db) as conn:
            submitted = conn.execute(
                "SELECT count(*) FROM form_responses WHERE form_id = ? AND status = 'submitted'", (FORM_ID,)
            ).fetchone()[0]
        return Report(
            kills=bot.kills,
            starts=bot.starts,
            crashes=bot.crashes,
            seconds=time.monotonic() - started,
            answers=sum(len(p.acks) for p in persons),
            answers_lost=len(lost),
            submitted=submitted,
            people=len(persons),
            actions=sum(p.actions for p in persons),
            resyncs=sum(p.resyncs for p in persons),
            problems=problems,
            reminders=delivery(fake, seeded.reminders, rows),
            broadcast=delivery(fake, seeded.broadcast, rows),
        )
    finally:
        await runner.cleanup()
