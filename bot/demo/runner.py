"""The scenario runner of `nastavnik demo`: simulated people live a programme through the bot's chat.

The people come from a cast (bot/demo/casts/*.yaml); what the transcript tells, how long people take and how
they answer the bot's forms come from bot/demo/script.yaml. The bot runs in-process against a fake Telegram
(bot/demo/telegram.py) with a simulated clock. People only do what a person can: send text and commands,
press buttons by their visible label, answer questionnaires question by question. They react to what the bot
sends them (confirm a proposed meeting, answer "did it happen?", fill in a form) after a plausible delay; the
clock jumps to the next due moment — someone's action, a reminder the scheduler has armed, the daily scan.
A step the bot does not let them take fails the run (DemoError), it is never skipped."""

from __future__ import annotations

import asyncio
import functools
import heapq
import html
import itertools
import logging
import random
import re
import string
import time as walltime
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from logging.handlers import BufferingHandler
from pathlib import Path
from typing import Any

import yaml

from bot.callbacks.selfcheck import SelfcheckCb
from bot.demo.cast import TZ, TZ_NAME, Cast, Persona
from bot.demo.harness import Client, Harness, make_settings
from bot.demo.telegram import SEND_METHODS, FakeTelegram, SentMessage
from bot.domain.forms import Question, Register
from bot.domain.forms import QuestionType as Q
from bot.domain.programme_templates import ProgrammeTemplate, load_templates
from bot.domain.stages import STAGE_ORDER, StagePlan
from bot.i18n import Translator

CURATOR_TG = 1000
CHART_NAMES = ("funnel", "satisfaction", "kpi", "growth")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
REPORT_FILES = ("analytic-report.docx", "analytic-report.pdf")  # /report_doc
MESSAGES = "messages.txt"  # every message each person received, whole (the transcript tells them in a line)
FILES = ("export.xlsx", *(f"{name}.png" for name in CHART_NAMES), *REPORT_FILES)  # with the transcript
SCRIPT = yaml.safe_load(Path(__file__).with_name("script.yaml").read_text(encoding="utf-8"))
HOLIDAYS = set(SCRIPT["holidays"])
_LINK = re.compile(r"https://t\.me/\S+\?start=([A-Za-z0-9_-]+)")
_TAG = re.compile(r"<[^>]+>")
_CYRILLIC = {c: str(lat or "") for c, lat in SCRIPT["translit"].items()}
_LATIN = str.maketrans(_CYRILLIC | {c.upper(): lat.capitalize() for c, lat in _CYRILLIC.items()})
Action = Callable[[], Awaitable[None]]
# Transcript lines naming a pair by its number: said of a group when the mentor has several mentees.
GROUP_LINES = frozenset({"pair", "held", "feedback_all", "stage_done", "finished"})
Msg = SentMessage | None


class DemoError(RuntimeError):
    """A step of the story could not be done: the bot did not answer as a person expects."""


def plain(text: str | None) -> str:
    return html.unescape(_TAG.sub("", text or ""))


def lines_of(text: str | None) -> list[str]:
    return [x.strip() for x in plain(text).split("\n") if x.strip()]


