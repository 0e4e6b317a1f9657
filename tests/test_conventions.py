"""Telegram conventions (issue #18), through the production dispatcher and the fake Bot API: the bot's
description names its operator and the policy; /privacy answers anyone, before joining too, and the consent
links to it; people are chosen in Telegram's list of chats (users_shared), not typed — a pair by hand, a new
curator, an institution's curator, a coordinator; a mentee's or mentor's invitation comes as a QR code that
encodes exactly the link; and "sending a file…" shows while an export, the registry, the charts or the
analytic report are made."""

from __future__ import annotations

import io

import numpy as np
import pytest
import segno
from matplotlib.image import imread

from bot.callbacks.picks import Pick, PickRequest
from bot.cli import _add_role
from bot.demo.harness import Harness, make_settings
from bot.domain.entities import Role
from bot.services.commands import commands_for
from handlers.menu import set_default_menus
from storage.uow import unit_of_work
from tests.conftest import CURATOR_ID
from tests.helpers import LINK_RE, onboard_curator, onboard_mentor, token_in
from tests.test_matching_flow import mentee_answers, mentor_answers, seed

OPERATOR = "МБОУ «Средняя школа № 17»"
CONTACT = "pd@school17.example, +7 (495) 123-45-67"
CONSENT = "✅ Даю согласие"


@pytest.fixture
async def ho(db_url, fake):
    """A bot whose settings name the operator and the contact (PRIVACY_OPERATOR_NAME, PRIVACY_CONTACT)."""
    settings = make_settings(
        db_url, curator_ids=str(CURATOR_ID), privacy_operator_name=OPERATOR, privacy_contact=CONTACT
    )
    harness = await Harness.start(settings, fake)
    yield harness
    await harness.close()


def chat_menu(h, chat_id: int) -> set[str]:
    key = next(k for k in h.fake.commands if f'"chat_id": {chat_id}' in k)
    return {c["command"] for c in h.fake.commands[key]}


async def _participant(h, telegram_id: int):
    async with unit_of_work(h.app.factory) as repos:
        return await repos.participants.by_telegram_id(telegram_id)


# ------------------------------------------------------------------------------------ description
async def test_the_description_before_start_names_the_operator_the_purpose_and_the_policy(ho):
    await set_default_menus(ho.app.bot, ho.app.settings.default_language, ho.app.settings)
    d = ho.fake.descriptions
    for lang, purpose in (
        ("ru", "программы наставничества"),
        ("en", "mentoring programme"),
        ("", "наставничества"),
    ):
        description, short = d[f"setMyDescription|{lang}"], d[f"setMyShortDescription|{lang}"]
        assert OPERATOR in description and purpose in description and "/privacy" in description
        assert ("согласи" if lang != "en" else "consent") in description  # personal data, only with consent
        assert "/privacy" in short and len(short) <= 120
    # Anyone who has not joined sees /privacy in the menu, in both languages.
    menus = [v for k, v in ho.fake.commands.items() if '"default"' in k]
    assert menus and all("privacy" in {c["command"] for c in m} for m in menus)


async def test_a_long_operator_name_still_fits_telegrams_limits(db_url, fake):
    # The fake answers 400 to a description over 512 (short: 120) characters, as Telegram does.
    long_name = "Муниципальное бюджетное общеобразовательное учреждение " * 3  # 170 characters
    settings = make_settings(db_url, privacy_operator_name=long_name.strip())
    h = await Harness.start(settings, fake)
    try:
        await set_default_menus(h.app.bot, "ru", h.app.settings)
    finally:
        await h.close()
    assert len(fake.descriptions["setMyDescription|ru"]) <= 512
    assert fake.descriptions["setMyDescription|ru"].count("Муниципальное") >= 1
    assert "/privacy" in fake.descriptions["setMyShortDescription|ru"]


# ------------------------------------------------------------------------------------ /privacy
async def test_privacy_answers_anyone_before_joining_with_the_operator_retention_and_rights(ho):
    stranger = ho.user(9301, "Parent", "ru")
    (reply,) = await stranger.send("/privacy")
    text = reply.text or ""
    assert OPERATOR in text and CONTACT in text
    for part in ("Что хранится", "Зачем", "Кто видит", "в течение часа", "/mydata", "/forget", "/consent"):
        assert part in text, part
    assert "None" not in text and "conventions." not in text
    english = ho.user(9302, "Parent", "en")
    (reply,) = await english.send("/privacy")
    assert "Personal data controller: " + OPERATOR in reply.text and "within an hour" in reply.text
    # /help before joining lists it too
    (reply,) = await stranger.send("/help")
    assert "/privacy" in reply.text


async def test_without_the_settings_the_policy_names_the_institution_and_the_curator(h):
    (reply,) = await h.user(9303, "P", "ru").send("/privacy")
    assert "образовательная организация, которая ведёт программу" in reply.text
    assert "к куратору программы наставничества" in reply.text


