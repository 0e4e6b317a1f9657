"""Pseudonyms of Telegram ids, for records that must prove something about a person without naming
them (a refused consent, an erasure in the ledger). An HMAC-SHA-256 keyed from the bot token: the key is never
stored in the database it protects, so a copy of the database alone cannot tell whose id a record was, while
the bot can still recognise the same person. Each purpose has its own key, so records of one kind cannot be
joined to another."""

from __future__ import annotations

import hashlib
import hmac


def key_for(purpose: str, bot_token: str) -> bytes:
    return hashlib.sha256(f"nastavnik/{purpose}/".encode() + bot_token.encode()).digest()


def pseudonym(key: bytes, telegram_id: int) -> str:
    return hmac.new(key, str(telegram_id).encode(), hashlib.sha256).hexdigest()
