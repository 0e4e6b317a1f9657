"""Callback data: meetings of a pair. The wire values of the actions are those of buttons already sent."""

from __future__ import annotations

from enum import StrEnum

from bot.callbacks import Callback


class MeetingAction(StrEnum):
    OK = "ok"  # confirm a proposed meeting
    ALT = "alt"  # propose another time instead
    RESCH = "resch"  # move a confirmed meeting
    CANCEL = "cancel"
    YES = "yes"  # it happened
    NO = "no"  # it did not
    FB = "fb"  # leave feedback


class MeetingCb(Callback, prefix="mt"):
    a: MeetingAction
    m: int


class PairPurpose(StrEnum):
    MEETING = "meeting"
    GOALS = "goals"


class MeetingPairCb(Callback, prefix="mp"):
    """Which pair a command is about, for someone in several (e.g. in two programmes)."""

    a: PairPurpose
    p: int


class MeetingDateCb(Callback, prefix="md"):
    d: str  # ISO date


class MeetingFormat(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class MeetingFormatCb(Callback, prefix="mf"):
    f: MeetingFormat
