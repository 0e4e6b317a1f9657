"""/export: the workbook read back cell by cell, the CSV zip parsed back, no Telegram id or username in any
file, KPIs from plain rows, 10,000 participants through the real queries, and the command in chat."""

from __future__ import annotations

import csv
import io
import time
import zipfile
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import insert, select

from bot.demo.harness import Harness, make_settings
from bot.domain.entities import Role, Status
from bot.i18n import Translator
from bot.services import export as ex
from bot.services import reports as reports_svc
from bot.services.onboarding import CONSENT_VERSION
from handlers import reports as reports_handlers
from storage.models import AuditEntry, FormResponse, Meeting, Pair, PairMember, Participant, ParticipantRole
from storage.repositories.reports import PairRow
from storage.uow import Repos, unit_of_work
from tests.helpers import onboard_curator

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
TG = {"mentor": 987_650_001, "mentee": 987_650_002, "other": 987_650_003}
USERNAMES = {"mentor": "secret_mentor_login", "mentee": "secret_mentee_login", "other": "secret_other_login"}
MENTEE_ANSWERS = {
    "study_level": "school_8_9",
    "goals": ["grades"],
    "areas": ["math", "physics"],
    "difficulties": "=1+2 не понимаю дроби",  # a formula-looking answer must stay text
    "format": "online",
    "slots": ["weekday_evening"],
    "interests": None,
}
MENTOR_ANSWERS = {
    "mentor_role": "teacher",
    "mentoring_forms": ["pupil_pupil"],
    "areas": ["math"],
    "experience_years": 12,
    "capacity": 2,
    "format": "any",
    "slots": ["weekday_evening"],
    "motivation": "Хочу помогать ребятам находить свой путь.",
    "about": None,
}


async def person(
    repos: Repos, key: str, role: Role, name: str, answers: dict | None, minor: bool = False
) -> int:
    p = await repos.participants.create(TG[key], "ru", Status.ACTIVE.value, NOW, username=USERNAMES[key])
    await repos.participants.update(p.id, NOW, full_name=name, group_name="8А", is_minor=minor)
    await repos.participants.add_role(p.id, role, NOW)
    await repos.consents.record(
        telegram_id=TG[key],
        participant_id=p.id,
        subject_id=p.id,
        kind="self",
        version=CONSENT_VERSION,
        accepted=True,
        now=NOW,
    )
    if answers is not None:
        form_id = "mentor" if role is Role.MENTOR else "mentee_needs"
        r = await repos.forms.create(p.id, form_id, 1, NOW, answers=answers)
        await repos.forms.submit(r.id, NOW)
    return p.id


async def submitted(repos: Repos, pid: int, form_id: str, answers: dict, context: str | None = None) -> None:
    r = await repos.forms.create(pid, form_id, 1, NOW, answers=answers, context=context)
    await repos.forms.submit(r.id, NOW)


async def programme(h: Harness) -> dict[str, int]:
    """A mentor and a mentee in a pair with one held meeting, feedback from both and a final survey."""
    async with unit_of_work(h.app.factory) as repos:
        mentor = await person(repos, "mentor", Role.MENTOR, "Наставникова Ольга", MENTOR_ANSWERS)
        mentee = await person(repos, "mentee", Role.MENTEE, "Ученик Пётр", MENTEE_ANSWERS, minor=True)
        await person(repos, "other", Role.MENTEE, "Без Пары Анна", None)
        current = (await repos.programmes.active())[0]
        programme_id = current.id
        # /population 4: coverage is counted against it, never against who happens to be registered
        await repos.programmes.update_settings(programme_id, {**current.settings, "population": 4})
        pair = await repos.pairs.create(programme_id, mentor, None, NOW)
        await repos.pairs.add_member(pair, mentee, NOW)
        starts = datetime(2026, 3, 12, 13, 30, tzinfo=UTC)  # 16:30 in Moscow
        m = await repos.meetings.create(
            pair,
            "introduction",
            starts,
            starts + timedelta(hours=1),
            "online",
            "https://meet.example.org/x",
            mentor,
            NOW,
        )
        await repos.meetings.update(m.id, NOW, status="held", held_at=starts + timedelta(hours=2))
        await submitted(
            repos, mentee, "meeting_feedback", {"rating": 4, "done": "Разобрали дроби"}, f"meeting:{m.id}"
        )
        await submitted(
            repos, mentor, "meeting_feedback", {"rating": 5, "done": "Познакомились"}, f"meeting:{m.id}"
        )
        await submitted(repos, mentee, "final", {"role": "mentee", "satisfaction": 9})
    return {"mentor": mentor, "mentee": mentee, "pair": pair, "meeting": m.id}


