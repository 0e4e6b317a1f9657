"""Issue #18, "Register": whom the bot addresses with «ты». One decision for every text that follows the
person rather than a form: a pupil is told «ты»; mentors, parents, curators, students and young teachers
«вы». Pure: the caller gathers what is known of the person (nothing new is stored)."""

from __future__ import annotations

from bot.domain.forms import Register


def register_of(*, mentee: bool, is_minor: bool | None = None, kind: str | None = None) -> Register:
    """How to address someone: «ты» for a mentee who is a school pupil — under 18 by their profile, or a
    pupil by their needs questionnaire (``kind``: bot.services.matching.mentee_kind of it, None before it
    is filled in); «вы» for everyone else, and for anyone answering as a mentor."""
    return Register.TY if mentee and (is_minor is True or kind == "pupil") else Register.VY
