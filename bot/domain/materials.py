"""Methodological materials: the memos (памятки) and the meeting scenarios of the target model of mentoring.

One YAML file per material in ``bot/materials/`` (``<id>.yaml``)::

    id: memo_mentor              # must equal the file name
    kind: memo                   # memo | scenario
    audience: mentors            # memos only: mentors | mentees | parents
    title: {ru: ..., en: ...}
    body: {ru: ..., en: ...}     # memos only

    id: scenario_planning
    kind: scenario
    stage: planning              # scenarios only: a Stage value
    title: {ru: ..., en: ...}
    mentor: {ru: ..., en: ...}   # the full version
    mentee: {ru: ..., en: ...}   # the short version

Texts are plain (no HTML or Markdown: they go to Telegram as they are, whatever the parse mode) and each
stays under ``MAX_BODY_CHARS`` so that title plus body fit one message. Loading is strict — unknown or
missing keys, a missing language, markup, an over-long text, a second memo for one audience or a stage
without a scenario all fail with a one-line ``MaterialError`` that names the file.

Pure domain code: no Telegram, no database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import NoReturn

import yaml

from bot.domain.stages import STAGE_ORDER

MATERIALS_PACKAGE = "bot.materials"
LANGUAGES: tuple[str, ...] = ("ru", "en")
KINDS: tuple[str, ...] = ("memo", "scenario")
AUDIENCES: tuple[str, ...] = ("mentors", "mentees", "parents")
STAGES: tuple[str, ...] = tuple(stage.value for stage in STAGE_ORDER)
SCENARIO_PARTS: tuple[str, ...] = ("mentor", "mentee")
MEMO_PART = "body"
MAX_BODY_CHARS = 3500
MAX_TITLE_CHARS = 200
# Role names (roles.* in locales) are accepted where an audience is expected.
_ROLE_TO_AUDIENCE = MappingProxyType({"mentor": "mentors", "mentee": "mentees", "parent": "parents"})
# Things that would be markup in Telegram's HTML or Markdown parse modes.
_MARKUP = re.compile(r"[<>&`]|\*\*|__|\[[^\]\n]*\]\(")


class MaterialError(ValueError):
    """A broken material file (or set of files); the message is one line starting with the file name."""


@dataclass(frozen=True)
class Material:
    id: str
    kind: str
    title: Mapping[str, str]
    # part -> language -> text; part is "body" for a memo, "mentor" and "mentee" for a scenario.
    texts: Mapping[str, Mapping[str, str]]
    audience: str | None = None
    stage: str | None = None

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.texts)

    def title_for(self, language: str) -> str:
        return self.title.get(language) or self.title["ru"]

    def text(self, language: str, part: str | None = None) -> str:
        """The body in ``language`` (Russian for an unknown one); ``part`` is required for a scenario."""
        if part is None:
            if self.kind != "memo":
                raise ValueError(f"{self.id}: a scenario has parts {', '.join(self.parts)}; name one")
            part = MEMO_PART
        if part not in self.texts:
            raise ValueError(f"{self.id}: no part {part!r} (has {', '.join(self.parts)})")
        by_language = self.texts[part]
        return by_language.get(language) or by_language["ru"]

    def message(self, language: str, part: str | None = None) -> str:
        """Title, a blank line and the body: one ready-to-send plain-text message."""
        return f"{self.title_for(language)}\n\n{self.text(language, part)}"


def load_materials() -> dict[str, Material]:
    """Every ``*.yaml`` in ``bot/materials``, keyed by id. Raises ``MaterialError``."""
    return dict(_load_all())


@cache
def _load_all() -> Mapping[str, Material]:
    files = [
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in resources.files(MATERIALS_PACKAGE).iterdir()
        if entry.name.endswith(".yaml")
    ]
    return MappingProxyType(check_complete(parse_material(name, text) for name, text in sorted(files)))


def check_complete(materials: Iterable[Material]) -> dict[str, Material]:
    """Key parsed materials by id; exactly one memo per audience and one scenario per stage."""
    by_id: dict[str, Material] = {}
    memos: dict[str, str] = {}
    scenarios: dict[str, str] = {}
    for material in materials:
        filename = f"{material.id}.yaml"
        if material.id in by_id:
            raise MaterialError(f"{filename}: id: {material.id!r} is used twice")
        by_id[material.id] = material
        slot, key = (memos, material.audience) if material.kind == "memo" else (scenarios, material.stage)
        if key in slot:
            what = "audience" if material.kind == "memo" else "stage"
            raise MaterialError(f"{filename}: {what}: {key!r} already has {slot[key]}.yaml")
        slot[key] = material.id
    for audience in AUDIENCES:
        if audience not in memos:
            raise MaterialError(f"{MATERIALS_PACKAGE}: no memo for audience {audience!r}")
    for stage in STAGES:
        if stage not in scenarios:
            raise MaterialError(f"{MATERIALS_PACKAGE}: no scenario for stage {stage!r}")
    return by_id


def parse_material(filename: str, text: str) -> Material:
    """One material from its YAML text; ``filename`` names it in errors and must be ``<id>.yaml``."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "YAML"
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise MaterialError(f"{filename}: {where}: {problem}") from None
    return _Checker(filename).material(data)


