"""Benchmark: a curator's announcement to 3,000 parents while 20 people keep answering questionnaires.

Setup: a temporary SQLite database gets 3,000 parents (bulk insert; 5 % of them — every 20th — have
blocked the bot in the fake) and 20 mentees with an open mentee_needs questionnaire. The fake Bot API enforces
Telegram's limits (≈30 messages/s per bot in any 1 s window, ≈1/s per chat) with 20 ms of latency per request;
the real OutboxSender runs in the background, paced by the app's RateLimiter (outbox_rate_per_second, 29/s).

The curator goes through /announce in chat (text → "Parents" → preview → Send) through the real dispatcher;
the handler queues 3,000 rows and its watcher edits the progress message every 2 s, then reports. Meanwhile
each of the 20 people answers their questionnaire through the same dispatcher, one update every 2–6 s (a
quick human): the question in front of them — pick, tick + Done, or type — and, at the summary, Edit and
another question, round and round. Their replies are urgent in the shared RateLimiter, bulk waits.

Reported: the announcement's time to finish (Send press → last bulk request answered) against N/30 s, the
physical limit of an announcement alone, and against (N + replies)/30 s, the limit when the people's replies
go first and share the same 30/s (the 0.95 target is checked against this one); messages/s; lost and
duplicated messages; the report the curator got; and the people's reply latency — feeding the update → the
fake accepting the last message the bot sent them for it — over updates fed while the announcement ran and
answered with a new message (p50/p95; edits-only answers apart).

Run: python bench/announce.py   (no arguments; the last line is key=value figures for tracking)
"""

from __future__ import annotations

import sys
from pathlib import Path

# Lets `python bench/announce.py` import the bot package without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncio
import logging
import math
import os
import random
import tempfile
import time
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select

from bot.callbacks.questionnaire import FormCb
from bot.demo.harness import Client, Harness, make_settings
from bot.demo.telegram import FakeTelegram, SentMessage
from bot.domain import forms as f
from bot.domain.entities import Role, Status
from bot.services.onboarding import CONSENT_VERSION
from handlers import announce
from storage.models import Consent, Participant, ParticipantRole
from storage.uow import unit_of_work
from tests.helpers import onboard_curator

N = 3000
BLOCK_EVERY = 20  # 5 %
PEOPLE = 20
THINK = (2.0, 6.0)  # seconds between one person's updates
LATENCY = 0.02
TELEGRAM_LIMIT = 30.0  # messages/s per bot
TARGET_RATIO = 0.95
TARGET_P95_MS = 1000.0
TIME_LIMIT = 280.0
CURATOR = 1000
FIRST_PARENT = 30_000_000
FIRST_PERSON = 40_000_000
FORM_ID = "mentee_needs"
SEED = 7
TEXT = "Уважаемые родители! Родительское собрание — в четверг в 18:00, актовый зал."
ANSWERS = ["Трудно сосредоточиться на домашних заданиях", "Боюсь выступать перед классом", "Шахматы"]
PACED = {"sendMessage", "sendPhoto", "sendDocument"}
SHOWN = PACED | {"editMessageText", "editMessageReplyMarkup"}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else float("nan")


async def populate(h: Harness) -> tuple[list[int], list[tuple[int, int]]]:
    """3,000 parents and 20 mentees by bulk insert; returns the parents' chats and the mentees' (id, chat)."""
    now = h.app.clock() - timedelta(days=10)
    async with unit_of_work(h.app.factory) as repos:
        programme = (await repos.programmes.active())[0].id
        first = (await repos.session.scalar(select(func.max(Participant.id))) or 0) + 1
        people, roles, consents = [], [], []
        parents: list[int] = []
        mentees: list[tuple[int, int]] = []
        for i in range(N + PEOPLE):
            pid = first + i
            is_parent = i < N
            tg = FIRST_PARENT + i if is_parent else FIRST_PERSON + i
            if is_parent:
                parents.append(tg)
            else:
                mentees.append((pid, tg))
            people.append(
                dict(
                    id=pid,
                    telegram_id=tg,
                    language="ru",
                    full_name=f"{'Родитель' if is_parent else 'Ученик'} Номер {i}",
                    status=Status.ACTIVE.value,
                    is_minor=False,
                    group_name=None if is_parent else "8А",
                    unreachable=False,
                    created_at=now,
                    updated_at=now,
                )
            )
            role = Role.PARENT if is_parent else Role.MENTEE
            roles.append(
                dict(
                    participant_id=pid,
                    role=role.value,
                    programme_id=None if is_parent else programme,
                    created_at=now,
                )
            )
            consents.append(
                dict(
                    telegram_id=tg,
                    participant_id=pid,
                    subject_id=pid,
                    kind="self",
                    version=CONSENT_VERSION,
                    accepted=True,
                    decided_at=now,
                )
            )
        await repos.session.execute(insert(Participant), people)
        await repos.session.execute(insert(ParticipantRole), roles)
        await repos.session.execute(insert(Consent), consents)
        engine = h.app.dp["engine"]
        for pid, _ in mentees:
            await engine.begin(repos, pid, FORM_ID, h.app.clock())
    return parents, mentees


