"""Outside private chats. The bot shows names, answers and personal-data files, so it works one to one only:
bot/middlewares/chats.py keeps every other chat away from the feature routers and hands it here. Added to a
group, supergroup or channel, the bot leaves; a group is told why once (a channel's subscribers are not)."""

from __future__ import annotations

import logging
from collections import OrderedDict

from aiogram import Bot, F, Router
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Chat, ChatMemberUpdated, Message

from bot.i18n import Translator

log = logging.getLogger("nastavnik.groups")
GROUPS = (ChatType.GROUP, ChatType.SUPERGROUP)
REMEMBERED = 10_000  # chats told in this process: enough to never repeat the line during a burst of messages


class OutsidePrivateChats:
    def __init__(self) -> None:
        self._told: OrderedDict[int, None] = OrderedDict()

    def _first_time(self, chat_id: int) -> bool:
        if chat_id in self._told:
            return False
        self._told[chat_id] = None
        if len(self._told) > REMEMBERED:
            self._told.popitem(last=False)
        return True

    async def _leave(self, bot: Bot, chat: Chat, t: Translator, tell: bool) -> None:
        if tell and chat.type in GROUPS:
            try:
                await bot.send_message(chat.id, t("groups.private_only"))
            except TelegramAPIError as exc:  # no right to write there: leaving is what matters
                log.info("could not explain leaving a %s chat: %s", chat.type, type(exc).__name__)
        try:
            await bot.leave_chat(chat.id)
        except TelegramAPIError as exc:
            log.warning("could not leave a %s chat: %s", chat.type, type(exc).__name__)
        else:
            log.info("left a %s chat (private chats only)", chat.type)

    async def added(self, event: ChatMemberUpdated, bot: Bot, t: Translator) -> None:
        """Added (or re-added): leave every time; the line is said once per group."""
        await self._leave(bot, event.chat, t, tell=self._first_time(event.chat.id))

    async def message(self, message: Message, bot: Bot, t: Translator) -> None:
        """Still in a chat it was added to before this rule: say why and leave, on the first message only."""
        if self._first_time(message.chat.id):
            await self._leave(bot, message.chat, t, tell=True)

    async def button(self, query: CallbackQuery) -> None:
        await query.answer()  # stop the spinner; a button in a group does nothing


def router() -> Router:
    outside = OutsidePrivateChats()
    r = Router(name=__name__)
    joined = F.new_chat_member.status.in_({ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR})
    r.my_chat_member.register(outside.added, joined)
    r.message.register(outside.message)
    r.channel_post.register(outside.message)
    r.callback_query.register(outside.button)
    return r
