"""Every feature's router, in the order the dispatcher tries them (catch-all last)."""

from __future__ import annotations

from aiogram import Router


def feature_routers(default_language: str = "ru") -> list[Router]:
    from handlers import common, curator, errors, fallback, invitations, onboarding

    return [
        errors.router(default_language),
        common.router(),
        onboarding.router(),
        invitations.router(),
        curator.router(),
        fallback.router(),
    ]
