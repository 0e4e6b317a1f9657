"""Benchmark: the district (the coordinator's /district and consolidated report) against one school's
/dashboard, with 300 institutions of 300 participants each (90,000 people) in the database.

Setup (once on SQLite with 30 institutions, 9,000 participants; then on the local PostgreSQL through asyncpg
with 300 institutions, 90,000 participants, in a database made for the run and dropped after it): the app
starts on an empty database (migrations, its default programme) and gets, by bulk insert (SQLAlchemy Core
executemany, fixed random seed), one coordinator (a role with neither institution nor programme) and, per
institution:
- the institution and one active programme of the "school" template (its settings, population 1000; the
  default programme the app made at start becomes the first institution's);
- one curator (the curator role in the institution, no programme; their current programme chosen);
- 200 mentees, 60 mentors and 39 parents, each with a role in the programme and the institution, a consent
  and its audit entry; the parents linked to a minor mentee each (with their consent for the child);
  mostly active, a few still onboarding or withdrawn;
- submitted intake questionnaires (mentee_needs for ~85 % of active mentees, mentor for ~90 % of mentors)
  and mentor profiles;
- 50 pairs (a few groups of two mentees) at every stage, introduction to final, with their held meetings,
  everyone's feedback on them, an upcoming meeting for some; two pairs dissolved, two finished with the
  members' final survey (satisfaction 1–10);
- the template's monitoring campaign (November: the intermediate survey, closed), its invitations in the
  outbox and the answers (satisfaction 1–10) of most of those invited;
- a dozen roadmap items, some done, some overdue.
Telegram ids are unique across the database. On PostgreSQL the tables are ANALYZEd after the bulk load
(autovacuum would do it within a minute in production).

Timed, through the real dispatcher (middlewares, SQL unit of work and FSM storage, i18n, the access and
institution guards) and the fake Bot API, from the raw update dict to the handler's last reply:
- /dashboard sent by the curators of 20 institutions spread over the whole id range (after one untimed
  update that warms the caches after the bulk load);
- /district sent by the coordinator, 20 times.
Timed outside the dispatcher:
- the hourly job that keeps every institution's aggregate for the district (App.jobs.district_refresh, when
  the product has it), once, on a cold database: nothing kept yet;
- the report, once: bot.services.district.build + district_report.render_xlsx. Once the job has finished,
  the report and /district read what it kept ("warm", as a coordinator finds them within the hour); if it
  did not finish, they compute every institution themselves ("cold"). The table says which.
The run has to end within 5 minutes on 2 CPUs: seeding and /dashboard always run; the job, the report and
/district share the time left until each backend's deadline (SQLite: 90 s from the start, PostgreSQL: 250 s):
the job may take 60 % of it, the report half of the rest, /district is repeated while another update fits.
Work that does not finish in its time is stopped (cancelled like a timed-out update) and its figure is a
lower bound, ">x"; the table says how many /district updates were timed.
Counted: the SQL statements one curator's /dashboard runs (a before_cursor_execute listener on the app's
engine) with 3 institutions in the database (seeded first), and again once all are there: a curator's
dashboard reads only their institution, so the two must be equal. Also the statements of the report's build.
Also printed: the peak RSS of the whole process (both runs, seeding included; the imports alone are
about 300 MB, aiogram's models most of it).

Targets: report (build + xlsx) < 3 s; /dashboard and /district p95 < 300 ms each; peak RSS < 400 MB;
queries_3 == queries_300.

The app normally paces every reply through the shared RateLimiter (≈29 messages/s, Telegram's limit); its
interval is set to 0 here: this measures the handlers, not Telegram pacing.

Run: python bench/district.py   (no arguments; the last line is key=value figures for tracking)
"""

from __future__ import annotations

import sys
from pathlib import Path

# Lets `python bench/district.py` import the bot package without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncio
import gc
import logging
import math
import os
import random
import resource
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import event, func, insert, select, text, update

from bot.demo.harness import Client, Harness, make_settings
from bot.demo.telegram import FakeTelegram, SentMessage
from bot.domain import district as dd
from bot.domain import forms as f
from bot.domain.entities import PairStatus, Role, Status
from bot.domain.programme_templates import load_templates, programme_settings
from bot.domain.roadmap import DeadlineKind, ItemStatus
from bot.domain.stages import STAGE_ORDER, MeetingStatus, Stage
from bot.domain.statuses import CampaignStatus, MentorStatus, OutboxStatus
from bot.i18n import Translator
from bot.services import district
from bot.services.completion import final_context
from bot.services.district_report import render_xlsx
from bot.services.onboarding import CONSENT_VERSION
from storage.models import (
    AuditEntry,
    Campaign,
    Consent,
    CuratorProgramme,
    FormResponse,
    Institution,
    Meeting,
    MentorProfile,
    OutboxMessage,
    Pair,
    PairMember,
    ParentLink,
    Participant,
    ParticipantRole,
    Programme,
    RoadmapItem,
)
from storage.uow import unit_of_work

