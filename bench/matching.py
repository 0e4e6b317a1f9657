"""Benchmark: global assignment vs. a first-come greedy baseline on a seeded synthetic cohort.

Run: python bench/matching.py   (no arguments; the last line is key=value figures for tracking)
"""

from __future__ import annotations

import sys
from pathlib import Path

# Lets `python bench/matching.py` import the bot package without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import math
import random
import time

from bot.domain.matching import (
    MenteeProfile,
    MentorProfile,
    Weights,
    assign,
    score,
)

SEED = 20240901
N_MENTEES = 1000
N_MENTORS = 300
AREAS = [
    "math", "physics", "chemistry", "biology", "it", "robotics",
    "literature", "history", "english", "art", "music", "career",
]  # fmt: skip
SLOTS = [
    f"{day}_{part}" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun") for part in ("day", "eve")
]
FORMS = ["pupil_pupil", "teacher_teacher", "student_student", "employer_student", "student_pupil"]
FORMATS = ["online", "offline", "any"]


def build(rng: random.Random) -> tuple[list[MenteeProfile], list[MentorProfile]]:
    mentors = []
    for j in range(N_MENTORS):
        capacity = rng.randint(1, 4)
        mentors.append(
            MentorProfile(
                id=10_000 + j,
                areas=frozenset(rng.sample(AREAS, rng.randint(2, 4))),
                format=rng.choice(FORMATS),
                slots=frozenset(rng.sample(SLOTS, rng.randint(3, 8))),
                mentoring_forms=frozenset(rng.sample(FORMS, rng.randint(1, 3))),
                capacity=capacity,
                # Some mentors already run a group from an earlier round.
                load=rng.randint(0, capacity - 1) if rng.random() < 0.3 else 0,
                approved=rng.random() < 0.95,
            )
        )
    mentees = []
    for i in range(N_MENTEES):
        mentees.append(
            MenteeProfile(
                id=i + 1,
                areas=frozenset(rng.sample(AREAS, rng.randint(1, 3))),
                format=rng.choice(FORMATS),
                slots=frozenset(rng.sample(SLOTS, rng.randint(2, 5))),
                mentoring_form=rng.choice(FORMS),
                ready=rng.random() < 0.9,
                excluded_mentors=frozenset({rng.choice(mentors).id}) if rng.random() < 0.05 else frozenset(),
            )
        )
    return mentees, mentors


def greedy(mentees: list[MenteeProfile], mentors: list[MentorProfile], weights: Weights) -> tuple[float, int]:
    """Each mentee in id order grabs the best-scoring mentor who still has room."""
    left = {m.id: m.free for m in mentors}
    picked: list[float] = []
    for me in mentees:
        best: tuple[float, int] | None = None
        for mo in mentors:
            if left[mo.id] <= 0:
                continue
            s = score(me, mo, weights)
            if s.hard_violations or s.total < weights.min_score:
                continue
            if best is None or s.total > best[0]:
                best = (s.total, mo.id)
        if best is not None:
            left[best[1]] -= 1
            picked.append(best[0])
    return math.fsum(picked), len(picked)


def main() -> None:
    weights = Weights()
    mentees, mentors = build(random.Random(SEED))
    seats = sum(m.free for m in mentors)
    ready = sum(m.ready for m in mentees)

    started = time.perf_counter()
    result = assign(mentees, mentors, weights)
    seconds = time.perf_counter() - started

    started = time.perf_counter()
    greedy_total, greedy_matched = greedy(mentees, mentors, weights)
    greedy_seconds = time.perf_counter() - started

    total = result.total
    matched = len(result.proposals)
    if total + 1e-9 < greedy_total:
        raise SystemExit(f"optimal assignment ({total:.4f}) is worse than greedy ({greedy_total:.4f})")
    unmatched = {}
    for u in result.unmatched:
        unmatched[u.reason] = unmatched.get(u.reason, 0) + 1

    print(f"cohort: {len(mentees)} mentees ({ready} ready), {len(mentors)} mentors, {seats} free seats")
    print(
        f"assign(): {seconds:.3f} s, {matched} matched, total score {total:.2f}, "
        f"mean {total / max(matched, 1):.3f}"
    )
    print(
        f"greedy:   {greedy_seconds:.3f} s, {greedy_matched} matched, total score {greedy_total:.2f}, "
        f"mean {greedy_total / max(greedy_matched, 1):.3f}"
    )
    print("unmatched: " + ", ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in sorted(unmatched.items())))
    print(
        f"mentees={len(mentees)} mentors={len(mentors)} seconds={seconds:.3f} total={total:.3f} "
        f"greedy_total={greedy_total:.3f} ratio={total / greedy_total if greedy_total else float('nan'):.4f} "
        f"matched={matched} greedy_matched={greedy_matched}"
    )


if __name__ == "__main__":
    main()
