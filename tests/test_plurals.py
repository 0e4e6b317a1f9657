"""A number next to a noun agrees with it: 1 встреча, 2 встречи, 5 встреч; 1 день, 3 дня, 11 дней; 1 day.

Counting texts are found by scanning the catalogue, so a new one is checked without being listed here: every
family of plural forms (`key.one` / `key.few` / `key.many`), every text that counts through a family
("{days:@days}"), and no text may put a count straight before a noun without going through one."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from bot.i18n import Translator, catalog

COUNTS = (0, 1, 2, 5, 11, 21, 22, 25, 111)
# The rule, written out rather than computed, so the test does not share bot.i18n's arithmetic.
RU_FORM = {0: 2, 1: 0, 2: 1, 5: 2, 11: 2, 21: 0, 22: 1, 25: 2, 111: 2}  # 0 one, 1 few, 2 many
EN_FORM = {n: 0 if n == 1 else 1 for n in COUNTS}  # 0 singular, 1 plural

# The word after the number, in each form: (one, few, many) in Russian, (singular, plural) in English.
RU_NOUNS = [
    ("день", "дня", "дней"),
    ("час", "часа", "часов"),
    ("символ", "символа", "символов"),
    ("символа", "символов", "символов"),
    ("встреча", "встречи", "встреч"),
    ("встречи", "встреч", "встреч"),
    ("вопрос", "вопроса", "вопросов"),
    ("организации", "организаций", "организаций"),
    ("организация", "организации", "организаций"),
    ("строки", "строк", "строк"),
    ("мероприятие", "мероприятия", "мероприятий"),
    ("наставник", "наставника", "наставников"),
    ("наставляемый", "наставляемых", "наставляемых"),
    ("ошибка", "ошибки", "ошибок"),
    ("балла", "баллов", "баллов"),
    ("человека", "человек", "человек"),
    ("участник", "участника", "участников"),
    ("пара", "пары", "пар"),
]
EN_NOUNS = [
    ("day", "days"),
    ("hour", "hours"),
    ("character", "characters"),
    ("meeting", "meetings"),
    ("question", "questions"),
    ("institution", "institutions"),
    ("row", "rows"),
    ("activity", "activities"),
    ("mentor", "mentors"),
    ("mentee", "mentees"),
    ("participant", "participants"),
    ("pair", "pairs"),
    ("error", "errors"),
    ("point", "points"),
    ("person", "people"),
]
# Parameters that hold a count of something; next to a noun they must go through a plural family.
COUNT_PARAMS = {
    "n", "count", "days", "hours", "total", "min", "max", "limit", "required", "final_days", "held",
    "engaged", "population", "people", "mentors", "mentees", "parents", "pairs", "meetings",
    "institutions", "programmes", "curators", "finished", "answered", "invited", "kept", "open", "done",
    "delivered", "unreachable", "failed", "uses", "max_uses", "agreed", "feedback", "goals", "materials",
}  # fmt: skip
# Words that may follow a count without agreeing with it.
NOT_NOUNS = {"из", "и", "до", "по", "в", "of", "and", "to", "in", "more", "at", "or", "или"}
NOT_NOUNS |= {"мб", "mb", "с", "s"}  # units: 5 МБ, 30 с
NOT_NOUNS |= {"agreed", "answered", "means", "before", "open", "done"}  # English verbs agree with nothing


def families(lang: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for key in catalog(lang):
        head, _, form = key.rpartition(".")
        if form in ("one", "few", "many"):
            found[head].add(form)
    return found


def word_after(text: str, n: int) -> str:
    match = re.search(rf"(?<![\d.,]){n}\s+(\w+)", text)
    assert match, (n, text)
    return match[1]


def check_noun(lang: str, text: str, n: int, where: str) -> None:
    word = word_after(text, n)
    table, column = (RU_NOUNS, RU_FORM[n]) if lang == "ru" else (EN_NOUNS, EN_FORM[n])
    rows = [row for row in table if word in row]
    assert rows, f"{where}: '{word}' after {n} is not in the noun table: {text!r}"
    assert any(row[column] == word for row in rows), f"{where}: {n} {word!r} is the wrong form: {text!r}"


def test_every_family_has_all_forms_in_both_languages():
    ru, en = families("ru"), families("en")
    assert ru, "no plural families found: the scan is broken"
    assert set(ru) == set(en)
    for head in ru:
        assert ru[head] == en[head] == {"one", "few", "many"}, head


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_family_agrees_with_every_count(lang):
    t = Translator(lang)
    for head in families(lang):
        for n in COUNTS:
            text = t.plural(head, n, programme="Школа", since="5 сентября")
            check_noun(lang, text, n, head)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_texts_that_count_through_a_family_agree(lang):
    t = Translator(lang)
    counted = {
        key: re.findall(r"{(\w+):@(\w+)}", text) for key, text in catalog(lang).items() if ":@" in text
    }
    assert counted, "no counting texts found: the scan is broken"
    for key, specs in counted.items():
        for name, family in specs:
            assert f"count.{family}" in families(lang), (key, family)
            for n in COUNTS:
                params = {p: "x" for p in re.findall(r"{(\w+)[^}]*}", catalog(lang)[key])}
                params.update({other: 7 for other, _ in specs}, **{name: n})
                rendered = t(key, **params)
                # The count's own phrase, as the family writes it, is in the text.
                assert t.plural(f"count.{family}", n) in rendered, (key, n, rendered)
                check_noun(lang, t.plural(f"count.{family}", n), n, key)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_no_count_meets_a_noun_without_plural_forms(lang):
    bad = []
    for key, text in catalog(lang).items():
        if key.rpartition(".")[2] in ("one", "few", "many"):
            continue
        for match in re.finditer(r"{(\w+)}[ \u00a0]+([^\W\d_]+)", text):
            name, word = match[1], match[2]
            if name in COUNT_PARAMS and word.lower() not in NOT_NOUNS:
                bad.append(f"{key}: {match[0]}")
    assert not bad, "a count next to a noun needs {x:@family}:\n" + "\n".join(bad)


def test_the_plural_lookup_picks_the_form_by_the_rule():
    ru, en = Translator("ru"), Translator("en")
    assert [ru.plural("count.meetings", n) for n in (1, 2, 5, 11, 21, 22, 111)] == [
        "1 встреча", "2 встречи", "5 встреч", "11 встреч", "21 встреча", "22 встречи", "111 встреч",
    ]  # fmt: skip
    assert ru("meetings.progress.overdue", days=11) == "Этап просрочен на 11 дней"
    assert ru("meetings.progress.overdue", days=21) == "Этап просрочен на 21 день"
    assert en("meetings.progress.overdue", days=1) == "Stage overdue by 1 day"
    assert en("meetings.progress.overdue", days=0) == "Stage overdue by 0 days"
