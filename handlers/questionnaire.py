"""Questionnaires in chat: one generic renderer and set of handlers for every form (forms are data)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.callbacks import Callback
from bot.clock import Clock
from bot.config import Settings
from bot.domain import forms as f
from bot.domain.entities import FormResponseDTO, ParticipantDTO, Role, Status
from bot.i18n import Translator
from bot.numbers import parse_int
from bot.services import programmes
from bot.services import questionnaires as qs
from bot.services.questionnaires import Engine, Stale
from bot.text import MESSAGE_LIMIT, clip, units
from handlers.long_text import answer_long
from handlers.states import Questionnaire
from storage.uow import Repos

PARTICIPANT = {"roles": {Role.MENTEE, Role.MENTOR, Role.CURATOR, Role.PARENT}}
CURATOR = {"roles": {Role.CURATOR}}
# UTF-16 units of a current answer shown above the question it answers (the summary shows it whole).
SHOWN_ANSWER = 1000


class FormCb(Callback, prefix="fq"):
    r: int  # response id
    q: int  # question index in the form; -1 = the summary
    a: str  # p pick | t toggle | d done | s skip | b back | e edit | k edit key | m summary | x submit
    v: str = ""


class EditIntakeCb(Callback, prefix="fe"):
    form: str


class CuratorFormCb(Callback, prefix="cf"):
    a: str  # n nudge | v view
    p: int  # participant id


# ---------------------------------------------------------------------------------------------- rendering
def _btn(text: str, cb: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


def render_question(form: f.Form, r: FormResponseDTO, t: Translator) -> tuple[str, InlineKeyboardMarkup]:
    assert r.current_key is not None
    q = form.question(r.current_key)
    qi = form.keys.index(q.key)
    n, total = form.position(r.answers, q.key)
    lines = [
        f"{form.title.get(t.lang)} · {t('forms.progress', current=n, total=total)}",
        "",
        q.text.get(t.lang),
    ]
    hints: list[str] = []
    rows: list[list[InlineKeyboardButton]] = []
    if q.type == f.QuestionType.SINGLE:
        rows = [
            [_btn(o.text.get(t.lang), FormCb(r=r.id, q=qi, a="p", v=str(i)))] for i, o in enumerate(q.options)
        ]
    elif q.type == f.QuestionType.MULTI:
        picked = set(r.draft if r.draft is not None else (r.answers.get(q.key) or []))
        rows = [
            [
                _btn(
                    ("✅ " if o.value in picked else "▫️ ") + o.text.get(t.lang),
                    FormCb(r=r.id, q=qi, a="t", v=str(i)),
                )
            ]
            for i, o in enumerate(q.options)
        ]
        rows.append([_btn(t("forms.button.done"), FormCb(r=r.id, q=qi, a="d"))])
        hints.append(t("forms.hint.multi"))
        low, high = q.bounds()
        if high < len(q.options):
            hints.append(t("forms.hint.multi_max", max=high))
    elif q.type == f.QuestionType.SCALE and q.scale is not None:
        points = [_btn(str(p), FormCb(r=r.id, q=qi, a="p", v=str(p))) for p in q.scale.points]
        rows = [points[i : i + 5] for i in range(0, len(points), 5)]
        hints.append(
            t(
                "forms.hint.scale",
                min=q.scale.min,
                max=q.scale.max,
                min_label=q.scale.min_label.get(t.lang),
                max_label=q.scale.max_label.get(t.lang),
            )
        )
    elif q.type == f.QuestionType.YESNO:
        rows = [
            [
                _btn(t("forms.button.yes"), FormCb(r=r.id, q=qi, a="p", v="yes")),
                _btn(t("forms.button.no"), FormCb(r=r.id, q=qi, a="p", v="no")),
            ]
        ]
    elif q.type == f.QuestionType.INTEGER:
        low, high = q.bounds()
        hints.append(t("forms.hint.integer", min=low, max=high))
    elif q.type == f.QuestionType.DATE:
        hints.append(t("forms.hint.date"))
    elif q.type == f.QuestionType.TEXT:
        low, high = q.bounds()
        hints.append(t("forms.hint.text_max", max=high))
    if q.key in r.answers and q.type not in (f.QuestionType.MULTI,):
        hints.append(_current_answer(f.display_answer(q, r.answers[q.key], t.lang, t), t))
    nav: list[InlineKeyboardButton] = []
    if form.prev_key(r.answers, q.key) is not None and not r.editing:
        nav.append(_btn(t("forms.button.back"), FormCb(r=r.id, q=qi, a="b")))
    if f.can_skip(q):
        nav.append(_btn(t("forms.button.skip"), FormCb(r=r.id, q=qi, a="s")))
        hints.append(t("forms.hint.optional"))
    if nav:
        rows.append(nav)
    # A form's text may already say what a hint says (a template's own wording): one message, each thing once.
    hints = [hint for hint in hints if hint not in lines[-1]]
    if hints:
        lines += ["", *hints]
    # One message whatever a form's author wrote: nothing is lost, the answers are kept whole.
    return clip("\n".join(lines), MESSAGE_LIMIT), InlineKeyboardMarkup(inline_keyboard=rows)


def _current_answer(answer: str, t: Translator) -> str:
    """The answer being changed, as the question shows it: a long one (2,000 characters of emoji are 4,000
    UTF-16 units) by its beginning, saying so, so the question with its buttons stays one message."""
    if units(answer) <= SHOWN_ANSWER:
        return t("questionnaire.current_answer", answer=answer)
    return t("safety.long.current_answer_start", answer=clip(answer, SHOWN_ANSWER, mark=""))


def render_summary(form: f.Form, r: FormResponseDTO, t: Translator) -> tuple[str, InlineKeyboardMarkup]:
    lines = [t("questionnaire.summary_header", title=form.title.get(t.lang)), ""]
    lines += [f"• {question} — {answer}" for question, answer in f.summarize(form, r.answers, t.lang, t)]
    lines += ["", t("forms.summary.confirm")]
    rows = [
        [_btn(t("forms.button.edit"), FormCb(r=r.id, q=-1, a="e"))],
        [_btn(t("forms.button.confirm"), FormCb(r=r.id, q=-1, a="x"))],
    ]
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def render_edit_list(form: f.Form, r: FormResponseDTO, t: Translator) -> InlineKeyboardMarkup:
    rows = []
    for n, q in enumerate(form.visible(r.answers), 1):
        label = q.text.get(t.lang)
        label = label if len(label) <= 48 else label[:47] + "…"
        rows.append([_btn(f"{n}. {label}", FormCb(r=r.id, q=-1, a="k", v=str(form.keys.index(q.key))))])
    rows.append([_btn(t("questionnaire.back_to_summary"), FormCb(r=r.id, q=-1, a="m"))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def show(
    message: Message, engine: Engine, r: FormResponseDTO, t: Translator, state: FSMContext
) -> None:
    """Ask the current question, or show the summary when all are answered. The summary grows with the
    answers (the meeting feedback takes 3,500 characters of text, twice as many UTF-16 units in emoji): it is
    split like any long text, its buttons under the last piece, which is the message they later edit."""
    form = engine.form(r)
    await point(state, r)
    if r.current_key:
        text, markup = render_question(form, r, t)
        await message.answer(text, reply_markup=markup)
        return
    text, markup = render_summary(form, r, t)
    await answer_long(message, text, t, reply_markup=markup, file_key="long.summary")


async def point(state: FSMContext, r: FormResponseDTO) -> None:
    """The conversation is now about this response (a typed answer goes to it). Set before anything is sent:
    a message commits what the update wrote so far."""
    await state.set_state(Questionnaire.answering)
    await state.set_data({"rid": r.id})


async def start_intake(
    message: Message,
    repos: Repos,
    engine: Engine,
    me: ParticipantDTO,
    t: Translator,
    state: FSMContext,
    clock: Clock,
) -> bool:
    """Open (or resume) the person's intake questionnaire. False when there is none left to fill."""
    open_response = await repos.forms.open_for(me.id)
    if open_response is not None and open_response.form_id in engine.forms:
        await point(state, open_response)
        await message.answer(t("questionnaire.resume"))
        await show(message, engine, open_response, t, state)
        return True
    for role in (Role.MENTEE, Role.MENTOR):
        if not me.has(role):
            continue
        # Each programme of the role may ask for its own questionnaire (a school's pupils and its young
        # specialists); a programme without settings asks for the default one.
        for programme in await programmes.role_programmes(repos, me, role) or [None]:
            form_id = qs.intake_form_id(me, role, programme)
            if (
                form_id
                and form_id in engine.forms
                and await repos.forms.latest_submitted(me.id, form_id) is None
            ):
                r = await engine.begin(repos, me.id, form_id, clock())
                await show(message, engine, r, t, state)
                return True
    return False


