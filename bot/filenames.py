"""Names of the files the bot sends, in the reader's language: a Russian curator downloads
`реестр-наставников-2026-12-05.xlsx`, an English one `mentor-registry-2026-12-05.xlsx`. Every file a person
gets from the bot is named here (the words are in locales/*/files.yaml). Telegram accepts UTF-8 file names in
multipart: aiogram sends the name as it is (FormData(quote_fields=False)), so Cyrillic arrives as Cyrillic."""

from __future__ import annotations

import re
from datetime import date

from bot.i18n import Translator

# What a file system or a mail client may refuse in a name; whitespace becomes a hyphen.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
_HYPHENS = re.compile(r"-{2,}")
MAX_STEM = 100


def file_name(
    t: Translator, key: str, ext: str, *, number: int | str | None = None, day: date | None = None
) -> str:
    """`files.<key>` in the reader's words, then the number and the ISO date when given: `встреча-12.ics`,
    `выгрузка-программы-2026-12-05.xlsx`."""
    parts = [t(f"files.{key}")]
    if number is not None:
        parts.append(str(number))
    if day is not None:
        parts.append(day.isoformat())
    stem = _UNSAFE.sub("", "-".join("-".join(parts).split()))
    stem = _HYPHENS.sub("-", stem).strip("-.")[:MAX_STEM] or "file"
    return f"{stem}.{ext}"
