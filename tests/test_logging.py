"""Structured logs: every line written while an update is handled carries its update id (JSON and text), and
no line carries personal data — not even a failed SQL statement's values inside a traceback, at DEBUG."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from bot.demo.harness import Harness
from bot.logging_setup import setup_logging
from storage.repositories.forms import FormRepo
from tests.helpers import onboard_curator, onboard_mentee

NAME = "Петрова Ирина Олеговна"
PHONE = "+7 912 345-67-89"
ANSWER = f"Тяжело с дробями, звоните маме {PHONE}"
NOISY = ("aiogram.event", "aiosqlite", "sqlalchemy.engine", "asyncpg")


@pytest.fixture
def log_to() -> Iterator[io.StringIO]:
    """The app's logging set up into a buffer for one test, then put back as it was."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, {n: logging.getLogger(n).level for n in NOISY}
    buf = io.StringIO()
    yield buf
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


def record_update_ids(h: Harness) -> list[int]:
    """The ids of the updates fed to the dispatcher, in order."""
    ids: list[int] = []
    feed = h.feed

    async def recording(update: dict) -> None:
        update.setdefault("update_id", 900_000 + len(ids))
        ids.append(update["update_id"])
        await feed(update)

    h.feed = recording  # type: ignore[method-assign]
    return ids


async def test_json_lines_carry_the_update_id_and_no_personal_data(h, log_to, monkeypatch):
    setup_logging("DEBUG", json_logs=True, stream=log_to)
    ids = record_update_ids(h)
    c = await onboard_curator(h)
    u = await onboard_mentee(h, c, 2701, name=NAME)
    await u.click("Школа, 8–9 класс")
    await u.click("▫️ Улучшить успеваемость")
    await u.click("Готово")
    await u.click("▫️ Математика")
    await u.click("Готово")
    start = log_to.tell()

    await u.send("/dashboard")  # a curator command: refused, and the refusal is logged
    denied = ids[-1]
    await u.press("zz:forged")  # unknown button data: logged
    forged = ids[-1]

    async def failing_save(self, response_id, now, **values):
        # A statement that fails with the person's answer among its bound values, as a real one could.
        await self.s.execute(text("SELECT * FROM no_such_table WHERE x = :x"), {"x": json.dumps(values)})

    monkeypatch.setattr(FormRepo, "save", failing_save)
    replies = await u.send(ANSWER)
    failed = ids[-1]
    assert "что-то пошло не так" in replies[-1].text  # the person got the apology

    log_to.seek(start)
    lines = [json.loads(line) for line in log_to.read().splitlines() if line.strip()]
    assert all({"time", "level", "logger", "update_id", "message"} <= set(line) for line in lines)
    by_update = {}
    for line in lines:
        by_update.setdefault(line["update_id"], []).append(line)
    assert any("access denied" in line["message"] for line in by_update.get(denied, [])), lines
    assert any("unrecognised callback" in line["message"] for line in by_update.get(forged, [])), lines
    errors = [line for line in by_update.get(failed, []) if line["logger"] == "nastavnik.errors"]
    assert errors and "OperationalError" in errors[0]["exc"]
    # The engine hides a failed statement's values (hide_parameters); the log's own redaction is the backstop.
    exc = errors[0]["exc"]
    assert "SQL parameters hidden" in exc or "[parameters: hidden]" in exc
    everything = log_to.getvalue()
    for secret in (NAME, "Петрова", "Ирина", PHONE, "912 345", "дробями"):
        assert secret not in everything, secret


async def test_text_lines_name_the_update(h, log_to):
    setup_logging("INFO", json_logs=False, stream=log_to)
    ids = record_update_ids(h)
    stranger = h.user(2702, "Someone")
    await stranger.press("zz:forged")
    line = next(ln for ln in log_to.getvalue().splitlines() if "unrecognised callback" in ln)
    assert f"nastavnik.fallback update_id={ids[-1]}: unrecognised callback" in line
    logging.getLogger("nastavnik").warning("outside any update")
    assert "nastavnik: outside any update" in log_to.getvalue()


def test_the_backstop_hides_sql_values_and_tokens_that_reach_a_log_line() -> None:
    from bot.logging_setup import redact

    text = (
        "boom\n[SQL: UPDATE x SET y=?]\n[parameters: ('Петрова Ирина',)]\n"
        "url /bot123456:ABCDEFGHIJKLMNOPQRSTUVWX/x"
    )
    clean = redact(text)
    assert "Петрова" not in clean and "[parameters: hidden]" in clean
    assert "ABCDEFGHIJKLMNOPQRSTUVWX" not in clean and "<token>" in clean
