"""The desk's endpoints: each parses, calls a use case (bot/services: the same ones the chat commands call)
and renders the outcome as JSON in the person's language. Who may call which is the group it is registered on
(bot/webapp/routes.py)."""

from __future__ import annotations

from datetime import date

from aiohttp import web

from bot.domain import district as dd
from bot.domain import forms as f
from bot.domain import kpi
from bot.domain import matching as m
from bot.domain import roadmap as rm
from bot.domain.entities import ParticipantDTO, ProgrammeDTO, Role, Status
from bot.domain.stages import STAGE_ORDER, MeetingStatus
from bot.i18n import catalog
from bot.services import dashboard, desk, district, institutions, programmes
from bot.services import matching as match_svc
from bot.services import roadmap as roadmap_svc
from bot.services.district_report import cells, headers, period_name
from bot.webapp import schemas as s
from bot.webapp.routes import Access, Desk, Group, Refusal, openapi
from storage.repositories.desk import PeopleFilter
from storage.repositories.roadmap import RoadmapItemDTO

desk_users = Group(Access.DESK)
curator = Group(Access.CURATOR)
coordinator = Group(Access.COORDINATOR)
admin = Group(Access.ADMIN)
GROUPS = (desk_users, curator, coordinator, admin)
IMPORT_MAX = 2 * 1024 * 1024
PAGE_ROLES = (Role.MENTEE, Role.MENTOR, Role.PARENT, Role.CURATOR)


def texts(lang: str) -> dict[str, str]:
    """The page's own texts (locales/<lang>/webapp.yaml), without their namespace."""
    return {k.removeprefix("webapp."): v for k, v in catalog(lang).items() if k.startswith("webapp.")}


def _programme(p: object) -> s.Programme | None:
    return s.Programme(id=p.id, title=p.title, archived=p.archived) if isinstance(p, ProgrammeDTO) else None


@desk_users.get("/api/me", s.Me)
async def me(d: Desk) -> s.Me:
    """Who is signed in, what they may open, and the page's texts"""
    roles = sorted(r.value for r in d.me.roles)
    is_curator = Role.CURATOR in d.me.roles
    institution = programme = None
    if is_curator:
        with_scope = await institutions.enter(d.repos, d.me.id, d.now)
        found = await d.repos.institutions.get(with_scope.institution_id)
        institution = s.Institution(id=found.id, title=found.title) if found else None
        programme = _programme(await programmes.current(d.repos, d.me.id))
    is_coordinator = Role.COORDINATOR in d.me.roles
    return s.Me(
        user=s.User(id=d.me.id, name=d.me.full_name or "", lang=d.t.lang),
        roles=roles,
        can=s.Can(institution=is_curator, district=is_coordinator, docs=is_curator or is_coordinator),
        institution=institution,
        programme=programme,
        texts=texts(d.t.lang),
    )


# -- participants --------------------------------------------------------------------------------------
def _role_names(roles: frozenset[str] | set[str], d: Desk) -> tuple[list[str], list[str]]:
    ordered = sorted(roles)
    return ordered, [d.t(f"roles.{r}") for r in ordered]


@curator.get("/api/participants", s.People, query=s.PeopleQuery)
async def participants(d: Desk) -> s.People:
    """The institution's participants: search, filter by role, status, class and programme, sort, page"""
    q: s.PeopleQuery = d.query
    if q.role is not None and q.role not in {r.value for r in PAGE_ROLES}:
        raise Refusal(422, "invalid")
    if q.status is not None and q.status not in {x.value for x in Status}:
        raise Refusal(422, "invalid")
    base = await desk.programme_filter(d.repos, q.programme)
    if base is None:
        raise Refusal(404, "not_found")
    filt = PeopleFilter(
        query=" ".join(q.q.split()),
        role=q.role,
        status=q.status,
        group=q.group,
        programme=base.programme,
        sort=q.sort,
        descending=q.dir == "desc",
    )
    page = await desk.people(d.repos, filt, q.page, q.size)
    items = []
    for row in page.rows:
        roles, names = _role_names(row.roles, d)
        items.append(
            s.PersonRow(
                id=row.id,
                name=row.full_name,
                group=row.group,
                roles=roles,
                role_names=names,
                status=row.status,
                status_name=d.t(f"desk.status.{row.status}"),
                unreachable=row.unreachable,
                paired=row.paired,
            )
        )
    return s.People(
        total=page.total,
        page=page.page,
        pages=page.pages,
        size=page.size,
        items=items,
        facets=s.Facets(
            roles=[s.Option(value=r.value, name=d.t(f"desk.role.{r.value}")) for r in PAGE_ROLES],
            statuses=[s.Option(value=x.value, name=d.t(f"status.{x.value}")) for x in Status],
            groups=page.groups,
            programmes=[x for p in page.programmes if (x := _programme(p)) is not None],
        ),
    )


