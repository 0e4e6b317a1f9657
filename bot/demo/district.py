"""`nastavnik demo --district`: a district of three institutions and its coordinator, offline.

The coordinator (made one as `nastavnik add-coordinator` does) adds three institutions in /institutions and
invites each one's curator by link; each curator creates a programme from a seed template (school, college,
young specialists) through /programme, invites mentors and mentees (the template's demo cast, every mentee
an adult here: no parents), approves the mentors and matches the pairs with /match, as the single-programme
demo does (bot/demo/runner.py's Demo drives each institution). Then the school's curator presses a forged
button naming the college's mentee (the bot refuses it), and the coordinator reads /district and takes the
consolidated /district_report: the workbook and the chart are written beside the transcript and the demo's
SQLite database. Everyone acts only through the chat, on the fake Telegram, with a simulated clock; a step
the bot does not let them take fails the run (DemoError)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import re
import sys
import time as walltime
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from bot.callbacks.dashboard import PeopleAction, PeopleCb
from bot.cli import _add_role
from bot.demo.cast import TZ, TZ_NAME, Cast, Persona, load_cast
from bot.demo.harness import Client, Harness, make_settings
from bot.demo.runner import SCRIPT, Demo, DemoError, Person, lines_of, plain, run_logged
from bot.demo.telegram import SEND_METHODS, FakeTelegram, SentMessage
from bot.domain.programme_templates import load_templates
from bot.i18n import Translator
from storage.uow import unit_of_work

COORDINATOR_TG = 7000
START = datetime(2026, 9, 1, 9, 0, tzinfo=TZ)
FILES = ("district-report.xlsx", "district-chart.png")
_LINK = re.compile(r"https://t\.me/\S+\?start=([A-Za-z0-9_-]+)")

# The three institutions: the seed template each one's programme is made from, its title as the coordinator
# types it, its curator.
INSTITUTIONS: tuple[tuple[str, dict[str, str], str], ...] = (
    ("school", {"ru": "МБОУ СОШ № 5", "en": "School No. 5"}, "Лебедева Ирина Олеговна"),
    ("college", {"ru": "Колледж искусств", "en": "College of Arts"}, "Соколов Денис Андреевич"),
    (
        "young_specialists",
        {
            "ru": "Центр дополнительного образования «Радуга»",
            "en": "Raduga Centre for Out-of-School Education",
        },
        "Морозова Алла Викторовна",
    ),
)
COORDINATOR_NAME = "Ковалёва Елена Викторовна"

# What the transcript tells that the single-programme demo's texts (locales/*/demo.yaml) do not.
LANGUAGES = ("ru", "en")  # the transcript's own texts: locales/*/demo_district.yaml


@dataclass
class DistrictResult:
    out_dir: Path  # the FILES, transcript.txt and demo.db
    transcript: Path
    database: Path
    workbook: Path
    chart: Path
    counts: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # every person's full name as they typed it
    coordinator_saw: list[str] = field(default_factory=list)  # every text and caption the coordinator got


def adult_cast(template: str) -> Cast:
    """The template's demo cast with every mentee an adult (no parent's consent) and nobody putting their
    questionnaire aside: the district demo is about the district, not about one programme's year."""
    cast = load_cast(template)
    mentees = []
    for i, p in enumerate(cast.mentees):
        group = f"11{'АБВГ'[i % 4]}" if template == "school" and p.parent else p.group  # an 18-year-old
        mentees.append(replace(p, parent="", group=group))
    odd = dict(cast.on_purpose, pauses_form=None)
    return replace(cast, mentees=tuple(mentees), on_purpose=odd)


class _Programme(Demo):
    """One institution's programme, driven by the single-programme demo's steps on the district's harness
    and the district's clock (``now`` is the district's)."""

    def __init__(self, district: DistrictDemo, cast: Cast, seed: int) -> None:
        self.district = district
        super().__init__(district.out_dir, district.lang, seed, district.echo, cast)
        self.lines = district.lines  # one transcript
        self.problems = district.problems

    @property  # type: ignore[override]
    def now(self) -> datetime:
        return self.district.now

    @now.setter
    def now(self, value: datetime) -> None:
        self.district.now = value