def form_button(msg: SentMessage, action: str, value: str | None = None) -> list[str]:
    out = []
    for b in msg.buttons():
        data = b.get("callback_data") or ""
        if data.startswith(f"{FormCb.__prefix__}:"):
            cb = FormCb.unpack(data)
            if cb.a == action and (value is None or cb.v == value):
                out.append(data)
    return out


class Person:
    """A mentee answering the questionnaire in front of them, over and over."""

    def __init__(self, h: Harness, pid: int, tg: int, rng: random.Random) -> None:
        self.h, self.pid, self.rng = h, pid, rng
        self.u: Client = h.user(tg, "Pupil", "ru")
        self.form: f.Form = h.app.dp["engine"].forms[FORM_ID]
        self.samples: list[tuple[float, float, bool]] = []  # (fed at, latency s, answered with a message)
        self.failed = 0

    async def timed(self, step: Any) -> None:
        """Feed one update; latency is until the fake accepted the last thing the bot showed this person."""
        fake = self.h.fake
        mark = len(fake.requests)
        t0 = time.monotonic()
        try:
            await step
        except Exception:
            self.failed += 1
            return
        mine = [
            r
            for r in fake.requests[mark:]
            if r.method in SHOWN and str(r.params.get("chat_id")) == str(self.u.id)
        ]
        ok = [r for r in mine if r.outcome == 200]
        if len(ok) != len(mine):
            self.failed += 1
        if ok:
            self.samples.append((t0, max(r.at for r in ok) - t0, any(r.method in PACED for r in ok)))

    async def current_key(self) -> str | None:
        async with unit_of_work(self.h.app.factory) as repos:
            r = await repos.forms.open_for(self.pid, FORM_ID)
        return r.current_key if r else None

    async def step(self) -> None:
        u, msg = self.u, self.u.last()
        key = await self.current_key()
        if key is None:  # the summary, or the list of answers to edit
            edits = form_button(msg, "k")
            if edits:
                await self.timed(u.press(self.rng.choice(edits), msg))
            else:
                await self.timed(u.press(form_button(msg, "e")[0], msg))
            return
        q = self.form.question(key)
        if q.type == f.QuestionType.SINGLE:
            await self.timed(u.press(self.rng.choice(form_button(msg, "p")), msg))
        elif q.type == f.QuestionType.MULTI:
            await self.timed(u.press(self.rng.choice(form_button(msg, "t")), msg))
            await asyncio.sleep(self.rng.uniform(*THINK) / 2)
            done = form_button(u.last(), "d")
            if done:
                await self.timed(u.press(done[0], u.last()))
        else:
            await self.timed(u.send(self.rng.choice(ANSWERS)))

    async def run(self, stop: asyncio.Event) -> None:
        await self.timed(self.u.send("/start"))  # resumes the open questionnaire
        while not stop.is_set():
            await asyncio.sleep(self.rng.uniform(*THINK))
            await self.step()


async def curator_step(action: Any) -> tuple[list[SentMessage], float]:
    """One step of the curator's conversation; returns the replies and how long the update took."""
    t0 = time.monotonic()
    out = await action
    took = time.monotonic() - t0
    await asyncio.sleep(1.2)  # the curator's chat is limited to ≈1 message/s too
    return out, took