def _id(d: Desk, name: str = "id") -> int:
    raw = d.request.match_info.get(name, "")
    if not raw.isdigit() or len(raw) > 12:
        raise Refusal(404, "not_found")
    return int(raw)


@curator.get("/api/participants/{id}", s.Card)
async def participant(d: Desk) -> s.Card:
    """A person's card: class, roles, questionnaire answers, pair, meetings and feedback"""
    forms = d.app.dp["engine"].forms
    found = await desk.person(d.repos, d.me.id, _id(d), forms, d.now)
    if found is None:
        raise Refusal(404, "not_found")
    p = found.card.person
    roles, names = _role_names({r.value for r in p.roles}, d)
    intake = [
        s.Intake(
            form=form.id,
            title=form.title.get(d.t.lang),
            answers=[
                s.Answer(q=q, a=a)
                for q, a in f.summarize(form, response.answers, d.t.lang, d.t, for_others=True)
            ],
        )
        for form, response in found.card.intake
    ]
    lines = {x.id: x for x in found.card.pairs}
    pairs = [
        s.PairLine(
            id=pair.id,
            stage=pair.stage,
            stage_name=d.t(f"meetings.stage.{pair.stage}"),
            group=len(pair.mentee_ids) > 1,
            mentor=found.names.get(pair.mentor_id, "—"),
            mentees=[found.names.get(x, "—") for x in pair.mentee_ids],
            meetings=lines[pair.id].meetings,
            held=lines[pair.id].held,
            feedback=lines[pair.id].feedback,
        )
        for pair in found.pairs
        if pair.id in lines
    ]
    tz = d.app.settings.tz
    meetings = [
        s.MeetingLine(
            id=m.id,
            pair_id=m.pair_id,
            kind_name=d.t(f"meetings.stage.{m.stage}"),
            status=m.status,
            status_name=d.t(f"meetings.status.{m.status}"),
            at=m.starts_at.astimezone(tz) if m.starts_at else None,
            feedback=len(found.feedback.get(m.id, ())),
        )
        for m in found.meetings
    ]
    return s.Card(
        id=p.id,
        name=p.full_name or "",
        group=p.group_name or p.position,
        roles=roles,
        role_names=names,
        status=p.status,
        status_name=d.t(f"desk.status.{p.status}"),
        unreachable=p.unreachable,
        intake=intake,
        pairs=pairs,
        meetings=meetings,
    )


async def _named_person(d: Desk) -> ParticipantDTO:
    """The person the path names (404 once forgotten; another institution's: 403, from the storage layer)."""
    person = await d.repos.participants.get(_id(d))
    if person is None or not person.full_name:
        raise Refusal(404, "not_found")
    return person


@curator.post("/api/participants/{id}/nudge", s.Nudged)
async def participant_nudge(d: Desk) -> s.Nudged:
    """Remind the person to look into the bot (as the chat card's 🔔 does: one reminder a day)"""
    done = await dashboard.nudge(d.repos, d.me.id, await _named_person(d), d.now)
    if done is dashboard.Nudge.UNREACHABLE:
        raise Refusal(409, "unreachable", "desk.error.unreachable")
    sent = done is dashboard.Nudge.SENT
    return s.Nudged(
        sent=sent, message=d.t("questionnaire.nudged" if sent else "questionnaire.nudged_already")
    )


