"""Invitation tokens: ≥128 bits of randomness, stored only as a hash, short enough for a deep link."""

from __future__ import annotations

import hashlib
import re
import secrets

# Telegram allows up to 64 characters of [A-Za-z0-9_-] in a /start payload.
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_token() -> str:
    return secrets.token_urlsafe(24)  # 192 bits → 32 characters


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def looks_like_token(payload: str) -> bool:
    return bool(TOKEN_RE.match(payload))
