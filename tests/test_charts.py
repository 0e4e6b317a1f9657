"""/report charts: valid PNGs of one fixed size, with data and without, the same bytes for the same data."""

from __future__ import annotations

import struct
import time
from datetime import date

import pytest

from bot.domain.kpi import KpiInputs, build_report
from bot.i18n import Translator
from bot.services import charts

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TARGETS = {"coverage": {2022: 0.5, 2024: 0.7}, "mentee_satisfaction": {2022: 0.6, 2023: 0.7, 2024: 0.85}}


def size_of(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_MAGIC)
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def assert_chart(png: bytes) -> None:
    assert size_of(png) == (1000, 600)
    assert len(png) > 8_000  # axes, labels and bars, not an empty canvas
    assert png.endswith(b"IEND\xaeB`\x82")


def reports(years: range):
    inputs = KpiInputs(engaged=30, population=50, mentee_scores=[9, 8, 5, 10], mentor_scores=[7, 9])
    return [build_report("1", TARGETS, y, inputs, today=date(y, 12, 31)) for y in years]


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_charts_are_pngs_of_a_fixed_size(lang):
    t = Translator(lang)
    started = time.perf_counter()
    pngs = [
        charts.funnel_chart(
            [
                ("introduction", 40),
                ("trial", 31),
                ("planning", 25),
                ("joint_work", 20),
                ("final", 9),
                ("finished", 7),
            ],
            t,
        ),
        charts.satisfaction_chart([10, 9, 9, 8, 7, 3, 10], [8, 9, 10, 6], t),
        charts.satisfaction_chart([4, 5, 5], [], t, survey="intermediate"),
        charts.kpi_chart(reports(range(2022, 2025)), t),  # several years: lines
        charts.kpi_chart(reports(range(2024, 2025)), t),  # one year: bars with target marks
    ]
    print(f"\n5 charts ({lang}) in {time.perf_counter() - started:.2f} s, sizes {[len(p) for p in pngs]}")
    for png in pngs:
        assert_chart(png)


def test_charts_without_data_still_draw():
    t = Translator("ru")
    assert_chart(charts.funnel_chart([("introduction", 0), ("finished", 0)], t))
    assert_chart(charts.satisfaction_chart([], [], t))
    assert_chart(charts.kpi_chart([], t))
    empty = [build_report("1", {}, y, KpiInputs(), today=date(y, 1, 1)) for y in (2025, 2026)]
    assert_chart(charts.kpi_chart(empty, t))


def test_same_data_same_bytes():
    t = Translator("ru")
    first = charts.satisfaction_chart([1, 2, 3], [4, 5], t)
    assert charts.satisfaction_chart([1, 2, 3], [4, 5], t) == first
    assert charts.satisfaction_chart([1, 2, 3], [4, 6], t) != first
