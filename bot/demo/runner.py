"""The scenario runner of `nastavnik demo`: simulated people live a programme through the bot's chat.

The people come from a cast (bot/demo/casts/*.yaml); the bot runs in-process against a fake Telegram
(bot/demo/telegram.py) with a simulated clock. People only do what a person can: send text and commands,
press buttons by their visible label, answer questionnaires question by question. They react to what the bot
sends them (confirm a proposed meeting, answer "did it happen?", fill in a form) after a plausible delay; the
clock jumps to the next due moment — someone's action, a reminder the scheduler has armed, the daily scan.
A step the bot does not let them take fails the run (DemoError), it is never skipped."""

from __future__ import annotations

import asyncio
import heapq
import html
import itertools
import logging
import random
import re
import time as walltime
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml

from bot.demo.cast import TZ, TZ_NAME, Cast, Persona
from bot.demo.harness import Client, Harness, make_settings
from bot.demo.telegram import SEND_METHODS, FakeTelegram, SentMessage
from bot.domain.programme_templates import load_templates
from bot.domain.stages import STAGE_ORDER, StagePlan
from bot.i18n import Translator

CURATOR_TG = 1000
CHART_NAMES = ("funnel", "satisfaction", "kpi")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SCRIPT = yaml.safe_load(Path(__file__).with_name("script.yaml").read_text(encoding="utf-8"))
TOLD, ONCE, REFUSALS = SCRIPT["told"], SCRIPT["told_once"], SCRIPT["refusals"]
HOLIDAYS = {
    d
    for h in SCRIPT["holidays"]
    for d in ([h] if isinstance(h, date) else (h["from"] + timedelta(days=i) for i in range(h["days"])))
}
_LINK = re.compile(r"https://t\.me/\S+\?start=([A-Za-z0-9_-]+)")
_TAG = re.compile(r"<[^>]+>")
_CYR = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
_LAT = "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya".split()


class DemoError(RuntimeError):
    """A step of the story could not be done: the bot did not answer as a person expects."""


def translit(text: str) -> str:
    table = {c: lat.replace("_", "") for c, lat in zip(_CYR, _LAT, strict=True)}
    return "".join(
        (table[c.lower()].capitalize() if c.isupper() else table[c]) if c.lower() in table else c
        for c in text
    )


def plain(text: str) -> str:
    return html.unescape(_TAG.sub("", text or ""))


def meeting_days(plan: StagePlan, paired_on: date) -> tuple[int, ...]:
    """Days after the pairing each meeting is aimed at, a few days before its stage's deadline (the joint-work
    meetings spread evenly), so a template's year is lived as its stage plan says."""
    due = {s: (plan.deadline_for(s, paired_on) - paired_on).days for s in STAGE_ORDER}
    intro, trial, planning, joint_due, final_due = (due[s] - 5 for s in STAGE_ORDER)
    intro = max(2, intro)
    trial = max(intro + 4, trial)
    planning = max(trial + 4, planning)
    step = max(4.0, (joint_due - planning) / plan.joint_work_meetings)
    joint = [planning + round(step * (i + 1)) for i in range(plan.joint_work_meetings)]
    return (intro, trial, planning, *joint, max(joint[-1] + 4, final_due))


@dataclass
class Person:
    persona: Persona
    client: Client
    name: str  # full name as typed, in the demo's language
    short: str  # "Anna Volkova"
    seen: int = 0  # messages of the chat already looked at
    surveys: int = 0
    nudges: dict[str, int] = field(default_factory=dict)  # feedback reminders got, by meeting


@dataclass
class Pair:
    no: int
    mentor: Person
    mentees: list[Person]
    late: bool = False  # waits for the bot to say the first stage is overdue
    busy: bool = False  # a meeting is being agreed or awaits feedback
    held: int = 0
    finished: bool = False
    told_finished: bool = False
    missed: str | None = None  # the time of the meeting that did not take place
    confirmer: Person | None = None
    number: dict[str, int] = field(default_factory=dict)  # a meeting's time → its place in the sequence
    ratings: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    @property
    def members(self) -> list[Person]:
        return [self.mentor, *self.mentees]


@dataclass
class DemoResult:
    out_dir: Path
    transcript: Path
    workbook: Path | None
    charts: list[Path]
    database: Path
    seconds: float
    updates: int
    messages_sent: int
    reminders: dict[str, int]  # reminders people received, by kind (as they read them)
    pairs: int
    pairs_finished: int
    meetings_held: int
    feedback_forms: int
    monitoring_surveys: int
    final_surveys: int
    announcement_recipients: int | None
    problems: list[str]
    template: str | None = None
    forced_pairs: list[str] = field(default_factory=list)  # hand-made pairs the bot warned about


