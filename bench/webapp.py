"""Benchmark: the curator's desk (the Telegram Mini App) with a district of 90,000 people in the database: the
participants page's API for an institution of 3,000, the coordinator's district API over all of them, the
size of a page on the wire, and the page itself drawn by headless Chromium.

Setup: the real app (Harness: migrations, the programme it makes at start) on a temporary SQLite file, its
production web server (bot.metrics.polling_web_app: the desk's page, files and JSON API, the security headers)
listening on a free local port, so that the HTTP client and Chromium both go through real HTTP and gzip. The
database gets, by bulk insert (SQLAlchemy Core executemany, fixed random seed), 30 institutions of 3,000
people each (90,000), each with its programme (the one the app made at start becomes the first's):
- one curator (the curator's role in the institution, their programme and institution chosen);
- 2,400 mentees in classes 5А…11В, mostly active (a few onboarding, awaiting a parent's consent, withdrawn,
  unreachable), 180 mentors (teachers with their position, some senior pupils with their class) and 419
  parents; each with a role in the programme and the institution, and a consent;
- 170 active pairs (a third of them groups of up to five mentees) and a few finished ones.
Plus one coordinator (role "coordinator", no institution, no programme). The signed-in curator works in the
15th institution (not the first: that one also holds the rows written before institutions existed).

Timed, client side (aiohttp, one keep-alive connection, `Accept-Encoding: gzip`), from sending the request
to the whole body read, after a few untimed warm-up requests:
- institution: 200 GET /api/participants of the curator, a realistic mix: no filter (page 0), a later page,
  role=mentee, a class, a search by a Cyrillic surname fragment, sort by class descending. Every answer is
  checked: its total equals what the seed holds for that filter in the curator's institution, and every row
  is one of its people (more than the institution holds, or anyone else's row, is a boundary leak).
- district: GET /api/district of the coordinator: the first request (which may compute and keep every
  institution's aggregate) on its own, then 100 more (which read what it kept).
- payload: the bytes on the wire of one unfiltered page of 50 (read with auto_decompress off), and unzipped.
- page: http://127.0.0.1:<port>/app/?page=participants#tgWebAppData=<initData> in headless Chromium
  (Playwright driving /usr/bin/chromium), from goto to `document.body.dataset.ready === 'participants'` with
  a row in `table#people tbody`: the median of 5 loads, each in a new browser context (empty cache and
  sessionStorage), after one untimed load that warms the browser. Without the page's files: page_ms=nan.

Targets (the issue): institution p95 < 150 ms, responses paged and gzip'd; the table drawn < 1 s.
The whole run takes about half a minute on 2 CPUs (the bulk insert some 6 s, Chromium some 5 s).

Run: python bench/webapp.py   (no arguments; the last line is key=value figures for tracking)
"""

from __future__ import annotations

import sys
from pathlib import Path

# Lets `python bench/webapp.py` import the bot package without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncio
import gc
import gzip
import json
import logging
import math
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp import web
from sqlalchemy import func, insert, select, update

from bot.demo.harness import Harness, make_settings
from bot.demo.telegram import FakeTelegram
from bot.domain.entities import PairStatus, Role, Status
from bot.metrics import polling_web_app
from bot.services.onboarding import CONSENT_VERSION
from bot.webapp.server import static_files
from storage.models import (
    Consent,
    CuratorProgramme,
    Institution,
    Pair,
    PairMember,
    Participant,
    ParticipantRole,
    Programme,
)
from storage.uow import unit_of_work

SEED = 20261207
INSTITUTIONS = 30
MENTEES, MENTORS, PARENTS = 2400, 180, 419  # + 1 curator = 3,000 people per institution
PER_INSTITUTION = 1 + MENTEES + MENTORS + PARENTS
ACTIVE_PAIRS, FINISHED_PAIRS = 170, 6
CHUNK = 5  # institutions per bulk-insert transaction
MINE = 15  # the signed-in curator's institution (1-based)
FIRST_TG = 5_000_000
COORDINATOR_TG = FIRST_TG  # the participants' Telegram ids are FIRST_TG + their id
PAGE_SIZE = 50
INSTITUTION_REQUESTS = 200
DISTRICT_REQUESTS = 100
WARMUP = 6  # untimed requests of each kind before the timed ones
PAGE_LOADS = 5
PAGE_WAIT_MS = 20_000
TARGET_INSTITUTION_P95_MS = 150.0
TARGET_PAGE_MS = 1000.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STATIC = Path(__file__).resolve().parents[1] / "bot" / "webapp" / "static"

