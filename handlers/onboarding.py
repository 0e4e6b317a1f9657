"""/start, consent and the profile conversation."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks.people import AdultCb, ConsentCb
from bot.clock import Clock
from bot.config import Settings
from bot.domain.entities import ParticipantDTO, Role, Status
from bot.i18n import Translator, pick_language
from bot.services import onboarding as svc
from bot.services.questionnaires import Engine
from handlers import keyboards as kb
from handlers.menu import refresh_menu
from handlers.questionnaire import start_intake
from handlers.states import Onboarding
from storage.uow import Repos


async def invite_link(bot: Bot, token: str) -> str:
    me = await bot.me()
    return f"https://t.me/{me.username}?start={token}"


async def ask(step: svc.Step, message: Message, state: FSMContext, t: Translator) -> None:
    states = {
        "name": (Onboarding.name, None),
        "group": (Onboarding.group, None),
        "adult": (Onboarding.adult, kb.adult(t)),
        "position": (Onboarding.position, None),
    }
    st, markup = states[step.name]
    await state.set_state(st)
    # The wording depends on the person's programme (a position, or an occupation or class): kept for a retry.
    await state.update_data(prompt=step.prompt)
    await message.answer(t(step.prompt or ""), reply_markup=markup)


async def continue_onboarding(
    message: Message,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    bot: Bot,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
    engine: Engine,
) -> None:
    """Ask the next missing profile item, or finish. Derived from the database, so it survives restarts."""
    has_consent = await repos.consents.active_for_subject(me.id, "self") is not None
    step = svc.next_step(me, has_consent, await svc.questions_for(repos, me))
    if step.name == "consent":
        await state.set_state(Onboarding.consent)
        await message.answer(t("consent.text_self", version=svc.CONSENT_VERSION), reply_markup=kb.consent(t))
        return
    if step.name != "done":
        await ask(step, message, state, t)
        return
    await state.clear()
    now = clock()
    was = me.status
    me, unlocked = await svc.finish_profile(repos, me, now)
    if me.status == Status.AWAITING_PARENT.value:
        token, _ = await svc.create_invitation(
            repos,
            role=Role.PARENT,
            now=now,
            ttl_days=settings.invitation_ttl_days,
            created_by=me.id,
            child_id=me.id,
            max_uses=2,
        )
        await message.answer(t("profile.awaiting_parent", link=await invite_link(bot, token)))
    elif was != me.status:
        roles = sorted(r.value for r in me.roles)
        await message.answer(t("profile.done", roles=", ".join(t(f"roles.{r}") for r in roles)))
        for role in roles:
            await message.answer(t(f"profile.next.{role}"))
    for child_id in unlocked:
        child = await repos.participants.get(child_id)
        if child and child.telegram_id:
            ct = Translator(child.language)
            await repos.outbox.enqueue(
                [
                    svc.notice(
                        child.telegram_id,
                        child.id,
                        ct("profile.parent_consented"),
                        "consent",
                        dedup_key=f"parent-consented:{child.id}",
                    )
                ],
                now,
            )
    if me.status == Status.ACTIVE.value:
        if not await start_intake(message, repos, engine, me, t, state, clock) and was == me.status:
            await message.answer(t("start.all_set"))
    await refresh_menu(bot, repos, me, now)


def router() -> Router:
    r = Router(name=__name__)

    @r.message(CommandStart())
    async def start(
        message: Message,
        command: CommandObject,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        bot: Bot,
        me: ParticipantDTO | None,
        settings: Settings,
        clock: Clock,
        engine: Engine,
        bootstrap_curator: bool,
    ) -> None:
        payload = (command.args or "").strip()
        now = clock()
        if payload:
            inv, problem = await svc.check_token(repos, payload, now)
            if problem:
                await message.answer(t(f"start.bad_token.{problem}"))
                return
            assert inv is not None
            refused = await svc.parent_link_problem(repos, inv, me)
            if refused:
                await message.answer(t(f"start.bad_token.{refused}"))
                return
            if (
                me is not None
                and me.status != Status.WITHDRAWN.value
                and inv.child_id is None
                and await svc.already_holds(repos, me, inv)
            ):
                await message.answer(t("start.already_joined"))
                await continue_onboarding(message, state, repos, t, bot, me, settings, clock, engine)
                return
            await state.set_state(Onboarding.consent)
            await state.update_data(invitation_id=inv.id, lang=t.lang, curator=bootstrap_curator)
            if inv.role == Role.PARENT:
                # The parent consents for a named child in a named programme, knowing all the child is told.
                about = await svc.parent_invitation(repos, inv)
                if about is None:
                    await state.clear()
                    await message.answer(t("start.bad_token.unknown"))
                    return
                names = {"child": about.child_name, "programme": "», «".join(about.programme_titles)}
                await message.answer(t("onboarding.parent_welcome", **names))
                await message.answer(
                    t("consent.text_parent", version=svc.CONSENT_VERSION, **names), reply_markup=kb.consent(t)
                )
                return
            programme = await repos.programmes.get(inv.programme_id) if inv.programme_id else None
            role = t(f"roles.{inv.role.value}")
            await message.answer(
                t("start.welcome_programme", programme=programme.title, role=role)
                if programme
                else t("start.welcome", role=role)
            )
            await message.answer(
                t("consent.text_self", version=svc.CONSENT_VERSION), reply_markup=kb.consent(t)
            )
            return
        if me is not None and me.status != Status.WITHDRAWN.value:
            if me.full_name is None and await repos.consents.active_for_subject(me.id, "self") is None:
                # Added by an operator before they ever wrote: speak their Telegram language.
                lang = pick_language(message.from_user.language_code if message.from_user else None, t.lang)
                await repos.participants.update(me.id, now, language=lang)
                me = await repos.participants.get(me.id)
                assert me is not None
                t = Translator(lang)
            if bootstrap_curator and not me.is_curator:
                await repos.participants.add_role(me.id, Role.CURATOR, now)
                me = await repos.participants.get(me.id)
                assert me is not None
            await message.answer(t("start.welcome_back", name=me.full_name or ""))
            await continue_onboarding(message, state, repos, t, bot, me, settings, clock, engine)
            return
        if bootstrap_curator:
            await state.set_state(Onboarding.consent)
            await state.update_data(invitation_id=None, lang=t.lang, curator=True)
            await message.answer(t("start.welcome", role=t("roles.curator")))
            await message.answer(
                t("consent.text_self", version=svc.CONSENT_VERSION), reply_markup=kb.consent(t)
            )
            return
        key = "start.withdrawn" if me is not None else "start.no_token"
        await message.answer(t(key))

    @r.callback_query(ConsentCb.filter())
    async def consent(
        cb: CallbackQuery,
        callback_data: ConsentCb,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        bot: Bot,
        me: ParticipantDTO | None,
        settings: Settings,
        clock: Clock,
        engine: Engine,
    ) -> None:
        if await state.get_state() != Onboarding.consent.state or not isinstance(cb.message, Message):
            await cb.answer(t("common.stale"), show_alert=True)
            return
        data = await state.get_data()
        now = clock()
        await cb.message.edit_reply_markup(reply_markup=None)
        if callback_data.action != "accept":
            kind = "self"
            if data.get("invitation_id"):
                inv = await repos.invitations.get(int(data["invitation_id"]))
                kind = "parent" if inv and inv.role == Role.PARENT else "self"
                if inv is not None and kind == "parent" and not inv.problem(now):
                    if await svc.parent_link_problem(repos, inv, me) is None:
                        await svc.record_parent_decline(repos, inv, now)
            if me is None:
                await svc.record_refusal(
                    repos,
                    telegram_id=cb.from_user.id,
                    kind=kind,
                    now=now,
                    secret=settings.bot_token.get_secret_value(),
                )
            await state.clear()
            await cb.message.answer(t("consent.declined"))
            await cb.answer()
            return
        joined, problem = await svc.accept_consent(
            repos,
            telegram_id=cb.from_user.id,
            username=cb.from_user.username,
            language=data.get("lang", t.lang),
            invitation_id=data.get("invitation_id"),
            curator_bootstrap=bool(data.get("curator")),
            now=now,
        )
        if problem or joined is None:
            await state.clear()
            await cb.message.answer(t(f"start.bad_token.{problem}"))
            await cb.answer()
            return
        await state.set_data({})
        await cb.message.answer(t("consent.accepted"))
        await cb.answer()
        await continue_onboarding(cb.message, state, repos, t, bot, joined, settings, clock, engine)

    # The profile's text answers: which field each state fills, how it is checked, what to say if it is wrong.
    text_steps = {
        Onboarding.name.state: ("full_name", svc.validate_name, "profile.bad_name", "profile.ask_name"),
        Onboarding.group.state: (
            "group_name",
            lambda v: svc.validate_short(v, 30),
            "profile.bad_group",
            "profile.ask_group",
        ),
        Onboarding.position.state: (
            "position",
            lambda v: svc.validate_short(v, 150),
            "profile.bad_position",
            "profile.ask_position",
        ),
    }

    @r.message(StateFilter(Onboarding.name, Onboarding.group, Onboarding.position), F.text)
    async def text_step(
        message: Message,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        bot: Bot,
        me: ParticipantDTO | None,
        settings: Settings,
        clock: Clock,
        engine: Engine,
    ) -> None:
        field, validate, error_key, prompt_key = text_steps[await state.get_state() or ""]
        if me is None:
            await state.clear()
            await message.answer(t("start.no_token"))
            return
        value = validate(message.text or "")
        if value is None:
            await message.answer(t(error_key))
            await message.answer(t((await state.get_data()).get("prompt") or prompt_key))
            return
        await repos.participants.update(me.id, clock(), **{field: value})
        fresh = await repos.participants.get(me.id)
        assert fresh is not None
        await continue_onboarding(message, state, repos, t, bot, fresh, settings, clock, engine)

    @r.message(Onboarding.adult)
    async def adult_text(message: Message, t: Translator) -> None:
        await message.answer(t("profile.use_buttons"))
        await message.answer(t("profile.ask_adult"), reply_markup=kb.adult(t))

    @r.message(Onboarding.consent)
    async def consent_text(message: Message, t: Translator) -> None:
        await message.answer(t("consent.use_buttons"), reply_markup=kb.consent(t))

    @r.message(Onboarding.name)
    @r.message(Onboarding.group)
    @r.message(Onboarding.position)
    async def not_text(message: Message, t: Translator) -> None:
        await message.answer(t("profile.text_expected"))

    @r.callback_query(AdultCb.filter())
    async def adult(
        cb: CallbackQuery,
        callback_data: AdultCb,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        bot: Bot,
        me: ParticipantDTO | None,
        settings: Settings,
        clock: Clock,
        engine: Engine,
    ) -> None:
        if (
            await state.get_state() != Onboarding.adult.state
            or me is None
            or not isinstance(cb.message, Message)
        ):
            await cb.answer(t("common.stale"), show_alert=True)
            return
        await cb.message.edit_reply_markup(reply_markup=None)
        await repos.participants.update(me.id, clock(), is_minor=not callback_data.adult)
        await cb.answer()
        fresh = await repos.participants.get(me.id)
        assert fresh is not None
        await continue_onboarding(cb.message, state, repos, t, bot, fresh, settings, clock, engine)

    return r
