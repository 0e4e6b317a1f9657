"""Typed callback data (prefixes are short: Telegram allows 64 bytes). Curator-only ones are listed in
CURATOR_PREFIXES so the access middleware refuses them for anyone else, whatever handler would match."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class ConsentCb(CallbackData, prefix="cs"):
    action: str  # accept | decline


class LangCb(CallbackData, prefix="lg"):
    lang: str


class AdultCb(CallbackData, prefix="ad"):
    adult: bool


class WithdrawCb(CallbackData, prefix="wd"):
    action: str  # ask | confirm | cancel
    subject_id: int


class InviteRoleCb(CallbackData, prefix="ci"):
    role: str


class RevokeCb(CallbackData, prefix="cr"):
    invitation_id: int


CURATOR_PREFIXES = (
    "ci",
    "cr",
    "cf",
    "cp",
    "cm",
    "cx",
    "cn",
    "co",
    "cb",
    "ct",
    "ck",
    "ce",
    "cy",
    "cq",
    "cw",
    "cz",
    "cv",
    "cu",
    "ca",
    "cg",
)


class MeetingCb(CallbackData, prefix="mt"):
    a: str  # ok | alt | resch | cancel | yes | no | fb
    m: int


class MeetingPairCb(CallbackData, prefix="mp"):
    """Which pair a command is about, for someone in several (e.g. in two programmes)."""

    a: str  # meeting | goals
    p: int


class MeetingDateCb(CallbackData, prefix="md"):
    d: str  # ISO date, or "type"


class MeetingFormatCb(CallbackData, prefix="mf"):
    f: str  # online | offline


class NudgePairCb(CallbackData, prefix="cn"):
    pair: int


class OpenPairCb(CallbackData, prefix="co"):
    pair: int