# Male surnames; the female form adds «а» (Иванов, Иванова) for all of these.
SURNAMES = (
    "Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров Морозов Волков Алексеев "
    "Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев Макаров Никитин Захаров Зайцев "
    "Соловьёв Борисов Яковлев Григорьев Белов Тарасов"
).split()
MALE = ["Александр", "Дмитрий", "Максим", "Сергей", "Андрей", "Алексей", "Артём", "Илья", "Кирилл", "Михаил"]
MALE += ["Никита", "Матвей", "Роман", "Егор", "Арсений", "Иван", "Денис", "Тимофей", "Владимир", "Глеб"]
FEMALE = ["Анастасия", "Мария", "Дарья", "Анна", "Елизавета", "Полина", "Виктория", "Екатерина", "Софья"]
FEMALE += ["Александра", "Ксения", "Варвара", "Алиса", "Вероника", "Ульяна", "Арина", "Ольга", "Елена"]
# Male patronymics; the female form ends in «на» instead of «ич» (Сергеевич, Сергеевна).
PATRONYMICS = "Александрович Сергеевич Андреевич Викторович Павлович Игоревич Николаевич Владимирович".split()
CLASSES = [f"{grade}{letter}" for grade in range(5, 12) for letter in "АБВ"]
SENIOR_CLASSES = [c for c in CLASSES if c.startswith(("10", "11"))]
POSITIONS = [
    "Учитель математики",
    "Учитель русского языка и литературы",
    "Учитель истории",
    "Учитель физики",
    "Учитель информатики",
    "Педагог-психолог",
    "Социальный педагог",
    "Классный руководитель",
]
# What a curator types into the search: surname fragments, as typed (capitalised or not).
FRAGMENTS = ["Кузнец", "смирн", "Лебедев", "соловь", "Фёдоров", "ИВАНОВ", "Зайц", "никит"]


def p(durations: list[float], q: float) -> float:
    """The q-quantile (nearest rank), in the units given."""
    ordered = sorted(durations)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def spread(label: str, durations: list[float]) -> str:
    ms = [d * 1000 for d in durations]
    return (
        f"  {label:<34}{len(ms):5d}   p50 {p(ms, 0.5):7.1f}   p95 {p(ms, 0.95):7.1f}   "
        f"p99 {p(ms, 0.99):7.1f}   max {max(ms):7.1f} ms"
    )


# ------------------------------------------------------------------------------------------ seeding
@dataclass
class Person:
    """What the participants page shows of a seeded person (to check the API's answers against)."""

    id: int
    name: str
    group: str | None  # the class (participants.group_name), what the class filter matches
    role: str
    status: str


