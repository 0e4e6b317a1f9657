"""kill -9 of the real `python -m bot` process at random moments, twenty times, then a last start.

One run serves all the tests (a cold start of the process takes ≈5 s, so twenty kills per scenario would not
fit in CI): while people answer the mentee questionnaire, a burst of reminders falls due and a broadcast is
in the outbox — all at once, as in production. tests/support/chaos.py starts, kills and checks;
bench/faults.py runs the same at full size. pytest -s shows each test's counts."""

from __future__ import annotations

import asyncio

import pytest

from tests.support import chaos

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
KILLS = 20
PEOPLE = 8
REMINDERS = 100  # falling due over the first 40 s
BROADCAST = 400


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> chaos.Report:
    workdir = tmp_path_factory.mktemp("chaos")
    run = chaos.run(
        workdir,
        people=PEOPLE,
        reminders=REMINDERS,
        broadcast=BROADCAST,
        kills=KILLS,
        max_up=2.5,
        reminder_spread=40.0,
    )
    return asyncio.run(run)


def test_the_process_was_killed_twenty_times_and_never_crashed(report: chaos.Report):
    print(
        f"\nkills={report.kills} starts={report.starts} crashes={len(report.crashes)} "
        f"seconds={report.seconds:.0f}"
    )
    assert report.kills == KILLS and report.starts == KILLS + 1
    assert report.crashes == []


def test_every_acknowledged_answer_is_kept_whole(report: chaos.Report):
    print(
        f"\npeople={report.people} actions={report.actions} answers={report.answers} "
        f"answers_lost={report.answers_lost} submitted={report.submitted} resyncs={report.resyncs} "
        f"inconsistent={len(report.problems)}"
    )
    assert report.problems == [], "\n".join(report.problems[:20])
    assert report.answers_lost == 0
    assert report.submitted == PEOPLE
    assert report.answers >= PEOPLE * 7  # every question of the plan, and the submission, acknowledged


@pytest.mark.parametrize("scenario", ["reminders", "broadcast"])
def test_every_message_is_delivered_once_or_was_in_flight_at_a_kill(report: chaos.Report, scenario: str):
    c = report.reminders if scenario == "reminders" else report.broadcast
    print("\n" + " ".join(f"{scenario}_{k}={v}" for k, v in c.items()))
    assert c["n"] == (REMINDERS if scenario == "reminders" else BROADCAST)
    assert c["duplicated"] == 0  # never twice
    assert c["lost"] == 0  # not delivered only if its row was in flight at a kill
    assert c["delivered"] + c["uncertain_unsent"] == c["n"]
    assert c["uncertain"] <= KILLS * 8  # at most the sender's in-flight window per kill
