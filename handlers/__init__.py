"""Every feature's router, in the order the dispatcher tries them (catch-all last)."""

from __future__ import annotations

from aiogram import Router

from bot.services.questionnaires import Engine


def feature_routers(engine: Engine, default_language: str = "ru") -> list[Router]:
    from handlers import (
        announce,
        common,
        completion,
        dashboard,
        errors,
        fallback,
        invitations,
        matching,
        meetings,
        mentor_base,
        onboarding,
        privacy,
        programmes,
        questionnaire,
        reports,
        roadmap,
    )

    hooks: dict = {}

    return [
        errors.router(default_language),
        common.router(),
        privacy.router(engine),
        onboarding.router(),
        invitations.router(),
        programmes.router(),
        dashboard.router(engine),
        questionnaire.router(engine, hooks),
        matching.router(engine),
        meetings.router(engine, hooks),
        mentor_base.router(engine),
        reports.router(engine),
        announce.router(),
        roadmap.router(),
        completion.router(engine, hooks),
        fallback.router(),
    ]


def outside_private_chats() -> Router:
    """What the bot does in groups, supergroups and channels (leaves); feature routers never see them."""
    from handlers import groups

    return groups.router()
