from __future__ import annotations

import random
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

# pytest's default rootdir handling puts tests/ on sys.path, not the repo root.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.domain import matching  # noqa: E402
from bot.domain.matching import (  # noqa: E402
    HARD_VIOLATIONS,
    REASON_CODES,
    UNMATCHED_CODES,
    MenteeProfile,
    MentorProfile,
    Weights,
    assign,
    manual_check,
    score,
    violation_key,
)

AREAS = ("math", "physics", "it", "art")
SLOTS = ("mon", "tue", "wed", "thu")
FORMS = ("pupil_pupil", "teacher_teacher", "student_pupil")
FORMATS = ("online", "offline", "any")


def _flatten(node: object, prefix: str = "") -> dict[str, str]:
    if isinstance(node, dict):
        out: dict[str, str] = {}
        for key, value in node.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: node}


def _load_locale(lang: str) -> dict[str, str]:
    with open(ROOT / "locales" / lang / "matching.yaml", encoding="utf-8") as fh:
        return _flatten(yaml.safe_load(fh))


LOCALES = {lang: _load_locale(lang) for lang in ("ru", "en")}


def mentee(id: int = 1, **kw: object) -> MenteeProfile:
    base: dict[str, object] = dict(
        areas=frozenset({"math"}),
        format="online",
        slots=frozenset({"mon", "tue"}),
        mentoring_form="pupil_pupil",
        ready=True,
        excluded_mentors=frozenset(),
    )
    base.update(kw)
    return MenteeProfile(id=id, **base)  # type: ignore[arg-type]


def mentor(id: int = 100, **kw: object) -> MentorProfile:
    base: dict[str, object] = dict(
        areas=frozenset({"math"}),
        format="online",
        slots=frozenset({"mon", "tue"}),
        mentoring_forms=frozenset({"pupil_pupil"}),
        capacity=1,
        load=0,
        approved=True,
    )
    base.update(kw)
    return MentorProfile(id=id, **base)  # type: ignore[arg-type]


# --- strategies ----------------------------------------------------------------------------

subsets = st.frozensets(st.sampled_from(AREAS))
slot_sets = st.frozensets(st.sampled_from(SLOTS))


@st.composite
def safe_weights(draw: st.DrawFn) -> Weights:
    areas, fmt, slots = draw(st.tuples(*[st.integers(0, 4)] * 3).filter(lambda t: sum(t) > 0))
    if draw(st.booleans()):
        return Weights()
    return Weights(
        areas=float(areas),
        format=float(fmt),
        slots=float(slots),
        min_score=draw(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.8])),
    )


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[MenteeProfile], list[MentorProfile], Weights]:
    mentor_ids = list(range(100, 100 + draw(st.integers(0, 4))))
    mentors = [
        MentorProfile(
            id=i,
            areas=draw(subsets),
            format=draw(st.sampled_from(FORMATS)),
            slots=draw(slot_sets),
            mentoring_forms=draw(st.frozensets(st.sampled_from(FORMS))),
            capacity=draw(st.integers(0, 3)),
            load=draw(st.sampled_from([0, 0, 0, 1, 2, 4])),
            approved=draw(st.sampled_from([True, True, True, False])),
        )
        for i in mentor_ids
    ]
    excluded = st.frozensets(st.sampled_from(mentor_ids)) if mentor_ids else st.just(frozenset())
    mentees = [
        MenteeProfile(
            id=i,
            areas=draw(subsets),
            format=draw(st.sampled_from(FORMATS)),
            slots=draw(slot_sets),
            mentoring_form=draw(st.sampled_from(FORMS)),
            ready=draw(st.sampled_from([True, True, True, False])),
            excluded_mentors=draw(excluded),
        )
        for i in range(1, 1 + draw(st.integers(0, 6)))
    ]
    return mentees, mentors, draw(safe_weights())


def brute_force_best(mentees: list[MenteeProfile], mentors: list[MentorProfile], w: Weights) -> float:
    options = []
    for me in mentees:
        opts = []
        for j, mo in enumerate(mentors):
            s = score(me, mo, w)
            if not s.hard_violations and s.total >= w.min_score:
                opts.append((j, s.total))
        options.append(opts)
    free = [mo.free for mo in mentors]
    best = 0.0

    def dfs(i: int, acc: float) -> None:
        nonlocal best
        if i == len(mentees):
            best = max(best, acc)
            return
        dfs(i + 1, acc)  # leave mentee i unmatched
        for j, s in options[i]:
            if free[j] > 0:
                free[j] -= 1
                dfs(i + 1, acc + s)
                free[j] += 1

    dfs(0, 0.0)
    return best