SEED = 20261206
PG_INSTITUTIONS = 300
SQLITE_INSTITUTIONS = 30
SMALL_INSTITUTIONS = 3  # the database state queries_3 is counted on
MENTEES, MENTORS, PARENTS = 200, 60, 39  # + 1 curator = 300 people per institution
PER_INSTITUTION = 1 + MENTEES + MENTORS + PARENTS
PAIRS = 50
GROUPS = 8  # of the pairs, these have two mentees
DISSOLVED, FINISHED = 2, 2  # of the pairs
ROADMAP_ITEMS = 12
CHUNK = 25  # institutions per bulk-insert transaction (keeps the rows in memory bounded)
FIRST_TG = 9_000_000
TEMPLATE = "school"
POPULATION = 1000
REPS = 20  # timed updates of each command
# The whole run has to end within 5 minutes on 2 CPUs. Seeding and the /dashboard updates always run; the
# hourly refresh job, the report and the /district updates share what is left until each backend's deadline
# (seconds from the start): the job at most REFRESH_SHARE of it, the report at most REPORT_SHARE of the rest,
# /district what remains. What does not finish by then is stopped and reported as a lower bound (">x").
SQLITE_DEADLINE_S = 90.0
PG_DEADLINE_S = 250.0
REFRESH_SHARE = 0.6
REPORT_SHARE = 0.5
TARGET_REPORT_S = 3.0
TARGET_P95_MS = 300.0
TARGET_RSS_MB = 400.0
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"  # the machine's PostgreSQL (trust auth)

LEFT_SCHOOL = "Наставляемый перешёл в другую школу"
SURNAMES = ["Иванов", "Петров", "Сидоров", "Кузнецов", "Смирнов", "Попов", "Волков", "Соколов", "Лебедев"]
NAMES = ["Иван", "Анна", "Пётр", "Мария", "Олег", "Дарья", "Илья", "Софья", "Егор", "Полина"]
CLASSES = ["5А", "6Б", "7В", "8Г", "9А", "10Б", "11В"]
POSITIONS = ["Учитель математики", "Учитель истории", "Педагог-психолог", "Учитель физики", "Методист"]
PHRASES = [
    "Трудно сосредоточиться на домашних заданиях",
    "Не понимаю дроби и проценты",
    "Хочу подготовиться к олимпиаде по физике",
    "Обсудили план на месяц и первые шаги",
    "Разобрали задачи и договорились о следующей встрече",
    "Помогаю ребятам с проектной работой уже несколько лет",
]
STAGE_WEIGHTS = {  # where the active pairs are in December of the programme year
    Stage.INTRODUCTION: 12,
    Stage.TRIAL: 20,
    Stage.PLANNING: 25,
    Stage.JOINT_WORK: 38,
    Stage.FINAL: 5,
}
ROADMAP = [
    "Приказ о внедрении целевой модели наставничества",
    "Назначение куратора программы",
    "Анкетирование наставляемых",
    "Формирование базы наставников",
    "Обучение наставников",
    "Формирование пар и групп",
    "Промежуточный мониторинг",
    "Итоговый мониторинг",
    "Конкурс «Лучший наставник»",
    "Отчёт о реализации программы",
    "Публикация лучших практик",
    "Совещание с родителями",
]


def p(durations: list[float], q: float) -> float:
    """The q-quantile (nearest rank), in the units given."""
    ordered = sorted(durations)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------------------ answers
