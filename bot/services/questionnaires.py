"""The questionnaire engine: one state machine for every form.

Each call validates, stores and advances in the caller's unit of work; nothing invalid is ever written.
Below the engine, the use cases around it: which intake questionnaire a person fills in next, the curator's
overview of who has filled theirs in, a nudge to finish, and one person's answers. Telegram rendering lives
in handlers/questionnaire.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.domain import forms as f
from bot.domain.entities import FormResponseDTO, ParticipantDTO, ProgrammeDTO, ResponseStatus, Role, Status
from bot.numbers import parse_int
from bot.services import programmes
from bot.services.notify import notify
from storage.uow import Repos

INTAKE_FORMS = ("mentee_needs", "young_specialist_needs", "mentor")


@dataclass(frozen=True)
class Outcome:
    """What the engine did: the response as it now stands, and an error to show (the same question again)."""

    response: FormResponseDTO | None
    error: f.Invalid | None = None
    submitted: bool = False


class Stale(Exception):
    """A button of an old question or an old form was pressed."""


def intake_form_id(me: ParticipantDTO, role: Role, programme: ProgrammeDTO | None) -> str | None:
    if role == Role.MENTOR:
        return "mentor"
    if role == Role.MENTEE:
        return (programme.settings.get("mentee_form") if programme else None) or "mentee_needs"
    return None


class Engine:
    def __init__(self, forms: dict[str, f.Form]) -> None:
        self.forms = forms

    def form(self, response: FormResponseDTO) -> f.Form:
        return self.forms[response.form_id]

    def question_index(self, response: FormResponseDTO) -> int:
        if response.current_key is None:
            return -1
        return self.form(response).keys.index(response.current_key)

    async def begin(
        self, repos: Repos, participant_id: int, form_id: str, now: datetime, context: str | None = None
    ) -> FormResponseDTO:
        """Resume the unfinished response to this form (for this context, e.g. one meeting), or start one."""
        existing = await repos.forms.open_for(participant_id, form_id, context)
        if existing is not None and existing.context == context:
            return existing
        form = self.forms[form_id]
        return await repos.forms.create(
            participant_id, form_id, form.version, now, context=context, current_key=form.first_key({})
        )

    async def edit_submitted(
        self, repos: Repos, participant_id: int, form_id: str, now: datetime
    ) -> FormResponseDTO | None:
        """Open the next version of a submitted form, starting at the summary."""
        existing = await repos.forms.open_for(participant_id, form_id)
        if existing is not None:
            return existing
        last = await repos.forms.latest_submitted(participant_id, form_id)
        if last is None:
            return None
        form = self.forms[form_id]
        return await repos.forms.create(
            participant_id,
            form_id,
            form.version,
            now,
            version=last.version + 1,
            answers=form.relevant_answers(last.answers),
            current_key=None,
            editing=True,
            context=last.context,
        )

    async def _load(
        self, repos: Repos, participant_id: int, response_id: int, q_index: int | None
    ) -> FormResponseDTO:
        r = await repos.forms.get(response_id)
        if (
            r is None
            or r.participant_id != participant_id
            or r.status != ResponseStatus.IN_PROGRESS
            or r.form_id not in self.forms
        ):
            raise Stale
        if q_index is not None and q_index != self.question_index(r):
            raise Stale
        return r

    async def at_summary(self, repos: Repos, participant_id: int, response_id: int) -> FormResponseDTO:
        """The person's response shown at its summary; Stale if that summary is no longer current."""
        return await self._load(repos, participant_id, response_id, -1)

    async def _store(self, repos: Repos, r: FormResponseDTO, value: Any, now: datetime) -> FormResponseDTO:
        form = self.form(r)
        key = r.current_key
        assert key is not None
        question = form.question(key)
        if value is not None:
            assert f.is_valid_value(question, value), "the engine must never store an invalid answer"
        answers = {k: v for k, v in r.answers.items() if k in form.keys}
        answers[key] = value
        nxt = None if r.editing else form.next_key(answers, key)
        if r.editing:
            # A changed answer can reveal a follow-up question that was never answered: ask it next.
            missing = form.missing_required(answers)
            nxt = missing[0] if missing else None
        return await repos.forms.save(r.id, now, answers=answers, current_key=nxt, draft=None)

    async def answer_text(
        self, repos: Repos, participant_id: int, response_id: int, text: str, today: date, now: datetime
    ) -> Outcome:
        r = await self._load(repos, participant_id, response_id, None)
        if r.current_key is None:
            return Outcome(r, f.Invalid(f.ErrorCode.USE_BUTTONS, {}))
        question = self.form(r).question(r.current_key)
        if question.type == f.QuestionType.MULTI:
            return Outcome(r, f.Invalid(f.ErrorCode.USE_BUTTONS, {}))
        result = f.parse_text_answer(question, text, today)
        if isinstance(result, f.Invalid):
            return Outcome(r, result)
        return Outcome(await self._store(repos, r, result.value, now))

    async def pick(
        self,
        repos: Repos,
        participant_id: int,
        response_id: int,
        q_index: int,
        shown: str,
        now: datetime,
        toggle: bool = False,
    ) -> Outcome:
        """A pressed option button: a choice's buttons carry the option's index (values may be long), a
        scale's or a yes/no's the value itself. `toggle` ticks or unticks one option of a multiple choice."""
        value = shown
        response = await repos.forms.get(response_id)
        index = parse_int(shown)
        if response is not None and response.form_id in self.forms and q_index >= 0 and index is not None:
            form = self.forms[response.form_id]
            if q_index < len(form.questions):
                q = form.questions[q_index]
                if q.type in (f.QuestionType.SINGLE, f.QuestionType.MULTI):
                    value = q.options[index].value if index < len(q.options) else "\x00"
        call = self.toggle if toggle else self.choose
        return await call(repos, participant_id, response_id, q_index, value, now)

    async def choose(
        self, repos: Repos, participant_id: int, response_id: int, q_index: int, value: str, now: datetime
    ) -> Outcome:
        r = await self._load(repos, participant_id, response_id, q_index)
        question = self.form(r).question(r.current_key)  # type: ignore[arg-type]
        result = f.parse_choice(question, value)
        if isinstance(result, f.Invalid):
            return Outcome(r, result)
        return Outcome(await self._store(repos, r, result.value, now))

    async def toggle(
        self, repos: Repos, participant_id: int, response_id: int, q_index: int, value: str, now: datetime
    ) -> Outcome:
        r = await self._load(repos, participant_id, response_id, q_index)
        question = self.form(r).question(r.current_key)  # type: ignore[arg-type]
        if question.type != f.QuestionType.MULTI:
            raise Stale
        picked = r.draft if r.draft is not None else list(r.answers.get(question.key) or [])
        result = f.toggle_multi(question, picked, value)
        if isinstance(result, f.Invalid):
            return Outcome(r, result)
        return Outcome(await repos.forms.save(r.id, now, draft=list(result.value)))

    async def done(
        self, repos: Repos, participant_id: int, response_id: int, q_index: int, now: datetime
    ) -> Outcome:
        r = await self._load(repos, participant_id, response_id, q_index)
        question = self.form(r).question(r.current_key)  # type: ignore[arg-type]
        if question.type != f.QuestionType.MULTI:
            raise Stale
        picked = r.draft if r.draft is not None else list(r.answers.get(question.key) or [])
        result = f.finish_multi(question, picked)
        if isinstance(result, f.Invalid):
            return Outcome(r, result)
        return Outcome(await self._store(repos, r, result.value, now))

    async def skip(
        self, repos: Repos, participant_id: int, response_id: int, q_index: int, now: datetime
    ) -> Outcome:
        r = await self._load(repos, participant_id, response_id, q_index)
        question = self.form(r).question(r.current_key)  # type: ignore[arg-type]
        result = f.skip(question)
        if isinstance(result, f.Invalid):
            return Outcome(r, result)
        return Outcome(await self._store(repos, r, None, now))

    async def back(
        self, repos: Repos, participant_id: int, response_id: int, q_index: int, now: datetime
    ) -> Outcome:
        r = await self._load(repos, participant_id, response_id, q_index)
        form = self.form(r)
        if r.current_key is None:
            visible = form.visible(r.answers)
            prev = visible[-1].key if visible else None
        else:
            prev = form.prev_key(r.answers, r.current_key)
        if prev is None:
            return Outcome(r)
        return Outcome(await repos.forms.save(r.id, now, current_key=prev, draft=None, editing=False))

    async def edit_key(
        self, repos: Repos, participant_id: int, response_id: int, key_index: int, now: datetime
    ) -> Outcome:
        """From the summary: change one answer, then come back to the summary."""
        r = await self._load(repos, participant_id, response_id, -1)
        form = self.form(r)
        if not 0 <= key_index < len(form.keys) or not form.is_visible(r.answers, form.keys[key_index]):
            raise Stale
        return Outcome(
            await repos.forms.save(r.id, now, current_key=form.keys[key_index], draft=None, editing=True)
        )

    async def submit(self, repos: Repos, participant_id: int, response_id: int, now: datetime) -> Outcome:
        r = await self._load(repos, participant_id, response_id, -1)
        form = self.form(r)
        missing = form.missing_required(r.answers)
        if missing:
            return Outcome(
                await repos.forms.save(r.id, now, current_key=missing[0]), f.Invalid(f.ErrorCode.REQUIRED, {})
            )
        clean = form.relevant_answers(r.answers)
        await repos.forms.save(r.id, now, answers=clean)
        done = await repos.forms.submit(r.id, now)
        await repos.audit.log(
            "form.submit",
            now,
            actor_id=participant_id,
            object_type="form_response",
            object_id=r.id,
            form=r.form_id,
            version=done.version,
        )
        return Outcome(done, submitted=True)


