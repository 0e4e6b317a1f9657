"""The curator's desk JSON API through the production web app (bot.metrics.polling_web_app) over the real bot:
requests signed with initData as Telegram signs it, people onboarded through the dispatcher or seeded as the
matching tests do. Forged sessions are refused and never logged; each role opens only its own endpoints; one
institution never reaches another's people or roadmap; the participants table filters, searches, sorts and
pages; a card shows the questionnaire and the pair; matching approves and rejects in bulk and the chat's own
announcement goes out once; the roadmap imports, closes and moves items as the chat does; /api/docs describes
every route; the page and the API carry their security headers; no WEB_APP_URL, no desk."""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from pydantic import SecretStr
from sqlalchemy import select

from bot.demo.harness import Client, Harness, make_settings
from bot.domain.entities import ParticipantDTO, Role
from bot.domain.roadmap import TEMPLATE_HEADERS, roadmap_template_csv
from bot.i18n import Translator
from bot.services.matching import mention
from bot.webapp import api
from storage.models import AuditEntry, RoadmapItem
from storage.uow import unit_of_work
from tests.conftest import CURATOR_ID
from tests.desk_support import DESK_URL, Desk, desk_of
from tests.helpers import onboard_curator, onboard_mentee
from tests.test_district import _coordinator, _institution, _new_programme
from tests.test_matching_flow import mentee_answers, mentor_answers, seed

RU = Translator("ru")
CURATOR_NAME = "Куратова Анна Сергеевна"  # what tests.helpers.onboard_curator types
OTHER_BOT = "654321:ANOTHER-bot-token-aaaaaaaaaaaaaaaa"
BAD_ROW_CSV = Path(__file__).parent / "fixtures" / "roadmaps" / "seed_002_bad_row.csv"
CYRILLIC = re.compile("[А-Яа-яЁё]")
TEXT_KEY = re.compile(r"\b[a-z_]+\.[a-z_.]+\b")  # a text key shown instead of its text


@pytest.fixture
async def h(db_url, fake) -> AsyncIterator[Harness]:
    """The bot with the desk on (WEB_APP_URL set)."""
    settings = make_settings(db_url, curator_ids=str(CURATOR_ID), web_app_url=DESK_URL)
    harness = await Harness.start(settings, fake)
    yield harness
    await harness.close()


@pytest.fixture
async def desk(h) -> AsyncIterator[Desk]:
    async with desk_of(h) as d:
        yield d


# -- helpers -------------------------------------------------------------------------------------------
async def person(h: Harness, telegram_id: int) -> ParticipantDTO:
    async with unit_of_work(h.app.factory) as repos:
        found = await repos.participants.by_telegram_id(telegram_id)
    assert found is not None
    return found


async def regroup(h: Harness, participant_id: int, group: str | None, position: str | None = None) -> None:
    async with unit_of_work(h.app.factory) as repos:
        await repos.participants.update(participant_id, h.app.clock(), group_name=group, position=position)


def as_text(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False)


def roadmap_csv(rows: list[tuple[str, ...]]) -> bytes:
    """A roadmap file in the template's form (UTF-8 with BOM, ";"), as Russian Excel saves it."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(TEMPLATE_HEADERS)
    writer.writerows(rows)
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


async def upload(desk: Desk, telegram_id: int, data: bytes, filename: str = "roadmap.csv") -> tuple[int, Any]:
    form = FormData()
    form.add_field("file", data, filename=filename, content_type="text/csv")
    r = await desk.client.post("/api/roadmap/import", data=form, headers=desk.auth(telegram_id))
    return r.status, await r.json()


async def roadmap_rows(h: Harness) -> dict[int, RoadmapItem]:
    async with unit_of_work(h.app.factory) as repos:
        rows = (await repos.session.scalars(select(RoadmapItem))).all()
        return {r.id: r for r in rows}


async def two_schools(h: Harness) -> tuple[Client, Client, Client]:
    """The district's coordinator, and two institutions each with its curator and a programme."""
    coordinator = await _coordinator(h)
    a, _ = await _institution(h, coordinator, "Школа № 1", 7101, "Первова Анна")
    b, _ = await _institution(h, coordinator, "Школа № 2", 7102, "Вторая Мария")
    await _new_programme(a)
    await _new_programme(b)
    return coordinator, a, b


def forbidden(status: int, body: Any, need: str) -> None:
    assert status == 403, body
    assert body["error"] == "forbidden"
    assert body["message"] == RU(f"desk.error.forbidden.{need}")


# -- 1. who is asking ----------------------------------------------------------------------------------
async def test_forged_expired_and_foreign_init_data_is_refused_and_never_logged(h, desk, caplog):
    await onboard_curator(h)
    caplog.clear()
    caplog.set_level(logging.INFO)
    first_name = "Анфиса"
    genuine = h.fake.init_data(CURATOR_ID, first_name=first_name)
    r = await desk.client.get("/api/me", headers={"Authorization": f"tma {genuine}"})
    assert r.status == 200 and (await r.json())["user"]["name"] == CURATOR_NAME
    # An hour is the limit: a session half an hour old is still good.
    half_hour = h.fake.init_data(CURATOR_ID, auth_date=int(time.time()) - 1800)
    r = await desk.client.get("/api/me", headers={"Authorization": f"tma {half_hour}"})
    assert r.status == 200

    head, _, signature = genuine.rpartition("hash=")
    flipped = head + "hash=" + signature[:-1] + ("0" if signature[-1] != "0" else "1")
    expired = h.fake.init_data(CURATOR_ID, first_name=first_name, auth_date=int(time.time()) - 2 * 3600)
    foreign = h.fake.init_data(CURATOR_ID, first_name=first_name, token=OTHER_BOT)
    forged: dict[str, dict[str, str]] = {
        "no header": {},
        "not the tma scheme": {"Authorization": f"Bearer {genuine}"},
        "tma without data": {"Authorization": "tma "},
        "a flipped hash": {"Authorization": f"tma {flipped}"},
        "two hours old": {"Authorization": f"tma {expired}"},
        "another bot's": {"Authorization": f"tma {foreign}"},
        "garbage": {"Authorization": "tma garbage&&==%zz;user={not json"},
        "signed in the future": {
            "Authorization": f"tma {h.fake.init_data(CURATOR_ID, auth_date=int(time.time()) + 3600)}"
        },
    }
    unauthorized = RU("desk.error.unauthorized")
    assert CYRILLIC.search(unauthorized)
    for case, headers in forged.items():
        for method, path in (("GET", "/api/me"), ("GET", "/api/participants"), ("POST", "/api/matching/run")):
            r = await desk.client.request(method, path, headers=headers)
            body = await r.json()
            assert r.status == 401, (case, path, body)
            assert body["error"] == "unauthorized", case
            assert body["message"] == unauthorized, case
            assert CURATOR_NAME not in as_text(body)
    # A refused POST changed nothing: no matching run was made.
    async with unit_of_work(h.app.factory) as repos:
        assert await repos.desk.latest_run(None) is None

    logged = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert "desk: refused" in logged  # the refusals are logged, with their reason only
    assert "(expired)" in logged and "(signature)" in logged and "(missing)" in logged
    for secret in (CURATOR_NAME, "Куратова", first_name, genuine, expired, foreign, signature, flipped):
        assert secret not in logged, secret
    for line in logged.splitlines():
        assert "hash=" not in line and "auth_date" not in line and "query_id" not in line, line


