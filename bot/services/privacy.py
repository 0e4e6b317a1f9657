"""A person's data rights (152-FZ): a copy of everything stored about them (/mydata), being forgotten at once
(/forget, by themselves, a parent or the curator), and the same-day erasure after consent is withdrawn.
What stays is anonymous statistics: status, roles, dates, stages and integer/scale answers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.domain.entities import ParticipantDTO, Role, Status
from bot.domain.forms import Form
from bot.i18n import Translator
from bot.services import onboarding
from bot.services.pseudonyms import key_for, pseudonym
from bot.text import clip, units
from storage.uow import Repos

EXPORT_FORMAT = "nastavnik-mydata/1"
FORGET_BY = ("self", "parent", "curator")
SEARCH_LIMIT = 10  # people shown to a curator looking for whom to forget
# Telegram's limits for the bot's description (before Start) and short description (profile, shared links).
DESCRIPTION_LIMIT = 512
SHORT_DESCRIPTION_LIMIT = 120


@dataclass(frozen=True)
class PersonalData:
    subject_id: int
    generated_at: datetime
    sections: dict[str, Any]

    def to_json(self) -> bytes:
        doc = {"format": EXPORT_FORMAT, "generated_at": self.generated_at, **self.sections}
        return json.dumps(doc, ensure_ascii=False, indent=2, default=_jsonable).encode("utf-8")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


async def export(repos: Repos, subject_id: int, *, actor_id: int, now: datetime) -> PersonalData | None:
    """Everything stored about a person, for themselves or their parent. The request is audited."""
    sections = await repos.privacy.export(subject_id)
    if sections is None:
        return None
    await repos.audit.log(
        "privacy.export",
        now,
        actor_id=actor_id,
        object_type="participant",
        object_id=subject_id,
        by="self" if actor_id == subject_id else "parent",
    )
    return PersonalData(subject_id=subject_id, generated_at=now, sections=sections)


@dataclass(frozen=True)
class Forgotten:
    participant_id: int
    # Needed once by the caller (clearing the conversation state, the chat menu); stored nowhere.
    former_telegram_id: int | None
    counts: dict[str, int]


def ledger_key(bot_token: str) -> bytes:
    """The key of the erasure ledger's pseudonyms (bot/services/pseudonyms.py)."""
    return key_for("erasure-ledger", bot_token)


async def erase(repos: Repos, participant_id: int, now: datetime, *, key: bytes | None = None) -> Forgotten:
    """Erase everything personal about one person; the anonymised row, roles, consent records (without the
    Telegram id), pairs, meetings' dates and numeric answers stay as statistics. The erasure goes into the
    ledger (an HMAC of the Telegram id under ``key``, and the participant's number), so a restored backup
    is erased again."""
    person = await repos.participants.get(participant_id)
    tg = person.telegram_id if person is not None else None
    counts = await repos.privacy.erase(participant_id, now)
    await repos.participants.anonymise(participant_id, now)
    anon = pseudonym(key, tg) if key is not None and tg is not None else None
    await repos.privacy.record_erasure(anon, participant_id, now)
    return Forgotten(participant_id, tg, counts)


async def forget(
    repos: Repos,
    subject: ParticipantDTO,
    *,
    actor_id: int,
    by: str,
    now: datetime,
    key: bytes | None = None,
) -> Forgotten:
    """Withdraw consent and erase the person's data right now, not at the next hourly run."""
    assert by in FORGET_BY
    if subject.status != Status.WITHDRAWN.value:
        await onboarding.withdraw(repos, subject, actor_id=actor_id, now=now)
    else:
        await repos.consents.withdraw_all(subject.id, now)
    done = await erase(repos, subject.id, now, key=key)
    await repos.audit.log(
        "privacy.forget",
        now,
        actor_id=actor_id,
        object_type="participant",
        object_id=subject.id,
        by=by,
        **done.counts,
    )
    return done


async def erase_due(repos: Repos, now: datetime, *, key: bytes | None = None) -> list[Forgotten]:
    """People who withdrew consent and whose deletion is due (participants.deletion_due_at <= now) are
    erased, as fully as by /forget. The column is the deadline: run at start and hourly, nothing waits for
    a timer that a restart would reset."""
    done = []
    for pid in await repos.participants.due_for_anonymisation(now):
        erased = await erase(repos, pid, now, key=key)
        await repos.audit.log(
            "privacy.anonymise", now, object_type="participant", object_id=pid, **erased.counts
        )
        done.append(erased)
    return done