async def export_data(h: Harness, t: Translator) -> ex.ExportData:
    async with unit_of_work(h.app.factory) as repos:
        return await reports_svc.collect(repos, h.app.dp["engine"], t, NOW)


def rows(ws) -> list[tuple]:
    return [r for r in ws.iter_rows(values_only=True) if any(v is not None for v in r)]


def by_header(ws, first_col_value) -> dict:
    header, *body = rows(ws)
    row = next(r for r in body if r[0] == first_col_value)
    return dict(zip(header, row, strict=False))


def assert_no_telegram_identity(blob: bytes) -> None:
    """Every part of the file, decompressed: neither a Telegram id nor a username appears anywhere."""
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        for name in zf.namelist():
            part = zf.read(name)
            for secret in [*USERNAMES.values(), *(str(x) for x in TG.values())]:
                assert secret.encode() not in part, (secret, name)


async def test_workbook_read_back_cell_by_cell(h):
    ids = await programme(h)
    t = Translator("ru")
    data = await export_data(h, t)
    progress: list[tuple[int, int]] = []
    blob = ex.build_workbook(data, t, lambda done, total: progress.append((done, total)))
    assert_no_telegram_identity(blob)
    wb = openpyxl.load_workbook(io.BytesIO(blob))
    assert wb.sheetnames == [
        "Участники",
        "Анкета наставляемого",
        "Анкета наставника",
        "Анкета молодого специалиста",
        "Пары",
        "Встречи",
        "Отзывы и опросы",
        "Показатели",
        "Рост участников",
        "SWOT-анализ",
        "Дорожная карта",
        "Успешные практики",
    ]
    people = wb["Участники"]
    assert rows(people)[0] == (
        "ID",
        "ФИО",
        "Роли",
        "Статус",
        "Несовершеннолетний",
        "Класс / группа",
        "Должность",
        "Язык",
        "Дата регистрации",
    )
    assert people["A1"].font.b  # the header row is bold
    mentee = by_header(people, ids["mentee"])
    assert mentee["ФИО"] == "Ученик Пётр"
    assert mentee["Роли"] == "наставляемый"
    assert mentee["Статус"] == "активен"
    assert mentee["Несовершеннолетний"] == "Да"
    assert mentee["Класс / группа"] == "8А"
    assert mentee["Дата регистрации"] == datetime(2026, 3, 10, 12, 0)  # Moscow time, as Excel shows it

    answers = wb["Анкета наставляемого"]
    form = h.app.dp["engine"].forms["mentee_needs"]
    row = by_header(answers, ids["mentee"])
    assert row["ФИО"] == "Ученик Пётр"
    assert row[form.question("areas").text.ru] == "Математика, Физика"
    assert row[form.question("format").text.ru] == "Онлайн"
    assert row[form.question("interests").text.ru] == "— (пропущено)"
    difficulties = form.question("difficulties").text.ru
    assert row[difficulties] == "=1+2 не понимаю дроби"
    col = rows(answers)[0].index(difficulties) + 1
    cell = answers.cell(row=2, column=col)
    assert cell.data_type == "s"  # text, not a formula
    mentor_row = by_header(wb["Анкета наставника"], ids["mentor"])
    assert (
        mentor_row[h.app.dp["engine"].forms["mentor"].question("experience_years").text.ru] == 12
    )  # a number
    assert len(rows(wb["Анкета молодого специалиста"])) == 1  # headers only

    pair = by_header(wb["Пары"], ids["pair"])
    assert pair["Наставник"] == "Наставникова Ольга"
    assert pair["ID наставника"] == ids["mentor"]
    assert pair["Наставляемые"] == "Ученик Пётр"
    assert pair["ID наставляемых"] == str(ids["mentee"])
    assert pair["Этап"] == "Встреча-знакомство"
    assert pair["Статус"] == "работает"

    meeting = by_header(wb["Встречи"], ids["meeting"])
    assert meeting["ID пары"] == ids["pair"]
    assert meeting["Этап"] == "Встреча-знакомство"
    assert meeting["Статус"] == "Состоялась"
    assert meeting["Формат"] == "Онлайн"
    assert meeting["Начало"] == datetime(2026, 3, 12, 16, 30)
    assert wb["Встречи"]["G2"].number_format == "DD.MM.YYYY HH:MM"

    feedback = rows(wb["Отзывы и опросы"])
    header = feedback[0]
    got = sorted(
        (
            r[header.index("ФИО")],
            r[header.index("Роль")],
            r[header.index("Оценка")],
            r[header.index("Из")],
            r[header.index("Анкета")],
        )
        for r in feedback[1:]
    )
    assert got == [
        ("Наставникова Ольга", "наставник", 5, 5, "Отзыв о встрече"),
        ("Ученик Пётр", "наставляемый", 4, 5, "Отзыв о встрече"),
        ("Ученик Пётр", "наставляемый", 9, 10, "Итоговый опрос"),
    ]

    kpis = rows(wb["Показатели"])
    assert kpis[0] == ("Учебный год", "Показатель", "Значение", "Цель", "Оценка выполнения")
    coverage = next(r for r in kpis[1:] if r[1] == "Вовлечённость в наставничество")
    # one mentee in a pair of the population of 4, in the school year 2025/26 (March 2026)
    assert coverage[0] == "2025/26" and coverage[2] == pytest.approx(0.25)
    assert coverage[3] is None and coverage[4] == "цель не задана"  # measured, but no target: not "no data"
    assert wb["Показатели"]["C2"].number_format == "0%"
    satisfied = next(r for r in kpis[1:] if r[1] == "Удовлетворённость наставляемых")
    assert satisfied[2] == 1  # 9 of 10 counts as satisfied
    assert rows(wb["Дорожная карта"]) == [("Раздел", "Мероприятие", "Ответственный", "Срок", "Результат")]

    total = sum(len(rows(ws)) - 1 for ws in wb.worksheets)
    assert progress[-1] == (total, total)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)


