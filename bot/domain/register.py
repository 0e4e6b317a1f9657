"""Issue #18, "Register": whom the bot addresses with «ты». One decision for every text that follows the
person rather than a form: a pupil is told «ты»; mentors, parents, curators, students and young teachers
«вы». Pure: the caller gathers what is known of the person (nothing new is stored)."""

from __future__ import annotations

import re

from bot.domain.entities import ParticipantDTO, Role
from bot.domain.forms import Register


def register_of(*, mentee: bool, is_minor: bool | None = None, kind: str | None = None) -> Register:
    """How to address someone: «ты» for a mentee who is a school pupil — under 18 by their profile, or a
    pupil by their needs questionnaire (``kind``: bot.services.matching.mentee_kind of it, None before it
    is filled in); «вы» for everyone else, and for anyone answering as a mentor."""
    return Register.TY if mentee and (is_minor is True or kind == "pupil") else Register.VY


# A school class as pupils write it: "8А", "11 Б", "5".
_SCHOOL_CLASS = re.compile(r"^\s*(1[01]|[1-9])\s*[-–]?\s*[А-ЯЁA-Z]?\s*$", re.IGNORECASE)


def of_person(person: ParticipantDTO) -> Register:
    """What the profile says: a mentee under 18, or one whose class is a school class ("8А"), is a pupil,
    told «ты». Every text with a «ты» wording (`<key>_ty`) reaches such a person in it."""
    school = bool(person.group_name and _SCHOOL_CLASS.match(person.group_name))
    return register_of(
        mentee=person.has(Role.MENTEE), is_minor=person.is_minor, kind="pupil" if school else None
    )