async def test_the_consent_links_to_the_policy_and_every_role_has_privacy_in_its_menu(ho):
    c = await onboard_curator(ho)
    await c.send("/invite")
    token = token_in((await c.click("наставляемый"))[-1].text or "")
    newcomer = ho.user(9304, "New", "ru")
    replies = await newcomer.send(f"/start {token}")
    consent = replies[-1]
    assert "Согласие на обработку персональных данных" in consent.text and "/privacy" in consent.text
    assert any(b["text"] == CONSENT for b in consent.buttons())
    assert "privacy" in chat_menu(ho, CURATOR_ID)
    assert all("privacy" in commands_for([role]) for role in Role)


# ------------------------------------------------------------------------------------ chosen, not typed
async def test_pair_by_hand_with_both_people_chosen_in_telegram(h):
    c = await onboard_curator(h)
    mentor_id, mentor_tg = await seed(h, Role.MENTOR, "Математикова Анна", mentor_answers(["math"], 2))
    mentee_id, mentee_tg = await seed(h, Role.MENTEE, "Ученик Один", mentee_answers(["math"]))
    await c.send("/pair")
    # someone who is not in the bot, then the mentor where the mentee is asked: refused, nothing made
    replies = await c.share("👤 Выбрать наставляемого в Telegram", 5_555_001)
    assert "нет среди участников программы" in replies[-1].text
    replies = await c.share("👤 Выбрать наставляемого в Telegram", mentor_tg)
    assert "не из наставляемых программы" in replies[-1].text
    replies = await c.share("👤 Выбрать наставляемого в Telegram", mentee_tg)
    assert any("Наставляемый: Ученик Один" in (r.text or "") for r in replies)
    assert any(b["text"] == "Математикова Анна (0/2)" for b in replies[-1].buttons())  # the list stays
    replies = await c.share("👤 Выбрать наставника в Telegram", mentor_tg)
    assert "Пара создана" in replies[-1].text
    assert replies[-1].reply_markup == {"remove_keyboard": True}
    async with unit_of_work(h.app.factory) as repos:
        (pair,) = await repos.pairs.active()
    assert (pair.mentor_id, tuple(pair.mentee_ids)) == (mentor_id, (mentee_id,))
    await c.send("/pairs")
    assert "Математикова Анна — Ученик Один" in c.last().text


async def test_a_shared_person_is_refused_to_anyone_but_a_curator(h):
    c = await onboard_curator(h)
    mentor = await onboard_mentor(h, c, 3401)
    _, seeded_mentor_tg = await seed(h, Role.MENTOR, "Математикова Анна", mentor_answers(["math"], 2))
    mentee_id, mentee_tg = await seed(h, Role.MENTEE, "Ученик Один", mentee_answers(["math"]))
    # A mentor forges the answers to the curator's pickers (no button of theirs asked for them): a mentee,
    # a mentor for that mentee, and themselves as a curator. The curators' router refuses each.
    forged = (
        (PickRequest(Pick.PAIR_MENTEE), mentee_tg),
        (PickRequest(Pick.PAIR_MENTOR, mentee_id), seeded_mentor_tg),
        (PickRequest(Pick.CURATOR), mentor.id),
    )
    await mentor.send("/cancel")  # out of the intake questionnaire, which would take any message first
    for request, chosen in forged:
        await h.feed(
            {
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": mentor.id, "type": "private"},
                    "from": {"id": mentor.id, "is_bot": False, "first_name": "M"},
                    "users_shared": {"request_id": request.pack(), "users": [{"user_id": chosen}]},
                }
            }
        )
        assert "только куратору" in mentor.last().text
    async with unit_of_work(h.app.factory) as repos:
        assert not await repos.pairs.active()
        assert not (await repos.participants.by_telegram_id(mentor.id)).is_curator


async def test_a_new_curator_chosen_in_telegram_gets_the_role_on_that_account(h):
    c = await onboard_curator(h)
    await c.send("/invite")
    replies = await c.click("куратор")
    assert "Одноразовая ссылка" in replies[-1].text  # the link still comes, for those who prefer it
    replies = await c.share("👤 Выбрать куратора в Telegram", 1501)
    assert "ждёт этого человека" in replies[-1].text and "https://t.me/nastavnik_test_bot" in replies[-1].text
    newcomer = h.user(1501, "New", "ru")
    await newcomer.send("/start")
    await newcomer.click(CONSENT)
    await newcomer.send("Новикова Дарья")
    async with unit_of_work(h.app.factory) as repos:
        assert (await repos.participants.by_telegram_id(1501)).is_curator
    # someone already in the programme: told at once, their menu grows
    mentor = await onboard_mentor(h, c, 3402)
    await c.send("/invite")
    await c.click("куратор")
    replies = await c.share("👤 Выбрать куратора в Telegram", mentor.id)
    assert "назначена" in replies[-1].text and "Сидорова Ольга Павловна" in replies[-1].text
    await h.deliver_outbox()
    assert "Вам назначена роль «куратор»" in mentor.last().text
    assert "dashboard" in chat_menu(h, mentor.id)
    replies = await c.share("👤 Выбрать куратора в Telegram", mentor.id)
    assert "уже есть роль" in replies[-1].text


