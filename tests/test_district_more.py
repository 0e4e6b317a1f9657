"""The coordinator's announcement and weekly digest, a curator of two institutions, and the pure district
figures (small numbers, sums, lights, the form of a pair)."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select

from bot.domain import district as dd
from bot.domain import kpi
from bot.domain.entities import Role
from storage.models import Material, Programme, RoadmapItem
from storage.uow import unit_of_work
from tests.helpers import LINK_RE, onboard_mentee, onboard_mentor
from tests.test_district import CONSENT, NAMES, _coordinator, _institution, _new_programme

FORMS = {"pupil_pupil": "pupil", "student_student": "student", "teacher_teacher": "teacher"}


async def test_the_coordinator_announces_to_every_curator_once(h):
    coordinator = await _coordinator(h)
    a, _ = await _institution(h, coordinator, "Школа № 1", 7101, NAMES[0])
    b, _ = await _institution(h, coordinator, "Школа № 2", 7102, NAMES[1])
    await coordinator.send("/district_announce")
    replies = await coordinator.send(
        "Совещание кураторов в пятницу в 15:00, актовый зал управления образования."
    )
    assert "Получателей объявления (кураторов организаций): 2" in replies[-1].text
    send = replies[-1].buttons()[0]["callback_data"]
    await coordinator.press(send, replies[-1])
    assert "сообщений — 2" in coordinator.last().text
    await coordinator.press(send, replies[-1])  # a second press sends nothing twice
    await h.deliver_outbox()
    for curator in (a, b):
        assert sum("Совещание кураторов" in x for x in curator.texts()) == 1


async def test_the_weekly_digest_names_the_institution_falling_behind_and_no_one_in_it(h):
    coordinator = await _coordinator(h)
    a, _ = await _institution(h, coordinator, "Школа № 1", 7101, NAMES[0])
    b, _ = await _institution(h, coordinator, "Школа № 2", 7102, NAMES[1])
    for curator in (a, b):
        await _new_programme(curator)
    await onboard_mentee(h, a, 7201, name=NAMES[2])
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        first = await repos.session.scalar(select(Programme.id).order_by(Programme.id))
        repos.session.add(
            RoadmapItem(
                programme_id=first,
                activity="Сформировать базу наставляемых",
                deadline_text="до 1 октября",
                deadline_kind="date",
                due_on=(now - timedelta(days=10)).date(),
                recurrence={},
                created_at=now,
                updated_at=now,
            )
        )
    assert await h.app.jobs.coordinator_digest() == 1
    assert await h.app.jobs.coordinator_digest() == 0  # once a week
    await h.deliver_outbox()
    text = coordinator.texts()[-1]
    assert "1 организация отстаёт" in text and "Школа № 1: просрочены пункты дорожной карты" in text
    assert "Школа № 2" not in text and NAMES[2] not in text and NAMES[0] not in text


async def test_a_curator_of_two_institutions_sees_each_separately(h):
    coordinator = await _coordinator(h)
    a, _ = await _institution(h, coordinator, "Школа № 1", 7101, NAMES[0])
    await _new_programme(a)
    await onboard_mentee(h, a, 7201, name=NAMES[2])
    b, _ = await _institution(h, coordinator, "Школа № 2", 7102, NAMES[1])
    await _new_programme(b)
    await onboard_mentee(h, b, 7202, name=NAMES[3])
    # The coordinator invites the first school's curator to the second as well.
    await coordinator.send("/institutions")
    replies = await coordinator.click("🔗 Пригласить куратора в №2")
    await a.send(f"/start {LINK_RE.search(replies[-1].text).group(1)}")
    if any(x.get("text") == CONSENT for x in a.last().buttons()):
        await a.click(CONSENT)
    listing = "\n".join(m.text or "" for m in await a.send("/participants"))
    assert NAMES[2] in listing and NAMES[3] not in listing
    replies = await a.send("/institution")
    assert "Всего ваших организаций: 2" in replies[-1].text
    await a.click("Школа № 2")
    assert "Теперь вы работаете в организации «Школа № 2»" in a.last().text
    listing = "\n".join(m.text or "" for m in await a.send("/participants"))
    assert NAMES[3] in listing and NAMES[2] not in listing


def test_small_numbers_are_shown_as_less_than_five():
    assert [dd.shown_count(n) for n in (0, 1, 4, 5, 120)] == ["0", "< 5", "< 5", "5", "120"]
    assert dd.shown_share(0.8, 4) is None and dd.shown_share(0.8, 5) == "80 %"
    assert dd.shown_count(9, small=10) == "< 10"


def test_the_total_is_the_sum_of_the_rows():
    a = dd.Figures(mentors=3, mentees=7, pairs_by_stage={"trial": 2}, answered_by_period={"2026-12": 4})
    b = dd.Figures(
        mentors=1, mentees=2, pairs_by_stage={"trial": 1, "final": 1}, invited_by_period={"2026-12": 9}
    )
    total = dd.total([a, b])
    assert (total.mentors, total.mentees) == (4, 9)
    assert dict(total.pairs_by_stage) == {"final": 1, "trial": 3}
    december = total.for_period(dd.Period(2026, 12))
    assert (december.survey_answered, december.survey_invited) == (4, 9)
    assert dd.shown_share(december.response_rate, 9) == "44 %"
    assert dd.Figures.from_json(total.to_json()) == total


def test_lights_are_grey_over_too_few_people_and_red_below_target():
    few = dd.Figures(mentee_satisfied=1, mentee_rated=2, engaged=10, population=1000)
    lights = {x.code: x for x in dd.lights(few, {kpi.KPI_COVERAGE: 0.70})}
    assert lights[kpi.KPI_MENTEE_SATISFACTION].light == kpi.Light.GREY
    assert lights[kpi.KPI_COVERAGE].light == kpi.Light.RED
    assert "coverage" in dd.behind(few, {kpi.KPI_COVERAGE: 0.70})
    many = dd.Figures(mentee_satisfied=9, mentee_rated=10)
    assert {x.code: x for x in dd.lights(many, {})}[kpi.KPI_MENTEE_SATISFACTION].light == kpi.Light.GREEN


def test_the_form_of_a_pair_is_the_mentors_offer_that_fits_the_mentee():
    assert dd.pair_form(["teacher_teacher", "pupil_pupil"], "pupil", FORMS, FORMS) == "pupil_pupil"
    assert dd.pair_form(["teacher_teacher"], "pupil", FORMS, FORMS) == "unknown"
    assert dd.pair_form(["pupil_pupil"], "pupil", FORMS, ["teacher_teacher"]) == "unknown"


def test_monitoring_periods_are_december_and_june():
    from datetime import date

    assert [p.key for p in dd.periods_around(date(2026, 12, 6), 3)] == ["2026-12", "2026-06", "2025-12"]
    assert [p.key for p in dd.periods_around(date(2027, 3, 1), 2)] == ["2027-06", "2026-12"]
    assert dd.Period.parse("2026-07") is None and dd.Period.parse("2026-06") == dd.Period(2026, 6)


async def test_a_mentee_reads_the_materials_of_their_own_institution_only(h):
    coordinator = await _coordinator(h)
    a, _ = await _institution(h, coordinator, "Школа № 1", 7101, NAMES[0])
    await _new_programme(a)
    b, _ = await _institution(h, coordinator, "Школа № 2", 7102, NAMES[1])
    mentee = await onboard_mentee(h, a, 7201, name=NAMES[2])
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        for institution, title in ((1, "Памятка школы № 1"), (2, "Памятка школы № 2")):
            repos.session.add(
                Material(
                    audience="mentees",
                    kind="text",
                    title=title,
                    body="…",
                    created_at=now,
                    institution_id=institution,
                )
            )
    await mentee.send("/materials")
    listed = " ".join(str(m.buttons()) + (m.text or "") for m in h.fake.delivered_to(7201))
    assert "Памятка школы № 1" in listed and "Памятка школы № 2" not in listed


async def test_the_coordinator_announces_to_chosen_institutions_only(h):
    coordinator = await _coordinator(h)
    a, _ = await _institution(h, coordinator, "Школа № 1", 7101, NAMES[0])
    b, _ = await _institution(h, coordinator, "Школа № 2", 7102, NAMES[1])
    await coordinator.send("/district_announce")
    await coordinator.send("Только для второй школы: проверка документов в среду.")
    await coordinator.click("☐ Школа № 2")
    assert "Отмечено организаций: 1. Получателей объявления (их кураторов): 1" in coordinator.last().text
    await coordinator.click("📨 Отправить (1)")
    await h.deliver_outbox()
    assert any("проверка документов" in x for x in b.texts())
    assert not any("проверка документов" in x for x in a.texts())


async def test_the_coordinator_renames_an_institution(h):
    coordinator = await _coordinator(h)
    await _institution(h, coordinator, "Школа № 1", 7101, NAMES[0])
    await coordinator.send("/institutions")
    replies = await coordinator.click("✏️ Переименовать №1")
    assert "Сейчас организация называется «Школа № 1»" in replies[-1].text
    assert "Напишите название" not in replies[-1].text
    replies = await coordinator.send("x")
    assert "от 2 до 300 символов" in replies[-1].text  # asked again, nothing changed
    replies = await coordinator.send("МБОУ «СОШ № 1 имени А. С. Пушкина»")
    assert "теперь называется «МБОУ «СОШ № 1 имени А. С. Пушкина»»" in replies[-1].text
    assert "МБОУ «СОШ № 1 имени А. С. Пушкина»" in (await coordinator.send("/institutions"))[-1].text


def test_a_campaign_counts_for_the_monitoring_it_belongs_to():
    assert dd.Period.of_campaign("2026-11") == dd.Period(2026, 12)  # a school's November survey
    assert dd.Period.of_campaign("2027-05") == dd.Period(2027, 6)
    assert dd.Period.of_campaign("2026-12") == dd.Period(2026, 12) and dd.Period.of_campaign("x") is None


def test_a_chart_of_hundreds_of_institutions_shows_the_lowest_coverage_and_stays_small():
    from PIL import Image

    from bot.domain.entities import InstitutionDTO
    from bot.i18n import Translator
    from bot.services.district import District, Row
    from bot.services.district_report import CHART_MOST, render_png

    rows = [
        Row(InstitutionDTO(i, f"Школа № {i}"), dd.Figures(engaged=i, population=1000), {}, 1, 1)
        for i in range(1, 301)
    ]
    district = District(dd.Period(2026, 12), rows, dd.total(r.figures for r in rows), {})
    png = render_png(district, Translator("ru"))
    width, _ = Image.open(io.BytesIO(png)).size
    assert width <= 100 * (1.2 + 0.9 * CHART_MOST) + 1


def test_the_district_shows_shares_as_percentages_against_the_institutions_own_targets():
    from bot.i18n import Translator
    from bot.services.district_report import cells, headers

    t = Translator("ru")
    school = dd.Figures(mentees=60, engaged=60, population=1200, mentee_satisfied=6, mentee_rated=8)
    shown = dict(zip(headers(t), cells(school, {}, t, 5), strict=True))
    assert shown[t("district.col.coverage")] == "⚪ 5 %"  # no coverage target: no judgement
    assert shown[t("district.col.mentee_satisfaction")] == "🟢 75 %"  # against the methodology's 70 %
    targeted = dict(zip(headers(t), cells(school, {kpi.KPI_COVERAGE: 0.7}, t, 5), strict=True))
    assert targeted[t("district.col.coverage")] == "🔴 5 %"
    stale = dd.Figures(engaged=30, population=20)
    assert stale.coverage is None


async def test_a_coordinator_invites_another_coordinator_by_link(h):
    coordinator = await _coordinator(h)
    await coordinator.send("/institutions")
    replies = await coordinator.click("👤 Пригласить ещё одного координатора")
    other = h.user(7002, "Coord2", "ru")
    await other.send(f"/start {LINK_RE.search(replies[-1].text).group(1)}")
    await other.click(CONSENT)
    await other.send("Второй Координатор Иванович")
    assert "Вы координатор центра наставничества" in "\n".join(other.texts())
    assert "Сводка по району" in (await other.send("/district"))[-1].text
    assert "только куратору" in (await other.send("/participants"))[-1].text


async def test_a_district_of_many_institutions_is_paged_within_telegrams_button_limit(h):
    coordinator = await _coordinator(h)
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        for n in range(1, 24):
            await repos.institutions.create(f"Школа № {n}", now)
    replies = await coordinator.send("/institutions")
    assert "страница 1 из 3, всего 23" in replies[-1].text and "Школа № 11" not in replies[-1].text
    assert len(replies[-1].buttons()) <= 100
    await coordinator.click("▶")
    assert "Школа № 11" in coordinator.last().text and "страница 2 из 3" in coordinator.last().text
    await coordinator.send("/district_announce")
    replies = await coordinator.send("Проверка связи.")
    assert len(replies[-1].buttons()) <= 100 and "☐ Школа № 11" not in str(replies[-1].buttons())
    await coordinator.click("▶")
    await coordinator.click("☐ Школа № 11")
    assert "Отмечено организаций: 1" in coordinator.last().text
    assert "☑ Школа № 11" in str(coordinator.last().buttons())


async def test_each_curators_overdue_digest_names_only_their_institutions_pairs(h):
    from bot.services import matching

    coordinator = await _coordinator(h)
    a, _ = await _institution(h, coordinator, "Школа № 1", 7101, NAMES[0])
    await _new_programme(a)
    b, _ = await _institution(h, coordinator, "Школа № 2", 7102, NAMES[1])
    await _new_programme(b)
    long_ago = h.app.clock() - timedelta(days=60)
    for curator, mentee_tg, mentor_tg, mentee, mentor in (
        (a, 7201, 7301, NAMES[2], NAMES[4]),
        (b, 7202, 7302, NAMES[3], NAMES[5]),
    ):
        await onboard_mentee(h, curator, mentee_tg, name=mentee)
        await onboard_mentor(h, curator, mentor_tg, name=mentor)
        async with unit_of_work(h.app.factory) as repos:
            kid = await repos.participants.by_telegram_id(mentee_tg)
            adult = await repos.participants.by_telegram_id(mentor_tg)
            programme = (await repos.participants.role_programmes(kid.id, Role.MENTEE))[0]
            await matching.create_pairing(repos, programme, kid.id, adult.id, None, long_ago)
    await h.app.jobs.daily_digest()
    await h.deliver_outbox()
    digest_a = next(x for x in a.texts() if "просроч" in x.lower())
    digest_b = next(x for x in b.texts() if "просроч" in x.lower())
    assert NAMES[2] in digest_a and NAMES[3] not in digest_a
    assert NAMES[3] in digest_b and NAMES[2] not in digest_b
