from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.ics import (
    MAX_LINE_OCTETS,
    escape_text,
    fold_line,
    format_duration,
    make_ics,
    meeting_uid,
)

MSK = ZoneInfo("Europe/Moscow")
STARTS = datetime(2026, 12, 25, 16, 30, tzinfo=MSK)
ENDS = STARTS + timedelta(hours=1)
NOW = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)


# A deliberately small reader, independent of the writer: unfold, split, unescape.


@dataclass
class Component:
    name: str
    props: dict[str, str] = field(default_factory=dict)
    children: list[Component] = field(default_factory=list)


def unfold(data: bytes) -> list[str]:
    text = data.decode("utf-8")
    assert re.search(r"(?<!\r)\n", text) is None, "bare LF"
    assert re.search(r"\r(?!\n)", text) is None, "bare CR"
    assert text.endswith("\r\n")
    return re.sub(r"\r\n[ \t]", "", text).split("\r\n")[:-1]


def unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def parse(data: bytes) -> Component:
    stack: list[Component] = []
    root: Component | None = None
    for line in unfold(data):
        name, _, value = line.partition(":")
        assert name and _, line
        if name == "BEGIN":
            comp = Component(value)
            if stack:
                stack[-1].children.append(comp)
            else:
                assert root is None, "one calendar per file"
                root = comp
            stack.append(comp)
        elif name == "END":
            assert stack.pop().name == value
        else:
            assert name not in stack[-1].props, f"duplicate {name}"
            stack[-1].props[name] = value
    assert not stack and root is not None
    return root


def event_of(data: bytes) -> Component:
    cal = parse(data)
    assert cal.name == "VCALENDAR"
    (event,) = cal.children
    assert event.name == "VEVENT"
    return event


def build(**overrides: object) -> bytes:
    kwargs: dict[str, object] = {
        "uid": meeting_uid(17),
        "starts_at": STARTS,
        "ends_at": ENDS,
        "summary": "Встреча-знакомство",
        "description": "Наставник: Иванова Мария Петровна",
        "now": NOW,
    }
    kwargs.update(overrides)
    return make_ics(**kwargs)  # type: ignore[arg-type]


def test_calendar_structure() -> None:
    data = build(location="Кабинет 12", url="https://telemost.yandex.ru/j/123?a=1,2;b")
    cal = parse(data)
    assert cal.props == {
        "VERSION": "2.0",
        "PRODID": "-//Nastavnik//Mentoring bot//RU",
        "CALSCALE": "GREGORIAN",
        "METHOD": "PUBLISH",
    }
    event = event_of(data)
    assert event.props["UID"] == "meeting-17@nastavnik.bot"
    assert event.props["DTSTAMP"] == "20261210T090000Z"
    assert event.props["DTSTART"] == "20261225T133000Z"  # 16:30 Moscow is 13:30 UTC
    assert event.props["DTEND"] == "20261225T143000Z"
    assert event.props["SEQUENCE"] == "0"
    assert unescape(event.props["SUMMARY"]) == "Встреча-знакомство"
    assert unescape(event.props["LOCATION"]) == "Кабинет 12"
    # URL is a URI, not TEXT: its commas and semicolons stay as they are.
    assert event.props["URL"] == "https://telemost.yandex.ru/j/123?a=1,2;b"
    (alarm,) = event.children
    assert alarm.name == "VALARM"
    assert alarm.props == {"ACTION": "DISPLAY", "DESCRIPTION": "Встреча-знакомство", "TRIGGER": "-PT1H"}


def test_optional_properties_are_left_out() -> None:
    event = event_of(build(description="", location=None, url=None, alarm_before=None))
    assert "LOCATION" not in event.props and "URL" not in event.props and "DESCRIPTION" not in event.props
    assert event.children == []


def test_sequence_and_alarm_lead() -> None:
    event = event_of(build(sequence=3, alarm_before=timedelta(minutes=90)))
    assert event.props["SEQUENCE"] == "3"
    assert event.children[0].props["TRIGGER"] == "-PT1H30M"


