"""Texts that grow with data stay within Telegram's 4,096 characters (#14.12): the questionnaire summary, the
curators' lists, /mydata and everything the outbox sends (the digests). Each view is driven through the real
dispatcher with data large enough to need more than one message; the fake Bot API refuses what Telegram
refuses, so a view that sends one oversized message fails here with Telegram's own error."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from bot.callbacks.completion import FinalSurveyCb
from bot.demo.harness import Client, Harness, make_settings
from bot.domain.entities import NewMessage, Role, Status
from bot.domain.forms import QuestionType, load_forms
from bot.i18n import Translator
from bot.services import matching
from bot.text import MESSAGE_LIMIT, units
from storage.uow import unit_of_work
from tests.helpers import onboard_curator
from tests.test_matching_flow import mentee_answers, mentor_answers, seed
from tests.test_meetings import FakeClock, make_pair, propose_and_confirm

APOLOGY = Translator("ru")("errors.apology")
# People write emoji: each is one character for the questionnaire's limit and two UTF-16 units for Telegram's.
SENTENCE = "Решили задачи 📚📐, разобрали ошибки 🙂👍. "


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def errors() -> Iterator[Errors]:
    handler = Errors()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))


@pytest.fixture
async def hc(db_url, fake, clock) -> AsyncIterator[Harness]:
    h = (await Harness.start(make_settings(db_url, curator_ids="1000"), fake, clock=clock)).unpaced()
    yield h
    await h.close()


def longest(n: int) -> str:
    """A text answer of exactly `n` characters, words and emoji as people write them."""
    return (SENTENCE * (n // len(SENTENCE) + 1))[:n].strip()


def flat(text: str) -> str:
    return " ".join(text.split())


def no_trouble(u: Client, errors: Errors) -> None:
    assert all(APOLOGY not in (m.text or "") for m in u.h.fake.delivered_to(u.id))
    assert all(units(m.text or "") <= MESSAGE_LIMIT for m in u.h.fake.delivered_to(u.id))
    assert [r.getMessage() for r in errors.records] == []


# --- the questionnaire summary --------------------------------------------------------------------------


async def test_a_meeting_feedback_summary_with_maximal_answers_arrives_whole_and_its_buttons_work(
    hc, clock, errors
):
    h = hc
    form = load_forms()["meeting_feedback"]
    texts = {q.key: longest(q.bounds()[1]) for q in form.questions if q.type is QuestionType.TEXT}
    pair, mentor, mentee = await make_pair(h)
    await propose_and_confirm(h, clock, mentor, mentee, "24.11.2026 16:30")
    clock.set("24.11.2026 17:45")
    await h.app.reminders.fire_due()
    await h.deliver_outbox()
    await mentor.click("Да, состоялась")
    await mentor.click("5")
    await mentor.send(texts["done"])
    await mentor.click("Немного")
    await mentor.send(texts["obstacles"])
    await mentor.send(texts["next_steps"])
    summary = await mentor.send("25.12.2026")

    # The summary came in pieces Telegram accepts, all the answers in full, the buttons under the last piece.
    assert len(summary) > 1, [m.text for m in summary]
    assert "Отзыв о встрече: проверьте ответы" in (summary[0].text or "")
    whole = flat("\n".join(m.text or "" for m in summary))
    for value in texts.values():
        assert flat(value) in whole
    assert [bool(m.buttons()) for m in summary] == [False] * (len(summary) - 1) + [True]
    no_trouble(mentor, errors)

    # "Change answers" opens the list of questions on that message, and back again to the summary buttons.
    await mentor.click("Изменить ответы")
    assert any(b["text"] == "« К списку ответов" for b in mentor.last().buttons())
    await mentor.click("« К списку ответов")
    assert [b["text"] for b in mentor.last().buttons()] == ["Изменить ответы", "Всё верно, отправить"]
    await mentor.click("Всё верно, отправить")
    assert "Ждём отзывы остальных" in (mentor.last().text or "")
    async with unit_of_work(h.app.factory) as repos:
        me = await repos.participants.by_telegram_id(mentor.id)
        assert me is not None
        saved = await repos.forms.latest_submitted(me.id, "meeting_feedback", "meeting:1")
    assert saved is not None and saved.answers["done"] == texts["done"]
    no_trouble(mentor, errors)


# --- the outbox: digests and every other queued text ---------------------------------------------------


def long_name(n: int, first: str) -> str:
    """A full name as long as the name check allows (100 characters), distinct per `n`."""
    base = f"{first} Константиновна-Воскресенская {'Ааб' * (n % 7 + 1)} "
    return (base + "Преображенская-Вознесенская " * 5)[:100].strip()


async def test_a_daily_digest_of_many_late_pairs_with_long_names_arrives_whole(hc, clock, errors):
    h = hc
    curator = await onboard_curator(h)
    pairs = []
    for n in range(24):
        async with unit_of_work(h.app.factory) as repos:
            programme = (await repos.programmes.active())[0]
        mentor_id, _ = await seed(h, Role.MENTOR, long_name(n, "Наставница"), mentor_answers(["math"], 2))
        mentee_id, _ = await seed(h, Role.MENTEE, long_name(n, "Ученица"), mentee_answers(["math"]))
        async with unit_of_work(h.app.factory) as repos:
            pairs.append(
                await matching.create_pairing(repos, programme.id, mentee_id, mentor_id, None, h.app.clock())
            )
    clock.set("10.12.2026 09:00")  # every pair's introduction stage is late
    await h.app.jobs.daily_digest()
    await h.app.jobs.daily_digest()  # run twice the same day: one digest, each piece once
    await h.deliver_outbox()

    sent = h.fake.delivered_to(curator.id)
    starts = [i for i, m in enumerate(sent) if "Ежедневная сводка" in (m.text or "")]
    assert starts, "no digest reached the curator"
    digest = sent[starts[0] :]
    assert len(digest) > 1 and sum(units(m.text or "") for m in digest) > MESSAGE_LIMIT
    assert sum("Ежедневная сводка" in (m.text or "") for m in sent) == 1
    whole = "\n".join(m.text or "" for m in digest)
    for pair in pairs:
        assert f"№{pair.id} " in whole
    # The buttons came once, under the last piece, and they work.
    assert [bool(m.buttons()) for m in digest] == [False] * (len(digest) - 1) + [True]
    replies = await curator.click(f"Открыть пару №{pairs[0].id}")
    assert f"Пара №{pairs[0].id}" in (replies[-1].text or "")
    no_trouble(curator, errors)


# --- /mydata -----------------------------------------------------------------------------------------------


async def _with_surveys(h: Harness, count: int) -> Client:
    """A mentee who has answered `count` monitoring surveys: one line each in the /mydata summary."""
    pid, tg = await seed(h, Role.MENTEE, "Ученица Мария", mentee_answers(["math"]))
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        for n in range(count):
            r = await repos.forms.create(
                pid, "intermediate", 1, now, context=f"campaign:{n}", answers={"satisfaction": 5}
            )
            await repos.forms.submit(r.id, now)
    return h.user(tg, "Mentee", "ru")


async def test_mydata_with_a_long_history_arrives_whole(hc, errors):
    person = await _with_surveys(hc, 120)
    replies = await person.send("/mydata")
    texts = [m.text or "" for m in replies if m.method == "sendMessage"]
    assert len(texts) > 1 and sum(units(x) for x in texts) > MESSAGE_LIMIT
    whole = "\n".join(texts)
    assert whole.count("Промежуточный опрос") == 120  # every questionnaire, none cut off
    assert "Подробно всё — в приложенном файле" in texts[-1]
    assert [m.document["filename"] for m in replies if m.document] == ["мои-данные-2026-11-23.json"]
    no_trouble(person, errors)


async def test_a_summary_too_long_for_messages_comes_as_a_file_named_in_the_readers_words(hc, errors):
    person = await _with_surveys(hc, 400)
    replies = await person.send("/mydata")
    files = {m.document["filename"]: m.document["data"].decode("utf-8") for m in replies if m.document}
    assert sorted(files) == ["мои-данные-2026-11-23.json", "мои-данные-2026-11-23.txt"]
    assert files["мои-данные-2026-11-23.txt"].count("Промежуточный опрос") == 400
    no_trouble(person, errors)


# --- /pairs: pages cut by size as well as count -----------------------------------------------------------


async def test_pairs_of_groups_with_long_names_page_within_the_limit_and_every_pair_is_reachable(hc, errors):
    h = hc
    curator = await onboard_curator(h)
    async with unit_of_work(h.app.factory) as repos:
        programme = (await repos.programmes.active())[0]
    groups = []
    for n in range(12):  # twelve groups of three, every name as long as allowed: ~420 characters a line
        mentor_id, _ = await seed(h, Role.MENTOR, long_name(n, "Наставница"), mentor_answers(["math"], 3))
        for k in range(3):
            mentee_id, _ = await seed(h, Role.MENTEE, long_name(n + k, "Ученица"), mentee_answers(["math"]))
            async with unit_of_work(h.app.factory) as repos:
                pair = await matching.create_pairing(
                    repos, programme.id, mentee_id, mentor_id, None, h.app.clock()
                )
        groups.append(pair.id)

    replies = await curator.send("/pairs")
    assert len(replies) == 1
    page = curator.last()
    seen: list[int] = []
    visited = 0
    while True:
        visited += 1
        text = page.text or ""
        assert units(text) <= MESSAGE_LIMIT
        on_page = [pid for pid in groups if f"№{pid}:" in text]
        assert on_page, text[:200]
        # The buttons are this page's pairs, each one once, and they open the pair shown.
        opened = [b["text"] for b in page.buttons() if b["text"].startswith("Открыть")]
        assert opened == [f"Открыть группу №{pid}" for pid in on_page]  # three mentees each: groups
        seen += on_page
        if not any(b["text"] == "»" for b in page.buttons()):
            break
        await curator.click("»")
        assert curator.last().message_id == page.message_id  # paging edits the message in place
        page = curator.last()
    assert sorted(seen) == sorted(groups) and len(seen) == len(set(seen))
    assert visited > 1 and f"Страница {visited} из {visited}." in (page.text or "")
    # Back the other way to the first page.
    await curator.click("«")
    assert f"№{seen[-1]}:" not in (curator.last().text or "")
    replies = await curator.click(f"Открыть группу №{groups[0]}")
    assert f"Группа №{groups[0]}" in (replies[-1].text or "")
    no_trouble(curator, errors)


# --- /participants and /questionnaires: long names, long classes with emoji --------------------------------

EMOJI_CLASS = ("8А 🎨🎭🎼 театральная студия " * 8)[:100]  # 100 characters, far more UTF-16 units


async def _crowd(h: Harness, n: int, first: str, status: Status, *, declined: bool = False) -> list[str]:
    """`n` people with every name and class as long as allowed, each a mentee and a mentor, unreachable."""
    now = h.app.clock()
    names = []
    async with unit_of_work(h.app.factory) as repos:
        for k in range(n):
            p = await repos.participants.create(900_000 + len(first) * 1000 + k, "ru", status.value, now)
            name = long_name(k, f"{first}{k:02d}")
            await repos.participants.update(
                p.id,
                now,
                full_name=name,
                group_name=EMOJI_CLASS,
                unreachable=True,
                parent_declined_at=now if declined else None,
            )
            await repos.participants.add_role(p.id, Role.MENTEE, now)
            await repos.participants.add_role(p.id, Role.MENTOR, now)
            names.append(name)
    return names


async def test_participants_with_long_names_and_classes_and_a_long_awaiting_list_arrive_whole(hc, errors):
    h = hc
    curator = await onboard_curator(h)
    waiting = await _crowd(h, 30, "Ждущая", Status.AWAITING_PARENT)
    active = await _crowd(h, 12, "Активная", Status.ACTIVE)

    replies = await curator.send("/participants")
    assert len(replies) > 1
    page, rest = replies[0], replies[1:]
    text = page.text or ""
    assert "Участники: 43 (страница 1 из 5" in text
    assert sum(1 for line in text.splitlines() if line.startswith("• ")) == 10
    assert "…" in text  # the long class is shortened in the list
    assert [b["text"] for b in page.buttons()][-1] == "»"
    # The awaiting list is its own message(s) after the page: every one of the thirty, by full name.
    listed = "\n".join(m.text or "" for m in rest)
    assert listed.startswith("Ждут согласия родителя:")
    assert all(f"• {name} (" in listed for name in waiting)
    # Paging edits the page in place and it still fits.
    await curator.click("»")
    edited = next(m for m in h.fake.delivered_to(curator.id) if m.message_id == page.message_id)
    assert "страница 2 из 5" in (edited.text or "") and edited.edits == 1
    # A person's card shows the class whole.
    name = next(b["text"] for b in edited.buttons() if b["text"] in active + waiting)
    replies = await curator.click(name)
    assert EMOJI_CLASS in (replies[-1].text or "") or EMOJI_CLASS in (replies[0].text or "")
    no_trouble(curator, errors)


async def test_questionnaires_with_thirty_unfinished_and_thirty_declined_arrive_whole(hc, errors):
    h = hc
    curator = await onboard_curator(h)
    unfinished = await _crowd(h, 30, "Незаполнившая", Status.ACTIVE)
    declined = await _crowd(h, 30, "Отказанная", Status.AWAITING_PARENT, declined=True)

    replies = await curator.send("/questionnaires")
    assert len(replies) > 1
    whole = "\n".join(m.text or "" for m in replies)
    assert all(f"• {name} — не начата" in whole for name in unfinished), whole[:300]
    assert all(f"• {name} (" in whole for name in declined)
    # The buttons come once, under the last piece, and they work.
    assert [bool(m.buttons()) for m in replies] == [False] * (len(replies) - 1) + [True]
    await curator.click(f"🔔 Напомнить: {unfinished[0]}")
    assert "Напоминание отправлено" in curator.alerts()[-1]
    no_trouble(curator, errors)


# --- a long answer being changed ---------------------------------------------------------------------------


async def test_changing_a_long_emoji_reflection_shows_its_beginning_and_the_question_fits(hc, errors):
    h = hc
    pair, mentor, _ = await make_pair(h)
    async with unit_of_work(h.app.factory) as repos:
        await repos.pairs.set_stage(pair.id, "final", finished=True, now=h.app.clock())
    reflection = ("🙂👍📚" * 700)[:2000]  # the final survey's longest answer: 2,000 characters, 4,000 units
    await mentor.press(FinalSurveyCb(pair=pair.id).pack())
    for _ in range(12):  # scale 9, the first option, "Да", the first tick: then the reflection
        buttons = [b["text"] for b in mentor.last().buttons() if b["text"] not in ("« Назад", "Пропустить")]
        if "Изменить ответы" in buttons:
            break
        ticks = [b for b in buttons if b[:2] in ("▫️", "✅")]
        if ticks:
            await mentor.click(ticks[0])
            await mentor.click("Готово")
        elif buttons:
            await mentor.click(next(b for b in ("9", "Да", buttons[0]) if b in buttons))
        else:
            await mentor.send(reflection)
    await mentor.click("Изменить ответы")
    label = next(b["text"] for b in mentor.last().buttons() if "самым ценным" in b["text"])
    replies = await mentor.click(label)

    question = replies[-1].text or ""
    assert "Что было самым ценным в программе" in question
    assert "здесь только его начало (сохранён он целиком)" in question and f"«{reflection[:300]}" in question
    assert units(question) <= MESSAGE_LIMIT
    # The answer is kept whole until it is answered again.
    async with unit_of_work(h.app.factory) as repos:
        me = await repos.participants.by_telegram_id(mentor.id)
        assert me is not None
        kept = await repos.forms.open_for(me.id, "final", f"final:{pair.id}")
    assert kept is not None and kept.answers["reflection"] == reflection
    replies = await mentor.send("Самым ценным были разговоры о будущем.")
    assert "Самым ценным были разговоры о будущем." in (replies[-1].text or "")
    no_trouble(mentor, errors)


# --- the fake counts as Telegram does -------------------------------------------------------------------


async def test_the_fake_counts_an_html_text_after_its_tags_as_telegram_does(hc):
    h = hc
    visible = "Слово. " * 580  # 4,060 characters on the screen
    marked = visible.replace("Слово.", "<b>Слово.</b>")  # 4,060 characters; 7,540 with the tags
    assert units(marked) > MESSAGE_LIMIT >= units(visible)
    too_long = "<i>" + "Слово &amp; дело. " * 300 + "</i>"  # 4,200 on the screen
    async with unit_of_work(h.app.factory) as repos:
        await repos.outbox.enqueue(
            [
                NewMessage(chat_id=4801, text=marked, kind="t", extra={"parse_mode": "HTML"}),
                NewMessage(chat_id=4802, text=too_long, kind="t", extra={"parse_mode": "HTML"}),
            ],
            h.app.clock(),
        )
    await h.deliver_outbox()
    assert [m.text for m in h.fake.delivered_to(4801)] == [marked]
    assert h.fake.delivered_to(4802) == []