async def test_the_coordinator_chooses_an_institutions_curator_and_a_coordinator_in_telegram(h):
    await _add_role(h.app.settings.database_url, 7000, "coordinator", None)
    co = h.user(7000, "Coord", "ru")
    await co.send("/start")
    await co.click(CONSENT)
    await co.send("Координаторова Елена")
    await co.send("/institutions")
    await co.click("➕ Добавить организацию")
    replies = await co.send("Школа № 5")
    replies = await co.click(replies[-1].buttons()[0]["text"])
    assert LINK_RE.search(replies[-1].text)  # the single-use link, as before
    assert any("Школа № 5" in (r.text or "") and "Telegram" in (r.text or "") for r in replies)
    replies = await co.share("👤 Выбрать куратора в Telegram", 7101)
    assert "ждёт этого человека" in replies[-1].text
    curator = h.user(7101, "Cur", "ru")
    await curator.send("/start")
    await curator.click(CONSENT)
    await curator.send("Кураторова Нина")
    async with unit_of_work(h.app.factory) as repos:
        person = await repos.participants.by_telegram_id(7101)
        own, _ = await repos.institutions.of_curator(person.id)
        school = next(i for i in await repos.institutions.all() if i.title == "Школа № 5")
    assert own == [school.id]
    await co.send("/institutions")
    await co.click(next(b["text"] for b in co.last().buttons() if "координатор" in b["text"].lower()))
    replies = await co.share("👤 Выбрать координатора в Telegram", 7002)
    assert "ждёт этого человека" in replies[-1].text
    async with unit_of_work(h.app.factory) as repos:
        assert Role.COORDINATOR in (await repos.participants.by_telegram_id(7002)).roles


# ------------------------------------------------------------------------------------ QR codes
def drawn_modules(png: bytes) -> list[list[bool]]:
    """Read the code back from the picture: its top row runs from the top-left finder pattern (7 modules
    wide) to the top-right one; each module's centre pixel tells dark or light."""
    dark = imread(io.BytesIO(png), format="png")[..., :3].mean(axis=2) < 0.5
    top = int(np.where(dark.any(axis=1))[0][0])
    left = int(np.where(dark[top])[0][0])
    run = 0
    while dark[top, left + run]:
        run += 1
    px = run // 7
    right = int(np.where(dark[top])[0][-1])
    n = (right - left + 1) // px
    return [[bool(dark[top + r * px + px // 2, left + c * px + px // 2]) for c in range(n)] for r in range(n)]


async def test_a_mentee_invitation_comes_as_a_qr_code_of_exactly_its_link(h):
    c = await onboard_curator(h)
    await c.send("/invite")
    replies = await c.click("наставляемый")
    photo = replies[-1]
    assert photo.method == "sendPhoto" and photo.document["filename"].endswith(".png")
    link = LINK_RE.search(photo.text).group(0)
    assert "распечатать" in photo.text
    expected = [[bool(v) for v in row] for row in segno.make(link, error="m", micro=False).matrix]
    assert drawn_modules(photo.document["data"]) == expected
    # the revoke button is under the photo and works
    replies = await c.click("Отозвать ссылку")
    assert any("Ссылка отозвана" in (r.text or "") for r in replies)
    # a curator's single-use link is for one person, sent personally: no QR code to print
    await c.send("/invite")
    replies = await c.click("куратор")
    assert replies[-1].method == "sendMessage" and not any(r.method == "sendPhoto" for r in replies)


# ------------------------------------------------------------------------------------ "sending a file…"
def actions(h, chat_id: int) -> list[str]:
    return [
        r.params.get("action")
        for r in h.fake.sent("sendChatAction")
        if int(r.params.get("chat_id", 0)) == chat_id
    ]


async def test_sending_a_file_shows_while_exports_registries_charts_and_the_report_are_made(h):
    c = await onboard_curator(h)
    await seed(h, Role.MENTOR, "Математикова Анна", mentor_answers(["math"], 2))

    async def shown_while(step, action: str, method: str) -> None:
        before = len(actions(h, CURATOR_ID))
        replies = await step()
        assert any(r.method == method for r in replies)
        new = actions(h, CURATOR_ID)[before:]
        assert new and set(new) == {action}  # repeated every 5 s while it takes longer

    await c.send("/export")
    await shown_while(lambda: c.click("📊 Excel (XLSX)"), "upload_document", "sendDocument")
    await shown_while(lambda: c.send("/registry"), "upload_document", "sendDocument")
    await shown_while(lambda: c.send("/report"), "upload_photo", "sendPhoto")
    await shown_while(lambda: c.send("/report_doc"), "upload_document", "sendDocument")
