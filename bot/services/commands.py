"""Which bot commands each person sees in their menu, by role (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain.entities import Role

BASE = ("start", "help", "language", "consent", "privacy", "mydata", "forget", "cancel")
BY_ROLE: dict[Role, tuple[str, ...]] = {
    Role.MENTEE: (
        "profile",
        "meeting",
        "meetings",
        "goals",
        "materials",
        "cases",
        "honour",
        "certificate",
        "parent",
    ),
    Role.MENTOR: (
        "profile",
        "meeting",
        "meetings",
        "goals",
        "materials",
        "rest",
        "cases",
        "honour",
        "honour_optout",
        "certificate",
        "parent",
    ),
    Role.PARENT: ("materials",),
    Role.CURATOR: (
        "dashboard",
        "programme",
        "invite",
        "invites",
        "roles",
        "participants",
        "forget_participant",
        "population",
        "questionnaires",
        "match",
        "pair",
        "pairs",
        "announce",
        "alerts",
        "mentors",
        "training",
        "materials",
        "material_add",
        "registry",
        "export",
        "report",
        "report_doc",
        "swot",
        "roadmap",
        "close_pair",
        "cases",
        "honour",
        "institution",
    ),
    Role.COORDINATOR: ("institutions", "district", "district_report", "district_announce"),
}
# Before joining, too: what the bot keeps and why is known before consenting (/privacy).
PUBLIC = ("start", "help", "language", "privacy")


def commands_for(roles: Iterable[Role]) -> list[str]:
    out = list(BASE)
    for role in sorted(set(roles), key=lambda r: r.value):
        out += [c for c in BY_ROLE[role] if c not in out]
    return out
