"""Sending a text that grows with data: several messages cut at paragraph boundaries (bot/text.py), or one
file when that would be more than a handful. Every such view answers through here."""

from __future__ import annotations

from datetime import date

from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, Message

from bot.filenames import file_name
from bot.i18n import Translator
from bot.text import CAPTION_LIMIT, MAX_PARTS, split_text


async def answer_long(
    message: Message,
    text: str,
    t: Translator,
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
    file_key: str = "long.text",
    number: int | str | None = None,
    day: date | None = None,
) -> None:
    """Answer `message` with `text`; buttons go under the last piece (or the file). Past a handful of
    pieces the text comes as a .txt file named in the reader's words: `files.<file_key>`, `number`, `day`."""
    parts = split_text(text)
    if len(parts) > MAX_PARTS:
        caption = split_text(t("safety.long.as_file"), CAPTION_LIMIT)[0]
        name = file_name(t, file_key, "txt", number=number, day=day)
        await message.answer_document(
            BufferedInputFile(text.encode("utf-8"), filename=name),
            caption=caption,
            reply_markup=reply_markup,
        )
        return
    for n, part in enumerate(parts, 1):
        await message.answer(part, reply_markup=reply_markup if n == len(parts) else None)
