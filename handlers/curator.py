"""Curator overview of people (the full dashboard comes with the curator-surface issue)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.domain.entities import Role, Status
from bot.i18n import Translator
from storage.uow import Repos

CURATOR = {"roles": {Role.CURATOR}}


def router() -> Router:
    r = Router(name=__name__)

    @r.message(Command("participants"), flags=CURATOR)
    async def participants(message: Message, repos: Repos, t: Translator) -> None:
        counts = await repos.participants.count_by_status()
        lines = [t("participants.header")]
        for status in (s.value for s in Status):
            lines.append(t("participants.count", status=t(f"status.{status}"), n=counts.get(status, 0)))
        waiting = [
            p
            for p in await repos.participants.with_role(Role.MENTEE)
            if p.status == Status.AWAITING_PARENT.value
        ]
        if waiting:
            lines.append("")
            lines.append(t("participants.awaiting_parent"))
            lines += [f"• {p.full_name} ({p.group_name or '—'})" for p in waiting[:50]]
        await message.answer("\n".join(lines))

    return r