def test_text_escaping_round_trips() -> None:
    tricky = "План; итоги, цели\\задачи\nвторая строка\r\nтретья\rчетвёртая"
    data = build(summary=tricky, description=tricky, location="a,b;c")
    raw = data.decode("utf-8")
    assert "План\\; итоги\\, цели\\\\задачи\\nвторая" in raw.replace("\r\n ", "")
    event = event_of(data)
    expected = "План; итоги, цели\\задачи\nвторая строка\nтретья\nчетвёртая"
    assert unescape(event.props["SUMMARY"]) == expected
    assert unescape(event.props["DESCRIPTION"]) == expected
    assert unescape(event.props["LOCATION"]) == "a,b;c"


def test_control_characters_are_dropped() -> None:
    assert escape_text("a\x00b\x07c\td\x7f") == "abc\td"


def test_long_cyrillic_lines_fold_within_75_octets() -> None:
    description = (
        "Обсудить цели наставничества, составить индивидуальный план развития, "
        "договориться о формате встреч 🙂 и способах связи. " * 6
    )
    data = build(description=description, summary="Итоговая встреча — " * 8)
    physical = data.split(b"\r\n")[:-1]
    assert any(line.startswith(b" ") for line in physical), "nothing was folded"
    for line in physical:
        assert len(line) <= MAX_LINE_OCTETS
        line.decode("utf-8")  # a fold inside a multibyte character would raise here
    event = event_of(data)
    assert unescape(event.props["DESCRIPTION"]) == description
    assert unescape(event.props["SUMMARY"]) == "Итоговая встреча — " * 8


@pytest.mark.parametrize("length", [74, 75, 76, 149, 150, 300])
def test_fold_boundaries_ascii(length: int) -> None:
    line = "X" * length
    folded = fold_line(line).encode("utf-8").split(b"\r\n")
    assert all(len(part) <= MAX_LINE_OCTETS for part in folded)
    assert len(folded) == 1 if length <= 75 else len(folded) > 1
    assert folded[0] == b"X" * min(length, 75)
    assert fold_line(line).replace("\r\n ", "") == line


@pytest.mark.parametrize("prefix", ["", "A", "AB", "ABC"])
def test_fold_never_splits_multibyte(prefix: str) -> None:
    line = prefix + "ж" * 60 + "🙂" * 30
    parts = fold_line(line).encode("utf-8").split(b"\r\n")
    for index, part in enumerate(parts):
        assert len(part) <= MAX_LINE_OCTETS
        text = part.decode("utf-8")
        if index:
            assert text.startswith(" ")
    assert fold_line(line).replace("\r\n ", "") == line


def test_datetimes_must_be_aware_and_ordered() -> None:
    with pytest.raises(ValueError):
        build(starts_at=datetime(2026, 12, 25, 16, 30), ends_at=datetime(2026, 12, 25, 17, 30))
    with pytest.raises(ValueError):
        build(ends_at=STARTS)
    with pytest.raises(ValueError):
        build(now=datetime(2026, 12, 10, 9, 0))


@pytest.mark.parametrize("field_name", ["uid", "url"])
def test_single_line_fields_cannot_inject_properties(field_name: str) -> None:
    with pytest.raises(ValueError):
        build(**{field_name: "x\r\nATTENDEE:mailto:evil@example.com"})


def test_uid_is_stable_per_meeting() -> None:
    # A reschedule re-sends the same UID so calendar apps move the event instead of duplicating it.
    assert meeting_uid(5) == meeting_uid(5) != meeting_uid(6)
    moved = build(starts_at=STARTS + timedelta(days=1), ends_at=ENDS + timedelta(days=1), sequence=1)
    assert event_of(moved).props["UID"] == event_of(build()).props["UID"]


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(hours=-1), "-PT1H"),
        (timedelta(minutes=-15), "-PT15M"),
        (timedelta(days=-1, hours=-2), "-P1DT2H"),
        (timedelta(days=-2), "-P2D"),
        (timedelta(0), "PT0S"),
        (timedelta(seconds=-45), "-PT45S"),
    ],
)
def test_format_duration(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text


def test_deterministic_output() -> None:
    assert build() == build()
