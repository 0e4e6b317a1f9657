"""Invitation links and roles: curators invite mentees, mentors and curators, revoke links and take roles
away; a minor mentee or mentor invites their parent. A mentee's or mentor's link comes as its QR code with
the link printed under it (to show on a screen or print for a parents' meeting); a new curator can instead
be chosen in Telegram's list of the curator's chats, and gets the role on that very account."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message, ReplyKeyboardRemove

from bot.callbacks.people import InviteManyCb, InviteRoleCb, RevokeCb, RolesAction, RolesCb
from bot.callbacks.picks import Pick, PickRequest, Shared, picker
from bot.clock import Clock
from bot.config import Settings
from bot.domain.entities import ParticipantDTO, Role, Status
from bot.domain.grammar import format_date, format_when
from bot.filenames import file_name
from bot.i18n import Translator
from bot.keyboards import InlineKeyboardBuilder
from bot.middlewares.access import curators_only, only_for
from bot.services import onboarding as svc
from bot.services import picks, qr
from bot.services.register import onboarding_register, ty_key
from bot.text import CAPTION_LIMIT, units
from handlers import keyboards as kb
from handlers.menu import refresh_menu
from handlers.onboarding import invite_link
from handlers.programmes import for_change
from storage.uow import Repos

JOINED_SHOWN = 30
INVITES_SHOWN = 20
# Links many people open come with a QR code; a curator's link is for one person, sent to them personally.
WITH_QR = (Role.MENTEE, Role.MENTOR)
log = logging.getLogger("nastavnik.invitations")


async def roles_view(repos: Repos, t: Translator, person: ParticipantDTO) -> tuple[str, InlineKeyboardMarkup]:
    """A person's roles, one line per role and programme, with a remove button for each removable one."""
    titles = {p.id: p.title for p in await repos.programmes.all()}
    lines = [t("onboarding.roles.header", name=person.full_name or "—", id=person.id)]
    buttons = InlineKeyboardBuilder()
    for holding in await repos.participants.holdings(person.id):
        role = t(f"roles.{holding.role.value}")
        where = titles.get(holding.programme_id or 0)
        label = t("onboarding.roles.in_programme", role=role, programme=where) if where else role
        lines.append(f"• {label}")
        if holding.role in svc.REMOVABLE:
            remove = RolesCb(a=RolesAction.REMOVE, p=person.id, h=holding.id)
            buttons.button(text=t("onboarding.roles.remove", role=label), callback_data=remove)
    if len(lines) == 1:
        lines.append(t("onboarding.roles.none"))
    return "\n".join(lines), buttons.adjust(1).as_markup()


def _day(t: Translator, moment: datetime, settings: Settings, now: datetime, with_time: bool = False) -> str:
    """ "12 декабря" or, with the time, "12 декабря, пятница, 16:30" in the programme's zone."""
    local, today = moment.astimezone(settings.tz), now.astimezone(settings.tz).date()
    return format_when(t, local, today=today) if with_time else format_date(t, local.date(), today=today)


async def invite(message: Message, repos: Repos, t: Translator, me: ParticipantDTO) -> None:
    if await for_change(repos, me, t, message) is None:
        return
    await message.answer(t("invite.choose_role"), reply_markup=kb.invite_roles(t))


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
    if callback_data.role not in svc.INVITABLE or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    await _send_link(
        cb, cb.message, repos, t, bot, me, settings, clock, Role(callback_data.role), several=False
    )


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
    if callback_data.role != Role.CURATOR or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    await _send_link(cb, cb.message, repos, t, bot, me, settings, clock, Role.CURATOR, several=True)


async def _send_link(
    cb: CallbackQuery,
    message: Message,
    repos: Repos,
    t: Translator,
    bot: Bot,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
    role: Role,
    *,
    several: bool,
) -> None:
    # A link joins the curator's current programme; an archived one takes nobody new.
    programme = await for_change(repos, me, t, cb)
    if programme is None:
        return
    ttl, now = settings.invitation_ttl_days, clock()
    token, inv = await svc.invite(repos, me.id, programme.id, role, now, ttl_days=ttl, several=several)
    link = await invite_link(bot, token)
    if role == Role.CURATOR:
        key = "onboarding.invite.curator_created_many" if several else "onboarding.invite.curator_created"
        text = t(key, link=link, expires=_day(t, inv.expires_at, settings, now, with_time=True))
        button = picker(t("conventions.pick.curator_button"), PickRequest(Pick.CURATOR))
        await message.answer(t("conventions.pick.curator_hint"), reply_markup=button)
    else:
        role_name = t(f"roles.{inv.role.value}")
        expires = _day(t, inv.expires_at, settings, now)
        text = t("invite.created", programme=programme.title, role=role_name, link=link, expires=expires)
    if inv.role in WITH_QR:
        await _answer_with_qr(message, t, text, link, programme.title, inv.role, inv.id)
    else:
        await message.answer(text, reply_markup=kb.revoke(t, inv.id))
    await cb.answer()


