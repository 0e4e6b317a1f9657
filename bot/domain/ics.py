"""An RFC 5545 calendar file for one meeting, sent as a document so it lands in any calendar app.

Pure domain code: ``now`` (DTSTAMP) is passed in. Times are written in UTC ("Z") so no
VTIMEZONE block is needed and every client shows the meeting in its own zone.

A meeting keeps one UID for life. The first file publishes it; a move is re-sent as METHOD:REQUEST with the
new time, and a cancellation as METHOD:CANCEL with STATUS:CANCELLED, each under the same UID and a higher
SEQUENCE, so the calendar app moves or removes the event it already has instead of adding another
(RFC 5546 §3.2.2 and §3.2.5).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

PRODID = "-//Nastavnik//Mentoring bot//RU"
CRLF = "\r\n"
MAX_LINE_OCTETS = 75
DEFAULT_ALARM = timedelta(hours=1)
METHODS = ("PUBLISH", "REQUEST", "CANCEL")
STATUSES = ("TENTATIVE", "CONFIRMED", "CANCELLED")


def escape_text(value: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11); other control characters are not allowed in TEXT."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for char in value:
        if char == "\\":
            out.append("\\\\")
        elif char == ";":
            out.append("\\;")
        elif char == ",":
            out.append("\\,")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t" or (ord(char) >= 0x20 and ord(char) != 0x7F):
            out.append(char)
    return "".join(out)


def fold_line(line: str) -> str:
    """Fold a content line at 75 octets (§3.1), never inside a UTF-8 multibyte character.

    Continuation lines start with a space, which counts towards their 75 octets.
    """
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    limit = MAX_LINE_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            chunks.append("".join(current))
            current, size, limit = [], 0, MAX_LINE_OCTETS - 1
        current.append(char)
        size += width
    chunks.append("".join(current))
    return (CRLF + " ").join(chunks)


def format_utc(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("calendar times must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def format_duration(delta: timedelta) -> str:
    """DURATION value (§3.3.6), e.g. ``-PT1H`` or ``-P1DT2H30M``."""
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    out = f"{sign}P"
    if days:
        out += f"{days}D"
    if hours or minutes or secs or not days:
        out += "T"
        if hours:
            out += f"{hours}H"
        if minutes:
            out += f"{minutes}M"
        if secs or not (hours or minutes):
            out += f"{secs}S"
    return out


def _single_line(value: str, name: str) -> str:
    # UID and URL are not TEXT and have no escaping, so a newline would forge a property.
    if any(c in value for c in "\r\n") or not value.strip():
        raise ValueError(f"{name} must be a non-empty single line")
    return value.strip()


def meeting_uid(meeting_id: int, host: str = "nastavnik.bot") -> str:
    """Stable per meeting, so a re-sent file after a reschedule updates the event instead of adding one."""
    return f"meeting-{meeting_id}@{host}"


def make_ics(
    uid: str,
    starts_at: datetime,
    ends_at: datetime,
    summary: str,
    description: str = "",
    location: str | None = None,
    url: str | None = None,
    *,
    now: datetime,
    sequence: int = 0,
    alarm_before: timedelta | None = DEFAULT_ALARM,
    prodid: str = PRODID,
    method: str = "PUBLISH",
    status: str | None = None,
) -> bytes:
    """The .ics bytes (UTF-8, CRLF, folded) for one event.

    Bump ``sequence`` when re-sending a changed meeting under the same ``uid``: calendar apps
    ignore an update whose SEQUENCE is not higher than the one they have. ``method`` is the
    calendar's METHOD (PUBLISH, REQUEST for a moved event, CANCEL to remove it) and ``status``
    the event's STATUS, left out when None. A cancelled event carries no alarm.
    """
    if ends_at <= starts_at:
        raise ValueError("ends_at must be after starts_at")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}")
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    if method == "CANCEL":
        status, alarm_before = "CANCELLED", None
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{_single_line(prodid, 'prodid')}",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{_single_line(uid, 'uid')}",
        f"DTSTAMP:{format_utc(now)}",
        f"DTSTART:{format_utc(starts_at)}",
        f"DTEND:{format_utc(ends_at)}",
        f"SEQUENCE:{int(sequence)}",
        f"SUMMARY:{escape_text(summary)}",
    ]
    if status is not None:
        lines.append(f"STATUS:{status}")
    if description:
        lines.append(f"DESCRIPTION:{escape_text(description)}")
    if location:
        lines.append(f"LOCATION:{escape_text(location)}")
    if url:
        lines.append(f"URL:{_single_line(url, 'url')}")
    if alarm_before is not None:
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            # DISPLAY alarms require a DESCRIPTION; the summary is what the user wants to see.
            f"DESCRIPTION:{escape_text(summary)}",
            f"TRIGGER:{format_duration(-alarm_before)}",
            "END:VALARM",
        ]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "".join(fold_line(line) + CRLF for line in lines).encode("utf-8")