@dataclass
class Seeder:
    h: Harness
    rng: random.Random
    now: datetime
    ids: dict[str, int] = field(default_factory=dict)
    institutions: list[int] = field(default_factory=list)
    programmes: list[int] = field(default_factory=list)
    curators: list[int] = field(default_factory=list)  # Telegram ids, by institution
    people: dict[int, list[Person]] = field(default_factory=dict)  # institution id → its people
    rows: dict[str, int] = field(default_factory=dict)
    default_programme: int | None = None

    def next(self, model: type[Any]) -> int:
        name = model.__tablename__
        self.ids[name] += 1
        return self.ids[name]

    async def begin(self) -> None:
        """Where the ids start, the programme the app made at start, the coordinator."""
        async with unit_of_work(self.h.app.factory) as repos:
            s = repos.session
            for model in (Institution, Programme, Participant, Pair):
                self.ids[model.__tablename__] = await s.scalar(select(func.max(model.id))) or 0
            active = await repos.programmes.active()
            self.default_programme = active[0].id if len(active) == 1 else None
            pid = self.next(Participant)
            await s.execute(
                insert(Participant),
                [self.person(pid, COORDINATOR_TG, "Орлова Татьяна Викторовна", None, "Методист ММЦ")],
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
            await s.execute(insert(Consent), [self.consent(COORDINATOR_TG, pid, self.now)])

    def person(
        self,
        pid: int,
        tg: int,
        name: str,
        group: str | None,
        position: str | None,
        status: str = Status.ACTIVE.value,
        minor: bool = False,
        unreachable: bool = False,
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
            unreachable=unreachable,
            created_at=joined,
            updated_at=joined,
        )

    @staticmethod
    def consent(tg: int, pid: int, at: datetime) -> dict[str, Any]:
        return dict(
            telegram_id=tg,
            participant_id=pid,
            subject_id=pid,
            kind="self",
            version=CONSENT_VERSION,
            accepted=True,
            decided_at=at,
        )

    def name(self, female: bool, patronymic: bool) -> str:
        rng = self.rng
        surname = rng.choice(SURNAMES) + ("а" if female else "")
        first = rng.choice(FEMALE if female else MALE)
        if not patronymic:
            return f"{surname} {first}"
        middle = rng.choice(PATRONYMICS)
        return f"{surname} {first} {middle[:-2] + 'на' if female else middle}"

    async def add(self, count: int) -> float:
        t0 = time.perf_counter()
        while count > 0:
            n = min(count, CHUNK)
            await self._chunk(n)
            count -= n
            gc.collect()
        return time.perf_counter() - t0

    async def _chunk(self, n: int) -> None:
        t: dict[str, list[dict[str, Any]]] = {m.__tablename__: [] for m in ORDER}
        adopt: tuple[int, int] | None = None
        for _ in range(n):
            iid, adopted = self._institution(t)
            if adopted is not None:
                adopt = (iid, adopted)
        async with unit_of_work(self.h.app.factory) as repos:
            s = repos.session
            for model in ORDER:
                rows = t[model.__tablename__]
                if rows:
                    await s.execute(insert(model), rows)
                    self.rows[model.__tablename__] = self.rows.get(model.__tablename__, 0) + len(rows)
                if model is Institution and adopt is not None:
                    await s.execute(
                        update(Programme)
                        .where(Programme.id == adopt[1])
                        .values(institution_id=adopt[0], title="Наставничество 2026/2027", template="school")
                    )

    def _institution(self, t: dict[str, list[dict[str, Any]]]) -> tuple[int, int | None]:
        rng, now = self.rng, self.now
        iid = self.next(Institution)
        number = len(self.institutions) + 1
        self.institutions.append(iid)
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
                    template="school",
                    timezone="Europe/Moscow",
                    settings={},
                    created_at=year_start,
                )
            )
        self.programmes.append(prog)
        seen = self.people.setdefault(iid, [])

        def join(role: str, name: str, group: str | None, position: str | None, **kw: Any) -> int:
            pid = self.next(Participant)
            tg = FIRST_TG + pid
            joined = year_start + timedelta(days=rng.randint(1, 60), minutes=rng.randint(0, 1440))
            row = self.person(pid, tg, name, group, position, joined=joined, **kw)
            t["participants"].append(row)
            t["participant_roles"].append(
                dict(
                    participant_id=pid,
                    role=role,
                    programme_id=None if role == Role.CURATOR else prog,
                    institution_id=iid,
                    created_at=joined,
                )
            )
            t["consents"].append(self.consent(tg, pid, joined))
            seen.append(Person(pid, name, group, role, row["status"]))
            return pid

        curator = join(Role.CURATOR.value, self.name(True, True), None, "Заместитель директора по УВР")
        self.curators.append(FIRST_TG + curator)
        t["curator_programmes"].append(
            dict(participant_id=curator, programme_id=prog, institution_id=iid, updated_at=year_start)
        )

        def status() -> str:
            x = rng.random()
            if x < 0.85:
                return Status.ACTIVE.value
            if x < 0.93:
                return Status.ONBOARDING.value
            return Status.AWAITING_PARENT.value if x < 0.97 else Status.WITHDRAWN.value

        mentees = []
        for _ in range(MENTEES):
            st = status()
            pid = join(
                Role.MENTEE.value,
                self.name(rng.random() < 0.5, False),
                rng.choice(CLASSES),
                None,
                status=st,
                minor=True,
                unreachable=rng.random() < 0.02,
            )
            if st == Status.ACTIVE:
                mentees.append(pid)
        mentors = []
        for k in range(MENTORS):
            if k % 4 == 3:  # a senior pupil mentoring younger ones
                mentor = join(Role.MENTOR.value, self.name(rng.random() < 0.5, False), None, None, minor=True)
                t["participants"][-1]["group_name"] = rng.choice(SENIOR_CLASSES)
                seen[-1].group = t["participants"][-1]["group_name"]
            else:
                mentor = join(
                    Role.MENTOR.value, self.name(rng.random() < 0.7, True), None, rng.choice(POSITIONS)
                )
            mentors.append(mentor)
        for _ in range(PARENTS):
            join(Role.PARENT.value, self.name(rng.random() < 0.8, True), None, None)

        # Pairs: most mentors in an active one (a third of them groups), a few finished.
        rng.shuffle(mentees)
        for k in range(ACTIVE_PAIRS + FINISHED_PAIRS):
            finished = k >= ACTIVE_PAIRS
            size = rng.randint(2, 5) if k % 3 == 0 else 1
            group = [mentees.pop() for _ in range(min(size, len(mentees)))]
            if not group:
                break
            pair_id = self.next(Pair)
            created = year_start + timedelta(days=rng.randint(62, 75), hours=rng.randint(0, 10))
            closed = now - timedelta(days=rng.randint(1, 10)) if finished else None
            t["pairs"].append(
                dict(
                    id=pair_id,
                    programme_id=prog,
                    mentor_id=mentors[k % len(mentors)],
                    status=(PairStatus.FINISHED if finished else PairStatus.ACTIVE).value,
                    stage="final"
                    if finished
                    else rng.choice(["introduction", "trial", "planning", "joint_work"]),
                    created_at=created,
                    approved_by=curator,
                    closed_at=closed,
                    close_reason=None,
                )
            )
            for mentee in group:
                t["pair_members"].append(
                    dict(pair_id=pair_id, mentee_id=mentee, joined_at=created, left_at=None, dissolved=False)
                )
        return iid, adopted


