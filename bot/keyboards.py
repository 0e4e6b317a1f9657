"""aiogram's InlineKeyboardBuilder, with a cheap export.

aiogram's builder deep-copies every button each time it makes a markup (`export` is `deepcopy(self._markup)`),
and a button is a pydantic model: about half a millisecond per keyboard, a tenth of what answering one
question costs (bench/forms.py). A builder here is made for one message and thrown away, so nothing can
change the buttons after the markup is made: copying the rows is enough."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton
from aiogram.utils.keyboard import InlineKeyboardBuilder as _AiogramBuilder

__all__ = ["InlineKeyboardBuilder"]


class InlineKeyboardBuilder(_AiogramBuilder):
    def export(self) -> list[list[InlineKeyboardButton]]:
        return [list(row) for row in self._markup]