def memo_for(audience: str) -> Material:
    """The memo for ``mentors``/``mentees``/``parents`` (or the role ``mentor``/``mentee``/``parent``)."""
    audience = _ROLE_TO_AUDIENCE.get(audience, audience)
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}: expected one of {', '.join(AUDIENCES)}")
    return next(m for m in _load_all().values() if m.kind == "memo" and m.audience == audience)


def scenario(stage: str) -> Material:
    """The scenario material of a meeting stage (a ``Stage`` or its value)."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}: expected one of {', '.join(STAGES)}")
    return next(m for m in _load_all().values() if m.kind == "scenario" and m.stage == stage)


def scenario_for(stage: str, audience: str, lang: str) -> str:
    """The scenario body for a stage: the full version for ``mentor``, the short one for ``mentee``.

    Only the body (no title); ``scenario(stage).message(lang, audience)`` gives title and body together.
    An unknown language falls back to Russian.
    """
    if audience not in SCENARIO_PARTS:
        raise ValueError(f"unknown scenario audience {audience!r}: expected mentor or mentee")
    return scenario(stage).text(lang, audience)


class _Checker:
    def __init__(self, filename: str) -> None:
        self.filename = filename

    def fail(self, path: str, message: str) -> NoReturn:
        raise MaterialError(f"{self.filename}: {path}: {message}")

    def mapping(self, value: object, path: str, required: tuple[str, ...]) -> dict:
        if not isinstance(value, dict):
            self.fail(path, f"expected a mapping, got {type(value).__name__}")
        for key in value:
            if key not in required:
                self.fail(path, f"unknown key {key!r}")
        for key in required:
            if key not in value:
                self.fail(path, f"missing key {key!r}")
        return value

    def text(self, value: object, path: str, limit: int) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"expected non-empty text, got {value!r}")
        text = value.strip()
        if len(text) > limit:
            self.fail(path, f"{len(text)} characters, the limit is {limit}")
        found = _MARKUP.search(text)
        if found:
            line = text.count("\n", 0, found.start()) + 1
            self.fail(path, f"markup {found.group()!r} on line {line}: materials are plain text")
        return text

    def localized(self, value: object, path: str, limit: int) -> Mapping[str, str]:
        by_language = self.mapping(value, path, LANGUAGES)
        return MappingProxyType(
            {
                language: self.text(by_language[language], f"{path}.{language}", limit)
                for language in LANGUAGES
            }
        )

    def choice(self, value: object, path: str, options: tuple[str, ...]) -> str:
        if not isinstance(value, str) or value not in options:
            self.fail(path, f"{value!r} is not one of {', '.join(options)}")
        return value

    def material(self, data: object) -> Material:
        if not isinstance(data, dict):
            self.fail("(top)", f"expected a mapping, got {type(data).__name__}")
        kind = self.choice(data.get("kind"), "kind", KINDS)
        if kind == "memo":
            root = self.mapping(data, "(top)", ("id", "kind", "audience", "title", MEMO_PART))
        else:
            root = self.mapping(data, "(top)", ("id", "kind", "stage", "title", *SCENARIO_PARTS))
        material_id = root["id"]
        if not isinstance(material_id, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", material_id):
            self.fail("id", f"expected a lower_snake_case name, got {material_id!r}")
        if self.filename != f"{material_id}.yaml":
            self.fail("id", f"{material_id!r} does not match the file name")
        title = self.localized(root["title"], "title", MAX_TITLE_CHARS)
        if kind == "memo":
            return Material(
                id=material_id,
                kind=kind,
                title=title,
                texts=MappingProxyType(
                    {MEMO_PART: self.localized(root[MEMO_PART], MEMO_PART, MAX_BODY_CHARS)}
                ),
                audience=self.choice(root["audience"], "audience", AUDIENCES),
            )
        return Material(
            id=material_id,
            kind=kind,
            title=title,
            texts=MappingProxyType(
                {part: self.localized(root[part], part, MAX_BODY_CHARS) for part in SCENARIO_PARTS}
            ),
            stage=self.choice(root["stage"], "stage", STAGES),
        )
