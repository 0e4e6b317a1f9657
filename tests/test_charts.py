"""/report charts: what a curator reads on them, checked on each chart's spec (the data it draws) and on the
artists the drawing really adds; and valid PNGs of one fixed size, the same bytes for the same data."""

from __future__ import annotations

import struct
import time
from datetime import date
from itertools import combinations, pairwise

import pytest
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D

from bot.domain.kpi import KpiInputs, StageCompletion, build_report
from bot.i18n import Translator
from bot.services import charts

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TARGETS = {"coverage": {2022: 0.5, 2024: 0.7}, "mentee_satisfaction": {2022: 0.6, 2023: 0.7, 2024: 0.85}}
ALL_TARGETS = {
    "coverage": {2024: 0.7},
    "mentee_satisfaction": {2024: 0.85},
    "mentor_satisfaction": {2024: 0.7},
    "on_time": {2024: 0.9},
}
FUNNEL = [
    ("introduction", 40),
    ("trial", 31),
    ("planning", 25),
    ("joint_work", 20),
    ("final", 9),
    ("finished", 7),
]
GROWTH = [
    ("Уверенность в себе", 2.6, 3.4, 12),
    ("Планирование времени", 3.1, 3.0, 12),
    ("Знание предмета", 3.5, 4.2, 9),
]


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


def everything_at_100(years: range):
    """Every KPI at 100 %: the four lines coincide."""
    done = [StageCompletion(due=date(2024, 10, 1), completed_on=date(2024, 9, 30))]
    inputs = KpiInputs(
        engaged=50, population=50, mentee_scores=[9, 10], mentor_scores=[8], stage_completions=done
    )
    return [build_report("1", ALL_TARGETS, y, inputs, today=date(y + 1, 6, 30)) for y in years]


def drawn(spec: charts.ChartSpec) -> Axes:
    return charts.draw(spec, charts.figure())


def artists(ax: Axes, gid: str) -> list:
    return [a for a in ax.get_children() if a.get_gid() == gid]


def texts(ax: Axes) -> list[str]:
    return [text.get_text() for text in ax.texts]


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_charts_are_pngs_of_a_fixed_size(lang):
    t = Translator(lang)
    started = time.perf_counter()
    pngs = [
        charts.funnel_chart(FUNNEL, t),
        charts.satisfaction_chart([10, 9, 9, 8, 7, 3, 10], [8, 9, 10, 6], t, target_share=0.7),
        charts.satisfaction_chart([4, 5, 5], [], t, survey="intermediate"),
        charts.kpi_chart(reports(range(2022, 2025)), t),  # several years: lines
        charts.kpi_chart(reports(range(2024, 2025)), t),  # one year: bars with target marks
        charts.growth_chart(GROWTH, t),
    ]
    print(f"\n6 charts ({lang}) in {time.perf_counter() - started:.2f} s, sizes {[len(p) for p in pngs]}")
    for png in pngs:
        assert_chart(png)


def test_charts_without_data_say_so():
    """Nothing measured: the chart says "Пока нет данных" instead of drawing empty axes."""
    t = Translator("ru")
    empty = [build_report("1", {}, y, KpiInputs(), today=date(y, 1, 1)) for y in (2025, 2026)]
    specs = [
        charts.funnel_spec([("introduction", 0), ("finished", 0)], t),
        charts.satisfaction_spec([], [], t),
        charts.kpi_spec([], t),
        charts.kpi_spec(empty, t),
        charts.growth_spec([], t),
        charts.growth_spec([("Уверенность в себе", float("nan"), float("nan"), 0)], t),
    ]
    for spec in specs:
        assert spec.no_data
        assert spec.message == "Пока нет данных"
        assert not spec.series and not spec.targets
        ax = drawn(spec)
        assert "Пока нет данных" in texts(ax)
        assert not ax.lines and not ax.patches  # no empty bars, no axes drawn around nothing
        assert_chart(charts.render(spec))
    assert charts.kpi_spec([], Translator("en")).message == "No data yet"


