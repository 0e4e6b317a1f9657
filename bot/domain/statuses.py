"""Where a stored row stands: outbox messages, reminders, monitoring campaigns, cases, match proposals and
mentors of the base.

The values are the strings the database holds (and the migrations wrote): renaming a member is free,
changing a value needs a migration. Meetings (``stages.MeetingStatus``), participants, pairs and form
responses (``entities.Status``, ``PairStatus``, ``ResponseStatus``) and roadmap items (``roadmap.ItemStatus``)
keep theirs beside the code that reads them. Pure domain code, standard library only, so storage/ imports it
without loading the matching optimiser.
"""

from __future__ import annotations

from enum import StrEnum


class OutboxStatus(StrEnum):
    """An outgoing message (outbox.status): pending → sending → one of the final states."""

    PENDING = "pending"
    SENDING = "sending"  # claimed by a sender, its request may be under way
    SENT = "sent"
    UNREACHABLE = "unreachable"  # 403: the person blocked the bot
    FAILED = "failed"
    DROPPED = "dropped"  # not sent on purpose (the person left, was forgotten)
    UNCERTAIN = "uncertain"  # the sender stopped mid-send: Telegram may or may not have it
    EXPIRED = "expired"  # time-bound and no longer meaningful


class ReminderStatus(StrEnum):
    """A reminder row (reminders.status): pending until it is fired or cancelled."""

    PENDING = "pending"
    SENT = "sent"
    DROPPED = "dropped"  # nothing to say
    EXPIRED = "expired"  # too late to mean anything
    CANCELLED = "cancelled"  # its meeting moved or was cancelled, its person was forgotten


class CampaignStatus(StrEnum):
    """A monitoring campaign (campaigns.status)."""

    OPEN = "open"
    CLOSED = "closed"


class CaseStatus(StrEnum):
    """A story of the case base (cases.status): published only once every member agreed."""

    PROPOSED = "proposed"
    PUBLISHED = "published"
    DECLINED = "declined"


class MentorStatus(StrEnum):
    """Where a mentor stands in the base (mentor_profiles.status); no row means a candidate."""

    CANDIDATE = "candidate"
    INTERVIEWED = "interviewed"
    APPROVED = "approved"
    DECLINED = "declined"
    ACTIVE = "active"  # approved and leading a pair
    RESTING = "resting"  # paused by the mentor


class ProposalStatus(StrEnum):
    """Where a proposal of a /match run stands (match_proposals.status)."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # a newer /match run replaced the open ones
