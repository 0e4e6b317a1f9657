"""A moved or cancelled meeting updates the calendars it reached, through the production dispatcher, the
outbox and the fake Bot API: everyone who was sent the meeting's .ics gets it again under the same UID and a
higher SEQUENCE — METHOD:REQUEST with the new time for a move, METHOD:CANCEL with STATUS:CANCELLED for a
cancellation — and nobody gets a calendar file for a meeting that never reached a calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.demo.harness import Harness, make_settings
from bot.domain.ics import make_ics, meeting_uid
from tests.test_ics import event_of, parse
from tests.test_meetings import FakeClock, make_pair, propose_and_confirm


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))  # Monday 10:00 in Moscow


@pytest.fixture
async def hc(db_url, fake, clock):
    h = (await Harness.start(make_settings(db_url, curator_ids="1000"), fake, clock=clock)).unpaced()
    yield h
    await h.close()


def calendar_files(h, client) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """Every .ics the person got: its caption, the calendar's properties and the event's."""
    out = []
    for m in h.fake.delivered_to(client.id):
        if m.method == "sendDocument" and m.document and m.document["filename"].endswith(".ics"):
            data = m.document["data"]
            out.append((m.text or "", parse(data).props, event_of(data).props))
    return out


async def move(h, who, when_local: str) -> None:
    await who.send("/meeting")
    await who.click("Перенести")
    await who.send(when_local)
    await who.click("Очно")
    await who.send("Кабинет 204")
    await h.deliver_outbox()


async def cancel(h, who, reason: str) -> None:
    await who.send("/meeting")
    await who.click("Отменить встречу")
    await who.send(reason)
    await h.deliver_outbox()


async def test_a_move_and_a_cancel_update_the_event_everyone_has(hc, clock):
    h = hc
    _, mentor, mentee = await make_pair(h)
    await propose_and_confirm(h, clock, mentor, mentee, "24.11.2026 16:30")
    first = {}
    for person in (mentor, mentee):
        ((_, cal, event),) = calendar_files(h, person)
        assert cal["METHOD"] == "PUBLISH" and event["SEQUENCE"] == "0"
        first[person.id] = event

    await move(h, mentee, "26.11.2026 12:00")
    for person in (mentor, mentee):  # the mover's calendar too
        caption, cal, event = calendar_files(h, person)[-1]
        assert cal["METHOD"] == "REQUEST"
        assert event["UID"] == first[person.id]["UID"]
        assert int(event["SEQUENCE"]) > int(first[person.id]["SEQUENCE"])
        assert event["DTSTART"] == "20261126T090000Z"  # 12:00 in Moscow
        assert "STATUS" not in event or event["STATUS"] != "CANCELLED"
        assert "перенесена" in caption and "26 ноября, четверг, 12:00" in caption  # as people write it
    moved = calendar_files(h, mentor)[-1][2]

    await mentor.click("✅ Подтвердить")  # the new time confirmed: the entry as before, at the new sequence
    await h.deliver_outbox()
    await cancel(h, mentor, "Заболел")
    for person in (mentor, mentee):
        caption, cal, event = calendar_files(h, person)[-1]
        assert cal["METHOD"] == "CANCEL" and event["STATUS"] == "CANCELLED"
        assert event["UID"] == first[person.id]["UID"]
        assert int(event["SEQUENCE"]) > int(moved["SEQUENCE"])
        assert "отменена" in caption
    assert any("Причина: Заболел" in t for t in mentee.texts())


async def test_a_meeting_that_never_reached_a_calendar_sends_no_calendar_file(hc, clock):
    h = hc
    _, mentor, mentee = await make_pair(h)
    await mentor.send("/meeting")
    await mentor.send("24.11.2026 16:30")
    await mentor.click("Онлайн")
    await mentor.send("https://meet.example.org/room-1")
    await h.deliver_outbox()
    # the mentee asks for another time, then the mentor cancels: only proposals, never confirmed
    await mentee.click("Предложить другое время")
    await mentee.send("25.11.2026 17:00")
    await mentee.click("Онлайн")
    await mentee.send("https://meet.example.org/room-2")
    await h.deliver_outbox()
    await cancel(h, mentor, "Передумали")
    assert any("Передумали" in t for t in mentee.texts())
    assert calendar_files(h, mentor) == [] and calendar_files(h, mentee) == []


def test_a_cancellation_carries_no_alarm_and_methods_are_checked():
    starts = datetime(2026, 12, 25, 13, 30, tzinfo=UTC)
    data = make_ics(
        meeting_uid(5), starts, starts + timedelta(hours=1), "Встреча", now=starts, method="CANCEL"
    )
    event = event_of(data)
    assert parse(data).props["METHOD"] == "CANCEL" and event.props["STATUS"] == "CANCELLED"
    assert event.children == []
    with pytest.raises(ValueError):
        make_ics(meeting_uid(5), starts, starts + timedelta(hours=1), "x", now=starts, method="DELETE")
