"""Callback data: consent, language, withdrawal, invitations and roles."""

from __future__ import annotations

from enum import StrEnum

from bot.callbacks import Callback


class ConsentAction(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"


class ConsentCb(Callback, prefix="cs"):
    action: ConsentAction


class LangCb(Callback, prefix="lg"):
    lang: str


class AdultCb(Callback, prefix="ad"):
    adult: bool


class WithdrawAction(StrEnum):
    ASK = "ask"  # show the confirmation
    CONFIRM = "confirm"
    CANCEL = "cancel"


class WithdrawCb(Callback, prefix="wd"):
    action: WithdrawAction
    subject_id: int


class InviteRoleCb(Callback, prefix="ci"):
    role: str  # mentee | mentor | curator; checked by the handler (forged data is answered as stale)


class RevokeCb(Callback, prefix="cr"):
    invitation_id: int


class InviteManyCb(Callback, prefix="ch"):
    """A curator link for several people (a curator link is otherwise single-use)."""

    role: str


class RolesAction(StrEnum):
    VIEW = "v"
    REMOVE = "rm"  # remove one role (h: the role's row id)


class RolesCb(Callback, prefix="cj"):
    """A person's roles as the curator sees them."""

    a: RolesAction
    p: int
    h: int = 0
