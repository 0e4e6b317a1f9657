"""Mentor base and methodological support: /mentors (candidates → interview → approve/decline), /rest,
/training, /materials, /material_add, /registry. Use cases are in bot/services/mentor_base.py."""

from __future__ import annotations

from datetime import date, datetime

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.chat_action import ChatActionSender

from bot.callbacks.mentor_base import AddMatCb, AddMatStep, MatCb, MentorAction, MentorCb, TrainCb
from bot.clock import Clock
from bot.config import Settings
from bot.domain import forms as f
from bot.domain.entities import ParticipantDTO, Role
from bot.domain.grammar import gender_of
from bot.domain.stages import STAGE_ORDER
from bot.domain.statuses import MentorStatus
from bot.i18n import Translator
from bot.keyboards import InlineKeyboardBuilder
from bot.middlewares.access import curators_only, only_for
from bot.services import mentor_base as svc
from bot.services.questionnaires import Engine
from storage.uow import Repos

ANY_STAGE = "-"


class Interview(StatesGroup):
    date = State()
    note = State()


class Decline(StatesGroup):
    reason = State()


class Training(StatesGroup):
    date = State()
    topic = State()


class AddMaterial(StatesGroup):
    content = State()


def _date(text: str) -> date | None:
    for fmt in ("%d.%m.%Y", "%d.%m.%y"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _words(message: Message) -> str:
    return " ".join((message.text or "").split())


# ------------------------------------------------------------------------------------------ the mentor base
def _button(text: str, a: MentorAction, mentor_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=MentorCb(a=a, p=mentor_id).pack())


def _roster_view(base: svc.Roster, t: Translator) -> tuple[str, InlineKeyboardMarkup]:
    lines = [t("mentor_base.header", count=len(base.people))]
    lines += [f"• {t(f'mentor_base.status.{s}')}: {n}" for s, n in sorted(base.counts.items())]
    kb = InlineKeyboardBuilder()
    for p in base.people[: svc.ROSTER_SHOWN]:
        status = base.statuses[p.id]
        lines.append(f"{p.full_name} — {t(f'mentor_base.status.{status}')}")
        if status not in svc.UNDECIDED:
            continue
        kb.row(_button(t("mentor_base.btn.view", name=p.full_name), MentorAction.VIEW, p.id))
        steps = [(MentorAction.APPROVE, "approve"), (MentorAction.DECLINE, "decline")]
        if status == MentorStatus.CANDIDATE:
            steps.insert(0, (MentorAction.INTERVIEW, "interview"))
        kb.row(*(_button(t(f"mentor_base.btn.{label}"), a, p.id) for a, label in steps))
    return "\n".join(lines), kb.as_markup()


async def mentors(message: Message, repos: Repos, t: Translator) -> None:
    text, markup = _roster_view(await svc.roster(repos), t)
    await message.answer(text, reply_markup=markup)


async def view_candidate(
    cb: CallbackQuery, callback_data: MentorCb, repos: Repos, t: Translator, engine: Engine
) -> None:
    person = await svc.candidate(repos, callback_data.p)
    if person is None or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    last = await repos.forms.latest_submitted(person.id, "mentor")
    form = engine.forms.get("mentor")
    if last is None or form is None:
        await cb.message.answer(
            t.g("mentor_base.no_questionnaire", gender_of(person.full_name), name=person.full_name)
        )
    else:
        lines = [t("questionnaire.answers_of", name=person.full_name)]
        lines += [f"• {q} — {ans}" for q, ans in f.summarize(form, last.answers, t.lang, t, for_others=True)]
        await cb.message.answer("\n".join(lines))
    await cb.answer()


async def ask_about_candidate(
    cb: CallbackQuery, callback_data: MentorCb, state: FSMContext, repos: Repos, t: Translator
) -> None:
    """Interview (its date, then a note) or decline (the reason): the next message answers."""
    person = await svc.candidate(repos, callback_data.p)
    if person is None or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    interview = callback_data.a == MentorAction.INTERVIEW
    await state.set_state(Interview.date if interview else Decline.reason)
    await state.set_data({"p": person.id})
    key = "mentor_base.ask_interview_date" if interview else "mentor_base.ask_decline_reason"
    await cb.message.answer(t(key, name=person.full_name))
    await cb.answer()


async def approve(
    cb: CallbackQuery, callback_data: MentorCb, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock
) -> None:
    if not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    outcome = await svc.approve(repos, callback_data.p, me.id, clock())
    if outcome == svc.Decided.GONE:
        await cb.answer(t("common.stale"), show_alert=True)
    elif outcome == svc.Decided.ALREADY:
        await cb.answer(t("mentor_base.already"), show_alert=True)
    else:
        person = await repos.participants.get(callback_data.p)
        name = person.full_name if person else None
        await cb.message.answer(t.g("mentor_base.approved", gender_of(name), name=name or "—"))
        await cb.answer()


async def interview_date(message: Message, state: FSMContext, t: Translator) -> None:
    when = _date(message.text or "")
    if when is None:
        await message.answer(t("mentor_base.bad_date"))
        return
    await state.update_data(date=when.isoformat())
    await state.set_state(Interview.note)
    await message.answer(t("mentor_base.ask_interview_note"))


async def interview_note(
    message: Message, state: FSMContext, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock
) -> None:
    note = _words(message)
    if not 2 <= len(note) <= 500:
        await message.answer(t("mentor_base.bad_note"))
        return
    data = await state.get_data()
    await state.clear()
    on = date.fromisoformat(data["date"])
    ok = await svc.record_interview(repos, int(data["p"]), on, note, me.id, clock())
    await message.answer(t("mentor_base.interview_saved" if ok else "mentor_base.already"))


async def decline_reason(
    message: Message, state: FSMContext, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock
) -> None:
    reason = _words(message)
    if not 5 <= len(reason) <= 300:
        await message.answer(t("mentor_base.bad_reason"))
        return
    mentor_id = int((await state.get_data())["p"])
    await state.clear()
    if await svc.decline(repos, mentor_id, reason, me.id, clock()) != svc.Decided.DONE:
        await message.answer(t("mentor_base.already"))
        return
    person = await repos.participants.get(mentor_id)
    await message.answer(t("mentor_base.declined", name=person.full_name if person else "—"))


async def rest(message: Message, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock) -> None:
    status = await svc.toggle_rest(repos, me.id, clock())
    await message.answer(t(f"mentor_base.rest.{status or 'not_approved'}"))


# ------------------------------------------------------------------------------------------ training
async def training(message: Message, state: FSMContext, t: Translator) -> None:
    await state.set_state(Training.date)
    await message.answer(t("mentor_base.ask_training_date"))


async def training_date(message: Message, state: FSMContext, t: Translator) -> None:
    when = _date(message.text or "")
    if when is None:
        await message.answer(t("mentor_base.bad_date"))
        return
    await state.update_data(date=when.isoformat())
    await state.set_state(Training.topic)
    await message.answer(t("mentor_base.ask_training_topic"))


def _attendance_keyboard(session_id: int, seen: svc.Attendance, t: Translator) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for p in seen.people:
        mark = "✅ " if p.id in seen.present else "▫️ "
        kb.button(text=mark + (p.full_name or ""), callback_data=TrainCb(s=session_id, p=p.id))
    kb.button(text=t("forms.button.done"), callback_data=TrainCb(s=session_id, p=0))
    return kb.adjust(1).as_markup()


async def training_topic(
    message: Message, state: FSMContext, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock
) -> None:
    topic = _words(message)
    if not 3 <= len(topic) <= 300:
        await message.answer(t("mentor_base.bad_topic"))
        return
    data = await state.get_data()
    await state.clear()
    session_id = await svc.add_training(repos, date.fromisoformat(data["date"]), topic, me.id, clock())
    seen = await svc.attendance(repos, session_id)
    assert seen is not None
    await message.answer(
        t("mentor_base.mark_attendance"), reply_markup=_attendance_keyboard(session_id, seen, t)
    )


async def attendance(cb: CallbackQuery, callback_data: TrainCb, repos: Repos, t: Translator) -> None:
    session_id = callback_data.s
    if callback_data.p == 0:
        seen = await svc.attendance(repos, session_id)
    else:
        seen = await svc.toggle_attendance(repos, session_id, callback_data.p)
    if seen is None or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    if callback_data.p == 0:
        await cb.message.edit_text(t("mentor_base.training_saved", count=len(seen.present)))
    else:
        await cb.message.edit_reply_markup(reply_markup=_attendance_keyboard(session_id, seen, t))
    await cb.answer()


# ------------------------------------------------------------------------------------------ materials
async def materials(message: Message, repos: Repos, t: Translator, me: ParticipantDTO) -> None:
    shelf = await svc.shelf(repos, me)
    kb = InlineKeyboardBuilder()
    for m in shelf.custom:  # newest first
        read = "✔️ " if f"custom:{m.id}" in shelf.read else ""
        kb.button(text=read + m.title, callback_data=MatCb(k=f"custom.{m.id}"))
    for b in shelf.builtin:
        read = "✔️ " if f"builtin:{b.id}" in shelf.read else ""
        kb.button(text=read + b.title_for(t.lang), callback_data=MatCb(k=f"builtin.{b.id}"))
    await message.answer(t("mentor_base.materials_header"), reply_markup=kb.adjust(1).as_markup())


async def open_material(
    cb: CallbackQuery, callback_data: MatCb, repos: Repos, t: Translator, me: ParticipantDTO
) -> None:
    if not isinstance(cb.message, Message):
        await cb.answer()
        return
    kind, _, ident = callback_data.k.partition(".")
    opened = await svc.open_material(repos, me, kind, ident)
    if opened is None:
        await cb.answer(t("common.stale"), show_alert=True)
        return
    kb = InlineKeyboardBuilder()
    kb.button(text=t("mentor_base.btn.read"), callback_data=MatCb(k=callback_data.k, read=True))
    read_button = kb.as_markup()
    if opened.builtin is not None:
        await cb.message.answer(opened.builtin.message(t.lang, opened.part), reply_markup=read_button)
    elif opened.custom is not None and opened.custom.kind == "document" and opened.custom.file_id:
        await cb.message.answer_document(
            opened.custom.file_id, caption=opened.custom.title, reply_markup=read_button
        )
    elif opened.custom is not None:
        text = f"{opened.custom.title}\n\n{opened.custom.body or ''}".strip()
        await cb.message.answer(text, reply_markup=read_button)
    await cb.answer()


async def mark_read(
    cb: CallbackQuery, callback_data: MatCb, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock
) -> None:
    if not isinstance(cb.message, Message):
        await cb.answer()
        return
    kind, _, ident = callback_data.k.partition(".")
    await svc.mark_read(repos, me, kind, ident, clock())
    await cb.answer(t("mentor_base.read_thanks"))
    await cb.message.edit_reply_markup(reply_markup=None)


async def material_add(message: Message, state: FSMContext, t: Translator) -> None:
    await state.clear()
    kb = InlineKeyboardBuilder()
    for a in svc.AUDIENCES:
        kb.button(text=t(f"mentor_base.audience.{a}"), callback_data=AddMatCb(a=AddMatStep.AUDIENCE, v=a))
    await message.answer(t("mentor_base.ask_audience"), reply_markup=kb.adjust(1).as_markup())


async def material_audience(
    cb: CallbackQuery, callback_data: AddMatCb, state: FSMContext, t: Translator
) -> None:
    if not isinstance(cb.message, Message) or callback_data.v not in svc.AUDIENCES:
        await cb.answer(t("common.stale"), show_alert=True)
        return
    await state.set_data({"audience": callback_data.v})
    kb = InlineKeyboardBuilder()
    for s in STAGE_ORDER:
        kb.button(text=t(s.label_key), callback_data=AddMatCb(a=AddMatStep.STAGE, v=s))
    kb.button(text=t("mentor_base.any_stage"), callback_data=AddMatCb(a=AddMatStep.STAGE, v=ANY_STAGE))
    await cb.message.edit_text(t("mentor_base.ask_stage"), reply_markup=kb.adjust(1).as_markup())
    await cb.answer()


async def material_stage(
    cb: CallbackQuery, callback_data: AddMatCb, state: FSMContext, t: Translator
) -> None:
    stage = callback_data.v
    known = stage in STAGE_ORDER or stage == ANY_STAGE
    if not isinstance(cb.message, Message) or not known or not (await state.get_data()).get("audience"):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    await state.update_data(stage=None if stage == ANY_STAGE else stage)
    await state.set_state(AddMaterial.content)
    await cb.message.edit_text(t("mentor_base.ask_content"))
    await cb.answer()


async def material_content(
    message: Message, state: FSMContext, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock
) -> None:
    data = await state.get_data()
    audience, stage = data["audience"], data.get("stage")
    material: svc.NewMaterial | None = None
    if message.document is not None:
        title = (message.caption or message.document.file_name or "document")[:200]
        material = svc.NewMaterial(audience, stage, "document", title, file_id=message.document.file_id)
    elif message.text and not message.text.startswith("/"):
        material = svc.text_material(audience, stage, message.text)
    if material is None:
        await message.answer(t("mentor_base.bad_content"))
        return
    await state.clear()
    await svc.add_material(repos, material, me.id, clock())
    await message.answer(t("mentor_base.material_saved"))


# ------------------------------------------------------------------------------------------ registries
async def registry(
    message: Message,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
    engine: Engine,
    bot: Bot,
) -> None:
    now = clock()
    today = now.astimezone(settings.tz).date()
    # "sending a file…" in the chat while the workbooks and the order are made
    async with ChatActionSender.upload_document(bot=bot, chat_id=message.chat.id):
        files = await svc.registry_files(repos, engine.forms, t, me.id, now, today)
    await message.answer(t("mentor_base.registry_intro"))
    for data, name in files:
        await message.answer_document(BufferedInputFile(data, filename=name))


# ------------------------------------------------------------------------------------------ wiring
def routers() -> list[Router]:
    """The curators' mentor base, training, new materials and registries; a mentor's /rest; everyone's
    /materials. Built fresh per dispatcher."""
    typed = (F.text, ~F.text.startswith("/"))
    cur = curators_only(f"{__name__}.curators")
    cur.message.register(mentors, Command("mentors"))
    cur.callback_query.register(view_candidate, MentorCb.filter(F.a == MentorAction.VIEW))
    cur.callback_query.register(
        ask_about_candidate, MentorCb.filter(F.a.in_({MentorAction.INTERVIEW, MentorAction.DECLINE}))
    )
    cur.callback_query.register(approve, MentorCb.filter(F.a == MentorAction.APPROVE))
    cur.message.register(interview_date, Interview.date, *typed)
    cur.message.register(interview_note, Interview.note, *typed)
    cur.message.register(decline_reason, Decline.reason, *typed)
    cur.message.register(training, Command("training"))
    cur.message.register(training_date, Training.date, *typed)
    cur.message.register(training_topic, Training.topic, *typed)
    cur.callback_query.register(attendance, TrainCb.filter())
    cur.message.register(material_add, Command("material_add"))
    cur.callback_query.register(material_audience, AddMatCb.filter(F.a == AddMatStep.AUDIENCE))
    cur.callback_query.register(material_stage, AddMatCb.filter(F.a == AddMatStep.STAGE))
    cur.message.register(material_content, AddMaterial.content)
    cur.message.register(registry, Command("registry"))
    mentor = only_for(Router(name=f"{__name__}.mentors"), Role.MENTOR)
    mentor.message.register(rest, Command("rest"))
    anyone = only_for(
        Router(name=f"{__name__}.materials"), Role.MENTEE, Role.MENTOR, Role.PARENT, Role.CURATOR
    )
    anyone.message.register(materials, Command("materials"))
    anyone.callback_query.register(open_material, MatCb.filter(~F.read))
    anyone.callback_query.register(mark_read, MatCb.filter(F.read))
    return [cur, mentor, anyone]
