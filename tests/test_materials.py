"""Methodological materials (bot/materials/*.yaml): memos and meeting scenarios, and their strict loader."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.domain.materials import (
    AUDIENCES,
    MAX_BODY_CHARS,
    Material,
    MaterialError,
    check_complete,
    load_materials,
    memo_for,
    parse_material,
    scenario,
    scenario_for,
)
from bot.domain.stages import STAGE_ORDER, Stage

ROOT = Path(__file__).resolve().parents[1]
MATERIALS_DIR = ROOT / "bot" / "materials"
EXPECTED_IDS = {
    "memo_mentor",
    "memo_mentee",
    "memo_parent",
    "scenario_introduction",
    "scenario_trial",
    "scenario_planning",
    "scenario_joint_work",
    "scenario_final",
}
TELEGRAM_LIMIT = 4096
# Section headings every full (mentor) scenario has, in this order.
SECTIONS = {
    "ru": ("Цель встреч", "Шаги", "Вопросы", "Что записать"),
    "en": ("Goal of the meeting", "Steps", "Questions to ask", "What to record"),
}


@pytest.fixture(scope="module")
def materials() -> dict[str, Material]:
    return load_materials()


def test_every_material_file_loads(materials: dict[str, Material]) -> None:
    assert set(materials) == EXPECTED_IDS
    assert {p.stem for p in MATERIALS_DIR.glob("*.yaml")} == EXPECTED_IDS


def test_every_text_has_both_languages_and_fits_one_message(materials: dict[str, Material]) -> None:
    for material in materials.values():
        assert material.parts == (("body",) if material.kind == "memo" else ("mentor", "mentee"))
        for lang in ("ru", "en"):
            assert material.title[lang].strip()
            for part in material.parts:
                body = material.texts[part][lang]
                assert 300 < len(body) < MAX_BODY_CHARS == 3500, (material.id, part, lang, len(body))
                assert (
                    len(material.message(lang, part if material.kind == "scenario" else None))
                    < TELEGRAM_LIMIT
                )
        assert material.title["ru"] != material.title["en"]
        for part in material.parts:
            assert material.texts[part]["ru"] != material.texts[part]["en"]


def test_texts_are_in_the_right_language(materials: dict[str, Material]) -> None:
    for material in materials.values():
        for part in material.parts:
            ru, en = material.texts[part]["ru"], material.texts[part]["en"]
            letters_ru = re.findall(r"[A-Za-zА-Яа-яЁё]", ru)
            letters_en = re.findall(r"[A-Za-zА-Яа-яЁё]", en)
            assert sum(c.isascii() for c in letters_ru) < 0.05 * len(letters_ru), (material.id, part)
            assert all(c.isascii() for c in letters_en), (material.id, part)


def test_texts_are_plain(materials: dict[str, Material]) -> None:
    for material in materials.values():
        for part in material.parts:
            for text in material.texts[part].values():
                assert not re.search(r"[<>&`*_#]|\[.*\]\(", text), (material.id, part)


def test_one_memo_per_audience() -> None:
    assert {memo_for(audience).id for audience in AUDIENCES} == {"memo_mentor", "memo_mentee", "memo_parent"}
    assert memo_for("mentors").audience == "mentors"
    assert memo_for("parent") is memo_for("parents")
    assert memo_for("mentee").title_for("en") == "Mentee's memo"
    assert "Р-145" in memo_for("parents").text("ru") and "R-145" in memo_for("parents").text("en")
    assert "/consent" in memo_for("parents").text("ru")
    with pytest.raises(ValueError, match="curators"):
        memo_for("curators")


def test_every_stage_has_a_scenario_with_both_versions() -> None:
    for stage in STAGE_ORDER:
        material = scenario(stage)
        assert material.kind == "scenario" and material.stage == stage.value
        assert material.id == f"scenario_{stage.value}"
        for lang in ("ru", "en"):
            full, short = scenario_for(stage, "mentor", lang), scenario_for(stage.value, "mentee", lang)
            assert full == material.texts["mentor"][lang] and short == material.texts["mentee"][lang]
            assert len(short) < len(full) / 2, (stage, lang)


@pytest.mark.parametrize("stage", [s.value for s in STAGE_ORDER])
@pytest.mark.parametrize("lang", ["ru", "en"])
def test_mentor_scenario_has_goal_steps_questions_record(stage: str, lang: str) -> None:
    text = scenario_for(stage, "mentor", lang)
    lines = text.split("\n")
    positions = [next(i for i, line in enumerate(lines) if line.startswith(h)) for h in SECTIONS[lang]]
    assert positions == sorted(positions), positions
    goal, steps, questions, record = positions
    assert lines[goal + 1].strip(), "the goal is stated right under its heading"
    numbered = [line for line in lines[steps + 1 : questions] if re.match(r"\d\. ", line)]
    assert 3 <= len(numbered) <= 5
    assert [int(line[0]) for line in numbered] == list(range(1, len(numbered) + 1))
    asked = [line for line in lines[questions + 1 : record] if line.startswith("• ")]
    assert len(asked) >= 4 and all(line.rstrip().endswith("?") for line in asked)
    recorded = [line for line in lines[record + 1 :] if line.startswith("• ")]
    assert len(recorded) >= 3


def test_scenarios_carry_the_model() -> None:
    planning_ru = scenario_for(Stage.PLANNING, "mentor", "ru")
    assert "индивидуальный план развития" in planning_ru and "срок" in planning_ru
    assert "individual development plan" in scenario_for(Stage.PLANNING, "mentor", "en")
    assert "target date" in scenario_for(Stage.PLANNING, "mentee", "en")
    joint_ru = scenario_for(Stage.JOINT_WORK, "mentor", "ru")
    assert "Обратная связь после встречи обязательна" in joint_ru
    assert "отзыв" in scenario_for(Stage.JOINT_WORK, "mentee", "ru")
    assert "final survey" in scenario_for(Stage.FINAL, "mentor", "en")


def test_scenario_for_language_fallback_and_bad_audience() -> None:
    assert scenario_for("trial", "mentee", "de") == scenario_for("trial", "mentee", "ru")
    with pytest.raises(ValueError, match="mentor or mentee"):
        scenario_for("trial", "parent", "ru")
    with pytest.raises(ValueError, match="unknown stage"):
        scenario_for("kickoff", "mentor", "ru")
    with pytest.raises(ValueError, match="name one"):
        scenario("trial").text("ru")


def test_load_returns_a_fresh_dict() -> None:
    first = load_materials()
    first.pop("memo_mentor")
    assert "memo_mentor" in load_materials()


# --- strict validation -------------------------------------------------------------------------------

MEMO = {
    "id": "memo_x",
    "kind": "memo",
    "audience": "mentors",
    "title": {"ru": "Памятка", "en": "Memo"},
    "body": {"ru": "Текст памятки.", "en": "Memo text."},
}
SCENARIO = {
    "id": "scenario_x",
    "kind": "scenario",
    "stage": "trial",
    "title": {"ru": "Пробная встреча", "en": "Trial meeting"},
    "mentor": {"ru": "Полная версия.", "en": "Full version."},
    "mentee": {"ru": "Краткая версия.", "en": "Short version."},
}


def _dump(data: dict) -> str:
    return yaml.safe_dump(data, allow_unicode=True)


def _with(base: dict, path: str, value: object) -> dict:
    data = yaml.safe_load(_dump(base))
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return data


_DELETE = object()


def test_minimal_files_parse() -> None:
    memo = parse_material("memo_x.yaml", _dump(MEMO))
    assert memo.kind == "memo" and memo.audience == "mentors" and memo.text("en") == "Memo text."
    sc = parse_material("scenario_x.yaml", _dump(SCENARIO))
    assert sc.stage == "trial" and sc.text("ru", "mentee") == "Краткая версия."
    assert sc.message("en", "mentor") == "Trial meeting\n\nFull version."


@pytest.mark.parametrize(
    ("base", "path", "value", "expected"),
    [
        (MEMO, "extra", "x", "(top): unknown key 'extra'"),
        (MEMO, "body.en", _DELETE, "body: missing key 'en'"),
        (MEMO, "body.de", "Text", "body: unknown key 'de'"),
        (MEMO, "title.en", "  ", "title.en: expected non-empty text"),
        (MEMO, "body.ru", "а" * 3501, "body.ru: 3501 characters, the limit is 3500"),
        (MEMO, "body.en", "Line one\nSee <b>this</b>", "body.en: markup '<' on line 2"),
        (MEMO, "body.en", "Use **bold**", "body.en: markup '**'"),
        (MEMO, "body.en", "A [link](http://x)", "body.en: markup '[link]('"),
        (MEMO, "audience", "curators", "audience: 'curators' is not one of mentors, mentees, parents"),
        (MEMO, "kind", "leaflet", "kind: 'leaflet' is not one of memo, scenario"),
        (MEMO, "id", "memo_y", "id: 'memo_y' does not match the file name"),
        (MEMO, "mentor", {"ru": "x", "en": "y"}, "(top): unknown key 'mentor'"),
        (SCENARIO, "stage", "kickoff", "stage: 'kickoff' is not one of introduction, trial"),
        (SCENARIO, "mentee", _DELETE, "(top): missing key 'mentee'"),
        (SCENARIO, "body", {"ru": "x", "en": "y"}, "(top): unknown key 'body'"),
        (SCENARIO, "mentor", "just text", "mentor: expected a mapping, got str"),
        (SCENARIO, "audience", "mentors", "(top): unknown key 'audience'"),
    ],
)
def test_broken_files_fail_with_one_line_naming_the_file(
    base: dict, path: str, value: object, expected: str
) -> None:
    filename = f"{base['id']}.yaml"
    with pytest.raises(MaterialError) as info:
        parse_material(filename, _dump(_with(base, path, value)))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{filename}: {expected}"), message


def test_invalid_yaml_and_non_mapping() -> None:
    with pytest.raises(MaterialError, match=r"^memo_x\.yaml: line 2: "):
        parse_material("memo_x.yaml", "id: memo_x\n  kind: [memo\n")
    with pytest.raises(MaterialError, match=r"^memo_x\.yaml: \(top\): expected a mapping, got list"):
        parse_material("memo_x.yaml", "- memo\n")


def _shipped() -> list[Material]:
    return list(load_materials().values())


def test_set_must_cover_every_stage_and_audience() -> None:
    shipped = _shipped()
    assert set(check_complete(shipped)) == EXPECTED_IDS
    without_final = [m for m in shipped if m.stage != "final"]
    with pytest.raises(MaterialError, match="no scenario for stage 'final'"):
        check_complete(without_final)
    without_parents = [m for m in shipped if m.audience != "parents"]
    with pytest.raises(MaterialError, match="no memo for audience 'parents'"):
        check_complete(without_parents)


def test_set_rejects_duplicates() -> None:
    shipped = _shipped()
    second_memo = parse_material("memo_x.yaml", _dump(MEMO))
    with pytest.raises(
        MaterialError, match=r"^memo_x\.yaml: audience: 'mentors' already has memo_mentor\.yaml"
    ):
        check_complete([*shipped, second_memo])
    second_trial = parse_material("scenario_x.yaml", _dump(SCENARIO))
    with pytest.raises(MaterialError, match=r"stage: 'trial' already has scenario_trial\.yaml"):
        check_complete([*shipped, second_trial])
    with pytest.raises(MaterialError, match="'memo_mentor' is used twice"):
        check_complete([*shipped, memo_for("mentors")])


def test_domain_module_is_pure() -> None:
    code = (
        "import sys, bot.domain.materials as m; m.load_materials();"
        "bad = [n for n in sys.modules if n.split('.')[0] in ('aiogram', 'sqlalchemy')];"
        "assert not bad, bad"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
