"""Keyboards are pure functions of data and the translator."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from bot.callbacks.people import (
    AdultCb,
    ConsentAction,
    ConsentCb,
    InviteManyCb,
    InviteRoleCb,
    LangCb,
    RevokeCb,
    WithdrawAction,
    WithdrawCb,
)
from bot.domain.entities import Role
from bot.i18n import Translator
from bot.keyboards import InlineKeyboardBuilder

INVITABLE = (Role.MENTEE, Role.MENTOR, Role.CURATOR)


def consent(t: Translator) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=t("consent.accept"), callback_data=ConsentCb(action=ConsentAction.ACCEPT))
    kb.button(text=t("consent.decline"), callback_data=ConsentCb(action=ConsentAction.DECLINE))
    return kb.adjust(1).as_markup()


def languages() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="Русский", callback_data=LangCb(lang="ru"))
    kb.button(text="English", callback_data=LangCb(lang="en"))
    return kb.adjust(2).as_markup()


def adult(t: Translator) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=t("common.yes"), callback_data=AdultCb(adult=True))
    kb.button(text=t("common.no"), callback_data=AdultCb(adult=False))
    return kb.adjust(2).as_markup()


def invite_roles(t: Translator) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for role in INVITABLE:
        kb.button(text=t(f"roles.{role.value}"), callback_data=InviteRoleCb(role=role.value))
    kb.button(text=t("onboarding.invite.curator_many"), callback_data=InviteManyCb(role=Role.CURATOR.value))
    return kb.adjust(1).as_markup()


def revoke(t: Translator, invitation_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=t("invite.revoke"), callback_data=RevokeCb(invitation_id=invitation_id))
    return kb.as_markup()


def withdraw_ask(t: Translator, subject_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t("consent.withdraw"), callback_data=WithdrawCb(action=WithdrawAction.ASK, subject_id=subject_id)
    )
    return kb.as_markup()


def withdraw_confirm(t: Translator, subject_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    confirm = WithdrawCb(action=WithdrawAction.CONFIRM, subject_id=subject_id)
    kb.button(text=t("consent.withdraw_confirm"), callback_data=confirm)
    kb.button(
        text=t("common.cancel"), callback_data=WithdrawCb(action=WithdrawAction.CANCEL, subject_id=subject_id)
    )
    return kb.adjust(1).as_markup()