LedgerEntry = tuple[str | None, int, datetime]


async def reapply_ledger(
    repos: Repos, entries: list[LedgerEntry], now: datetime, *, key: bytes | None = None
) -> list[Forgotten]:
    """After a restore: whoever the ledger (the restored one and ``entries``, the replaced database's) says
    was erased is erased again — by participant number, and by Telegram id where the key is known (a row
    that joined before that erasure). Nobody forgotten since the backup comes back."""
    repo = repos.privacy
    await repo.merge_ledger(entries)
    ledger = await repo.ledger()
    by_id = {pid for _, pid, _ in ledger}
    by_anon: dict[str, datetime] = {}
    for anon, _, at in ledger:
        if anon is not None:
            by_anon[anon] = max(at, by_anon.get(anon, at))
    done = []
    for pid, tg, joined in await repo.identified():
        again = pid in by_id
        if not again and key is not None and tg is not None:
            erased_at = by_anon.get(pseudonym(key, tg))
            again = erased_at is not None and joined <= erased_at
        if not again:
            continue
        person = await repos.participants.get(pid)
        if person is not None and person.status != Status.WITHDRAWN.value:
            # As they did before: consent withdrawn, their pairs left (the others told, without the name).
            await onboarding.withdraw(repos, person, actor_id=pid, now=now)
        erased = await erase(repos, pid, now, key=key)
        await repos.audit.log(
            "privacy.reapply", now, object_type="participant", object_id=pid, **erased.counts
        )
        done.append(erased)
    return done


async def minor_children(repos: Repos, me: ParticipantDTO) -> list[ParticipantDTO]:
    """Children a parent may act for: a legal representative speaks for a minor, not for an adult."""
    if not me.has(Role.PARENT):
        return []
    return [
        c
        for c in await repos.participants.children_of(me.id)
        if c.is_minor is not False and c.telegram_id is not None
    ]


async def data_subject(repos: Repos, me: ParticipantDTO | None, subject_id: int) -> ParticipantDTO | None:
    """Only oneself, or one's own minor child, may be the subject of /mydata and /forget."""
    if me is None or me.telegram_id is None:
        return None
    if subject_id == me.id:
        return me
    return next((c for c in await minor_children(repos, me) if c.id == subject_id), None)


async def forget_on_request(
    repos: Repos, me: ParticipantDTO | None, subject_id: int, *, now: datetime, key: bytes | None = None
) -> Forgotten | None:
    """/forget: oneself, or one's minor child, erased now. None when the subject is neither."""
    subject = await data_subject(repos, me, subject_id)
    if subject is None or me is None:
        return None
    by = "self" if subject.id == me.id else "parent"
    return await forget(repos, subject, actor_id=me.id, by=by, now=now, key=key)


async def find_people(repos: Repos, query: str) -> tuple[list[ParticipantDTO], int]:
    """The curator's search for whom to forget: the first matches, and how many there are."""
    ids, total = await repos.dashboard.search_participants(query, 0, SEARCH_LIMIT)
    found = await repos.participants.get_many(ids)
    return [found[i] for i in ids if i in found], total


async def forgettable(repos: Repos, participant_id: int) -> ParticipantDTO | None:
    """The person, unless already forgotten (no Telegram id and no name left)."""
    person = await repos.participants.get(participant_id)
    if person is None or (person.telegram_id is None and person.full_name is None):
        return None
    return person


async def forget_by_curator(
    repos: Repos, participant_id: int, *, actor_id: int, now: datetime, key: bytes | None = None
) -> Forgotten | None:
    """The curator erases a person on their (or their parent's) request. None when already forgotten."""
    person = await forgettable(repos, participant_id)
    if person is None:
        return None
    return await forget(repos, person, actor_id=actor_id, by="curator", now=now, key=key)


# -- the readable summary that comes with the file ---------------------------------------------------------


def _day(value: Any, tz: ZoneInfo) -> str:
    if isinstance(value, datetime):
        return value.astimezone(tz).strftime("%d.%m.%Y")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    return "—"