class Demo:
    def __init__(self, out_dir: Path, lang: str, seed: int, echo: Callable[[str], None], cast: Cast) -> None:
        self.out_dir, self.lang, self.echo, self.cast = out_dir, lang, echo, cast
        self.odd = cast.on_purpose
        self.template = load_templates()[cast.template] if cast.template else None
        plan = self.template.stage_plan if self.template else StagePlan()
        self.plan = plan
        self.stages = [s.value for s in STAGE_ORDER for _ in range(plan.required_meetings(s))]
        self.offsets: tuple[int, ...] = cast.meeting_days
        self.db = out_dir / "demo.db"
        for suffix in ("", "-wal", "-shm", "-journal", ".outbox-journal"):
            Path(f"{self.db}{suffix}").unlink(missing_ok=True)  # a fresh programme every run
        self.t = Translator(lang)
        self.rng = random.Random(seed)
        self.now = cast.start.astimezone(UTC)
        self.queue: list[tuple[datetime, int, Callable[[], Awaitable[None]]]] = []
        self._seq = itertools.count()
        self.people: dict[str, Person] = {}
        self.by_chat: dict[int, Person] = {}
        self.pairs: list[Pair] = []
        self.lines: list[str] = []
        self.problems: list[str] = []
        self.forced: list[str] = []
        self.paused: set[str] = set()
        self.patterns: dict[str, re.Pattern[str]] = {}
        self.told_once: set[str] = set()
        self.extra: dict[str, list[str]] = {}
        self.kinds: dict[str, int] = {}
        self.counts = dict.fromkeys(("held", "feedback", "surveys", "finals"), 0)
        self.next_scan: datetime | None = None
        self.paired_on: date | None = None
        self.announced: int | None = None
        self.updates = self._alerts = 0
        self.workbook: Path | None = None
        self.charts: list[Path] = []

    # -- time and the transcript -----------------------------------------------------------------------------
    def local(self) -> datetime:
        return self.now.astimezone(TZ)

    def local_at(self, day: date, hhmm: str) -> datetime:
        return datetime.combine(day, time(*(int(x) for x in hhmm.split(":"))), TZ)

    def say(self, key: str, **params: Any) -> None:
        self.plain(f"{self.local():%d.%m %H:%M} {self.t('demo.' + key, **params)}")

    def plain(self, text: str) -> None:
        self.lines.append(text)
        self.echo(text)

    def problem(self, text: str) -> None:
        self.problems.append(f"{self.local():%d.%m.%Y %H:%M} {text}")
        self.say("problem", text=text)

    def typed(self, key: str) -> str:
        """What a person types: the template's cast's own text if it has one, else the school demo's."""
        own = f"demo.say.by_template.{self.cast.template}.{key}"
        return self.t(own) if self.cast.template and self.t.has(own) else self.t(f"demo.say.{key}")

    def later(self, low: timedelta, high: timedelta) -> datetime:
        """When a person gets round to something: between ``low`` and ``high`` from now, not at night."""
        minutes = self.rng.randint(0, int((high - low).total_seconds() // 60))
        moment = (self.now + low + timedelta(minutes=minutes)).astimezone(TZ)
        if moment.hour >= 22 or moment.hour < 8:
            day = moment.date() + timedelta(days=1 if moment.hour >= 22 else 0)
            moment = self.local_at(day, f"08:{self.rng.randint(5, 55):02d}")
        return moment

    def at(self, when: datetime, action: Callable[[], Awaitable[None]]) -> None:
        heapq.heappush(self.queue, (when.astimezone(UTC), next(self._seq), action))

    def reads(self, key: str, text: str | None) -> dict[str, str] | None:
        """The parameters of a bot text when ``text`` is the locale text ``key``, else None."""
        if key not in self.patterns:
            parts, regex, seen = re.split(r"\{(\w+)\}", self.t(key)), "", set()
            for i, part in enumerate(parts):
                if i % 2 == 0:
                    regex += re.escape(part)
                else:
                    regex += f"(?P={part})" if part in seen else f"(?P<{part}>.*?)"
                    seen.add(part)
            self.patterns[key] = re.compile(regex, re.S)
        m = self.patterns[key].match(plain(text or ""))
        return m.groupdict() if m else None

    # -- the app ---------------------------------------------------------------------------------------------
    async def start(self) -> None:
        settings = make_settings(
            f"sqlite+aiosqlite:///{self.db}",
            curator_ids=str(CURATOR_TG),
            default_language=self.lang,
            timezone=TZ_NAME,
            redis_url=None,
            forms_dir=None,
            webhook_url=None,
            digest_hour=9,
        )
        self.h = (await Harness.start(settings, FakeTelegram(), clock=lambda: self.now)).unpaced()
        self.engine = self.h.app.dp["engine"]
        feed = self.h.feed

        async def counted(update: dict[str, Any]) -> None:
            self.updates += 1
            await feed(update)

        self.h.feed = counted  # type: ignore[method-assign]

    def person(self, persona: Persona, tg: int, name: str | None = None) -> Person:
        name = name or (persona.name if self.lang == "ru" else translit(persona.name))
        parts = name.split()
        p = Person(persona, self.h.user(tg, parts[1], self.lang), name, f"{parts[1]} {parts[0]}")
        self.people[persona.key] = self.by_chat[tg] = p
        return p

    @staticmethod
    def button(msg: SentMessage, label: str, *, after: str | None = None, prefix: bool = False) -> str | None:
        """The callback data of the button a person sees as ``label`` (the first after the one ``after``)."""
        found = after is None
        for b in msg.buttons():
            text = b.get("text", "")
            if found and (text.startswith(label) if prefix else text == label):
                return b.get("callback_data")
            found = found or text == after
        return None

    async def tap(self, c: Client, msg: SentMessage, label: str, **how: Any) -> list[SentMessage]:
        data = self.button(msg, label, **how)
        if data is None:
            raise DemoError(f"no button “{label}” under “{plain(msg.text)[:80]}”")
        return await c.press(data, msg)

    def newest_with(self, c: Client, label: str, **how: Any) -> SentMessage:
        for msg in reversed(self.h.fake.delivered_to(c.id)):
            if self.button(msg, label, **how):
                return msg
        raise DemoError(f"the bot offers no button “{label}”")

    # -- the clock -------------------------------------------------------------------------------------------
    def reminder_jobs(self) -> list[Any]:
        return [j for j in self.h.app.scheduler.get_jobs() if j.id.startswith("reminders:")]

    async def run_until(self, end: datetime, *, stop_when_done: bool = False) -> None:
        end, stalled = end.astimezone(UTC), 0
        while True:
            jobs = [(j, j.trigger.get_next_fire_time(None, self.now)) for j in self.reminder_jobs()]
            candidates = [end, *(w for _, w in jobs if w), *([self.queue[0][0]] if self.queue else [])]
            nxt = max(min(candidates + ([self.next_scan] if self.next_scan else [])), self.now)
            stalled = stalled + 1 if nxt == self.now else 0
            if stalled > 50:
                raise DemoError(f"the simulation is stuck at {self.local():%d.%m.%Y %H:%M}")
            self.now = nxt
            if self.next_scan is not None and self.now >= self.next_scan:
                await self.h.app.jobs.hourly_scan()  # once a simulated day: more often it has nothing new
                self.next_scan += timedelta(days=1)
            for job, when in jobs:
                if when is not None and when <= self.now:  # what the scheduler would do at that second
                    job.remove()
                    await job.func(*job.args)
            await self.pump()
            while self.queue and self.queue[0][0] <= self.now:
                await heapq.heappop(self.queue)[2]()
                await self.pump()
            self.plan_pairs()
            done = stop_when_done and not self.queue and all(p.told_finished for p in self.pairs)
            if self.now >= end or done:
                return

    # -- what the bot sent: tell it and let people react -----------------------------------------------------
    async def pump(self) -> None:
        refusals = {self.t(k) for k in REFUSALS}
        for r in self.h.fake.requests[self._alerts :]:
            if r.method == "answerCallbackQuery" and r.params.get("text") in refusals:
                self.problem(f"a button was refused: {r.params['text']}")
        self._alerts = len(self.h.fake.requests)
        await self.h.deliver_outbox()
        told: dict[str, list[str]] = {}
        for p in list(self.people.values()):
            msgs = self.h.fake.delivered_to(p.client.id)
            fresh, p.seen = msgs[p.seen :], len(msgs)
            for msg in fresh:
                self.tell(p, msg, told)
                self.react(p, msg)
        for line, names in told.items():
            shown = (
                ", ".join(names[:3])
                if len(names) <= 3
                else self.t("demo.bot_to_many", names=", ".join(names[:3]), n=len(names) - 3)
            )
            self.say("bot_to", who=shown, text=line)
            for extra in self.extra.pop(line, []):
                self.plain(f"             {extra}")

    def tell(self, p: Person, msg: SentMessage, told: dict[str, list[str]]) -> None:
        text = plain(msg.text)
        first = text.strip().split("\n")[0]
        first = first if len(first) <= 110 else first[:109] + "…"
        for key, note in ONCE.items():
            if key not in self.told_once and self.reads(key, first):
                self.told_once.add(key)
                told.setdefault(first + self.t(f"demo.{note}"), []).append(p.short)
        key = next((k for k in TOLD if self.reads(k, text)), None)
        if key is None:
            return
        told.setdefault(first, []).append(p.short)
        if key in ("meeting.digest_header", "meeting.alert_header"):
            self.extra[first] = [x.strip() for x in text.split("\n")[1:] if x.strip()]
        if key.startswith("meeting.remind."):
            kind = self.reminder_kind(key, self.reads(key, text) or {})
            self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def reminder_kind(self, key: str, params: dict[str, str]) -> str:
        kind = key.rsplit(".", 1)[1]
        if kind in ("before", "feedback") and "when" in params:
            when = datetime.strptime(params["when"], "%d.%m.%Y %H:%M").replace(tzinfo=TZ)
            if kind == "before":
                return f"before_{round((when - self.now).total_seconds() / 3600)}h"
            return f"feedback_{max(1, round((self.now - when).total_seconds() / 86400))}d"
        return kind

    def react(self, p: Person, msg: SentMessage) -> None:
        t, pair = self.t, self.pair_of(p)
        if pair is None:
            return
        if pair.confirmer is p and self.button(msg, t("meeting.btn.confirm")):
            pair.confirmer = None
            self.at(self.later(timedelta(minutes=40), timedelta(hours=3)), lambda: self.confirm(p, msg))
        elif (m := self.reads("meeting.remind.after_check", msg.text)) is not None:
            self.after_check(pair, p, msg, m["when"])
        elif (m := self.reads("meeting.remind.feedback", msg.text)) is not None:
            p.nudges[m["when"]] = n = p.nudges.get(m["when"], 0) + 1
            late = self.late_feedback(pair, m["when"])
            if late and late["who"] == p.persona.key and late["answers"] == f"feedback_{1 if n == 1 else 3}d":
                pick = self.later(timedelta(hours=1), timedelta(hours=3))
                self.at(
                    pick, lambda: self.feedback(pair, p, msg, m["when"], t("meeting.btn.feedback"), late=True)
                )
        elif self.reads("meeting.overdue_pair", msg.text) and p is pair.mentor:
            pair.late = False
        elif self.button(msg, t("dashboard.survey_button")):
            p.surveys += 1
            key = p.persona.key
            if key == self.odd["survey_never"] or (key == self.odd["survey_late"] and p.surveys < 2):
                return
            if p.surveys <= 2:
                self.at(self.later(timedelta(hours=1), timedelta(hours=30)), lambda: self.survey(p, msg))
        elif self.button(msg, t("completion.btn.final_survey")):
            pair.finished = True
            if p is pair.mentor:
                pair.told_finished = True
                self.say("finished", id=pair.no)
            self.at(self.later(timedelta(hours=1), timedelta(hours=20)), lambda: self.final_survey(p, msg))
        elif (m := self.reads("meeting.stage_done_next", msg.text)) and p is pair.mentor:
            self.say("stage_done", id=pair.no, stage=m["stage"], next=m["next"])

    # -- questionnaires, answered in the chat ----------------------------------------------------------------
    def answer_for(self, q: Any, answers: dict[str, Any]) -> Any:
        from bot.domain.forms import QuestionType as Q

        if q.key in answers:
            return answers[q.key]
        defaults = {
            Q.SINGLE: lambda: q.options[0].value,
            Q.MULTI: lambda: [q.options[0].value],
            Q.SCALE: lambda: q.scale.max,
            Q.YESNO: lambda: False,
            Q.INTEGER: lambda: q.bounds()[0],
            Q.DATE: lambda: f"{self.local().date() + timedelta(days=14):%d.%m.%Y}" if q.required else None,
            Q.TEXT: lambda: self.typed("next_steps") if q.required else None,
        }
        return defaults[q.type]()

    async def fill(
        self, p: Person, form_id: str, answers: dict[str, Any], stop_after: int | None = None
    ) -> bool:
        """Answer the questions the bot asks in the chat, one by one, and send the form: False if they stopped
        after ``stop_after`` questions."""
        from bot.domain.forms import QuestionType as Q

        t, c, form = self.t, p.client, self.engine.forms[form_id]
        title, asked, last = form.title.get(self.lang), 0, ""
        for _ in range(80):
            msg = c.last()
            if self.button(msg, t("forms.button.confirm")):
                await c.click(t("forms.button.confirm"))
                return True
            lines = (msg.text or "").split("\n")
            q = next(
                (q for q in form.questions if len(lines) > 2 and q.text.get(self.lang) == lines[2]), None
            )
            if not lines[0].startswith(title) or q is None:
                raise DemoError(f"{p.short}: “{title}” is not going on: “{plain(msg.text)[:90]}”")
            if (stop_after is not None and asked >= stop_after) or (q.key == last and asked > 60):
                return False
            value, last = self.answer_for(q, answers), q.key
            if value is None and not q.required:
                await c.click(t("forms.button.skip"))
            elif q.type == Q.SINGLE:
                await c.click(q.option(value).text.get(self.lang))
            elif q.type == Q.MULTI:
                for v in value:
                    if self.button(msg, "▫️ " + q.option(v).text.get(self.lang)):
                        await c.click("▫️ " + q.option(v).text.get(self.lang))
                await c.click(t("forms.button.done"))
            elif q.type in (Q.SCALE, Q.YESNO):
                await c.click(
                    str(value) if q.type == Q.SCALE else t(f"forms.button.{'yes' if value else 'no'}")
                )
            else:
                await c.send(str(value))
            asked += 1
        raise DemoError(f"{p.short}: “{title}” never ended")

    def summary(self, form_id: str, answers: dict[str, Any]) -> str:
        form = self.engine.forms[form_id]
        areas = ", ".join(
            form.question("areas").option(v).text.get(self.lang) for v in answers.get("areas") or []
        )
        fmt = form.question("format").option(answers.get("format", "any")).text.get(self.lang).lower()
        extra = f"; {self.t('demo.capacity', n=answers['capacity'])}" if "capacity" in answers else ""
        return f"{areas}; {fmt}{extra}"

    async def intake(self, p: Person, *, resume: bool = False) -> None:
        key, mentor = p.persona.key, p.persona.role == "mentor"
        if resume:
            await p.client.send("/start")
            if key in self.paused:
                self.say("form_resumed", who=p.short)
        answers = dict(p.persona.answers)
        for question in ("motivation", "about") if mentor else ("difficulty", "interests", "expectations"):
            if self.t.has(f"demo.say.{question}.{key}"):
                answers["difficulties" if question == "difficulty" else question] = self.typed(
                    f"{question}.{key}"
                )
        form = "mentor" if mentor else (self.template.mentee_form if self.template else "mentee_needs")
        stop = 3 if key == self.odd["pauses_form"] and key not in self.paused else None
        if not await self.fill(p, form, answers, stop_after=stop):
            self.paused.add(key)
            self.say("form_paused", who=p.short, n=stop)
            return
        title = self.engine.forms[form].title.get(self.lang)
        self.say("form_done", who=p.short, title=title, summary=self.summary(form, answers))

    # -- onboarding ------------------------------------------------------------------------------------------
    async def onboard_curator(self) -> None:
        name = self.typed("curator_name")
        self.curator = self.person(Persona("curator", name, "curator"), CURATOR_TG, name)
        c = self.curator.client
        await c.send("/start")
        await c.click(self.t("consent.accept"))
        await c.send(name)
        self.say("curator_joins", who=self.curator.short)

    async def create_programme(self) -> None:
        """/programme → a new programme from a template → the template → Create."""
        assert self.template is not None
        c, t, tpl = self.curator.client, self.t, self.template
        await c.send("/programme")
        await c.click(t("programmes.btn.new"))
        offer = plain((await c.click(tpl.title_for(self.lang)))[-1].text)
        created = self.reads("programmes.created", (await c.click(t("programmes.btn.create")))[-1].text)
        if created is None:
            raise DemoError(f"the programme was not created from the template {tpl.id!r}")
        self.say("programme", title=created["title"], template=tpl.title_for(self.lang), id=tpl.id)
        for line in offer.split("\n\n")[0].split("\n")[1:]:
            self.plain(f"             {line.strip()}")

    async def invite(self, role: str) -> str:
        await self.curator.client.send("/invite")
        m = _LINK.search((await self.curator.client.click(self.t(f"roles.{role}")))[-1].text or "")
        if m is None:
            raise DemoError("the invitation has no link")
        self.say("invite_link", role=self.t(f"roles.{role}"))
        return m.group(1)

    async def join(self, p: Person, token: str) -> None:
        c, t, persona = p.client, self.t, p.persona
        await c.send(f"/start {token}")
        await c.click(t("consent.accept"))
        await c.send(p.name)
        if persona.role == "mentor":
            detail = self.typed(f"position.{persona.key}")
        else:  # a class like 8Б as it is; a working adult names their group in words
            detail = (persona.group if self.lang == "ru" else translit(persona.group)) or self.typed(
                f"group.{persona.key}"
            )
        await c.send(detail)
        if self.button(c.last(), t("common.yes")):  # the age, where the programme asks it
            await c.click(t("common.no") if persona.minor else t("common.yes"))
        self.say("joins", who=p.short, role=t(f"roles.{persona.role}"), detail=detail)
        if not persona.minor:
            await self.intake(p)
            return
        m = _LINK.search(c.last().text or "")
        if m is None:
            raise DemoError(f"{p.short}: no link for the parent")
        self.say("minor_waits", who=p.short)
        parent = self.person(Persona(f"parent.{persona.key}", persona.parent, "parent"), c.id + 1000)
        self.at(
            self.later(timedelta(hours=1), timedelta(hours=5)), lambda: self.parent_joins(parent, p, m[1])
        )

    async def parent_joins(self, parent: Person, child: Person, token: str) -> None:
        await parent.client.send(f"/start {token}")
        await parent.client.click(self.t("consent.accept"))
        await parent.client.send(parent.name)
        self.say("parent_joins", who=parent.short, child=child.short)
        self.at(
            self.later(timedelta(minutes=10), timedelta(minutes=50)), lambda: self.intake(child, resume=True)
        )

    async def questionnaires(self) -> None:
        c = self.curator.client
        replies = await c.send("/questionnaires")
        counts = next((line for m in replies for line in (m.text or "").split("\n") if "·" in line), "")
        self.say("questionnaires", counts=counts.strip())
        p = self.people[self.odd["pauses_form"]]
        await c.click(self.t("questionnaire.nudge", name=p.name))
        self.say("nudge_form", who=p.short)
        self.at(self.later(timedelta(hours=2), timedelta(hours=6)), lambda: self.intake(p, resume=True))

    async def mentor_base(self) -> None:
        c, t = self.curator.client, self.t
        who = self.people[self.odd["late_pair"]]
        listing = (await c.send("/mentors"))[-1]
        await self.tap(
            c, listing, t("mentor_base.btn.interview"), after=t("mentor_base.btn.view", name=who.name)
        )
        await c.send(f"{self.local():%d.%m.%Y}")
        note = self.typed("interview_note")
        await c.send(note)
        self.say("interview", who=who.short, note=note)
        listing = (await c.send("/mentors"))[-1]
        for m in self.cast.mentors:
            p = self.people[m.key]
            await self.tap(
                c, listing, t("mentor_base.btn.approve"), after=t("mentor_base.btn.view", name=p.name)
            )
            self.say("approved", who=p.short)

    # -- matching --------------------------------------------------------------------------------------------
    async def match(self) -> None:
        c, t = self.curator.client, self.t
        replies = await c.send("/match")
        approve = t("matching.approve_all", count="").split("(")[0]
        page = next((m for m in replies if self.button(m, approve, prefix=True)), None)
        if page is None and self.template is None:
            raise DemoError("/match proposed nothing: " + plain(replies[-1].text)[:100])
        if page is None:
            self.say("match_none", text=plain(replies[0].text).split("\n")[0])
            for line in (x for m in replies[1:] for x in plain(m.text).split("\n") if x.startswith("•")):
                self.plain(f"             {line}")
        else:
            proposals = [x for x in plain(page.text).split("\n")[1:] if x.strip()]
            self.say("match", count=sum(1 for b in page.buttons() if b["text"].startswith("✅ ")) - 0)
            for line in proposals:
                self.plain(f"             {line.strip()}")
            await self.tap(c, page, approve, prefix=True)
            self.say("approve_all")
        await self.pump()
        self.find_pairs()
        if self.template is not None:
            await self.pair_by_hand()
            self.find_pairs()
        if not self.pairs:
            raise DemoError("no pairs were formed")
        for pair in self.pairs:
            pair.late = pair.mentor.persona.key == self.odd["late_pair"]
            mentees = ", ".join(m.short for m in pair.mentees)
            self.say("pair", id=pair.no, mentor=pair.mentor.short, mentees=mentees)
        self.paired_on = self.local().date()
        if self.template is not None:
            self.offsets = meeting_days(self.plan, self.paired_on)
        await c.send(f"/population {self.cast.population}")  # coverage is counted against it
        self.say("population", n=self.cast.population)

    def find_pairs(self) -> None:
        """Each mentor learns from the bot whom they mentor: the pairs, as the people know them."""
        self.pairs = []
        for m in self.cast.mentors:
            mentor = self.people[m.key]
            said = " ".join(plain(x.text) for x in self.h.fake.delivered_to(mentor.client.id))
            mentees = [self.people[x.key] for x in self.cast.mentees if self.people[x.key].name in said]
            if mentees:
                self.pairs.append(Pair(len(self.pairs) + 1, mentor, mentees))

    async def pair_by_hand(self) -> None:
        """The curator pairs each mentee the matching left alone (/pair) with the mentor who fits best and has
        room, creating the pair anyway when the bot warns that a rule is broken (the warnings are kept)."""
        c, t = self.curator.client, self.t
        load = {p.mentor.persona.key: len(p.mentees) for p in self.pairs}
        paired = {m.persona.key for p in self.pairs for m in p.mentees}
        for persona in (m for m in self.cast.mentees if m.key not in paired):
            free = [m for m in self.cast.mentors if load.get(m.key, 0) < m.answers["capacity"]]
            if not free:
                break
            areas = set(persona.answers.get("areas") or [])
            mentor = max(free, key=lambda m: (len(areas & set(m.answers["areas"])), -load.get(m.key, 0)))
            p, mp = self.people[persona.key], self.people[mentor.key]
            listing = (await c.send("/pair"))[-1]
            await self.tap(c, listing, p.name)
            await self.tap(c, c.last(), mp.name, prefix=True)
            self.say("manual", mentee=p.short, mentor=mp.short)
            if self.button(c.last(), t("matching.manual_force")):
                lines = plain(c.last().text).split("\n")
                warning = "; ".join(x.lstrip("• ").strip() for x in lines[1:] if x.strip())
                self.forced.append(f"{p.short} → {mp.short}: {warning}")
                self.say("manual_warning", text=warning, button=t("matching.manual_force"))
                await self.tap(c, c.last(), t("matching.manual_force"))
            if t("matching.manual_done") not in (c.last().text or ""):
                raise DemoError(f"/pair {p.short} → {mp.short}: {plain(c.last().text)[:100]}")
            load[mentor.key] = load.get(mentor.key, 0) + 1
        await self.pump()

    # -- meetings --------------------------------------------------------------------------------------------
    def pair_of(self, p: Person) -> Pair | None:
        return next((x for x in self.pairs if p in x.members), None)

    def slot(self, pair: Pair, earliest: datetime) -> datetime:
        day = earliest.astimezone(TZ).date()
        for d in (day + timedelta(days=i) for i in range(60)):
            times = [self.local_at(d, hhmm) for wd, hhmm in pair.mentor.persona.slots if d.weekday() == wd]
            if d not in HOLIDAYS and (times := [x for x in times if x >= earliest]):
                return min(times)
        raise DemoError(f"no slot for pair #{pair.no}")

    def plan_pairs(self) -> None:
        """A pair whose last meeting is all done agrees on the next one (as people would, in person)."""
        for pair in self.pairs:
            if pair.busy or pair.finished or pair.late or pair.held >= len(self.stages) or not self.paired_on:
                continue
            day = self.paired_on + timedelta(days=self.offsets[min(pair.held, len(self.offsets) - 1)])
            when = self.slot(pair, max(self.local_at(day, "00:00"), self.now + timedelta(days=2)))
            propose_at = self.local_at((when - timedelta(days=4)).date(), "19:00")
            propose_at = max(
                propose_at + timedelta(minutes=self.rng.randint(0, 90)), self.now + timedelta(hours=2)
            )
            pair.busy = True
            self.at(propose_at, lambda pair=pair, when=when: self.propose(pair, when))

    async def propose(self, pair: Pair, when: datetime, *, asked: bool = False) -> None:
        n, t = pair.held, self.t
        proposer, confirmer = (pair.mentor, pair.mentees[(n // 2) % len(pair.mentees)])
        if n % 2 and not asked:
            proposer, confirmer = confirmer, proposer
        if when <= self.now + timedelta(hours=26):
            when = self.slot(pair, self.now + timedelta(days=2))
        c = proposer.client
        if not asked and not (await c.send("/meeting"))[-1].buttons():
            raise DemoError(f"{proposer.short}: /meeting → {plain(c.last().text)[:100]}")
        await c.send(f"{when.astimezone(TZ):%d.%m.%Y %H:%M}")
        fmt = pair.mentor.persona.meet
        await c.click(t(f"meeting.format.{fmt}"))
        place = (
            self.typed("place_offline")
            if fmt == "offline"
            else f"https://meet.example.org/{pair.mentor.persona.key}"
        )
        if not self.reads("meeting.proposal_sent", (await c.send(place))[-1].text):
            raise DemoError(f"{proposer.short}: the proposal was not sent: {plain(c.last().text)[:100]}")
        key = f"{when.astimezone(TZ):%d.%m.%Y %H:%M}"
        pair.confirmer, pair.number[key] = confirmer, n
        whom = [m.short for m in pair.members if m is not proposer]
        shown = (
            ", ".join(whom)
            if len(whom) <= 2
            else self.t("demo.bot_to_many", names=", ".join(whom[:2]), n=len(whom) - 2)
        )
        fmt_name = t(f"meeting.format.{fmt}").lower()
        stage = self.stage_name(n)
        self.say(
            "proposes",
            who=proposer.short,
            whom=shown,
            stage=stage,
            when=f"{when.astimezone(TZ):%d.%m %H:%M}",
            fmt=fmt_name,
        )

    def stage_name(self, n: int) -> str:
        return self.t(f"meetings.stage.{self.stages[min(n, len(self.stages) - 1)]}")

    async def confirm(self, p: Person, msg: SentMessage) -> None:
        m = self.reads("meeting.proposed_to_you", msg.text) or {}
        await self.tap(p.client, msg, self.t("meeting.btn.confirm"))
        when = m.get("when", "")
        self.say("confirms", who=p.short, stage=m.get("stage", ""), when=when[:5] + when[10:])

    def late_feedback(self, pair: Pair, when: str) -> dict[str, Any] | None:
        n = pair.number.get(when, -1)
        late = self.odd["late_feedback"]
        return next((x for x in late if x["pair"] == pair.mentor.persona.key and x["meeting"] == n), None)

    def after_check(self, pair: Pair, p: Person, msg: SentMessage, when: str) -> None:
        n, missed = pair.number.get(when, -1), self.odd["missed"]
        late = self.late_feedback(pair, when)
        if late and late["who"] == p.persona.key:
            return  # busy: they will answer the bot's feedback reminder
        this = (missed["pair"], missed["meeting"]) == (pair.mentor.persona.key, n)
        if this and pair.missed in (None, when):
            pair.missed = when  # the first time round it did not take place; the mentor says so
            if p is pair.mentor:
                self.at(self.now + timedelta(minutes=20), lambda: self.missed(pair, p, msg))
            return
        pick = self.later(timedelta(minutes=5), timedelta(minutes=45))
        self.at(pick, lambda: self.feedback(pair, p, msg, when, self.t("meeting.btn.held_yes")))

    async def missed(self, pair: Pair, mentor: Person, msg: SentMessage) -> None:
        await self.tap(mentor.client, msg, self.t("meeting.btn.held_no"))
        self.say("missed", who=mentor.short, stage=self.stage_name(pair.held))
        await self.propose(pair, self.slot(pair, self.now + timedelta(days=3)), asked=True)

    async def feedback(
        self, pair: Pair, p: Person, msg: SentMessage, when: str, label: str, *, late: bool = False
    ) -> None:
        stage = self.stages[min(pair.number.get(when, pair.held), len(self.stages) - 1)]
        await self.tap(p.client, msg, label)
        got = pair.ratings.setdefault(when, [])
        if not got and not late:
            self.say("held", id=pair.no, stage=self.t(f"meetings.stage.{stage}"), who=p.short)
        rating = self.rng.choice((5, 5, 5, 4, 4, 3)) if stage != "introduction" else self.rng.choice((5, 4))
        progress = "yes" if rating == 5 else "partly"
        answers = {"rating": rating, "done": self.typed(f"done.{stage}"), "goals_progress": progress}
        answers |= {"obstacles": self.typed("obstacle") if progress != "yes" else None, "next_meeting": None}
        answers["next_steps"] = self.typed("next_steps") if self.rng.random() < 0.5 else None
        await self.fill(p, "meeting_feedback", answers)
        self.counts["feedback"] += 1
        if late:
            self.say("feedback_late", who=p.short, rating=rating)
        got.append((p.short, rating))
        if p is pair.mentor and self.t("meeting.goals_prompt") in (p.client.last().text or ""):
            mentor = pair.mentor.persona.key
            more = f"goal_more.{mentor}" if self.t.has(f"demo.say.goal_more.{mentor}") else "goal.common"
            for key in (f"goal.{mentor}", more):
                await p.client.send(goal := self.typed(key))
                self.say("goal", who=p.short, goal=goal)
            await p.client.send("/cancel")
        if len(got) == len(pair.members):
            ratings = ", ".join(f"{who} {r}" for who, r in got)
            self.say("feedback_all", id=pair.no, stage=self.t(f"meetings.stage.{stage}"), ratings=ratings)
            pair.held, pair.busy = pair.held + 1, False
            self.counts["held"] += 1

    # -- the curator's part during the year, the surveys -----------------------------------------------------
    async def digest(self) -> None:
        self.say("digest_run")
        await self.h.app.jobs.daily_digest()
        await self.pump()
        c = self.curator.client
        label = self.t("meeting.btn.open_pair", id="").rstrip()
        digest = self.newest_with(c, label, prefix=True)
        pair_no = next(b["text"][len(label) :] for b in digest.buttons() if b["text"].startswith(label))
        replies = await self.tap(c, digest, label, prefix=True)
        self.say(
            "open_pair", id=pair_no, text=" ".join(x.strip() for x in plain(replies[-1].text).split("\n")[1:])
        )

    async def announce(self) -> None:
        c, t = self.curator.client, self.t
        if t("announce.compose").split("\n")[0] not in ((await c.send("/announce"))[-1].text or ""):
            raise DemoError(f"/announce answers: {plain(c.last().text)[:100]}")
        text = self.typed("announcement")
        audience = "parents" if any(m.minor for m in self.cast.mentees) else "mentees"  # adults: the mentees
        await c.send(text)
        await c.click(t(f"announce.audience_btn.{audience}"))
        self.say(
            "announce" if audience == "parents" else "announce_mentees",
            text=text[:69] + "…" if len(text) > 70 else text,
        )
        await self.tap(c, c.last(), t("announce.send_btn", count="").split("(")[0], prefix=True)
        for _ in range(120):  # the delivery report comes when the batch is out (the bot checks every 2 s)
            await self.pump()
            report = next(
                (m for m in self.h.fake.delivered_to(c.id) if self.reads("announce.report", m.text)), None
            )
            if report is not None:
                break
            await asyncio.sleep(0.25)
        else:
            raise DemoError("the announcement's delivery report never came")
        self.announced = int(self.reads("announce.report", report.text)["delivered"])
        self.say(
            "announce_report",
            text=" · ".join(x.strip() for x in plain(report.text).split("\n") if x.strip())[:160],
        )

    async def survey(self, p: Person, msg: SentMessage) -> None:
        await self.tap(p.client, msg, self.t("dashboard.survey_button"))
        if not plain(p.client.last().text).startswith(self.engine.forms["intermediate"].title.get(self.lang)):
            return  # closed, or answered already
        score, problems = self.rng.choice((10, 9, 9, 8, 8, 7)), p.persona.key == self.odd["survey_problem"]
        answers = {
            "satisfaction": score,
            "communication": self.rng.choice((5, 5, 4)),
            "has_problems": problems,
        }
        answers |= {"problems": self.typed("survey_problem") if problems else None, "needs_curator": False}
        await self.fill(p, "intermediate", answers | {"comments": None})
        self.counts["surveys"] += 1
        self.say("survey_done", who=p.short, score=score)

    async def final_survey(self, p: Person, msg: SentMessage) -> None:
        t = self.t
        await self.tap(p.client, msg, t("completion.btn.final_survey"))
        score, form = self.rng.choice((10, 10, 9, 9, 8)), self.engine.forms["final"]
        answers = {"role": "mentor" if p.persona.role == "mentor" else "mentee", "satisfaction": score}
        answers |= {"would_recommend": True, "would_mentor": p.persona.key in self.odd["alumni"]}
        answers |= {"reflection": self.typed("reflection")}
        if "growth" in form.keys:
            answers["growth"] = [o.value for o in form.question("growth").options[:2]]
        await self.fill(p, "final", answers)
        self.counts["finals"] += 1
        self.say("final_done", who=p.short, score=score)
        if not self.button(p.client.last(), t("completion.btn.not_now")):
            return
        if p.persona.key != self.odd["alumni"][0]:  # the others: "not now"
            await p.client.click(t("completion.btn.not_now"))
            self.say("alumni_no", who=p.short)
            return
        await p.client.click(t("completion.btn.become_mentor"))
        self.say("alumni_yes", who=p.short)
        answers = {"experience_years": 1, "capacity": 1, "motivation": self.typed("motivation.alumni")}
        await self.fill(p, "mentor", answers)
        title = self.engine.forms["mentor"].title.get(self.lang)
        self.say(
            "form_done", who=p.short, title=title, summary=self.summary("mentor", p.persona.answers | answers)
        )

    # -- the end: dashboard, export, charts, the totals ------------------------------------------------------
    async def results(self) -> None:
        c, fake = self.curator.client, self.h.fake
        self.say("dashboard")
        for line in plain((await c.send("/dashboard"))[-1].text).split("\n"):
            self.plain(f"             {line}")
        await c.send("/export")
        await c.click(self.t("reports.export.xlsx"))
        doc = next((m for m in reversed(fake.delivered_to(c.id)) if m.method == "sendDocument"), None)
        if doc is None or not doc.document:
            raise DemoError("/export sent no workbook")
        self.workbook = self.out_dir / "export.xlsx"
        self.workbook.write_bytes(doc.document["data"])
        self.say("export", file=self.workbook.name)
        photos = [m for m in await c.send("/report") if m.method == "sendPhoto" and m.document]
        for name, m in zip(CHART_NAMES, photos, strict=False):
            (path := self.out_dir / f"{name}.png").write_bytes(m.document["data"])
            self.charts.append(path)
        if len(self.charts) != len(CHART_NAMES):
            raise DemoError(f"/report sent {len(photos)} charts, expected {len(CHART_NAMES)}")
        self.say("report", files=", ".join(p.name for p in self.charts))

    def totals(self, started: float) -> DemoResult:
        t, c, counts = self.t, "demo.counts.", self.counts
        requests = self.h.fake.requests
        messages = len([r for r in requests if r.method in SEND_METHODS and r.outcome == 200])
        roles = [p.persona.role for p in self.people.values()]
        order = ("before_24h", "before_1h", "after_check", "feedback_1d", "feedback_3d", "stage_deadline")
        kinds = sorted(self.kinds, key=lambda k: (order.index(k) if k in order else 99, k))
        kinds_text = ", ".join(
            f"{t('demo.kind.' + k) if t.has('demo.kind.' + k) else k} {self.kinds[k]}" for k in kinds
        )
        finished = sum(p.told_finished for p in self.pairs)
        seconds = walltime.monotonic() - started
        self.plain("")
        self.plain(
            t(c + "title", days=(self.local().date() - self.cast.start.date()).days, seconds=f"{seconds:.0f}")
        )
        if self.template is not None:
            self.plain(
                t(c + "programme", title=self.template.title_for(self.lang), template=self.template.id)
            )
        people = {r: roles.count(r) for r in ("mentor", "mentee", "parent")}
        self.plain(
            t(
                c + "people",
                total=len(roles),
                mentors=people["mentor"],
                mentees=people["mentee"],
                parents=people["parent"],
            )
        )
        self.plain(t(c + "traffic", updates=self.updates, messages=messages))
        self.plain(
            t(c + "reminders", total=sum(self.kinds.values()), kinds=f" — {kinds_text}" if kinds_text else "")
        )
        self.plain(t(c + "meetings", held=counts["held"], feedback=counts["feedback"]))
        self.plain(t(c + "pairs", finished=finished, pairs=len(self.pairs)))
        self.plain(t(c + "surveys", surveys=counts["surveys"], finals=counts["finals"]))
        files = [str(p) for p in [self.workbook, *self.charts, self.out_dir / "transcript.txt"] if p]
        self.plain(t(c + "files", files=", ".join(files)))
        self.plain(t(c + "problems", n=len(self.problems)))
        for text in self.problems:
            self.plain(f"  ⚠ {text}")
        return DemoResult(
            self.out_dir, self.out_dir / "transcript.txt", self.workbook, list(self.charts), self.db, seconds,
            self.updates, messages, dict(self.kinds), len(self.pairs), finished, counts["held"],
            counts["feedback"], counts["surveys"], counts["finals"], self.announced, list(self.problems),
            self.cast.template, list(self.forced),
        )  # fmt: skip

    # -- the story -------------------------------------------------------------------------------------------
    async def meetings(self) -> None:
        """From the pairing to the last final survey: the pairs meet, the scheduler scans once a day."""
        assert self.paired_on is not None
        self.plain("")
        self.plain(self.t("demo.section.meetings"))
        self.next_scan = self.local_at(self.paired_on + timedelta(days=1), "10:00").astimezone(UTC)
        due = {s: (self.plan.deadline_for(s, self.paired_on) - self.paired_on).days for s in STAGE_ORDER}
        first, last = STAGE_ORDER[0], STAGE_ORDER[-1]
        self.at(self.local_at(self.paired_on + timedelta(days=due[first] + 2), "09:00"), self.digest)
        self.at(self.local_at(self.paired_on + timedelta(days=21), "12:00"), self.announce)
        end = self.local_at(self.paired_on + timedelta(days=due[last] + 20), "10:00")
        await self.run_until(end, stop_when_done=True)
        await self.run_until(self.now + timedelta(days=4))  # the last final surveys come in
        for pair in self.pairs:
            if not pair.told_finished:
                raise DemoError(
                    f"pair #{pair.no} never finished: {pair.held} of {len(self.stages)} meetings held"
                )
        members = sum(len(p.members) for p in self.pairs)
        if self.counts["finals"] != members:
            raise DemoError(f"final surveys: {self.counts['finals']} of {members} people filled one in")

    async def run(self, quick: bool) -> DemoResult:
        started, start, t = walltime.monotonic(), self.cast.start, self.t
        if self.template is None:
            self.plain(t("demo.header"))
            self.plain(t("demo.header_clock", start=f"{start:%d.%m.%Y %H:%M}"))
        else:
            self.plain(
                t("demo.header_template", template=self.template.id, title=self.template.title_for(self.lang))
            )
            self.plain(t("demo.header_clock_template", start=f"{start:%d.%m.%Y %H:%M}"))
        self.plain("")
        self.plain(t("demo.section.onboarding"))
        await self.onboard_curator()
        if self.template is not None:
            await self.create_programme()
        self.now = self.local_at(start.date(), "09:20").astimezone(UTC)
        links = {role: await self.invite(role) for role in ("mentor", "mentee")}
        for i, m in enumerate(self.cast.mentors):
            p = self.person(m, 2001 + i)
            when = self.local_at(start.date(), f"{12 + 2 * i}:{self.rng.randint(0, 59):02d}")
            self.at(when, lambda p=p: self.join(p, links["mentor"]))
        for i, m in enumerate(self.cast.mentees):
            p = self.person(m, 3001 + i)
            when = self.local_at(
                start.date() + timedelta(days=1 + i // 5), f"{15 + i % 5}:{self.rng.randint(0, 59):02d}"
            )
            self.at(when, lambda p=p: self.join(p, links["mentee"]))
        self.at(self.local_at(start.date() + timedelta(days=6), "10:30"), self.questionnaires)
        await self.run_until(self.local_at(start.date() + timedelta(days=7), "11:00"))
        self.plain("")
        self.plain(t("demo.section.mentor_base"))
        await self.mentor_base()
        await self.pump()
        await self.run_until(self.local_at(start.date() + timedelta(days=9), "11:00"))
        self.plain("")
        self.plain(t("demo.section.matching"))
        await self.match()
        if not quick:
            await self.meetings()
        self.plain("")
        self.plain(t("demo.section.results"))
        self.now = max(
            self.now, self.local_at(self.local().date() + timedelta(days=1), "10:00").astimezone(UTC)
        )
        await self.results()
        result = self.totals(started)
        result.transcript.write_text("\n".join(self.lines) + "\n", encoding="utf-8")
        return result


class Problems(logging.Handler):
    """Errors the bot logs while the demo runs become remarks in the transcript."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(f"{record.name}: {record.getMessage()}")
