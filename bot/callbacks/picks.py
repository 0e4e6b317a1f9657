"""People chosen, not typed: a reply-keyboard button (KeyboardButtonRequestUsers) opens Telegram's own list of
the user's chats, and the person chosen comes back as a `users_shared` message carrying the button's
request_id. The request_id says which picker it answers and, like callback data, the object it is about (the
mentee a mentor is chosen for, the institution a curator is chosen for): `kind * SPAN + n`, a signed 32-bit
number. Like callback data it can be forged, so every handler checks what it names again."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from aiogram.filters import Filter
from aiogram.types import KeyboardButton, KeyboardButtonRequestUsers, Message, ReplyKeyboardMarkup

SPAN = 10_000_000  # object ids below ten million; kinds up to 214 fit in Telegram's signed 32 bits


class Pick(IntEnum):
    PAIR_MENTEE = 1  # /pair: the mentee
    PAIR_MENTOR = 2  # /pair: the mentor for mentee n
    CURATOR = 3  # /invite: another curator of the curator's programme (institution)
    INSTITUTION_CURATOR = 4  # /institutions: a curator of institution n (the coordinator)
    COORDINATOR = 5  # /institutions: another coordinator


@dataclass(frozen=True)
class PickRequest:
    kind: Pick
    n: int = 0

    def pack(self) -> int:
        if not 0 <= self.n < SPAN:
            raise ValueError("the object id does not fit a request id")
        return int(self.kind) * SPAN + self.n

    @classmethod
    def unpack(cls, value: int) -> PickRequest | None:
        kind, n = divmod(value, SPAN) if value > 0 else (0, 0)
        try:
            return cls(Pick(kind), n)
        except ValueError:
            return None


def picker(text: str, request: PickRequest) -> ReplyKeyboardMarkup:
    """One button that opens the user's chats to choose one person (not a bot); hidden once used. Names and
    usernames are not asked for: the bot needs only whom, and stores nothing it is not given."""
    button = KeyboardButton(
        text=text,
        request_users=KeyboardButtonRequestUsers(
            request_id=request.pack(), user_is_bot=False, max_quantity=1
        ),
    )
    return ReplyKeyboardMarkup(keyboard=[[button]], resize_keyboard=True, one_time_keyboard=True)


class Shared(Filter):
    """A `users_shared` message answering a picker of this kind; gives the handler `pick` (the request) and
    `shared_id` (the Telegram id of the one person chosen)."""

    def __init__(self, kind: Pick) -> None:
        self.kind = kind

    async def __call__(self, message: Message) -> bool | dict[str, Any]:
        shared = message.users_shared
        if shared is None:
            return False
        request = PickRequest.unpack(shared.request_id)
        ids = [u.user_id for u in shared.users]
        if request is None or request.kind != self.kind or len(ids) != 1:
            return False
        return {"pick": request, "shared_id": ids[0]}