def _fits_ignoring_capacity(me: MenteeProfile, mo: MentorProfile, w: Weights) -> bool:
    s = score(me, mo, w)
    return s.compatible_ignoring_capacity and s.total >= w.min_score


# --- properties ----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(instances())
def test_assignment_total_equals_brute_force_optimum(inst):
    mentees, mentors, w = inst
    result = assign(mentees, mentors, w)
    assert result.total == pytest.approx(brute_force_best(mentees, mentors, w), abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(instances())
def test_assignment_respects_every_constraint(inst):
    mentees, mentors, w = inst
    result = assign(mentees, mentors, w)
    by_mentee = {m.id: m for m in mentees}
    by_mentor = {m.id: m for m in mentors}

    seen = [p.mentee_id for p in result.proposals] + [u.mentee_id for u in result.unmatched]
    assert sorted(seen) == sorted(by_mentee), "every mentee appears exactly once"

    taken = Counter(p.mentor_id for p in result.proposals)
    for mentor_id, n in taken.items():
        assert n <= by_mentor[mentor_id].free

    for p in result.proposals:
        me, mo = by_mentee[p.mentee_id], by_mentor[p.mentor_id]
        assert mo.id not in me.excluded_mentors
        s = score(me, mo, w)
        assert s.hard_violations == ()
        assert p.score == s.total >= w.min_score
        assert p.reasons == s.reasons
        assert 1 <= len(p.reasons) <= 3

    for u in result.unmatched:
        me = by_mentee[u.mentee_id]
        assert u.reason in UNMATCHED_CODES
        fits = [mo for mo in mentors if _fits_ignoring_capacity(me, mo, w)]
        if not me.ready:
            assert u.reason == "matching.unmatched.not_ready"
        elif fits:
            assert u.reason == "matching.unmatched.no_capacity"
            # "all full" must be literally true after the assignment.
            assert all(taken[mo.id] >= mo.free for mo in fits)
        else:
            assert u.reason == "matching.unmatched.no_overlap"


@settings(max_examples=150, deadline=None)
@given(instances(), st.randoms(use_true_random=False))
def test_assignment_is_deterministic_and_order_independent(inst, rnd):
    mentees, mentors, w = inst
    first = assign(mentees, mentors, w)
    assert assign(mentees, mentors, w) == first
    shuffled_mentees, shuffled_mentors = mentees[:], mentors[:]
    rnd.shuffle(shuffled_mentees)
    rnd.shuffle(shuffled_mentors)
    assert assign(shuffled_mentees, shuffled_mentors, w) == first


@settings(max_examples=300, deadline=None)
@given(instances())
def test_vectorised_scores_match_scalar_score_exactly(inst):
    mentees, mentors, w = inst
    if not mentees or not mentors:
        return
    total, ok = matching._score_matrix(mentees, mentors, w)
    for i, me in enumerate(mentees):
        for j, mo in enumerate(mentors):
            s = score(me, mo, w)
            assert total[i, j] == s.total
            assert ok[i, j] == (s.compatible_ignoring_capacity and s.total >= w.min_score)


@settings(max_examples=300, deadline=None)
@given(instances(), st.data())
def test_reasons_are_one_to_three_known_keys_that_render(inst, data):
    mentees, mentors, w = inst
    if not mentees or not mentors:
        return
    me = data.draw(st.sampled_from(mentees))
    mo = data.draw(st.sampled_from(mentors))
    s = score(me, mo, w)
    assert 1 <= len(s.reasons) <= 3
    assert len({r.code for r in s.reasons}) == len(s.reasons)
    for r in s.reasons:
        for lang, texts in LOCALES.items():
            assert r.code in texts, (lang, r.code)
            texts[r.code].format(**r.params)  # KeyError here = placeholder/param drift
    assert set(s.hard_violations) <= set(HARD_VIOLATIONS)
    assert 0.0 <= s.total <= 1.0


# --- locale files --------------------------------------------------------------------------


def test_locales_cover_every_code_and_agree_on_keys():
    ru, en = LOCALES["ru"], LOCALES["en"]
    assert set(ru) == set(en)
    required = set(REASON_CODES) | set(UNMATCHED_CODES) | {violation_key(v) for v in HARD_VIOLATIONS}
    assert required <= set(ru)
    for key in ru:
        assert key.startswith("matching.")
        assert isinstance(ru[key], str) and isinstance(en[key], str)


# --- score ordering ------------------------------------------------------------------------


def test_area_overlap_beats_no_overlap():
    me = mentee(areas=frozenset({"math", "physics"}))
    assert (
        score(me, mentor(areas=frozenset({"math"}))).total > score(me, mentor(areas=frozenset({"art"}))).total
    )


def test_more_area_coverage_beats_less():
    me = mentee(areas=frozenset({"math", "physics"}))
    both = mentor(areas=frozenset({"math", "physics", "art"}))
    one = mentor(areas=frozenset({"math", "art"}))
    assert score(me, both).total > score(me, one).total


def test_format_mismatch_costs_and_any_is_compatible():
    me = mentee(format="online")
    same = score(me, mentor(format="online")).total
    assert score(me, mentor(format="any")).total == same
    assert score(me, mentor(format="offline")).total < same


def test_slot_overlap_saturates_at_two_common_slots():
    me = mentee(slots=frozenset({"mon", "tue", "wed", "thu"}))
    none = score(me, mentor(slots=frozenset({"sun"}))).total
    one = score(me, mentor(slots=frozenset({"mon"}))).total
    two = score(me, mentor(slots=frozenset({"mon", "tue"}))).total
    four = score(me, mentor(slots=frozenset({"mon", "tue", "wed", "thu"}))).total
    assert none < one < two == four


def test_perfect_pair_scores_one():
    assert score(mentee(), mentor()).total == pytest.approx(1.0)


def test_reasons_name_shared_areas_and_put_the_biggest_driver_first():
    me = mentee(areas=frozenset({"physics", "math"}), slots=frozenset({"sun"}))
    s = score(me, mentor(areas=frozenset({"math", "physics"})), Weights(areas=5, format=1, slots=1))
    assert s.reasons[0].code == "matching.reason.areas"
    assert s.reasons[0].params == {"areas": "math, physics"}
    assert "matching.reason.slots_none" in {r.code for r in s.reasons}


def test_missing_component_is_explained():
    s = score(mentee(areas=frozenset({"art"}), format="offline"), mentor(format="online"))
    codes = {r.code for r in s.reasons}
    assert {"matching.reason.areas_none", "matching.reason.format_mismatch"} <= codes


def test_zero_weight_component_is_not_given_as_reason():
    s = score(mentee(), mentor(), Weights(areas=1, format=0, slots=0, min_score=0))
    assert [r.code for r in s.reasons] == ["matching.reason.areas"]


# --- hard constraints and manual check -----------------------------------------------------


@pytest.mark.parametrize(
    ("me", "mo", "code"),
    [
        (mentee(ready=False), mentor(), "not_ready"),
        (mentee(), mentor(approved=False), "mentor_not_approved"),
        (mentee(mentoring_form="teacher_teacher"), mentor(), "form_not_allowed"),
        (mentee(excluded_mentors=frozenset({100})), mentor(id=100), "excluded"),
        (mentee(), mentor(capacity=2, load=2), "capacity"),
        (mentee(), mentor(capacity=1, load=3), "capacity"),
    ],
)
def test_manual_check_reports_each_hard_violation(me, mo, code):
    assert manual_check(me, mo, Weights()) == [code]


def test_manual_check_ignores_low_score():
    assert manual_check(mentee(areas=frozenset({"art"}), format="offline", slots=frozenset()), mentor()) == []


def test_weights_from_mapping():
    w = Weights.from_mapping({"areas": 2, "min_score": 0.4})
    assert (w.areas, w.format, w.slots, w.min_score) == (2, Weights().format, Weights().slots, 0.4)
    assert Weights.from_mapping({}) == Weights() == Weights.from_mapping(None)
    assert Weights.from_mapping(w.to_mapping()) == w


@pytest.mark.parametrize(
    "bad",
    [
        {"area": 1},
        {"areas": -1},
        {"areas": 0, "format": 0, "slots": 0},
        {"min_score": 1.5},
        {"slots": True},
        {"format": "high"},
        {"areas": float("nan")},
    ],
)
def test_weights_from_mapping_rejects_bad_config(bad):
    with pytest.raises(ValueError):
        Weights.from_mapping(bad)


def test_profiles_reject_unknown_format():
    with pytest.raises(ValueError):
        mentee(format="hybrid")
    with pytest.raises(ValueError):
        mentor(format="hybrid")


# --- assignment scenarios ------------------------------------------------------------------


def test_global_optimum_beats_greedy_first_come():
    # Greedy would give mentee 1 its best mentor (100) and leave mentee 2 with nobody.
    m1 = mentee(1, areas=frozenset({"math", "physics"}))
    m2 = mentee(2, areas=frozenset({"math"}), mentoring_form="student_pupil")
    a = mentor(
        100, areas=frozenset({"math", "physics"}), mentoring_forms=frozenset({"pupil_pupil", "student_pupil"})
    )
    b = mentor(101, areas=frozenset({"physics"}))
    result = assign([m1, m2], [a, b])
    assert {(p.mentee_id, p.mentor_id) for p in result.proposals} == {(1, 101), (2, 100)}
    assert result.unmatched == []


def test_group_mentor_takes_capacity_minus_load():
    mentees = [mentee(i) for i in range(1, 6)]
    result = assign(mentees, [mentor(100, capacity=4, load=1)])
    assert len(result.proposals) == 3
    assert {u.reason for u in result.unmatched} == {"matching.unmatched.no_capacity"}


def test_unmatched_reasons():
    ready_no_fit = mentee(1, mentoring_form="teacher_teacher")
    not_ready = mentee(2, ready=False)
    full = mentee(3, excluded_mentors=frozenset({101}))
    winner = mentee(4)
    mentors = [mentor(100, capacity=1), mentor(101, capacity=0)]
    result = assign([ready_no_fit, not_ready, full, winner], mentors)
    assert len(result.proposals) == 1 and result.proposals[0].mentor_id == 100
    reasons = {u.mentee_id: u.reason for u in result.unmatched}
    assert reasons[1] == "matching.unmatched.no_overlap"
    assert reasons[2] == "matching.unmatched.not_ready"
    assert reasons[({3, 4} - {result.proposals[0].mentee_id}).pop()] == "matching.unmatched.no_capacity"


def test_pairs_below_min_score_are_not_proposed():
    me = mentee(areas=frozenset({"art"}), slots=frozenset({"sun"}), format="offline")
    result = assign([me], [mentor()], Weights(min_score=0.5))
    assert result.proposals == []
    assert result.unmatched[0].reason == "matching.unmatched.no_overlap"


def test_zero_score_compatible_pair_still_matched_when_min_score_is_zero():
    me = mentee(areas=frozenset({"art"}), slots=frozenset({"sun"}), format="offline")
    result = assign([me], [mentor()], Weights(min_score=0))
    assert [(p.mentee_id, p.score) for p in result.proposals] == [(1, 0.0)]


def test_empty_inputs_and_duplicates():
    assert assign([], []).proposals == []
    assert [u.reason for u in assign([mentee()], []).unmatched] == ["matching.unmatched.no_overlap"]
    with pytest.raises(ValueError):
        assign([mentee(1), mentee(1)], [mentor()])
    with pytest.raises(ValueError):
        assign([mentee()], [mentor(5), mentor(5)])


def test_larger_random_instance_is_consistent():
    rng = random.Random(7)
    mentors = [
        mentor(
            100 + j,
            areas=frozenset(rng.sample(AREAS, 2)),
            slots=frozenset(rng.sample(SLOTS, 2)),
            format=rng.choice(FORMATS),
            mentoring_forms=frozenset(rng.sample(FORMS, 2)),
            capacity=rng.randint(1, 4),
        )
        for j in range(30)
    ]
    mentees = [
        mentee(
            i,
            areas=frozenset(rng.sample(AREAS, 1)),
            slots=frozenset(rng.sample(SLOTS, 2)),
            format=rng.choice(FORMATS),
            mentoring_form=rng.choice(FORMS),
        )
        for i in range(120)
    ]
    result = assign(mentees, mentors)
    assert len(result.proposals) + len(result.unmatched) == 120
    cap = {m.id: m.free for m in mentors}
    assert all(n <= cap[k] for k, n in Counter(p.mentor_id for p in result.proposals).items())