async def can_edit_intake(repos: Repos, me: ParticipantDTO) -> bool:
    """Intake answers may be edited until the person is paired (they drove the match)."""
    return not await repos.pairs.is_paired(me.id)


async def next_intake(
    repos: Repos, engine: Engine, me: ParticipantDTO, now: datetime
) -> tuple[FormResponseDTO, bool] | None:
    """The intake questionnaire the person fills in next and whether it is one they are resuming; None when
    there is none left to fill."""
    open_response = await repos.forms.open_for(me.id)
    if open_response is not None and open_response.form_id in engine.forms:
        return open_response, True
    for role in (Role.MENTEE, Role.MENTOR):
        if not me.has(role):
            continue
        # Each programme of the role may ask for its own questionnaire (a school's pupils and its young
        # specialists); a programme without settings asks for the default one.
        for programme in await programmes.role_programmes(repos, me, role) or [None]:
            form_id = intake_form_id(me, role, programme)
            if (
                form_id
                and form_id in engine.forms
                and await repos.forms.latest_submitted(me.id, form_id) is None
            ):
                return await engine.begin(repos, me.id, form_id, now), False
    return None


@dataclass(frozen=True)
class Overview:
    """/questionnaires: how many mentees and mentors of the curator's programme have filled in their intake.
    `unfinished` pairs each person with "in_progress" or "not_started"; `declined`: minors whose parent said
    no (they never reach the questionnaire)."""

    counts: dict[str, int]
    unfinished: list[tuple[ParticipantDTO, str]]
    finished: list[ParticipantDTO]
    declined: list[ParticipantDTO]


