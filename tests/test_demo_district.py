"""`nastavnik demo --district`: three institutions from three seed templates and their coordinator, offline.
The run succeeds; the consolidated workbook has a row per institution and the district's total, whose
mentees are the rows' sum (as far as the small-number rule lets one read it); no participant's name reaches
the coordinator, in a message or in the workbook; the forged press into another institution is refused, and
the transcript says so."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.demo import main
from bot.demo.district import FILES, INSTITUTIONS, DistrictResult, run_district
from bot.demo.runner import PNG_MAGIC
from bot.i18n import Translator

T = Translator("ru")
TITLES = [titles["ru"] for _, titles, _ in INSTITUTIONS]


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> tuple[DistrictResult, list[str]]:
    lines: list[str] = []
    out = tmp_path_factory.mktemp("district")
    return asyncio.run(run_district(out, "ru", 1, lines.append)), lines


def _rows(path: Path) -> tuple[list[str], dict[str, list[str]]]:
    """The workbook's header row and its rows by their first cell (the institution, or the total)."""
    rows = [
        [str(c) if c is not None else "" for c in r]
        for r in load_workbook(path).active.iter_rows(values_only=True)
    ]
    header = next(r for r in rows if r and r[0] == T("district.col.institution"))
    return header, {r[0]: r for r in rows[rows.index(header) + 1 :] if r and r[0]}


def _bounds(shown: str) -> tuple[int, int]:
    """The people a shown count may stand for: "< 5" is one to four."""
    if m := re.fullmatch(r"< (\d+)", shown):
        return 1, int(m.group(1)) - 1
    return int(shown), int(shown)


def test_the_district_runs_and_writes_its_files(district: tuple[DistrictResult, list[str]]) -> None:
    result, lines = district
    assert result.problems == []
    for name in (*FILES, "transcript.txt", "demo.db"):
        assert (result.out_dir / name).stat().st_size > 0, name
    assert result.chart.read_bytes().startswith(PNG_MAGIC)
    assert result.counts["institutions"] == 3 and result.counts["pairs"] >= 3
    assert result.transcript.read_text(encoding="utf-8").startswith(lines[0])


def test_the_workbook_has_each_institution_and_the_total_of_their_mentees(
    district: tuple[DistrictResult, list[str]],
) -> None:
    result, _ = district
    header, rows = _rows(result.workbook)
    total = T("district.total")
    assert [*TITLES, total] == [k for k in rows if k in (*TITLES, total)]
    col = header.index(T("district.col.mentees"))
    shown = [rows[title][col] for title in TITLES]
    low, high = (sum(b[i] for b in map(_bounds, shown)) for i in (0, 1))
    t_low, t_high = _bounds(rows[total][col])
    if all(x.isdigit() for x in [*shown, rows[total][col]]):
        assert int(rows[total][col]) == low
    else:  # the rows hide 1–4 people: the total must be what such rows can add up to
        assert low <= t_high and t_low <= high
        assert rows[total][col].isdigit() or high < 5  # a total of five or more is shown as it is
    assert low >= 3  # every institution has mentees


def test_no_participant_name_reaches_the_coordinator(district: tuple[DistrictResult, list[str]]) -> None:
    result, _ = district
    cells = [c for row in _rows(result.workbook)[1].values() for c in row]
    seen = "\n".join([*result.coordinator_saw, *cells])
    assert TITLES[0] in seen and len(result.names) >= 3 * 4
    for name in result.names:
        assert name not in seen, name
        assert not re.search(rf"\b{re.escape(name.split()[0])}\b", seen), name


def test_the_forged_press_into_another_institution_is_refused(
    district: tuple[DistrictResult, list[str]],
) -> None:
    result, _ = district
    text = result.transcript.read_text(encoding="utf-8")
    forged = next(line for line in text.splitlines() if "подделанное нажатие" in line)
    assert TITLES[1] in forged
    refusal = text.splitlines()[text.splitlines().index(forged) + 1]
    assert T("access.other_institution") in refusal
    assert "другой образовательной организации" in refusal


def test_the_district_refuses_a_template_of_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--district", "--template", "school"]) == 2
    assert "--district" in capsys.readouterr().err