def answer(q: f.Question, rng: random.Random, today: date) -> Any:
    values = [o.value for o in q.options]
    if q.type == f.QuestionType.SINGLE:
        return rng.choice(values)
    if q.type == f.QuestionType.MULTI:
        low, high = q.bounds()
        return rng.sample(values, rng.randint(max(1, low), max(1, min(high, len(values), 3))))
    if q.type == f.QuestionType.TEXT:
        low, high = q.bounds()
        phrase = rng.choice(PHRASES)
        return (phrase * (low // len(phrase) + 1))[: max(low, min(high, len(phrase)))]
    if q.type == f.QuestionType.INTEGER:
        low, high = q.bounds()
        return rng.randint(max(low, 0), max(max(low, 0), min(high, 25)))
    if q.type == f.QuestionType.SCALE:
        return rng.randint(*q.bounds())
    if q.type == f.QuestionType.DATE:
        return (today - timedelta(days=rng.randint(0, 60))).isoformat()
    return rng.random() < 0.5  # yes / no


def answer_pool(form: f.Form, rng: random.Random, today: date, size: int = 256) -> list[dict[str, Any]]:
    """`size` valid, varied sets of answers to the form (the rows pick from these: generating one per row
    would cost more than inserting it)."""
    pool = []
    for _ in range(size):
        answers: dict[str, Any] = {}
        for q in form.questions:
            if not form.is_visible(answers, q.key) or (not q.required and rng.random() < 0.3):
                continue
            answers[q.key] = answer(q, rng, today)
        pool.append(answers)
    return pool


def satisfaction(rng: random.Random) -> int:
    """1–10, most people content: about two thirds answer 8 or more."""
    return rng.choices(range(1, 11), weights=[1, 1, 1, 2, 3, 4, 8, 14, 14, 12])[0]


# ------------------------------------------------------------------------------------------ seeding
@dataclass
class Seeder:
    """Bulk-inserts institutions into the app's database; keeps the id counters between calls."""

    h: Harness
    rng: random.Random
    now: datetime
    ids: dict[str, int] = field(default_factory=dict)
    institutions: int = 0
    curators: list[int] = field(default_factory=list)  # Telegram ids, by institution
    coordinator: int | None = None
    default_programme: int | None = None
    pools: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)  # rows inserted, by table

    MODELS_WITH_IDS = (Institution, Programme, Participant, Pair, Meeting, FormResponse, Campaign)

    def next(self, model: type[Any]) -> int:
        name = model.__tablename__
        self.ids[name] += 1
        return self.ids[name]

    @property
    def today(self) -> date:
        return self.now.date()

    async def begin(self) -> None:
        """Read where the id counters start; the programme the app made at start (it becomes the first
        institution's); the coordinator."""
        engine = self.h.app.dp["engine"]
        for form_id in ("mentee_needs", "mentor", "meeting_feedback", "intermediate", "final"):
            self.pools[form_id] = answer_pool(engine.forms[form_id], self.rng, self.today)
        async with unit_of_work(self.h.app.factory) as repos:
            s = repos.session
            for model in self.MODELS_WITH_IDS:
                self.ids[model.__tablename__] = await s.scalar(select(func.max(model.id))) or 0
            programmes = await repos.programmes.active()
            self.default_programme = programmes[0].id if len(programmes) == 1 else None
            pid = self.next(Participant)
            self.coordinator = FIRST_TG
            await s.execute(
                insert(Participant),
                [self.person(pid, self.coordinator, "Координатор Муниципальный", None, "Методист ММЦ")],
            )
            await s.execute(
                insert(ParticipantRole),
                [
                    dict(
                        participant_id=pid,
                        role=Role.COORDINATOR.value,
                        programme_id=None,
                        institution_id=None,
                        created_at=self.now,
                    )
                ],
            )
            await s.execute(insert(Consent), [self.consent(self.coordinator, pid, pid, self.now)])

    def person(
        self,
        pid: int,
        tg: int,
        name: str,
        group: str | None,
        position: str | None,
        status: str = Status.ACTIVE.value,
        minor: bool = False,
        joined: datetime | None = None,
    ) -> dict[str, Any]:
        joined = joined or self.now - timedelta(days=90)
        return dict(
            id=pid,
            telegram_id=tg,
            username=None,
            language="ru",
            full_name=name,
            status=status,
            is_minor=minor,
            group_name=group,
            position=position,
            unreachable=False,
            created_at=joined,
            updated_at=joined,
        )

    @staticmethod
    def consent(tg: int, pid: int, subject: int, at: datetime, kind: str = "self") -> dict[str, Any]:
        return dict(
            telegram_id=tg,
            participant_id=pid,
            subject_id=subject,
            kind=kind,
            version=CONSENT_VERSION,
            accepted=True,
            decided_at=at,
        )

    def response(
        self,
        pid: int,
        form_id: str,
        answers: dict[str, Any],
        at: datetime,
        context: str | None = None,
    ) -> dict[str, Any]:
        form = self.h.app.dp["engine"].forms[form_id]
        return dict(
            id=self.next(FormResponse),
            participant_id=pid,
            form_id=form_id,
            form_version=form.version,
            version=1,
            status="submitted",
            context=context,
            answers=answers,
            current_key=None,
            draft=None,
            editing=False,
            started_at=at - timedelta(minutes=self.rng.randint(2, 30)),
            updated_at=at,
            submitted_at=at,
        )

    async def add(self, count: int) -> float:
        """Add `count` institutions (in transactions of CHUNK); returns the seconds it took."""
        t0 = time.perf_counter()
        while count > 0:
            n = min(count, CHUNK)
            await self._chunk(n)
            count -= n
            gc.collect()
        return time.perf_counter() - t0

    async def _chunk(self, n: int) -> None:
        t: dict[str, list[dict[str, Any]]] = {m.__tablename__: [] for m in ORDER}
        adopt: tuple[int, int] | None = None  # (institution, the app's default programme it takes over)
        for _ in range(n):
            institution_id, adopted = self._institution(t)
            if adopted is not None:
                adopt = (institution_id, adopted)
        async with unit_of_work(self.h.app.factory) as repos:
            s = repos.session
            await s.execute(insert(Institution), t.pop(Institution.__tablename__))
            if adopt is not None:
                institution_id, programme_id = adopt
                await s.execute(
                    update(Programme)
                    .where(Programme.id == programme_id)
                    .values(
                        institution_id=institution_id,
                        title="Наставничество 2026/2027",
                        template=TEMPLATE,
                        settings=self.settings,
                    )
                )
            for model in ORDER[1:]:
                rows = t[model.__tablename__]
                if rows:
                    await s.execute(insert(model), rows)
                    self.rows[model.__tablename__] = self.rows.get(model.__tablename__, 0) + len(rows)
            if s.bind.dialect.name == "postgresql":
                # The rows above came with their ids: the sequences move past them (as migrate-to does).
                for model in self.MODELS_WITH_IDS:
                    table = model.__tablename__
                    await s.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT coalesce(max(id), 1) FROM {table}))"
                        )
                    )

    @property
    def settings(self) -> dict[str, Any]:
        return {**programme_settings(TEMPLATES[TEMPLATE]), "population": POPULATION}

    def _institution(self, t: dict[str, list[dict[str, Any]]]) -> tuple[int, int | None]:
        """One institution's rows into `t`; returns (institution id, the default programme it adopts)."""
        rng, now = self.rng, self.now
        self.institutions += 1
        number = self.institutions
        iid = self.next(Institution)
        year_start = datetime(now.year if now.month >= 9 else now.year - 1, 9, 1, 6, tzinfo=now.tzinfo)
        t["institutions"].append(
            dict(id=iid, title=f"МБОУ СОШ № {number}", created_at=year_start - timedelta(days=30))
        )
        adopted = self.default_programme if number == 1 else None
        if adopted is not None:
            prog = adopted
        else:
            prog = self.next(Programme)
            t["programmes"].append(
                dict(
                    id=prog,
                    institution_id=iid,
                    title="Наставничество 2026/2027",
                    template=TEMPLATE,
                    timezone="Europe/Moscow",
                    settings=self.settings,
                    created_at=year_start,
                )
            )
        people, roles, consents, audit = (
            t["participants"],
            t["participant_roles"],
            t["consents"],
            t["audit_log"],
        )
        responses = t["form_responses"]

        def join(kind: str, name: str, group: str | None, position: str | None, **kw: Any) -> int:
            pid = self.next(Participant)
            tg = FIRST_TG + pid  # unique across the database (the coordinator's id is FIRST_TG itself)
            joined = year_start + timedelta(days=rng.randint(1, 40), minutes=rng.randint(0, 1440))
            people.append(self.person(pid, tg, name, group, position, joined=joined, **kw))
            roles.append(
                dict(
                    participant_id=pid,
                    role=kind,
                    programme_id=None if kind == Role.CURATOR else prog,
                    institution_id=iid,
                    created_at=joined,
                )
            )
            consents.append(self.consent(tg, pid, pid, joined))
            audit.append(
                dict(
                    institution_id=iid,
                    at=joined,
                    actor_id=pid,
                    action="consent.accept",
                    object_type="participant",
                    object_id=pid,
                    details={"kind": "self", "version": CONSENT_VERSION},
                )
            )
            return pid

        def name(k: int) -> str:
            return f"{rng.choice(SURNAMES)} {rng.choice(NAMES)} {number}-{k}"

        curator = join(Role.CURATOR.value, name(0), None, "Заместитель директора по УВР")
        self.curators.append(FIRST_TG + curator)
        t["curator_programmes"].append(
            dict(participant_id=curator, programme_id=prog, institution_id=iid, updated_at=year_start)
        )

        def status() -> str:
            x = rng.random()
            return Status.ACTIVE.value if x < 0.93 else Status.ONBOARDING.value if x < 0.98 else "withdrawn"

        mentees = []  # (id, status)
        for k in range(MENTEES):
            st = status()
            pid = join(
                Role.MENTEE.value, name(k + 1), rng.choice(CLASSES), None, status=st, minor=k < PARENTS
            )
            mentees.append((pid, st))
        mentors = []
        for k in range(MENTORS):
            st = Status.ACTIVE.value if k < PAIRS or rng.random() < 0.9 else Status.ONBOARDING.value
            pid = join(Role.MENTOR.value, name(MENTEES + k + 1), None, rng.choice(POSITIONS), status=st)
            mentors.append((pid, st))
        for k in range(PARENTS):
            child = mentees[k][0]
            parent = join(Role.PARENT.value, name(MENTEES + MENTORS + k + 1), None, None)
            t["parent_links"].append(
                dict(parent_id=parent, child_id=child, created_at=now - timedelta(days=80))
            )
            consents.append(
                self.consent(FIRST_TG + parent, parent, child, now - timedelta(days=80), "parent")
            )

        # Intake questionnaires and the mentor base.
        answered: list[int] = []
        for pid, st in mentees:
            if st == Status.ACTIVE and rng.random() < 0.85:
                answered.append(pid)
                at = year_start + timedelta(days=rng.randint(41, 60))
                responses.append(
                    self.response(pid, "mentee_needs", rng.choice(self.pools["mentee_needs"]), at)
                )
        for k, (pid, st) in enumerate(mentors):
            if k < PAIRS or (st == Status.ACTIVE and rng.random() < 0.9):
                at = year_start + timedelta(days=rng.randint(41, 60))
                responses.append(self.response(pid, "mentor", rng.choice(self.pools["mentor"]), at))
            mentor_status = MentorStatus.ACTIVE if k < PAIRS else MentorStatus.APPROVED
            t["mentor_profiles"].append(
                dict(
                    participant_id=pid, status=mentor_status.value, updated_at=year_start + timedelta(days=45)
                )
            )

        # Pairs, their meetings and feedback; the final survey of the finished ones.
        plan = TEMPLATES[TEMPLATE].stage_plan
        rng.shuffle(answered)
        paired: list[int] = []  # active pairs' members, for the campaign
        for k in range(PAIRS):
            mentor = mentors[k][0]
            group = [answered.pop(), answered.pop()] if k < GROUPS else [answered.pop()]
            pair_id = self.next(Pair)
            created = year_start + timedelta(days=rng.randint(62, 75), hours=rng.randint(0, 10))
            if k >= PAIRS - FINISHED:
                pair_status, stage = PairStatus.FINISHED, Stage.FINAL
            elif k >= PAIRS - FINISHED - DISSOLVED:
                pair_status, stage = PairStatus.DISSOLVED, Stage.TRIAL
            else:
                pair_status = PairStatus.ACTIVE
                stage = rng.choices(list(STAGE_WEIGHTS), weights=list(STAGE_WEIGHTS.values()))[0]
                paired += [mentor, *group]
            closed = now - timedelta(days=rng.randint(1, 10)) if pair_status != PairStatus.ACTIVE else None
            t["pairs"].append(
                dict(
                    id=pair_id,
                    programme_id=prog,
                    mentor_id=mentor,
                    status=pair_status.value,
                    stage=stage.value,
                    created_at=created,
                    approved_by=curator,
                    closed_at=closed,
                    close_reason=LEFT_SCHOOL if pair_status == PairStatus.DISSOLVED else None,
                )
            )
            for mentee in group:
                t["pair_members"].append(
                    dict(
                        pair_id=pair_id,
                        mentee_id=mentee,
                        joined_at=created,
                        left_at=closed if pair_status == PairStatus.DISSOLVED else None,
                        dissolved=pair_status == PairStatus.DISSOLVED,
                    )
                )
            members = [mentor, *group]
            # Held meetings: one for each stage before the current one (joint work: the plan's number), a few
            # of the current stage's (joint work), all of them for a finished pair.
            held: list[str] = []
            for earlier in STAGE_ORDER[: stage.index]:
                held += [earlier.value] * (plan.joint_work_meetings if earlier == Stage.JOINT_WORK else 1)
            if stage == Stage.JOINT_WORK:
                held += [Stage.JOINT_WORK.value] * rng.randint(0, 4)
            if pair_status == PairStatus.FINISHED:
                held.append(Stage.FINAL.value)
            end = closed or now - timedelta(days=1)
            step = (end - created) / (len(held) + 1)
            for j, meeting_stage in enumerate(held):
                at = created + step * (j + 1)
                mid = self._meeting(t, pair_id, meeting_stage, MeetingStatus.HELD, at, mentor)
                for member in members:
                    feedback = rng.choice(self.pools["meeting_feedback"])
                    after = at + timedelta(hours=3)
                    responses.append(
                        self.response(member, "meeting_feedback", feedback, after, f"meeting:{mid}")
                    )
            if pair_status == PairStatus.ACTIVE and rng.random() < 0.5:
                soon = now + timedelta(days=rng.randint(1, 10), hours=rng.randint(0, 8))
                self._meeting(t, pair_id, stage.value, MeetingStatus.CONFIRMED, soon, mentor)
            if pair_status == PairStatus.FINISHED and closed is not None:
                for member in members:
                    answers = {
                        **rng.choice(self.pools["final"]),
                        "role": "mentor" if member == mentor else "mentee",
                        "satisfaction": satisfaction(rng),
                    }
                    after = closed + timedelta(hours=5)
                    responses.append(self.response(member, "final", answers, after, final_context(pair_id)))

        # The template's monitoring campaign (closed), its invitations and answers.
        months = self.settings.get("monitoring_months") or [12, 6]
        month = max((m for m in months if date(year_start.year + (m < 9), m, 1) <= self.today), default=None)
        if month is not None:
            opened = datetime(year_start.year + (month < 9), month, 1, 6, tzinfo=now.tzinfo)
            closes = opened + timedelta(days=21)
            cid = self.next(Campaign)
            t["campaigns"].append(
                dict(
                    id=cid,
                    programme_id=prog,
                    form_id="intermediate",
                    period=f"{opened:%Y-%m}",
                    status=(CampaignStatus.CLOSED if closes <= now else CampaignStatus.OPEN).value,
                    opened_at=opened,
                    closes_at=closes,
                )
            )
            for pid in paired:
                t["outbox"].append(
                    dict(
                        chat_id=FIRST_TG + pid,
                        participant_id=pid,
                        kind="campaign",
                        method="sendMessage",
                        payload={"text": "Пройдите, пожалуйста, промежуточный опрос"},
                        priority=5,
                        dedup_key=f"campaign:{cid}:{pid}:invite",
                        batch_id=f"campaign:{cid}",
                        status=OutboxStatus.SENT.value,
                        attempts=1,
                        not_before=opened,
                        created_at=opened,
                        sent_at=opened + timedelta(minutes=rng.randint(0, 30)),
                    )
                )
                if rng.random() < 0.7:
                    answers = {**rng.choice(self.pools["intermediate"]), "satisfaction": satisfaction(rng)}
                    at = opened + timedelta(days=rng.randint(0, 20), hours=rng.randint(1, 12))
                    responses.append(self.response(pid, "intermediate", answers, at, f"campaign:{cid}"))

        # The roadmap: done items in the past, open ones ahead, a few overdue.
        for k, activity in enumerate(ROADMAP):
            due = year_start.date() + timedelta(days=20 * k + rng.randint(0, 10))
            done = due < self.today and rng.random() < 0.8
            t["roadmap_items"].append(
                dict(
                    programme_id=prog,
                    section="Организационный этап" if k < 6 else "Основной этап",
                    activity=activity,
                    responsible=None,
                    responsible_id=curator,
                    deadline_text=f"до {due:%d.%m.%Y}",
                    deadline_kind=DeadlineKind.EXACT.value,
                    due_on=due,
                    recurrence={},
                    result=None,
                    status=(ItemStatus.DONE if done else ItemStatus.OPEN).value,
                    done_note=None,
                    done_at=datetime.combine(due, datetime.min.time(), now.tzinfo) if done else None,
                    created_at=year_start,
                    updated_at=year_start,
                )
            )
        return iid, adopted

    def _meeting(
        self,
        t: dict[str, list[dict[str, Any]]],
        pair_id: int,
        stage: str,
        st: MeetingStatus,
        at: datetime,
        by: int,
    ) -> int:
        mid = self.next(Meeting)
        online = self.rng.random() < 0.4
        t["meetings"].append(
            dict(
                id=mid,
                pair_id=pair_id,
                stage=stage,
                status=st.value,
                starts_at=at,
                ends_at=at + timedelta(hours=1),
                format="online" if online else "offline",
                place="https://telemost.yandex.ru/j/123" if online else "Кабинет 21",
                proposed_by=by,
                sequence=0,
                cancel_reason=None,
                created_at=at - timedelta(days=3),
                updated_at=at,
                held_at=at + timedelta(hours=1) if st == MeetingStatus.HELD else None,
            )
        )
        return mid


