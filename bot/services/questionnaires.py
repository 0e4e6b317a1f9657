"""The questionnaire engine: one state machine for every form.

Each call validates, stores and advances in the caller's unit of work; nothing invalid is ever written.
Telegram rendering lives in handlers/questionnaire.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.domain import forms as f
from bot.domain.entities import FormResponseDTO, NewMessage, ParticipantDTO, ProgrammeDTO, Role
from storage.uow import Repos

INTAKE_FORMS = ("mentee_needs", "young_specialist_needs", "mentor")


@dataclass(frozen=True)
class Outcome:
    """What the engine did: the response as it now stands, and an error to show (the same question again)."""

    response: FormResponseDTO | None
    error: f.Invalid | None = None
    stale: bool = False
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
            or r.status != "in_progress"
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


def nudge_message(person: ParticipantDTO, text: str, now: datetime) -> NewMessage:
    """A curator's reminder to finish a questionnaire; at most one a day per person."""
    assert person.telegram_id is not None
    return NewMessage(
        chat_id=person.telegram_id,
        participant_id=person.id,
        text=text,
        kind="form_nudge",
        dedup_key=f"form-nudge:{person.id}:{now.date().isoformat()}",
        priority=3,
    )
