"""`nastavnik demo`: the whole programme offline — files written, every pair through the five stages, every
kind of reminder sent, a readable transcript; and the command works without BOT_TOKEN in the environment.
Each of the five seed programme templates runs end to end too, on the template's own settings. Nothing is
skipped: a step the bot does not let the simulated people take fails the run. What happened is read from the
demo's database (what the bot stored), not only from the runner's own tally."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import closing
from pathlib import Path

import docx
import openpyxl
import pytest

from bot.demo import CHART_NAMES, PNG_MAGIC, TEMPLATE_CASTS, DemoResult, main, run_in_process, template_ids
from bot.domain.entities import Role
from bot.domain.programme_templates import SETTINGS_FROM_TEMPLATE, load_templates, programme_settings
from bot.domain.stages import STAGE_ORDER, Stage
from bot.i18n import Translator

ROOT = Path(__file__).resolve().parents[1]
REMINDER_KINDS = {"before_24h", "before_1h", "after_check", "feedback_1d", "feedback_3d", "stage_deadline"}
TEMPLATES = load_templates()
TEMPLATE_IDS = template_ids()
DEFAULT = "default"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future]]:
    """The default programme and each template's, all started at once and run two at a time in worker
    processes: a run keeps about one core busy, and CI has two. The longest runs go first."""
    out = tmp_path_factory.mktemp("demo")
    jobs = [None, *sorted(TEMPLATE_IDS, key=lambda t: -TEMPLATES[t].stage_plan.joint_work_meetings)]
    workers = min(2, os.cpu_count() or 1)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {job or DEFAULT: pool.submit(run_in_process, out / (job or DEFAULT), job) for job in jobs}
        yield futures
        pool.shutdown(cancel_futures=True)


@pytest.fixture(scope="module")
def demo(runs: dict[str, Future]) -> tuple[DemoResult, list[str]]:
    return runs[DEFAULT].result()


@pytest.mark.slow
def test_the_programme_runs_to_the_end_and_writes_the_files(demo: tuple[DemoResult, list[str]]) -> None:
    result, echoed = demo
    assert result.problems == []
    assert (result.out_dir / "export.xlsx").exists()
    book = openpyxl.load_workbook(result.out_dir / "export.xlsx", read_only=True)
    assert len(book.sheetnames) >= 5
    people = list(book.worksheets[0].iter_rows(values_only=True))
    assert len(people) == 1 + 21  # a header and the curator, 5 mentors, 12 mentees, 3 parents
    for chart in (result.out_dir / f"{name}.png" for name in CHART_NAMES):
        assert chart.read_bytes().startswith(PNG_MAGIC)
    # every pair went through all five stages and finished, as the bot stored it
    db = _stored(result)
    assert result.counts["pairs"] == 5 == len(db["pairs"])
    assert set(db["pairs"].values()) == {"finished"}
    assert result.counts["finished"] == result.counts["pairs"]
    assert db["held"] >= 10 * result.counts["pairs"] and result.counts["held"] == db["held"]
    assert db["forms"]["meeting_feedback"] >= 10 * 17  # ten meetings × every member of every pair
    assert result.counts["feedback"] == db["forms"]["meeting_feedback"]
    # every kind of reminder went out at least once
    assert REMINDER_KINDS <= {k for k, n in db["reminders"].items() if n > 0}
    assert db["forms"]["intermediate"] >= 10 and result.counts["surveys"] == db["forms"]["intermediate"]
    # the announcement reached the parents, and everyone in a pair filled in the final survey
    assert result.counts["announced"] == 3
    assert result.counts["finals"] == db["forms"]["final"] == 17
    # every member of every pair answered the self-assessment at the start and at the end, once each
    assert result.counts["entry"] == result.counts["exit"] == 17
    assert db["forms"]["selfcheck_mentee"] + db["forms"].get("selfcheck_teacher", 0) == 2 * 12
    assert db["forms"]["selfcheck_mentor"] == 2 * 5 and db["forms"]["swot"] == 1
    # the analytic report: every section, and the dashboard's own figures for growth and satisfaction
    report = docx.Document(str(result.out_dir / "analytic-report.docx"))
    headings = [p.text for p in report.paragraphs if p.style.name == "Heading 1"]
    assert len(headings) == 12 and headings[0] == "1. Программа и её календарь"
    cells = [[c.text for c in row.cells] for table in report.tables for row in table.rows]
    text = result.transcript.read_text(encoding="utf-8")
    dashboard = {m[0]: m[1] for m in re.findall(r"[🟢🟡🔴⚪] ([^:\n]+): (\d+%|—) /", text)}
    kpis = (
        "Вовлечённость в наставничество",
        "Удовлетворённость наставляемых",
        "Удовлетворённость наставников",
    )
    for label in kpis:
        row = next(r for r in cells if r[0] == label)
        assert row[1].replace(" ", "") == dashboard[label], label
    growth = re.search(
        r"средний прирост ([+−]\d,\d) балла из 5, улучшили самооценку (\d+)%; "
        r"участников с обеими самооценками: (\d+)",
        text,
    )
    assert growth is not None
    assert next(r for r in cells if r[0] == "Все участники")[1:] == [growth[1], f"{growth[2]} %", growth[3]]
    assert (result.out_dir / "analytic-report.pdf").read_bytes().startswith(b"%PDF")
    # every mentee's pair finished: nobody is listed as waiting for one
    paragraphs = [p.text for p in report.paragraphs]
    assert "Все наставляемые, заполнившие анкету, распределены по парам." in paragraphs
    # the transcript: readable lines, each of the five stages, the counts at the end
    assert text.splitlines() == echoed
    t = Translator("ru")
    for stage in STAGE_ORDER:
        assert t(f"meetings.stage.{stage.value}") in text
    assert "⏰ Через час" in text and "состоялась?" in text and "Ежедневная сводка" in text
    assert "Итого:" in text and "напоминаний:" in text and "пар завершили программу: 5 из 5" in text
    assert len(text.splitlines()) < 1000  # notable events, not every message
    assert result.counts["messages"] > len(text.splitlines())
    # …and every message whole, by person, with its time and buttons: messages.txt
    messages = (result.out_dir / "messages.txt").read_text(encoding="utf-8")
    assert "⏰ Через час" in messages and "Сценарий встречи — в /materials." in messages
    assert "[кнопки: Да, состоялась | Нет, перенести]" in messages


@pytest.mark.slow
def test_the_command_needs_no_token_and_no_settings(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_", "REDIS_", "WEBHOOK_"))
    }
    env["PYTHONPATH"] = str(ROOT)
    args = ["--out", str(out), "--lang", "en", "--quick", "--quiet"]
    command = [sys.executable, "-m", "bot", "demo", *args]  # `nastavnik demo`
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "In total:" in done.stdout
    transcript = (out / "transcript.txt").read_text(encoding="utf-8")
    assert "The curator runs /match" in transcript and ("Pair #1" in transcript or "Group #1" in transcript)
    assert (out / "export.xlsx").read_bytes()[:2] == b"PK"
    for name in CHART_NAMES:
        assert (out / f"{name}.png").read_bytes().startswith(PNG_MAGIC)


# ------------------------------------------------------------------------------------------- the templates
def test_every_template_has_a_cast_and_the_command_offers_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert set(TEMPLATE_CASTS) == set(TEMPLATES) == set(TEMPLATE_IDS)
    with pytest.raises(SystemExit) as exit_:
        main(["--template", "nope"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert all(template_id in err for template_id in TEMPLATE_IDS)


@pytest.mark.slow
@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_each_template_runs_end_to_end(runs: dict[str, Future], template_id: str) -> None:
    result, echoed = runs[template_id].result()
    template, cast = TEMPLATES[template_id], TEMPLATE_CASTS[template_id]
    assert result.problems == []
    db = _stored(result)
    # The programme the curator created is the template's, with the template's settings …
    assert result.counts["template"] == template_id
    settings = db["programmes"][template_id]
    assert {key: settings[key] for key in SETTINGS_FROM_TEMPLATE} == programme_settings(template)
    assert settings["population"] == cast.population  # set later by the curator (/population)
    # … and the run lived by them: the mentees' questionnaire, the stage plan, the meeting reminders.
    assert db["forms"][template.mentee_form] == len(cast.mentees)
    assert len(db["pairs"]) >= 2 and set(db["pairs"].values()) == {"finished"}
    assert result.counts["pairs"] == len(db["pairs"]) == result.counts["finished"]
    plan = template.stage_plan
    for held in db["held_by_pair"].values():
        assert held == {stage.value: plan.required_meetings(stage) for stage in STAGE_ORDER}
        assert held[Stage.JOINT_WORK] == plan.joint_work_meetings
    assert db["held"] == result.counts["held"] == len(db["pairs"]) * (4 + plan.joint_work_meetings)
    # Everyone in a pair left feedback on every meeting held (the next stage waits for it).
    people_in = db["people_per_pair"]
    assert db["forms"]["meeting_feedback"] == sum(
        sum(held.values()) * people_in[p] for p, held in db["held_by_pair"].items()
    )
    before = {f"before_{hours}h" for hours in settings["reminder_offsets_hours"]}
    assert before | REMINDER_KINDS <= {kind for kind, n in db["reminders"].items() if n > 0}
    # Parents take part (and give consent) exactly when the template has minors among the mentees.
    parents = db["roles"].get(Role.PARENT.value, 0)
    assert bool(parents) == template.minors_present
    assert parents == sum(1 for m in cast.mentees if m.minor)
    assert result.counts["announced"] == (parents if template.minors_present else len(cast.mentees))
    # The monitoring survey came in the template's month, and everyone filled in the final survey.
    assert db["forms"]["intermediate"] > 0
    assert result.counts["finals"] == db["forms"]["final"] == len(cast.mentors) + len(cast.mentees)
    # The files.
    assert (result.out_dir / "export.xlsx").read_bytes()[:2] == b"PK"
    assert all((result.out_dir / f"{name}.png").read_bytes().startswith(PNG_MAGIC) for name in CHART_NAMES)
    text = result.transcript.read_text(encoding="utf-8")
    assert text.splitlines() == echoed
    assert template.title_for("ru") in text and f"шаблон {template_id}" in text


def _stored(result: DemoResult) -> dict:
    """What the bot stored in the demo's database: pairs and their status, held meetings, submitted forms,
    reminders sent by kind, people per role, the programmes' settings by template."""
    with closing(sqlite3.connect(result.database)) as db:
        held_by_pair: dict[int, dict[str, int]] = {}
        for pair_id, stage, n in db.execute(
            "SELECT pair_id, stage, COUNT(*) FROM meetings WHERE status = 'held' GROUP BY pair_id, stage"
        ):
            held_by_pair.setdefault(pair_id, {})[stage] = n
        return {
            "pairs": dict(db.execute("SELECT id, status FROM pairs")),
            "held": sum(sum(x.values()) for x in held_by_pair.values()),
            "held_by_pair": held_by_pair,
            "people_per_pair": {
                pair_id: 1 + n
                for pair_id, n in db.execute("SELECT pair_id, COUNT(*) FROM pair_members GROUP BY pair_id")
            },
            "forms": {
                "meeting_feedback": 0,
                "intermediate": 0,
                "final": 0,
                **dict(
                    db.execute(
                        "SELECT form_id, COUNT(*) FROM form_responses WHERE status = 'submitted'"
                        " GROUP BY form_id"
                    )
                ),
            },
            "reminders": dict(
                db.execute("SELECT kind, COUNT(*) FROM reminders WHERE status = 'sent' GROUP BY kind")
            ),
            "roles": dict(
                db.execute("SELECT role, COUNT(DISTINCT participant_id) FROM participant_roles GROUP BY role")
            ),
            "programmes": {
                template: json.loads(settings or "{}")
                for template, settings in db.execute("SELECT template, settings FROM programmes")
            },
        }


@pytest.mark.slow
@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_matching_pairs_every_mentee_of_the_cast(runs: dict[str, Future], template_id: str) -> None:
    """No pair is made by hand: the curator's /match pairs everyone the cast brings (the runner fails a run
    that leaves a mentee alone), as the bot stored it."""
    result, _ = runs[template_id].result()
    paired = sum(people - 1 for people in _stored(result)["people_per_pair"].values())  # less the mentor
    assert paired == len(TEMPLATE_CASTS[template_id].mentees)
