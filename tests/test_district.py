"""Institutions and the district, through the production dispatcher: a coordinator creates two institutions
and invites their curators; each curator runs a programme and sees only their own people; a forged button
naming the other school's person is refused and logged; the coordinator's outputs (the district summary,
the consolidated workbook) hold no personal data, and the district's totals are the institutions' sums."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import select

from bot.callbacks.dashboard import PeopleAction, PeopleCb
from bot.cli import _add_role
from bot.domain.entities import Role
from bot.services import dashboard, district
from storage.models import AuditEntry
from storage.tenancy import set_scope
from storage.uow import unit_of_work
from tests.helpers import LINK_RE, onboard_mentee, onboard_mentor

CONSENT = "✅ Даю согласие"
COORDINATOR = 7000
NAMES = (
    "Первова Анна",
    "Вторая Мария",
    "Петров Иван",
    "Сидоров Пётр",
    "Учителева Нина",
    "Наставникова Ольга",
)


async def _coordinator(h):
    await _add_role(h.app.settings.database_url, COORDINATOR, "coordinator", None)
    c = h.user(COORDINATOR, "Coord", "ru")
    await c.send("/start")
    await c.click(CONSENT)
    await c.send("Координаторова Елена Викторовна")
    return c


async def _institution(h, coordinator, title: str, curator_tid: int, curator_name: str):
    await coordinator.send("/institutions")
    await coordinator.click("➕ Добавить организацию")
    replies = await coordinator.send(title)
    assert f"«{title}» добавлена" in replies[-1].text
    replies = await coordinator.click(replies[-1].buttons()[0]["text"])
    token = LINK_RE.search(replies[-1].text).group(1)
    curator = h.user(curator_tid, "Cur", "ru")
    await curator.send(f"/start {token}")
    await curator.click(CONSENT)
    await curator.send(curator_name)
    # A new institution has no programme yet: its curator starts one from a template.
    await curator.send("/programme")
    replies = curator.texts()
    return curator, replies


async def _new_programme(curator) -> None:
    """The curator starts a programme from the first template, with its suggested title."""
    replies = await curator.send("/programme")
    await curator.click(next(x["text"] for x in replies[-1].buttons() if "нов" in x["text"].lower()))
    await curator.click(curator.last().buttons()[0]["text"])
    await curator.click(curator.last().buttons()[0]["text"])


async def _participant(h, telegram_id):
    async with unit_of_work(h.app.factory) as repos:
        return await repos.participants.by_telegram_id(telegram_id)


async def test_two_institutions_each_sees_only_its_own_and_the_centre_sees_sums_without_names(h):
    coordinator = await _coordinator(h)
    a, _ = await _institution(h, coordinator, "Школа № 1", 7101, NAMES[0])
    b, _ = await _institution(h, coordinator, "Школа № 2", 7102, NAMES[1])
    for curator in (a, b):
        replies = await curator.send("/programme")
        await curator.click(
            next(
                x["text"] for x in replies[-1].buttons() if "Новая" in x["text"] or "нов" in x["text"].lower()
            )
        )
        replies = curator.last()
        await curator.click(replies.buttons()[0]["text"])
        await curator.click(curator.last().buttons()[0]["text"])
    await onboard_mentee(h, a, 7201, name=NAMES[2])
    await onboard_mentee(h, b, 7202, name=NAMES[3])
    await onboard_mentor(h, a, 7301, name=NAMES[4])
    await onboard_mentor(h, b, 7302, name=NAMES[5])

    # Each curator's list holds their own institution's people only.
    text_a = "\n".join(m.text or "" for m in await a.send("/participants"))
    text_b = "\n".join(m.text or "" for m in await b.send("/participants"))
    assert NAMES[2] in text_a and NAMES[4] in text_a and NAMES[3] not in text_a and NAMES[5] not in text_a
    assert NAMES[3] in text_b and NAMES[5] in text_b and NAMES[2] not in text_b and NAMES[4] not in text_b

    # A forged button naming the other school's mentee: refused, told, logged, audited.
    other = await _participant(h, 7202)
    await a.press(PeopleCb(a=PeopleAction.CARD, n=other.id).pack())
    assert "другой образовательной организации" in a.alerts()[-1]
    assert NAMES[3] not in "\n".join(a.texts())
    async with unit_of_work(h.app.factory) as repos:
        audit = (
            await repos.session.scalars(
                select(AuditEntry).where(AuditEntry.action == "access.outside_institution")
            )
        ).all()
    assert [(e.object_type, e.object_id) for e in audit] == [("participants", other.id)]

    # The centre: aggregates per institution and in total, no name, no Telegram id.
    summary = "\n".join(m.text or "" for m in await coordinator.send("/district"))
    assert "Школа № 1" in summary and "Школа № 2" in summary and "Итого по району" in summary
    await coordinator.send("/district_report")
    await coordinator.click(coordinator.last().buttons()[0]["text"])
    documents = [m for m in h.fake.delivered_to(COORDINATOR) if m.document is not None]
    workbook = next(d for d in documents if d.document["filename"].endswith(".xlsx"))
    chart = next(d for d in documents if d.document["filename"].endswith(".png"))
    assert chart.document["data"].startswith(b"\x89PNG")
    assert workbook.document["filename"].startswith("сводный-отчёт-района")
    sheet = load_workbook(io.BytesIO(workbook.document["data"])).active
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    titles = [row[0] for row in sheet.iter_rows(min_row=6, values_only=True)]
    assert titles == ["Школа № 1", "Школа № 2", "Итого по району"]
    everything = "\n".join([*coordinator.texts(), *coordinator.alerts(), *cells])
    people = [await _participant(h, tid) for tid in (7101, 7102, 7201, 7202, 7301, 7302)]
    for name in NAMES:
        assert name not in everything, name
        assert not re.search(rf"\b{name.split()[0]}\b", everything), name
    for person in people:
        assert not re.search(rf"\b{person.telegram_id}\b", everything)

    # The district's figures are the institutions' own dashboards, summed.
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        period = district.dd.periods_around(now.date(), 1)[0]
        d = await district.build(repos, now, "Europe/Moscow", now.date(), period, max_age=timedelta(0))
        per_school = {}
        for row in d.rows:
            set_scope(repos.session, await repos.institutions.scope(row.institution.id))
            mentees = mentors = 0
            for programme in await repos.programmes.active():
                own = await dashboard.build(repos, now, "Europe/Moscow", now.date(), programme)
                mentees += own.people["mentee"]["active"]
                mentors += own.people["mentor"]["active"]
            per_school[row.institution.title] = (mentees, mentors)
            set_scope(repos.session, None)
            assert (row.figures.mentees, row.figures.mentors) == per_school[row.institution.title]
    # each school: one active mentee; its mentor only applied (not approved in the registry): not active
    assert per_school["Школа № 1"] == (1, 0) and per_school["Школа № 2"] == (1, 0)
    assert (d.total.mentees, d.total.mentors) == (
        sum(m for m, _ in per_school.values()),
        sum(m for _, m in per_school.values()),
    )
    assert Role.COORDINATOR in (await _participant(h, COORDINATOR)).roles

    # The summary shows kept aggregates up to ten minutes old (its header says as of when); then, or after
    # the hourly job, the new mentee counts.
    await onboard_mentee(h, a, 7203, name="Новенький Олег")
    async with unit_of_work(h.app.factory) as repos:
        kept = await district.build(repos, now, "Europe/Moscow", now.date(), period)
        later = now + district.MAX_AGE + timedelta(minutes=1)
        fresh = await district.build(repos, later, "Europe/Moscow", later.date(), period)
    assert kept.total.mentees == d.total.mentees and kept.as_of == d.as_of
    assert fresh.total.mentees == d.total.mentees + 1 and fresh.as_of == later
    assert "данные на" in summary
    await h.app.jobs.district_refresh()
    async with unit_of_work(h.app.factory) as repos:
        assert (
            await district.build(repos, h.app.clock(), "Europe/Moscow", now.date(), period)
        ).total.mentees == (d.total.mentees + 1)