def cut(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


@functools.cache
def pattern(locale_text: str) -> re.Pattern[str]:
    """A locale text as a regex: its placeholders become named groups (a repeated one must repeat)."""
    regex = ""
    for text, name, _, _ in string.Formatter().parse(locale_text):
        group = "" if name is None else f"(?P={name})" if f"(?P<{name}>" in regex else f"(?P<{name}>.*?)"
        regex += re.escape(text) + group
    return re.compile(regex, re.S)


@dataclass
class Person:
    persona: Persona
    client: Client
    name: str  # full name as typed, in the demo's language
    short: str  # "Anna Volkova"
    seen: int = 0  # messages of the chat already looked at
    selfchecks: list[str] = field(default_factory=list)  # the self-assessments answered: entry, exit


@dataclass
class Pair:
    no: int
    mentor: Person
    mentees: list[Person]
    late: bool = False  # waits for the bot to say the first stage is overdue
    busy: bool = False  # a meeting is being agreed or awaits feedback
    held: int = 0  # meetings held: the next one's place in the sequence
    finished: bool = False  # the mentor was told the programme is done
    missed: str | None = None  # the time of the meeting that did not take place
    confirmer: Person | None = None
    ratings: list[tuple[str, int]] = field(default_factory=list)  # the feedback on the meeting at hand

    @property
    def members(self) -> list[Person]:
        return [self.mentor, *self.mentees]


@dataclass
class DemoResult:
    out_dir: Path  # with the FILES, the transcript and the database
    transcript: Path
    database: Path
    counts: dict[str, Any]  # the totals by name (as in demo.counts.*): pairs, finished, held, feedback, …
    problems: list[str]


def _wordings(q: Question, lang: str) -> tuple[str, ...]:
    return tuple(q.text_for(lang, r) for r in Register)


class Demo:
    def __init__(self, out_dir: Path, lang: str, seed: int, echo: Callable[[str], None], cast: Cast) -> None:
        self.out_dir, self.lang, self.echo, self.cast, self.odd = out_dir, lang, echo, cast, cast.on_purpose
        self.template = load_templates()[cast.template] if cast.template else None
        self.plan = self.template.stage_plan if self.template else StagePlan()
        self.minors = self.template.minors_present if self.template else True  # pupils: the age, parents
        self.stages = [s.value for s in STAGE_ORDER for _ in range(self.plan.required_meetings(s))]
        self.db = out_dir / "demo.db"
        for suffix in ("", "-wal", "-shm", "-journal", ".outbox-journal"):
            Path(f"{self.db}{suffix}").unlink(missing_ok=True)  # a fresh programme every run
        self.t, self.rng, self.now = Translator(lang), random.Random(seed), cast.start.astimezone(UTC)
        self.latin = _LATIN if lang != "ru" else {}  # names as an English speaker spells them
        self.queue: list[tuple[datetime, int, Action]] = []
        self._seq = itertools.count()
        self.people: dict[str, Person] = {}
        self.pairs: list[Pair] = []
        self.lines: list[str] = []  # the transcript
        self.problems: list[str] = []  # remarks: the run fails
        self.paused: set[str] = set()  # who put their questionnaire aside
        self.once = dict(SCRIPT["told_once"])  # not told yet
        self.lates = {(x["pair"], x["meeting"], x["who"]): x["answers"] for x in self.odd["late_feedback"]}
        self.kinds: dict[str, int] = {}  # reminders by kind
        self.counts: dict[str, Any] = dict.fromkeys(
            ("updates", "held", "feedback", "surveys", "finals", "entry", "exit"), 0
        )
        self.next_scan = datetime.max.replace(tzinfo=UTC)  # the daily scan, once the pairs meet
        self._alerts = 0  # the bot's answers to buttons already looked at
        self.sent_at: dict[int, list[datetime]] = {}  # chat → when each of its messages came (simulated)

    # -- time and the transcript -----------------------------------------------------------------------------
    def local(self) -> datetime:
        return self.now.astimezone(TZ)

    def local_at(self, day: date, hhmm: str, days: int = 0) -> datetime:
        return datetime.combine(day + timedelta(days=days), time(*(int(x) for x in hhmm.split(":"))), TZ)

    def plain(self, *lines: str) -> None:
        self.stamp()
        for line in lines:
            self.lines.append(line)
            self.echo(line)

    def stamp(self) -> None:
        """Note the simulated time of each message Telegram got since the last look (for the dump)."""
        if not hasattr(self, "h"):
            return
        for chat_id, msgs in self.h.fake.messages.items():
            seen = self.sent_at.setdefault(chat_id, [])
            seen.extend([self.local()] * (len(msgs) - len(seen)))

    def write_messages(self) -> Path:
        """messages.txt: every message each person received, whole, with its time and buttons — what the
        transcript tells in one line each."""
        self.stamp()
        names = {p.client.id: p.name for p in self.people.values()}
        chats = sorted(
            self.h.fake.messages, key=lambda c: (c not in names, list(names).index(c) if c in names else c)
        )
        total = sum(len(self.h.fake.messages[c]) for c in chats)
        out = [self.t("demo.messages_header", count=total)]
        for chat_id in chats:
            out += ["", self.t("demo.messages_person", who=names.get(chat_id, str(chat_id)))]
            for m, at in zip(self.h.fake.messages[chat_id], self.sent_at.get(chat_id, []), strict=False):
                body = plain(m.text) or (m.document or {}).get("filename", "") or m.method
                if m.document and m.text:
                    body = f"[{m.document.get('filename', '')}] {body}"
                lines = body.split("\n")
                out.append(f"{at:%d.%m.%Y %H:%M}  {lines[0]}")
                out += [" " * 18 + line for line in lines[1:]]
                if buttons := [b["text"] for b in m.buttons()]:
                    out.append(" " * 18 + f"[{self.t('demo.messages_buttons')}: {' | '.join(buttons)}]")
        path = self.out_dir / MESSAGES
        path.write_text("\n".join(out) + "\n", encoding="utf-8")
        return path

    def say(self, key: str, **params: Any) -> None:
        if key in GROUP_LINES and len(self.pairs[params["id"] - 1].mentees) > 1:
            key += "_group"  # a mentor with several mentees leads a group, not a pair
        self.plain(f"{self.local():%d.%m %H:%M} {self.t('demo.' + key, **params)}")

    def block(self, lines: Iterable[str]) -> None:
        self.plain(*(" " * 13 + line for line in lines))  # under a timed line

    def names(self, names: list[str], most: int) -> str:
        shown = ", ".join(names[:most])
        return shown if len(names) <= most else self.t("demo.bot_to_many", names=shown, n=len(names) - most)

    def typed(self, key: str) -> str:
        """What a person types: the template's cast's own text if it has one, else the school demo's."""
        own = f"demo.say.by_template.{self.cast.template}.{key}"
        return self.t(own) if self.cast.template and self.t.has(own) else self.t(f"demo.say.{key}")

    def at(self, when: datetime, action: Action) -> None:
        heapq.heappush(self.queue, (when.astimezone(UTC), next(self._seq), action))

    def soon(self, what: str, action: Action) -> None:
        """``action`` when a person gets round to it (script.yaml: delays), not at night."""
        moment = (self.now + timedelta(minutes=self.rng.randint(*SCRIPT["delays"][what]))).astimezone(TZ)
        if moment.hour >= 22 or moment.hour < 8:
            moment = self.local_at(moment.date(), f"08:{self.rng.randint(5, 55):02d}", int(moment.hour >= 22))
        self.at(moment, action)

    def reads(self, key: str, text: str | None) -> dict[str, str] | None:
        """The parameters of a bot text when ``text`` is the locale text ``key`` (or its «ты» wording, which a
        pupil reads), else None."""
        for k in (key, f"{key}_ty"):
            if self.t.has(k) and (m := pattern(self.t(k)).match(plain(text))):
                return m.groupdict()
        return None

    def answers(self, form: str, **more: Any) -> dict[str, Any]:
        """How a person answers a form (script.yaml: a list is a choice among its items, say.X a text)."""
        chosen = {k: self.rng.choice(v) if type(v) is list else v for k, v in SCRIPT["answers"][form].items()}
        return chosen | {k: self.typed(v[4:]) for k, v in chosen.items() if str(v).startswith("say.")} | more

    # -- the app ---------------------------------------------------------------------------------------------
    async def start(self) -> None:
        me = {"curator_ids": str(CURATOR_TG), "default_language": self.lang, "timezone": TZ_NAME}
        settings = make_settings(f"sqlite+aiosqlite:///{self.db}", **me, **SCRIPT["settings"])
        self.h = (await Harness.start(settings, FakeTelegram(), clock=lambda: self.now)).unpaced()
        self.forms, feed = self.h.app.dp["engine"].forms, self.h.feed
        self.titles = {key: form.title.get(self.lang) for key, form in self.forms.items()}

        async def counted(update: dict[str, Any]) -> None:
            self.counts["updates"] += 1
            await feed(update)

        self.h.feed = counted  # type: ignore[method-assign]

    def person(self, persona: Persona, tg: int) -> Person:
        name = persona.name.translate(self.latin)
        last, first = name.split()[:2]
        client = self.h.user(tg, first, self.lang)
        return self.people.setdefault(persona.key, Person(persona, client, name, f"{first} {last}"))

    def option(self, question: Any, value: Any) -> str:
        return question.option(value).text.get(self.lang)

    def button(self, c: Client, label: str, msg: Msg = None, **how: Any) -> tuple[SentMessage, dict] | None:
        """The button a person sees as ``label`` on ``msg``, else on the newest message that has it; with
        ``after``, the first such after the button labelled so; with ``prefix``, a label that starts so."""
        for m in [msg] if msg else reversed(self.h.fake.delivered_to(c.id)):
            found = how.get("after") is None
            for b in m.buttons():
                hit = b["text"].startswith(label) if how.get("prefix") else b["text"] == label
                if found and hit and "callback_data" in b:
                    return m, b
                found = found or b["text"] == how.get("after")
        return None

    async def tap(self, c: Client, label: str, msg: Msg = None, **how: Any) -> list[SentMessage]:
        if (found := self.button(c, label, msg, **how)) is None:
            raise DemoError(f"no button “{label}” under “{plain((msg or c.last()).text)[:80]}”")
        return await c.press(found[1]["callback_data"], found[0])

    # -- the clock -------------------------------------------------------------------------------------------
    async def run_until(self, end: datetime, *, until_done: bool = False) -> None:
        """Move the clock from one due moment to the next — a reminder the scheduler armed, someone's action,
        the daily scan — until ``end`` (or, ``until_done``, until the pairs are done and nobody has more
        to do)."""
        end, stalled = end.astimezone(UTC), 0
        while self.now < end and not (until_done and not self.queue and all(p.finished for p in self.pairs)):
            jobs = [j for j in self.h.app.scheduler.get_jobs() if j.id.startswith("reminders:")]
            due = [(j, w) for j in jobs if (w := j.trigger.get_next_fire_time(None, self.now))]
            moments = [end, self.next_scan, *(w for _, w in due), *(q[0] for q in self.queue[:1])]
            nxt = max(self.now, min(moments))
            stalled = stalled + 1 if nxt == self.now else 0
            if stalled > 50:
                raise DemoError(f"the simulation is stuck at {self.local():%d.%m.%Y %H:%M}")
            self.stamp()  # what came so far came before the clock moves on
            self.now = nxt
            if self.now >= self.next_scan:
                await self.h.app.jobs.hourly_scan()  # once a simulated day: more often it has nothing new
                self.next_scan += timedelta(days=1)
            for job in (job for job, when in due if when <= self.now):  # what the scheduler would do then
                job.remove()
                await job.func(*job.args)
            await self.pump()
            while self.queue and self.queue[0][0] <= self.now:
                await heapq.heappop(self.queue)[2]()
                await self.pump()
            self.plan_pairs()

    # -- what the bot sent: tell it and let people react -----------------------------------------------------
    async def pump(self) -> None:
        refusals = {self.t(k) for k in SCRIPT["refusals"]}
        for r in self.h.fake.requests[self._alerts :]:
            if r.method == "answerCallbackQuery" and (text := r.params.get("text")) in refusals:
                self.problems.append(f"{self.local():%d.%m.%Y %H:%M} a button was refused: {text}")
                self.say("problem", text=f"a button was refused: {text}")
        self._alerts = len(self.h.fake.requests)
        await self.h.deliver_outbox()
        told: dict[str, tuple[list[str], list[str]]] = {}  # a line → who got it, the lines under it
        for p in list(self.people.values()):
            msgs = self.h.fake.delivered_to(p.client.id)
            fresh, p.seen = msgs[p.seen :], len(msgs)
            for msg in fresh:
                self.tell(p, msg, told)
                self.react(p, msg)
        for line, (names, details) in told.items():
            self.say("bot_to", who=self.names(names, 3), text=line)
            self.block(details)

    def tell(self, p: Person, msg: SentMessage, told: dict[str, tuple[list[str], list[str]]]) -> None:
        text = plain(msg.text)
        first = cut(text.strip().split("\n")[0], 110)
        for key in [k for k in self.once if self.reads(k, first)]:
            told.setdefault(first + self.t(f"demo.{self.once.pop(key)}"), ([], []))[0].append(p.short)
        if key := next((k for k in SCRIPT["told"] if self.reads(k, text)), None):
            details = lines_of(text)[1:] if key in SCRIPT["told_in_full"] else []
            told.setdefault(first, ([], details))[0].append(p.short)
            if key.startswith("meeting.remind."):
                kind = self.reminder_kind(key, self.reads(key, text) or {})
                self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def moment(self, when: str) -> datetime:
        """A meeting's time as the bot writes it ("17 сентября, четверг, 15:30", with the year when it is not
        this one's; or "17.09.2026 15:30"), in the demo's zone: the nearest such moment to now."""
        if m := re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4}) (\d{1,2}):(\d{2})", when.strip()):
            return datetime(int(m[3]), int(m[2]), int(m[1]), int(m[4]), int(m[5]), tzinfo=TZ)
        months = {self.t(f"grammar.month_of.{n}"): n for n in range(1, 13)}
        day = re.search(r"(\d{1,2}) (\w+)", when) or re.search(r"(?P<m>[^\W\d]+) (?P<d>\d{1,2})\b", when)
        if day is not None and day.re.groupindex:  # English writes the month first: "September 17"
            day = re.search(rf"({day['d']}) ({day['m']})", f"{day['d']} {day['m']}")
        clock = re.search(r"(\d{1,2}):(\d{2})", when)
        year = re.search(r"\b(\d{4})\b", when)
        if day is None or clock is None or day[2] not in months:
            raise DemoError(f"cannot read the meeting time “{when}”")
        moments = [
            datetime(y, months[day[2]], int(day[1]), int(clock[1]), int(clock[2]), tzinfo=TZ)
            for y in (
                [int(year[1])] if year else [self.local().year - 1, self.local().year, self.local().year + 1]
            )
        ]
        return min(moments, key=lambda x: abs(x - self.now))

    def reminder_kind(self, key: str, params: dict[str, str]) -> str:
        """before_24h, feedback_3d, …: what a reminder is, as its reader sees it."""
        kind, when = key.rsplit(".", 1)[1], params.get("when")
        if kind not in ("before", "feedback") or not when:
            return kind
        hours = (self.moment(when) - self.now) / timedelta(hours=1)
        return f"before_{round(hours)}h" if kind == "before" else f"feedback_{max(1, round(-hours / 24))}d"

    def react(self, p: Person, msg: SentMessage) -> None:
        t, c, pair = self.t, p.client, next((x for x in self.pairs if p in x.members), None)
        if pair is None:
            return
        late = self.lates.get((pair.mentor.persona.key, pair.held, p.persona.key))  # on purpose
        if pair.confirmer is p and self.button(c, t("meeting.btn.confirm"), msg):
            pair.confirmer = None
            self.soon("confirm", lambda: self.confirm(p, msg))
        elif (m := self.reads("meeting.remind.after_check", msg.text)) and not late:  # late: the reminder
            missed = self.odd["missed"] == {"pair": pair.mentor.persona.key, "meeting": pair.held}
            if missed and pair.missed in (None, m["when"]):
                pair.missed = m["when"]  # the first time round it did not take place; the mentor says so
                if p is pair.mentor:
                    self.at(self.now + timedelta(minutes=20), lambda: self.missed(pair, p, msg))
            else:
                self.soon("feedback", lambda: self.feedback(pair, p, msg))
        elif (m := self.reads("meeting.remind.feedback", msg.text)) is not None:
            if late == self.reminder_kind("meeting.remind.feedback", m):
                self.soon("late_feedback", lambda: self.feedback(pair, p, msg, late=True))
        elif self.reads("meeting.overdue_pair", msg.text) and p is pair.mentor:
            pair.late = False
        elif (found := self.button(c, t("selfcheck.button"), msg)) is not None:
            # the entry one after the pairing (again before the trial), the exit one with the final survey
            moment = SelfcheckCb.unpack(found[1]["callback_data"]).m.value
            if moment not in p.selfchecks:
                p.selfchecks.append(moment)
                self.soon("selfcheck", lambda: self.selfcheck(p, msg, moment))
        elif self.button(c, t("dashboard.survey_button"), msg):  # the late one answers the reminder
            key, reminder = p.persona.key, bool(self.reads("dashboard.survey_reminder", msg.text))
            if key != self.odd["survey_never"] and (key == self.odd["survey_late"]) == reminder:
                self.soon("survey", lambda: self.survey(p, msg))
        elif self.button(c, t("completion.btn.final_survey"), msg):
            if p is pair.mentor:
                pair.finished = True
                self.say("finished", id=pair.no)
            self.soon("final_survey", lambda: self.final_survey(p, msg))
        elif (m := self.reads("meeting.stage_done_next", msg.text)) and p is pair.mentor:
            self.say("stage_done", id=pair.no, stage=m["stage"], next=m["next"])

    # -- questionnaires, answered in the chat ----------------------------------------------------------------
    async def fill(self, p: Person, form_id: str, answers: dict[str, Any], stop_after: int = 99) -> bool:
        """Answer the questions the bot asks in the chat, one by one, from ``answers`` (a question not there
        is skipped, or fails the run if it may not be), and send the form: False if they stopped after
        ``stop_after`` questions."""
        t, c, form, title = self.t, p.client, self.forms[form_id], self.titles[form_id]
        for asked in range(80):
            msg = c.last()
            if self.button(c, t("forms.button.confirm"), msg):
                await self.tap(c, t("forms.button.confirm"), msg)
                return True
            lines = [*(msg.text or "").split("\n"), "", ""]
            # A pupil is asked a pair's survey in «ты» (a question's text_ty), others in the form's words.
            q = next((q for q in form.questions if lines[2] in _wordings(q, self.lang)), None)
            if not lines[0].startswith(title) or q is None:
                raise DemoError(f"{p.short}: “{title}” is not going on: “{plain(msg.text)[:90]}”")
            if asked >= stop_after:
                return False
            if (value := answers.get(q.key)) is None and q.required:
                raise DemoError(f"{p.short}: no answer to “{q.key}” of “{title}” in the demo's data")
            if value is None:
                labels = [t("forms.button.skip")]
            elif q.type == Q.SINGLE:
                labels = [self.option(q, value)]
            elif q.type == Q.MULTI:
                ticks = [f"▫️ {self.option(q, v)}" for v in value]
                labels = [*(x for x in ticks if self.button(c, x, msg)), t("forms.button.done")]
            elif q.type in (Q.SCALE, Q.YESNO):
                labels = [str(value) if q.type == Q.SCALE else t(f"forms.button.{'yes' if value else 'no'}")]
            else:
                labels = []
                await c.send(str(value))
            for label in labels:
                await self.tap(c, label)
        raise DemoError(f"{p.short}: “{title}” never ended")

    def summary(self, form_id: str, answers: dict[str, Any]) -> str:
        form = self.forms[form_id]
        areas = ", ".join(self.option(form.question("areas"), v) for v in answers.get("areas") or [])
        fmt = self.option(form.question("format"), answers.get("format", "any")).lower()
        extra = f"; {self.t('demo.capacity', n=answers['capacity'])}" if "capacity" in answers else ""
        return f"{areas}; {fmt}{extra}"

    async def intake(self, p: Person, *, resume: bool = False) -> None:
        key = p.persona.key
        if resume:
            await p.client.send("/start")
            if key in self.paused:
                self.say("form_resumed", who=p.short)
        own = [q for q in SCRIPT["typed"] if self.t.has(f"demo.say.{q}.{key}")]
        answers = p.persona.answers | {q: self.typed(f"{q}.{key}") for q in own}
        mentee_form = self.template.mentee_form if self.template else "mentee_needs"
        form = "mentor" if p.persona.role == "mentor" else mentee_form
        stop = 3 if key == self.odd["pauses_form"] and key not in self.paused else 99
        if not await self.fill(p, form, answers, stop_after=stop):
            self.paused.add(key)
            return self.say("form_paused", who=p.short, n=stop)
        self.say("form_done", who=p.short, title=self.titles[form], summary=self.summary(form, answers))

    # -- onboarding ------------------------------------------------------------------------------------------
    async def sign_up(self, p: Person, token: str = "") -> None:
        """How everyone joins: /start (with the invitation), consent, the full name."""
        await p.client.send(f"/start {token}".strip())
        await self.tap(p.client, self.t("consent.accept"))
        await p.client.send(p.name)

    async def create_programme(self, tpl: ProgrammeTemplate) -> None:
        """/programme → a new programme from a template → the template → Create."""
        c, t = self.curator.client, self.t
        await c.send("/programme")
        await self.tap(c, t("programmes.btn.new"))
        offer = plain((await self.tap(c, tpl.title_for(self.lang)))[-1].text)
        created = self.reads("programmes.created", (await self.tap(c, t("programmes.btn.create")))[-1].text)
        if created is None:
            raise DemoError(f"the programme was not created from the template {tpl.id!r}")
        self.say("programme", title=created["title"], template=tpl.title_for(self.lang), id=tpl.id)
        self.block(x.strip() for x in offer.split("\n\n")[0].split("\n")[1:])

    async def invite(self, role: str) -> str:
        await self.curator.client.send("/invite")
        m = _LINK.search((await self.tap(self.curator.client, self.t(f"roles.{role}")))[-1].text or "")
        if m is None:
            raise DemoError("the invitation has no link")
        self.say("invite_link", role=self.t(f"roles.{role}"))
        return m.group(1)

    async def join(self, p: Person, token: str) -> None:
        c, t, persona = p.client, self.t, p.persona
        await self.sign_up(p, token)
        # a pupil's class like 8Б as it is; a mentor's position, a working adult's group in words
        detail = persona.group.translate(self.latin) or self.typed(f"detail.{persona.key}")
        await c.send(detail)
        if self.minors:  # the age: "18 or older?"
            await self.tap(c, t("common.no") if persona.minor else t("common.yes"))
        self.say("joins", who=p.short, role=t(f"roles.{persona.role}"), detail=detail)
        if not persona.minor:
            return await self.intake(p)
        if (m := _LINK.search(c.last().text or "")) is None:
            raise DemoError(f"{p.short}: no link for the parent")
        self.say("minor_waits", who=p.short)
        parent = self.person(Persona(f"parent.{persona.key}", persona.parent, "parent"), c.id + 1000)
        self.soon("parent_joins", lambda: self.parent_joins(parent, p, m[1]))

    async def parent_joins(self, parent: Person, child: Person, token: str) -> None:
        await self.sign_up(parent, token)
        self.say("parent_joins", who=parent.short, child=child.short)
        self.soon("child_resumes", lambda: self.intake(child, resume=True))

    async def questionnaires(self) -> None:
        c = self.curator.client
        counts = next((x for m in await c.send("/questionnaires") for x in lines_of(m.text) if "·" in x), "")
        self.say("questionnaires", counts=counts)
        p = self.people[self.odd["pauses_form"]]
        await self.tap(c, self.t("questionnaire.nudge", name=p.name))
        self.say("nudge_form", who=p.short)
        self.soon("nudged", lambda: self.intake(p, resume=True))

    async def mentor_base(self) -> None:
        c, t = self.curator.client, self.t
        who = self.people[self.odd["late_pair"]]
        after = t("mentor_base.btn.view", name=who.name)
        await self.tap(c, t("mentor_base.btn.interview"), (await c.send("/mentors"))[-1], after=after)
        await c.send(f"{self.local():%d.%m.%Y}")
        await c.send(note := self.typed("interview_note"))
        self.say("interview", who=who.short, note=note)
        listing = (await c.send("/mentors"))[-1]
        for p in (self.people[m.key] for m in self.cast.mentors):
            after = t("mentor_base.btn.view", name=p.name)
            await self.tap(c, t("mentor_base.btn.approve"), listing, after=after)
            self.say("approved", who=p.short)

    # -- matching --------------------------------------------------------------------------------------------
    async def match(self) -> None:
        """/match → approve all; each mentor learns from the bot whom they mentor: the pairs people know. A
        mentee the matching leaves alone fails the run (each cast is made to fit its programme)."""
        c, t = self.curator.client, self.t
        replies = await c.send("/match")
        approve = t("matching.approve_all", count="").split("(")[0]
        page = next((m for m in replies if self.button(c, approve, m, prefix=True)), None)
        if page is None:
            raise DemoError("/match proposed nothing: " + plain(replies[-1].text)[:100])
        self.say("match", count=sum(1 for b in page.buttons() if b["text"].startswith("✅ ")))
        self.block(lines_of(page.text)[1:])
        await self.tap(c, approve, page, prefix=True)
        self.say("approve_all")
        await self.pump()
        for mentor in (self.people[m.key] for m in self.cast.mentors):
            said = " ".join(plain(x.text) for x in self.h.fake.delivered_to(mentor.client.id))
            if mentees := [self.people[x.key] for x in self.cast.mentees if self.people[x.key].name in said]:
                late = mentor.persona.key == self.odd["late_pair"]
                self.pairs.append(Pair(len(self.pairs) + 1, mentor, mentees, late))
                names = ", ".join(x.short for x in mentees)
                self.say("pair", id=len(self.pairs), mentor=mentor.short, mentees=names)
        if sum(len(pair.mentees) for pair in self.pairs) < len(self.cast.mentees):
            raise DemoError(f"the matching left mentees without a mentor: {len(self.pairs)} pairs")
        self.paired_on = self.local().date()
        await c.send(f"/population {self.cast.population}")  # coverage is counted against it
        self.say("population", n=self.cast.population)

    # -- meetings --------------------------------------------------------------------------------------------
    def slot(self, pair: Pair, earliest: datetime) -> datetime:
        for d in (earliest.astimezone(TZ).date() + timedelta(days=i) for i in range(60)):
            times = [self.local_at(d, hhmm) for wd, hhmm in pair.mentor.persona.slots if d.weekday() == wd]
            if times := [x for x in times if x >= earliest and d not in HOLIDAYS]:
                return min(times)
        raise DemoError(f"no slot for pair #{pair.no}")

    def plan_pairs(self) -> None:
        """A pair whose last meeting is all done agrees on the next one (as people would, in person)."""
        for pair in (x for x in self.pairs if not (x.busy or x.late or x.held >= len(self.stages))):
            aim = self.local_at(self.paired_on, "00:00", self.cast.meeting_days[pair.held])
            when = self.slot(pair, max(aim, self.now + timedelta(days=2)))
            at = self.local_at(when.date(), "19:00", -4) + timedelta(minutes=self.rng.randint(0, 90))
            pair.busy = True
            self.at(max(at, self.now + timedelta(hours=2)), functools.partial(self.propose, pair, when))

    def stage_name(self, pair: Pair) -> str:
        return self.t(f"meetings.stage.{self.stages[pair.held]}")

    async def propose(self, pair: Pair, when: datetime, *, asked: bool = False) -> None:
        n, t, mentor = pair.held, self.t, pair.mentor
        two = [mentor, pair.mentees[(n // 2) % len(pair.mentees)]]  # they take turns to propose
        proposer, confirmer = two[::-1] if n % 2 and not asked else two
        c, fmt, at = proposer.client, mentor.persona.meet, f"{when.astimezone(TZ):%d.%m.%Y %H:%M}"
        if not asked:
            await c.send("/meeting")
        await c.send(at)
        await self.tap(c, t(f"meeting.format.{fmt}"))
        online = f"https://meet.example.org/{mentor.persona.key}"
        place = self.typed("place_offline") if fmt == "offline" else online
        if not self.reads("meeting.proposal_sent", (await c.send(place))[-1].text):
            raise DemoError(f"{proposer.short}: the proposal was not sent: {plain(c.last().text)[:100]}")
        pair.confirmer = confirmer
        whom = self.names([m.short for m in pair.members if m is not proposer], 2)
        fmt, stage = t(f"meeting.format.{fmt}").lower(), self.stage_name(pair)
        self.say("proposes", who=proposer.short, whom=whom, stage=stage, when=at[:5] + at[10:], fmt=fmt)

    async def confirm(self, p: Person, msg: SentMessage) -> None:
        m = self.reads("meeting.proposed_to_you", msg.text) or {"stage": "", "when": ""}
        await self.tap(p.client, self.t("meeting.btn.confirm"), msg)
        self.say("confirms", who=p.short, stage=m["stage"], when=m["when"][:5] + m["when"][10:])

    async def missed(self, pair: Pair, mentor: Person, msg: SentMessage) -> None:
        await self.tap(mentor.client, self.t("meeting.btn.held_no"), msg)
        self.say("missed", who=mentor.short, stage=self.stage_name(pair))
        await self.propose(pair, self.slot(pair, self.now + timedelta(days=3)), asked=True)

    async def feedback(self, pair: Pair, p: Person, msg: SentMessage, late: bool = False) -> None:
        """Yes to "did the meeting take place?" (when late: the reminder's button) and the feedback form."""
        stage, got = self.stages[pair.held], pair.ratings
        await self.tap(p.client, self.t("meeting.btn.feedback" if late else "meeting.btn.held_yes"), msg)
        if not got and not late:
            self.say("held", id=pair.no, stage=self.stage_name(pair), who=p.short)
        form = "first_meeting_feedback" if stage == "introduction" else "meeting_feedback"
        answers = self.answers(form, done=self.typed(f"done.{stage}"))
        answers["goals_progress"] = "yes" if answers["rating"] == 5 else "partly"  # partly: the obstacles
        answers["next_steps"] = self.typed("next_steps") if self.rng.random() < 0.5 else None
        await self.fill(p, "meeting_feedback", answers)
        self.counts["feedback"] += 1
        if late:
            self.say("feedback_late", who=p.short, rating=answers["rating"])
        got.append((p.short, answers["rating"]))
        if p is pair.mentor and self.t("meeting.goals_prompt") in (p.client.last().text or ""):
            for goal in (self.typed(f"goal.{p.persona.key}"), self.typed(f"goal_more.{p.persona.key}")):
                await p.client.send(goal)
                self.say("goal", who=p.short, goal=goal)
            await p.client.send("/cancel")
        if len(got) == len(pair.members):
            ratings = ", ".join(f"{who} {r}" for who, r in got)
            self.say("feedback_all", id=pair.no, stage=self.stage_name(pair), ratings=ratings)
            pair.held, pair.busy, pair.ratings = pair.held + 1, False, []
            self.counts["held"] += 1

    # -- the curator's part during the year, the surveys -----------------------------------------------------
    async def digest(self) -> None:
        self.say("digest_run")
        await self.h.app.jobs.daily_digest()
        await self.pump()
        labels = [self.t(f"meeting.btn.open_{word}", id="").rstrip() for word in ("pair", "group")]
        c = self.curator.client
        label = next((x for x in labels if self.button(c, x, prefix=True)), labels[0])
        card = (await self.tap(c, label, prefix=True))[-1].text
        opened = self.reads("meeting.pair_card", card) or self.reads("meeting.group_card", card)
        if opened is None:
            raise DemoError(f"“{label}” opened no pair: {plain(card)[:100]}")
        self.say("open_pair", id=opened["id"], text=" ".join(x.strip() for x in plain(card).split("\n")[1:]))

    async def announce(self) -> None:
        c, t = self.curator.client, self.t
        await c.send("/announce")
        audience = "parents" if self.minors else "mentees"
        await c.send(text := self.typed("announcement"))
        await self.tap(c, t(f"announce.audience_btn.{audience}"))
        self.say(f"announce_{audience}", text=cut(text, 70))
        await self.tap(c, t("announce.send_btn", count="").split("(")[0], prefix=True)
        for _ in range(120):  # the delivery report comes when the batch is out (the bot checks every 2 s)
            await self.pump()
            sent = self.h.fake.delivered_to(c.id)
            if report := next((m for m in sent if self.reads("announce.report", m.text)), None):
                break
            await asyncio.sleep(0.25)
        else:
            raise DemoError("the announcement's delivery report never came")
        self.counts["announced"] = int(self.reads("announce.report", report.text)["delivered"])
        self.say("announce_report", text=" · ".join(lines_of(report.text))[:160])

    async def survey(self, p: Person, msg: SentMessage) -> None:
        await self.tap(p.client, self.t("dashboard.survey_button"), msg)
        answers = self.answers("intermediate", has_problems=p.persona.key == self.odd["survey_problem"])
        await self.fill(p, "intermediate", answers)
        self.counts["surveys"] += 1
        self.say("survey_done", who=p.short, score=answers["satisfaction"])

    async def selfcheck(self, p: Person, msg: SentMessage, moment: str) -> None:
        """The self-assessment: modest at the start, higher at the end (the story of a year that helped)."""
        await self.tap(p.client, self.t("selfcheck.button"), msg)
        first = (p.client.last().text or "").split("\n")[0]
        form_id = next(
            (k for k, title in self.titles.items() if k.startswith("selfcheck_") and first.startswith(title)),
            None,
        )
        if form_id is None:
            raise DemoError(f"{p.short}: the self-assessment did not open: “{plain(first)[:80]}”")
        scale = [2, 3, 3, 4] if moment == "entry" else [4, 4, 5, 3]
        answers: dict[str, Any] = {}
        for q in self.forms[form_id].questions:
            if q.type == Q.SCALE:
                answers[q.key] = self.rng.choice(scale)
            elif q.type == Q.SINGLE:
                answers[q.key] = self.rng.choice(q.options).value
        await self.fill(p, form_id, answers)
        self.counts[moment] += 1
        scored = [v for k, v in answers.items() if self.forms[form_id].question(k).type == Q.SCALE]
        mean = f"{sum(scored) / len(scored):.1f}"
        self.say(
            f"selfcheck_{moment}", who=p.short, mean=mean.replace(".", ",") if self.lang == "ru" else mean
        )

    async def final_survey(self, p: Person, msg: SentMessage) -> None:
        t, c, key = self.t, p.client, p.persona.key
        await self.tap(c, t("completion.btn.final_survey"), msg)
        answers = self.answers("final", role=p.persona.role, would_mentor=key in self.odd["alumni"])
        answers["growth"] = [o.value for o in self.forms["final"].question("growth").options[:2]]
        await self.fill(p, "final", answers)
        self.counts["finals"] += 1
        self.say("final_done", who=p.short, score=answers["satisfaction"])
        if key not in self.odd["alumni"]:  # the bot offers the mentees who would mentor to become mentors
            return
        if key != self.odd["alumni"][0]:  # the others: "not now"
            await self.tap(c, t("completion.btn.not_now"))
            return self.say("alumni_no", who=p.short)
        await self.tap(c, t("completion.btn.become_mentor"))
        self.say("alumni_yes", who=p.short)
        await self.fill(p, "mentor", answers := self.answers("alumni"))
        summary = self.summary("mentor", p.persona.answers | answers)
        self.say("form_done", who=p.short, title=self.titles["mentor"], summary=summary)

    # -- the end: dashboard, export, charts, the totals ------------------------------------------------------
    async def results(self) -> None:
        c = self.curator.client
        self.say("dashboard")
        self.block(plain((await c.send("/dashboard"))[-1].text).split("\n"))
        await c.send("/export")
        await self.tap(c, self.t("reports.export.xlsx"))
        sent = [m for m in self.h.fake.delivered_to(c.id) if m.method == "sendDocument" and m.document][-1:]
        sent += [m for m in await c.send("/report") if m.method == "sendPhoto" and m.document]
        await c.send("/swot")  # the curator's SWOT of the programme, for the monitoring and the report
        await self.fill(self.curator, "swot", self.answers("swot"))
        self.say("swot_done", who=self.curator.short)
        replies = await c.send("/report_doc")
        if replies and replies[-1].buttons():  # several school years: the latest
            replies = await c.press(replies[-1].buttons()[0]["callback_data"], replies[-1])
        sent += [m for m in replies if m.method == "sendDocument" and m.document]
        if len(sent) < len(FILES):
            raise DemoError(f"/export and /report sent {len(sent)} files, expected {len(FILES)}")
        for name, m in zip(FILES, sent, strict=False):
            (self.out_dir / name).write_bytes(m.document["data"])
        self.say("export", file=FILES[0])
        self.say("report", files=", ".join(f"{name}.png" for name in CHART_NAMES))
        self.say("report_doc", files=", ".join(REPORT_FILES))

    def totals(self, started: float) -> DemoResult:
        """The totals at the end of the transcript (script.yaml: totals); the transcript written."""
        t, order, roles = self.t, SCRIPT["reminder_kinds"], [p.persona.role for p in self.people.values()]
        kinds = sorted(self.kinds, key=lambda k: (order.index(k) if k in order else 99, k))
        kinds_text = ", ".join(f"{t(f'demo.kind.{k}') if k in order else k} {self.kinds[k]}" for k in kinds)
        tpl = self.template
        counts = self.counts | {f"{role}s": roles.count(role) for role in ("mentor", "mentee", "parent")}
        counts |= {"people": len(roles), "days": (self.local().date() - self.cast.start.date()).days}
        counts |= {"seconds": f"{walltime.monotonic() - started:.0f}", "problems": len(self.problems)}
        counts["messages"] = sum(r.method in SEND_METHODS and r.outcome == 200 for r in self.h.fake.requests)
        counts |= {"sent": sum(self.kinds.values()), "kinds": f" — {kinds_text}" if kinds_text else ""}
        counts |= {"pairs": len(self.pairs), "finished": sum(p.finished for p in self.pairs)}
        counts["files"] = ", ".join(str(self.out_dir / name) for name in (*FILES, "transcript.txt", MESSAGES))
        counts |= {"title": tpl and tpl.title_for(self.lang), "template": tpl and tpl.id}
        lines = [t(f"demo.counts.{key}", **counts) for key in SCRIPT["totals"] if key != "programme" or tpl]
        self.plain("", *lines, *(f"  ⚠ {text}" for text in self.problems))
        (self.out_dir / "transcript.txt").write_text("\n".join(self.lines) + "\n", encoding="utf-8")
        self.write_messages()
        return DemoResult(self.out_dir, self.out_dir / "transcript.txt", self.db, counts, self.problems)

    # -- the story -------------------------------------------------------------------------------------------
    async def meetings(self) -> None:
        """From the pairing to the last final survey: the pairs meet, the scheduler scans once a day."""
        self.plain("", self.t("demo.section.meetings"))
        self.next_scan = self.local_at(self.paired_on, "10:00", 1).astimezone(UTC)
        first, last = (self.plan.deadline_for(s, self.paired_on) for s in (STAGE_ORDER[0], STAGE_ORDER[-1]))
        self.at(self.local_at(first, "09:00", 2), self.digest)  # the first stage overdue for the late pair
        self.at(self.local_at(self.paired_on, "12:00", 21), self.announce)
        await self.run_until(self.local_at(last, "10:00", 20), until_done=True)
        await self.run_until(self.now + timedelta(days=4))  # the last final surveys come in
        for pair in (x for x in self.pairs if not x.finished):
            raise DemoError(f"pair #{pair.no} never finished: {pair.held} meetings of {len(self.stages)}")
        if self.counts["finals"] != (members := sum(len(p.members) for p in self.pairs)):
            raise DemoError(f"final surveys: {self.counts['finals']} of {members} people filled one in")

    async def run(self, quick: bool) -> DemoResult:
        started, t, tpl, day0 = walltime.monotonic(), self.t, self.template, self.cast.start.date()
        own, title = ("", "") if tpl is None else ("_template", tpl.title_for(self.lang))
        self.plain(t(f"demo.header{own}", template=tpl and tpl.id, title=title))
        self.plain(t(f"demo.header_clock{own}", start=f"{self.cast.start:%d.%m.%Y %H:%M}"))
        self.plain("", self.t("demo.section.onboarding"))
        self.curator = self.person(Persona("curator", self.typed("curator_name"), "curator"), CURATOR_TG)
        await self.sign_up(self.curator)
        self.say("curator_joins", who=self.curator.short)
        if tpl is not None:
            await self.create_programme(tpl)
        self.now = self.local_at(day0, "09:20").astimezone(UTC)
        links = {role: await self.invite(role) for role in ("mentor", "mentee")}
        for role, personas in (("mentor", self.cast.mentors), ("mentee", self.cast.mentees)):
            for i, persona in enumerate(personas):
                p = self.person(persona, (2001 if role == "mentor" else 3001) + i)
                days, hour = (0, 12 + 2 * i) if role == "mentor" else (1 + i // 5, 15 + i % 5)
                when = self.local_at(day0, f"{hour}:{self.rng.randint(0, 59):02d}", days)
                self.at(when, lambda p=p, role=role: self.join(p, links[role]))
        self.at(self.local_at(day0, "10:30", 6), self.questionnaires)
        await self.run_until(self.local_at(day0, "11:00", 7))
        self.plain("", self.t("demo.section.mentor_base"))
        await self.mentor_base()
        await self.pump()
        await self.run_until(self.local_at(day0, "11:00", 9))
        self.plain("", self.t("demo.section.matching"))
        await self.match()
        if not quick:
            await self.meetings()
        self.plain("", self.t("demo.section.results"))
        self.now = max(self.now, self.local_at(self.local().date(), "10:00", 1).astimezone(UTC))
        await self.results()
        return self.totals(started)


async def run_logged(demo: Any, go: Callable[[], Awaitable[Any]], echo: Callable[[str], None]) -> Any:
    """Start ``demo``, run ``go`` and close the demo's bot; every ERROR the bot logged meanwhile becomes a
    remark of the result (``problems``, and a line of its transcript): a demo that made the bot log an
    error has not passed."""
    catcher, root = BufferingHandler(capacity=100_000), logging.getLogger()
    catcher.setLevel(logging.ERROR)
    root.addHandler(catcher)
    try:
        await demo.start()
        try:
            result = await go()
        finally:
            await demo.h.close()
    finally:
        root.removeHandler(catcher)
    with result.transcript.open("a", encoding="utf-8") as fh:
        for text in (f"{r.name}: {r.getMessage()}" for r in catcher.buffer):
            result.problems.append(f"log: {text}")
            fh.write(f"  ⚠ log: {text}\n")
            echo(f"  ⚠ log: {text}")
    return result
