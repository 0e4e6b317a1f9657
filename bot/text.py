"""Texts that grow with data (answers, lists, cards) split into pieces Telegram accepts.

Telegram refuses a message over 4,096 characters and a caption over 1,024 (counted in UTF-16 code units, so
an emoji counts twice). A text is cut at paragraph boundaries first, then at line ends, then between words,
and only a single word longer than a whole message is cut inside. The bot's views are plain text (no
parse_mode), so no HTML tag or entity can be cut in half."""

from __future__ import annotations

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
# Past this many messages a text is easier to read (and kinder to the chat) as one file.
MAX_PARTS = 5
_SEPARATORS = ("\n\n", "\n", " ")


def units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """`text` in pieces of at most `limit` units each, cut at the largest boundary that fits."""
    if units(text) <= limit:
        return [text]
    return [part for part in _split(text, limit, 0) if part.strip()]


def _split(text: str, limit: int, level: int) -> list[str]:
    if units(text) <= limit:
        return [text]
    if level >= len(_SEPARATORS):
        return _hard_cut(text, limit)
    sep = _SEPARATORS[level]
    parts: list[str] = []
    current = ""
    for chunk in text.split(sep):
        candidate = f"{current}{sep}{chunk}" if current else chunk
        if units(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        if units(chunk) <= limit:
            current = chunk
        else:
            *whole, current = _split(chunk, limit, level + 1)
            parts += whole
    if current:
        parts.append(current)
    return parts


def _hard_cut(text: str, limit: int) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        width = units(char)
        if size + width > limit:
            parts.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        parts.append("".join(current))
    return parts


def clip(text: str, limit: int, mark: str = "…") -> str:
    """`text` cut to at most `limit` units, `mark` at the end when anything was cut (never half an emoji)."""
    if units(text) <= limit:
        return text
    room = limit - units(mark)
    out: list[str] = []
    size = 0
    for char in text:
        size += units(char)
        if size > room:
            break
        out.append(char)
    return "".join(out).rstrip() + mark


def paginate(blocks: list[str], *, per_page: int, budget: int, sep: str = "\n") -> list[tuple[int, int]]:
    """Pages of a list as (start, end) slices: at most `per_page` blocks each and, joined by `sep`, at most
    `budget` units; a block too long for any page alone gets a page to itself (the caller clips it). Always at
    least one page, so an empty list shows its header."""
    pages: list[tuple[int, int]] = []
    start, size = 0, 0
    for i, block in enumerate(blocks):
        width = units(block) + (units(sep) if i > start else 0)
        if i > start and (i - start >= per_page or size + width > budget):
            pages.append((start, i))
            start, width = i, units(block)
            size = 0
        size += width
    pages.append((start, len(blocks)))
    return pages