# -- 2. what each role may open ------------------------------------------------------------------------
async def test_a_mentee_and_a_curator_are_refused_what_is_not_theirs(h, desk):
    c = await onboard_curator(h)
    await onboard_mentee(h, c, 2001, name="Петров Иван", group="9А")

    # The desk is for curators and coordinators: a mentee has everything in the chat.
    forbidden(*await desk.get(2001, "/api/me"), "desk")
    assert CYRILLIC.search(RU("desk.error.forbidden.desk"))

    for path in ("/api/participants", "/api/pairs", "/api/matching", "/api/roadmap", "/api/kpis"):
        forbidden(*await desk.get(2001, path), "curator")
    mentee = await person(h, 2001)
    forbidden(*await desk.get(2001, f"/api/participants/{mentee.id}"), "curator")
    forbidden(*await desk.post(2001, "/api/matching/decide", {"run": "x", "approve": [1]}), "curator")
    forbidden(*await desk.post(2001, "/api/matching/run"), "curator")
    forbidden(*await desk.post(2001, "/api/roadmap/1/done", {"note": ""}), "curator")
    forbidden(*await desk.post(2001, "/api/roadmap/1/move", {"deadline": "25.12.2099"}), "curator")
    forbidden(*await upload(desk, 2001, roadmap_template_csv()), "curator")
    forbidden(*await desk.get(2001, "/api/district"), "coordinator")
    forbidden(*await desk.get(2001, "/api/docs"), "admin")

    # The curator has the institution's pages, not the district's.
    status, body = await desk.get(CURATOR_ID, "/api/me")
    assert status == 200 and body["can"] == {"institution": True, "district": False, "docs": True}
    assert body["institution"]["title"] and body["texts"]
    assert not any(key.startswith("webapp.") for key in body["texts"])
    status, body = await desk.get(CURATOR_ID, "/api/participants")
    assert status == 200 and "Петров Иван" in [x["name"] for x in body["items"]]
    forbidden(*await desk.get(CURATOR_ID, "/api/district"), "coordinator")

    # Someone the bot does not know (valid initData, no participant) opens nothing.
    forbidden(*await desk.get(999_999, "/api/me"), "desk")


async def test_the_coordinator_sees_each_institutions_aggregates_and_no_names(h, desk):
    coordinator, a, b = await two_schools(h)
    names = ["Петров Иван", "Сидоров Пётр", "Учителева Нина"]
    await onboard_mentee(h, a, 7201, name=names[0])
    await onboard_mentee(h, b, 7202, name=names[1])
    await onboard_mentee(h, b, 7203, name=names[2])

    status, body = await desk.get(7000, "/api/me")
    assert status == 200 and body["can"] == {"institution": False, "district": True, "docs": True}
    forbidden(*await desk.get(7000, "/api/participants"), "curator")

    status, body = await desk.get(7000, "/api/district")
    assert status == 200, body
    assert [row["institution"] for row in body["rows"]] == ["Школа № 1", "Школа № 2"]
    assert body["headers"][0] == "Организация" and body["total"][0] == "Итого по району"
    assert all(len(row["cells"]) == len(body["headers"]) - 1 for row in body["rows"])
    assert len(body["total"]) == len(body["headers"])
    assert CYRILLIC.search(body["period"])
    text = as_text(body)
    people = [*names, "Первова Анна", "Вторая Мария", "Координаторова Елена Викторовна"]
    for name in people:
        assert name not in text and name.split()[0] not in text, name
    for tid in (7101, 7102, 7201, 7202, 7203):
        assert not re.search(rf"\b{tid}\b", text)


# -- 3. the institution boundary -----------------------------------------------------------------------
async def test_one_institution_cannot_reach_anothers_people_or_roadmap(h, desk):
    _, a, b = await two_schools(h)
    await onboard_mentee(h, a, 7201, name="Петров Иван")
    await onboard_mentee(h, b, 7202, name="Сидоров Пётр")
    theirs = await person(h, 7202)

    # B's curator sees their mentee's card; A's curator is refused it and told why, with nothing of B's.
    status, body = await desk.get(7102, f"/api/participants/{theirs.id}")
    assert status == 200 and body["name"] == "Сидоров Пётр"
    status, body = await desk.get(7101, f"/api/participants/{theirs.id}")
    assert status == 403, body
    assert body["error"] == "other_institution"
    assert body["message"] == RU("desk.error.other_institution")
    assert "Сидоров" not in as_text(body) and "9А" not in as_text(body)
    status, body = await desk.get(7101, "/api/participants", q="Сидоров")
    assert status == 200 and body["total"] == 0 and body["items"] == []
    status, body = await desk.get(7101, "/api/participants")
    assert "Сидоров Пётр" not in [x["name"] for x in body["items"]]
    assert "Петров Иван" in [x["name"] for x in body["items"]]

    # B imports a roadmap through its own desk; A can neither close nor move B's item.
    due = (h.app.clock().astimezone(h.app.settings.tz).date() + timedelta(days=20)).strftime("%d.%m.%Y")
    status, body = await upload(
        desk, 7102, roadmap_csv([("Собрание наставников школы № 2", "Куратор", due, "")])
    )
    assert status == 200 and body["imported"] == 1, body
    status, body = await desk.get(7102, "/api/roadmap")
    item = next(i for i in body["items"] if i["activity"] == "Собрание наставников школы № 2")
    before = (await roadmap_rows(h))[item["id"]]

    status, body = await desk.post(7101, f"/api/roadmap/{item['id']}/done", {"note": ""})
    assert status == 403 and body["error"] == "other_institution", body
    status, body = await desk.post(7101, f"/api/roadmap/{item['id']}/move", {"deadline": "25.12.2099"})
    assert status == 403 and body["error"] == "other_institution", body
    status, body = await desk.get(7101, "/api/roadmap")
    assert "Собрание наставников школы № 2" not in as_text(body)
    after = (await roadmap_rows(h))[item["id"]]
    assert (after.status, after.due_on, after.deadline_text, after.done_at) == (
        "open",
        before.due_on,
        before.deadline_text,
        None,
    )
    # Each attempt is in the audit log, as the chat's forged buttons are.
    async with unit_of_work(h.app.factory) as repos:
        audit = (
            await repos.session.scalars(
                select(AuditEntry).where(AuditEntry.action == "access.outside_institution")
            )
        ).all()
    assert sorted((e.object_type, e.object_id) for e in audit) == sorted(
        [("participants", theirs.id), ("roadmap_items", item["id"]), ("roadmap_items", item["id"])]
    )
    # B's curator still closes it.
    status, body = await desk.post(7102, f"/api/roadmap/{item['id']}/done", {"note": ""})
    assert status == 200 and body["item"]["status"] == "done"


