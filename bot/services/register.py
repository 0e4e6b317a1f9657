"""How the bot addresses the person answering a survey both members of a pair fill in (issue #18): the
person's register, decided by bot.domain.register from what is known of them when the survey is shown."""

from __future__ import annotations

from bot.domain import forms as f
from bot.domain.entities import FormResponseDTO, ParticipantDTO, Role
from bot.domain.register import of_person, register_of
from bot.services.matching import mentee_kind
from storage.uow import Repos

PUPIL_INTAKE = "mentee_needs"
# The final survey's pre-answered role (bot.services.completion.ROLE_KEY): whom the person answers as.
_ROLE_KEY = "role"


def ty_key(key: str, register: f.Register) -> str:
    """A text's key in a register, for texts sent without a Translator at hand (the outbox): each such
    text has its `<key>_ty` in locales/*/register_person.yaml."""
    return f"{key}_ty" if register is f.Register.TY else key


def onboarding_register(me: ParticipantDTO) -> f.Register:
    """Before the needs questionnaire: only the profile is known (a mentee under 18 is a pupil)."""
    return of_person(me)


async def person_register(repos: Repos, me: ParticipantDTO) -> f.Register:
    """A person's register from their profile and their needs questionnaire, if they filled one in."""
    if not me.has(Role.MENTEE):
        return f.Register.VY
    if of_person(me) is f.Register.TY:  # the profile already says so (what every other text follows)
        return f.Register.TY
    intake = await repos.forms.latest_submitted(me.id, PUPIL_INTAKE)
    kind = mentee_kind(intake.form_id, intake.answers) if intake is not None else None
    return register_of(mentee=True, is_minor=me.is_minor, kind=kind)


async def survey_register(repos: Repos, form: f.Form, response: FormResponseDTO) -> f.Register:
    """The register of one response: the form's own, unless the form has «ты» wordings and the person
    answering is a pupil who answers it as the pair's mentee."""
    if form.register is f.Register.TY or not form.speaks_ty:
        return form.register
    me = await repos.participants.get(response.participant_id)
    if me is None or await _answers_as_mentor(repos, me, response):
        return form.register
    return await person_register(repos, me)


async def _answers_as_mentor(repos: Repos, me: ParticipantDTO, response: FormResponseDTO) -> bool:
    """Whether the person fills this response in as a mentor: the final survey's role, the meeting's pair;
    where the response does not say (a monitoring campaign), a mentor's role."""
    role = response.answers.get(_ROLE_KEY)
    if role in (Role.MENTOR.value, Role.MENTEE.value):
        return role == Role.MENTOR.value
    context = response.context or ""
    if context.startswith("meeting:") and context[8:].isdigit():
        meeting = await repos.meetings.get(int(context[8:]))
        pair = await repos.pairs.get(meeting.pair_id) if meeting is not None else None
        if pair is not None:
            return pair.mentor_id == me.id
    return me.has(Role.MENTOR)
