"""Logs carry ids and event names, never the token or personal data."""

from __future__ import annotations

import json
import logging
import re

TOKEN_RE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")


class RedactingFilter(logging.Filter):
    """Last line of defence: a bot token that slipped into a message (e.g. a URL in a library's log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if TOKEN_RE.search(msg):
            record.msg = TOKEN_RE.sub("<token>", msg)
            record.args = ()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(level: str = "INFO", json_logs: bool = False) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(
        JsonFormatter() if json_logs else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # These log SQL parameters or user ids at DEBUG/INFO: personal data must not reach the log even at DEBUG.
    for noisy in ("aiogram.event", "aiosqlite", "sqlalchemy.engine", "asyncpg"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