def test_same_data_same_bytes():
    t = Translator("ru")
    first = charts.satisfaction_chart([1, 2, 3], [4, 5], t)
    assert charts.satisfaction_chart([1, 2, 3], [4, 5], t) == first
    assert charts.satisfaction_chart([1, 2, 3], [4, 6], t) != first
    assert charts.kpi_chart(everything_at_100(range(2024, 2027)), t) == charts.kpi_chart(
        everything_at_100(range(2024, 2027)), t
    )


def test_one_year_kpi_chart_shows_each_target_and_value():
    """A bar per KPI in its traffic-light colour with its value written on it, its target a line labelled
    "цель 70%", "нет данных" where nothing was measured; the year reads as the programme year 2024/25."""
    t = Translator("ru")
    (report,) = reports(range(2024, 2025))  # coverage 60 % (target 70), mentee satisfaction 75 % (target 85)
    spec = charts.kpi_spec([report], t)

    assert spec.title == "Показатели и целевые значения, 2024/25"
    assert [(x.label, x.value) for x in spec.targets] == [("цель 70%", 70.0), ("цель 85%", 85.0)]
    for target, position in zip(spec.targets, (0, 1), strict=True):
        assert target.start < position < target.end  # across its own bar
    assert spec.texts("target") == ["цель 70%", "цель 85%"]
    assert spec.texts("value") == ["60%", "75%", "50%", "нет данных"]
    (bars,) = spec.series
    assert bars.y == (60.0, 75.0, 50.0, None)
    yellow, grey = charts.LIGHT_COLOURS[report.values[0].light], charts.LIGHT_COLOURS[report.values[2].light]
    assert bars.colours == (yellow, yellow, grey, grey)
    assert "цель" in [entry.label for entry in spec.legend]

    ax = drawn(spec)
    target_lines = artists(ax, "target")
    assert [(line.get_label(), tuple(line.get_ydata())) for line in target_lines] == [
        ("цель 70%", (70.0, 70.0)),
        ("цель 85%", (85.0, 85.0)),
    ]
    assert {"60%", "75%", "50%", "нет данных", "цель 70%", "цель 85%"} <= set(texts(ax))
    assert len(ax.patches) == 4  # a bar per KPI (the one without a value is flat)


def test_one_year_kpi_value_never_sits_on_its_target_line():
    t = Translator("ru")
    for engaged in (36, 35, 34, 2, 1):  # 72 %, 70 %, 68 % against a 70 % target; 4 % and 2 % (a low bar)
        inputs = KpiInputs(engaged=engaged, population=50)
        (report,) = [build_report("1", ALL_TARGETS, 2024, inputs, today=date(2024, 12, 31))]
        spec = charts.kpi_spec([report], t)
        value = next(x for x in spec.labels if x.role == "value" and x.x == 0)
        target = next(x for x in spec.labels if x.role == "target" and x.x == 0)
        # 9-pt text is about 5 points of the axis high, written down from its top or up from its foot.
        span = (value.y - 5, value.y) if value.va == "top" else (value.y, value.y + 5)
        assert not span[0] < 70 < span[1], (engaged, span)
        assert target.y >= 70 and (target.y >= span[1] or target.y + 5 <= span[0]), (engaged, span, target.y)