# -- 4. the participants table -------------------------------------------------------------------------
async def school(h: Harness) -> Client:
    """A curator, four mentees in three classes, two mentors and a minor waiting for a parent's consent."""
    c = await onboard_curator(h)
    for name, group in (
        ("Иванова Мария", "8А"),
        ("Иванов Павел", "8Б"),
        ("Смирнова Ольга", "9А"),
        ("Кузнецов Денис", "9А"),
    ):
        pid, _ = await seed(h, Role.MENTEE, name, mentee_answers(["math"]))
        await regroup(h, pid, group)
    for name in ("Алексеев Борис", "Яковлева Нина"):
        pid, _ = await seed(h, Role.MENTOR, name, mentor_answers(["math"], 2))
        await regroup(h, pid, None, "учитель математики")
    await onboard_mentee(h, c, 2101, adult=False, name="Орлова Вера", group="7В")
    return c


EVERYONE = sorted(
    [
        CURATOR_NAME,
        "Иванова Мария",
        "Иванов Павел",
        "Смирнова Ольга",
        "Кузнецов Денис",
        "Алексеев Борис",
        "Яковлева Нина",
        "Орлова Вера",
    ]
)


def names(body: Any) -> list[str]:
    return [x["name"] for x in body["items"]]


async def test_participants_filter_search_sort_and_page(h, desk):
    await school(h)
    status, body = await desk.get(CURATOR_ID, "/api/participants")
    assert status == 200
    assert body["total"] == len(EVERYONE) and names(body) == EVERYONE
    assert body["facets"]["groups"] == ["7В", "8А", "8Б", "9А"]
    assert [o["value"] for o in body["facets"]["roles"]] == ["mentee", "mentor", "parent", "curator"]
    assert [o["name"] for o in body["facets"]["roles"]] == [
        "Наставляемые",
        "Наставники",
        "Родители",
        "Кураторы",
    ]
    assert {o["value"] for o in body["facets"]["statuses"]} == {
        "onboarding",
        "awaiting_parent_consent",
        "active",
        "withdrawn",
    }
    assert body["facets"]["programmes"]
    row = next(x for x in body["items"] if x["name"] == "Иванова Мария")
    assert row["group"] == "8А" and row["roles"] == ["mentee"] and row["role_names"] == ["наставляемый"]
    assert row["status"] == "active" and row["status_name"] == "участвует" and row["paired"] is False
    mentor = next(x for x in body["items"] if x["name"] == "Алексеев Борис")
    assert mentor["group"] == "учитель математики" and mentor["roles"] == ["mentor"]

    status, body = await desk.get(CURATOR_ID, "/api/participants", role="mentee")
    assert status == 200
    assert names(body) == ["Иванов Павел", "Иванова Мария", "Кузнецов Денис", "Орлова Вера", "Смирнова Ольга"]
    assert all(x["roles"] == ["mentee"] for x in body["items"])
    status, body = await desk.get(CURATOR_ID, "/api/participants", role="mentor")
    assert names(body) == ["Алексеев Борис", "Яковлева Нина"]

    status, body = await desk.get(CURATOR_ID, "/api/participants", group="9А")
    assert names(body) == ["Кузнецов Денис", "Смирнова Ольга"] and body["total"] == 2
    status, body = await desk.get(CURATOR_ID, "/api/participants", group="9А", role="mentee", q="смирн")
    assert names(body) == ["Смирнова Ольга"]

    status, body = await desk.get(CURATOR_ID, "/api/participants", status="active")
    assert "Орлова Вера" not in names(body) and body["total"] == len(EVERYONE) - 1
    assert all(x["status"] == "active" for x in body["items"])
    status, body = await desk.get(CURATOR_ID, "/api/participants", status="withdrawn")
    assert status == 200 and body["total"] == 0

    # Search: Cyrillic in any case, names and classes.
    for q in ("иванов", "ИВАНОВ", "Иванов", "иВАНОв", "  иванов  "):
        status, body = await desk.get(CURATOR_ID, "/api/participants", q=q)
        assert names(body) == ["Иванов Павел", "Иванова Мария"], q
    for q in ("мария", "МАРИЯ", "иванова мария"):
        status, body = await desk.get(CURATOR_ID, "/api/participants", q=q)
        assert names(body) == ["Иванова Мария"], q
    status, body = await desk.get(CURATOR_ID, "/api/participants", q="8б")
    assert names(body) == ["Иванов Павел"]
    status, body = await desk.get(CURATOR_ID, "/api/participants", q="%")
    assert status == 200 and body["total"] == 0

    status, body = await desk.get(CURATOR_ID, "/api/participants", sort="name", dir="desc")
    assert names(body) == sorted(EVERYONE, reverse=True)
    status, body = await desk.get(CURATOR_ID, "/api/participants", sort="group", role="mentee")
    assert [x["group"] for x in body["items"]] == ["7В", "8А", "8Б", "9А", "9А"]

    status, body = await desk.get(CURATOR_ID, "/api/participants", size=2, page=1)
    assert (body["total"], body["page"], body["pages"], body["size"]) == (len(EVERYONE), 1, 4, 2)
    assert names(body) == EVERYONE[2:4]
    status, body = await desk.get(CURATOR_ID, "/api/participants", size=2, page=3)
    assert names(body) == EVERYONE[6:8]

    for bad in (
        {"role": "admin"},
        {"role": "coordinator"},
        {"status": "awaiting_parent"},
        {"status": "deleted"},
        {"sort": "telegram_id"},
        {"size": 500},
    ):
        status, body = await desk.get(CURATOR_ID, "/api/participants", **bad)
        assert status == 422, bad
        assert body["error"] == "invalid" and body["message"] == RU("desk.error.invalid"), bad
        assert CYRILLIC.search(body["message"])

    await seed(h, Role.MENTEE, "Семёнова Алёна", mentee_answers(["math"]))
    for q in ("семенова", "СЕМЁНОВА", "семёнова   алена"):
        status, body = await desk.get(CURATOR_ID, "/api/participants", q=q)
        assert names(body) == ["Семёнова Алёна"], q  # typed without «ё», or with it, in any case


