"""Every feature's router, in the order the dispatcher tries them (catch-all last)."""

from __future__ import annotations

from typing import Any

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

    def build(module: Any, *args: Any) -> list[Router]:
        # TRANSITION (#15): a converted module exposes routers() (its handlers at module level, curator ones
        # on a guarded router); the others still build one router in a closure.
        if hasattr(module, "routers"):
            return list(module.routers())
        return [module.router(*args)]

    return [
        *build(errors, default_language),
        *build(common),
        *build(privacy, engine),
        *build(onboarding),
        *build(invitations),
        *build(programmes),
        *build(dashboard, engine),
        *build(questionnaire, engine, hooks),
        *build(matching, engine),
        *build(meetings, engine, hooks),
        *build(mentor_base, engine),
        *build(reports, engine),
        *build(announce),
        *build(roadmap),
        *build(completion, engine, hooks),
        *build(fallback),
    ]


def outside_private_chats() -> Router:
    """What the bot does in groups, supergroups and channels (leaves); feature routers never see them."""
    from handlers import groups

    return groups.router()