def test_several_years_keep_four_lines_at_100_percent_apart():
    """Four KPIs at 100 % for three years: each line keeps its own colour, marker and line style, its points
    move apart a little, its values are written without covering each other, and each KPI's target is dashed
    in its colour."""
    t = Translator("ru")
    spec = charts.kpi_spec(everything_at_100(range(2024, 2027)), t)

    assert spec.title == "Показатели и целевые значения, 2024/25–2026/27"
    assert spec.tick_labels == ("2024/25", "2025/26", "2026/27")
    assert len(spec.series) == 4
    styles = [(s.colour, s.marker, str(s.linestyle)) for s in spec.series]
    for a, b in combinations(styles, 2):
        assert a[0] != b[0] and a[1] != b[1] and a[2] != b[2]
    for year in range(3):
        xs = sorted(s.x[year] for s in spec.series)
        assert all(right - left >= 0.05 for left, right in pairwise(xs))
        assert all(abs(x - year) < 0.5 for x in xs)  # still read as that year
    # Coinciding lines: the later ones thinner, on top, so every colour shows.
    assert [s.width for s in spec.series] == sorted((s.width for s in spec.series), reverse=True)
    assert [s.zorder for s in spec.series] == sorted(s.zorder for s in spec.series)

    values = [x for x in spec.labels if x.role == "value"]
    assert [x.text for x in values] == ["100%"] * 12
    for year in range(3):
        heights = sorted(x.y for x in values if abs(x.x - year) < 0.5)
        assert len(heights) == 4
        assert all(b - a >= charts.LABEL_GAP for a, b in pairwise(heights))
    assert spec.value_lim is not None and max(x.y for x in values) < spec.value_lim[1]

    by_colour = {target.colour: target for target in spec.targets}
    assert {s.colour for s in spec.series} == set(by_colour)
    assert [by_colour[s.colour].label for s in spec.series] == [
        "цель 70%",
        "цель 85%",
        "цель 70%",
        "цель 90%",
    ]
    assert all(target.linestyle != "-" for target in spec.targets)
    assert len({target.linestyle for target in spec.targets}) == 4  # equal targets interleave their dashes
    assert sorted(spec.texts("target")) == ["цель 70%", "цель 85%", "цель 90%"]  # 70 % written once

    ax = drawn(spec)
    lines = artists(ax, "series")
    assert len(lines) == 4
    assert len({tuple(line.get_xdata()) for line in lines}) == 4
    assert len({(to_hex(line.get_color()), line.get_marker()) for line in lines}) == 4
    assert all(tuple(line.get_ydata()) == (100.0, 100.0, 100.0) for line in lines)
    dashed = artists(ax, "target")
    assert sorted(line.get_ydata()[0] for line in dashed) == [70.0, 70.0, 85.0, 90.0]
    assert texts(ax).count("100%") == 12


def test_several_years_targets_follow_the_roadmap_milestones():
    """A target that changes between years is a step; a targeted KPI nobody measured is still in the legend,
    said so, and one with neither a value nor a target is left out."""
    t = Translator("ru")
    spec = charts.kpi_spec(reports(range(2022, 2025)), t)
    assert "Этапы в срок" not in " ".join(s.label for s in spec.series)
    coverage = [(x.label, x.start, x.end) for x in spec.targets if x.colour == spec.series[0].colour]
    assert [label for label, _, _ in coverage] == ["цель 50%", "цель 70%"]
    assert coverage[0][2] < 2 < coverage[1][1] + 0.5  # 50 % for 2022/23–2023/24, 70 % from 2024/25
    inputs = KpiInputs(engaged=30, population=50)
    targeted = [build_report("1", ALL_TARGETS, y, inputs, today=date(y, 12, 31)) for y in (2024, 2025)]
    later = charts.kpi_spec(targeted, t)
    assert [s.label for s in later.series][-1] == "Этапы в срок (нет данных)"
    assert later.series[-1].y == (None, None)
    assert "цель 90%" in later.texts("target")
    blue = spec.series[0].colour
    assert [x.text for x in spec.labels if x.colour == blue and x.role == "value"] == ["60%", "60%", "60%"]


def test_kpi_chart_without_measurements_names_the_targets():
    t = Translator("ru")
    report = build_report("1", ALL_TARGETS, 2026, KpiInputs(), today=date(2026, 12, 31))
    spec = charts.kpi_spec([report], t)
    assert spec.no_data and spec.title == "Показатели и целевые значения, 2026/27"
    assert spec.texts("note") == [
        "Вовлечённость в наставничество: цель 70%",
        "Удовлетворённость наставляемых: цель 85%",
        "Удовлетворённость наставников: цель 70%",
        "Этапы в срок: цель 90%",
    ]
    assert "Этапы в срок: цель 90%" in texts(drawn(spec))


