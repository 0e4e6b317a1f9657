"""Keyboards are pure functions of data and the translator."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks.people import AdultCb, ConsentCb, InviteManyCb, InviteRoleCb, LangCb, RevokeCb, WithdrawCb
from bot.i18n import Translator


def rows(*buttons: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[list(b) for b in buttons])


def button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


def consent(t: Translator) -> InlineKeyboardMarkup:
    return rows(
        [button(t("consent.accept"), ConsentCb(action="accept").pack())],
        [button(t("consent.decline"), ConsentCb(action="decline").pack())],
    )


def languages() -> InlineKeyboardMarkup:
    return rows([button("Русский", LangCb(lang="ru").pack()), button("English", LangCb(lang="en").pack())])


def adult(t: Translator) -> InlineKeyboardMarkup:
    return rows(
        [
            button(t("common.yes"), AdultCb(adult=True).pack()),
            button(t("common.no"), AdultCb(adult=False).pack()),
        ]
    )


def invite_roles(t: Translator) -> InlineKeyboardMarkup:
    return rows(
        *[[button(t(f"roles.{r}"), InviteRoleCb(role=r).pack())] for r in ("mentee", "mentor", "curator")],
        [button(t("onboarding.invite.curator_many"), InviteManyCb(role="curator").pack())],
    )


def revoke(t: Translator, invitation_id: int) -> InlineKeyboardMarkup:
    return rows([button(t("invite.revoke"), RevokeCb(invitation_id=invitation_id).pack())])


def withdraw_ask(t: Translator, subject_id: int) -> InlineKeyboardMarkup:
    return rows([button(t("consent.withdraw"), WithdrawCb(action="ask", subject_id=subject_id).pack())])


def withdraw_confirm(t: Translator, subject_id: int) -> InlineKeyboardMarkup:
    return rows(
        [button(t("consent.withdraw_confirm"), WithdrawCb(action="confirm", subject_id=subject_id).pack())],
        [button(t("common.cancel"), WithdrawCb(action="cancel", subject_id=subject_id).pack())],
    )
