"""Callback data: a person's data rights (/mydata, /forget) and the curator's /forget_participant."""

from __future__ import annotations

from enum import StrEnum

from bot.callbacks import Callback


class PrivacyAction(StrEnum):
    DATA = "data"  # send the file
    ASK = "ask"  # confirm forgetting
    GO = "go"  # forget
    NO = "no"  # cancel


class PrivacyCb(Callback, prefix="pv"):
    a: PrivacyAction
    s: int  # subject: oneself or one's child


class ForgetPersonAction(StrEnum):
    PICK = "pick"
    GO = "go"
    NO = "no"


class ForgetPersonCb(Callback, prefix="cu"):
    a: ForgetPersonAction
    p: int