async def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        fake = FakeTelegram(enforce_limits=False, latency=LATENCY)
        h = await Harness.start(
            make_settings(f"sqlite+aiosqlite:///{tmp}/announce.db", curator_ids=str(CURATOR)), fake
        )
        if "factory" not in h.app.dp.workflow_data:
            h.app.dp["factory"] = h.app.factory
        try:
            return await run(h, fake)
        finally:
            await h.close()


async def run(h: Harness, fake: FakeTelegram) -> int:
    app, rng = h.app, random.Random(SEED)
    load = os.getloadavg()[0]
    t = time.perf_counter()
    parents, mentees = await populate(h)
    blocked = {tg for i, tg in enumerate(parents) if i % BLOCK_EVERY == BLOCK_EVERY - 1}
    fake.blocked |= blocked
    c = await onboard_curator(h, CURATOR)
    print(f"announce benchmark: {N} parents ({len(blocked)} blocked the bot), {PEOPLE} people answering")
    print(
        f"  setup {time.perf_counter() - t:.1f} s; fake Telegram: {fake.limits.per_second}/s per bot, "
        f"{fake.limits.chat_rate:g}/s per chat, {LATENCY * 1000:.0f} ms latency; limiter "
        f"{app.settings.outbox_rate_per_second:g}/s; people think {THINK[0]:g}–{THINK[1]:g} s per update"
    )
    await asyncio.sleep(1.5)  # the curator's chat bucket refills after onboarding
    fake.enforce_limits = True

    sender = asyncio.create_task(app.sender.run(), name="outbox")
    stop = asyncio.Event()
    people = [Person(h, pid, tg, random.Random(rng.random())) for pid, tg in mentees]
    crowd = [asyncio.create_task(p.run(stop)) for p in people]
    await asyncio.sleep(3.0)  # they are busy before the curator starts

    await curator_step(c.send("/announce"))
    await curator_step(c.send(TEXT))
    replies, preview_s = await curator_step(c.click("Родителям"))
    send = next(b for m in replies for b in m.buttons() if b["text"].startswith("📣 Отправить"))
    print(f"  preview with the audience counted ({send['text']}) in {preview_s:.2f} s")
    t_confirm, cpu_confirm = time.monotonic(), time.process_time()
    await c.click(send["text"])
    confirm_s = time.monotonic() - t_confirm
    watcher = next(iter(announce.progress_tasks.values()), None)
    stuck = watcher is None
    if watcher is not None:
        try:
            await asyncio.wait_for(asyncio.shield(watcher), TIME_LIMIT)
        except TimeoutError:
            print(f"gave up after {TIME_LIMIT:.0f} s")
            stuck = True
    t_report, cpu_used = time.monotonic(), time.process_time() - cpu_confirm
    stop.set()
    await asyncio.gather(*crowd, return_exceptions=True)
    await app.sender.stop()
    sender.cancel()
    await asyncio.gather(sender, return_exceptions=True)

    parent_chats = set(parents)
    bulk = [
        r for r in fake.requests if r.method == "sendMessage" and int(r.params["chat_id"]) in parent_chats
    ]
    answered = [r for r in bulk if r.outcome in (200, 403)]
    t_last = max((r.at for r in answered), default=t_confirm)
    seconds = t_last - t_confirm
    first_to_last = t_last - min((r.at for r in answered), default=t_last)
    per_chat = Counter(int(r.params["chat_id"]) for r in bulk if r.outcome == 200)
    lost = sum(1 for tg in parents if tg not in blocked and per_chat[tg] == 0)
    duplicated = sum(1 for n in per_chat.values() if n > 1)
    wrongly_sent = sum(1 for tg in blocked if per_chat[tg])
    async with unit_of_work(app.factory) as repos:
        counts = await repos.outbox.counts()
    report = c.last().text or ""

    limit_s = N / TELEGRAM_LIMIT
    rate = len(answered) / seconds if seconds > 0 else 0.0
    ratio = limit_s / seconds if seconds > 0 else 0.0
    other_paced = [
        r
        for r in fake.requests
        if r.method in PACED
        and r.outcome == 200
        and t_confirm <= r.at <= t_last
        and int(r.params["chat_id"]) not in parent_chats
    ]
    total_rate = (len(answered) + len(other_paced)) / seconds if seconds > 0 else 0.0
    window = [s for p in people for s in p.samples if t_confirm <= s[0] <= t_last]
    with_message = [s[1] * 1000 for s in window if s[2]]
    edits_only = [s[1] * 1000 for s in window if not s[2]]
    p50, p95 = pct(with_message, 0.5), pct(with_message, 0.95)
    failed_replies = sum(p.failed for p in people)

    print(f"  Send press answered in {confirm_s * 1000:.0f} ms (audience resolved and {N} rows queued)")
    print(
        f"  time to finish: {seconds:.1f} s from the Send press to the last bulk answer "
        f"(first to last bulk request {first_to_last:.1f} s); the physical limit N/30 = {limit_s:.1f} s"
    )
    # Replies go first and share Telegram's 30/s, so with them the announcement's physical limit is
    # (N + replies) / 30: N/30 alone would need the people to be left waiting.
    shared_limit_s = (N + len(other_paced)) / TELEGRAM_LIMIT
    shared_ratio = shared_limit_s / seconds if seconds > 0 else 0.0
    print(
        f"  announcement: {rate:.2f} messages/s, {ratio:.3f} of N/30 (only an announcement with Telegram "
        f"to itself could reach 1: the replies' share leaves at most {N / (N + len(other_paced)):.3f})"
    )
    print(
        f"  against the limit with the replies that went first, (N + {len(other_paced)}) / 30 = "
        f"{shared_limit_s:.1f} s: {shared_ratio:.3f} (target {TARGET_RATIO}: "
        f"{'met' if shared_ratio >= TARGET_RATIO else 'MISSED'})"
    )
    print(
        f"  all paced sends while it ran: {total_rate:.2f}/s = {total_rate / TELEGRAM_LIMIT:.3f} of "
        f"{TELEGRAM_LIMIT:g}/s ({len(other_paced)} replies and curator messages shared the budget); "
        f"429 answers: {fake.count_429}"
    )
    print(f"  outbox statuses: {dict(sorted(counts.items()))}")
    print(f"  lost: {lost}; duplicated: {duplicated}; blocked chats that got it anyway: {wrongly_sent}")
    print("  curator's report: " + report.replace("\n", " | "))
    print(
        f"  people: {len(window)} updates while it ran; {len(with_message)} answered with a message: "
        f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {max(with_message, default=float('nan')):.0f} ms "
        f"(target p95 < {TARGET_P95_MS:.0f} ms: {'met' if p95 < TARGET_P95_MS else 'MISSED'}); "
        f"{len(edits_only)} answered by an edit only: p95 {pct(edits_only, 0.95):.0f} ms; "
        f"failed replies: {failed_replies}"
    )
    print(
        f"  this process used {cpu_used / (t_report - t_confirm):.0%} of a CPU while it ran; load average "
        f"{load:.2f} on {os.cpu_count()} CPUs before the run (a busy machine slows the sender's pacing)"
    )
    print(
        f"  the curator's report arrived {t_report - t_last:.1f} s after the last bulk answer "
        f"(the watcher looks every {announce.PROGRESS_EVERY:g} s)"
    )
    print(
        f"n={N} blocked={len(blocked)} rate={rate:.2f} seconds={seconds:.1f} limit_seconds={limit_s:.1f} "
        f"limit_ratio={ratio:.3f} shared_limit_ratio={shared_ratio:.3f} "
        f"total_ratio={total_rate / TELEGRAM_LIMIT:.3f} lost={lost} "
        f"duplicated={duplicated} errors_429={fake.count_429} replies={len(with_message)} "
        f"reply_p50_ms={p50:.0f} reply_p95_ms={p95:.0f}"
    )
    expected = f"Доставлено: {N - len(blocked)}\nНедоступны (заблокировали бота): {len(blocked)}\n"
    bad_report = expected not in report
    if bad_report:
        print("the curator's report does not match the deliveries")
    return 1 if (stuck or lost or duplicated or wrongly_sent or bad_report or failed_replies) else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
