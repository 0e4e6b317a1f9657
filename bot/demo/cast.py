"""Who takes part in a demo run and what goes wrong on purpose: the data in bot/demo/casts/<name>.yaml.

``default.yaml`` is the hand-made school programme `nastavnik demo` runs on the app's default settings; each
other file is named after a seed programme template (bot/programmes/<id>.yaml) and holds a small cast fitted
to it. A persona's ``answers`` are their intake questionnaire's answers by question key; a mentor's ``slots``
are the times their pair meets ("tue 17:00"); ``parent`` makes a mentee a minor whose parent consents."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

CASTS = Path(__file__).with_name("casts")
TZ_NAME = "Europe/Moscow"
TZ = ZoneInfo(TZ_NAME)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Persona:
    key: str
    name: str  # as they type it (surname, name, patronymic), in Russian
    role: str  # curator | mentor | mentee | parent
    group: str = ""  # a pupil's class or a student's group
    parent: str = ""  # a minor's parent's name
    answers: dict[str, Any] = field(default_factory=dict)
    slots: tuple[tuple[int, str], ...] = ()  # (weekday, "HH:MM")
    meet: str = "online"  # how the mentor's pair meets

    @property
    def minor(self) -> bool:
        return bool(self.parent)


@dataclass(frozen=True)
class Cast:
    name: str
    template: str | None  # the seed template the curator creates the programme from (None: default settings)
    start: datetime
    population: int  # the intended population for coverage (/population)
    mentors: tuple[Persona, ...]
    mentees: tuple[Persona, ...]
    on_purpose: dict[str, Any]  # what goes wrong on purpose (see the YAML files)
    meeting_days: tuple[int, ...]  # days after the pairing each meeting is aimed at


def _persona(raw: dict[str, Any], role: str) -> Persona:
    slots = tuple((WEEKDAYS.index(day), hhmm) for day, hhmm in (s.split() for s in raw.get("slots", ())))
    return Persona(
        raw["key"],
        raw["name"],
        role,
        str(raw.get("group", "")),
        raw.get("parent", ""),
        dict(raw.get("answers") or {}),
        slots,
        raw.get("meet", "online"),
    )


def load_cast(name: str) -> Cast:
    raw = yaml.safe_load((CASTS / f"{name}.yaml").read_text(encoding="utf-8"))
    return Cast(
        name,
        raw.get("template"),
        datetime.strptime(raw["start"], "%Y-%m-%d %H:%M").replace(tzinfo=TZ),
        int(raw["population"]),
        tuple(_persona(p, "mentor") for p in raw["mentors"]),
        tuple(_persona(p, "mentee") for p in raw["mentees"]),
        dict(raw["on_purpose"]),
        tuple(raw["meeting_days"]),
    )


def template_casts() -> dict[str, Cast]:
    """One cast per seed programme template, by template id."""
    return {p.stem: load_cast(p.stem) for p in sorted(CASTS.glob("*.yaml")) if p.stem != "default"}
