"""Mentor base and methodological support: /mentors (candidates → interview → approve/decline), /rest,
/training, /materials, /material_add, /registry."""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.callbacks import Callback
from bot.clock import Clock
from bot.config import Settings
from bot.domain import forms as f
from bot.domain import materials as mat
from bot.domain import registries as reg
from bot.domain.entities import ParticipantDTO, Role
from bot.filenames import file_name
from bot.i18n import Translator
from bot.numbers import parse_int
from bot.services import mentor_base as svc
from bot.services import programmes
from bot.services.questionnaires import Engine
from storage.uow import Repos

CURATOR = {"roles": {Role.CURATOR}}
MENTOR = {"roles": {Role.MENTOR}}
ANYONE = {"roles": {Role.MENTEE, Role.MENTOR, Role.PARENT, Role.CURATOR}}
AUDIENCE_OF = {Role.MENTOR: "mentors", Role.MENTEE: "mentees", Role.PARENT: "parents"}
STAGES = ("introduction", "trial", "planning", "joint_work", "final")


class MentorCb(Callback, prefix="cb"):
    a: str  # view | iv | ok | no
    p: int


class TrainCb(Callback, prefix="ct"):
    s: int
    p: int  # participant id; 0 = done


class AddMatCb(Callback, prefix="ck"):
    a: str  # aud | stage
    v: str


class MatCb(Callback, prefix="mm"):
    k: str  # builtin.<id> | custom.<id> (":" is the callback separator)
    read: bool = False


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