async def test_participants_filter_by_every_status_the_facets_offer(h, desk):
    """At b533e71 PeopleQuery.status's pattern said 'awaiting_parent' where Status says
    'awaiting_parent_consent': the facet offered was refused with 422."""
    await school(h)
    status, body = await desk.get(CURATOR_ID, "/api/participants")
    offered = [o["value"] for o in body["facets"]["statuses"]]
    assert "awaiting_parent_consent" in offered
    for value in offered:
        status, body = await desk.get(CURATOR_ID, "/api/participants", status=value)
        assert status == 200, (value, body)
    status, body = await desk.get(CURATOR_ID, "/api/participants", status="awaiting_parent_consent")
    assert names(body) == ["Орлова Вера"]


# -- 5. a person's card --------------------------------------------------------------------------------
async def test_the_card_shows_the_questionnaire_and_then_the_pair(h, desk):
    c = await onboard_curator(h)
    mentee_id, _ = await seed(h, Role.MENTEE, "Иванова Мария", mentee_answers(["math"]))
    mentor_id, _ = await seed(h, Role.MENTOR, "Алексеев Борис", mentor_answers(["math"], 1))

    status, body = await desk.get(CURATOR_ID, f"/api/participants/{mentee_id}")
    assert status == 200, body
    assert body["name"] == "Иванова Мария" and body["group"] == "8А"
    assert body["roles"] == ["mentee"] and body["status_name"] == "участвует"
    assert [x["form"] for x in body["intake"]] == ["mentee_needs"]
    intake = body["intake"][0]
    assert CYRILLIC.search(intake["title"])
    answers = {x["a"] for x in intake["answers"]}
    assert "Трудно разобраться в теме сразу." in answers
    assert any("Математика" in a for a in answers)  # codes are shown as words
    assert all(x["q"] and CYRILLIC.search(x["q"]) for x in intake["answers"])
    assert body["pairs"] == [] and body["meetings"] == []

    # Paired in the chat: the card shows the pair.
    await c.send("/pair")
    await c.click("Иванова Мария")
    await c.click("Алексеев Борис (0/1)")
    status, body = await desk.get(CURATOR_ID, f"/api/participants/{mentee_id}")
    assert status == 200 and len(body["pairs"]) == 1
    pair = body["pairs"][0]
    assert pair["mentor"] == "Алексеев Борис" and pair["mentees"] == ["Иванова Мария"]
    assert pair["stage"] == "introduction" and pair["stage_name"] == "Встреча-знакомство"
    assert pair["group"] is False
    status, body = await desk.get(CURATOR_ID, f"/api/participants/{mentor_id}")
    assert [p["mentees"] for p in body["pairs"]] == [["Иванова Мария"]]
    status, body = await desk.get(CURATOR_ID, "/api/participants", role="mentee")
    assert next(x for x in body["items"] if x["name"] == "Иванова Мария")["paired"] is True

    for missing in ("987654", "abc", "0x1f"):
        status, body = await desk.get(CURATOR_ID, f"/api/participants/{missing}")
        assert status == 404 and body["error"] == "not_found", missing
        assert body["message"] == RU("desk.error.not_found")


# -- 6. matching ---------------------------------------------------------------------------------------
def announcements(h: Harness, telegram_id: int) -> list[str]:
    return [
        m.text or "" for m in h.fake.delivered_to(telegram_id) if "У вас есть наставник" in (m.text or "")
    ]