@curator.post("/api/participants/{id}/reach", s.Reach, body=s.ReachBody)
async def participant_reach(d: Desk) -> s.Reach:
    """Mark «no contact» on the person, or take the mark off"""
    body: s.ReachBody = d.body
    mark = await dashboard.set_unreachable(d.repos, d.me.id, await _named_person(d), body.unreachable, d.now)
    return s.Reach(
        unreachable=mark,
        message=d.t("dashboard.marked_unreachable" if mark else "dashboard.marked_reachable"),
    )


# -- pairs ---------------------------------------------------------------------------------------------
@curator.get("/api/pairs", s.Board)
async def pairs(d: Desk) -> s.Board:
    """The programme's active pairs and groups by stage, overdue ones first"""
    board = await desk.board(d.repos, d.me.id, d.now, d.app.settings.timezone)
    stages = []
    for stage, states in board.by_stage.items():
        out = []
        for st in states:
            held = [m for m in st.meetings if m.status == MeetingStatus.HELD]
            coming = [
                m
                for m in st.meetings
                if m.status in (MeetingStatus.PROPOSED, MeetingStatus.CONFIRMED) and m.starts_at >= d.now
            ]
            out.append(
                s.BoardPair(
                    id=st.pair.id,
                    mentor=board.names.get(st.pair.mentor_id, "—"),
                    mentees=[board.names.get(x, "—") for x in st.pair.mentee_ids],
                    group=len(st.pair.mentee_ids) > 1,
                    overdue=st.progress.overdue,
                    overdue_days=st.progress.overdue_days,
                    last_meeting=max(m.starts_at for m in held).astimezone(st.tz).date() if held else None,
                    next_meeting=min(m.starts_at for m in coming).astimezone(st.tz).date()
                    if coming
                    else None,
                )
            )
        stages.append(s.Stage(stage=stage, name=d.t(f"meetings.stage.{stage}"), pairs=out))
    return s.Board(total=board.total, overdue=board.overdue, stages=stages)


# -- matching ------------------------------------------------------------------------------------------
def _matching(found: desk.Proposals, d: Desk) -> s.Matching:
    from handlers.matching import reason_text  # the chat's own wording of a reason

    engine = d.app.dp["engine"]
    people = found.people

    def someone(pid: int, group: bool) -> s.Someone:
        p = people.get(pid)
        return s.Someone(
            id=pid, name=(p.full_name if p else None) or "—", group=(p.group_name if p and group else None)
        )

    return s.Matching(
        run=found.run,
        archived=bool(found.programme and found.programme.archived),
        open=found.open,
        total=len(found.proposals),
        proposals=[
            s.Proposal(
                id=p.id,
                status=p.status,
                score=round(p.score * 100),
                mentee=someone(p.mentee_id, True),
                mentor=someone(p.mentor_id, False),
                reasons=[reason_text(r, engine, d.t) for r in p.reasons],
            )
            for p in found.proposals
        ],
        unmatched=[
            s.Unmatched(id=m, name=someone(m, False).name, reason=d.t(reason))
            for m, reason in found.unmatched
        ],
    )


@curator.get("/api/matching", s.Matching)
async def matching(d: Desk) -> s.Matching:
    """The latest matching run's proposals, with their scores and reasons"""
    return _matching(await desk.proposals(d.repos, d.me.id), d)


@curator.post("/api/matching/run", s.Matching)
async def matching_run(d: Desk) -> s.Matching:
    """Propose pairs again (as /match does): the previous run's open proposals are withdrawn"""
    found = await desk.run_matching(d.repos, d.me.id, d.now)
    if not isinstance(found, desk.Proposals):
        raise _archived(found)
    return _matching(found, d)


def _archived(programme: object) -> Refusal:
    if programme is None:
        return Refusal(409, "no_programme", "programmes.none")
    return Refusal(409, "archived", "programmes.archived_refused", title=getattr(programme, "title", ""))


