"""Russian grammar the texts need: a person's grammatical gender from the name, dates and months as people
write them ("5 декабря, пятница, 16:30", "декабрь 2026"), lists of counted things ("за 24 часа и за 1 час").

Pure: the words themselves live in locales/*/grammar.yaml and come in through `t` (a Translator)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Literal

Gender = Literal["m", "f"]
Translate = Callable[..., str]

# Male first names that end like female ones (-а/-я), and short forms that belong to both.
_MALE_IN_A = frozenset(
    "никита илья кузьма фома лука савва данила гаврила добрыня емеля фока ерема аникита мина "
    "миша паша гоша гриша петя ваня вова володя дима митя коля костя леша алеша сеня сережа "
    "толя тема юра яша федя боря гена рома вася".split()
)
_EITHER = frozenset("саша женя валя шура слава сима тоша".split())
# First names that end in a consonant or -ь and are female; other -ь names are male (Игорь, Эмиль).
_FEMALE_OTHER = frozenset(
    "любовь нинель адель юдифь эсфирь руфь рахиль ассоль мирей ирэн кармен эдит".split()
)
# Surnames decide when no first name does: Иванова / Иванов, Берёзкина / Берёзкин, Чайковская / Чайковский.
_SURNAME_F = re.compile(r"(ова|ева|ина|ына|ская|цкая|ая)$")
_SURNAME_M = re.compile(r"(ов|ев|ин|ын|ский|цкий|ской|цкой)$")
_WORD = re.compile(r"[а-яa-z]+")


def gender_of(full_name: str | None) -> Gender | None:
    """ "m" or "f" when the name tells (patronymic first, then the first name, then the surname), else None.

    The bot asks for "Фамилия Имя Отчество", so the second word is taken as the first name; a name written the
    other way round still agrees through its surname. Short forms that belong to both (Саша, Женя) and names
    that disagree with themselves give None: a neutral wording is better than a wrong one."""
    words = _WORD.findall((full_name or "").lower().replace("ё", "е"))
    if not words:
        return None
    # A patronymic decides; only after the surname, as "Бабич" or "Петрович" is a woman's surname too.
    for word in words[1:]:
        if (len(word) > 4 and word.endswith(("вна", "чна", "шна"))) or word in ("кызы", "гызы"):
            return "f"
        if word in ("оглы", "улы") or (len(word) > 4 and word.endswith("ич") and word is not words[1]):
            return "m"
    votes: set[str] = set()
    first = words[1] if len(words) >= 2 else words[0]
    by_first = _first_name(first)
    if by_first == "?":
        return None
    if by_first:
        votes.add(by_first)
    for word in words:
        if word == first and by_first:
            continue
        if _SURNAME_F.search(word) and len(word) > 4:
            votes.add("f")
        elif _SURNAME_M.search(word) and len(word) > 3:
            votes.add("m")
    if len(votes) == 1:
        return votes.pop()  # type: ignore[return-value]
    return None


def _first_name(word: str) -> str | None:
    """ "m", "f", "?" (a short form of both) or None (cannot tell from this word)."""
    if not re.fullmatch(r"[а-я]+", word):
        return None  # Names in other scripts: no rule we can trust.
    if word in _EITHER:
        return "?"
    if word in _MALE_IN_A:
        return "m"
    if word in _FEMALE_OTHER:
        return "f"
    if _SURNAME_F.search(word) or _SURNAME_M.search(word):
        # Looks like a surname (the name was written "Имя Фамилия"): the surname rule decides.
        if word in ("марина", "ирина", "алина", "полина", "кристина", "галина", "каролина", "ангелина"):
            return "f"
        if word in ("вениамин", "валентин", "константин", "мартин", "яков", "лев"):
            return "m"
        return None
    if word.endswith(("а", "я")):
        return "f"
    if word.endswith(("ь", "о", "е", "и", "у", "ю", "ы", "э")):
        return None if not word.endswith("ь") else "m"
    return "m"


def gendered(key: str, gender: str | None) -> str:
    """`key.m`, `key.f` or, when the gender is unknown, `key.n` (a wording that needs none)."""
    return f"{key}.{gender if gender in ('m', 'f') else 'n'}"


def agree(t: Translate, key: str, gender: str | None, /, **params: object) -> str:
    """The text of `key` agreeing with a person of `gender` (neutral when None)."""
    return t(gendered(key, gender), **params)


def month_name(t: Translate, month: int) -> str:
    """December as a month on its own: "декабрь", "December"."""
    return t(f"grammar.month.{month}")


def period_key(period: str) -> tuple[str, dict[str, int]] | None:
    """The locale key and parameters naming a monitoring period "2026-12" ("декабрь 2026"); None when
    `period` is not one."""
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", period or "")
    if not match or not 1 <= int(match[2]) <= 12:
        return None
    return f"grammar.period.{int(match[2])}", {"year": int(match[1])}


def format_period(t: Translate, period: str) -> str:
    """A monitoring period "2026-12" as people say it: "декабрь 2026"; anything else is shown as it is."""
    found = period_key(period)
    return t(found[0], **found[1]) if found else period


def format_months(t: Translate, months: Iterable[int]) -> str:
    """[12, 6] → "декабрь и июнь"."""
    return join_and(t, [month_name(t, m) for m in months if 1 <= m <= 12])


def format_date(t: Translate, day: date, *, today: date | None = None) -> str:
    """ "5 декабря 2026" ("5 December 2026"); the year is left out when it is this year's."""
    key = "grammar.date_this_year" if today is not None and today.year == day.year else "grammar.date"
    return t(key, day=day.day, month=t(f"grammar.month_of.{day.month}"), year=day.year)


def format_when(t: Translate, moment: datetime, *, today: date | None = None) -> str:
    """A meeting time as people write it: "5 декабря, пятница, 16:30" (the year only when it is not this
    year's). `moment` is already in the programme's zone."""
    return t(
        "grammar.when",
        date=format_date(t, moment.date(), today=today),
        weekday=t(f"grammar.weekday.{moment.weekday()}"),
        time=f"{moment.hour:02d}:{moment.minute:02d}",
    )


def join_and(t: Translate, items: list[str]) -> str:
    """ "a", "a и b", "a, b и c" ("a, b and c")."""
    if len(items) <= 1:
        return "".join(items)
    return t("grammar.and", head=", ".join(items[:-1]), last=items[-1])


def plural_form(lang: str, n: int) -> str:
    """Which form a count takes: Russian 1 встреча, 2 встречи, 5 встреч (one / few / many); English has one
    and the rest (written as many)."""
    n = abs(n)
    if lang != "ru":
        return "one" if n == 1 else "many"
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"
    return "many"