async def test_english_workbook_has_english_titles(h):
    await programme(h)
    t = Translator("en")
    wb = openpyxl.load_workbook(io.BytesIO(ex.build_workbook(await export_data(h, t), t)))
    assert wb.sheetnames[:2] == ["Participants", "Mentee questionnaire"]
    assert rows(wb["Pairs"])[1][6] == "Introductory meeting"


async def test_csv_zip_parses_back(h):
    ids = await programme(h)
    t = Translator("ru")
    blob = ex.build_csv(await export_data(h, t), t)
    assert_no_telegram_identity(blob)
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        assert zf.namelist() == [
            "participants.csv",
            "answers_mentee_needs.csv",
            "answers_mentor.csv",
            "answers_young_specialist_needs.csv",
            "pairs.csv",
            "meetings.csv",
            "feedback.csv",
            "kpis.csv",
            "growth.csv",
            "swot.csv",
            "roadmap.csv",
            "cases.csv",
        ]
        raw = zf.read("participants.csv")
        assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens UTF-8 correctly
        people = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
        answers = list(
            csv.reader(io.StringIO(zf.read("answers_mentee_needs.csv").decode("utf-8-sig")), delimiter=";")
        )
        kpis = list(csv.reader(io.StringIO(zf.read("kpis.csv").decode("utf-8-sig")), delimiter=";"))
        meetings = list(csv.reader(io.StringIO(zf.read("meetings.csv").decode("utf-8-sig")), delimiter=";"))
    assert people[0][:3] == ["ID", "ФИО", "Роли"]
    mentee = next(r for r in people if r[0] == str(ids["mentee"]))
    assert mentee[1:5] == ["Ученик Пётр", "наставляемый", "активен", "Да"]
    assert mentee[8] == "10.03.2026 12:00"
    row = next(r for r in answers if r[0] == str(ids["mentee"]))
    assert "Математика, Физика" in row
    assert "'=1+2 не понимаю дроби" in row  # a leading quote keeps a spreadsheet from running it
    coverage = next(r for r in kpis if r[1] == "Вовлечённость в наставничество")
    assert coverage[2] == "25%"
    assert meetings[1][6] == "12.03.2026 16:30"