@curator.get("/api/matching/manual", s.Choices)
async def matching_manual(d: Desk) -> s.Choices:
    """Whom to pair by hand (as /pair offers): mentees without a pair, mentors with their load"""
    pool = await match_svc.build_pool(d.repos, await _open_programme(d))
    mentees = [
        s.Choice(id=x.id, name=p.full_name or "—", group=p.group_name, ready=x.ready)
        for x in pool.mentees
        if (p := pool.people.get(x.id)) is not None
    ]
    mentees.sort(key=lambda c: (c.name, c.id))
    mentors = [
        s.Choice(id=x.id, name=p.full_name or "—", load=x.load, capacity=x.capacity)
        for x in pool.mentors
        if (p := pool.people.get(x.id)) is not None
    ]
    mentors.sort(key=lambda c: (c.name, c.id))
    return s.Choices(mentees=mentees, mentors=mentors)


@curator.post("/api/matching/manual", s.ManualDone, body=s.ManualBody)
async def matching_manual_pair(d: Desk) -> s.ManualDone:
    """Pair a mentee with a mentor by hand: refused with the constraints it breaks unless forced; announced"""
    body: s.ManualBody = d.body
    forms = d.app.dp["engine"].forms
    programme = await _open_programme(d)
    done = await match_svc.pair_by_hand(
        d.repos, programme, body.mentee, body.mentor, body.force, d.me.id, d.now, forms
    )
    if done.stale:
        raise Refusal(409, "conflict", "common.stale")
    violations = [d.t(m.violation_key(v)) for v in done.violations]
    if done.pair is None:
        return s.ManualDone(
            paired=False, pair_id=None, violations=violations, message=d.t("matching.manual_warning")
        )
    return s.ManualDone(
        paired=True, pair_id=done.pair.id, violations=violations, message=d.t("matching.manual_done")
    )


DECISION_KEYS = {
    match_svc.Decision.APPROVED: "matching.approved",
    match_svc.Decision.REJECTED: "matching.rejected",
    match_svc.Decision.ALREADY: "matching.already_decided",
    match_svc.Decision.ALREADY_PAIRED: "matching.problem.already_paired",
    match_svc.Decision.CAPACITY: "matching.problem.capacity",
    match_svc.Decision.STALE: "common.stale",
}


@curator.post("/api/matching/decide", s.Matching, body=s.Decide)
async def matching_decide(d: Desk) -> s.Matching:
    """Approve and reject proposals in bulk; approved pairs are announced in the chat through the outbox"""
    body: s.Decide = d.body
    found = await desk.decide_many(
        d.repos, body.run, body.approve, body.reject, d.me, d.now, d.app.dp["engine"].forms
    )
    archived = next(
        (x.programme for _, x in found.results if x.decision == match_svc.Decision.ARCHIVED), None
    )
    if archived is not None:
        raise _archived(archived)
    view = _matching(await desk.proposals(d.repos, d.me.id, body.run), d)
    view.results = [
        s.Result(id=pid, decision=x.decision.value, message=d.t(DECISION_KEYS[x.decision]))
        for pid, x in found.results
    ]
    view.approved = found.count(match_svc.Decision.APPROVED)
    view.rejected = found.count(match_svc.Decision.REJECTED)
    return view


# -- roadmap -------------------------------------------------------------------------------------------
def _item(item: RoadmapItemDTO, d: Desk) -> s.Item:
    return s.Item(
        id=item.id,
        activity=item.activity,
        responsible=item.responsible,
        status=item.status,
        overdue=item.status == rm.ItemStatus.OPEN and item.due_on is not None and item.due_on < d.today,
        due_on=item.due_on,
        when=roadmap_svc.when(item, d.t, d.today)
        if item.status == rm.ItemStatus.OPEN
        else item.deadline_text,
        recurring=item.deadline_kind == rm.DeadlineKind.RECURRING.value,
        done_at=item.done_at,
    )


