"""The curator's SWOT analysis of a programme, once per monitoring period (December, June).

A SWOT is a response to the form "swot" (bot/forms/swot.yaml) by a curator of the programme's institution,
with the context "swot:<programme id>:<period>". Any curator of the institution may fill it in, and fill it in
again: the latest submitted response of the period is the programme's SWOT for it. When the monitoring
campaign opens, the institution's curators are invited to it once. Telegram only as the invitation button."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from aiogram.types import InlineKeyboardMarkup

from bot.callbacks.swot import SwotAction, SwotCb
from bot.domain.district import Period
from bot.domain.entities import FormResponseDTO, ProgrammeDTO
from bot.i18n import Translator
from bot.keyboards import InlineKeyboardBuilder
from bot.services import institutions
from bot.services.notify import Localized, notify
from bot.services.questionnaires import Engine
from storage.repositories.swot import FORM_ID, context_prefix
from storage.uow import Repos

FORM = FORM_ID
OPEN_KEYS = ("strengths", "weaknesses", "opportunities", "threats")


def period_of(day: date) -> str:
    """The monitoring period a day counts for: July–December for that year's December ("2026-12"),
    January–June for its June ("2027-06") — the district report's convention."""
    period = Period.of_campaign(f"{day:%Y-%m}")
    assert period is not None  # a real date's month is 1..12
    return period.key


def parse_period(text: str, today: date) -> str | None:
    """A period named by a button, if it is a real one and not in the future (forged data is refused)."""
    period = Period.parse(text)
    if period is None or period.key != text or period.key > period_of(today):
        return None
    return period.key


def period_name(period: str) -> Localized:
    """The period as people say it ("декабрь 2026", "June 2027"), in the reader's language."""
    parsed = Period.parse(period)
    assert parsed is not None
    return Localized(f"district.period.m{parsed.month}", {"year": parsed.year})


def context(programme_id: int, period: str) -> str:
    return context_prefix(programme_id) + period


@dataclass(frozen=True)
class SwotResult:
    """One programme's SWOT for one period: the four open answers (empty once the author's data was erased:
    free text goes, scores stay) and the scales, key → score."""

    period: str
    submitted_at: datetime
    strengths: str
    weaknesses: str
    opportunities: str
    threats: str
    scores: dict[str, int]


def _result(response: FormResponseDTO) -> SwotResult:
    assert response.context is not None and response.submitted_at is not None
    answers = response.answers
    text = {key: answers[key] if isinstance(answers.get(key), str) else "" for key in OPEN_KEYS}
    scores = {k: v for k, v in answers.items() if type(v) is int}  # not bool: a yes/no is no score
    period = response.context.rsplit(":", 1)[1]
    return SwotResult(period, response.submitted_at, scores=scores, **text)


async def latest(repos: Repos, programme_id: int, period: str | None = None) -> SwotResult | None:
    """The programme's SWOT for the period (the latest submitted), or with no period the one of the latest
    period that has one; None when there is none."""
    found = await repos.swot.submitted(programme_id, period)
    if period is None:
        return max((_result(r) for r in found), key=lambda r: r.period, default=None)
    return _result(found[0]) if found else None


async def history(repos: Repos, programme_id: int) -> list[SwotResult]:
    """One SWOT per period that has one (the latest submitted), oldest period first."""
    by_period: dict[str, SwotResult] = {}
    for response in await repos.swot.submitted(programme_id):  # newest first: the first of a period wins
        result = _result(response)
        by_period.setdefault(result.period, result)
    return [by_period[p] for p in sorted(by_period)]


# ------------------------------------------------------------------------------- the curator fills it in
class Start(StrEnum):
    NEW = "new"
    RESUMED = "resumed"  # begun earlier and not sent
    AGAIN = "again"  # the sent answers, at their summary, to change and send again


@dataclass(frozen=True)
class Opened:
    """The response to show: its current question, or its summary."""

    response: FormResponseDTO
    start: Start


@dataclass(frozen=True)
class AlreadySent:
    """The period's SWOT was sent already (by this curator or a colleague)."""

    result: SwotResult


async def open_swot(
    repos: Repos,
    engine: Engine,
    curator_id: int,
    programme: ProgrammeDTO,
    period: str,
    now: datetime,
    *,
    again: bool = False,
) -> Opened | AlreadySent:
    """Resume the curator's unfinished SWOT of the programme and period, or start it. If the period's SWOT
    was sent already, say so — unless they asked to fill it in `again`: then a new response starts at the
    summary of the sent answers, to change what has changed; sent, it replaces them."""
    ctx = context(programme.id, period)
    unfinished = await repos.forms.open_for(curator_id, FORM, ctx)
    if unfinished is not None:
        return Opened(unfinished, Start.RESUMED)
    sent = await repos.swot.submitted(programme.id, period)
    if sent and not again:
        return AlreadySent(_result(sent[0]))
    if not sent:
        return Opened(await engine.begin(repos, curator_id, FORM, now, context=ctx), Start.NEW)
    form = engine.forms[FORM]
    answers = form.relevant_answers(sent[0].answers)
    missing = form.missing_required(answers)  # text erased with its author's data is asked again
    response = await repos.forms.create(
        curator_id,
        FORM,
        form.version,
        now,
        answers=answers,
        current_key=missing[0] if missing else None,
        editing=True,
        context=ctx,
    )
    return Opened(response, Start.AGAIN)


# ------------------------------------------------------------------------------- the campaign's invitation
def _button(programme_id: int, period: str) -> Callable[[Translator], InlineKeyboardMarkup]:
    def buttons(t: Translator) -> InlineKeyboardMarkup:
        kb = InlineKeyboardBuilder()
        data = SwotCb(a=SwotAction.OPEN, p=programme_id, period=period)
        kb.button(text=t("swot.button"), callback_data=data)
        return kb.as_markup()

    return buttons


async def invite_curators(repos: Repos, programme: ProgrammeDTO, today: date, now: datetime) -> int:
    """The monitoring campaign opened: ask each curator of the programme's institution for the period's SWOT,
    once (the dedup key names the programme, the period and the curator) — unless one of them has sent it
    already. Returns how many were new."""
    period = period_of(today)
    if await repos.swot.submitted(programme.id, period):
        return 0
    return await notify(
        repos,
        now,
        await institutions.curators_of_programme(repos, programme.id),
        "swot.invite",
        kind="swot",
        dedup=f"swot:{programme.id}:{period}",
        params={"programme": programme.title, "period": period_name(period)},
        buttons=_button(programme.id, period),
        priority=4,
    )
