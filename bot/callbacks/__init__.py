"""Typed callback data, one module per feature (prefixes are short: Telegram allows 64 bytes). Who may press a
button is decided by the router its handler sits on (bot.middlewares.access), not by its prefix."""

from __future__ import annotations

import types
import typing
from typing import Any, Self

from aiogram.filters.callback_data import CallbackData

from bot.numbers import parse_int


def _is_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return int in typing.get_args(annotation)
    return False


class Callback(CallbackData, prefix="~"):
    """The base of every callback data class: button data may be forged, and aiogram hands int fields to
    pydantic, which takes "1_0", " 5" and ids of thirty digits (an OverflowError in the database). Here an
    int field is ASCII digits within range or the data does not match — the button is answered as stale."""

    @classmethod
    def unpack(cls, value: str) -> Self:
        _, *parts = value.split(cls.__separator__)
        for (name, info), part in zip(cls.model_fields.items(), parts, strict=False):
            if part and _is_int(info.annotation) and parse_int(part, low=-1) is None:
                raise ValueError(f"{cls.__name__}.{name} is not a number in range")
        return super().unpack(value)