def render_summary(
    data: PersonalData, t: Translator, tz: ZoneInfo, forms: Mapping[str, Form], *, child: bool = False
) -> str:
    s = data.sections
    p = s["participant"]
    lines = [
        t(
            "privacy.summary.header_child" if child else "privacy.summary.header",
            date=_day(data.generated_at, tz),
        ),
        "",
        t("privacy.summary.name", value=p["full_name"] or "—"),
    ]
    if p["group_name"]:
        lines.append(t("privacy.summary.group", value=p["group_name"]))
    if p["position"]:
        lines.append(t("privacy.summary.position", value=p["position"]))
    if p["username"]:
        lines.append(t("privacy.summary.username", value=p["username"]))
    lines.append(t("privacy.summary.telegram_id", value=p["telegram_id"] or "—"))
    roles = ", ".join(t(f"roles.{r['role']}") for r in s["roles"]) or "—"
    lines.append(t("privacy.summary.roles", value=roles))
    lines.append(t("privacy.summary.status", value=t(f"status.{p['status']}")))
    lines += ["", t("privacy.summary.consents")]
    for c in s["consents"]:
        key = "privacy.summary.consent_given" if c["accepted"] else "privacy.summary.consent_refused"
        line = t(
            key,
            kind=t(f"privacy.consent_kind.{c['kind']}"),
            version=c["version"],
            date=_day(c["decided_at"], tz),
        )
        if c["withdrawn_at"]:
            line += t("privacy.summary.consent_withdrawn", date=_day(c["withdrawn_at"], tz))
        lines.append(line)
    if not s["consents"]:
        lines.append(t("privacy.summary.none"))
    lines += ["", t("privacy.summary.questionnaires")]
    for r in s["questionnaires"]:
        form = forms.get(r["form_id"])
        title = form.title.get(t.lang) if form else r["form_id"]
        lines.append(
            t(
                "privacy.summary.questionnaire",
                title=title,
                version=r["version"],
                status=t(f"privacy.form_status.{r['status']}"),
                date=_day(r["submitted_at"] or r["updated_at"], tz),
                answers=len(r["answers"]),
            )
        )
    if not s["questionnaires"]:
        lines.append(t("privacy.summary.none"))
    lines += [
        "",
        t(
            "privacy.summary.counts",
            feedback=len(s["feedback"]),
            pairs=len(s["pairs"]),
            meetings=len(s["meetings"]),
            goals=len(s["development_goals"]),
            materials=len(s["materials_read"]),
            reminders=len(s["reminders"]),
            messages=len(s["messages"]),
            audit=len(s["audit"]),
        ),
        "",
        t("privacy.summary.footer_child" if child else "privacy.summary.footer"),
    ]
    # Whole, however long: the handler splits it into messages Telegram takes (handlers/long_text.py).
    return "\n".join(lines)


# -- the policy: who is the operator, what is kept, why, how long, the rights ------------------------------


@dataclass(frozen=True)
class Operator:
    """Who runs the bot and answers for the data (PRIVACY_OPERATOR_NAME), and where to ask (PRIVACY_CONTACT);
    empty when the settings leave them out."""

    name: str
    contact: str


def operator(settings: Settings) -> Operator:
    return Operator(
        " ".join(settings.privacy_operator_name.split()), " ".join(settings.privacy_contact.split())
    )


def policy_text(t: Translator, who: Operator) -> str:
    """/privacy: the operator and where to ask, what is kept, why, who sees it, how long (as the code keeps
    it: until consent is withdrawn — erased within the hour by the hourly job — or /forget, at once;
    anonymous statistics stay) and how to use each right."""
    return t(
        "conventions.privacy.policy",
        operator=who.name or t("conventions.privacy.operator_unset"),
        contact=who.contact or t("conventions.privacy.contact_unset"),
    )


def about(t: Translator, who: Operator) -> tuple[str, str]:
    """The bot's description (what a parent reads before pressing Start) and short description, within
    Telegram's limits: a long operator name is shortened in the description and left out of the short one."""
    unset = t("conventions.privacy.operator_unset")
    room = DESCRIPTION_LIMIT - units(t("conventions.about.description", operator=""))
    description = t("conventions.about.description", operator=clip(who.name or unset, room))
    short = t("conventions.about.short", operator=who.name) if who.name else ""
    if not short or units(short) > SHORT_DESCRIPTION_LIMIT:
        short = t("conventions.about.short_generic")
    return description, short