class DistrictDemo:
    def __init__(self, out_dir: Path, lang: str, seed: int, echo: Callable[[str], None]) -> None:
        self.out_dir, self.lang, self.echo = Path(out_dir), lang, echo
        self.t = Translator(lang)
        self.words = _Words(self.t)
        self.lines: list[str] = []
        self.problems: list[str] = []
        self.now = START.astimezone(UTC)
        self.updates = 0
        self.programmes = [
            _Programme(self, adult_cast(tpl), seed + i) for i, (tpl, _, _) in enumerate(INSTITUTIONS)
        ]
        self.now = START.astimezone(UTC)  # each programme's Demo set its cast's start
        self.db = self.out_dir / "demo.db"  # the Demos removed the previous run's
        self.ids: list[int] = []  # the institutions' numbers, in INSTITUTIONS' order

    # -- the transcript ----------------------------------------------------------------------------------
    def plain(self, *lines: str) -> None:
        for line in lines:
            self.lines.append(line)
            self.echo(line)

    def say(self, key: str, **params: Any) -> None:
        self.plain(f"{self.now.astimezone(TZ):%d.%m %H:%M} {self.words[key].format(**params)}")

    def block(self, lines: list[str]) -> None:
        self.plain(*(" " * 13 + line for line in lines))

    def later(self, minutes: int = 0, *, day: int | None = None, at: str | None = None) -> None:
        """Move the clock on: by ``minutes``, or to ``at`` (HH:MM) on day ``day`` of the run."""
        if day is not None and at is not None:
            hh, mm = (int(x) for x in at.split(":"))
            moment = datetime.combine(START.date() + timedelta(days=day), datetime.min.time(), TZ)
            self.now = max(self.now, moment.replace(hour=hh, minute=mm).astimezone(UTC))
        self.now += timedelta(minutes=minutes)

    def section(self, n: int) -> None:
        tpl, title = self.programmes[n].template, INSTITUTIONS[n][1][self.lang]
        template = tpl.title_for(self.lang) if tpl else ""
        self.plain(
            "", self.words["section_institution"].format(id=self.ids[n], title=title, template=template)
        )

    # -- the chat ----------------------------------------------------------------------------------------
    async def tap(self, c: Client, label: str, msg: SentMessage | None = None) -> list[SentMessage]:
        for m in [msg] if msg else reversed(self.h.fake.delivered_to(c.id)):
            for b in m.buttons():
                if b.get("text") == label and "callback_data" in b:
                    return await c.press(b["callback_data"], m)
        raise DemoError(f"no button “{label}” under “{plain((msg or c.last()).text)[:80]}”")

    async def pump(self) -> None:
        """Each programme's people read what the bot sent them; a refused button is a remark once."""
        looked = 0
        for programme in self.programmes:
            programme._alerts = max(programme._alerts, looked)
            await programme.pump()
            looked = programme._alerts

    # -- the story ---------------------------------------------------------------------------------------
    async def start(self) -> None:
        me = {"curator_ids": "", "default_language": self.lang, "timezone": TZ_NAME}
        settings = make_settings(f"sqlite+aiosqlite:///{self.db}", **me, **SCRIPT["settings"])
        self.h = (await Harness.start(settings, FakeTelegram(), clock=lambda: self.now)).unpaced()
        feed = self.h.feed

        async def counted(update: dict[str, Any]) -> None:
            self.updates += 1
            await feed(update)

        self.h.feed = counted  # type: ignore[method-assign]
        forms = self.h.app.dp["engine"].forms
        for programme in self.programmes:
            programme.h, programme.forms = self.h, forms
            programme.titles = {key: form.title.get(self.lang) for key, form in forms.items()}

    async def coordinator_joins(self) -> None:
        self.say("coordinator_role", tg=COORDINATOR_TG)
        with contextlib.redirect_stdout(io.StringIO()):  # what the command prints
            if await _add_role(self.h.app.settings.database_url, COORDINATOR_TG, "coordinator", None):
                raise DemoError("the coordinator's role was not given")
        name = COORDINATOR_NAME.translate(self.programmes[0].latin)
        self.coordinator = self.h.user(COORDINATOR_TG, name.split()[1], self.lang)
        c = self.coordinator
        await c.send("/start")
        await self.tap(c, self.t("consent.accept"))
        await c.send(name)
        self.say("coordinator_joins", who=" ".join(name.split()[1::-1]))

    async def add_institution(self, n: int) -> None:
        _, titles, curator_name = INSTITUTIONS[n]
        c, t, title, programme = self.coordinator, self.t, titles[self.lang], self.programmes[n]
        await c.send("/institutions")
        await self.tap(c, t("institutions.btn.add"))
        self.say("institutions", button=t("institutions.btn.add"))
        reply = (await c.send(title))[-1]
        created = programme.reads("institutions.created", reply.text)
        if created is None or created["title"] != title:
            raise DemoError(f"the institution «{title}» was not added: {plain(reply.text)[:100]}")
        self.ids.append(int(created["id"]))
        self.say("created", title=title, reply=plain(reply.text))
        label = t("institutions.btn.invite", id=created["id"])
        link = _LINK.search((await self.tap(c, label, reply))[-1].text or "")
        if link is None:
            raise DemoError(f"no link for the curator of «{title}»")
        self.say("curator_link", button=label)
        self.later(25)
        curator = programme.person(Persona("curator", curator_name, "curator"), 1100 + n + 1)
        programme.curator = curator
        await programme.sign_up(curator, link.group(1))
        self.say("curator_joins", who=curator.short, title=title)

    async def institution(self, n: int) -> None:
        """Day n+1 of the run: the curator's programme from the template, the people invited; they join and
        fill in their questionnaires through the day."""
        p, tpl = self.programmes[n], self.programmes[n].template
        assert tpl is not None
        self.section(n)
        self.later(day=1 + n, at="10:05")
        await p.create_programme(tpl)
        self.later(10)
        links = {role: await p.invite(role) for role in ("mentor", "mentee")}
        base = 2000 + 100 * n
        people = [("mentor", x) for x in p.cast.mentors] + [("mentee", x) for x in p.cast.mentees]
        for i, (role, persona) in enumerate(people):
            self.later(day=1 + n, at=f"{12 + i}:{p.rng.randint(0, 50):02d}")
            person = p.person(persona, base + i + (0 if role == "mentor" else 50))
            await p.join(person, links[role])
        await self.pump()

    async def pairs(self) -> None:
        """The mentor bases (day 7), then the matching (day 8), institution by institution."""
        for step, day, how in (("mentor_base", 7, Demo.mentor_base), ("matching", 8, Demo.match)):
            self.plain("", self.t(f"demo.section.{step}"))
            for n, p in enumerate(self.programmes):
                self.later(day=day, at=f"{10 + 2 * n}:30")
                self.plain(self.words["in"].format(id=self.ids[n], title=INSTITUTIONS[n][1][self.lang]))
                await how(p)
                await self.pump()

    async def forged_press(self) -> None:
        """The school's curator presses a card button naming the college's first mentee."""
        school, college = self.programmes[0], self.programmes[1]
        self.plain("", self.words["section_forged"])
        self.later(day=9, at="11:15")
        target = college.people[college.cast.mentees[0].key]
        async with unit_of_work(self.h.app.factory) as repos:
            other = await repos.participants.by_telegram_id(target.client.id)
        if other is None:
            raise DemoError(f"{target.short} is not in the database")
        c, before = school.curator.client, len(self.h.fake.requests)
        self.say(
            "forged",
            who=school.curator.short,
            own=INSTITUTIONS[0][1][self.lang],
            id=other.id,
            other=INSTITUTIONS[1][1][self.lang],
        )
        replies = await c.press(PeopleCb(a=PeopleAction.CARD, n=other.id).pack())
        alerts = [
            r.params.get("text", "")
            for r in self.h.fake.requests[before:]
            if r.method == "answerCallbackQuery" and r.params.get("text")
        ]
        if self.t("access.other_institution") not in alerts:
            raise DemoError(f"the forged press was not refused as another institution's: {alerts or replies}")
        self.say("refused", who=school.curator.short, alert=self.t("access.other_institution"))
        shown = "\n".join(plain(m.text) for m in replies)
        if target.name in shown or target.name.split()[0] in shown:
            raise DemoError(f"the forged press showed {target.short} to another institution's curator")
        self.say("no_leak")

    async def report(self) -> tuple[Path, Path]:
        c, t = self.coordinator, self.t
        self.plain("", self.words["section_report"])
        self.later(day=9, at="15:00")
        listing = await c.send("/institutions")
        self.say("listing")
        self.block([x for m in listing for x in lines_of(m.text)])
        self.later(5)
        summary = await c.send("/district")
        text = "\n".join(plain(m.text) for m in summary)
        if t("district.total") not in text or not all(x[1][self.lang] in text for x in INSTITUTIONS):
            raise DemoError(f"/district does not show the three institutions and the total: {text[:200]}")
        self.say("district")
        self.block([x for m in summary for x in lines_of(m.text)])
        self.later(5)
        choose = (await c.send("/district_report"))[-1]
        if not choose.buttons():
            raise DemoError(f"/district_report offered no period: {plain(choose.text)[:100]}")
        period = choose.buttons()[0]["text"]
        self.say("report", period=period)
        before = len(self.h.fake.delivered_to(c.id))
        await self.tap(c, period, choose)
        await self.pump()
        sent = [m for m in self.h.fake.delivered_to(c.id)[before:] if m.document]
        workbook = next((m for m in sent if m.document["filename"].endswith(".xlsx")), None)
        chart = next((m for m in sent if m.document["filename"].endswith(".png")), None)
        if workbook is None or chart is None:
            raise DemoError(
                f"/district_report sent {[m.document['filename'] for m in sent]}, not a workbook and a chart"
            )
        files = ", ".join(m.document["filename"] for m in (workbook, chart))
        self.say("report_sent", caption=plain(workbook.text), files=files)
        paths = (self.out_dir / FILES[0], self.out_dir / FILES[1])
        for path, m in zip(paths, (workbook, chart), strict=True):
            path.write_bytes(m.document["data"])
        self.say("saved", files=", ".join(FILES))
        return paths

    def people(self) -> list[Person]:
        return [p for programme in self.programmes for p in programme.people.values()]

    def private(self, workbook: Path) -> None:
        """No participant's name in anything the coordinator got: messages, captions, the workbook."""
        c = self.coordinator
        sheet = load_workbook(workbook).active
        cells = [str(x) for row in sheet.iter_rows(values_only=True) for x in row if x is not None]
        seen = "\n".join([*(plain(m.text) for m in self.h.fake.delivered_to(c.id)), *cells])
        for p in self.people():
            if p.name in seen or re.search(rf"\b{re.escape(p.name.split()[0])}\b", seen):
                raise DemoError(f"the coordinator was shown a participant's name: {p.short}")
        self.say("private", n=len(self.people()))

    def totals(self, started: float, files: tuple[Path, Path]) -> DistrictResult:
        roles = [p.persona.role for p in self.people()]
        counts: dict[str, Any] = {
            "institutions": len(self.ids),
            "programmes": len(self.programmes),
            "people": len(roles) + 1,
            "curators": roles.count("curator"),
            "mentors": roles.count("mentor"),
            "mentees": roles.count("mentee"),
            "pairs": sum(len(p.pairs) for p in self.programmes),
            "updates": self.updates,
            "messages": sum(r.method in SEND_METHODS and r.outcome == 200 for r in self.h.fake.requests),
            "seconds": f"{walltime.monotonic() - started:.0f}",
        }
        transcript = self.out_dir / "transcript.txt"
        counts["files"] = ", ".join(str(x) for x in (*files, transcript, self.db))
        self.plain("", self.words["totals"].format(**counts), "  " + self.words["traffic"].format(**counts))
        self.plain("  " + self.words["files"].format(**counts))
        self.plain("  " + self.words["problems"].format(n=len(self.problems)))
        self.plain(*(f"  ⚠ {x}" for x in self.problems))
        transcript.write_text("\n".join(self.lines) + "\n", encoding="utf-8")
        names = [p.name for p in self.people()]
        saw = [m.text or "" for m in self.h.fake.delivered_to(COORDINATOR_TG)]
        saw += [m.document["filename"] for m in self.h.fake.delivered_to(COORDINATOR_TG) if m.document]
        return DistrictResult(self.out_dir, transcript, self.db, *files, counts, self.problems, names, saw)

    async def run(self) -> DistrictResult:
        started = walltime.monotonic()
        self.plain(self.words["header"], self.words["header_clock"].format(start=f"{START:%d.%m.%Y %H:%M}"))
        self.plain("", self.words["section_district"])
        await self.coordinator_joins()
        for n in range(len(INSTITUTIONS)):
            self.later(20)
            await self.add_institution(n)
        for n in range(len(INSTITUTIONS)):
            await self.institution(n)
        await self.pairs()
        await self.forged_press()
        files = await self.report()
        self.private(files[0])
        return self.totals(started, files)


