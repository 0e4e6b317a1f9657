"""The mentor base (стадия 3 целевой модели): lifecycle, training, registries. No Telegram here."""

from __future__ import annotations

from datetime import date, datetime

from bot.domain import forms as f
from bot.domain import registries as reg
from bot.domain.entities import NewMessage, Role, Status
from bot.i18n import Translator
from storage.uow import Repos

# Who may move where. "active" = approved and leading a pair; "resting" = paused by the mentor.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "interviewed": ("candidate", "interviewed"),
    "approved": ("candidate", "interviewed"),
    "declined": ("candidate", "interviewed"),
    "active": ("approved",),
    "resting": ("approved", "active"),
}
MATCHABLE = ("approved", "active")


def matchable(status: str) -> bool:
    return status in MATCHABLE


async def move(
    repos: Repos, mentor_id: int, status: str, now: datetime, by: int | None, **fields: object
) -> bool:
    ok = await repos.mentor_base.set_status(
        mentor_id, status, now, expect=TRANSITIONS[status], by=by, **fields
    )
    if ok:
        await repos.audit.log(
            "mentor.status", now, actor_id=by, object_type="participant", object_id=mentor_id, status=status
        )
    return ok


async def toggle_rest(repos: Repos, mentor_id: int, now: datetime) -> str | None:
    """A mentor pauses or comes back. Returns the new status, or None if they are not in the base yet."""
    status = (await repos.mentor_base.profile(mentor_id)).status
    if status in ("approved", "active"):
        await repos.mentor_base.set_status(mentor_id, "resting", now, expect=(status,), by=mentor_id)
        return "resting"
    if status == "resting":
        back = "active" if await repos.pairs.is_paired(mentor_id) else "approved"
        await repos.mentor_base.set_status(mentor_id, back, now, expect=("resting",), by=mentor_id)
        return back
    return None


def notice(person, key: str, now: datetime, dedup: str, **params: object) -> NewMessage:  # type: ignore[no-untyped-def]
    t = Translator(person.language)
    return NewMessage(
        chat_id=person.telegram_id,
        participant_id=person.id,
        kind="mentor_base",
        priority=2,
        text=t(key, **params),
        dedup_key=dedup,
    )


async def registry_rows(
    repos: Repos, forms: dict[str, f.Form], t: Translator, today: date
) -> tuple[list[reg.MentorRow], list[reg.MenteeRow], list[reg.PairRow]]:
    mentors = [p for p in await repos.participants.with_role(Role.MENTOR) if p.full_name]
    statuses = await repos.mentor_base.statuses([p.id for p in mentors])
    trainings = await repos.mentor_base.trainings_done([p.id for p in mentors])
    loads = await repos.pairs.loads()
    pairs = await repos.pairs.active()
    pairs_by_mentor: dict[int, int] = {}
    for p in pairs:
        pairs_by_mentor[p.mentor_id] = pairs_by_mentor.get(p.mentor_id, 0) + 1
    rated = await repos.meetings.mentee_ratings([p.id for p in mentors])
    mentor_form = forms.get("mentor")
    mentor_rows = []
    for p in mentors:
        answers = await repos.forms.latest_submitted(p.id, "mentor") or None
        a = answers.answers if answers else {}
        areas = a.get("areas") or []
        if mentor_form is not None and "areas" in mentor_form.keys:
            q = mentor_form.question("areas")
            areas = [o.text.get(t.lang) if (o := q.option(x)) else x for x in areas]
        scores = rated.get(p.id, [])
        mentor_rows.append(
            reg.MentorRow(
                full_name=p.full_name or "",
                position=p.position or "",
                status=t(f"mentor_base.status.{statuses[p.id]}"),
                areas=list(areas),
                capacity=int(a.get("capacity") or 0),
                load=loads.get(p.id, 0),
                trainings_done=trainings.get(p.id, 0),
                pairs=pairs_by_mentor.get(p.id, 0),
                rating=round(sum(scores) / len(scores), 2) if scores else None,
            )
        )
    names = {}
    for p in await repos.participants.with_role(Role.MENTEE):
        names[p.id] = p
    paired_with: dict[int, str] = {}
    mentor_names = {p.id: p.full_name or "" for p in mentors}
    for pair in pairs:
        for mid in pair.mentee_ids:
            paired_with[mid] = mentor_names.get(pair.mentor_id, "")
    mentee_rows = []
    for p in names.values():
        if not p.full_name or p.status == Status.WITHDRAWN.value:
            continue
        intake = None
        for fid in ("mentee_needs", "young_specialist_needs"):
            intake = intake or await repos.forms.latest_submitted(p.id, fid)
        form = forms.get(intake.form_id) if intake else None
        needs = ""
        if intake and form:
            needs = "; ".join(
                f"{q}: {a}"
                for q, a in f.summarize(
                    form,
                    {k: v for k, v in intake.answers.items() if k in ("goals", "areas", "format")},
                    t.lang,
                    t,
                )
            )
        mentee_rows.append(
            reg.MenteeRow(
                full_name=p.full_name,
                group=p.group_name or "",
                status=t(f"status.{p.status}"),
                form_title=form.title.get(t.lang) if form else "",
                needs=needs,
                paired_with=paired_with.get(p.id),
            )
        )
    pair_rows = []
    for n, pair in enumerate(pairs, 1):
        mentor = next((m for m in mentors if m.id == pair.mentor_id), None)
        pair_rows.append(
            reg.PairRow(
                number=n,
                mentor=mentor.full_name if mentor else "",
                mentor_position=(mentor.position or "") if mentor else "",
                mentees=[names[x].full_name or "" for x in pair.mentee_ids if x in names],
                mentoring_form=t("mentor_base.form_of_pair"),
                stage=t(f"meetings.stage.{pair.stage}"),
                approved_on=pair.created_at.date(),
            )
        )
    return mentor_rows, mentee_rows, pair_rows
