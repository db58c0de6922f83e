"""Scoring on integer codes: ids read once as text, missing scores and absent instruments handled."""

import numpy as np
import pandas as pd

from outcomes import Improvement, MetricSpec, Threshold, achievement, score
from outcomes.achievement import Cohort
from outcomes.instruments import Instrument, Item
from outcomes.scoring import checked_assessments

DAY = pd.Timestamp("2024-01-10")


def ladder(rows):
    """(person, day, value) -> ladder_family assessment rows."""
    return pd.DataFrame(
        [(p, "ladder_family", "ladder", v, DAY + pd.Timedelta(days=d)) for p, d, v in rows],
        columns=["person_id", "instrument", "item", "score", "assessed_on"],
    )


def test_checked_assessments_are_coded_and_ids_that_read_alike_are_one_person():
    a = ladder([(10, 0, 3), (10.0, 120, 5), (9, 0, 4)]).astype({"person_id": object})
    a.loc[1, "person_id"] = 10.0  # saved with a decimal point by a spreadsheet
    checked = checked_assessments(a.assign(instrument=a["instrument"].astype(object)))
    ids = checked["person_id"]
    assert isinstance(ids.dtype, pd.CategoricalDtype) and ids.cat.categories.tolist() == ["10", "9"]
    assert ids.tolist() == ["10", "10", "9"]
    assert isinstance(checked["instrument"].dtype, pd.CategoricalDtype)
    assert isinstance(checked["item"].dtype, pd.CategoricalDtype)
    s = score(a, "ladder_family").scores
    assert s["person_id"].tolist() == ["10", "10", "9"] and s["score"].tolist() == [3.0, 5.0, 4.0]


def test_a_missing_score_is_a_problem_said_in_words():
    rows = [("A", "rosenberg", f"q{q}", np.nan if q == 4 else 2.0, DAY) for q in range(1, 11)]
    s = score(pd.DataFrame(rows, columns=["person_id", "instrument", "item", "score", "assessed_on"]), "rosenberg")
    message = "missing_value: item q4 = missing (score is missing or not a number)"
    assert s.problems["message"].tolist() == [message] and s.problems["row"].tolist() == [3]
    assert s.scores["reason"].tolist() == [message] and not s.scores["scorable"].any()


def test_rows_of_other_instruments_are_found_when_asked():
    a = pd.concat([ladder([("A", 0, 3)]), ladder([("A", 0, 3)]).assign(instrument="ladder_ete")], ignore_index=True)
    s = score(a, "ladder_family")
    assert s.other_instrument_rows.tolist() == [1] and s.counts["other_instrument_rows"] == 1
    assert score(a.drop(columns="instrument").iloc[:1], "ladder_family").other_instrument_rows.tolist() == []


def test_an_instrument_nobody_took_leaves_everyone_unmeasured():
    improvement, threshold = {"type": "improvement", "by": 2}, {"type": "threshold", "at_least": 7}
    outcomes = {
        "family": {"instrument": "ladder_family", "window": [91, 273], "rule": improvement},
        "ete": {"instrument": "ladder_ete", "window": [91, 273], "rule": threshold},
    }
    spec = MetricSpec.from_dict({"metric": {"name": "two ladders"}, "outcomes": outcomes})
    people = pd.DataFrame({"person_id": ["A", "B"], "start_date": [DAY, DAY]})
    results = spec.achievement(people, ladder([("A", 0, 3), ("A", 120, 6)]), as_of="2025-06-30")
    assert results["family"].per_person["status"].tolist() == ["achieved", "not_achieved"]
    ete = results["ete"].per_person
    assert ete["status"].tolist() == ["not_achieved"] * 2 and ete["unmeasured"].all()
    assert ete["reason"].tolist() == ["no assessment in window (days 91..273)"] * 2


def test_people_are_found_by_their_ids_as_text():
    people = pd.DataFrame({"person_id": [7, 8], "start_date": [DAY, DAY]})
    s = score(ladder([(7, 0, 3), (7, 120, 6), (8, 0, 3), (8, 120, 4)]), "ladder_family")
    result = achievement(people, s, Improvement(by=2), as_of="2025-06-30")
    assert result.per_person["status"].tolist() == ["achieved", "not_achieved"]
    assert result.per_person["person_id"].tolist() == [7, 8]  # as given