# Insert order (foreign keys).
ORDER: tuple[type[Any], ...] = (
    Institution,
    Programme,
    Participant,
    ParticipantRole,
    CuratorProgramme,
    Consent,
    Pair,
    PairMember,
)


# ------------------------------------------------------------------------------------------ expected answers
def expected_total(people: list[Person], params: dict[str, str]) -> int:
    """How many of the institution's people match the filter, from the seed (search folds case and «ё»)."""
    from storage.search import fold

    n = 0
    key = fold(params["q"]) if params.get("q") else ""
    for x in people:
        if params.get("role") and x.role != params["role"]:
            continue
        if params.get("group") and x.group != params["group"]:
            continue
        if key and key not in fold(x.name) and key not in fold(x.group or ""):
            continue
        n += 1
    return n


def request_mix(rng: random.Random, n: int) -> list[tuple[str, dict[str, str]]]:
    """n participants requests, the six kinds in turn, their parameters varied."""
    pages = PER_INSTITUTION // PAGE_SIZE
    kinds = [
        ("no filter, page 0", lambda: {}),
        ("a later page", lambda: {"page": str(rng.randint(1, pages - 1))}),
        ("role=mentee", lambda: {"role": "mentee", "page": str(rng.choice([0, 0, 1, 5]))}),
        ("a class", lambda: {"group": rng.choice(CLASSES)}),
        ("search a surname", lambda: {"q": rng.choice(FRAGMENTS)}),
        ("sort=group desc", lambda: {"sort": "group", "dir": "desc", "page": str(rng.choice([0, 0, 2]))}),
    ]
    return [(kinds[i % len(kinds)][0], kinds[i % len(kinds)][1]()) for i in range(n)]


# ------------------------------------------------------------------------------------------ measuring
async def timed_get(
    session: aiohttp.ClientSession, url: str, auth: str, params: dict[str, str] | None = None
) -> tuple[float, int, bytes, Any]:
    """Seconds from sending the request to the whole body read; the status, body and headers."""
    t0 = time.perf_counter()
    async with session.get(url, params=params, headers={"Authorization": auth}) as r:
        body = await r.read()
    return time.perf_counter() - t0, r.status, body, r.headers


@dataclass
class Leaks:
    boundary: list[str] = field(default_factory=list)  # more than the institution holds, or others' rows
    mismatch: list[str] = field(default_factory=list)  # not what the seed holds for the filter