async def test_matching_runs_and_bulk_decisions_announce_each_approved_pair_once(h, desk, monkeypatch):
    await onboard_curator(h)
    maths_mentor, maths_mentor_tg = await seed(
        h, Role.MENTOR, "Математикова Анна", mentor_answers(["math"], 1)
    )
    words_mentor, _ = await seed(h, Role.MENTOR, "Словесников Борис", mentor_answers(["russian"], 1))
    maths, maths_tg = await seed(h, Role.MENTEE, "Ученик Один", mentee_answers(["math"]))
    words, words_tg = await seed(h, Role.MENTEE, "Ученица Две", mentee_answers(["russian"]))

    status, body = await desk.get(CURATOR_ID, "/api/matching")
    assert status == 200 and body["run"] is None and body["proposals"] == []

    status, body = await desk.post(CURATOR_ID, "/api/matching/run")
    assert status == 200, body
    run = body["run"]
    assert run and body["open"] == body["total"] == 2 and body["unmatched"] == []
    by_mentee = {p["mentee"]["id"]: p for p in body["proposals"]}
    assert by_mentee[maths]["mentor"] == {"id": maths_mentor, "name": "Математикова Анна", "group": None}
    assert by_mentee[words]["mentor"]["id"] == words_mentor
    assert by_mentee[maths]["mentee"]["name"] == "Ученик Один" and by_mentee[maths]["mentee"]["group"] == "8А"
    for p in body["proposals"]:
        assert p["status"] == "proposed" and 0 < p["score"] <= 100
        assert p["reasons"]
        for reason in p["reasons"]:
            assert CYRILLIC.search(reason) and not TEXT_KEY.search(reason), reason
    assert any("Математика" in r for r in by_mentee[maths]["reasons"])  # areas in words, not codes
    status, again = await desk.get(CURATOR_ID, "/api/matching")
    assert again["run"] == run and again["proposals"] == body["proposals"]

    approve, reject = by_mentee[maths]["id"], by_mentee[words]["id"]
    woken: list[bool] = []  # the outbox is woken at once: the announcements go out now, not at its next look
    monkeypatch.setattr(h.app.sender, "notify", lambda: woken.append(True))
    status, body = await desk.post(
        CURATOR_ID, "/api/matching/decide", {"run": run, "approve": [approve], "reject": [reject]}
    )
    assert status == 200, body
    assert body["approved"] == 1 and body["rejected"] == 1
    assert {r["id"]: r["decision"] for r in body["results"]} == {approve: "approved", reject: "rejected"}
    messages = {r["id"]: r["message"] for r in body["results"]}
    assert messages == {approve: RU("matching.approved"), reject: RU("matching.rejected")}
    assert {p["id"]: p["status"] for p in body["proposals"]} == {approve: "approved", reject: "rejected"}
    assert body["open"] == 0
    assert woken

    async with unit_of_work(h.app.factory) as repos:
        pairs = await repos.pairs.active()
        mentor = (await repos.participants.get_many([maths_mentor]))[maths_mentor]
    assert [(p.mentor_id, p.mentee_ids) for p in pairs] == [(maths_mentor, (maths,))]

    await h.deliver_outbox()
    # The chat's own announcement (what /match's approval sends), naming the mentor, exactly once.
    expected = RU("matching.announce.mentee", mentor=mention(mentor))
    assert announcements(h, maths_tg) == [expected]
    assert "Математикова Анна" in expected
    assert any("Ученик Один" in (m.text or "") for m in h.fake.delivered_to(maths_mentor_tg))
    assert announcements(h, words_tg) == []

    # The same decision again: told it was decided, nothing new made or sent.
    status, body = await desk.post(CURATOR_ID, "/api/matching/decide", {"run": run, "approve": [approve]})
    assert status == 200, body
    assert [(r["id"], r["decision"]) for r in body["results"]] == [(approve, "already_decided")]
    assert body["results"][0]["message"] == RU("matching.already_decided")
    assert body["approved"] == 0 and body["rejected"] == 0
    status, body = await desk.post(CURATOR_ID, "/api/matching/decide", {"run": run, "reject": [reject]})
    assert [r["decision"] for r in body["results"]] == ["already_decided"]
    await h.deliver_outbox()
    assert announcements(h, maths_tg) == [expected]
    async with unit_of_work(h.app.factory) as repos:
        assert len(await repos.pairs.active()) == 1

    # A proposal not of this run, and a malformed body.
    status, body = await desk.post(CURATOR_ID, "/api/matching/decide", {"run": "nope", "approve": [approve]})
    assert [r["decision"] for r in body["results"]] == ["stale"]
    status, body = await desk.post(CURATOR_ID, "/api/matching/decide", {"approve": [approve]})
    assert status == 422 and body["error"] == "invalid"
    r = await desk.client.post("/api/matching/decide", data=b"{not json", headers=desk.auth(CURATOR_ID))
    assert r.status == 400 and (await r.json())["error"] == "bad_json"


async def test_a_pair_by_hand_shows_what_it_breaks_first_and_is_announced_as_proposals_are(h, desk):
    await onboard_curator(h)
    mentor, mentor_tg = await seed(h, Role.MENTOR, "Математикова Анна", mentor_answers(["math"], 1))
    first, first_tg = await seed(h, Role.MENTEE, "Ученик Один", mentee_answers(["math"]))
    second, second_tg = await seed(h, Role.MENTEE, "Ученица Две", mentee_answers(["math"]))

    status, body = await desk.get(CURATOR_ID, "/api/matching/manual")
    assert status == 200, body
    assert [(x["id"], x["name"], x["group"], x["ready"]) for x in body["mentees"]] == [
        (first, "Ученик Один", "8А", True),
        (second, "Ученица Две", "8А", True),
    ]
    assert [(x["id"], x["load"], x["capacity"]) for x in body["mentors"]] == [(mentor, 0, 1)]

    status, body = await desk.post(CURATOR_ID, "/api/matching/manual", {"mentee": first, "mentor": mentor})
    assert status == 200 and body["paired"] is True and body["violations"] == [], body
    assert body["message"] == RU("matching.manual_done")
    async with unit_of_work(h.app.factory) as repos:
        active = await repos.pairs.active()
    assert [(p.id, p.mentor_id, list(p.mentee_ids)) for p in active] == [(body["pair_id"], mentor, [first])]
    await h.deliver_outbox()
    assert any("Математикова Анна" in (m.text or "") for m in h.fake.delivered_to(first_tg))
    assert any("Ученик Один" in (m.text or "") for m in h.fake.delivered_to(mentor_tg))
    status, body = await desk.get(CURATOR_ID, "/api/matching/manual")
    assert [x["id"] for x in body["mentees"]] == [second] and body["mentors"][0]["load"] == 1

    # The mentor is full: the page is told so in words, and nothing is made until the curator insists.
    status, body = await desk.post(CURATOR_ID, "/api/matching/manual", {"mentee": second, "mentor": mentor})
    assert status == 200 and body["paired"] is False and body["pair_id"] is None, body
    assert body["message"] == RU("matching.manual_warning")
    assert body["violations"] and all(
        CYRILLIC.search(v) and not TEXT_KEY.search(v) for v in body["violations"]
    )
    async with unit_of_work(h.app.factory) as repos:
        assert len(await repos.pairs.active()) == 1
    status, body = await desk.post(
        CURATOR_ID, "/api/matching/manual", {"mentee": second, "mentor": mentor, "force": True}
    )
    assert status == 200 and body["paired"] is True, body
    async with unit_of_work(h.app.factory) as repos:
        forced = (
            await repos.session.scalars(select(AuditEntry).where(AuditEntry.action == "pair.force"))
        ).all()
    assert [e.object_id for e in forced] == [body["pair_id"]]
    await h.deliver_outbox()
    assert any("Математикова Анна" in (m.text or "") for m in h.fake.delivered_to(second_tg))

    # Paired already (a second tab, or the chat meanwhile): refused, nothing made twice.
    status, body = await desk.post(CURATOR_ID, "/api/matching/manual", {"mentee": first, "mentor": mentor})
    assert status == 409 and body["message"] == RU("common.stale"), body
    status, body = await desk.post(first_tg, "/api/matching/manual", {"mentee": first, "mentor": mentor})
    assert status == 403
    async with unit_of_work(h.app.factory) as repos:
        active = await repos.pairs.active()
    # The mentor's second mentee joins their group (one mentor, several mentees), as /pair does it.
    assert [sorted(p.mentee_ids) for p in active] == [sorted([first, second])]


