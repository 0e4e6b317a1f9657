"""Invitation links: curators invite mentees, mentors and curators; a mentee invites their parent."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.clock import Clock
from bot.config import Settings
from bot.domain.entities import ParticipantDTO, Role, Status
from bot.i18n import Translator
from bot.services import onboarding as svc
from handlers import keyboards as kb
from handlers.callbacks import InviteRoleCb, RevokeCb
from handlers.onboarding import invite_link
from handlers.programmes import for_change
from storage.uow import Repos

CURATOR = {"roles": {Role.CURATOR}}
MENTEE = {"roles": {Role.MENTEE}}
INVITABLE = {"mentee", "mentor", "curator"}


def router() -> Router:
    r = Router(name=__name__)

    @r.message(Command("invite"), flags=CURATOR)
    async def invite(message: Message, repos: Repos, t: Translator, me: ParticipantDTO) -> None:
        if await for_change(repos, me, t, message) is None:
            return
        await message.answer(t("invite.choose_role"), reply_markup=kb.invite_roles(t))

    @r.callback_query(InviteRoleCb.filter(), flags=CURATOR)
    async def invite_role(
        cb: CallbackQuery,
        callback_data: InviteRoleCb,
        repos: Repos,
        t: Translator,
        bot: Bot,
        me: ParticipantDTO,
        settings: Settings,
        clock: Clock,
    ) -> None:
        if callback_data.role not in INVITABLE or not isinstance(cb.message, Message):
            await cb.answer(t("common.stale"), show_alert=True)
            return
        # A link joins the curator's current programme; an archived one takes nobody new.
        programme = await for_change(repos, me, t, cb)
        if programme is None:
            return
        token, inv = await svc.create_invitation(
            repos,
            role=Role(callback_data.role),
            now=clock(),
            ttl_days=settings.invitation_ttl_days,
            created_by=me.id,
            programme_id=programme.id,
        )
        link = await invite_link(bot, token)
        await cb.message.answer(
            t(
                "invite.created",
                programme=programme.title,
                role=t(f"roles.{inv.role.value}"),
                link=link,
                expires=inv.expires_at.astimezone(settings.tz).strftime("%d.%m.%Y"),
            ),
            reply_markup=kb.revoke(t, inv.id),
        )
        await cb.answer()

    @r.message(Command("invites"), flags=CURATOR)
    async def invites(
        message: Message, repos: Repos, t: Translator, settings: Settings, clock: Clock
    ) -> None:
        active = await repos.invitations.list_active(clock())
        if not active:
            await message.answer(t("invite.none_active"))
            return
        await message.answer(t("invite.list_header", count=len(active)))
        titles = {p.id: p.title for p in await repos.programmes.all()}
        for inv in active[:20]:
            await message.answer(
                t(
                    "invite.item",
                    id=inv.id,
                    role=t(f"roles.{inv.role.value}"),
                    programme=titles.get(inv.programme_id or 0, "—"),
                    uses=inv.uses,
                    max_uses=inv.max_uses if inv.max_uses is not None else "∞",
                    expires=inv.expires_at.astimezone(settings.tz).strftime("%d.%m.%Y"),
                ),
                reply_markup=kb.revoke(t, inv.id),
            )

    @r.callback_query(RevokeCb.filter(), flags=CURATOR)
    async def revoke(
        cb: CallbackQuery,
        callback_data: RevokeCb,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        clock: Clock,
    ) -> None:
        done = await repos.invitations.revoke(callback_data.invitation_id, clock())
        if done:
            await repos.audit.log(
                "invitation.revoke",
                clock(),
                actor_id=me.id,
                object_type="invitation",
                object_id=callback_data.invitation_id,
            )
        if isinstance(cb.message, Message):
            await cb.message.edit_reply_markup(reply_markup=None)
            await cb.message.answer(t("invite.revoked" if done else "invite.already_revoked"))
        await cb.answer()

    @r.message(Command("parent"), flags=MENTEE)
    async def parent(
        message: Message,
        repos: Repos,
        t: Translator,
        bot: Bot,
        me: ParticipantDTO,
        settings: Settings,
        clock: Clock,
    ) -> None:
        token, _ = await svc.create_invitation(
            repos,
            role=Role.PARENT,
            now=clock(),
            ttl_days=settings.invitation_ttl_days,
            created_by=me.id,
            child_id=me.id,
            max_uses=2,
        )
        key = (
            "invite.parent_link_waiting"
            if me.status == Status.AWAITING_PARENT.value
            else "invite.parent_link"
        )
        await message.answer(t(key, link=await invite_link(bot, token)))

    return r