async def overview(repos: Repos, curator: ParticipantDTO) -> Overview:
    scope = await programmes.scope(repos, await programmes.current(repos, curator.id))
    status = await repos.forms.status_by_participant(list(INTAKE_FORMS))
    people = {
        p.id: p
        for role in (Role.MENTEE, Role.MENTOR)
        for p in await repos.participants.with_role(role, scope)
    }
    counts = {"submitted": 0, "in_progress": 0, "not_started": 0}
    unfinished: list[tuple[ParticipantDTO, str]] = []
    finished: list[ParticipantDTO] = []
    for p in people.values():
        if p.status != Status.ACTIVE or not p.full_name:
            continue
        mine = status.get(p.id, {})
        if mine and all(v == ResponseStatus.SUBMITTED for v in mine.values()):
            counts["submitted"] += 1
            finished.append(p)
        else:
            key = "in_progress" if ResponseStatus.IN_PROGRESS in mine.values() else "not_started"
            counts[key] += 1
            unfinished.append((p, key))
    declined = [p for p in people.values() if p.parent_declined_at and p.status == Status.AWAITING_PARENT]
    return Overview(counts, unfinished, finished, declined)


async def nudge(repos: Repos, curator: ParticipantDTO, person_id: int, now: datetime) -> bool | None:
    """The curator reminds someone to finish their questionnaire: True when sent, False when they were
    reminded today already, None when there is no such person to write to."""
    person = await repos.participants.get(person_id)
    if person is None or person.telegram_id is None:
        return None
    added = await notify(
        repos,
        now,
        [person],
        "questionnaire.nudge_text",
        kind="form_nudge",
        priority=3,
        dedup=f"form-nudge:{now.date().isoformat()}",
    )
    await repos.audit.log(
        "form.nudge", now, actor_id=curator.id, object_type="participant", object_id=person.id
    )
    return bool(added)


@dataclass(frozen=True)
class Answers:
    """One person's intake answers as the curator sees them: each form with its latest response (submitted,
    or the one being filled in)."""

    person: ParticipantDTO
    forms: list[tuple[f.Form, FormResponseDTO]]


async def answers_of(
    repos: Repos, engine: Engine, curator: ParticipantDTO, person_id: int, now: datetime
) -> Answers | None:
    """The curator views someone's answers (recorded in the audit log); None: no such person to show."""
    person = await repos.participants.get(person_id)
    if person is None or person.telegram_id is None:
        return None
    forms = []
    for form_id in INTAKE_FORMS:
        last = await repos.forms.latest_submitted(person.id, form_id) or await repos.forms.open_for(
            person.id, form_id
        )
        if last is not None and form_id in engine.forms:
            forms.append((engine.forms[form_id], last))
    await repos.audit.log(
        "form.view", now, actor_id=curator.id, object_type="participant", object_id=person.id
    )
    return Answers(person, forms)
