"""Logs carry ids and event names, never the token or personal data. Every line written while an update is
handled names that update (`update_id`), in the text and the JSON format alike."""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from typing import IO

TOKEN_RE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
# SQLAlchemy puts a failed statement's bound values into the exception text; they may be a name or an answer.
SQL_PARAMS_RE = re.compile(r"^\[parameters: .*\]$", re.MULTILINE)
UPDATE_ATTR = "_nastavnik_update_id"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# The update being handled; set by bot.middlewares.logctx for the duration of its handling.
current_update_id: ContextVar[int | None] = ContextVar("current_update_id", default=None)


def check_level(name: str) -> str:
    """LOG_LEVEL in any case, as logging names it; anything else is a setting to correct (ValueError)."""
    level = name.strip().upper()
    if level not in LEVELS:
        raise ValueError(f"expected one of {', '.join(LEVELS)}")
    return level


def redact(text: str) -> str:
    return SQL_PARAMS_RE.sub("[parameters: hidden]", TOKEN_RE.sub("<token>", text))


class RedactingFilter(logging.Filter):
    """Last line of defence: a bot token that slipped into a message (e.g. a URL in a library's log), or the
    values of a failed SQL statement."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = redact(msg)
        if clean != msg:
            record.msg = clean
            record.args = ()
        return True


class UpdateContextFilter(logging.Filter):
    """Stamps each record with the update being handled. A handler's failure is logged by aiogram's error
    middleware after the update's own context has ended, so the failing update's id also rides on the
    exception (set by the same middleware)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "update_id", None) is None:
            update_id = current_update_id.get()
            if update_id is None and record.exc_info and record.exc_info[1] is not None:
                update_id = getattr(record.exc_info[1], UPDATE_ATTR, None)
            record.update_id = update_id
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(update)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        update_id = getattr(record, "update_id", None)
        record.update = f" update_id={update_id}" if update_id is not None else ""
        return super().format(record)

    def formatException(self, ei) -> str:
        return redact(super().formatException(ei))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "update_id": getattr(record, "update_id", None),
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False)


def setup_logging(level: str = "INFO", json_logs: bool = False, stream: IO[str] | None = None) -> None:
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.addFilter(UpdateContextFilter())
    handler.setFormatter(JsonFormatter() if json_logs else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(check_level(level))
    # These log SQL parameters or user ids at DEBUG/INFO: personal data must not reach the log even at DEBUG.
    for noisy in ("aiogram.event", "aiosqlite", "sqlalchemy.engine", "asyncpg"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Seven lines on every start about alembic's own plugins say nothing to an operator.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