# -- 7. the roadmap ------------------------------------------------------------------------------------
async def test_roadmap_import_done_move_and_a_refused_file(h, desk):
    c = await onboard_curator(h)
    today = h.app.clock().astimezone(h.app.settings.tz).date()
    first, second = today + timedelta(days=10), today + timedelta(days=40)
    data = roadmap_csv(
        [
            ("Совещание наставников", "Куратор программы", f"до {first:%d.%m.%Y}", "Протокол"),
            ("Отчёт о реализации программы", "Куратор программы", f"до {second:%d.%m.%Y}", "Отчёт"),
        ]
    )
    status, body = await upload(desk, CURATOR_ID, data)
    assert status == 200, body
    assert body["imported"] == 2 and body["skipped"] == 0 and CYRILLIC.search(body["message"])
    status, body = await upload(desk, CURATOR_ID, roadmap_template_csv(), "шаблон.csv")
    assert status == 200 and body["imported"] == 2, body

    status, body = await desk.get(CURATOR_ID, "/api/roadmap")
    assert status == 200
    assert body["programme"]["title"] and body["open"] == 4 and body["done"] == 0
    items = {i["activity"]: i for i in body["items"]}
    assert set(items) == {
        "Совещание наставников",
        "Отчёт о реализации программы",
        "Формирование базы наставляемых",
        "Формирование наставнических пар или групп",
    }
    meeting = items["Совещание наставников"]
    assert meeting["due_on"] == first.isoformat() and meeting["status"] == "open"
    assert meeting["responsible"] == "Куратор программы" and meeting["recurring"] is False
    assert meeting["overdue"] is False and CYRILLIC.search(meeting["when"])
    assert items["Формирование базы наставляемых"]["recurring"] is True

    before = (await c.send("/roadmap"))[-1].text
    assert "Совещание наставников" in before and "открыто — 4" in before
    status, body = await desk.post(CURATOR_ID, f"/api/roadmap/{meeting['id']}/done", {"note": "Протокол №1"})
    assert status == 200, body
    assert body["item"]["status"] == "done" and body["item"]["done_at"] and body["next_due"] is None
    row = (await roadmap_rows(h))[meeting["id"]]
    assert row.status == "done" and row.done_note == "Протокол №1"
    after = (await c.send("/roadmap"))[-1].text
    assert "открыто — 3, выполнено — 1" in after
    assert "Совещание наставников" not in after  # no longer listed among the open ones
    status, body = await desk.get(CURATOR_ID, "/api/roadmap")
    assert body["open"] == 3 and body["done"] == 1
    # Done twice: the chat's "already done".
    status, body = await desk.post(CURATOR_ID, f"/api/roadmap/{meeting['id']}/done", {"note": ""})
    assert status == 409 and body["message"] == RU("roadmap_chat.already")

    # A recurring activity done moves on to its next date and stays open.
    yearly = items["Формирование наставнических пар или групп"]
    status, body = await desk.post(CURATOR_ID, f"/api/roadmap/{yearly['id']}/done", {"note": ""})
    assert status == 200, body
    assert body["item"]["status"] == "open" and body["next_due"] > yearly["due_on"]
    assert body["item"]["due_on"] == body["next_due"]

    report = items["Отчёт о реализации программы"]
    later = today + timedelta(days=30)
    status, body = await desk.post(
        CURATOR_ID, f"/api/roadmap/{report['id']}/move", {"deadline": later.isoformat()}
    )
    assert status == 200, body
    assert body["item"]["due_on"] == later.isoformat() and body["item"]["status"] == "open"
    assert (await roadmap_rows(h))[report["id"]].due_on == later
    past = today - timedelta(days=3)
    for deadline, words in ((past.isoformat(), "уже прошёл"), ("когда-нибудь", "Не удалось прочитать срок")):
        status, body = await desk.post(
            CURATOR_ID, f"/api/roadmap/{report['id']}/move", {"deadline": deadline}
        )
        assert status == 422, body
        assert body["error"] == "deadline" and words in body["message"], body
    assert (await roadmap_rows(h))[report["id"]].due_on == later

    # A file with a bad row: refused as a whole, the row named, nothing added.
    status, body = await upload(desk, CURATOR_ID, BAD_ROW_CSV.read_bytes(), "seed_002_bad_row.csv")
    assert status == 422, body
    assert body["error"] == "import" and body["message"] == RU("desk.error.import")
    assert any(e.startswith("Строка 19") and "или" in e for e in body["errors"]), body["errors"]
    assert len(await roadmap_rows(h)) == 4
    # Too big a file: refused before it is read.
    status, body = await upload(desk, CURATOR_ID, b"x" * (2 * 1024 * 1024 + 100 * 1024), "big.csv")
    assert status == 413 and body["message"] == RU("desk.error.too_big")
    assert len(await roadmap_rows(h)) == 4
    # No file at all.
    r = await desk.client.post(
        "/api/roadmap/import", data=FormData({"other": "x"}), headers=desk.auth(CURATOR_ID)
    )
    assert r.status == 400 and (await r.json())["message"] == RU("desk.error.no_file")


async def test_an_activity_added_on_the_desk_is_the_chats_too(h, desk):
    c = await onboard_curator(h)
    today = h.app.clock().astimezone(h.app.settings.tz).date()
    due = today + timedelta(days=12)
    status, body = await desk.post(
        CURATOR_ID,
        "/api/roadmap",
        {
            "activity": "Собрание наставников; итоги полугодия",  # a «;» is part of the text, not a separator
            "responsible": "Куратова Анна Сергеевна",
            "deadline": due.isoformat(),
            "result": "Протокол",
        },
    )
    assert status == 200, body
    assert body["item"]["activity"] == "Собрание наставников; итоги полугодия"
    assert body["item"]["due_on"] == due.isoformat() and body["item"]["status"] == "open"
    assert body["message"].startswith("Добавлено: Собрание наставников; итоги полугодия"), body
    rows = list((await roadmap_rows(h)).values())
    assert [(r.activity, r.result, r.due_on) for r in rows] == [
        ("Собрание наставников; итоги полугодия", "Протокол", due)
    ]
    assert (
        rows[0].responsible_id == (await person(h, CURATOR_ID)).id
    )  # the curator is reminded before the date
    chat = (await c.send("/roadmap"))[-1].text
    assert "Собрание наставников; итоги полугодия" in chat and "открыто — 1" in chat, chat
    # The deadline in the documents' words, as the chat takes it.
    status, body = await desk.post(
        CURATOR_ID, "/api/roadmap", {"activity": "Отчёт о наставничестве", "deadline": "ежегодно до 30.11"}
    )
    assert status == 200 and body["item"]["recurring"] is True, body
    # A deadline the chat would not take, and an empty activity: refused, nothing added.
    status, body = await desk.post(
        CURATOR_ID, "/api/roadmap", {"activity": "Конкурс", "deadline": "когда-нибудь"}
    )
    assert status == 422 and body["error"] == "deadline" and "Не удалось прочитать срок" in body["message"]
    status, body = await desk.post(
        CURATOR_ID, "/api/roadmap", {"activity": "  ", "deadline": "до 25.12.2099"}
    )
    assert status == 422, body
    assert len(await roadmap_rows(h)) == 2


