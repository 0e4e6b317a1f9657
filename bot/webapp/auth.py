"""Who is asking: the signed initData Telegram hands the Mini App, checked with aiogram's own
safe_parse_webapp_init_data (HMAC-SHA256 keyed by the bot token) and its age. Only the Telegram user id is
taken from it; roles and institutions are read from the database."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram.utils.web_app import safe_parse_webapp_init_data

SCHEME = "tma"  # Authorization: tma <initData>, as Telegram's Mini Apps documentation shows it
CLOCK_SKEW = timedelta(minutes=5)  # a phone's clock a little ahead of ours


class Unauthorized(Exception):
    """No initData, a forged or foreign one, or one too old. ``reason`` is logged (never the data)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def init_data_of(header: str | None) -> str:
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != SCHEME or not value.strip():
        raise Unauthorized("missing")
    return value.strip()


def telegram_user(token: str, header: str | None, now: datetime, max_age: timedelta) -> int:
    """The Telegram user id the initData in the Authorization header was signed for."""
    init_data = init_data_of(header)
    try:
        data = safe_parse_webapp_init_data(token, init_data)
    except ValueError:
        raise Unauthorized("signature") from None
    except Exception:  # a signed payload that does not parse (pydantic's error is a ValueError too)
        raise Unauthorized("malformed") from None
    if data.user is None:
        raise Unauthorized("no_user")
    signed = data.auth_date
    if signed.tzinfo is None:
        signed = signed.replace(tzinfo=now.tzinfo)
    if now - signed > max_age:
        raise Unauthorized("expired")
    if signed - now > CLOCK_SKEW:
        raise Unauthorized("future")
    return data.user.id
