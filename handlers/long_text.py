"""Sending a text that grows with data: several messages cut at paragraph boundaries (bot/text.py), or one
file when that would be more than a handful. Every such view answers through here."""

from __future__ import annotations

from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, Message

from bot.i18n import Translator
from bot.text import CAPTION_LIMIT, MAX_PARTS, split_text


async def answer_long(
    message: Message,
    text: str,
    t: Translator,
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
    filename: str = "text.txt",
) -> None:
    """Answer `message` with `text`; buttons go under the last piece (or the file)."""
    parts = split_text(text)
    if len(parts) > MAX_PARTS:
        caption = split_text(t("safety.long.as_file"), CAPTION_LIMIT)[0]
        await message.answer_document(
            BufferedInputFile(text.encode("utf-8"), filename=filename),
            caption=caption,
            reply_markup=reply_markup,
        )
        return
    for n, part in enumerate(parts, 1):
        await message.answer(part, reply_markup=reply_markup if n == len(parts) else None)
