"""Callback data: meetings of a pair."""

from __future__ import annotations

from bot.callbacks import Callback


class MeetingCb(Callback, prefix="mt"):
    a: str  # ok | alt | resch | cancel | yes | no | fb
    m: int


class MeetingPairCb(Callback, prefix="mp"):
    """Which pair a command is about, for someone in several (e.g. in two programmes)."""

    a: str  # meeting | goals
    p: int


class MeetingDateCb(Callback, prefix="md"):
    d: str  # ISO date, or "type"


class MeetingFormatCb(Callback, prefix="mf"):
    f: str  # online | offline