async def test_the_card_reminds_and_marks_no_contact_as_the_chat_card_does(h, desk):
    c = await onboard_curator(h)
    await onboard_mentee(h, c, 7301, name="Петров Иван")
    mentee = await person(h, 7301)

    status, body = await desk.post(CURATOR_ID, f"/api/participants/{mentee.id}/nudge")
    assert status == 200 and body == {"sent": True, "message": RU("questionnaire.nudged")}, body
    await h.deliver_outbox()
    told = [m.text for m in h.fake.delivered_to(7301) if m.text == RU("dashboard.nudge_text")]
    assert len(told) == 1
    # One reminder a day, whichever way it is asked for: the chat's button is refused too.
    status, body = await desk.post(CURATOR_ID, f"/api/participants/{mentee.id}/nudge")
    assert status == 200 and body == {"sent": False, "message": RU("questionnaire.nudged_already")}, body
    await h.deliver_outbox()
    assert [m.text for m in h.fake.delivered_to(7301)].count(RU("dashboard.nudge_text")) == 1

    # «No contact»: the card and the chat's list both show it; asked twice, still marked; then taken off.
    for _ in range(2):
        status, body = await desk.post(
            CURATOR_ID, f"/api/participants/{mentee.id}/reach", {"unreachable": True}
        )
        assert status == 200 and body == {"unreachable": True, "message": RU("dashboard.marked_unreachable")}
    assert (await person(h, 7301)).unreachable is True
    status, body = await desk.get(CURATOR_ID, f"/api/participants/{mentee.id}")
    assert body["unreachable"] is True
    status, body = await desk.post(CURATOR_ID, f"/api/participants/{mentee.id}/reach", {"unreachable": False})
    assert status == 200 and body["unreachable"] is False and (await person(h, 7301)).unreachable is False
    async with unit_of_work(h.app.factory) as repos:
        actions = (
            await repos.session.scalars(
                select(AuditEntry.action).where(AuditEntry.object_id == mentee.id).order_by(AuditEntry.id)
            )
        ).all()
    assert actions.count("participant.nudge") == 2 and actions.count("participant.unreachable") == 2

    # A pupil still waiting for a parent's consent gets nothing from the bot, reminders included.
    await onboard_mentee(h, c, 7302, adult=False, name="Орлова Вера", group="7В")
    minor = await person(h, 7302)
    status, body = await desk.post(CURATOR_ID, f"/api/participants/{minor.id}/nudge")
    assert status == 409 and body["error"] == "unreachable"
    assert body["message"] == RU("desk.error.unreachable")
    await h.deliver_outbox()
    assert RU("dashboard.nudge_text") not in [m.text for m in h.fake.delivered_to(7302)]

    # A mentee may not remind anyone; a body that is not a mark is refused; nobody is no one.
    status, body = await desk.post(7301, f"/api/participants/{mentee.id}/nudge")
    assert status == 403
    status, body = await desk.post(CURATOR_ID, f"/api/participants/{mentee.id}/reach", {"unreachable": "?"})
    assert status == 422
    status, body = await desk.post(CURATOR_ID, "/api/participants/999999/nudge")
    assert status == 404 and body["error"] == "not_found"


async def test_another_institutions_person_cannot_be_reminded_or_marked(h, desk):
    _, a, b = await two_schools(h)
    await onboard_mentee(h, b, 7202, name="Сидоров Пётр")
    theirs = await person(h, 7202)
    status, body = await desk.post(7101, f"/api/participants/{theirs.id}/nudge")
    assert status == 403 and body["error"] == "other_institution", body
    status, body = await desk.post(7101, f"/api/participants/{theirs.id}/reach", {"unreachable": True})
    assert status == 403 and body["error"] == "other_institution", body
    await h.deliver_outbox()
    assert RU("dashboard.nudge_text") not in [m.text for m in h.fake.delivered_to(7202)]
    assert (await person(h, 7202)).unreachable is False


# -- 8. the API's documentation ------------------------------------------------------------------------
def refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(refs(v) for v in node))
    return set()


async def test_the_openapi_document_covers_every_route(h, desk):
    c = await onboard_curator(h)
    await onboard_mentee(h, c, 2001)
    status, doc = await desk.get(CURATOR_ID, "/api/docs")
    assert status == 200
    assert doc["openapi"].startswith("3.1") and doc["info"]["title"]

    routed = {
        (route.resource.canonical, route.method.lower())
        for route in desk.client.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api")
        and route.method not in ("HEAD", "OPTIONS")
    }
    declared = {(e.path, e.method.lower()) for e in api.endpoints()}
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert routed == declared == documented
    assert len(documented) >= 14

    schemas = doc["components"]["schemas"]
    for e in api.endpoints():
        operation = doc["paths"][e.path][e.method.lower()]
        assert operation["summary"]
        ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": f"#/components/schemas/{e.response.__name__}"}
        assert "401" in operation["responses"] and "403" in operation["responses"]
        if e.body is not None:
            assert e.body.__name__ in schemas
    for model in ("Error", "Me", "People", "Card", "Board", "Matching", "Roadmap", "Kpis", "District"):
        assert model in schemas, model
    assert set(schemas["People"]["properties"]) >= {"total", "page", "pages", "size", "items", "facets"}
    for ref in refs(doc):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    participants = doc["paths"]["/api/participants"]["get"]
    assert {p["name"] for p in participants["parameters"]} >= {"q", "role", "status", "group", "sort", "page"}
    assert "multipart/form-data" in doc["paths"]["/api/roadmap/import"]["post"]["requestBody"]["content"]

    forbidden(*await desk.get(2001, "/api/docs"), "admin")


