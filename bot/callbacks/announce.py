"""Callback data: the curator's announcements (audience menu, preview, send)."""

from __future__ import annotations

from enum import StrEnum

from bot.callbacks import Callback


class AnnounceAction(StrEnum):
    AUDIENCE = "aud"  # a role audience (v: parents | mentees | mentors | everyone)
    MENU = "menu"  # the programme / stage / class list (v), "" = the top menu
    PROGRAMME = "prog"  # v: programme id
    STAGE = "stage"  # v: stage code
    CLASS = "cls"  # v: index into the class list shown
    WHO = "who"  # v: mentees | parents | both of the chosen class
    SEND = "send"  # v: batch id
    CHANGE = "chg"  # another audience after a preview
    CANCEL = "cancel"


class AnnounceCb(Callback, prefix="ca"):
    a: AnnounceAction
    v: str = ""
