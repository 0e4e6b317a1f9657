"""`nastavnik demo`: the whole programme offline — files written, every pair through the five stages, every
kind of reminder sent, a readable transcript; and the command works without BOT_TOKEN in the environment."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from bot.demo import CHART_NAMES, PNG_MAGIC, DemoResult, run_demo
from bot.domain.entities import Role
from bot.domain.stages import STAGE_ORDER
from bot.i18n import Translator
from bot.services.commands import BY_ROLE

ROOT = Path(__file__).resolve().parents[1]
REMINDER_KINDS = {"before_24h", "before_1h", "after_check", "feedback_1d", "feedback_3d", "stage_deadline"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, list[str]]:
    out = tmp_path_factory.mktemp("demo")
    echoed: list[str] = []
    result = asyncio.run(run_demo(out, lang="ru", seed=1, echo=echoed.append))
    return result, echoed


@pytest.mark.slow
def test_the_programme_runs_to_the_end_and_writes_the_files(demo: tuple[DemoResult, list[str]]) -> None:
    result, echoed = demo
    assert result.problems == []
    assert result.workbook is not None and result.workbook.exists()
    book = openpyxl.load_workbook(result.workbook, read_only=True)
    assert len(book.sheetnames) >= 5
    people = list(book.worksheets[0].iter_rows(values_only=True))
    assert len(people) == 1 + 21  # a header and the curator, 5 mentors, 12 mentees, 3 parents
    assert [p.name for p in result.charts] == [f"{name}.png" for name in CHART_NAMES]
    for chart in result.charts:
        assert chart.read_bytes().startswith(PNG_MAGIC)
    # every pair went through all five stages (or at least reached the final one)
    assert result.pairs == 5
    assert set(result.stages_reached.values()) <= {"final", "finished"}
    assert result.pairs_finished == result.pairs
    assert result.meetings_held >= 10 * result.pairs
    assert result.feedback_forms >= 10 * 17  # ten meetings × every member of every pair
    # every kind of reminder went out at least once
    assert REMINDER_KINDS <= {k for k, n in result.reminders.items() if n > 0}
    assert result.monitoring_surveys >= 10
    # the steps other features bring are there when the bot has them, and said to be skipped otherwise
    if "announce" in BY_ROLE[Role.CURATOR]:
        assert result.announcement_recipients == 3
    else:
        assert "announce" in result.skipped
    if "final_survey" not in result.skipped:
        assert result.final_surveys == 17
    # the transcript: readable lines, each of the five stages, the counts at the end
    text = result.transcript.read_text(encoding="utf-8")
    assert text.splitlines() == echoed
    t = Translator("ru")
    for stage in STAGE_ORDER:
        assert t(f"meetings.stage.{stage.value}") in text
    assert "⏰ Через час" in text and "состоялась?" in text and "Ежедневная сводка" in text
    assert "Итого:" in text and "напоминаний:" in text and "пар завершили программу: 5 из 5" in text
    assert len(text.splitlines()) < 1000  # notable events, not every message
    assert result.messages_sent > len(text.splitlines())


@pytest.mark.slow
def test_the_command_needs_no_token_and_no_settings(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "REDIS_", "WEBHOOK_"))
    }
    env["PYTHONPATH"] = str(ROOT)
    args = ["--out", str(out), "--lang", "en", "--quick", "--quiet"]
    if '"demo"' in (ROOT / "bot" / "cli.py").read_text("utf-8"):
        command = [sys.executable, "-m", "bot", "demo", *args]  # `nastavnik demo`
    else:  # until bot/cli.py knows the subcommand
        command = [sys.executable, "-c", f"import sys; from bot.demo import main; sys.exit(main({args!r}))"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "In total:" in done.stdout
    transcript = (out / "transcript.txt").read_text(encoding="utf-8")
    assert "The curator runs /match" in transcript and "Pair #1" in transcript
    assert (out / "export.xlsx").read_bytes()[:2] == b"PK"
    for name in CHART_NAMES:
        assert (out / f"{name}.png").read_bytes().startswith(PNG_MAGIC)
