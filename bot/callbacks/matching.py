"""Callback data: the curator's matching (/match, /pair) and pairs (/pairs, dissolving)."""

from __future__ import annotations

from enum import StrEnum

from bot.callbacks import Callback


class MatchAction(StrEnum):
    APPROVE = "ok"
    REJECT = "no"
    APPROVE_ALL = "all"
    PAGE = "pg"


class MatchCb(Callback, prefix="cm"):
    """A step in /match run `run`: n is the proposal id (approve, reject), the page (page) or 0 (all)."""

    a: MatchAction
    run: str
    n: int


class ManualStep(StrEnum):
    MENTEE = "mentee"  # the mentee is chosen: now the mentor
    MENTOR = "mentor"  # both chosen: check the constraints
    FORCE = "force"  # pair despite the warnings


class ManualCb(Callback, prefix="cx"):
    a: ManualStep
    mentee: int = 0
    mentor: int = 0


class PairAction(StrEnum):
    DISSOLVE = "dis"  # ask whom (in a group) or the reason
    WHO = "who"  # the mentee chosen in a group
    PAGE = "pg"  # `pair` holds the page number


class PairCb(Callback, prefix="cp"):
    a: PairAction
    pair: int
    mentee: int = 0
