"""Growth figures from the entry and exit self-assessments: properties over any answers, and examples."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.growth import (
    GrowthFigure,
    ItemGrowth,
    Measurement,
    by,
    item_changes,
    per_form,
    per_pair,
    per_participant,
    per_role,
    programme,
    summarise,
)

ITEMS = [f"q{n}" for n in range(6)]
score = st.integers(1, 5).map(float) | st.floats(1, 5, allow_nan=False)
answers = st.dictionaries(st.sampled_from(ITEMS), score | st.none(), max_size=len(ITEMS))
records = st.lists(st.tuples(answers, answers), max_size=12)
measurements = st.lists(
    st.builds(
        Measurement,
        participant_id=st.integers(1, 50),
        role=st.sampled_from(["mentor", "mentee"]),
        form=st.sampled_from(["teacher_teacher", "pupil_pupil", "student_pupil"]),
        pair_id=st.none() | st.integers(1, 5),
        entry=st.none() | answers,
        exit=st.none() | answers,
    ),
    max_size=15,
)


def common(entry: dict, exit: dict) -> bool:
    return any(entry.get(k) is not None and exit.get(k) is not None for k in ITEMS)


# ------------------------------------------------------------------------------------------- properties
@given(st.lists(st.tuples(answers, answers).filter(lambda r: not common(*r)), max_size=8))
def test_no_item_answered_twice_is_no_figure_never_zero(rs):
    assert summarise(rs) is None


@given(st.lists(answers, min_size=1, max_size=10).filter(lambda xs: any(common(x, x) for x in xs)))
def test_the_same_answers_twice_are_no_growth(xs):
    figure = summarise((x, dict(x)) for x in xs)
    assert figure is not None
    assert figure.mean_change == 0 and figure.improved_share == 0
    assert all(
        item.mean_change == 0 and item.mean_before == item.mean_after for item in figure.items.values()
    )


@given(records, st.floats(0.01, 5))
def test_a_constant_added_to_every_exit_answer_is_that_growth(rs, c):
    raised = [(entry, {k: None if v is None else v + c for k, v in entry.items()}) for entry, _ in rs]
    figure = summarise(raised)
    if not any(common(entry, entry) for entry, _ in rs):
        assert figure is None
        return
    assert figure is not None
    assert figure.mean_change == pytest.approx(c)
    assert figure.improved_share == 1
    assert all(item.mean_change == pytest.approx(c) for item in figure.items.values())


@given(records)
def test_people_are_those_with_an_item_answered_twice(rs):
    figure = summarise(rs)
    people = sum(common(entry, exit) for entry, exit in rs)
    assert (figure.people if figure else 0) == people
    if figure is not None:
        assert 0 <= figure.improved_share <= 1
        for key, item in figure.items.items():
            assert item.people == sum(
                entry.get(key) is not None and exit.get(key) is not None for entry, exit in rs
            )
            assert 1 <= item.people <= figure.people
            assert item.mean_change == pytest.approx(item.mean_after - item.mean_before, abs=1e-9)


@given(records, st.randoms(use_true_random=False))
def test_order_does_not_matter(rs, rnd):
    shuffled = list(rs)
    rnd.shuffle(shuffled)
    reordered = [(dict(reversed(list(e.items()))), dict(reversed(list(x.items())))) for e, x in shuffled]
    assert summarise(reordered) == summarise(rs)


@given(measurements)
def test_groups_partition_the_programme(ms):
    whole = programme(ms)
    for grouping in (per_participant, per_pair, per_form, per_role):
        groups = grouping(ms)
        assert sum(g.people for g in groups.values()) == (whole.people if whole else 0), grouping.__name__
        assert all(g.people > 0 for g in groups.values())
        if whole is not None:
            # The programme's mean is the groups' means weighted by their people.
            weighted = math.fsum(g.mean_change * g.people for g in groups.values()) / whole.people
            assert weighted == pytest.approx(whole.mean_change, abs=1e-9)


# ------------------------------------------------------------------------------------------- examples
def test_item_changes_keep_only_items_answered_both_times():
    entry = {"plan": 2, "talk": 3, "lead": None, "only_entry": 4}
    exit = {"plan": 4, "talk": 3.5, "lead": 5, "only_exit": 1}
    assert item_changes(entry, exit) == {"plan": 2.0, "talk": 0.5}
    assert item_changes(None, exit) == {}


def test_a_worked_example():
    figure = summarise(
        [
            ({"plan": 2, "talk": 3}, {"plan": 4, "talk": 4}),  # +1.5
            ({"plan": 4}, {"plan": 3, "talk": 5}),  # −1 (talk has no entry)
            ({"plan": 3}, {}),  # never came back: not counted
        ]
    )
    assert figure == GrowthFigure(
        people=2,
        mean_change=0.25,
        improved_share=0.5,
        items={"plan": ItemGrowth(2, 3.0, 3.5, 0.5), "talk": ItemGrowth(1, 3.0, 4.0, 1.0)},
    )


def test_changes_that_cancel_out_are_not_an_improvement():
    # +0.3 −0.1 −0.2 comes out as 2.2e-16 in floats.
    figure = summarise([({"a": 2.0, "b": 2.3, "c": 2.0}, {"a": 2.3, "b": 2.2, "c": 1.8})])
    assert figure is not None and figure.improved_share == 0


def test_groups_without_a_figure_are_left_out_and_mid_is_measured_on_request():
    ms = [
        Measurement(1, "mentee", "pupil_pupil", 7, {"a": 2}, {"a": 4}, mid={"a": 3}),
        Measurement(2, "mentor", "pupil_pupil", 7, {"a": 4}, None),
        Measurement(3, "mentee", "teacher_teacher", None, {"a": 1}, {"b": 5}),
    ]
    assert set(per_role(ms)) == {"mentee"}
    assert set(per_form(ms)) == {"pupil_pupil"}
    assert per_pair(ms)[7].people == 1
    assert programme(ms).mean_change == 2
    assert programme(ms, to="mid").mean_change == 1
    assert by(ms, lambda m: m.pair_id is None) == {False: programme(ms)}
    assert programme([]) is None


@pytest.mark.parametrize(
    "bad",
    [{"a": True}, {"a": float("nan")}, {"a": float("inf")}, {"a": "5"}, {1: 3}, [("a", 1)]],
    ids=["bool", "nan", "inf", "text", "int-key", "not-a-mapping"],
)
def test_answers_that_are_not_scores_are_refused(bad):
    with pytest.raises(ValueError):
        item_changes(bad, {"a": 1})
    with pytest.raises(ValueError):
        summarise([({"a": 1}, bad)])
    with pytest.raises(ValueError):
        Measurement(1, "mentee", "pupil_pupil", None, bad, None)


def test_measurement_ids_must_be_ints():
    with pytest.raises(ValueError):
        Measurement(True, "mentee", "pupil_pupil", None, None, None)
    with pytest.raises(ValueError):
        Measurement(1, "mentee", "pupil_pupil", "7", None, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        programme([Measurement(1, "mentee", "pupil_pupil", None, {"a": 1}, {"a": 2})], to="end")  # type: ignore[arg-type]