@pytest.mark.parametrize(
    ("target", "mentors", "subtitle"),
    [
        (
            0.7,
            [8, 9, 10, 6],
            "Наставляемые — довольны (≥8): 71% при цели 70%\nНаставники — довольны (≥8): 75% при цели 70%",
        ),
        (None, [], "Наставляемые — довольны (≥8): 71%"),  # nobody's answers: no share of mentors
    ],
)
def test_satisfaction_chart_marks_the_satisfied_scores(target, mentors, subtitle):
    t = Translator("ru")
    mentees = [10, 9, 9, 8, 7, 3, 10]
    spec = charts.satisfaction_spec(mentees, mentors, t, target_share=target)
    assert spec.subtitle == subtitle
    assert [(b.label, b.start, b.end) for b in spec.bands] == [("довольны (≥8)", 7.5, 10.5)]
    assert spec.texts("value") == ["1", "1", "1", "2", "2"] + [
        str(mentors.count(s)) for s in (6, 8, 9, 10) if mentors
    ]
    ax = drawn(spec)
    assert len(artists(ax, "band")) == 2  # the shaded scores and their edge
    assert ax.get_title() == subtitle
    assert sorted(texts(ax)) == sorted(spec.texts())


def test_satisfaction_chart_without_a_threshold_on_the_scale():
    spec = charts.satisfaction_spec([4, 5, 5], [], Translator("ru"), high=5)  # 8 is off a 1–5 scale
    assert not spec.bands and not spec.subtitle
    assert spec.texts("value") == ["1", "2"]
    assert charts.satisfaction_spec([4, 5, 5], [], Translator("ru"), high=5, satisfied_from=4).bands


def test_growth_chart_writes_means_changes_and_people():
    ru = charts.growth_spec(GROWTH, Translator("ru"))
    assert ru.title == "Рост участников: до и после программы"
    assert ru.texts("value") == ["2,6", "3,4", "3,1", "3,0", "3,5", "4,2"]
    assert ru.texts("note") == ["+0,8", "-0,1", "+0,7"]
    assert [label.split("\n")[-1] for label in ru.tick_labels] == ["n = 12", "n = 12", "n = 9"]
    before, after = ru.series
    assert before.y == (2.6, 3.1, 3.5) and after.y == (3.4, 3.0, 4.2)
    assert all(a > b for a, b in zip(after.x, before.x, strict=True))  # side by side, not on top
    ax = drawn(ru)
    assert len(ax.patches) == 6
    assert {"2,6", "4,2", "+0,8"} <= set(texts(ax))
    en = charts.growth_spec([*GROWTH, ("Nobody answered", float("nan"), float("nan"), 0)], Translator("en"))
    assert en.texts("value")[:2] == ["2.6", "3.4"] and en.texts("value")[-1] == "no data"


def test_funnel_chart_writes_each_count():
    spec = charts.funnel_spec(FUNNEL, Translator("ru"))
    assert spec.texts("value") == ["40", "31", "25", "20", "9", "7"]
    assert spec.tick_labels[-1] == "Все этапы пройдены"
    ax = drawn(spec)
    assert len(ax.patches) == 6 and texts(ax) == ["40", "31", "25", "20", "9", "7"]


def test_legend_matches_the_spec():
    fig = charts.figure()
    charts.draw(charts.kpi_spec(everything_at_100(range(2024, 2027)), Translator("ru")), fig)
    (legend,) = fig.legends
    labels = [text.get_text() for text in legend.get_texts()]
    assert labels[-1] == "цель — пунктир того же цвета"
    assert all(isinstance(handle, Line2D) for handle in legend.legend_handles)
