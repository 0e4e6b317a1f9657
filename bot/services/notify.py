"""The one way to tell other people something: who, which text (a locale key and its parameters), which
buttons, and the dedup key that makes a repeat a no-op. Every service and job that writes to someone other
than the person in front of the bot goes through here, into the durable outbox (never straight to Telegram).

Each recipient gets the text in their own language; a parameter that is itself text to translate is given as
`Localized(key, **params)`. Only a reachable person is written to: one with a chat and still active in the
programme. The dedup key is the logical message; the recipient's id is appended to it, so one call to several
people is several messages, each of which is sent once whatever calls this how often."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiogram.types import InlineKeyboardMarkup

from bot.domain.entities import NewMessage, ParticipantDTO, Status
from bot.domain.register import of_person
from bot.i18n import Translator
from storage.uow import Repos

Params = Mapping[str, Any] | Callable[[Translator, ParticipantDTO], Mapping[str, Any]]
Buttons = Callable[[Translator], InlineKeyboardMarkup | None]


@dataclass(frozen=True)
class Localized:
    """A parameter that is translated in the recipient's language (e.g. a meeting type's name)."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, t: Translator) -> str:
        return t(self.key, **self.params)


def reachable(person: ParticipantDTO | None) -> bool:
    """Someone the bot can write to about the programme: has a chat and is still active in it."""
    return person is not None and person.telegram_id is not None and person.status == Status.ACTIVE.value


def _markup(buttons: Buttons | None, t: Translator) -> dict[str, Any] | None:
    markup = buttons(t) if buttons is not None else None
    return markup.model_dump(exclude_none=True) if markup is not None else None


def compose(
    person: ParticipantDTO | None,
    key: str,
    *,
    kind: str,
    dedup: str,
    params: Params | None = None,
    buttons: Buttons | None = None,
    priority: int = 5,
    html: bool = False,
    **bound: Any,
) -> NewMessage | None:
    """The message to one person, or None when they cannot be reached. `bound` are the time-bound fields of
    NewMessage (expires_at, meeting_id, meeting_sequence, pair_id, not_before)."""
    if not reachable(person):
        return None
    assert person is not None and person.telegram_id is not None
    t = Translator(person.language, of_person(person).value)  # a pupil reads «ты»
    raw = params(t, person) if callable(params) else (params or {})
    values = {k: (v(t) if isinstance(v, Localized) else v) for k, v in raw.items()}
    return NewMessage(
        chat_id=person.telegram_id,
        participant_id=person.id,
        kind=kind,
        priority=priority,
        text=t(key, **values),
        dedup_key=f"{dedup}:{person.id}",
        reply_markup=_markup(buttons, t),
        extra={"parse_mode": "HTML"} if html else {},
        **bound,
    )


async def notify(
    repos: Repos,
    now: datetime,
    recipients: Iterable[ParticipantDTO | int | None],
    key: str,
    *,
    kind: str,
    dedup: str,
    params: Params | None = None,
    buttons: Buttons | None = None,
    priority: int = 5,
    html: bool = False,
    **bound: Any,
) -> int:
    """Enqueue `key` to every reachable recipient (people or participant ids); returns how many were new."""
    people = list(recipients)
    ids = [p for p in people if isinstance(p, int)]
    found = await repos.participants.get_many(ids) if ids else {}
    out = []
    for p in people:
        person = found.get(p) if isinstance(p, int) else p
        message = compose(
            person,
            key,
            kind=kind,
            dedup=dedup,
            params=params,
            buttons=buttons,
            priority=priority,
            html=html,
            **bound,
        )
        if message is not None:
            out.append(message)
    return await repos.outbox.enqueue(out, now) if out else 0