# ------------------------------------------------------------------------------------------------ KPIs
def _pair(
    pid, mentor, mentees, stage, status="active", created=datetime(2025, 9, 1, tzinfo=UTC), closed=None
):
    return PairRow(pid, 1, mentor, mentees, (), stage, status, created, closed, None)


def test_stage_funnel_counts_pairs_that_reached_each_stage():
    pairs = [
        _pair(1, 10, (1,), "introduction"),
        _pair(2, 10, (2,), "planning"),
        _pair(3, 11, (3,), "final", status="finished"),
        _pair(4, 12, (4,), "trial", status="dissolved"),
    ]
    assert ex.stage_funnel(pairs) == [
        ("introduction", 4),
        ("trial", 3),
        ("planning", 2),
        ("joint_work", 1),
        ("final", 1),
        ("finished", 1),
    ]


# ------------------------------------------------------------------------------------------------ 10,000
async def bulk_programme(h: Harness, n: int) -> None:
    """n participants by bulk insert, like the benchmarks: nine in ten mentees with a submitted questionnaire,
    one in ten mentors, a pair per mentor with a held meeting and feedback."""
    rnd_areas = (["math"], ["physics", "math"], ["russian"], ["informatics"])
    people, roles, responses, pairs, members, meetings = [], [], [], [], [], []
    for i in range(1, n + 1):
        people.append(
            dict(
                id=i,
                telegram_id=5_000_000_000 + i,
                username=f"user_{i}",
                full_name=f"Иванов Иван {i}",
                language="ru",
                status="active",
                is_minor=i % 3 == 0,
                group_name=f"{5 + i % 7}А",
                unreachable=False,
                created_at=NOW,
                updated_at=NOW,
            )
        )
        mentor = i % 10 == 0
        roles.append(dict(participant_id=i, role="mentor" if mentor else "mentee", created_at=NOW))
        answers = MENTOR_ANSWERS if mentor else MENTEE_ANSWERS | {"areas": rnd_areas[i % 4]}
        responses.append(
            dict(
                participant_id=i,
                form_id="mentor" if mentor else "mentee_needs",
                form_version=1,
                version=1,
                status="submitted",
                answers=answers,
                editing=False,
                started_at=NOW,
                updated_at=NOW,
                submitted_at=NOW,
            )
        )
        if mentor:
            pairs.append(dict(id=i, mentor_id=i, status="active", stage="trial", created_at=NOW))
            members.append(dict(pair_id=i, mentee_id=i - 1, joined_at=NOW, dissolved=False))
            meetings.append(
                dict(
                    id=i,
                    pair_id=i,
                    stage="introduction",
                    status="held",
                    starts_at=NOW,
                    ends_at=NOW,
                    format="offline",
                    sequence=0,
                    created_at=NOW,
                    updated_at=NOW,
                    held_at=NOW,
                )
            )
            responses.append(
                dict(
                    participant_id=i - 1,
                    form_id="meeting_feedback",
                    form_version=1,
                    version=1,
                    status="submitted",
                    context=f"meeting:{i}",
                    answers={"rating": 1 + i % 5},
                    editing=False,
                    started_at=NOW,
                    updated_at=NOW,
                    submitted_at=NOW,
                )
            )
    async with unit_of_work(h.app.factory) as repos:
        s = repos.session
        for model, values in (
            (Participant, people),
            (ParticipantRole, roles),
            (FormResponse, responses),
            (Pair, pairs),
            (PairMember, members),
            (Meeting, meetings),
        ):
            await s.execute(insert(model), values)


async def test_ten_thousand_participants_export(h):
    n = 10_000
    await bulk_programme(h, n)
    t = Translator("ru")
    started = time.perf_counter()
    data = await export_data(h, t)
    loaded = time.perf_counter()
    xlsx = ex.build_workbook(data, t)
    built = time.perf_counter()
    archive = ex.build_csv(data, t)
    done = time.perf_counter()
    print(
        f"\nexport of {n:,} participants: queries {loaded - started:.2f} s, XLSX {built - loaded:.2f} s "
        f"({len(xlsx) / 1e6:.1f} MB), CSV zip {done - built:.2f} s ({len(archive) / 1e6:.1f} MB)"
    )
    assert len(data.people) == n and len(data.answers) == n and len(data.pairs) == n // 10
    wb = openpyxl.load_workbook(io.BytesIO(xlsx), read_only=True)
    assert sum(1 for _ in wb["Участники"].iter_rows()) == n + 1
    wb.close()
    assert b"user_5000" not in xlsx  # usernames are not in the (compressed) file either


