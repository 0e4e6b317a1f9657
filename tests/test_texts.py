"""Every text a person reads, rendered with representative values in both languages, reads as a person wrote
it: no "(а)" guesses, no raw ISO dates, one form of address per text, no doubled nouns, the language's own
quotes, no "None" and no raw keys. Gender agrees with the name, and dates read as people write them."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.grammar import format_period, format_when, gender_of, join_and
from bot.i18n import Translator, catalog

# A value per placeholder name; any other name gets a neutral word. Counts are filled in per run.
VALUES = {
    "name": "Морозова Софья Дмитриевна",
    "who": "Морозова Софья Дмитриевна",
    "mentee": "Иванов Никита",
    "mentor": "Петрова Анна Сергеевна",
    "child": "Иванов Никита",
    "date": "5 декабря 2026",
    "when": "5 декабря, суббота, 16:30",
    "deadline": "30 ноября 2026",
    "period": "декабрь 2026",
    "stage": "Встреча-знакомство",
    "next": "Пробная встреча",
    "programme": "Школа № 5",
    "title": "Школа № 5",
    "link": "https://t.me/bot?start=abc",
    "year": 2026,
    "day": 5,
    "month": 12,
    "percent": 40,
    "rate": "40%",
}
COUNTS = (0, 1, 2, 5, 11, 21)
COUNT_NAMES = {"n", "count", "days", "hours", "total", "min", "max", "limit", "required", "final_days"}

GUESS = re.compile(r"\w\((а|ла|ая|ый|ой|ы|на|о|ей|ему|ее|её|s)\)")
ISO_DATE = re.compile(r"\d{4}-\d{2}(-\d{2})?")
TY = re.compile(
    r"\b(ты|тебе|тебя|тобой|твой|твоя|твоё|твои|твоего|твоей|твоих|выбери|нажми|напиши|оцени|найди|"
    r"ответь|отметь|заполни|укажи)\b",
    re.IGNORECASE,
)
VY = re.compile(
    r"\b(вы|вас|вам|вами|ваш|ваша|ваше|ваши|вашего|вашей|ваших|вашу|выберите|нажмите|напишите|оцените|"
    r"найдите|ответьте|отметьте|пришлите|заполните|укажите)\b",
    re.IGNORECASE,
)
DOUBLED = [
    re.compile(r"встреч\w*\s+«встреч", re.IGNORECASE),
    re.compile(r"meeting\W+[“«][^”»]*meeting", re.IGNORECASE),
]
RAW_KEY = re.compile(r"\b[a-z_]+\.[a-z_]+\.[a-z_.]+\b")


def render(t: Translator, key: str, n: int) -> str:
    text = catalog(t.lang)[key]
    names = set(re.findall(r"{(\w+)[^}]*}", text))
    params = {
        p: (n if p in COUNT_NAMES else VALUES.get(p, "слово" if t.lang == "ru" else "word")) for p in names
    }
    # Counts that the text words through a family must be numbers even under another name.
    params.update({p: n for p in re.findall(r"{(\w+):@\w+}", text)})
    return t(key, **params) if params else t(key)


def rendered(lang: str) -> list[tuple[str, str]]:
    t = Translator(lang)
    out = {(key, render(t, key, n)) for key in catalog(lang) for n in COUNTS}
    return sorted(out)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_text_renders_without_leftovers(lang):
    bad = []
    for key, text in rendered(lang):
        if text == key or "None" in text or re.search(r"{\w+}", text):
            bad.append(f"{key}: {text!r}")
        elif RAW_KEY.search(text.replace("t.me", "")) and not key.startswith(("files.", "demo.")):
            bad.append(f"{key} shows a key: {text!r}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_no_gender_guesses_or_raw_dates(lang):
    bad = [
        f"{key}: {text!r}"
        for key, text in rendered(lang)
        if GUESS.search(text) or ISO_DATE.search(text.replace("2026-27", ""))
    ]
    assert not bad, "\n".join(bad)


def test_one_form_of_address_per_text():
    bad = [key for key, text in rendered("ru") if TY.search(text) and VY.search(text)]
    assert not bad, bad


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_quotes_are_the_languages_own_and_nouns_are_not_doubled(lang):
    bad = []
    for key, text in rendered(lang):
        if '"' in text or (lang == "ru" and "“" in text) or (lang == "en" and re.search("«[^»]*»", text)):
            bad.append(f"{key} quotes: {text!r}")
        if any(d.search(text) for d in DOUBLED):
            bad.append(f"{key} doubled: {text!r}")
    assert not bad, "\n".join(bad)


def test_gendered_texts_have_all_three_forms_and_neutral_needs_no_gender():
    ru = catalog("ru")
    heads = {k.rpartition(".")[0] for k in ru if k.rpartition(".")[2] in ("m", "f", "n")}
    assert {
        "meeting.cancelled_to_you",
        "completion.certificate.took_part",
        "matching.announce.mentor",
    } <= heads
    for head in heads:
        assert {f"{head}.m", f"{head}.f", f"{head}.n"} <= set(ru), head
    t = Translator("ru")
    assert "завершила" in t.g("completion.curator_new_candidate", "f", name="Морозова Софья Дмитриевна")
    assert "завершил " in t.g("completion.curator_new_candidate", "m", name="Иванов Никита")
    assert "Что ей важно" in t.g("matching.announce.mentor", "f", mentee="x", group="8Б", needs="—")
    neutral = t.g("meeting.cancelled_to_you", None, who="Ким Саша", stage="s", when="w", reason="r")
    assert not re.search(r"отменил[аи]?\b", neutral), neutral


@pytest.mark.parametrize(
    ("name", "gender"),
    [
        ("Морозова Софья Дмитриевна", "f"),
        ("Петров Алексей Сергеевич", "m"),
        ("Иванов Никита", "m"),
        ("Ильин Илья", "m"),
        ("Петров Кузьма", "m"),
        ("Кузнецова Мария", "f"),
        ("Мария Кузнецова", "f"),
        ("Черных Анна", "f"),
        ("Бабич Анна", "f"),
        ("Смирнова Любовь Ивановна", "f"),
        ("Шевчук Игорь", "m"),
        ("Ким Саша", None),
        ("Бондаренко Женя", None),
        ("Lee Anna", None),
        ("", None),
        (None, None),
    ],
)
def test_gender_from_the_name(name, gender):
    assert gender_of(name) == gender


def test_dates_and_periods_read_as_people_write_them():
    ru, en = Translator("ru"), Translator("en")
    at = datetime(2026, 12, 4, 16, 30, tzinfo=ZoneInfo("Europe/Moscow"))
    assert format_when(ru, at, today=date(2026, 11, 1)) == "4 декабря, пятница, 16:30"
    assert format_when(ru, at, today=date(2027, 1, 1)) == "4 декабря 2026, пятница, 16:30"
    assert format_when(en, at, today=date(2026, 11, 1)) == "Friday 4 December, 16:30"
    assert format_period(ru, "2026-12") == "декабрь 2026"
    assert format_period(en, "2027-06") == "June 2027"
    hours = [ru.plural("count.hours_before", h) for h in (24, 1)]
    assert join_and(ru, hours) == "за 24 часа и за 1 час"
