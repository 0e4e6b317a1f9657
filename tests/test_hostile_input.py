"""Hostile input (issues #14, #20): crafted files, non-ASCII digits, forged buttons, texts past Telegram's
limits. Everything goes through the real dispatcher and the fake Bot API, which enforces Telegram's limits."""

from __future__ import annotations

import asyncio
import io
import itertools
import logging
import time
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot import files
from bot.callbacks import Callback, _is_int
from bot.demo.harness import Client, Harness, make_settings
from bot.demo.telegram import FakeError, FakeTelegram
from bot.domain.entities import Role
from bot.domain.forms import QuestionType, load_forms
from bot.i18n import Translator
from bot.services import dashboard
from bot.text import split_text, units
from handlers import roadmap as roadmap_handlers
from storage.models import FormResponse
from storage.uow import unit_of_work
from tests.helpers import callback_classes, onboard_curator, onboard_mentee, onboard_mentor
from tests.test_dashboard import pair_up
from tests.test_matching_flow import mentee_answers, mentor_answers, seed

APOLOGY = Translator("ru")("errors.apology")

_msg_ids = itertools.count(8_000_000)


# --- 1. files --------------------------------------------------------------------------------


def shared_strings_bomb(count: int) -> bytes:
    """A valid XLSX whose sharedStrings.xml holds `count` empty strings: ≈27 KB for a million of them,
    which openpyxl takes seconds and hundreds of megabytes to read."""
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006"
    parts = {
        "[Content_Types].xml": (
            f'<Types xmlns="{pkg}/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{pkg}/relationships"><Relationship Id="rId1" '
            f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{ns}" xmlns:r="{rel}"><sheets><sheet name="S" sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{pkg}/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": (
            f'<worksheet xmlns="{ns}"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>'
            "</sheetData></worksheet>"
        ),
        "xl/sharedStrings.xml": f'<sst xmlns="{ns}">' + "<si><t/></si>" * count + "</sst>",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in parts.items():
            archive.writestr(name, '<?xml version="1.0" encoding="UTF-8"?>' + text)
    return buffer.getvalue()


@pytest.fixture
def uploads(monkeypatch) -> dict[str, bytes]:
    """Telegram's file server: the bytes of a document by its file_id."""
    stored: dict[str, bytes] = {}

    async def download(bot, document):
        return stored[document.file_id]

    monkeypatch.setattr(roadmap_handlers, "download", download)
    return stored


async def upload(client: Client, uploads: dict[str, bytes], name: str, data: bytes) -> None:
    uploads[name] = data
    message = {
        "message_id": next(_msg_ids),
        "date": int(time.time()),
        "chat": {"id": client.id, "type": "private"},
        "from": client._from(),
        "document": {"file_id": name, "file_unique_id": name, "file_name": name, "file_size": len(data)},
        "caption": "/roadmap",
    }
    await client.h.feed({"message": message})


async def _while_importing(
    h: Harness, curator: Client, uploads: dict[str, bytes], data: bytes
) -> tuple[float, bool]:
    """Upload `data` as the curator and, right after, another person asks for /help; returns how long
    /help took from the upload and whether the import was still going when /help was answered."""
    other = h.user(4242, "Other", "ru")
    await other.send("/help")  # a first answer outside the measurement (lazy imports, the first session)
    started = time.monotonic()
    importing = asyncio.create_task(upload(curator, uploads, "roadmap.xlsx", data))
    await asyncio.sleep(0.05)  # the import is under way
    replies = await other.send("/help")
    took = time.monotonic() - started
    still_importing = not importing.done()
    await importing
    assert replies, "/help got no answer"
    return took, still_importing


async def test_a_shared_strings_bomb_is_refused_and_the_bot_keeps_answering(h, uploads):
    bomb = shared_strings_bomb(1_000_000)
    assert len(bomb) < 30_000
    curator = await onboard_curator(h)
    took, _ = await _while_importing(h, curator, uploads, bomb)
    assert took < 1.0, f"/help waited {took:.1f} s behind the import"
    assert "устроен слишком сложно" in curator.last().text
    assert "roadmap.xlsx" in curator.last().text


async def test_a_file_that_parses_too_long_is_stopped(h, uploads, monkeypatch):
    # Under the zip limits (a patient attacker), but the worker overruns its time: it is killed.
    monkeypatch.setattr(files, "LIMITS", files.Limits(max_ratio=10**6, max_shared_strings=10**9, seconds=0.5))
    curator = await onboard_curator(h)
    took, still_importing = await _while_importing(h, curator, uploads, shared_strings_bomb(2_000_000))
    assert took < 1.0, f"/help waited {took:.1f} s behind the import"
    assert still_importing
    assert "читается слишком долго" in curator.last().text


async def test_a_valid_xlsx_roadmap_still_imports_through_the_worker(h, uploads):
    curator = await onboard_curator(h)
    data = (Path(__file__).parent / "fixtures" / "roadmaps" / "seed_002.xlsx").read_bytes()
    await upload(curator, uploads, "seed_002.xlsx", data)
    assert "Дорожная карта загружена: мероприятий — 23." in curator.last().text


# --- 2. numbers: forged buttons and command arguments ------------------------------------------------------


class Errors(logging.Handler):
    """ERROR records from anywhere (the error router logs a handler's exception at ERROR)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def errors() -> Iterator[Errors]:
    handler = Errors()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


def _int_fields(cls: type) -> list[str]:
    return [name for name, info in cls.model_fields.items() if _is_int(info.annotation)]


HOSTILE_NUMBERS = ["²", "٣", "1²", "99999999999999999999999", "1_0", "+1", "１"]


def test_every_callback_class_parses_numbers_strictly():
    classes = callback_classes()
    assert len(classes) > 30
    assert [c.__name__ for c in classes if not issubclass(c, Callback)] == []
    for cls in classes:
        for name in _int_fields(cls):
            for bad in HOSTILE_NUMBERS:
                parts = ["1" if n != name else bad for n in cls.model_fields]
                with pytest.raises((ValueError, TypeError)):
                    cls.unpack(":".join([cls.__prefix__, *parts]))


async def _people(h: Harness) -> list[Client]:
    curator = await onboard_curator(h)
    mentee = await onboard_mentee(h, curator, 2001)
    mentor = await onboard_mentor(h, curator, 3001)
    return [curator, mentee, mentor]


async def test_a_forged_number_in_any_button_is_a_stale_button(h, errors):
    people = await _people(h)
    stale = "Эта кнопка уже неактуальна."
    for cls in callback_classes():
        for name in _int_fields(cls):
            for bad in ("²", "99999999999999999999999"):
                data = ":".join([cls.__prefix__, *("1" if n != name else bad for n in cls.model_fields)])
                for person in people:
                    before = len(person.alerts())
                    await person.press(data)
                    answers = person.alerts()[before:]
                    assert answers and answers[-1] != APOLOGY, (data, person.id, answers)
                    # A curator's button pressed by someone else is refused by the access check instead.
                    if person is people[0] or not data.startswith("c"):
                        assert answers[-1] == stale, (data, answers)
    assert [r.getMessage() for r in errors.records] == []


async def test_population_takes_ascii_digits_only(h, errors):
    curator = await onboard_curator(h)
    for bad in ("²", "٣", "1²", "1_000", "99999999999999999999999", "0", "-5", "１２"):
        replies = await curator.send(f"/population {bad}")
        assert replies and "/population" in replies[-1].text, (bad, replies[-1].text)
    replies = await curator.send("/population 120")
    assert "120" in replies[-1].text
    assert [r.getMessage() for r in errors.records] == []


hostile_text = st.one_of(
    st.text(max_size=24),
    st.sampled_from(HOSTILE_NUMBERS),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)


async def _fuzz(tmp: Path, presses: list[tuple[int, str]], populations: list[str]) -> list[str]:
    h = await Harness.start(make_settings(f"sqlite+aiosqlite:///{tmp}/fz.db", curator_ids="1000"))
    handler = Errors()
    logging.getLogger().addHandler(handler)
    try:
        people = await _people(h)
        classes = callback_classes()
        for who, data in presses:
            await people[who % len(people)].press(data[:64])
        for arg in populations:
            await people[0].send(f"/population {arg}")
        texts = [t for p in people for t in p.texts() + p.alerts()]
        assert APOLOGY not in texts
        assert len(classes) > 30
        return [r.getMessage() for r in handler.records]
    finally:
        logging.getLogger().removeHandler(handler)
        await h.close()


@st.composite
def forged_press(draw: st.DrawFn) -> tuple[int, str]:
    cls = draw(st.sampled_from(callback_classes()))
    parts = [draw(hostile_text | st.just("1")).replace(":", "") for _ in cls.model_fields]
    return draw(st.integers(0, 2)), ":".join([cls.__prefix__, *parts])


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    presses=st.lists(forged_press(), min_size=20, max_size=40), populations=st.lists(hostile_text, max_size=5)
)
def test_no_forged_button_or_argument_raises(tmp_path_factory, presses, populations):
    assert asyncio.run(_fuzz(tmp_path_factory.mktemp("fz"), presses, populations)) == []


# --- 4. forged monitoring-campaign buttons ----------------------------------------------------------------


async def _responses(h: Harness, cid: int) -> int:
    async with unit_of_work(h.app.factory) as repos:
        return (
            await repos.session.scalar(
                select(func.count())
                .select_from(FormResponse)
                .where(FormResponse.context == f"campaign:{cid}")
            )
            or 0
        )


async def test_a_forged_campaign_button_outside_its_audience_is_stale(h, errors):
    await onboard_curator(h)
    mentor, mentee = await pair_up(h, "Мониторова Анна", "Ученик Олег")
    _, loner_tg = await seed(h, Role.MENTEE, "Ученица Без Пары", mentee_answers(["music"]))
    loner = h.user(loner_tg, "L", "ru")
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        ours = (await repos.programmes.active())[0]
        other = await repos.programmes.create("Другая программа", "Europe/Moscow", now)
        own_cid = await repos.campaigns.open_campaign(
            ours.id, dashboard.CAMPAIGN_FORM, "2026-12", now, now + timedelta(days=14)
        )
        other_cid = await repos.campaigns.open_campaign(
            other.id, dashboard.CAMPAIGN_FORM, "2026-12", now, now + timedelta(days=14)
        )
    stale = "Эта кнопка уже неактуальна."
    # A paired mentee of one programme forges the button of another programme's campaign.
    await mentee.press(f"sv:{other_cid}")
    assert mentee.alerts()[-1] == stale
    assert await _responses(h, other_cid) == 0
    # An active participant without a pair is not asked by any campaign.
    await loner.press(f"sv:{own_cid}")
    assert loner.alerts()[-1] == stale
    assert await _responses(h, own_cid) == 0
    # The campaign's own audience still gets the survey.
    replies = await mentor.press(f"sv:{own_cid}")
    assert replies and await _responses(h, own_cid) == 1
    assert [r.getMessage() for r in errors.records] == []


# --- 5. one message per question, each hint once (#20) -----------------------------------------------------


async def _answer_until(u: Client, marker: str) -> str:
    """Answer the mentor questionnaire (first option, "1", a sentence) until the question with `marker`."""
    for _ in range(30):
        last = u.last()
        text = last.text or ""
        if marker in text:
            return text
        options = [b["text"] for b in last.buttons() if b["text"] not in ("« Назад", "Пропустить", "Готово")]
        if options and any(b["text"] == "Готово" for b in last.buttons()):
            await u.click(options[0])
            await u.click("Готово")
        elif options:
            await u.click(options[0])
        elif "число" in text:
            await u.send("1")
        else:
            await u.send("Помогаю с математикой и подготовкой к олимпиадам.")
    raise AssertionError(f"never reached {marker!r}; last: {u.last().text!r}")


async def test_the_capacity_question_shows_its_hint_once(h):
    curator = await onboard_curator(h)
    mentor = await onboard_mentor(h, curator, 3001)
    before = len(h.fake.delivered_to(mentor.id))
    text = await _answer_until(mentor, "Со сколькими наставляемыми")
    assert text.count("Введите число от 1 до 5") == 1, text
    # One message per step: the question came alone, not with a second copy of itself.
    questions = [m for m in h.fake.delivered_to(mentor.id)[before:] if "Со сколькими" in (m.text or "")]
    assert len(questions) == 1


# --- 3. texts past Telegram's 4,096 characters -------------------------------------------------------------


def _maximal(answers: dict, form_id: str) -> dict:
    """Every text question of the form answered with as many characters as it accepts (words and lines,
    as people write)."""
    form = load_forms()[form_id]
    out = dict(answers)
    for q in form.questions:
        if q.type is QuestionType.TEXT:
            _, high = q.bounds()
            sentence = "Длинный ответ про мои занятия и планы на год. "
            out[q.key] = (sentence * (high // len(sentence) + 1))[:high].strip()
    return out


async def _mentee_and_mentor(h: Harness) -> tuple[int, Client]:
    """One person with a mentee and a mentor questionnaire, both with maximal answers."""
    pid, tg = await seed(
        h, Role.MENTEE, "Длинноответова Анна", _maximal(mentee_answers(["math"]), "mentee_needs")
    )
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        await repos.participants.add_role(pid, Role.MENTOR, now)
        r = await repos.forms.create(
            pid, "mentor", 1, now, answers=_maximal(mentor_answers(["math"], 2), "mentor")
        )
        await repos.forms.submit(r.id, now)
    return pid, h.user(tg, "A", "ru")


def _assert_whole(messages: list, answers_of: list[dict]) -> None:
    """Every long answer reached the chat in full (across the pieces, or in the file)."""
    sent = "\n".join((m.text or "") + (m.document or {}).get("data", b"").decode("utf-8") for m in messages)
    flat = " ".join(sent.split())
    for answers in answers_of:
        for value in answers.values():
            if isinstance(value, str) and len(value) > 500:
                assert " ".join(value.split()) in flat


async def test_profile_with_maximal_answers_arrives_whole(h, errors):
    await onboard_curator(h)
    pid, person = await _mentee_and_mentor(h)
    replies = await person.send("/profile")
    assert replies and all(APOLOGY not in (m.text or "") for m in replies)
    assert sum(len(m.text or "") for m in replies) > 4096  # it did need more than one message
    _assert_whole(replies, [_maximal(mentee_answers(["math"]), "mentee_needs")])
    assert [r.getMessage() for r in errors.records] == []


async def test_curator_view_of_maximal_answers_arrives_whole(h, errors):
    curator = await onboard_curator(h)
    pid, _ = await _mentee_and_mentor(h)
    replies = await curator.press(f"cf:v:{pid}")
    assert replies and all(APOLOGY not in (m.text or "") for m in replies)
    assert APOLOGY not in curator.alerts()
    _assert_whole(replies, [_maximal(mentor_answers(["math"], 2), "mentor")])
    assert [r.getMessage() for r in errors.records] == []


def test_the_fake_bot_api_refuses_what_telegram_refuses():
    fake = FakeTelegram()
    with pytest.raises(FakeError, match="message is too long"):
        asyncio.run(fake.handle("sendMessage", {"chat_id": 1, "text": "я" * 4097}))
    with pytest.raises(FakeError, match="caption is too long"):
        asyncio.run(fake.handle("sendDocument", {"chat_id": 1, "caption": "я" * 1025}))
    with pytest.raises(FakeError, match="BUTTON_DATA_INVALID"):
        markup = {"inline_keyboard": [[{"text": "x", "callback_data": "я" * 33}]]}
        asyncio.run(fake.handle("sendMessage", {"chat_id": 1, "text": "ok", "reply_markup": markup}))
    asyncio.run(fake.handle("sendMessage", {"chat_id": 1, "text": "я" * 4096}))


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")),
            min_size=1,
            max_size=30,
        ),
        max_size=400,
    ),
    seps=st.lists(st.sampled_from([" ", "\n", "\n\n", "  "]), min_size=1),
    limit=st.integers(min_value=40, max_value=4096),
)
def test_split_text_keeps_every_word_within_the_limit(words, seps, limit):
    text = "".join(w + seps[i % len(seps)] for i, w in enumerate(words))
    parts = split_text(text, limit)
    assert all(units(p) <= limit for p in parts)
    assert " ".join(parts).split() == text.split()  # no word lost, none cut (each is shorter than the limit)


async def test_participant_card_with_maximal_answers_arrives_whole(h, errors):
    curator = await onboard_curator(h)
    pid, _ = await _mentee_and_mentor(h)
    replies = await curator.press(f"cy:card:{pid}:")
    assert replies and all(APOLOGY not in (m.text or "") for m in replies)
    assert APOLOGY not in curator.alerts()
    assert any(m.buttons() for m in replies)  # the card's actions are still there
    assert [r.getMessage() for r in errors.records] == []
