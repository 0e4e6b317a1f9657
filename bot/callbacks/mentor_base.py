"""Callback data: the mentor base (/mentors, /training), materials (/materials, /material_add)."""

from __future__ import annotations

from enum import StrEnum

from bot.callbacks import Callback


class MentorAction(StrEnum):
    VIEW = "view"  # the candidate's questionnaire
    INTERVIEW = "iv"
    APPROVE = "ok"
    DECLINE = "no"


class MentorCb(Callback, prefix="cb"):
    """A curator's step on a mentor candidate `p`."""

    a: MentorAction
    p: int


class TrainCb(Callback, prefix="ct"):
    """Attendance of training session `s`: toggle participant `p`; p = 0 is «done»."""

    s: int
    p: int


class AddMatStep(StrEnum):
    AUDIENCE = "aud"
    STAGE = "stage"


class AddMatCb(Callback, prefix="ck"):
    """A new material's audience, then its stage (v = "-": any stage)."""

    a: AddMatStep
    v: str


class MatCb(Callback, prefix="mm"):
    """A material to open (or, with read, to mark read): k is builtin.<id> or custom.<id> (":" separates
    callback fields, so the kind and id are joined by a dot)."""

    k: str
    read: bool = False
