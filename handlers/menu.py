"""setMyCommands: the default menu per language, and each person's own menu per chat scope; setMyDescription
and setMyShortDescription: what anyone reads about the bot before pressing Start — who runs it, what it is
for, that it keeps personal data and where the policy is (/privacy)."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonCommands,
    MenuButtonWebApp,
    WebAppInfo,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.domain.entities import ParticipantDTO, Role
from bot.i18n import LANGUAGES, Translator
from bot.services import privacy
from bot.services.commands import PUBLIC, commands_for
from storage.uow import Repos, unit_of_work

log = logging.getLogger("nastavnik.menu")


def _commands(names: list[str] | tuple[str, ...], t: Translator) -> list[BotCommand]:
    return [BotCommand(command=c, description=t(f"commands.{c}")) for c in names]


async def set_default_menus(bot: Bot, default_language: str, settings: Settings | None = None) -> None:
    """At start: the menu of someone the bot does not know yet and, given the settings, the descriptions."""
    for lang in LANGUAGES:
        cmds = _commands(PUBLIC, Translator(lang))
        await bot.set_my_commands(
            cmds, scope=BotCommandScopeDefault(), language_code=None if lang == default_language else lang
        )
    if settings is not None:
        await set_descriptions(bot, settings)


async def set_descriptions(bot: Bot, settings: Settings) -> None:
    """The description and short description in Russian and English, and in the default language for
    everyone else (a Telegram in another language)."""
    who = privacy.operator(settings)
    for lang in (*LANGUAGES, None):
        description, short = privacy.about(Translator(lang or settings.default_language), who)
        await bot.set_my_description(description=description, language_code=lang)
        await bot.set_my_short_description(short_description=short, language_code=lang)


async def refresh_menu(bot: Bot, repos: Repos, me: ParticipantDTO, now: datetime, settings: Settings) -> None:
    """The person's own commands and, for a curator or a coordinator when the desk is on (WEB_APP_URL), the
    chat's menu button opening it; set again only when something it depends on changed."""
    if me.telegram_id is None:
        return
    names = commands_for(me.roles)
    desk = desk_url(me, settings)
    version = hashlib.sha1(f"{me.language}|{','.join(names)}|{desk or ''}".encode()).hexdigest()[:16]
    if me.commands_version == version:
        return
    await bot.set_my_commands(
        _commands(names, Translator(me.language)), scope=BotCommandScopeChat(chat_id=me.telegram_id)
    )
    if desk is not None:
        button: MenuButtonWebApp | MenuButtonCommands = MenuButtonWebApp(
            text=Translator(me.language)("desk.menu_button"), web_app=WebAppInfo(url=desk)
        )
    else:  # no desk (any more) for this person: the usual list of commands
        button = MenuButtonCommands()
    await bot.set_chat_menu_button(chat_id=me.telegram_id, menu_button=button)
    await repos.participants.update(me.id, now, commands_version=version)


async def refresh_desk_menus(
    bot: Bot, factory: async_sessionmaker[AsyncSession], settings: Settings, now: datetime
) -> int:
    """At start: the menu of every curator and coordinator whose menu is not current — the desk was turned on
    (WEB_APP_URL) or off since they last got theirs. Returns how many were set; a refusal is logged."""
    changed = 0
    async with unit_of_work(factory) as repos:
        people = {
            p.id: p for r in (Role.CURATOR, Role.COORDINATOR) for p in await repos.participants.with_role(r)
        }
        for person in people.values():
            if not person.full_name or person.telegram_id is None:
                continue
            before = person.commands_version
            try:
                await refresh_menu(bot, repos, person, now, settings)
            except TelegramAPIError as exc:
                log.warning("menu not refreshed for participant=%s: %s", person.id, type(exc).__name__)
                continue
            changed += (await repos.participants.get(person.id)).commands_version != before  # type: ignore[union-attr]
    return changed


def with_desk(
    markup: InlineKeyboardMarkup | None, me: ParticipantDTO, settings: Settings, t: Translator, page: str
) -> InlineKeyboardMarkup | None:
    """``markup`` with one more row: the button opening this page of the desk (none when the desk is off)."""
    url = desk_url(me, settings, page)
    if url is None:
        return markup
    button = InlineKeyboardButton(text=f"🖥 {t(f'desk.open_{page}')}", web_app=WebAppInfo(url=url))
    rows = list(markup.inline_keyboard) if markup is not None else []
    return InlineKeyboardMarkup(inline_keyboard=[*rows, [button]])


def desk_url(me: ParticipantDTO, settings: Settings, page: str | None = None) -> str | None:
    """Where the person's desk opens (at ``page``), or None: no desk, or not a curator or coordinator."""
    if not settings.web_app_url or not me.roles & {Role.CURATOR, Role.COORDINATOR}:
        return None
    return f"{settings.web_app_url}?page={page}" if page else settings.web_app_url
