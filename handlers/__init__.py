"""Every feature's router, in the order the dispatcher tries them (catch-all last)."""

from __future__ import annotations

from aiogram import Router


def feature_routers() -> list[Router]:
    from handlers import (
        announce,
        common,
        completion,
        dashboard,
        district,
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
        selfcheck,
        swot,
    )

    modules = (
        errors,
        common,
        privacy,
        onboarding,
        invitations,
        programmes,
        dashboard,
        district,
        questionnaire,
        matching,
        meetings,
        mentor_base,
        reports,
        announce,
        roadmap,
        completion,
        selfcheck,
        swot,
        fallback,
    )
    return [r for module in modules for r in module.routers()]


def outside_private_chats() -> Router:
    """What the bot does in groups, supergroups and channels (leaves); feature routers never see them."""
    from handlers import groups

    return groups.router()