async def bench_institution(
    session: aiohttp.ClientSession, base: str, auth: str, seeder: Seeder, iid: int
) -> tuple[list[float], dict[str, list[float]], Leaks]:
    people = seeder.people[iid]
    mine = {x.id for x in people}
    leaks = Leaks()
    rng = random.Random(SEED + 1)
    url = f"{base}/api/participants"

    async def one(kind: str, params: dict[str, str]) -> float:
        took, status, body, _ = await timed_get(session, url, auth, params)
        if status != 200:
            raise SystemExit(
                f"GET /api/participants {params} answered {status}: {body[:300]!r}: benchmark invalid"
            )
        data = json.loads(body)
        total, items = data["total"], data["items"]
        foreign = [i["id"] for i in items if i["id"] not in mine]
        if total > len(people) or foreign:
            leaks.boundary.append(
                f"{kind} {params}: total {total} (the institution holds {len(people)}), "
                f"{len(foreign)} rows of other institutions"
            )
        want = expected_total(people, params)
        if total != want:
            leaks.mismatch.append(f"{kind} {params}: total {total}, the seed holds {want}")
        size = int(params.get("size", PAGE_SIZE))
        page = int(params.get("page", 0))
        if len(items) != max(0, min(size, total - page * size)):
            leaks.mismatch.append(f"{kind} {params}: {len(items)} rows on the page of {total}")
        return took

    for kind, params in request_mix(rng, WARMUP * 6):  # untimed: the statement caches warm up
        await one(kind, params)
    by_kind: dict[str, list[float]] = {}
    durations = []
    for kind, params in request_mix(rng, INSTITUTION_REQUESTS):
        took = await one(kind, params)
        by_kind.setdefault(kind, []).append(took)
        durations.append(took)
    return durations, by_kind, leaks


async def bench_district(
    session: aiohttp.ClientSession, base: str, auth: str
) -> tuple[float, list[float], int]:
    url = f"{base}/api/district"

    async def one() -> float:
        took, status, body, _ = await timed_get(session, url, auth)
        if status != 200:
            raise SystemExit(f"GET /api/district answered {status}: {body[:300]!r}: benchmark invalid")
        rows = len(json.loads(body)["rows"])
        if rows != INSTITUTIONS:
            raise SystemExit(f"GET /api/district has {rows} rows, not {INSTITUTIONS}: benchmark invalid")
        return took

    first = await one()
    durations = [await one() for _ in range(DISTRICT_REQUESTS)]
    return first, durations, INSTITUTIONS


async def payload(base: str, auth: str) -> tuple[int, int, str]:
    """Bytes on the wire of an unfiltered page of 50, unzipped bytes, and the Content-Encoding."""
    async with aiohttp.ClientSession(auto_decompress=False) as raw:
        async with raw.get(
            f"{base}/api/participants",
            params={"page": "0", "size": str(PAGE_SIZE)},
            headers={"Authorization": auth, "Accept-Encoding": "gzip"},
        ) as r:
            body = await r.read()
            encoding = r.headers.get("Content-Encoding", "")
            length = int(r.headers.get("Content-Length") or len(body))
    plain = gzip.decompress(body) if encoding == "gzip" else body
    if length != len(body):
        print(f"  NOTE: Content-Length {length} but {len(body)} bytes read")
    return len(body), len(plain), encoding


# A function, not an expression: Playwright evaluates an expression with eval(), which the page's CSP forbids.
READY_JS = (
    "() => !!document.body && document.body.dataset.ready === 'participants' "
    "&& !!document.querySelector('table#people tbody tr')"
)
# Records, inside the page, when it was first drawn (ms since navigation start); set before the page's own
# scripts run (Playwright's init script is not subject to the page's CSP).
MARK_JS = """
(() => {
  const check = () => {
    if (window.__deskDrawn === undefined && document.body && document.body.dataset.ready === 'participants'
        && document.querySelector('table#people tbody tr')) {
      window.__deskDrawn = performance.now();
      return true;
    }
    return false;
  };
  const watch = () => {
    if (check()) return;
    new MutationObserver((_, obs) => { if (check()) obs.disconnect(); })
      .observe(document.documentElement, {subtree: true, childList: true, attributes: true});
  };
  if (document.documentElement) watch(); else document.addEventListener('DOMContentLoaded', watch);
})();
"""


