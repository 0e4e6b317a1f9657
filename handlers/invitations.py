"""Invitation links: curators invite mentees, mentors and curators; a mentee invites their parent."""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.callbacks.people import InviteManyCb, InviteRoleCb, RevokeCb, RolesCb
from bot.clock import Clock
from bot.config import Settings
from bot.domain.entities import ParticipantDTO, Role, Status
from bot.i18n import Translator
from bot.services import onboarding as svc
from handlers import keyboards as kb
from handlers.menu import refresh_menu
from handlers.onboarding import invite_link
from handlers.programmes import for_change
from storage.uow import Repos

CURATOR = {"roles": {Role.CURATOR}}
# A minor mentee or mentor invites their parent.
MINOR_ROLES = {"roles": {Role.MENTEE, Role.MENTOR}}
INVITABLE = {"mentee", "mentor", "curator"}
# Roles a curator may take away here; a parent's role ends with the parent's own withdrawal of consent.
REMOVABLE = (Role.CURATOR, Role.MENTOR, Role.MENTEE)


async def roles_view(repos: Repos, t: Translator, person: ParticipantDTO) -> tuple[str, InlineKeyboardMarkup]:
    """A person's roles, one line per role and programme, with a remove button for each removable one."""
    titles = {p.id: p.title for p in await repos.programmes.all()}
    lines = [t("onboarding.roles.header", name=person.full_name or "—", id=person.id)]
    rows: list[list[InlineKeyboardButton]] = []
    for holding in await repos.participants.holdings(person.id):
        role = t(f"roles.{holding.role.value}")
        where = titles.get(holding.programme_id or 0)
        label = t("onboarding.roles.in_programme", role=role, programme=where) if where else role
        lines.append(f"• {label}")
        if holding.role in REMOVABLE:
            rows.append(
                [
                    InlineKeyboardButton(
                        text=t("onboarding.roles.remove", role=label),
                        callback_data=RolesCb(a="rm", p=person.id, h=holding.id).pack(),
                    )
                ]
            )
    if len(lines) == 1:
        lines.append(t("onboarding.roles.none"))
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def _expires(inv_expires: datetime, settings: Settings) -> str:
    return inv_expires.astimezone(settings.tz).strftime("%d.%m.%Y %H:%M")


async def _curator_link(
    cb: CallbackQuery,
    message: Message,
    repos: Repos,
    t: Translator,
    bot: Bot,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
    programme_id: int,
    *,
    several: bool,
) -> None:
    """A curator link is short-lived and single-use, unless the curator asked for several people."""
    token, inv = await svc.create_invitation(
        repos,
        role=Role.CURATOR,
        now=clock(),
        ttl_days=settings.invitation_ttl_days,
        ttl=svc.CURATOR_LINK_TTL,
        created_by=me.id,
        programme_id=programme_id,
        max_uses=None if several else 1,
    )
    await message.answer(
        t(
            "onboarding.invite.curator_created_many" if several else "onboarding.invite.curator_created",
            link=await invite_link(bot, token),
            expires=_expires(inv.expires_at, settings),
        ),
        reply_markup=kb.revoke(t, inv.id),
    )
    await cb.answer()


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
        role = Role(callback_data.role)
        if role == Role.CURATOR:
            await _curator_link(
                cb, cb.message, repos, t, bot, me, settings, clock, programme.id, several=False
            )
            return
        token, inv = await svc.create_invitation(
            repos,
            role=role,
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

    @r.callback_query(InviteManyCb.filter(), flags=CURATOR)
    async def invite_many(
        cb: CallbackQuery,
        callback_data: InviteManyCb,
        repos: Repos,
        t: Translator,
        bot: Bot,
        me: ParticipantDTO,
        settings: Settings,
        clock: Clock,
    ) -> None:
        if callback_data.role != Role.CURATOR.value or not isinstance(cb.message, Message):
            await cb.answer(t("common.stale"), show_alert=True)
            return
        programme = await for_change(repos, me, t, cb)
        if programme is None:
            return
        await _curator_link(cb, cb.message, repos, t, bot, me, settings, clock, programme.id, several=True)

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
            # Whoever joined through the link keeps their role: the curator sees who, and can act.
            joined = await repos.participants.joined_through(callback_data.invitation_id)
            if not joined:
                await cb.message.answer(t("onboarding.invite.nobody_joined"))
            else:
                lines = [t("onboarding.invite.joined_header", count=len(joined))]
                rows = []
                for person, role in joined[:30]:
                    name = person.full_name or t("onboarding.invite.erased", id=person.id)
                    lines.append(f"• {name} — {t(f'roles.{role.value}')}")
                    if person.full_name:
                        rows.append(
                            [
                                InlineKeyboardButton(
                                    text=t("onboarding.roles.button_of", name=person.full_name),
                                    callback_data=RolesCb(a="v", p=person.id).pack(),
                                )
                            ]
                        )
                await cb.message.answer(
                    "\n".join(lines), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
                )
        await cb.answer()

    @r.message(Command("roles"), flags=CURATOR)
    async def roles(message: Message, command: CommandObject, repos: Repos, t: Translator) -> None:
        arg = (command.args or "").strip().lstrip("#№")
        person = await repos.participants.get(int(arg)) if arg.isdigit() and len(arg) < 10 else None
        if person is None or not person.full_name:
            await message.answer(t("onboarding.roles.usage"))
            return
        text, markup = await roles_view(repos, t, person)
        await message.answer(text, reply_markup=markup)

    @r.callback_query(RolesCb.filter(), flags=CURATOR)
    async def roles_button(
        cb: CallbackQuery,
        callback_data: RolesCb,
        repos: Repos,
        t: Translator,
        bot: Bot,
        me: ParticipantDTO,
        settings: Settings,
        clock: Clock,
    ) -> None:
        person = await repos.participants.get(callback_data.p)
        if person is None or not person.full_name or not isinstance(cb.message, Message):
            await cb.answer(t("common.stale"), show_alert=True)
            return
        if callback_data.a == "rm":
            holding = await repos.participants.holding(callback_data.h)
            if holding is None or holding.participant_id != person.id or holding.role not in REMOVABLE:
                await cb.answer(t("common.stale"), show_alert=True)
                return
            now = clock()
            problem = await svc.remove_role(
                repos, holding, actor_id=me.id, now=now, pinned_curators=settings.curator_ids
            )
            if problem:
                await cb.answer(t(f"onboarding.roles.refused.{problem}"), show_alert=True)
                return
            role = t(f"roles.{holding.role.value}")
            person = await repos.participants.get(person.id)
            assert person is not None
            if person.telegram_id and person.id != me.id:
                pt = Translator(person.language)
                await repos.outbox.enqueue(
                    [
                        svc.notice(
                            person.telegram_id,
                            person.id,
                            pt("onboarding.roles.removed_notice", role=pt(f"roles.{holding.role.value}")),
                            "roles",
                            dedup_key=f"role-removed:{holding.id}",
                        )
                    ],
                    now,
                )
            await refresh_menu(bot, repos, person, now)
            await cb.message.answer(t("onboarding.roles.removed", role=role, name=person.full_name or "—"))
        text, markup = await roles_view(repos, t, person)
        await cb.message.answer(text, reply_markup=markup)
        await cb.answer()

    @r.message(Command("parent"), flags=MINOR_ROLES)
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