TEMPLATES = load_templates()
# Insert order (foreign keys): institutions first (inserted on their own, before the programme update).
ORDER: tuple[type[Any], ...] = (
    Institution,
    Programme,
    Participant,
    ParticipantRole,
    CuratorProgramme,
    Consent,
    AuditEntry,
    ParentLink,
    MentorProfile,
    Pair,
    PairMember,
    Meeting,
    FormResponse,
    Campaign,
    OutboxMessage,
    RoadmapItem,
)


# ------------------------------------------------------------------------------------------ measuring
class QueryCounter:
    """Counts the SQL statements the app's engine sends while `on` is set."""

    def __init__(self, h: Harness) -> None:
        self.n = 0
        self.kept = 0  # of them, writes of an institution's kept aggregate (district_figures)
        self.on = False
        event.listen(h.app.engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if self.on:
            self.n += 1
            if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE") and "district_figures" in statement:
                self.kept += 1

    async def around(self, work: Callable[[], Awaitable[Any]]) -> int:
        self.n, self.on = 0, True
        try:
            await work()
        finally:
            self.on = False
        return self.n


async def timed_send(u: Client, command: str) -> tuple[float, list[SentMessage]]:
    """Seconds from the raw update to the handler's last reply (the harness feeds the dispatcher), and the
    messages the command produced."""
    h = u.h
    real_feed = h.feed
    took = [0.0]

    async def feed(update: dict[str, Any]) -> None:
        t0 = time.perf_counter()
        await real_feed(update)
        took[0] = time.perf_counter() - t0

    h.feed = feed  # type: ignore[method-assign]
    try:
        new = await u.send(command)
    finally:
        h.feed = real_feed  # type: ignore[method-assign]
    return took[0], new


def refusal_texts() -> set[str]:
    t = Translator("ru")
    return {t("common.stray"), t("access.denied"), t("access.denied_role")}


def describe(msgs: list[SentMessage]) -> str:
    if not msgs:
        return "no reply"
    m = msgs[-1]
    return f"{m.method}: {(m.text or '')[:60]!r}"


@dataclass
class Result:
    label: str
    institutions: int
    participants: int
    queries_small: int
    queries_big: int
    dashboard: list[float]
    seed_s: float
    rows: dict[str, int]
    refresh_s: float | None = None  # the hourly job (None: the product has none); a lower bound if stopped
    refresh_done: bool = False
    refresh_statements: int = 0
    refresh_kept: int = 0  # institutions whose aggregate it wrote before it ended or was stopped
    build_s: float = 0.0  # a lower bound when the report did not finish (report_done False)
    build_statements: int = 0
    report_done: bool = False
    xlsx_s: float = 0.0
    xlsx_kb: float = 0.0
    district: list[float] = field(default_factory=list)
    district_stopped_at: float | None = None  # an update that did not finish within the budget: seconds
    district_handled: bool = True
    district_reply: str = ""

    @property
    def report_s(self) -> float:
        return self.build_s + self.xlsx_s

    @property
    def dashboard_p95_ms(self) -> float:
        return p(self.dashboard, 0.95) * 1000

    @property
    def district_p95_ms(self) -> float | None:
        """The p95 of the timed updates; None when none finished (see district_stopped_at)."""
        return p(self.district, 0.95) * 1000 if self.district else None

    def figures(self) -> dict[str, str]:
        """The key=value figures; ">x" is a lower bound (the work was stopped at the time budget)."""
        report = f"{self.report_s:.2f}" if self.report_done else f">{self.report_s:.1f}"
        if self.district:
            district_ms = self.district_p95_ms or 0.0
            shown, ratio = f"{district_ms:.1f}", f"{district_ms / self.dashboard_p95_ms:.2f}"
        elif self.district_stopped_at is not None:
            lower = self.district_stopped_at * 1000
            shown, ratio = f">{lower:.0f}", f">{lower / self.dashboard_p95_ms:.1f}"
        else:
            shown = ratio = "none"
        return dict(
            institutions=str(self.institutions),
            participants=str(self.participants),
            report_s=report,
            dashboard_p95_ms=f"{self.dashboard_p95_ms:.1f}",
            district_p95_ms=shown,
            ratio=ratio,
        )


async def bench(label: str, url: str, institutions: int, deadline: float) -> Result:
    """Seed `institutions` into the (empty) database at `url` and measure. The report and /district share
    what is left of the time until `deadline` (time.perf_counter()): what does not finish by then is stopped
    and reported as a lower bound."""
    rng = random.Random(SEED)
    fake = FakeTelegram(enforce_limits=False)
    h = await Harness.start(make_settings(url), fake)
    try:
        # Handler cost, not Telegram pacing: replies are not spaced 1/29 s apart in this benchmark.
        h.app.limiter.set_rate(0)
        settings = h.app.settings
        seeder = Seeder(h, rng, h.app.clock())
        await seeder.begin()
        seed_s = await seeder.add(SMALL_INSTITUTIONS)
        counter = QueryCounter(h)
        header = Translator("ru")("dashboard.header")

        async def dashboard(tg: int) -> tuple[float, list[SentMessage]]:
            took, new = await timed_send(h.user(tg, "Curator", "ru"), "/dashboard")
            if not any(header in (m.text or "") for m in new):
                raise SystemExit(f"{label}: /dashboard of {tg} answered {describe(new)}: benchmark invalid")
            return took, new

        # The second institution's curator: the first also holds the rows written before institutions.
        probe = seeder.curators[1]
        await dashboard(probe)  # warms the statement caches: the count is of a steady update
        queries_small = await counter.around(lambda: dashboard(probe))

        seed_s += await seeder.add(institutions - SMALL_INSTITUTIONS)
        async with unit_of_work(h.app.factory) as repos:
            if repos.session.bind.dialect.name == "postgresql":
                await repos.session.execute(text("ANALYZE"))
            people = await repos.session.scalar(select(func.count()).select_from(Participant))
        participants = (people or 0) - 1  # the coordinator
        print(
            f"  {label}: bulk insert of {institutions} institutions, {participants:,} participants: "
            f"{seed_s:.1f} s; " + ", ".join(f"{name} {n:,}" for name, n in seeder.rows.items())
        )
        gc.collect()
        queries_big = await counter.around(lambda: dashboard(probe))

        # /dashboard: curators of institutions across the whole range, one update each.
        await dashboard(seeder.curators[-1])  # untimed: the first update after the bulk load
        dash = []
        for k in range(REPS):
            took, _ = await dashboard(seeder.curators[(k * 7919) % institutions])
            dash.append(took)
        r = Result(
            label, seeder.institutions, participants, queries_small, queries_big, dash, seed_s, seeder.rows
        )

        now = h.app.clock()
        today = now.astimezone(settings.tz).date()
        period = dd.periods_around(today, 1)[0]

        # The hourly job that keeps every institution's aggregate for the district (when the product has
        # one): what /district and the report then read. Cold: nothing is kept yet. It may take REFRESH_SHARE
        # of the time left; stopped, it keeps nothing (its transaction is rolled back).
        job = getattr(h.app.jobs, "district_refresh", None)
        if job is not None:
            budget = max(1.0, (deadline - time.perf_counter()) * REFRESH_SHARE)
            t0 = time.perf_counter()
            counter.n, counter.kept, counter.on = 0, 0, True
            try:
                await asyncio.wait_for(job(), budget)
                r.refresh_done = True
            except TimeoutError:
                pass
            finally:
                counter.on = False
                r.refresh_s = time.perf_counter() - t0
                r.refresh_statements, r.refresh_kept = counter.n, counter.kept
            gc.collect()

        # The report, outside the dispatcher: the figures of every institution (those the job keeps, or
        # computed now), then the workbook. It may take REPORT_SHARE of the time left; /district the rest.
        budget = max(1.0, (deadline - time.perf_counter()) * REPORT_SHARE)
        t0 = time.perf_counter()
        counter.n, counter.on = 0, True
        built: district.District | None = None
        try:
            async with unit_of_work(h.app.factory) as repos:
                built = await asyncio.wait_for(
                    district.build(repos, now, settings.timezone, today, period), budget
                )
        except TimeoutError:
            pass
        finally:
            counter.on = False
            r.build_statements = counter.n
            r.build_s = time.perf_counter() - t0
        if built is not None:
            if len(built.rows) != seeder.institutions:
                raise SystemExit(f"{label}: the district has {len(built.rows)} rows: benchmark invalid")
            t1 = time.perf_counter()
            xlsx = render_xlsx(built, Translator("ru"))
            r.xlsx_s = time.perf_counter() - t1
            r.xlsx_kb = len(xlsx) / 1024
            r.report_done = True
        del built
        gc.collect()

        # /district: the coordinator, REPS times, or as many as fit before the deadline.
        refused = refusal_texts()
        coordinator = h.user(seeder.coordinator or 0, "Coordinator", "ru")
        while len(r.district) < REPS:
            left = deadline - time.perf_counter()
            if r.district and left < max(r.district):
                break  # the next one would not finish in time
            left = max(left, 1.0)
            try:
                took, new = await asyncio.wait_for(timed_send(coordinator, "/district"), left)
            except TimeoutError:
                r.district_stopped_at = left
                break
            r.district_reply = describe(new)
            if not new or any((m.text or "") in refused for m in new):
                r.district_handled = False
                break
            r.district.append(took)
        return r
    finally:
        await h.close()


async def postgres_database() -> tuple[str, Any] | tuple[None, str]:
    """A fresh database on the local PostgreSQL: (url, drop) or (None, why not)."""
    import asyncpg

    try:
        admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        return None, f"PostgreSQL at {PG_ADMIN_DSN} unreachable ({type(exc).__name__})"
    name = f"bench_district_{os.getpid()}_{random.randrange(16**6):06x}"
    await admin.execute(f'CREATE DATABASE "{name}"')

    async def drop() -> None:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", drop


def report(r: Result, prefix: str) -> str:
    """Print one backend's table; return its key=value figures (each key with `prefix`)."""
    print(f"  {r.label}: {r.institutions} institutions × {PER_INSTITUTION} participants")
    print(f"    {'':<30}{'n':>4}  {'p50 ms':>9}  {'p95 ms':>9}  {'max ms':>9}")
    for name, durations in (
        ("/dashboard (a curator)", r.dashboard),
        ("/district (the coordinator)", r.district),
    ):
        if durations:
            print(
                f"    {name:<30}{len(durations):>4}  {p(durations, 0.5) * 1000:9.1f}  "
                f"{p(durations, 0.95) * 1000:9.1f}  {max(durations) * 1000:9.1f}"
            )
    if r.district_stopped_at is not None:
        print(
            f"    /district: {len(r.district)} timed; "
            f"the next did not finish in {r.district_stopped_at:.1f} s (the time left) and was stopped"
        )
    elif 0 < len(r.district) < REPS:
        print(
            f"    /district: timed {len(r.district)} times, not {REPS}: another would not fit the time left"
        )
    if not r.district_handled:
        print(f"    /district is not handled: the coordinator was answered {r.district_reply}")
    if r.refresh_s is not None:
        per_kept = f", {r.refresh_s / r.refresh_kept:.2f} s per institution" if r.refresh_kept else ""
        if r.refresh_done:
            print(
                f"    hourly refresh job (cold): {r.refresh_s:.2f} s, {r.refresh_statements:,} SQL "
                f"statements ({r.refresh_statements / max(1, r.institutions):.0f} per institution{per_kept})"
            )
        else:
            print(
                f"    hourly refresh job (cold): stopped after {r.refresh_s:.1f} s (its share of the time "
                f"left) with {r.refresh_kept} of {r.institutions} institutions computed{per_kept}, "
                f"{r.refresh_statements:,} SQL statements; nothing kept (rolled back)"
            )
            if r.refresh_kept:
                total = r.refresh_s / r.refresh_kept * r.institutions
                print(f"      at that rate the job takes about {total:.0f} s for all {r.institutions}")
    else:
        print("    hourly refresh job: none in this version (the report computes every institution)")
    state = "warm: read what the job kept" if r.refresh_done else "cold: every institution computed"
    per = r.build_statements / max(1, r.institutions)
    print(f"    report and /district below: {state}")
    if r.report_done:
        print(
            f"    report: build {r.build_s:.2f} s ({r.build_statements:,} SQL statements, {per:.0f} per "
            f"institution) + xlsx {r.xlsx_s:.2f} s ({r.xlsx_kb:.0f} KiB) = {r.report_s:.2f} s"
        )
    else:
        print(
            f"    report: build stopped after {r.build_s:.1f} s (its share of the time left), "
            f"{r.build_statements:,} SQL statements so far; the workbook was not rendered"
        )
    print(
        f"    SQL statements of one /dashboard: {r.queries_small} with {SMALL_INSTITUTIONS} institutions, "
        f"{r.queries_big} with {r.institutions}"
    )
    return " ".join(f"{prefix}{key}={value}" for key, value in r.figures().items())


def verdicts(r: Result, peak_mb: float | None) -> None:
    figures = r.figures()
    district_ms = r.district_p95_ms
    checks = [
        (
            f"report < {TARGET_REPORT_S:g} s",
            r.report_done and r.report_s < TARGET_REPORT_S,
            figures["report_s"],
        ),
        (
            f"/dashboard p95 < {TARGET_P95_MS:g} ms",
            r.dashboard_p95_ms < TARGET_P95_MS,
            figures["dashboard_p95_ms"],
        ),
        (
            f"/district p95 < {TARGET_P95_MS:g} ms",
            district_ms is not None and district_ms < TARGET_P95_MS,
            figures["district_p95_ms"],
        ),
        ("queries equal", r.queries_small == r.queries_big, f"{r.queries_small} vs {r.queries_big}"),
    ]
    if peak_mb is not None:
        checks.append((f"peak RSS < {TARGET_RSS_MB:g} MB", peak_mb < TARGET_RSS_MB, f"{peak_mb:.0f} MB"))
    for name, ok, value in checks:
        print(f"  target on {r.label}, {name}: {'met' if ok else 'MISSED'} ({value})")


async def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    print(
        f"district benchmark: /dashboard, /district and the district report through the real dispatcher "
        f"(SQLite with {SQLITE_INSTITUTIONS} institutions, then PostgreSQL with {PG_INSTITUTIONS}; "
        f"{PER_INSTITUTION} participants each)"
    )
    print("  NOTE: the app's RateLimiter interval is set to 0 (≈29/s otherwise): this measures handler")
    print("        cost, not Telegram pacing.")
    print(f"  load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs before the run")
    print(f"  peak RSS after the imports: {rss_mb():.0f} MB")

    with tempfile.TemporaryDirectory() as tmp:
        lite = await bench(
            "SQLite",
            f"sqlite+aiosqlite:///{tmp}/district.db",
            SQLITE_INSTITUTIONS,
            started + SQLITE_DEADLINE_S,
        )
    lite_line = (
        report(lite, "sqlite_")
        + f" sqlite_queries_{SMALL_INSTITUTIONS}={lite.queries_small}"
        + f" sqlite_queries_{lite.institutions}={lite.queries_big}"
    )
    verdicts(lite, None)

    url, drop = await postgres_database()
    pg: Result | None = None
    if url is None:
        print(f"  PostgreSQL: not measured: {drop}")
    else:
        try:
            pg = await bench("PostgreSQL", url, PG_INSTITUTIONS, started + PG_DEADLINE_S)
        finally:
            await drop()
    peak = rss_mb()
    pg_line = report(pg, "") if pg is not None else None
    if pg is not None:
        verdicts(pg, peak)
    print(f"  wall time {time.perf_counter() - started:.0f} s; peak RSS of the process {peak:.0f} MB")
    print(lite_line)
    if pg is None or pg_line is None:
        print(
            f"institutions={PG_INSTITUTIONS} participants=none report_s=none dashboard_p95_ms=none "
            f"district_p95_ms=none ratio=none rss_mb={peak:.0f} queries_{SMALL_INSTITUTIONS}=none "
            f"queries_{PG_INSTITUTIONS}=none"
        )
        return 1
    print(
        f"{pg_line} rss_mb={peak:.0f} queries_{SMALL_INSTITUTIONS}={pg.queries_small} "
        f"queries_{pg.institutions}={pg.queries_big}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
