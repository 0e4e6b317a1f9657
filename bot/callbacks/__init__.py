"""Typed callback data, one module per feature (prefixes are short: Telegram allows 64 bytes). Who may press a
button is decided by the router its handler sits on (bot.middlewares.access), not by its prefix."""

from __future__ import annotations

import functools
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
        # Every button press is tried against many classes' filters: another class's prefix ends it at once.
        prefix, *parts = value.split(cls.__separator__)
        if prefix != cls.__prefix__:
            raise ValueError(f"Bad prefix ({prefix!r} != {cls.__prefix__!r})")
        for at, name in _int_fields(cls):
            part = parts[at] if at < len(parts) else ""
            if part and parse_int(part, low=-1) is None:
                raise ValueError(f"{cls.__name__}.{name} is not a number in range")
        return super().unpack(value)


@functools.cache
def _int_fields(cls: type[CallbackData]) -> tuple[tuple[int, str], ...]:
    """The positions and names of a class's int fields (looked up once per class, not per press)."""
    return tuple(
        (at, name) for at, (name, info) in enumerate(cls.model_fields.items()) if _is_int(info.annotation)
    )