async def bench_page(base: str, init_data: str) -> tuple[list[float], list[float], float, int, list[str]]:
    """Loads of the participants page: wall seconds each, in-page ms to the table each, the warm-up load's
    seconds, the rows drawn, the page's errors."""
    from playwright.async_api import async_playwright

    theme = quote(json.dumps({"bg_color": "#ffffff", "text_color": "#1b1b1b", "button_color": "#2481cc"}))
    fragment = urlencode(
        {"tgWebAppData": init_data, "tgWebAppVersion": "8.0", "tgWebAppPlatform": "tdesktop"}, quote_via=quote
    )
    url = f"{base}/app/?page=participants#{fragment}&tgWebAppThemeParams={theme}"
    errors: list[str] = []
    walls: list[float] = []
    inner: list[float] = []
    warm = 0.0
    rows = 0
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for k in range(PAGE_LOADS + 1):
                context = await browser.new_context(viewport={"width": 390, "height": 844})
                try:
                    await context.add_init_script(MARK_JS)
                    page = await context.new_page()
                    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                    page.on("pageerror", lambda e: errors.append(str(e)))
                    t0 = time.perf_counter()
                    await page.goto(url, wait_until="commit")
                    await page.wait_for_function(READY_JS, timeout=PAGE_WAIT_MS, polling="raf")
                    took = time.perf_counter() - t0
                    drawn = await page.evaluate("window.__deskDrawn")
                    rows = await page.locator("table#people tbody tr").count()
                    if k == 0:
                        warm = took
                    else:
                        walls.append(took)
                        if isinstance(drawn, int | float):
                            inner.append(float(drawn))
                finally:
                    await context.close()
        finally:
            await browser.close()
    return walls, inner, warm, rows, errors


def page_missing() -> str | None:
    """Why the page cannot be measured (None: it can)."""
    missing = [name for name in ("index.html", "app.js") if not (STATIC / name).is_file()]
    if missing:
        return f"{', '.join(missing)} not in {STATIC} (the front end is not there)"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM}"
    return None


async def serve(h: Harness) -> tuple[web.AppRunner, str, set[str]]:
    """The production web app on a free local port: the runner, its base URL, the page files it serves."""
    runner = web.AppRunner(polling_web_app(h.app), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}", set(static_files())


