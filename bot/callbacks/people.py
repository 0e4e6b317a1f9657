"""Callback data: consent, language, withdrawal, invitations and roles."""

from __future__ import annotations

from bot.callbacks import Callback


class ConsentCb(Callback, prefix="cs"):
    action: str  # accept | decline


class LangCb(Callback, prefix="lg"):
    lang: str


class AdultCb(Callback, prefix="ad"):
    adult: bool


class WithdrawCb(Callback, prefix="wd"):
    action: str  # ask | confirm | cancel
    subject_id: int


class InviteRoleCb(Callback, prefix="ci"):
    role: str


class RevokeCb(Callback, prefix="cr"):
    invitation_id: int


class InviteManyCb(Callback, prefix="ch"):
    """A curator link for several people (a curator link is otherwise single-use)."""

    role: str


class RolesCb(Callback, prefix="cj"):
    """A person's roles as the curator sees them: v view | rm remove one (h: the role's row id)."""

    a: str
    p: int
    h: int = 0
