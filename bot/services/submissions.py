"""What happens when a form is submitted, in one explicit table: the forms that start a use case (a meeting's
feedback, the final survey) name it here; every other form just thanks the person and carries on with their
intake. The questionnaire handler looks the form up here and renders the outcome; nothing fills this table
as a side effect of building routers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiogram.filters.callback_data import CallbackData

from bot.domain.entities import FormResponseDTO, ParticipantDTO
from bot.i18n import catalog
from storage.uow import Repos


@dataclass(frozen=True)
class Say:
    """One message to the person who submitted: a locale key, its parameters, and rows of buttons, each a
    (locale key of its label, callback data)."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)
    buttons: tuple[tuple[tuple[str, CallbackData], ...], ...] = ()


@dataclass(frozen=True)
class Submitted:
    """The outcome of a submission. `say`: the replies, in order (the follow-up acknowledges the submission
    itself: one message, not two thank-yous). `then`: what the person is asked next — "intake" (their next
    questionnaire, if any) or an FSM state name (e.g. the planning meeting's goals) with `state_data`."""

    say: tuple[Say, ...] = ()
    then: str | None = None
    state_data: Mapping[str, Any] = field(default_factory=dict)


DEFAULT_THANKS = "questionnaire.submitted.default"
OnSubmit = Callable[[Repos, FormResponseDTO, ParticipantDTO, datetime], Awaitable[Submitted]]


def default(form_id: str) -> Submitted:
    """A form with no use case behind it: thank the person (the form's own text if it has one, else the
    general thanks) and go on with their intake."""
    own = f"questionnaire.submitted.{form_id}"
    return Submitted(say=(Say(own if own in catalog("ru") else DEFAULT_THANKS),), then="intake")


def table() -> dict[str, OnSubmit]:
    """form id → the use case its submission starts. Imported late: the use cases import forms and storage."""
    from bot.services import completion, meetings

    return {
        "meeting_feedback": meetings.feedback_submitted,
        completion.FINAL_FORM: completion.final_submitted,
    }
