"""Claims judged against a rate card's rules (outcomes.claims) and payments due from spells (outcomes.spells).

Every expected reason and day below is worked by hand from the rule it tests; the arrays are small enough to
read. Days are counted from each person's start date (2024-01-01 unless a test says otherwise).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ground.errors import SchemaError, SpecError
from ground.tables import validate
from outcomes.claims import REASONS, ClaimRule, judge, prerequisite_order
from outcomes.spells import NEVER, merged, payments_due

START = pd.Timestamp("2024-01-01")
AS_OF = "2025-12-31"


def cohort(*ids: str, **columns) -> pd.DataFrame:
    return pd.DataFrame({"person_id": list(ids), "start_date": [START] * len(ids), **columns})


def claims(*rows: tuple) -> pd.DataFrame:
    """Rows of (person, outcome, day after START, evidence)."""
    return pd.DataFrame(
        {
            "person_id": [r[0] for r in rows],
            "outcome": [r[1] for r in rows],
            "achieved_on": [START + pd.Timedelta(days=r[2]) for r in rows],
            "evidence": [r[3] if len(r) > 3 else f"ev{i:03d}" for i, r in enumerate(rows)],
        }
    )


def reasons(frame, people, rules, as_of=AS_OF, spells=None) -> list[tuple[str, str, int, str]]:
    """(person, outcome, day, reason) in the claim order."""
    j, _ = judge(frame, people, rules, index="start_date", as_of=as_of, spells=spells)
    return [
        (
            j.people[p],
            j.outcomes[o],
            int(d - START.to_datetime64().astype("datetime64[D]").astype(np.int64)),
            REASONS[r],
        )
        for p, o, d, r in zip(j.person, j.outcome, j.day, j.reason)
    ]


# ------------------------------------------------------------------ each rule
def test_a_claim_of_someone_outside_the_cohort_is_not_eligible():
    got = reasons(claims(("a", "job", 10), ("x", "job", 10)), cohort("a"), [ClaimRule("job")])
    assert got == [("a", "job", 10, "accepted"), ("x", "job", 10, "not eligible")]


def test_an_outcomes_own_rule_decides_eligibility_and_a_missing_value_fails_it():
    people = cohort("a", "b", "c", age=[17, 30, None])
    got = reasons(
        claims(("a", "job", 5), ("b", "job", 5), ("c", "job", 5)), people, [ClaimRule("job", eligible="age >= 18")]
    )
    assert [r[3] for r in got] == ["not eligible", "accepted", "not eligible"]


def test_a_claim_before_the_start_date_is_refused_and_the_start_date_itself_is_not():
    got = reasons(claims(("a", "job", -1), ("b", "job", 0)), cohort("a", "b"), [ClaimRule("job")])
    assert [r[3] for r in got] == ["before start", "accepted"]


def test_the_time_limit_counts_days_after_the_start_date_inclusive():
    rule = ClaimRule("job", within_days=90, times=3)
    got = reasons(claims(("a", "job", 89), ("a", "job", 90), ("a", "job", 91)), cohort("a"), [rule])
    assert [r[3] for r in got] == ["accepted", "accepted", "past the time limit"]


def test_a_prerequisite_must_be_achieved_on_or_before_the_day():
    rules = [ClaimRule("job_13"), ClaimRule("job_26", after=("job_13",))]
    frame = claims(
        ("a", "job_13", 91),
        ("a", "job_26", 182),  # in order: paid
        ("b", "job_13", 100),
        ("b", "job_26", 100),  # the same day: the prerequisite is there
        ("c", "job_26", 150),
        ("c", "job_13", 160),  # the prerequisite comes later: missing
        ("d", "job_26", 182),  # never: missing
    )
    got = {(r[0], r[1]): r[3] for r in reasons(frame, cohort("a", "b", "c", "d"), rules)}
    assert got == {
        ("a", "job_13"): "accepted",
        ("a", "job_26"): "accepted",
        ("b", "job_13"): "accepted",
        ("b", "job_26"): "accepted",
        ("c", "job_26"): "prerequisite missing",
        ("c", "job_13"): "accepted",
        ("d", "job_26"): "prerequisite missing",
    }


def test_a_prerequisite_claimed_but_itself_invalid_does_not_count():
    rules = [ClaimRule("job_13", within_days=100), ClaimRule("job_26", after=("job_13",))]
    got = reasons(claims(("a", "job_13", 120), ("a", "job_26", 200)), cohort("a"), rules)
    assert [r[3] for r in got] == ["past the time limit", "prerequisite missing"]


def test_a_duplicate_is_a_claim_beyond_the_outcomes_times_counting_only_valid_claims():
    once = reasons(claims(("a", "job", 10), ("a", "job", 20)), cohort("a"), [ClaimRule("job")])
    assert [r[3] for r in once] == ["accepted", "duplicate"]
    # An invalid claim does not use up one of the two: the third is the duplicate.
    twice = reasons(
        claims(("a", "job", -5), ("a", "job", 10), ("a", "job", 20), ("a", "job", 30)),
        cohort("a"),
        [ClaimRule("job", times=2)],
    )
    assert [r[3] for r in twice] == ["before start", "accepted", "accepted", "duplicate"]


def test_of_two_claims_on_one_day_the_duplicate_is_the_later_by_evidence():
    frame = claims(("a", "job", 10, "letter B"), ("a", "job", 10, "letter A"))
    j, _ = judge(frame, cohort("a"), [ClaimRule("job")], index="start_date", as_of=AS_OF)
    assert list(zip(j.row.tolist(), [REASONS[r] for r in j.reason])) == [(1, "accepted"), (0, "duplicate")]


def test_the_first_broken_rule_is_the_reason():
    # Outside the cohort and before the start: not eligible comes first.
    got = reasons(claims(("x", "job", -10)), cohort("a"), [ClaimRule("job")])
    assert got[0][3] == "not eligible"


# ------------------------------------------------------------------ the claim order
def test_claims_are_ordered_by_day_person_outcome_evidence_then_provider():
    frame = claims(("b", "x", 5, "e2"), ("a", "y", 5, "e9"), ("a", "x", 5, "e9"), ("a", "x", 5, "e1"), ("a", "x", 1))
    frame["provider_id"] = ["p1", "p1", "p1", "p1", "p1"]
    rules = [ClaimRule("x", times=9), ClaimRule("y")]
    j, _ = judge(frame, cohort("a", "b"), rules, index="start_date", as_of=AS_OF)
    assert j.row.tolist() == [4, 3, 2, 1, 0]


def test_the_provider_breaks_a_tie_of_evidence_a_missing_provider_first():
    frame = claims(("a", "x", 5, "e"), ("a", "x", 5, "e"), ("a", "x", 5, "e"))
    frame["provider_id"] = ["p2", None, "p1"]
    j, _ = judge(frame, cohort("a"), [ClaimRule("x", times=9)], index="start_date", as_of=AS_OF)
    assert j.row.tolist() == [1, 2, 0]


def test_people_are_ordered_as_text_not_by_their_row_in_the_cohort():
    frame = claims(("b10", "x", 1), ("b2", "x", 1), ("a", "x", 1))
    j, _ = judge(frame, cohort("b2", "b10", "a"), [ClaimRule("x")], index="start_date", as_of=AS_OF)
    assert [j.people[p] for p in j.person] == ["a", "b10", "b2"]


def test_claims_after_the_settlement_date_are_left_out_and_counted():
    j, left = judge(claims(("a", "x", 10), ("a", "x", 400)), cohort("a"), [ClaimRule("x", times=2)],
                    index="start_date", as_of="2024-06-30")  # fmt: skip
    assert len(j) == 1 and left == [("claims", "achieved after the settlement date", 1)]


# ------------------------------------------------------------------ bad claims and rules
def test_a_claim_of_an_outcome_not_on_the_rate_card_is_refused_with_its_rows():
    with pytest.raises(SchemaError) as caught:
        judge(claims(("a", "x", 1), ("a", "zz", 1), ("a", "zz", 2)), cohort("a"), [ClaimRule("x")],
              index="start_date", as_of=AS_OF, source="claims.csv")  # fmt: skip
    message = str(caught.value)
    assert "claims.csv" in message and "outcome" in message and "row 2 (zz), row 3 (zz)" in message


def test_a_claim_of_an_outcome_due_from_spells_is_refused():
    rules = [ClaimRule("sus", spells="employment", every_weeks=4)]
    with pytest.raises(SchemaError, match="due from spells, not claimed: sus"):
        judge(claims(("a", "sus", 1)), cohort("a"), rules, index="start_date", as_of=AS_OF)


def test_prerequisites_must_name_outcomes_and_form_no_cycle():
    with pytest.raises(SpecError, match="claims.outcomes.b.after") as caught:
        prerequisite_order([ClaimRule("a"), ClaimRule("b", after=("zz",))])
    assert caught.value.key == "claims.outcomes.b.after"
    with pytest.raises(SpecError, match="cycle among a, b"):
        prerequisite_order([ClaimRule("a", after=("b",)), ClaimRule("b", after=("a",))])


# ------------------------------------------------------------------ spells
def test_spells_that_overlap_or_meet_are_one_and_a_gap_starts_another():
    person, start, end = merged(np.array([0, 0, 0, 0]), np.array([30, 0, 21, 60]), np.array([40, 20, 25, 70]))
    # [0, 20] meets [21, 25] (the next day), which overlaps [30, 40]? no: 26-29 is a gap; [60, 70] is apart.
    assert (person.tolist(), start.tolist(), end.tolist()) == ([0, 0, 0], [0, 30, 60], [25, 40, 70])


def test_a_payment_falls_due_every_n_weeks_of_the_spell_after_the_anchor_up_to_times():
    person, day, began, number = payments_due(
        person=np.array([0, 1]),
        start=np.array([0, 0]),
        end=np.array([NEVER, 100]),
        anchor=np.array([10, 0]),
        every_days=28,
        times=3,
        until=np.array([1000, 1000]),
    )
    # Person 0: from day 10, payments on days 38, 66, 94, then times = 3 stops them.
    # Person 1: days 28, 56, 84; day 112 is after the spell ended on day 100.
    assert person.tolist() == [0, 0, 0, 1, 1, 1]
    assert day.tolist() == [38, 66, 94, 28, 56, 84]
    assert number.tolist() == [1, 2, 3, 1, 2, 3] and began.tolist() == [10, 10, 10, 0, 0, 0]


def test_a_break_restarts_the_count_and_times_counts_over_all_spells():
    person, day, _, number = payments_due(
        person=np.array([0, 0]),
        start=np.array([0, 100]),
        end=np.array([70, 300]),
        anchor=np.array([0, 0]),
        every_days=28,
        times=4,
        until=np.array([1000, 1000]),
    )
    # Spell 1 (days 0-70): days 28, 56. Spell 2 from day 100: 128, 156, then the fourth payment is the last.
    assert day.tolist() == [28, 56, 128, 156] and number.tolist() == [1, 2, 3, 4]


def test_nothing_falls_due_after_the_settlement_date_or_without_the_prerequisite():
    _, day, _, _ = payments_due(
        person=np.array([0, 1]),
        start=np.array([0, 0]),
        end=np.array([NEVER, NEVER]),
        anchor=np.array([0, NEVER]),
        every_days=28,
        times=99,
        until=np.array([60, 60]),
    )
    assert day.tolist() == [28, 56]


def test_recurring_payments_are_judged_with_the_claims():
    rules = [
        ClaimRule("job"),
        ClaimRule("sus", spells="employment", every_weeks=4, times=2, after=("job",), within_days=100),
    ]
    spells = pd.DataFrame(
        {
            "person_id": ["a", "a", "b", "zz"],
            "kind": ["employment", "employment", "employment", "employment"],
            "start": [START, START + pd.Timedelta(days=30), START, START],
            "end": [START + pd.Timedelta(days=40), pd.NaT, pd.NaT, pd.NaT],
        }
    )
    j, left = judge(claims(("a", "job", 20)), cohort("a", "b"), rules, index="start_date", as_of=AS_OF, spells=spells)
    got = [(j.people[p], j.outcomes[o], int(d - 19723), REASONS[r], int(n)) for p, o, d, r, n in
           zip(j.person, j.outcome, j.day, j.reason, j.number)]  # fmt: skip
    # a's spells (days 0-40 and 30 on) are one, counted from the job on day 20: due on days 48 and 76.
    # b never achieved the job: nothing due. zz is in no cohort: counted.
    assert got == [("a", "job", 20, "accepted", 0), ("a", "sus", 48, "accepted", 1), ("a", "sus", 76, "accepted", 2)]
    assert left == [("spells", "employment spells of no one in the cohort", 1)]


def test_a_recurring_payment_past_the_time_limit_is_rejected_not_dropped():
    rules = [ClaimRule("sus", spells="employment", every_weeks=4, times=3, within_days=60)]
    spells = pd.DataFrame({"person_id": ["a"], "kind": ["employment"], "start": [START], "end": [pd.NaT]})
    got = reasons(claims(("a", "sus", 0))[:0], cohort("a"), rules, spells=spells)
    assert [(r[2], r[3]) for r in got] == [(28, "accepted"), (56, "accepted"), (84, "past the time limit")]


# ------------------------------------------------------------------ the tables' own rules
def test_a_spell_that_ends_before_it_starts_and_a_claim_without_evidence_are_refused_with_their_rows():
    spells = pd.DataFrame({"person_id": ["a", "b"], "kind": "work", "start": ["2024-01-01", "2024-03-01"],
                           "end": ["2024-02-01", "2024-02-01"]})  # fmt: skip
    with pytest.raises(SchemaError, match=r"end: before start: 1 row: row 2 \(2024-02-01\)"):
        validate(spells, "spells")
    frame = claims(("a", "x", 1), ("a", "x", 2)).assign(evidence=["letter", None])
    with pytest.raises(SchemaError, match=r"evidence: missing value: 1 row: row 2"):
        validate(frame, "claims")


def test_a_date_written_another_way_is_refused_not_guessed():
    frame = claims(("a", "x", 1)).assign(achieved_on=["01/02/2024"])
    with pytest.raises(SchemaError, match=r"achieved_on: not a valid date .* row 1 \(01/02/2024\)"):
        judge(frame, cohort("a"), [ClaimRule("x")], index="start_date", as_of=AS_OF)