async def _answer_with_qr(
    message: Message, t: Translator, text: str, link: str, programme: str, role: Role, invitation_id: int
) -> None:
    """The invitation as a photo of its QR code (the link printed under it), the text as its caption and the
    revoke button under it; a text too long for a caption goes first, on its own."""
    lines = [
        t("conventions.qr.scan", role=t(f"roles.{role.value}")),
        t("conventions.qr.programme", programme=programme),
    ]
    image = await asyncio.to_thread(qr.png, link, lines)
    photo = BufferedInputFile(image, filename=file_name(t, "invitation_qr", "png"))
    caption = f"{text}\n\n{t('conventions.qr.hint')}"
    if units(caption) > CAPTION_LIMIT:
        await message.answer(text, reply_markup=kb.revoke(t, invitation_id))
        await message.answer_photo(photo, caption=f"{t('conventions.qr.hint')}\n{link}")
        return
    await message.answer_photo(photo, caption=caption, reply_markup=kb.revoke(t, invitation_id))


async def answer_granted(
    message: Message,
    repos: Repos,
    t: Translator,
    bot: Bot,
    granted: picks.Granted | picks.Problem,
    role: Role,
    now: datetime,
    settings: Settings,
) -> None:
    """What the curator or coordinator who chose someone in Telegram reads: the role given (the person is
    told and their menu changes), waiting for their /start, already held, or why not."""
    role_name = t(f"roles.{role.value}")
    if isinstance(granted, picks.Problem):
        text = t(granted.value)
    elif not granted.added:
        text = t("conventions.pick.already", role=role_name)
    elif granted.joined:
        try:
            await refresh_menu(bot, repos, granted.person, now, settings)
        except TelegramAPIError:
            log.info("menu not refreshed after a role was given participant=%s", granted.person.id)
        text = t("conventions.pick.added_joined", role=role_name, name=granted.person.full_name or "—")
    else:
        username = (await bot.me()).username or ""
        text = t("conventions.pick.added_waiting", role=role_name, link=f"https://t.me/{username}")
    await message.answer(text, reply_markup=ReplyKeyboardRemove())


async def curator_chosen(
    message: Message,
    shared_id: int,
    repos: Repos,
    t: Translator,
    bot: Bot,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
) -> None:
    """A new curator chosen in Telegram: a curator of the curator's current programme's institution."""
    programme = await for_change(repos, me, t, message)
    if programme is None:
        return
    now = clock()
    granted = await picks.grant(
        repos,
        me.id,
        shared_id,
        Role.CURATOR,
        now,
        language=settings.default_language,
        programme_id=programme.id,
    )
    await answer_granted(message, repos, t, bot, granted, Role.CURATOR, now, settings)


async def invites(message: Message, repos: Repos, t: Translator, settings: Settings, clock: Clock) -> None:
    now = clock()
    active = await repos.invitations.list_active(now)
    if not active:
        await message.answer(t("invite.none_active"))
        return
    await message.answer(t("invite.list_header", count=len(active)))
    titles = {p.id: p.title for p in await repos.programmes.all()}
    for inv in active[:INVITES_SHOWN]:
        text = t(
            "invite.item",
            id=inv.id,
            role=t(f"roles.{inv.role.value}"),
            programme=titles.get(inv.programme_id or 0, "—"),
            uses=inv.uses,
            max_uses=inv.max_uses if inv.max_uses is not None else "∞",
            expires=_day(t, inv.expires_at, settings, now),
        )
        await message.answer(text, reply_markup=kb.revoke(t, inv.id))