def _b(text: str, cb: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


def _date(text: str) -> datetime | None:
    for fmt in ("%d.%m.%Y", "%d.%m.%y"):
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    return None


def audiences_of(me: ParticipantDTO) -> set[str]:
    out = {AUDIENCE_OF[r] for r in me.roles if r in AUDIENCE_OF}
    if me.is_curator:
        out |= {"mentors", "mentees", "parents"}
    return out


def router(engine: Engine) -> Router:
    r = Router(name=__name__)
    builtin = mat.load_materials()

    # ------------------------------------------------------------------ the mentor base
    @r.message(Command("mentors"), flags=CURATOR)
    async def mentors(message: Message, repos: Repos, t: Translator) -> None:
        people = [p for p in await repos.participants.with_role(Role.MENTOR) if p.full_name]
        statuses = await repos.mentor_base.statuses([p.id for p in people])
        counts: dict[str, int] = {}
        for s in statuses.values():
            counts[s] = counts.get(s, 0) + 1
        lines = [t("mentor_base.header", count=len(people))]
        lines += [f"• {t(f'mentor_base.status.{s}')}: {n}" for s, n in sorted(counts.items())]
        rows = []
        for p in people[:40]:
            s = statuses[p.id]
            lines.append(f"{p.full_name} — {t(f'mentor_base.status.{s}')}")
            if s in ("candidate", "interviewed"):
                rows.append([_b(t("mentor_base.btn.view", name=p.full_name), MentorCb(a="view", p=p.id))])
                row = [
                    _b(t("mentor_base.btn.approve"), MentorCb(a="ok", p=p.id)),
                    _b(t("mentor_base.btn.decline"), MentorCb(a="no", p=p.id)),
                ]
                if s == "candidate":
                    row.insert(0, _b(t("mentor_base.btn.interview"), MentorCb(a="iv", p=p.id)))
                rows.append(row)
        await message.answer("\n".join(lines), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))

    @r.callback_query(MentorCb.filter(), flags=CURATOR)
    async def mentor_action(
        cb: CallbackQuery,
        callback_data: MentorCb,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        clock: Clock,
    ) -> None:
        person = await repos.participants.get(callback_data.p)
        if person is None or not person.has(Role.MENTOR) or not isinstance(cb.message, Message):
            await cb.answer(t("common.stale"), show_alert=True)
            return
        a, now = callback_data.a, clock()
        if a == "view":
            last = await repos.forms.latest_submitted(person.id, "mentor")
            form = engine.forms.get("mentor")
            if last is None or form is None:
                await cb.message.answer(t("mentor_base.no_questionnaire", name=person.full_name))
            else:
                lines = [t("questionnaire.answers_of", name=person.full_name)]
                lines += [f"• {q} — {ans}" for q, ans in f.summarize(form, last.answers, t.lang, t)]
                await cb.message.answer("\n".join(lines))
        elif a == "iv":
            await state.set_state(Interview.date)
            await state.set_data({"p": person.id})
            await cb.message.answer(t("mentor_base.ask_interview_date", name=person.full_name))
        elif a == "ok":
            if await svc.move(repos, person.id, "approved", now, me.id):
                if person.telegram_id:
                    await repos.outbox.enqueue(
                        [
                            svc.notice(
                                person, "mentor_base.approved_to_you", now, f"mentor-approved:{person.id}"
                            )
                        ],
                        now,
                    )
                await cb.message.answer(t("mentor_base.approved", name=person.full_name))
            else:
                await cb.answer(t("mentor_base.already"), show_alert=True)
                return
        elif a == "no":
            await state.set_state(Decline.reason)
            await state.set_data({"p": person.id})
            await cb.message.answer(t("mentor_base.ask_decline_reason", name=person.full_name))
        await cb.answer()

    @r.message(Interview.date, F.text, ~F.text.startswith("/"), flags=CURATOR)
    async def interview_date(message: Message, state: FSMContext, t: Translator) -> None:
        when = _date(message.text or "")
        if when is None:
            await message.answer(t("mentor_base.bad_date"))
            return
        await state.update_data(date=when.date().isoformat())
        await state.set_state(Interview.note)
        await message.answer(t("mentor_base.ask_interview_note"))

    @r.message(Interview.note, F.text, ~F.text.startswith("/"), flags=CURATOR)
    async def interview_note(
        message: Message, state: FSMContext, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock
    ) -> None:
        note = " ".join((message.text or "").split())
        if not 2 <= len(note) <= 500:
            await message.answer(t("mentor_base.bad_note"))
            return
        data = await state.get_data()
        await state.clear()
        from datetime import date as _d

        ok = await svc.move(
            repos,
            int(data["p"]),
            "interviewed",
            clock(),
            me.id,
            interview_on=_d.fromisoformat(data["date"]),
            interview_note=note,
        )
        await message.answer(t("mentor_base.interview_saved" if ok else "mentor_base.already"))

    @r.message(Decline.reason, F.text, ~F.text.startswith("/"), flags=CURATOR)
    async def decline_reason(
        message: Message, state: FSMContext, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock
    ) -> None:
        reason = " ".join((message.text or "").split())
        if not 5 <= len(reason) <= 300:
            await message.answer(t("mentor_base.bad_reason"))
            return
        data = await state.get_data()
        await state.clear()
        now = clock()
        person = await repos.participants.get(int(data["p"]))
        if person is None or not await svc.move(
            repos, person.id, "declined", now, me.id, decline_reason=reason
        ):
            await message.answer(t("mentor_base.already"))
            return
        if person.telegram_id:
            await repos.outbox.enqueue(
                [
                    svc.notice(
                        person,
                        "mentor_base.declined_to_you",
                        now,
                        f"mentor-declined:{person.id}",
                        reason=reason,
                    )
                ],
                now,
            )
        await message.answer(t("mentor_base.declined", name=person.full_name))

    @r.message(Command("rest"), flags=MENTOR)
    async def rest(message: Message, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock) -> None:
        status = await svc.toggle_rest(repos, me.id, clock())
        await message.answer(t(f"mentor_base.rest.{status or 'not_approved'}"))

    # ------------------------------------------------------------------ training
    @r.message(Command("training"), flags=CURATOR)
    async def training(message: Message, state: FSMContext, t: Translator) -> None:
        await state.set_state(Training.date)
        await message.answer(t("mentor_base.ask_training_date"))

    @r.message(Training.date, F.text, ~F.text.startswith("/"), flags=CURATOR)
    async def training_date(message: Message, state: FSMContext, t: Translator) -> None:
        when = _date(message.text or "")
        if when is None:
            await message.answer(t("mentor_base.bad_date"))
            return
        await state.update_data(date=when.date().isoformat())
        await state.set_state(Training.topic)
        await message.answer(t("mentor_base.ask_training_topic"))

    async def _attendance_keyboard(repos: Repos, session_id: int, t: Translator) -> InlineKeyboardMarkup:
        people = [p for p in await repos.participants.with_role(Role.MENTOR) if p.full_name]
        statuses = await repos.mentor_base.statuses([p.id for p in people])
        marked = await repos.mentor_base.attendees(session_id)
        rows = [
            [_b(("✅ " if p.id in marked else "▫️ ") + (p.full_name or ""), TrainCb(s=session_id, p=p.id))]
            for p in people
            if statuses[p.id] not in ("declined",)
        ][:40]
        rows.append([_b(t("forms.button.done"), TrainCb(s=session_id, p=0))])
        return InlineKeyboardMarkup(inline_keyboard=rows)

    @r.message(Training.topic, F.text, ~F.text.startswith("/"), flags=CURATOR)
    async def training_topic(
        message: Message, state: FSMContext, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock
    ) -> None:
        topic = " ".join((message.text or "").split())
        if not 3 <= len(topic) <= 300:
            await message.answer(t("mentor_base.bad_topic"))
            return
        from datetime import date as _d

        data = await state.get_data()
        await state.clear()
        session_id = await repos.mentor_base.add_training(
            _d.fromisoformat(data["date"]), topic, me.id, clock()
        )
        await repos.audit.log(
            "training.create", clock(), actor_id=me.id, object_type="training", object_id=session_id
        )
        await message.answer(
            t("mentor_base.mark_attendance"), reply_markup=await _attendance_keyboard(repos, session_id, t)
        )

    @r.callback_query(TrainCb.filter(), flags=CURATOR)
    async def attendance(cb: CallbackQuery, callback_data: TrainCb, repos: Repos, t: Translator) -> None:
        if await repos.mentor_base.training(callback_data.s) is None or not isinstance(cb.message, Message):
            await cb.answer(t("common.stale"), show_alert=True)
            return
        if callback_data.p == 0:
            n = len(await repos.mentor_base.attendees(callback_data.s))
            await cb.message.edit_text(t("mentor_base.training_saved", count=n))
            await cb.answer()
            return
        person = await repos.participants.get(callback_data.p)
        if person is None or not person.has(Role.MENTOR):
            await cb.answer(t("common.stale"), show_alert=True)
            return
        await repos.mentor_base.toggle_attendance(callback_data.s, person.id)
        await cb.message.edit_reply_markup(reply_markup=await _attendance_keyboard(repos, callback_data.s, t))
        await cb.answer()

    # ------------------------------------------------------------------ materials
    def _builtin_for(audiences: set[str]) -> list[mat.Material]:
        out = [m for m in builtin.values() if m.kind == "memo" and m.audience in audiences]
        if audiences & {"mentors", "mentees"}:
            out += sorted(
                (m for m in builtin.values() if m.kind == "scenario"), key=lambda m: STAGES.index(m.stage)
            )
        return out

    @r.message(Command("materials"), flags=ANYONE)
    async def materials(message: Message, repos: Repos, t: Translator, me: ParticipantDTO) -> None:
        auds = audiences_of(me)
        custom = await repos.mentor_base.materials_for(auds)
        reads = await repos.mentor_base.reads(me.id)
        rows = []
        for m in custom:  # newest first
            rows.append(
                [_b(("✔️ " if f"custom:{m.id}" in reads else "") + m.title, MatCb(k=f"custom.{m.id}"))]
            )
        for m in _builtin_for(auds):
            rows.append(
                [
                    _b(
                        ("✔️ " if f"builtin:{m.id}" in reads else "") + m.title_for(t.lang),
                        MatCb(k=f"builtin.{m.id}"),
                    )
                ]
            )
        await message.answer(
            t("mentor_base.materials_header"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
        )

    @r.callback_query(MatCb.filter(), flags=ANYONE)
    async def open_material(
        cb: CallbackQuery, callback_data: MatCb, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock
    ) -> None:
        if not isinstance(cb.message, Message):
            await cb.answer()
            return
        auds = audiences_of(me)
        kind, _, ident = callback_data.k.partition(".")
        if callback_data.read:
            await repos.mentor_base.mark_read(f"{kind}:{ident}", me.id, clock())
            await cb.answer(t("mentor_base.read_thanks"))
            await cb.message.edit_reply_markup(reply_markup=None)
            return
        read_button = InlineKeyboardMarkup(
            inline_keyboard=[[_b(t("mentor_base.btn.read"), MatCb(k=callback_data.k, read=True))]]
        )
        if kind == "builtin" and ident in builtin and builtin[ident] in _builtin_for(auds):
            m = builtin[ident]
            part = None
            if m.kind == "scenario":
                part = "mentor" if (Role.MENTOR in me.roles or me.is_curator) else "mentee"
            await cb.message.answer(m.message(t.lang, part), reply_markup=read_button)
        elif kind == "custom" and (material_id := parse_int(ident)) is not None:
            m2 = await repos.mentor_base.material(material_id)
            if m2 is None or m2.audience not in auds:
                await cb.answer(t("common.stale"), show_alert=True)
                return
            if m2.kind == "document" and m2.file_id:
                await cb.message.answer_document(m2.file_id, caption=m2.title, reply_markup=read_button)
            else:
                await cb.message.answer(f"{m2.title}\n\n{m2.body or ''}".strip(), reply_markup=read_button)
        else:
            await cb.answer(t("common.stale"), show_alert=True)
            return
        await cb.answer()

    @r.message(Command("material_add"), flags=CURATOR)
    async def material_add(message: Message, state: FSMContext, t: Translator) -> None:
        await state.clear()
        rows = [
            [_b(t(f"mentor_base.audience.{a}"), AddMatCb(a="aud", v=a))]
            for a in ("mentors", "mentees", "parents")
        ]
        await message.answer(
            t("mentor_base.ask_audience"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
        )

    @r.callback_query(AddMatCb.filter(), flags=CURATOR)
    async def material_add_step(
        cb: CallbackQuery, callback_data: AddMatCb, state: FSMContext, t: Translator
    ) -> None:
        if not isinstance(cb.message, Message):
            await cb.answer()
            return
        if callback_data.a == "aud" and callback_data.v in ("mentors", "mentees", "parents"):
            await state.set_data({"audience": callback_data.v})
            rows = [[_b(t(f"meetings.stage.{s}"), AddMatCb(a="stage", v=s))] for s in STAGES]
            rows.append([_b(t("mentor_base.any_stage"), AddMatCb(a="stage", v="-"))])
            await cb.message.edit_text(
                t("mentor_base.ask_stage"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
            )
        elif (
            callback_data.a == "stage"
            and (callback_data.v in STAGES or callback_data.v == "-")
            and (await state.get_data()).get("audience")
        ):
            await state.update_data(stage=None if callback_data.v == "-" else callback_data.v)
            await state.set_state(AddMaterial.content)
            await cb.message.edit_text(t("mentor_base.ask_content"))
        else:
            await cb.answer(t("common.stale"), show_alert=True)
            return
        await cb.answer()

    @r.message(AddMaterial.content, flags=CURATOR)
    async def material_content(
        message: Message, state: FSMContext, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock
    ) -> None:
        data = await state.get_data()
        if message.document is not None:
            kind, title = "document", (message.caption or message.document.file_name or "document")[:200]
            body, file_id = None, message.document.file_id
        elif message.text and not message.text.startswith("/"):
            text = message.text.strip()
            if len(text) < 5 or len(text) > 3500:
                await message.answer(t("mentor_base.bad_content"))
                return
            kind = "link" if text.startswith(("http://", "https://")) and " " not in text else "text"
            title = text.splitlines()[0][:200]
            body, file_id = text, None
        else:
            await message.answer(t("mentor_base.bad_content"))
            return
        await state.clear()
        now = clock()
        mid = await repos.mentor_base.add_material(
            audience=data["audience"],
            stage=data.get("stage"),
            kind=kind,
            title=title,
            body=body,
            file_id=file_id,
            by=me.id,
            now=now,
        )
        await repos.audit.log("material.add", now, actor_id=me.id, object_type="material", object_id=mid)
        await message.answer(t("mentor_base.material_saved"))

    # ------------------------------------------------------------------ registries
    @r.message(Command("registry"), flags=CURATOR)
    async def registry(
        message: Message, repos: Repos, t: Translator, me: ParticipantDTO, settings: Settings, clock: Clock
    ) -> None:
        now = clock()
        today = now.astimezone(settings.tz).date()
        programme = await programmes.current(repos, me.id)
        institution = programme.title if programme else ""
        mentors_rows, mentee_rows, pair_rows = await svc.registry_rows(repos, engine.forms, t, today)
        files = [
            (
                reg.mentor_registry_xlsx(mentors_rows, institution, today, t),
                file_name(t, "mentor_registry", "xlsx", day=today),
            ),
            (
                reg.mentee_base_xlsx(mentee_rows, institution, today, t),
                file_name(t, "mentee_base", "xlsx", day=today),
            ),
            (
                reg.pairs_order_xlsx(pair_rows, institution, today, t),
                file_name(t, "pairs_order", "xlsx", day=today),
            ),
            (
                reg.pairs_order_docx(pair_rows, institution, today, t),
                file_name(t, "pairs_order", "docx", day=today),
            ),
        ]
        await repos.audit.log("export.registry", now, actor_id=me.id, files=len(files))
        await message.answer(t("mentor_base.registry_intro"))
        for data, name in files:
            await message.answer_document(BufferedInputFile(data, filename=name))

    return r