# ------------------------------------------------------------------------------------------------ in chat
@pytest.fixture
async def hr(db_url, fake):
    """The real dispatcher, wired as in production."""
    harness = await Harness.start(make_settings(db_url, curator_ids="1000"), fake)
    yield harness
    await harness.close()


async def test_export_in_chat_sends_the_file_to_the_curator(hr):
    h = hr
    curator = await onboard_curator(h)
    ids = await programme(h)
    replies = await curator.send("/export")
    assert "В каком формате?" in replies[-1].text
    await curator.click("📊 Excel (XLSX)")
    last = h.fake.delivered_to(curator.id)[-1]
    assert last.method == "sendDocument"
    assert last.document["filename"].endswith(".xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(last.document["data"]))
    assert by_header(wb["Участники"], ids["mentee"])["ФИО"] == "Ученик Пётр"
    assert_no_telegram_identity(last.document["data"])
    status = h.fake.delivered_to(curator.id)[-2]
    assert status.text.startswith("Готово: участников — 4")  # the choice message, edited in place
    assert status.edits >= 2

    await curator.send("/export")
    await curator.click("📄 CSV (zip)")
    last = h.fake.delivered_to(curator.id)[-1]
    assert last.method == "sendDocument" and last.document["filename"].endswith(".zip")
    assert zipfile.ZipFile(io.BytesIO(last.document["data"])).testzip() is None

    async with unit_of_work(h.app.factory) as repos:
        audit = (await repos.session.scalars(select(AuditEntry).where(AuditEntry.action == "export"))).all()
    assert [a.details["format"] for a in audit] == ["xlsx", "csv"]
    assert all("Пётр" not in str(a.details) for a in audit)


async def test_report_sends_four_charts(hr):
    h = hr
    curator = await onboard_curator(h)
    await programme(h)
    await curator.send("/report")
    photos = [m for m in h.fake.delivered_to(curator.id) if m.method == "sendPhoto"]
    assert len(photos) == 4
    assert all(p.document["data"].startswith(b"\x89PNG\r\n\x1a\n") for p in photos)
    assert photos[0].text.startswith("Воронка этапов")
    assert photos[3].text == "Рост участников: самооценка в начале и в конце программы"


async def test_export_and_report_refuse_non_curators(hr):
    h = hr
    await onboard_curator(h)
    await programme(h)
    mentee = h.user(TG["mentee"], "Mentee", "ru")
    for command in ("/export", "/report", "/report_doc"):
        replies = await mentee.send(command)
        assert replies[-1].text == "Эта команда доступна только куратору программы."
    await mentee.press("ce:xlsx")  # forged button data
    assert mentee.alerts()[-1] == "Эта команда доступна только куратору программы."
    assert not [m for m in h.fake.delivered_to(mentee.id) if m.method in ("sendDocument", "sendPhoto")]


async def test_export_progress_is_shown_while_the_file_is_built(hr, monkeypatch):
    h = hr
    monkeypatch.setattr(reports_handlers, "PROGRESS_INTERVAL", 0.01)
    await bulk_programme(h, 3_000)
    curator = await onboard_curator(h)
    await curator.send("/export")
    await curator.click("📊 Excel (XLSX)")
    edits = [r.params.get("text", "") for r in h.fake.requests if r.method == "editMessageText"]
    assert edits[0] == "Собираю данные…"
    # 3,001 people, 3,000 questionnaires, 300 pairs, meetings and feedback, 4 KPIs
    assert any(e.startswith("Готовлю файл: ") and "из 6\u00a0905 строк" in e for e in edits), edits
    assert edits[-1].startswith("Готово: участников — 3\u00a0001")
    assert h.fake.delivered_to(curator.id)[-1].method == "sendDocument"