def test_one_cohort_serves_several_outcomes_and_gives_what_the_people_table_gives():
    people = pd.DataFrame({"person_id": ["B", "A"], "start_date": [DAY, None]})
    s = score(ladder([("B", 0, 3), ("B", 120, 8), ("A", 0, 3)]), "ladder_family")
    cohort = Cohort.of(people)
    for rule in (Improvement(by=2), Threshold(at_least=8, counts="any")):
        once = achievement(cohort, s, rule, as_of="2025-06-30").per_person
        pd.testing.assert_frame_equal(once, achievement(people, s, rule, as_of="2025-06-30").per_person)
        assert once["status"].tolist() == ["achieved", "not_measurable"]
        assert once["reason"].tolist() == ["", "no start_date"]


def test_occasions_are_the_same_whatever_the_order_of_the_rows():
    rng = np.random.default_rng(5)
    rows = [
        (p, "rosenberg", f"q{q}", float(rng.integers(0, 4)), DAY + pd.Timedelta(days=d))
        for p in ("B", "A", "C")
        for d in (0, 120, 240)
        for q in range(1, 11)
        if not (p == "C" and d == 120 and q == 3)  # one item missing: prorated
    ]
    a = pd.DataFrame(rows, columns=["person_id", "instrument", "item", "score", "assessed_on"])
    in_order = score(a, "rosenberg")
    shuffled = score(a.sample(frac=1, random_state=1), "rosenberg")
    pd.testing.assert_frame_equal(in_order.scores, shuffled.scores)
    assert in_order.scores["person_id"].tolist() == ["A"] * 3 + ["B"] * 3 + ["C"] * 3
    assert in_order.scores["prorated"].sum() == 1


def test_items_given_twice_are_the_same_problems_whatever_the_order_of_the_rows():
    # In person and date order each occasion's rows are side by side (its items' bits are summed); shuffled,
    # every row is keyed and counted: the same rows are found.
    rows = [("A", "rosenberg", f"q{q}", 1.0, DAY) for q in (1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10)]
    rows += [("B", "rosenberg", f"q{q}", 2.0, DAY + pd.Timedelta(days=d)) for d in (0, 120) for q in range(1, 11)]
    rows += [("C", "rosenberg", "q10", 3.0, DAY)] * 3 + [("C", "rosenberg", "q11", 3.0, DAY)] * 2
    a = pd.DataFrame(rows, columns=["person_id", "instrument", "item", "score", "assessed_on"])
    in_order = score(a, "rosenberg").problems
    shuffled = score(a.sample(frac=1, random_state=2), "rosenberg").problems
    assert sorted(in_order.loc[in_order["rule"] == "duplicate_item", "row"]) == [1, 2, 31, 32, 33]
    key = ["row", "rule"]
    pd.testing.assert_frame_equal(
        in_order.sort_values(key).reset_index(drop=True),
        shuffled.assign(row=a.sample(frac=1, random_state=2).index[shuffled["row"]])
        .sort_values(key)
        .reset_index(drop=True),
    )


def test_an_item_given_five_times_is_found_on_an_instrument_of_63_items():
    # Five times 2**62 wraps round 64 bits to 2**62 itself, as if the item were given once: an instrument this wide
    # is counted item by item, not by its items' bits.
    items = tuple(Item(f"q{i}", 0, 3) for i in range(1, 64))
    wide = Instrument("wide", "Wide", "sum", items, "higher_is_better", "assumed: a test instrument")
    rows = [("A", "wide", "q63", 1.0, DAY)] * 5 + [("B", "wide", f"q{i}", 1.0, DAY) for i in range(1, 64)]
    problems = score(pd.DataFrame(rows, columns=["person_id", "instrument", "item", "score", "assessed_on"]), wide)
    assert sorted(problems.problems.loc[problems.problems["rule"] == "duplicate_item", "row"]) == [0, 1, 2, 3, 4]
