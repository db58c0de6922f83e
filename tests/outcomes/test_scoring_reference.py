"""The vectorised scoring and achievement give what the row-by-row code gave, person by person.

The reference (tests/results/outcomes_scoring_reference.py) was made by the
row-by-row implementation on the example data and on a synthetic world holding
every kind of problem; see tests/results/make_outcomes_scoring_reference.py.
"""

from __future__ import annotations

import pytest

import tests.results.make_outcomes_scoring_reference as make
from tests.results.outcomes_scoring_reference import DIGESTS, STATUSES

DATA = {"examples": make.example_data, "synthetic": make.synthetic_world}


def _changed(people: list[str], was: str, statuses: str) -> list[str]:
    return [f"{p}: {a} -> {b}" for p, a, b in zip(people, was, statuses) if a != b]


@pytest.mark.parametrize("data", list(DATA))
def test_the_same_statuses_person_by_person(data):
    people, assessments = DATA[data]()
    ids = people["person_id"].tolist()
    for key, per_person in make.cases(people, assessments).items():
        statuses = "".join(make.LETTERS[s] for s in per_person["status"].astype(str))
        assert len(statuses) == len(people)
        changed = _changed(ids, STATUSES[f"{data}/{key}"], statuses)
        assert not changed, f"{data}/{key}: {changed[:5]}"
        assert make.canonical(per_person) == DIGESTS[f"{data}/{key}"], f"{data}/{key}: other columns differ"


@pytest.mark.parametrize("data", list(DATA))
def test_the_same_scores_and_problems(data):
    _, assessments = DATA[data]()
    for key, frame in make.scorings(assessments).items():
        assert make.canonical(frame) == DIGESTS[f"{data}/{key}"], f"{data}/{key}"


def test_the_same_problems_when_keys_are_missing():
    unchecked = make.unchecked_rows(make.synthetic_world()[1])
    for key, frame in make.scorings(unchecked, checked=False).items():
        assert make.canonical(frame) == DIGESTS[f"unchecked/{key}"], key