class _Words:
    """``words[key]``: the transcript's text ``demo_district.<key>`` in the demo's language."""

    def __init__(self, t: Translator) -> None:
        self.t = t

    def __getitem__(self, key: str) -> str:
        return self.t(f"demo_district.{key}")


async def run_district(
    out_dir: Path, lang: str = "ru", seed: int = 1, echo: Callable[[str], None] = print
) -> DistrictResult:
    """The district into ``out_dir`` (created; the previous district demo's files there are replaced). Raises
    DemoError when a step cannot be done; an error the bot logged is a remark in ``problems``."""
    if lang not in LANGUAGES:
        raise DemoError(f"no district demo in the language {lang!r}")
    if missing := [tpl for tpl, _, _ in INSTITUTIONS if tpl not in load_templates()]:
        raise DemoError(f"no seed programme template {', '.join(missing)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    demo = DistrictDemo(out_dir, lang, seed, echo)
    return await run_logged(demo, lambda: demo.run(), echo)


def main_district(args: argparse.Namespace, default_out: Path) -> int:
    """`nastavnik demo --district`: the parsed arguments of `nastavnik demo`. Without --out the files go to
    ./demo-output/district (beside, not over, the single-programme demo's)."""
    if args.template is not None or args.quick:
        print(
            "nastavnik demo: --district runs its own three templates; drop --template/--quick",
            file=sys.stderr,
        )
        return 2
    out = default_out / "district" if args.out is default_out else args.out
    shown: list[str] = []
    echo = shown.append if args.quiet else print
    try:
        result = asyncio.run(run_district(out, args.lang, args.seed, echo))
    except DemoError as exc:
        print(f"nastavnik demo: failed: {exc}", file=sys.stderr)
        return 1
    if args.quiet:
        last_gap = len(shown) - shown[::-1].index("") if "" in shown else 0
        print("\n".join(shown[last_gap:]))
    if result.problems:
        print(
            f"nastavnik demo: failed: {len(result.problems)} remark(s), see the transcript", file=sys.stderr
        )
        return 1
    return 0