async def revoke(
    cb: CallbackQuery, callback_data: RevokeCb, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock
) -> None:
    revoked = await svc.revoke_invitation(repos, callback_data.invitation_id, actor_id=me.id, now=clock())
    if isinstance(cb.message, Message):
        await cb.message.edit_reply_markup(reply_markup=None)
        await cb.message.answer(t("invite.revoked" if revoked.done else "invite.already_revoked"))
        # Whoever joined through the link keeps their role: the curator sees who, and can act.
        if not revoked.joined:
            await cb.message.answer(t("onboarding.invite.nobody_joined"))
        else:
            lines = [t("onboarding.invite.joined_header", count=len(revoked.joined))]
            buttons = InlineKeyboardBuilder()
            for person, role in revoked.joined[:JOINED_SHOWN]:
                name = person.full_name or t("onboarding.invite.erased", id=person.id)
                lines.append(f"• {name} — {t(f'roles.{role.value}')}")
                if person.full_name:
                    view = RolesCb(a=RolesAction.VIEW, p=person.id)
                    buttons.button(
                        text=t("onboarding.roles.button_of", name=person.full_name), callback_data=view
                    )
            await cb.message.answer("\n".join(lines), reply_markup=buttons.adjust(1).as_markup())
    await cb.answer()


async def roles(message: Message, command: CommandObject, repos: Repos, t: Translator) -> None:
    arg = (command.args or "").strip().lstrip("#№")
    person = await repos.participants.get(int(arg)) if arg.isdigit() and len(arg) < 10 else None
    if person is None or not person.full_name:
        await message.answer(t("onboarding.roles.usage"))
        return
    text, markup = await roles_view(repos, t, person)
    await message.answer(text, reply_markup=markup)


async def roles_view_button(cb: CallbackQuery, callback_data: RolesCb, repos: Repos, t: Translator) -> None:
    person = await repos.participants.get(callback_data.p)
    if person is None or not person.full_name or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    text, markup = await roles_view(repos, t, person)
    await cb.message.answer(text, reply_markup=markup)
    await cb.answer()


async def roles_remove(
    cb: CallbackQuery,
    callback_data: RolesCb,
    repos: Repos,
    t: Translator,
    bot: Bot,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
) -> None:
    if not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    now = clock()
    removed = await svc.remove_role_of(
        repos, callback_data.p, callback_data.h, actor_id=me.id, now=now, pinned_curators=settings.curator_ids
    )
    if removed.person is None or removed.role is None:
        key = f"onboarding.roles.refused.{removed.problem}" if removed.problem else "common.stale"
        await cb.answer(t(key), show_alert=True)
        return
    await refresh_menu(bot, repos, removed.person, now, settings)
    role, name = t(f"roles.{removed.role.value}"), removed.person.full_name or "—"
    await cb.message.answer(t("onboarding.roles.removed", role=role, name=name))
    text, markup = await roles_view(repos, t, removed.person)
    await cb.message.answer(text, reply_markup=markup)
    await cb.answer()


async def parent(
    message: Message,
    repos: Repos,
    t: Translator,
    bot: Bot,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
) -> None:
    token = await svc.parent_link(repos, me.id, clock(), ttl_days=settings.invitation_ttl_days)
    key = "invite.parent_link_waiting" if me.status == Status.AWAITING_PARENT else "invite.parent_link"
    # a minor mentee is a pupil and is told «ты» (bot/domain/register.py)
    key = ty_key(key, onboarding_register(me))
    await message.answer(t(key, link=await invite_link(bot, token)))


def routers() -> list[Router]:
    curator = curators_only(__name__ + ".curator")
    curator.message.register(invite, Command("invite"))
    curator.callback_query.register(invite_role, InviteRoleCb.filter())
    curator.callback_query.register(invite_many, InviteManyCb.filter())
    curator.message.register(invites, Command("invites"))
    curator.callback_query.register(revoke, RevokeCb.filter())
    curator.message.register(curator_chosen, Shared(Pick.CURATOR))
    curator.message.register(roles, Command("roles"))
    curator.callback_query.register(roles_view_button, RolesCb.filter(F.a == RolesAction.VIEW))
    curator.callback_query.register(roles_remove, RolesCb.filter(F.a == RolesAction.REMOVE))
    # A minor mentee or mentor invites their parent.
    minors = only_for(Router(name=__name__ + ".minors"), Role.MENTEE, Role.MENTOR)
    minors.message.register(parent, Command("parent"))
    return [curator, minors]