@curator.get("/api/roadmap", s.Roadmap)
async def roadmap(d: Desk) -> s.Roadmap:
    """The programme's roadmap: every activity with its responsible person and deadline"""
    found = await desk.roadmap(d.repos, d.me.id)
    items = [_item(i, d) for i in found.items]
    return s.Roadmap(
        programme=_programme(found.programme),
        open=sum(i.status == rm.ItemStatus.OPEN for i in items),
        done=sum(i.status == rm.ItemStatus.DONE for i in items),
        overdue=sum(i.overdue for i in items),
        items=items,
    )


async def _open_programme(d: Desk) -> ProgrammeDTO:
    """The curator's current programme, to change it (refused when there is none or it is archived)."""
    programme = await programmes.current(d.repos, d.me.id)
    if programme is None or programme.archived:
        raise _archived(programme)
    return programme


@curator.post("/api/roadmap/{id}/done", s.Done, body=s.DoneBody)
async def roadmap_done(d: Desk) -> s.Done:
    """Mark an activity done (a recurring one moves to its next date)"""
    body: s.DoneBody = d.body
    done = await roadmap_svc.finish(d.repos, d.me.id, _id(d), body.note.strip() or None, d.today, d.now)
    if done.archived is not None:
        raise _archived(done.archived)
    if done.item is None:
        raise Refusal(409, "conflict", "roadmap_chat.already")
    item = await d.repos.roadmap.get(done.item.id)
    assert item is not None
    return s.Done(item=_item(item, d), next_due=done.next_due)


def _deadline_text(text: str) -> str:
    """A date from the page's date picker (2026-12-25) in the words the chat takes (25.12.2026)."""
    try:
        return date.fromisoformat(text.strip()).strftime("%d.%m.%Y")
    except ValueError:
        return text


@curator.post("/api/roadmap/{id}/move", s.Moved, body=s.MoveBody)
async def roadmap_move(d: Desk) -> s.Moved:
    """Give an open activity a new deadline"""
    body: s.MoveBody = d.body
    moved = await roadmap_svc.reschedule(
        d.repos, d.me.id, _id(d), _deadline_text(body.deadline), d.today, d.now
    )
    if isinstance(moved, rm.Invalid):
        if moved.code == "roadmap_chat.already":
            raise Refusal(409, "conflict", moved.code)
        raise Refusal(422, "deadline", message=roadmap_svc.error_text(d.t, moved))
    if not isinstance(moved, RoadmapItemDTO):
        raise _archived(moved)
    return s.Moved(item=_item(moved, d))


@curator.post("/api/roadmap", s.Added, body=s.AddBody)
async def roadmap_add(d: Desk) -> s.Added:
    """Add one activity (as the chat's «➕ Добавить мероприятие» does)"""
    body: s.AddBody = d.body
    programme = await _open_programme(d)
    entry = roadmap_svc.Entry(body.activity, body.responsible, _deadline_text(body.deadline), body.result)
    added = await roadmap_svc.add_item(d.repos, d.me.id, programme.id, entry, d.today, d.now)
    if isinstance(added, rm.Invalid):
        raise Refusal(422, "deadline", message=roadmap_svc.error_text(d.t, added))
    return s.Added(
        item=_item(added, d),
        message=d.t(
            "roadmap_chat.added",
            activity=roadmap_svc.short(added.activity),
            when=roadmap_svc.when(added, d.t, d.today),
        ),
    )


