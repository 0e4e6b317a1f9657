"""Callback data: the curator's dashboard, participant list and digest; the monitoring survey button."""

from __future__ import annotations

from enum import StrEnum

from bot.callbacks import Callback


class NudgePairCb(Callback, prefix="cn"):
    pair: int


class OpenPairCb(Callback, prefix="co"):
    pair: int


class PeopleAction(StrEnum):
    PAGE = "pg"  # n: page number
    CARD = "card"  # n: participant id
    NUDGE = "nudge"
    UNREACHABLE = "unreach"


class PeopleCb(Callback, prefix="cy"):
    a: PeopleAction
    n: int
    q: str = ""


class SurveyCb(Callback, prefix="sv"):
    """The monitoring survey's button, sent to participants (not curator-only)."""

    c: int  # campaign id
