"""Callback data: completion (final survey, mentor offer, case base, certificates, closing a pair)."""

from __future__ import annotations

from enum import StrEnum

from bot.callbacks import Callback


class Answer(StrEnum):
    YES = "y"
    NO = "n"


class CertificateFormat(StrEnum):
    PNG = "png"
    PDF = "pdf"


class CaseAction(StrEnum):
    NEW = "new"
    PICK = "pick"


class FinalSurveyCb(Callback, prefix="fs"):
    pair: int


class BecomeMentorCb(Callback, prefix="bm"):
    pair: int
    a: Answer


class CaseConsentCb(Callback, prefix="sp"):
    case: int
    a: Answer


class CertificateCb(Callback, prefix="gc"):
    pair: int
    f: CertificateFormat


class ClosePairCb(Callback, prefix="cz"):
    pair: int


class CaseCb(Callback, prefix="cv"):
    a: CaseAction
    pair: int = 0