async def _error(message: Message, t: Translator, err: f.Invalid) -> None:
    await message.answer(t(err.code, **err.params))


def router(engine: Engine, hooks: dict | None = None) -> Router:
    hooks = hooks if hooks is not None else {}
    r = Router(name=__name__)

    @r.message(Questionnaire.answering, F.text, ~F.text.startswith("/"))
    async def text_answer(
        message: Message,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO | None,
        clock: Clock,
        settings: Settings,
    ) -> None:
        rid = (await state.get_data()).get("rid")
        if me is None or rid is None:
            await state.clear()
            await message.answer(t("common.stray"))
            return
        now = clock()
        try:
            out = await engine.answer_text(
                repos, me.id, int(rid), message.text or "", now.astimezone(settings.tz).date(), now
            )
        except Stale:
            await state.clear()
            await message.answer(t("questionnaire.stale_form"))
            return
        assert out.response is not None
        if out.error is not None:
            await _error(message, t, out.error)
        await show(message, engine, out.response, t, state)

    @r.message(Questionnaire.answering, ~F.text)
    async def non_text(message: Message, t: Translator) -> None:
        await message.answer(t("profile.text_expected"))

    @r.callback_query(FormCb.filter(), StateFilter("*"))
    async def button(
        cb: CallbackQuery,
        callback_data: FormCb,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO | None,
        clock: Clock,
        settings: Settings,
    ) -> None:
        if me is None or not isinstance(cb.message, Message):
            await cb.answer(t("common.stale"), show_alert=True)
            return
        d, now = callback_data, clock()
        try:
            if d.a in ("p", "t"):
                response = await repos.forms.get(d.r)
                value = d.v
                idx = parse_int(d.v)
                if response is not None and response.form_id in engine.forms and d.q >= 0 and idx is not None:
                    form = engine.forms[response.form_id]
                    if d.q < len(form.questions):
                        q = form.questions[d.q]
                        if q.type in (f.QuestionType.SINGLE, f.QuestionType.MULTI):
                            value = q.options[idx].value if idx < len(q.options) else "\x00"
                call = engine.choose if d.a == "p" else engine.toggle
                out = await call(repos, me.id, d.r, d.q, value, now)
            elif d.a == "d":
                out = await engine.done(repos, me.id, d.r, d.q, now)
            elif d.a == "s":
                out = await engine.skip(repos, me.id, d.r, d.q, now)
            elif d.a == "b":
                out = await engine.back(repos, me.id, d.r, d.q, now)
            elif d.a == "k" and (key := parse_int(d.v)) is not None:
                out = await engine.edit_key(repos, me.id, d.r, key, now)
            elif d.a in ("e", "m"):
                response = await engine.at_summary(repos, me.id, d.r)
                form = engine.form(response)
                markup = (
                    render_edit_list(form, response, t)
                    if d.a == "e"
                    else render_summary(form, response, t)[1]
                )
                await cb.message.edit_reply_markup(reply_markup=markup)
                await cb.answer()
                return
            elif d.a == "x":
                out = await engine.submit(repos, me.id, d.r, now)
            else:
                raise Stale
        except Stale:
            await cb.answer(t("questionnaire.stale"), show_alert=True)
            return
        response = out.response
        assert response is not None
        if out.error is not None:
            await cb.answer(t(out.error.code, **out.error.params), show_alert=True)
            if d.a in ("t", "d"):
                return
        else:
            await cb.answer()
        if d.a == "t":
            text, markup = render_question(engine.form(response), response, t)
            await cb.message.edit_text(text, reply_markup=markup)
            return
        await cb.message.edit_reply_markup(reply_markup=None)
        if out.submitted:
            await state.clear()
            hook = hooks.get(response.form_id)
            if hook is not None:
                # The form's follow-up acknowledges the submission itself (one message, not two thank-yous).
                await hook(cb.message, repos, response, me, t, state, clock, settings)
                return
            key = f"questionnaire.submitted.{response.form_id}"
            await cb.message.answer(t(key if t.has(key) else "questionnaire.submitted.default"))
            fresh = await repos.participants.get(me.id)
            if fresh is not None:
                await start_intake(cb.message, repos, engine, fresh, t, state, clock)
            return
        await show(cb.message, engine, response, t, state)

    @r.message(Command("profile"), flags=PARTICIPANT)
    async def profile(
        message: Message, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock, settings: Settings
    ) -> None:
        lines = [
            t(
                "questionnaire.profile_header",
                name=me.full_name or "—",
                roles=", ".join(t(f"roles.{x.value}") for x in sorted(me.roles, key=lambda x: x.value)),
            )
        ]
        markup = None
        for form_id in qs.INTAKE_FORMS:
            last = await repos.forms.latest_submitted(me.id, form_id)
            if last is None or form_id not in engine.forms:
                continue
            form = engine.forms[form_id]
            lines += ["", t("questionnaire.profile_form", title=form.title.get(t.lang), version=last.version)]
            lines += [f"• {q} — {a}" for q, a in f.summarize(form, last.answers, t.lang, t)]
            if await qs.can_edit_intake(repos, me):
                markup = InlineKeyboardMarkup(
                    inline_keyboard=[
                        [
                            InlineKeyboardButton(
                                text=t("forms.button.edit"), callback_data=EditIntakeCb(form=form_id).pack()
                            )
                        ]
                    ]
                )
        if len(lines) == 1:
            lines += ["", t("questionnaire.profile_empty")]
        await answer_long(
            message,
            "\n".join(lines),
            t,
            reply_markup=markup,
            file_key="long.profile",
            day=clock().astimezone(settings.tz).date(),
        )

    @r.callback_query(EditIntakeCb.filter(), flags=PARTICIPANT)
    async def edit_intake(
        cb: CallbackQuery,
        callback_data: EditIntakeCb,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        clock: Clock,
    ) -> None:
        if callback_data.form not in engine.forms or not isinstance(cb.message, Message):
            await cb.answer(t("common.stale"), show_alert=True)
            return
        if not await qs.can_edit_intake(repos, me):
            await cb.answer(t("questionnaire.locked_paired"), show_alert=True)
            return
        response = await engine.edit_submitted(repos, me.id, callback_data.form, clock())
        await cb.answer()
        if response is None:
            await cb.message.answer(t("common.stale"))
            return
        await cb.message.edit_reply_markup(reply_markup=None)
        await show(cb.message, engine, response, t, state)

    # ------------------------------------------------------------------------------------- curator
    @r.message(Command("questionnaires"), flags=CURATOR)
    async def questionnaires(message: Message, repos: Repos, t: Translator, me: ParticipantDTO) -> None:
        scope = await programmes.scope(repos, await programmes.current(repos, me.id))
        status = await repos.forms.status_by_participant(list(qs.INTAKE_FORMS))
        lines = [t("questionnaire.curator_header")]
        rows: list[list[InlineKeyboardButton]] = []
        counts = {"submitted": 0, "in_progress": 0, "not_started": 0}
        unfinished: list[tuple[ParticipantDTO, str]] = []
        finished: list[ParticipantDTO] = []
        people = {
            p.id: p
            for role in (Role.MENTEE, Role.MENTOR)
            for p in await repos.participants.with_role(role, scope)
        }
        declined = [p for p in people.values() if p.parent_declined_at and p.status == Status.AWAITING_PARENT]
        for p in people.values():
            if p.status != Status.ACTIVE.value or not p.full_name:
                continue
            mine = status.get(p.id, {})
            if mine and all(v == "submitted" for v in mine.values()):
                counts["submitted"] += 1
                finished.append(p)
            else:
                key = "in_progress" if "in_progress" in mine.values() else "not_started"
                counts[key] += 1
                unfinished.append((p, key))
        lines.append(t("questionnaire.curator_counts", **counts))
        if unfinished:
            lines += ["", t("questionnaire.curator_unfinished")]
        for p, key in unfinished[:30]:
            lines.append(f"• {p.full_name} — {t(f'questionnaire.state.{key}')}")
            rows.append(
                [
                    _btn(t("questionnaire.nudge", name=p.full_name), CuratorFormCb(a="n", p=p.id)),
                    _btn(t("questionnaire.view"), CuratorFormCb(a="v", p=p.id)),
                ]
            )
        for p in finished[:30]:
            rows.append([_btn(t("questionnaire.view_of", name=p.full_name), CuratorFormCb(a="v", p=p.id))])
        if declined:
            lines += ["", t("onboarding.questionnaires_parent_declined")]
            lines += [f"• {p.full_name} ({p.group_name or p.position or '—'})" for p in declined[:30]]
        # Sixty lines of long names overflow one message: in pieces, the buttons under the last.
        await answer_long(
            message, "\n".join(lines), t, reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
        )

    @r.callback_query(CuratorFormCb.filter(), flags=CURATOR)
    async def curator_action(
        cb: CallbackQuery,
        callback_data: CuratorFormCb,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        clock: Clock,
        settings: Settings,
    ) -> None:
        person = await repos.participants.get(callback_data.p)
        if person is None or person.telegram_id is None or not isinstance(cb.message, Message):
            await cb.answer(t("common.stale"), show_alert=True)
            return
        now = clock()
        if callback_data.a == "n":
            pt = Translator(person.language)
            added = await repos.outbox.enqueue(
                [qs.nudge_message(person, pt("questionnaire.nudge_text"), now)], now
            )
            await repos.audit.log(
                "form.nudge", now, actor_id=me.id, object_type="participant", object_id=person.id
            )
            await cb.answer(
                t("questionnaire.nudged" if added else "questionnaire.nudged_already"), show_alert=True
            )
            return
        lines = [t("questionnaire.answers_of", name=person.full_name or "—")]
        for form_id in qs.INTAKE_FORMS:
            last = await repos.forms.latest_submitted(person.id, form_id) or await repos.forms.open_for(
                person.id, form_id
            )
            if last is None or form_id not in engine.forms:
                continue
            form = engine.forms[form_id]
            state_key = "submitted" if last.status == "submitted" else "in_progress"
            lines += ["", f"{form.title.get(t.lang)} ({t(f'questionnaire.state.{state_key}')})"]
            lines += [f"• {q} — {a}" for q, a in f.summarize(form, last.answers, t.lang, t)]
        if len(lines) == 1:
            lines.append(t("questionnaire.state.not_started"))
        await repos.audit.log(
            "form.view", now, actor_id=me.id, object_type="participant", object_id=person.id
        )
        await answer_long(
            cb.message,
            "\n".join(lines),
            t,
            file_key="long.answers",
            day=now.astimezone(settings.tz).date(),
        )
        await cb.answer()

    return r