@curator.post("/api/roadmap/import", s.Imported, multipart=True)
async def roadmap_import(d: Desk) -> s.Imported:
    """Import activities from a file (.xlsx, .csv, .docx): all rows or none"""
    from handlers.roadmap import import_report  # the chat's own report of an import

    programme = await _open_programme(d)
    if d.request.content_length is not None and d.request.content_length > IMPORT_MAX + 64 * 1024:
        raise Refusal(413, "too_big")
    try:
        reader = await d.request.multipart()
        part = await reader.next()
    except (ValueError, AssertionError, KeyError):
        raise Refusal(400, "no_file") from None
    while part is not None and getattr(part, "name", None) != "file":
        part = await reader.next()
    if part is None or not hasattr(part, "read_chunk"):
        raise Refusal(400, "no_file")
    data = bytearray()
    while chunk := await part.read_chunk():
        data += chunk
        if len(data) > IMPORT_MAX:
            raise Refusal(413, "too_big")
    outcome = await roadmap_svc.import_items(
        d.repos, d.me.id, programme.id, part.filename or "", bytes(data), d.today, d.now
    )
    report = import_report(outcome, d.t)
    if not outcome.ok:
        refused = Refusal(422, "import", "desk.error.import")
        refused.errors = [roadmap_svc.error_text(d.t, e) for e in outcome.errors[:100]]
        raise refused
    return s.Imported(imported=outcome.imported, skipped=outcome.skipped, message=report)


# -- KPIs ----------------------------------------------------------------------------------------------
@curator.get("/api/kpis", s.Kpis)
async def kpis(d: Desk) -> s.Kpis:
    """The programme's indicators against their targets (the dashboard's figures), people and pairs"""
    programme = await programmes.current(d.repos, d.me.id)
    board = await dashboard.build(d.repos, d.now, d.app.settings.timezone, d.today, programme)
    fig = board.figures
    notes = []
    if fig.population_stale:
        notes.append(d.t("dashboard.population_stale", engaged=fig.inputs.engaged, population=fig.population))
    elif board.population is None:
        notes.append(d.t("dashboard.population_hint"))
    notes += [dashboard.growth_line(fig, d.t), dashboard.swot_line(fig, d.t)]
    return s.Kpis(
        year=fig.year_label,
        programme=_programme(fig.programme),
        indicators=[
            s.Indicator(
                code=v.code,
                name=d.t(kpi.kpi_label_key(v.code)),
                value=v.value,
                target=v.target,
                light=str(v.light),
            )
            for v in board.kpis
        ],
        people=[
            s.RolePeople(
                role=role,
                name=d.t(f"dashboard.role.{role}"),
                buckets=[
                    s.Bucket(name=d.t(dashboard.bucket_key(role, k)), count=n)
                    for k, n in board.people.get(role, {}).items()
                    if n
                ],
            )
            for role in ("mentee", "mentor", "parent")
        ],
        pairs_by_stage=[
            s.StageCount(
                stage=st.value,
                name=d.t(f"meetings.stage.{st.value}"),
                count=board.pairs_by_stage.get(st.value, 0),
            )
            for st in STAGE_ORDER
        ],
        pairs=s.PairCounts(
            active=fig.pairs_active,
            overdue=fig.overdue,
            finished=fig.pairs_finished,
            dissolved=fig.pairs_dissolved,
        ),
        notes=[n for n in notes if n],
    )


# -- the district --------------------------------------------------------------------------------------
@coordinator.get("/api/district", s.District)
async def district_view(d: Desk) -> s.District:
    """Every institution's aggregates for the current monitoring period (no child's personal data)"""
    settings = d.app.settings
    period = dd.periods_around(d.today, 1)[0]
    found = await district.build(d.repos, d.now, settings.timezone, d.today, period)
    small = settings.small_numbers
    return s.District(
        period=period_name(d.t, period),
        as_of=found.as_of.astimezone(settings.tz) if found.as_of else None,
        headers=[d.t("desk.district.institution"), *headers(d.t)],
        rows=[
            s.DistrictRow(institution=r.institution.title, cells=cells(r.figures, r.targets, d.t, small))
            for r in found.rows
        ],
        total=[d.t("desk.district.total"), *cells(found.total, found.targets, d.t, small)],
    )


# -- documentation -------------------------------------------------------------------------------------
@admin.get("/api/docs", s.Model)
async def docs(d: Desk) -> web.Response:
    """This API's OpenAPI document"""
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("nastavnik")
    except PackageNotFoundError:
        release = "0"
    response = web.json_response(openapi(endpoints(), release))
    response.enable_compression()
    return response


def endpoints() -> list:
    return [e for g in GROUPS for e in g.endpoints]
