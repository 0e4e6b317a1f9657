"""Questionnaires in chat: one generic renderer and set of handlers for every form (forms are data), /profile,
and the curator's /questionnaires. What a submission starts next is looked up in bot.services.submissions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.callbacks.questionnaire import CuratorFormAction, CuratorFormCb, EditIntakeCb, FormAction, FormCb
from bot.clock import Clock
from bot.config import Settings
from bot.domain import forms as f
from bot.domain.entities import FormResponseDTO, ParticipantDTO, ResponseStatus, Role
from bot.i18n import Translator
from bot.keyboards import InlineKeyboardBuilder
from bot.middlewares.access import curators_only, only_for
from bot.numbers import parse_int
from bot.services import completion, selfcheck, submissions
from bot.services import questionnaires as qs
from bot.services.questionnaires import Engine, Outcome, Stale
from bot.services.register import survey_register
from bot.text import MESSAGE_LIMIT, clip, units
from handlers.long_text import answer_long
from handlers.states import Questionnaire
from storage.uow import Repos, current_unit

# UTF-16 units of a current answer shown above the question it answers (the summary shows it whole).
SHOWN_ANSWER = 1000
# Questions the bot answers when it opens a form (the role in the final survey, a self-assessment's focus from
# the needs questionnaire): never asked, so never counted in "question 1 of N".
PRE_ANSWERED: dict[str, tuple[str, ...]] = {
    completion.FINAL_FORM: completion.PRE_ANSWERED,
    **{form_id: (selfcheck.FOCUS,) for form_id in selfcheck.FORMS},
}


# ---------------------------------------------------------------------------------------------- rendering
def say(t: Translator, register: f.Register | None, key: str, /, **params: object) -> str:
    """``key`` in a form's register: a form that says «ты» (a pupil's) gets ``<key>_ty`` where the text
    addresses the person, so its hints and errors never say «вы» next to its «ты» questions. Texts that
    address no one (a button, "Вопрос 1 из 8") have no such variant and are the same for both."""
    if register is f.Register.TY and t.has(f"{key}_ty"):
        key = f"{key}_ty"
    elif register is not None and t.ty:  # a «вы» form (a pupil now filling in the mentor form) keeps «вы»
        t = Translator(t.lang)
    return t(key, **params)


def _btn(text: str, cb: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


def render_question(
    form: f.Form, r: FormResponseDTO, t: Translator, register: f.Register | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    """The current question: its text, hints on how to answer, its answer buttons and back / skip.
    ``register``: how the person answering is addressed (default: the form's own register)."""
    assert r.current_key is not None
    register = register or form.register
    q = form.question(r.current_key)
    qi = form.keys.index(q.key)
    preset = PRE_ANSWERED.get(form.id, ())
    at = form.progress(r.answers, q.key, preset)
    counter = (
        t("forms.progress", current=at.number, total=at.low)
        if at.known
        else t("forms.progress_range", current=at.number, low=at.low, high=at.high)
    )
    lines = [
        f"{form.title.get(t.lang)} · {counter}",
        "",
        q.text_for(t.lang, register),
    ]
    keyboard = InlineKeyboardBuilder()
    hints = _answer_buttons(keyboard, register, q, r, qi, t)
    if q.key in r.answers and q.type != f.QuestionType.MULTI:
        hints.append(_current_answer(register, f.display_answer(q, r.answers[q.key], t.lang, t), t))
    nav: list[InlineKeyboardButton] = []
    if _can_go_back(form, r.answers, q.key, preset) and not r.editing:
        nav.append(_btn(t("forms.button.back"), FormCb(r=r.id, q=qi, a=FormAction.BACK)))
    if f.can_skip(q):
        nav.append(_btn(t("forms.button.skip"), FormCb(r=r.id, q=qi, a=FormAction.SKIP)))
        hints.append(say(t, register, "forms.hint.optional"))
    if nav:
        keyboard.row(*nav)
    # A form's text may already say what a hint says (a template's own wording): one message, each thing once.
    hints = [hint for hint in hints if hint not in lines[-1]]
    if hints:
        lines += ["", *hints]
    # One message whatever a form's author wrote: nothing is lost, the answers are kept whole.
    return clip("\n".join(lines), MESSAGE_LIMIT), keyboard.as_markup()


def _can_go_back(form: f.Form, answers: dict[str, object], key: str, preset: tuple[str, ...]) -> bool:
    """Back leads to a question the person was asked; the ones the bot answered for them are not offered."""
    prev = form.prev_key(answers, key)
    while prev is not None and prev in preset:
        prev = form.prev_key(answers, prev)
    return prev is not None


def _answer_buttons(
    keyboard: InlineKeyboardBuilder,
    register: f.Register,
    q: f.Question,
    r: FormResponseDTO,
    qi: int,
    t: Translator,
) -> list[str]:
    """Add the buttons that answer this question (options a row each, scale points five a row, yes / no);
    returns the hints on how to answer it."""

    def cb(action: FormAction, value: str = "") -> FormCb:
        return FormCb(r=r.id, q=qi, a=action, v=value)

    if q.type == f.QuestionType.SINGLE:
        for i, o in enumerate(q.options):
            keyboard.row(_btn(o.text.get(t.lang), cb(FormAction.PICK, str(i))))
    elif q.type == f.QuestionType.MULTI:
        picked = set(r.draft if r.draft is not None else (r.answers.get(q.key) or []))
        for i, o in enumerate(q.options):
            mark = "✅ " if o.value in picked else "▫️ "
            keyboard.row(_btn(mark + o.text.get(t.lang), cb(FormAction.TOGGLE, str(i))))
        keyboard.row(_btn(t("forms.button.done"), cb(FormAction.DONE)))
        high = q.bounds()[1]
        more = [say(t, register, "forms.hint.multi_max", max=high)] if high < len(q.options) else []
        return [say(t, register, "forms.hint.multi"), *more]
    elif q.type == f.QuestionType.SCALE and q.scale is not None:
        points = [_btn(str(p), cb(FormAction.PICK, str(p))) for p in q.scale.points]
        for i in range(0, len(points), 5):
            keyboard.row(*points[i : i + 5])
        labels = {"min_label": q.scale.min_label.get(t.lang), "max_label": q.scale.max_label.get(t.lang)}
        return [say(t, register, "forms.hint.scale", min=q.scale.min, max=q.scale.max, **labels)]
    elif q.type == f.QuestionType.YESNO:
        keyboard.row(
            _btn(t("forms.button.yes"), cb(FormAction.PICK, "yes")),
            _btn(t("forms.button.no"), cb(FormAction.PICK, "no")),
        )
    elif q.type == f.QuestionType.INTEGER:
        low, high = q.bounds()
        return [say(t, register, "forms.hint.integer", min=low, max=high)]
    elif q.type == f.QuestionType.DATE:
        return [say(t, register, "forms.hint.date")]
    elif q.type == f.QuestionType.TEXT:
        return [say(t, register, "forms.hint.text_max", max=q.bounds()[1])]
    return []


def _current_answer(register: f.Register, answer: str, t: Translator) -> str:
    """The answer being changed, as the question shows it: a long one (2,000 characters of emoji are 4,000
    UTF-16 units) by its beginning, saying so, so the question with its buttons stays one message."""
    if units(answer) <= SHOWN_ANSWER:
        return say(t, register, "questionnaire.current_answer", answer=answer)
    start = clip(answer, SHOWN_ANSWER, mark="")
    return say(t, register, "safety.long.current_answer_start", answer=start)


def render_summary(
    form: f.Form, r: FormResponseDTO, t: Translator, register: f.Register | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    register = register or form.register
    lines = [say(t, register, "questionnaire.summary_header", title=form.title.get(t.lang)), ""]
    answered = f.summarize(form, r.answers, t.lang, t, register=register)
    lines += [f"• {question} — {answer}" for question, answer in answered]
    lines += ["", say(t, register, "forms.summary.confirm")]
    keyboard = InlineKeyboardBuilder()
    keyboard.row(_btn(t("forms.button.edit"), FormCb(r=r.id, q=-1, a=FormAction.EDIT)))
    keyboard.row(_btn(t("forms.button.confirm"), FormCb(r=r.id, q=-1, a=FormAction.SUBMIT)))
    return "\n".join(lines), keyboard.as_markup()


def render_edit_list(
    form: f.Form, r: FormResponseDTO, t: Translator, register: f.Register | None = None
) -> InlineKeyboardMarkup:
    """The summary's "change": one button a visible question, then back to the summary."""
    keyboard = InlineKeyboardBuilder()
    for n, q in enumerate(form.visible(r.answers), 1):
        label = q.text_for(t.lang, register or form.register)
        label = label if len(label) <= 48 else label[:47] + "…"
        key = str(form.keys.index(q.key))
        keyboard.row(_btn(f"{n}. {label}", FormCb(r=r.id, q=-1, a=FormAction.EDIT_KEY, v=key)))
    keyboard.row(_btn(t("questionnaire.back_to_summary"), FormCb(r=r.id, q=-1, a=FormAction.SUMMARY)))
    return keyboard.as_markup()


async def show(
    message: Message, engine: Engine, r: FormResponseDTO, t: Translator, state: FSMContext
) -> None:
    """Ask the current question, or show the summary when all are answered. The summary grows with the
    answers (the meeting feedback takes 3,500 characters of text, twice as many UTF-16 units in emoji): it is
    split like any long text, its buttons under the last piece, which is the message they later edit."""
    form = engine.form(r)
    register = await _response_register(state, form, r)
    await point(state, r, form, register)
    if r.current_key:
        text, markup = render_question(form, r, t, register)
        await message.answer(text, reply_markup=markup)
        return
    text, markup = render_summary(form, r, t, register)
    await answer_long(message, text, t, reply_markup=markup, file_key="long.summary")


async def point(
    state: FSMContext, r: FormResponseDTO, form: f.Form | None = None, register: f.Register | None = None
) -> None:
    """The conversation is now about this response (a typed answer goes to it). Set before anything is sent:
    a message commits what the update wrote so far. The response's register (the person's, else the form's)
    is kept too: it stays the same through the whole form, and serves the replies that come when the
    response itself is gone (a closed form, a sticker instead of an answer)."""
    await state.set_state(Questionnaire.answering)
    data: dict[str, object] = {"rid": r.id}
    if form is not None:
        data["register"] = (register or form.register).value
    await state.set_data(data)


def _register(data: dict[str, object]) -> f.Register | None:
    """The register `point` kept, if any."""
    value = data.get("register")
    return f.Register(value) if value in tuple(f.Register) else None


async def _response_register(state: FSMContext, form: f.Form, r: FormResponseDTO) -> f.Register:
    """How this response addresses the person: the register kept for it, else decided now — a pupil is told
    «ты» in a pair's survey (bot.services.register) — else the form's own."""
    data = await state.get_data()
    kept = _register(data) if data.get("rid") == r.id else None
    if kept is not None:
        return kept
    # The update's unit of work: every feature that opens a form calls show(), which has no repos of its own.
    repos = current_unit()
    return await survey_register(repos, form, r) if repos is not None else form.register


async def _kept(state: FSMContext, form: f.Form, r: FormResponseDTO) -> f.Register:
    """The register kept for this response (see point), else the form's."""
    data = await state.get_data()
    kept = _register(data) if data.get("rid") == r.id else None
    return kept or form.register


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
    found = await qs.next_intake(repos, engine, me, clock())
    if found is None:
        return False
    response, resumed = found
    if resumed:
        form = engine.form(response)
        await point(state, response, form)
        await message.answer(say(t, form.register, "questionnaire.resume"))
    await show(message, engine, response, t, state)
    return True


# ---------------------------------------------------------------------------------------------- answering
async def text_answer(
    message: Message,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO | None,
    clock: Clock,
    settings: Settings,
    engine: Engine,
) -> None:
    data = await state.get_data()
    rid = data.get("rid")
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
        await message.answer(say(t, _register(data), "questionnaire.stale_form"))
        return
    assert out.response is not None
    if out.error is not None:
        register = await _kept(state, engine.form(out.response), out.response)
        await message.answer(say(t, register, out.error.code, **out.error.params))
    await show(message, engine, out.response, t, state)


async def non_text(message: Message, t: Translator, state: FSMContext) -> None:
    await message.answer(say(t, _register(await state.get_data()), "profile.text_expected"))


async def _press(
    cb: CallbackQuery, t: Translator, me: ParticipantDTO | None, call: Callable[[int], Awaitable[Outcome]]
) -> Outcome | None:
    """Run one engine step for a pressed button (`call` gets the person's id); None when the button is stale
    (it was answered so)."""
    if me is None or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return None
    try:
        return await call(me.id)
    except Stale:
        await cb.answer(t("questionnaire.stale"), show_alert=True)
        return None


async def choose(
    cb: CallbackQuery,
    callback_data: FormCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO | None,
    clock: Clock,
    engine: Engine,
) -> None:
    """An option pressed: a single choice, a scale point, yes/no — or one tick of a multiple choice, which
    redraws the question and stays on it."""
    d, toggle = callback_data, callback_data.a == FormAction.TOGGLE
    out = await _press(cb, t, me, lambda pid: engine.pick(repos, pid, d.r, d.q, d.v, clock(), toggle=toggle))
    if out is None or out.response is None or not isinstance(cb.message, Message):
        return
    register = await _kept(state, engine.form(out.response), out.response)
    if out.error is not None:
        await cb.answer(say(t, register, out.error.code, **out.error.params), show_alert=True)
        if toggle:
            return
    else:
        await cb.answer()
    if toggle:
        text, markup = render_question(engine.form(out.response), out.response, t, register)
        await cb.message.edit_text(text, reply_markup=markup)
        return
    await _next(cb.message, out, repos, engine, me, t, state, clock)


async def step(
    cb: CallbackQuery,
    callback_data: FormCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO | None,
    clock: Clock,
    engine: Engine,
) -> None:
    """Done (a multiple choice), skip, back, change one answer from the summary, or send the form."""
    d, now = callback_data, clock()
    key = parse_int(d.v)
    calls: dict[FormAction, Callable[[int], Awaitable[Outcome]]] = {
        FormAction.DONE: lambda pid: engine.done(repos, pid, d.r, d.q, now),
        FormAction.SKIP: lambda pid: engine.skip(repos, pid, d.r, d.q, now),
        FormAction.BACK: lambda pid: engine.back(repos, pid, d.r, d.q, now),
        FormAction.EDIT_KEY: lambda pid: engine.edit_key(repos, pid, d.r, -1 if key is None else key, now),
        FormAction.SUBMIT: lambda pid: engine.submit(repos, pid, d.r, now),
    }
    out = await _press(cb, t, me, calls[d.a])
    if out is None or out.response is None or not isinstance(cb.message, Message):
        return
    if out.error is not None:
        register = await _kept(state, engine.form(out.response), out.response)
        await cb.answer(say(t, register, out.error.code, **out.error.params), show_alert=True)
        if d.a == FormAction.DONE:
            return
    else:
        await cb.answer()
    await _next(cb.message, out, repos, engine, me, t, state, clock)


async def _next(
    message: Message,
    out: Outcome,
    repos: Repos,
    engine: Engine,
    me: ParticipantDTO | None,
    t: Translator,
    state: FSMContext,
    clock: Clock,
) -> None:
    """After a step: the pressed question's buttons go, then the next question — or what the submission
    starts."""
    assert out.response is not None and me is not None
    await message.edit_reply_markup(reply_markup=None)
    if out.submitted:
        await submitted(message, repos, engine, out.response, me, t, state, clock)
        return
    await show(message, engine, out.response, t, state)


async def submitted(
    message: Message,
    repos: Repos,
    engine: Engine,
    response: FormResponseDTO,
    me: ParticipantDTO,
    t: Translator,
    state: FSMContext,
    clock: Clock,
) -> None:
    """A form was sent: run what its submission starts (bot.services.submissions) and render the outcome —
    its replies, then the next questionnaire or the conversation state it asks for."""
    form = engine.forms.get(response.form_id)
    # The replies say what the form said: read before the conversation about it is cleared.
    register = await _kept(state, form, response) if form is not None else None
    await state.clear()
    use_case = submissions.table().get(response.form_id)
    outcome = (
        await use_case(repos, response, me, clock()) if use_case else submissions.default(response.form_id)
    )
    if outcome.then not in (None, "intake"):
        # Before anything is sent: a message commits what the update wrote so far.
        await state.set_state(outcome.then)
        await state.set_data(dict(outcome.state_data))
    for reply in outcome.say:
        builder = InlineKeyboardBuilder()
        for row in reply.buttons:
            builder.row(*(_btn(t(label), data) for label, data in row))
        markup = builder.as_markup() if reply.buttons else None
        await message.answer(say(t, register, reply.key, **reply.params), reply_markup=markup)
    if outcome.then == "intake":
        fresh = await repos.participants.get(me.id)
        if fresh is not None:
            await start_intake(message, repos, engine, fresh, t, state, clock)


async def summary_buttons(
    cb: CallbackQuery,
    callback_data: FormCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO | None,
    engine: Engine,
) -> None:
    """The summary's "change": the list of questions to pick one from; and back from it to the summary."""
    d = callback_data
    out = await _press(cb, t, me, lambda pid: _at_summary(engine, repos, pid, d.r))
    if out is None or out.response is None or not isinstance(cb.message, Message):
        return
    form, r = engine.form(out.response), out.response
    register = await _kept(state, form, r)
    edit = d.a == FormAction.EDIT
    markup = render_edit_list(form, r, t, register) if edit else render_summary(form, r, t, register)[1]
    await cb.message.edit_reply_markup(reply_markup=markup)
    await cb.answer()


async def _at_summary(engine: Engine, repos: Repos, participant_id: int, response_id: int) -> Outcome:
    return Outcome(await engine.at_summary(repos, participant_id, response_id))


# ---------------------------------------------------------------------------------------------- /profile
async def profile(
    message: Message,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    settings: Settings,
    engine: Engine,
) -> None:
    roles = ", ".join(t(f"roles.{x.value}") for x in sorted(me.roles, key=lambda x: x.value))
    lines = [t("questionnaire.profile_header", name=me.full_name or "—", roles=roles)]
    markup = None
    for form_id in qs.INTAKE_FORMS:
        last = await repos.forms.latest_submitted(me.id, form_id)
        if last is None or form_id not in engine.forms:
            continue
        form = engine.forms[form_id]
        lines += ["", t("questionnaire.profile_form", title=form.title.get(t.lang), version=last.version)]
        lines += [f"• {q} — {a}" for q, a in f.summarize(form, last.answers, t.lang, t)]
        if await qs.can_edit_intake(repos, me):
            edit = InlineKeyboardBuilder().button(
                text=t("forms.button.edit"), callback_data=EditIntakeCb(form=form_id)
            )
            markup = edit.as_markup()
    if len(lines) == 1:
        lines += ["", t("questionnaire.profile_empty")]
    day = clock().astimezone(settings.tz).date()
    await answer_long(message, "\n".join(lines), t, reply_markup=markup, file_key="long.profile", day=day)


async def edit_intake(
    cb: CallbackQuery,
    callback_data: EditIntakeCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    engine: Engine,
) -> None:
    if callback_data.form not in engine.forms or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    if not await qs.can_edit_intake(repos, me):
        register = engine.forms[callback_data.form].register
        await cb.answer(say(t, register, "questionnaire.locked_paired"), show_alert=True)
        return
    response = await engine.edit_submitted(repos, me.id, callback_data.form, clock())
    await cb.answer()
    if response is None:
        await cb.message.answer(t("common.stale"))
        return
    await cb.message.edit_reply_markup(reply_markup=None)
    await show(cb.message, engine, response, t, state)


# ---------------------------------------------------------------------------------------------- curator
async def questionnaires(message: Message, repos: Repos, t: Translator, me: ParticipantDTO) -> None:
    view = await qs.overview(repos, me)
    lines = [t("questionnaire.curator_header"), t("questionnaire.curator_counts", **view.counts)]
    builder = InlineKeyboardBuilder()
    if view.unfinished:
        lines += ["", t("questionnaire.curator_unfinished")]
    for p, key in view.unfinished[:30]:
        lines.append(f"• {p.full_name} — {t(f'questionnaire.state.{key}')}")
        builder.row(
            _btn(
                t("questionnaire.nudge", name=p.full_name), CuratorFormCb(a=CuratorFormAction.NUDGE, p=p.id)
            ),
            _btn(t("questionnaire.view"), CuratorFormCb(a=CuratorFormAction.VIEW, p=p.id)),
        )
    for p in view.finished[:30]:
        builder.row(
            _btn(
                t("questionnaire.view_of", name=p.full_name), CuratorFormCb(a=CuratorFormAction.VIEW, p=p.id)
            )
        )
    if view.declined:
        lines += ["", t("onboarding.questionnaires_parent_declined")]
        lines += [f"• {p.full_name} ({p.group_name or p.position or '—'})" for p in view.declined[:30]]
    # Sixty lines of long names overflow one message: in pieces, the buttons under the last.
    await answer_long(message, "\n".join(lines), t, reply_markup=builder.as_markup())


async def curator_nudge(
    cb: CallbackQuery,
    callback_data: CuratorFormCb,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
) -> None:
    sent = await qs.nudge(repos, me, callback_data.p, clock())
    if sent is None or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    await cb.answer(t("questionnaire.nudged" if sent else "questionnaire.nudged_already"), show_alert=True)


async def curator_view(
    cb: CallbackQuery,
    callback_data: CuratorFormCb,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    settings: Settings,
    engine: Engine,
) -> None:
    now = clock()
    answers = await qs.answers_of(repos, engine, me, callback_data.p, now)
    if answers is None or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    lines = [t("questionnaire.answers_of", name=answers.person.full_name or "—")]
    for form, last in answers.forms:
        state_key = "submitted" if last.status == ResponseStatus.SUBMITTED else "in_progress"
        lines += ["", f"{form.title.get(t.lang)} ({t(f'questionnaire.state.{state_key}')})"]
        lines += [f"• {q} — {a}" for q, a in f.summarize(form, last.answers, t.lang, t, for_others=True)]
    if len(lines) == 1:
        lines.append(t("questionnaire.state.not_started"))
    day = now.astimezone(settings.tz).date()
    await answer_long(cb.message, "\n".join(lines), t, file_key="long.answers", day=day)
    await cb.answer()


def routers() -> list[Router]:
    """Answering any form (whoever has one open), /profile for participants, /questionnaires for curators."""
    forms = Router(name=__name__)
    forms.message.register(text_answer, Questionnaire.answering, F.text, ~F.text.startswith("/"))
    forms.message.register(non_text, Questionnaire.answering, ~F.text)
    forms.callback_query.register(
        choose, FormCb.filter(F.a.in_({FormAction.PICK, FormAction.TOGGLE})), StateFilter("*")
    )
    forms.callback_query.register(
        summary_buttons, FormCb.filter(F.a.in_({FormAction.EDIT, FormAction.SUMMARY})), StateFilter("*")
    )
    forms.callback_query.register(step, FormCb.filter(), StateFilter("*"))
    participant = only_for(
        Router(name=f"{__name__}.participant"), Role.MENTEE, Role.MENTOR, Role.CURATOR, Role.PARENT
    )
    participant.message.register(profile, Command("profile"))
    participant.callback_query.register(edit_intake, EditIntakeCb.filter())
    curator = curators_only(f"{__name__}.curator")
    curator.message.register(questionnaires, Command("questionnaires"))
    curator.callback_query.register(curator_nudge, CuratorFormCb.filter(F.a == CuratorFormAction.NUDGE))
    curator.callback_query.register(curator_view, CuratorFormCb.filter(F.a == CuratorFormAction.VIEW))
    return [forms, participant, curator]