# ------------------------------------------------------------------------------------------ main
async def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    print(
        f"webapp benchmark: the curator's desk over HTTP, {INSTITUTIONS} institutions × {PER_INSTITUTION:,} "
        f"people ({INSTITUTIONS * PER_INSTITUTION:,}) on SQLite"
    )
    print(
        f"  Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"aiohttp {aiohttp.__version__}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f} before the run"
    )
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        fake = FakeTelegram(enforce_limits=False)
        settings = make_settings(
            f"sqlite+aiosqlite:///{tmp}/webapp.db", web_app_url="http://127.0.0.1/app/", curator_ids=""
        )
        h = await Harness.start(settings, fake)
        runner: web.AppRunner | None = None
        try:
            seeder = Seeder(h, rng, h.app.clock())
            await seeder.begin()
            seed_s = await seeder.add(INSTITUTIONS)
            async with unit_of_work(h.app.factory) as repos:
                people = await repos.session.scalar(select(func.count()).select_from(Participant))
            print(
                f"  bulk insert: {seed_s:.1f} s; participants {people:,} (the coordinator included), "
                + ", ".join(f"{name} {n:,}" for name, n in seeder.rows.items() if name != "participants")
            )
            gc.collect()
            gc.freeze()  # the seed's objects are not scanned again by every collection of the timed part

            runner, base, files = await serve(h)
            iid = seeder.institutions[MINE - 1]
            curator_tg = seeder.curators[MINE - 1]
            curator_auth = "tma " + fake.init_data(curator_tg, first_name="Анна")
            coordinator_auth = "tma " + fake.init_data(COORDINATOR_TG, first_name="Татьяна")
            print(
                f"  served at {base} (polling_web_app); "
                f"the page's files: {', '.join(sorted(files)) or 'none'}"
            )

            async with aiohttp.ClientSession(headers={"Accept-Encoding": "gzip"}) as session:
                took, status, body, _ = await timed_get(session, f"{base}/api/me", curator_auth)
                me = json.loads(body) if status == 200 else {}
                where = (me.get("institution") or {}).get("title")
                if status != 200 or not me.get("can", {}).get("institution") or where != f"МБОУ СОШ № {MINE}":
                    raise SystemExit(f"/api/me of the curator: {status} {body[:300]!r}: benchmark invalid")
                print(f"  /api/me of the curator: {took * 1000:.1f} ms, {where}, roles {me['roles']}")

                # -- the institution's participants
                durations, by_kind, leaks = await bench_institution(session, base, curator_auth, seeder, iid)
                print(f"  GET /api/participants, the curator of {where} ({PER_INSTITUTION:,} people):")
                for kind, values in by_kind.items():
                    print(spread(kind, values))
                print(spread("all", durations))
                if leaks.boundary:
                    print("  !!! BOUNDARY LEAK: answers hold more than the curator's institution:")
                    for line in leaks.boundary[:10]:
                        print(f"  !!!   {line}")
                else:
                    print(
                        f"  every answer within the institution "
                        f"(totals ≤ {PER_INSTITUTION:,}, no other's rows)"
                    )
                if leaks.mismatch:
                    print(f"  !!! {len(leaks.mismatch)} answers differ from the seed:")
                    for line in leaks.mismatch[:10]:
                        print(f"  !!!   {line}")
                else:
                    print("  every total equals what the seed holds for its filter")

                # -- the district
                first, district, rows = await bench_district(session, base, coordinator_auth)
                print(f"  GET /api/district, the coordinator ({rows} institutions, {people - 1:,} people):")
                print(f"  {'the first (computes and keeps)':<34}    1   {first * 1000:.1f} ms")
                print(spread("then", district))

            # -- the payload
            wire, plain, encoding = await payload(base, curator_auth)
            payload_kb = wire / 1024
            print(
                f"  one unfiltered page of {PAGE_SIZE}: {wire:,} bytes on the wire "
                f"(Content-Encoding: {encoding or 'none'}), {plain:,} bytes unzipped "
                f"({plain / max(wire, 1):.1f}×)"
            )
            if encoding != "gzip":
                print("  !!! the page was NOT gzip'd")

            # -- the page in Chromium
            page_ms = math.nan
            missing = page_missing()
            if missing:
                print(f"  page: not measured: {missing}")
            else:
                if not {"index.html", "app.js"} <= files:  # the files came after the server read them
                    await runner.cleanup()
                    runner, base, files = await serve(h)
                walls, inner, warm, shown, errors = await bench_page(
                    base, fake.init_data(curator_tg, first_name="Анна")
                )
                page_ms = statistics.median(walls) * 1000
                print(
                    f"  page ?page=participants in headless Chromium, goto → table drawn ({shown} rows): "
                    f"warm-up {warm * 1000:.0f} ms, then {PAGE_LOADS} loads "
                    + ", ".join(f"{w * 1000:.0f}" for w in walls)
                    + f" ms; median {page_ms:.0f} ms"
                )
                if inner:
                    print(
                        "    measured inside the page (navigation start → drawn): "
                        f"median {statistics.median(inner):.0f} ms"
                    )
                if errors:
                    print(f"  !!! {len(errors)} errors in the page's console: {errors[:3]}")
        finally:
            if runner is not None:
                await runner.cleanup()
            await h.close()

    institution_p95 = p(durations, 0.95) * 1000
    district_p95 = p(district, 0.95) * 1000
    print(f"  district_first_ms={first * 1000:.1f} (excluded from the district's p95)")
    verdict = "met" if institution_p95 < TARGET_INSTITUTION_P95_MS and not leaks.boundary else "MISSED"
    print(
        f"  target, the institution's p95 < {TARGET_INSTITUTION_P95_MS:g} ms within its boundary: {verdict} "
        f"({institution_p95:.1f} ms)"
    )
    if not math.isnan(page_ms):
        print(
            f"  target, the table drawn < {TARGET_PAGE_MS:g} ms: "
            f"{'met' if page_ms < TARGET_PAGE_MS else 'MISSED'} ({page_ms:.0f} ms)"
        )
    print(f"  wall time {time.perf_counter() - started:.0f} s")
    print(
        f"institution_p95_ms={institution_p95:.1f} district_p95_ms={district_p95:.1f} "
        f"payload_kb={payload_kb:.1f} page_ms={'nan' if math.isnan(page_ms) else f'{page_ms:.0f}'}"
    )
    return 1 if leaks.boundary else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