# -- 9. the page and the headers -----------------------------------------------------------------------
async def test_the_page_and_its_script_are_served_with_a_strict_csp(desk):
    r = await desk.client.get("/app/")
    assert r.status == 200
    assert r.content_type == "text/html"
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors https://web.telegram.org" in csp
    assert r.headers["Cache-Control"] == "no-store" and r.headers["X-Content-Type-Options"] == "nosniff"
    page = await r.text()
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page, flags=re.S | re.I)
    assert scripts and all(not body.strip() for body in scripts)  # no inline script
    assert all(re.search(r"\bsrc=", tag) for tag in re.findall(r"<script\b[^>]*>", page, flags=re.I))
    assert not re.search(r"\son[a-z]+\s*=|\sstyle\s*=|<style\b", page, flags=re.I)
    assert re.search(r"""src=["']?(?:/app/)?static/app\.js""", page)
    r = await desk.client.get("/app/static/app.js")
    assert r.status == 200 and "javascript" in r.content_type
    assert "unsafe-inline" not in r.headers["Content-Security-Policy"]
    assert r.headers["Cache-Control"] == "no-cache"
    for href in re.findall(r"""(?:src|href)=["']?(static/[^"' >]+)""", page):
        r = await desk.client.get(f"/app/{href}")
        assert r.status == 200, href


async def test_api_responses_are_not_cached_and_gzipped_and_unknown_files_are_404(h, desk):
    await onboard_curator(h)
    for headers in (desk.auth(CURATOR_ID), {}):
        r = await desk.client.get("/api/me", headers=headers)
        assert r.status in (200, 401)
        assert r.headers["Cache-Control"] == "no-store"
        assert r.headers["Content-Type"].startswith("application/json")
        assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    r = await desk.client.get(
        "/api/participants", headers={**desk.auth(CURATOR_ID), "Accept-Encoding": "gzip"}
    )
    assert r.status == 200 and r.headers.get("Content-Encoding") == "gzip"
    assert (await r.json())["total"] == 1
    for path in ("/app/static/nothing.js", "/app/static/index.html", "/app/static/..%2F__init__.py"):
        r = await desk.client.get(path)
        assert r.status == 404, path
    r = await desk.client.get("/app", allow_redirects=False)
    assert r.status == 302 and r.headers["Location"] == "/app/"


# -- 10. WEB_APP_URL: the desk on or off ---------------------------------------------------------------
def menu_button(fake: Any, telegram_id: int) -> dict[str, Any]:
    """The chat's menu button as setChatMenuButton last set it (the fake keeps the JSON as sent)."""
    button = fake.menu_buttons.get(telegram_id)
    return json.loads(button) if isinstance(button, str) else (button or {})


async def test_without_web_app_url_there_is_no_desk_and_no_menu_button(db_url, fake):
    h = await Harness.start(make_settings(db_url, curator_ids=str(CURATOR_ID)), fake)
    try:
        await onboard_curator(h)
        assert menu_button(fake, CURATOR_ID) in ({}, {"type": "commands"})  # the usual list of commands
        async with desk_of(h) as desk:
            for path in ("/api/me", "/api/participants", "/api/docs", "/app/"):
                r = await desk.client.get(path, headers=desk.auth(CURATOR_ID))
                assert r.status == 404, path
            r = await desk.client.get("/healthz")
            assert r.status == 200
    finally:
        await h.close()


async def test_with_web_app_url_a_curator_gets_the_desk_button_and_a_mentee_does_not(h, fake):
    c = await onboard_curator(h)
    button = menu_button(fake, CURATOR_ID)
    assert button["type"] == "web_app"
    assert button["web_app"]["url"] == DESK_URL and button["text"] == RU("desk.menu_button")
    await onboard_mentee(h, c, 2001)
    assert menu_button(fake, 2001) in ({}, {"type": "commands"})


async def test_turning_the_desk_on_later_gives_existing_curators_the_button_at_start(db_url, fake):
    """A curator who joined before WEB_APP_URL was set gets the desk's button when the bot next starts (as
    run_polling and run_webhook do after the default menus), without writing to the bot; a mentee does not."""
    from handlers.menu import refresh_desk_menus

    h = await Harness.start(make_settings(db_url, curator_ids=str(CURATOR_ID)), fake)
    c = await onboard_curator(h)
    await onboard_mentee(h, c, 2001)
    await h.close()
    assert menu_button(fake, CURATOR_ID).get("type") != "web_app"
    h = await Harness.start(make_settings(db_url, curator_ids=str(CURATOR_ID), web_app_url=DESK_URL), fake)
    try:
        assert await refresh_desk_menus(h.app.bot, h.app.factory, h.app.settings, h.app.clock()) == 1
        assert menu_button(fake, CURATOR_ID)["type"] == "web_app"
        assert menu_button(fake, 2001).get("type") != "web_app"
        # Current already: nothing is set again.
        assert await refresh_desk_menus(h.app.bot, h.app.factory, h.app.settings, h.app.clock()) == 0
    finally:
        await h.close()


async def test_an_unknown_api_path_answers_in_json_as_every_refusal_does(desk):
    for method, path in (("GET", "/api/nothing"), ("DELETE", "/api/participants")):
        r = await desk.client.request(method, path, headers=desk.auth(CURATOR_ID))
        assert r.status in (404, 405)
        body = await r.json()
        assert body["message"] == RU("desk.error.not_found")


async def test_webhook_mode_serves_the_desk_beside_the_webhook(h):
    """Webhook mode's own web application (bot.webhook.make_web_app) mounts the desk too."""
    from aiohttp.test_utils import TestClient, TestServer

    from bot.webhook import WEBHOOK_PATH, make_web_app
    from scheduler.leader import Leadership

    async def nothing() -> None:
        return None

    h.app.settings.webhook_secret = SecretStr("s" * 40)
    web_app = make_web_app(h.app, h.app.metrics, Leadership(h.app.settings.database_url, nothing, nothing))
    paths = {r.resource.canonical for r in web_app.router.routes() if r.resource is not None}
    assert WEBHOOK_PATH in paths and "/api/participants" in paths and "/app/" in paths
    await onboard_curator(h)
    client = TestClient(TestServer(web_app))
    await client.start_server()
    try:
        r = await client.get("/api/me", headers={"Authorization": f"tma {h.fake.init_data(CURATOR_ID)}"})
        assert r.status == 200 and (await r.json())["user"]["name"] == CURATOR_NAME
    finally:
        await client.close()
