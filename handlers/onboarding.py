"""/start, consent and the profile conversation."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks.people import AdultCb, ConsentAction, ConsentCb
from bot.clock import Clock
from bot.config import Settings
from bot.domain.entities import ParticipantDTO, Status
from bot.i18n import Translator, pick_language
from bot.services import onboarding as svc
from bot.services.questionnaires import Engine
from bot.services.register import onboarding_register
from handlers import keyboards as kb
from handlers.menu import refresh_menu
from handlers.questionnaire import say, start_intake
from handlers.states import Onboarding
from storage.uow import Repos

STEP_STATES = {
    "name": Onboarding.name,
    "group": Onboarding.group,
    "adult": Onboarding.adult,
    "position": Onboarding.position,
}
# The profile's text answers: which field each state fills, and the question asked again after a wrong one.
TEXT_STEPS = {
    Onboarding.name.state: (svc.ProfileField.NAME, "profile.ask_name"),
    Onboarding.group.state: (svc.ProfileField.GROUP, "profile.ask_group"),
    Onboarding.position.state: (svc.ProfileField.POSITION, "profile.ask_position"),
}


async def invite_link(bot: Bot, token: str) -> str:
    me = await bot.me()
    return f"https://t.me/{me.username}?start={token}"


async def ask(step: svc.Step, message: Message, state: FSMContext, t: Translator) -> None:
    await state.set_state(STEP_STATES[step.name])
    # The wording depends on the person's programme (a position, or an occupation or class): kept for a retry.
    await state.update_data(prompt=step.prompt)
    await message.answer(t(step.prompt or ""), reply_markup=kb.adult(t) if step.name == "adult" else None)


async def ask_consent(
    message: Message, state: FSMContext, t: Translator, key: str = "consent.text_self"
) -> None:
    await state.set_state(Onboarding.consent)
    text = t(key, version=svc.CONSENT_VERSION) + "\n\n" + t("conventions.consent_more")
    await message.answer(text, reply_markup=kb.consent(t))


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
    now = clock()
    done = await svc.advance(repos, me, now, ttl_days=settings.invitation_ttl_days)
    if done.step.name == "consent":
        await ask_consent(message, state, t)
        return
    if done.step.name != "done":
        await ask(done.step, message, state, t)
        return
    await state.clear()
    # From here the person is known: a mentee under 18 is a pupil, told «ты» like their questionnaire.
    register = onboarding_register(done.me)
    if done.parent_token is not None:
        link = await invite_link(bot, done.parent_token)
        await message.answer(say(t, register, "profile.awaiting_parent", link=link))
    elif done.me.status != me.status:
        roles = sorted(r.value for r in done.me.roles)
        held = ", ".join(t(f"roles.{r}") for r in roles)
        await message.answer(say(t, register, "profile.done", roles=held))
        for role in roles:
            await message.answer(t(f"profile.next.{role}"))
    if done.me.status == Status.ACTIVE:
        if (
            not await start_intake(message, repos, engine, done.me, t, state, clock)
            and me.status == done.me.status
        ):
            await message.answer(say(t, register, "start.all_set"))
    await refresh_menu(bot, repos, done.me, now, settings)


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
    if payload:
        opened = await svc.open_link(repos, payload, me, clock())
        if opened.problem is not None:
            await message.answer(t(f"start.bad_token.{opened.problem}"))
        elif opened.already_joined and me is not None:
            await message.answer(t("start.already_joined"))
            await continue_onboarding(message, state, repos, t, bot, me, settings, clock, engine)
        else:
            await state.update_data(
                invitation_id=opened.invitation_id, lang=t.lang, curator=bootstrap_curator
            )
            await _welcome(message, state, t, opened)
        return
    if me is not None and me.status != Status.WITHDRAWN:
        telegram_language = message.from_user.language_code if message.from_user else None
        me = await svc.welcome_back(
            repos, me, pick_language(telegram_language, t.lang), curator=bootstrap_curator, now=clock()
        )
        t = Translator(me.language)
        await message.answer(t("start.welcome_back", name=me.full_name or ""))
        await continue_onboarding(message, state, repos, t, bot, me, settings, clock, engine)
    elif bootstrap_curator:
        await state.update_data(invitation_id=None, lang=t.lang, curator=True)
        await message.answer(t("start.welcome", role=t("roles.curator")))
        await ask_consent(message, state, t)
    else:
        await message.answer(t("start.withdrawn" if me is not None else "start.no_token"))


async def _welcome(message: Message, state: FSMContext, t: Translator, opened: svc.LinkOpened) -> None:
    """What the person is invited to, then the consent to give."""
    if opened.child_name is not None:
        # The parent consents for a named child in a named programme, knowing all the child is told.
        names = {"child": opened.child_name, "programme": "», «".join(opened.programme_titles)}
        await state.set_state(Onboarding.consent)
        await message.answer(t("onboarding.parent_welcome", **names))
        consent = t("consent.text_parent", version=svc.CONSENT_VERSION, **names)
        await message.answer(consent + "\n\n" + t("conventions.consent_more"), reply_markup=kb.consent(t))
        return
    role = t(f"roles.{opened.role}")
    title = opened.programme_titles[0] if opened.programme_titles else None
    await message.answer(
        t("start.welcome_programme", programme=title, role=role) if title else t("start.welcome", role=role)
    )
    await ask_consent(message, state, t)


async def consent_declined(
    cb: CallbackQuery,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO | None,
    settings: Settings,
    clock: Clock,
) -> None:
    if await state.get_state() != Onboarding.consent.state or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    data = await state.get_data()
    await cb.message.edit_reply_markup(reply_markup=None)
    secret = settings.bot_token.get_secret_value()
    await svc.decline_consent(repos, cb.from_user.id, me, data.get("invitation_id"), clock(), secret=secret)
    await state.clear()
    await cb.message.answer(t("consent.declined"))
    await cb.answer()


async def consent_accepted(
    cb: CallbackQuery,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    bot: Bot,
    settings: Settings,
    clock: Clock,
    engine: Engine,
) -> None:
    if await state.get_state() != Onboarding.consent.state or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    data = await state.get_data()
    await cb.message.edit_reply_markup(reply_markup=None)
    joined, problem = await svc.accept_consent(
        repos,
        telegram_id=cb.from_user.id,
        username=cb.from_user.username,
        language=data.get("lang", t.lang),
        invitation_id=data.get("invitation_id"),
        curator_bootstrap=bool(data.get("curator")),
        now=clock(),
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
    field, prompt_key = TEXT_STEPS[await state.get_state() or ""]
    if me is None:
        await state.clear()
        await message.answer(t("start.no_token"))
        return
    fresh = await svc.save_profile_answer(repos, me.id, field, message.text or "", clock())
    if fresh is None:
        await message.answer(t(f"profile.bad_{field.value}"))
        await message.answer(t((await state.get_data()).get("prompt") or prompt_key))
        return
    await continue_onboarding(message, state, repos, t, bot, fresh, settings, clock, engine)


async def adult_text(message: Message, t: Translator) -> None:
    await message.answer(t("profile.use_buttons"))
    await message.answer(t("profile.ask_adult"), reply_markup=kb.adult(t))


async def consent_text(message: Message, t: Translator) -> None:
    await message.answer(t("consent.use_buttons"), reply_markup=kb.consent(t))


async def not_text(message: Message, t: Translator) -> None:
    await message.answer(t("profile.text_expected"))


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
    if await state.get_state() != Onboarding.adult.state or me is None or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    await cb.message.edit_reply_markup(reply_markup=None)
    fresh = await svc.set_adult(repos, me.id, callback_data.adult, clock())
    await cb.answer()
    await continue_onboarding(cb.message, state, repos, t, bot, fresh, settings, clock, engine)


def routers() -> list[Router]:
    r = Router(name=__name__)
    r.message.register(start, CommandStart())
    r.callback_query.register(consent_accepted, ConsentCb.filter(F.action == ConsentAction.ACCEPT))
    r.callback_query.register(consent_declined, ConsentCb.filter(F.action == ConsentAction.DECLINE))
    profile_texts = StateFilter(Onboarding.name, Onboarding.group, Onboarding.position)
    r.message.register(text_step, profile_texts, F.text)
    r.message.register(adult_text, Onboarding.adult)
    r.message.register(consent_text, Onboarding.consent)
    r.message.register(not_text, profile_texts)
    r.callback_query.register(adult, AdultCb.filter())
    return [r]
