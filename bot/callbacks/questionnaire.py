"""Callback data: questionnaires (answering a form, editing one's intake, the curator's overview)."""

from __future__ import annotations

from enum import StrEnum

from bot.callbacks import Callback


class FormAction(StrEnum):
    PICK = "p"
    TOGGLE = "t"
    DONE = "d"
    SKIP = "s"
    BACK = "b"
    EDIT = "e"  # the summary's "change an answer": the list of questions
    EDIT_KEY = "k"  # one question of that list
    SUMMARY = "m"  # back to the summary
    SUBMIT = "x"


class FormCb(Callback, prefix="fq"):
    r: int  # response id
    q: int  # question index in the form; -1 = the summary
    a: FormAction
    v: str = ""


class EditIntakeCb(Callback, prefix="fe"):
    form: str


class CuratorFormAction(StrEnum):
    NUDGE = "n"
    VIEW = "v"


class CuratorFormCb(Callback, prefix="cf"):
    a: CuratorFormAction
    p: int  # participant id
