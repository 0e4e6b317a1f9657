"""Personal-data rights: /mydata (a JSON file with everything about me or my child, and a summary), /forget
(erased at once, by oneself, a parent or the curator on request), the audit trail without personal data."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.callbacks.privacy import ForgetPersonCb, PrivacyCb
from bot.demo.harness import Client, Harness, make_settings
from bot.demo.telegram import FakeTelegram
from bot.domain.entities import NewMessage, Role, Status
from storage.models import AuditEntry, Base, FormResponse, OutboxMessage, PairMember, Participant
from storage.uow import unit_of_work
from tests.conftest import CURATOR_ID
from tests.helpers import invite, onboard_curator, onboard_mentor, token_in

MENTEE_TG = 7_770_001
MENTEE_NAME = "Забытова Снежана"
MENTEE_USER = "snezhana_forget"
MENTEE_GROUP = "7Щ"
MENTEE_TEXT = "Боюсь контрольных по геометрии"
MENTEE_TEXT_V2 = "Хочу научиться решать олимпиадные задачи"
MENTEE_FEEDBACK = "Разобрали теорему Пифагора на бумажных квадратах"
MENTOR_TEXT = "Двадцать лет веду кружок робототехники"
MENTOR_FEEDBACK = "Ученица сама вывела формулу площади"


@pytest.fixture
async def h(db_url: str, fake: FakeTelegram) -> AsyncIterator[Harness]:
    harness = (await Harness.start(make_settings(db_url, curator_ids=str(CURATOR_ID)), fake)).unpaced()
    yield harness
    await harness.close()


async def join(
    h: Harness,
    curator: Client,
    tg: int,
    name: str,
    group: str,
    *,
    username: str | None = None,
    adult: bool = True,
) -> Client:
    token = await invite(curator, "наставляемый")
    u = h.user(tg, "Mentee", "ru", username=username)
    await u.send(f"/start {token}")
    await u.click("✅ Даю согласие")
    await u.send(name)
    await u.send(group)
    await u.click("Да" if adult else "Нет")
    return u


async def pid_of(h: Harness, tg: int) -> int:
    async with unit_of_work(h.app.factory) as repos:
        p = await repos.participants.by_telegram_id(tg)
    assert p is not None
    return p.id


async def programme(h: Harness) -> dict[str, Any]:
    """A mentee (two versions of her questionnaire) paired with a mentor: a meeting with feedback from both,
    a development goal, a material read, messages to both of them through the outbox."""
    c = await onboard_curator(h)
    mentee = await join(h, c, MENTEE_TG, MENTEE_NAME, MENTEE_GROUP, username=MENTEE_USER)
    mentor = await onboard_mentor(h, c, 7_770_002, name="Наставникова Ирина")
    mentee_id, mentor_id = await pid_of(h, MENTEE_TG), await pid_of(h, 7_770_002)
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        v1 = await repos.forms.create(
            mentee_id, "mentee_needs", 1, now, answers={"difficulties": MENTEE_TEXT, "areas": ["math"]}
        )
        await repos.forms.submit(v1.id, now)
        v2 = await repos.forms.create(
            mentee_id,
            "mentee_needs",
            1,
            now,
            version=2,
            answers={"difficulties": MENTEE_TEXT_V2, "areas": ["math"], "grade": 8},
        )
        await repos.forms.submit(v2.id, now)
        m = await repos.forms.create(mentor_id, "mentor", 1, now, answers={"motivation": MENTOR_TEXT})
        await repos.forms.submit(m.id, now)
        pair_id = await repos.pairs.create(None, mentor_id, None, now)
        await repos.pairs.add_member(pair_id, mentee_id, now)
        meeting = await repos.meetings.create(
            pair_id,
            "introduction",
            now - timedelta(days=2),
            now - timedelta(days=2, hours=-1),
            "offline",
            "каб. 21",
            mentor_id,
            now,
        )
        for who, text in ((mentee_id, MENTEE_FEEDBACK), (mentor_id, MENTOR_FEEDBACK)):
            fb = await repos.forms.create(
                who,
                "meeting_feedback",
                1,
                now,
                context=f"meeting:{meeting.id}",
                answers={"rating": 5, "done": text, "goals_progress": "yes"},
            )
            await repos.forms.submit(fb.id, now)
        await repos.meetings.add_goal(pair_id, "Подтянуть геометрию до пятёрки", now.date(), now)
        await repos.mentor_base.mark_read("builtin:memo_mentor", mentor_id, now)
        await repos.outbox.enqueue(
            [
                NewMessage(
                    chat_id=MENTEE_TG, participant_id=mentee_id, text="Ваш наставник найден", kind="pair"
                ),
                NewMessage(
                    chat_id=7_770_002,
                    participant_id=mentor_id,
                    text=f"Ваша наставляемая: {MENTEE_NAME}",
                    kind="pair",
                ),
            ],
            now,
        )
    await h.deliver_outbox()
    async with unit_of_work(h.app.factory) as repos:
        await repos.outbox.enqueue(
            [NewMessage(chat_id=MENTEE_TG, participant_id=mentee_id, text="Напоминание", kind="reminder")],
            now,
        )
    return {
        "curator": c,
        "mentee": mentee,
        "mentor": mentor,
        "mentee_id": mentee_id,
        "mentor_id": mentor_id,
        "pair_id": pair_id,
    }


def document(client: Client) -> dict[str, Any]:
    docs = [m for m in client.h.fake.delivered_to(client.id) if m.method == "sendDocument"]
    assert docs, "no file was sent"
    assert docs[-1].document["filename"].endswith(".json")
    return json.loads(docs[-1].document["data"].decode("utf-8"))


async def audit(h: Harness, action: str) -> list[AuditEntry]:
    async with unit_of_work(h.app.factory) as repos:
        rows = await repos.session.scalars(select(AuditEntry).where(AuditEntry.action == action))
        return list(rows.all())


async def test_mydata_for_a_mentee_has_her_answers_and_consents_and_no_one_elses_texts(h):
    w = await programme(h)
    replies = await w["mentee"].send("/mydata")
    summary = replies[0].text
    assert "Данные о вас" in summary and MENTEE_NAME in summary and MENTEE_GROUP in summary
    assert "собственное согласие, версия 1, дано" in summary
    assert "версия 2, отправлена" in summary and "версия 1, заменена новой версией" in summary
    data = document(w["mentee"])
    raw = json.dumps(data, ensure_ascii=False)
    assert data["participant"]["full_name"] == MENTEE_NAME
    assert data["participant"]["telegram_id"] == MENTEE_TG and data["participant"]["username"] == MENTEE_USER
    assert [r["role"] for r in data["roles"]] == ["mentee"]
    assert data["consents"][0]["kind"] == "self" and data["consents"][0]["version"] == "1"
    assert data["consents"][0]["decided_at"] and data["consents"][0]["withdrawn_at"] is None
    # every version of the questionnaire, and her own feedback
    done = [r for r in data["questionnaires"] if r["status"] != "in_progress"]
    assert [r["answers"]["difficulties"] for r in done] == [MENTEE_TEXT, MENTEE_TEXT_V2]
    assert [r["status"] for r in done] == ["superseded", "submitted"]
    assert [r["answers"]["done"] for r in data["feedback"]] == [MENTEE_FEEDBACK]
    assert data["pairs"][0]["my_role"] == "mentee" and data["pairs"][0]["mentor_id"] == w["mentor_id"]
    assert len(data["meetings"]) == 1 and data["development_goals"][0]["text"].startswith("Подтянуть")
    # messages to her: what and when, no text; other people's texts and names are absent
    assert {m["kind"] for m in data["messages"]} == {"pair", "reminder"}
    assert all(set(m) == {"kind", "status", "created_at", "sent_at"} for m in data["messages"])
    for foreign in (MENTOR_TEXT, MENTOR_FEEDBACK, "Наставникова", "Куратова", "Ваш наставник найден"):
        assert foreign not in raw
    assert any(a["action"] == "consent.accept" for a in data["audit"])
    (entry,) = await audit(h, "privacy.export")
    assert entry.object_id == w["mentee_id"] and entry.actor_id == w["mentee_id"]
    assert entry.details == {"by": "self"}


async def test_mydata_for_a_mentor(h):
    w = await programme(h)
    await w["mentor"].send("/mydata")
    data = document(w["mentor"])
    raw = json.dumps(data, ensure_ascii=False)
    assert data["participant"]["position"] == "учитель математики"
    done = [r for r in data["questionnaires"] if r["status"] == "submitted"]
    assert [r["answers"] for r in done] == [{"motivation": MENTOR_TEXT}]
    assert [r["answers"]["done"] for r in data["feedback"]] == [MENTOR_FEEDBACK]
    assert data["pairs"][0]["my_role"] == "mentor"
    assert data["pairs"][0]["mentees"][0]["participant_id"] == w["mentee_id"]
    assert data["meetings"][0]["proposed_by_me"] is True
    assert [r["material"] for r in data["materials_read"]] == ["builtin:memo_mentor"]
    for foreign in (MENTEE_TEXT, MENTEE_TEXT_V2, MENTEE_FEEDBACK, MENTEE_NAME, MENTEE_USER):
        assert foreign not in raw


async def test_parent_gets_own_data_and_the_childs_by_button(h):
    c = await onboard_curator(h)
    kid = await join(h, c, 7_770_010, "Малышева Варя", "5Б", adult=False)
    parent = h.user(7_770_011, "P", "ru")
    await parent.send(f"/start {token_in(kid.texts()[-1])}")
    await parent.click("✅ Даю согласие")
    await parent.send("Малышева Ольга")
    kid_id, parent_id = await pid_of(h, 7_770_010), await pid_of(h, 7_770_011)
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        r = await repos.forms.create(kid_id, "mentee_needs", 1, now, answers={"difficulties": "Дроби"})
        await repos.forms.submit(r.id, now)
    replies = await parent.send("/mydata")
    own = document(parent)
    assert own["participant"]["full_name"] == "Малышева Ольга"
    assert own["family"]["child_ids"] == [kid_id]
    assert {c["kind"] for c in own["consents"]} == {"self", "parent"}
    assert "Малышева Варя" not in json.dumps(own, ensure_ascii=False)
    assert "данные вашего ребёнка" in replies[-1].text
    replies = await parent.click("📄 Данные: Малышева Варя")
    assert "Данные о вашем ребёнке" in replies[0].text
    child = document(parent)
    assert child["participant"]["full_name"] == "Малышева Варя"
    assert child["questionnaires"][0]["answers"] == {"difficulties": "Дроби"}
    assert child["family"]["parent_ids"] == [parent_id]
    assert {c["kind"] for c in child["consents"]} == {"self", "parent"}
    assert "Малышева Ольга" not in json.dumps(child, ensure_ascii=False)
    exports = await audit(h, "privacy.export")
    assert [(e.actor_id, e.object_id, e.details["by"]) for e in exports] == [
        (parent_id, parent_id, "self"),
        (parent_id, kid_id, "parent"),
    ]
    # someone else's child: refused, nothing sent
    stranger = await join(h, c, 7_770_012, "Чужой Ребёнок", "5В")
    before = len(parent.texts())
    await parent.press(PrivacyCb(a="data", s=await pid_of(h, 7_770_012)).pack())
    assert len(parent.texts()) == before and "Эта кнопка уже неактуальна." in parent.alerts()[-1]
    assert stranger


async def assert_forgotten(h: Harness, needles: list[str], tg: int) -> None:
    """No text or JSON column of any table holds these strings, and no column holds the Telegram id."""
    async with unit_of_work(h.app.factory) as repos:
        for table in Base.metadata.sorted_tables:
            for row in (await repos.session.execute(select(table))).mappings():
                for col, value in row.items():
                    if isinstance(value, int) and not isinstance(value, bool):
                        assert value != tg, f"{table.name}.{col} holds the Telegram id"
                        continue
                    if isinstance(value, dict | list):
                        value = json.dumps(value, ensure_ascii=False)
                    if isinstance(value, str):
                        for needle in [*needles, str(tg)]:
                            assert needle not in value, f"{table.name}.{col} holds {needle!r}"


async def test_forget_a_mentee_erases_her_everywhere_at_once(h):
    w = await programme(h)
    mentee, mentee_id = w["mentee"], w["mentee_id"]
    replies = await mentee.send("/forget")
    assert "Удалить ваши данные?" in replies[-1].text and "числовые оценки" in replies[-1].text
    replies = await mentee.click("Отмена")
    assert "ничего не удалено" in replies[-1].text
    await mentee.send("/forget")
    replies = await mentee.click("Да, удалить навсегда")
    assert "Ваши данные удалены" in replies[-1].text
    await assert_forgotten(
        h, [MENTEE_NAME, MENTEE_USER, MENTEE_GROUP, MENTEE_TEXT, MENTEE_TEXT_V2, MENTEE_FEEDBACK], MENTEE_TG
    )
    async with unit_of_work(h.app.factory) as repos:
        row = await repos.session.get(Participant, mentee_id)
        assert row.status == Status.WITHDRAWN and row.full_name is None and row.telegram_id is None
        assert await repos.consents.active_for_subject(mentee_id, "self") is None
        # numeric scores stay for statistics, every text is gone
        answers = (
            await repos.session.scalars(
                select(FormResponse.answers)
                .where(FormResponse.participant_id == mentee_id)
                .order_by(FormResponse.id)
            )
        ).all()
        assert answers == [{}, {"grade": 8}, {"rating": 5}]
        # the pending message to her is dropped; the sent one keeps neither chat nor text
        rows = (
            await repos.session.scalars(
                select(OutboxMessage).where(OutboxMessage.participant_id == mentee_id)
            )
        ).all()
        assert sorted(r.status for r in rows) == ["dropped", "sent"]
        assert all(r.chat_id == 0 and r.payload == {} for r in rows)
        # the mentor's copy of the announcement no longer names her
        to_mentor = await repos.session.scalar(
            select(OutboxMessage).where(OutboxMessage.participant_id == w["mentor_id"])
        )
        assert to_mentor.payload["text"] == "Ваша наставляемая: —"
        # the pair ended with her leaving (no stage waits for her feedback) and stays, anonymously, as a
        # statistic; the mentor's own texts are untouched
        pair = await repos.pairs.get(w["pair_id"])
        assert pair is not None and pair.status == "dissolved" and pair.mentee_ids == ()
        assert (
            await repos.session.scalar(select(PairMember.mentee_id).where(PairMember.pair_id == w["pair_id"]))
            == mentee_id
        )
        mentor_answers = await repos.forms.latest_submitted(w["mentor_id"], "mentor")
        assert mentor_answers.answers == {"motivation": MENTOR_TEXT}
    (entry,) = await audit(h, "privacy.forget")
    assert entry.actor_id == mentee_id and entry.object_id == mentee_id and entry.details["by"] == "self"
    assert MENTEE_NAME not in json.dumps(entry.details, ensure_ascii=False)
    # the bot no longer knows her
    replies = await mentee.send("/mydata")
    assert "не храним" in replies[-1].text
    await h.deliver_outbox()
    assert not [t for t in mentee.texts() if t == "Напоминание"]


async def test_parent_forgets_the_child(h):
    c = await onboard_curator(h)
    kid = await join(h, c, 7_770_020, "Детская Алиса", "4А", adult=False, username="alisa_kid")
    parent = h.user(7_770_021, "P", "ru")
    await parent.send(f"/start {token_in(kid.texts()[-1])}")
    await parent.click("✅ Даю согласие")
    await parent.send("Детская Марина")
    kid_id, parent_id = await pid_of(h, 7_770_020), await pid_of(h, 7_770_021)
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        r = await repos.forms.create(
            kid_id, "mentee_needs", 1, now, answers={"difficulties": "Скучно на уроках"}
        )
        await repos.forms.submit(r.id, now)
    replies = await parent.send("/forget")
    assert "Чьи данные удалить?" in replies[-1].text
    replies = await parent.click("Данные ребёнка: Детская Алиса")
    assert "Удалить данные вашего ребёнка?" in replies[-1].text
    replies = await parent.click("Да, удалить навсегда")
    assert "Данные ребёнка удалены" in replies[-1].text
    await assert_forgotten(h, ["Детская Алиса", "alisa_kid", "Скучно на уроках"], 7_770_020)
    async with unit_of_work(h.app.factory) as repos:
        assert (await repos.participants.get(kid_id)).status == Status.WITHDRAWN
        assert await repos.participants.children_of(parent_id) == []
        me = await repos.participants.get(parent_id)
        assert me.status == Status.ACTIVE and me.full_name == "Детская Марина"
    (entry,) = await audit(h, "privacy.forget")
    assert (entry.actor_id, entry.object_id, entry.details["by"]) == (parent_id, kid_id, "parent")


async def test_curator_forgets_a_person_on_request(h):
    c = await onboard_curator(h)
    await join(h, c, 7_770_030, "Просящий Удаления", "9Ж", username="please_forget")
    await join(h, c, 7_770_031, "Остающийся Участник", "9Ж")
    pid = await pid_of(h, 7_770_030)
    replies = await c.send("/forget_participant")
    assert "Пришлите часть ФИО" in replies[-1].text
    replies = await c.send("Просящий")
    assert "Найдено: 1" in replies[-1].text
    replies = await c.click("Просящий Удаления (9Ж)")
    assert "Удалить все персональные данные участника?" in replies[-1].text
    replies = await c.click("Да, удалить данные")
    assert f"#{pid}" in replies[-1].text
    await assert_forgotten(h, ["Просящий Удаления", "please_forget"], 7_770_030)
    (entry,) = await audit(h, "privacy.forget")
    curator_id = await pid_of(h, CURATOR_ID)
    assert (entry.actor_id, entry.object_id, entry.details["by"]) == (curator_id, pid, "curator")
    # the other person is untouched; a search by argument works too; a second press finds nothing to do
    replies = await c.send("/forget_participant Остающийся")
    assert "Остающийся Участник (9Ж)" in [b["text"] for b in replies[-1].buttons()]
    replies = await c.press(ForgetPersonCb(a="go", p=pid).pack())
    assert "уже удалены" in replies[-1].text
    assert len(await audit(h, "privacy.forget")) == 1


async def test_forget_participant_is_for_curators_only(h):
    c = await onboard_curator(h)
    u = await join(h, c, 7_770_040, "Любопытный Ученик", "8А")
    victim = await join(h, c, 7_770_041, "Другой Ученик", "8А")
    victim_id = await pid_of(h, 7_770_041)
    replies = await u.send("/forget_participant Другой")
    assert "только куратору" in replies[-1].text
    await u.press(ForgetPersonCb(a="go", p=victim_id).pack())
    assert "только куратору" in u.alerts()[-1]
    # nor can a participant forget someone else with forged data of their own buttons
    await u.press(PrivacyCb(a="go", s=victim_id).pack())
    assert "Эта кнопка уже неактуальна." in u.alerts()[-1]
    async with unit_of_work(h.app.factory) as repos:
        assert (await repos.participants.get(victim_id)).full_name == "Другой Ученик"
    assert await audit(h, "privacy.forget") == []
    assert victim


async def test_hourly_erasure_after_withdrawal_is_as_complete_as_forget(h):
    from bot.services.privacy import erase_due

    w = await programme(h)
    await w["mentee"].send("/consent")
    await w["mentee"].click("Отозвать согласие")
    await w["mentee"].click("Да, отозвать")
    async with unit_of_work(h.app.factory) as repos:
        assert len(await erase_due(repos, h.app.clock())) == 1
        assert len(await erase_due(repos, h.app.clock())) == 0
    await assert_forgotten(
        h, [MENTEE_NAME, MENTEE_USER, MENTEE_TEXT, MENTEE_TEXT_V2, MENTEE_FEEDBACK], MENTEE_TG
    )


async def test_roles_stay_as_anonymous_statistics(h):
    w = await programme(h)
    await w["mentee"].send("/forget")
    await w["mentee"].click("Да, удалить навсегда")
    async with unit_of_work(h.app.factory) as repos:
        p = await repos.participants.get(w["mentee_id"])
    assert p is not None and p.roles == {Role.MENTEE} and p.full_name is None
