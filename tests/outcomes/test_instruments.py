"""Instruments as data and scoring: hand-worked Rosenberg totals, prorating, problems."""

import numpy as np
import pandas as pd
import pytest

from ground.errors import SchemaError, SpecError
from outcomes import builtin_instruments, get_instrument, load_instrument, score

DAY = pd.Timestamp("2024-01-10")


def rosenberg_rows(person, answers, day=DAY):
    """answers: dict item number -> raw response (absent = skipped)."""
    return [(person, "rosenberg", f"q{q}", v, day) for q, v in answers.items()]


def frame(rows):
    return pd.DataFrame(rows, columns=["person_id", "instrument", "item", "score", "assessed_on"])


def test_builtin_instruments_match_the_synthetic_world():
    inst = builtin_instruments()
    areas = ["family", "accommodation", "ete", "drugs_alcohol", "finance", "attitudes"]
    assert set(inst) == {"rosenberg", "accommodation_status", "family_contact", *(f"ladder_{a}" for a in areas)}
    r = inst["rosenberg"]
    assert r.item_names == tuple(f"q{i}" for i in range(1, 11))
    assert [i.name for i in r.items if i.reversed] == ["q2", "q5", "q6", "q8", "q9"]
    assert r.score_range == (0, 30) and r.max_missing == 1 and r.reliability == 0.85
    assert "Silber" in r.reliability_source
    assert inst["ladder_ete"].measure_range() == (1, 10)
    assert "assumption" in inst["ladder_ete"].reliability_source
    status = inst["accommodation_status"].item("status")
    assert [status.code_of(s) for s in ("no_fixed_abode", "unsettled", "settled")] == [1, 2, 3]
    fc = inst["family_contact"]
    assert fc.measures == ("contact_frequency", "living_with_family")
    assert fc.measure_range("contact_frequency") == (0, 4)
    assert fc.measure_range("living_with_family") == (0, 1)
    assert fc.item("contact_frequency").code_of("weekly") == 3


def test_rosenberg_reverse_items_hand_worked():
    # All "strongly agree" (3): positives q1,3,4,7,10 give 5 x 3 = 15, reversed items give 0.
    # Answers 3,0,3,3,0,0,3,0,0,3 (agree with every positive, strongly disagree with every
    # negative item) give the maximum 30. A mixed pattern: q1..q10 = 2,1,2,3,0,1,2,1,2,3:
    # positives 2+2+3+2+3 = 12; reversed 3-1, 3-0, 3-1, 3-1, 3-2 = 2+3+2+2+1 = 10; total 22.
    rows = (
        rosenberg_rows("A", {q: 3 for q in range(1, 11)})
        + rosenberg_rows("B", dict(zip(range(1, 11), [3, 0, 3, 3, 0, 0, 3, 0, 0, 3])))
        + rosenberg_rows("C", dict(zip(range(1, 11), [2, 1, 2, 3, 0, 1, 2, 1, 2, 3])))
    )
    s = score(frame(rows), "rosenberg")
    got = s.scores.set_index("person_id")["score"]
    assert got.to_dict() == {"A": 15.0, "B": 30.0, "C": 22.0}
    assert s.scores["scorable"].all() and not s.scores["prorated"].any()
    assert s.problems.empty


def test_rosenberg_prorates_exactly_one_missing_item():
    # C's pattern without q10 (3): nine answered items score 12 - 3 + 10 = 19; 19 / 9 x 10.
    answers = dict(zip(range(1, 10), [2, 1, 2, 3, 0, 1, 2, 1, 2]))
    two_missing = {q: v for q, v in answers.items() if q != 9}
    s = score(frame(rosenberg_rows("C", answers) + rosenberg_rows("D", two_missing)), "rosenberg")
    c, d = s.scores.set_index("person_id").loc[["C", "D"]].to_dict("records")
    assert c["score"] == pytest.approx(190 / 9)
    assert c["prorated"] and c["scorable"] and c["n_answered"] == 9
    assert np.isnan(d["score"]) and not d["scorable"]
    assert d["reason"] == "2 items missing (at most 1 prorated)"


def test_problems_are_reported_with_rows_and_never_clipped():
    rows = (
        rosenberg_rows("A", {q: 2 for q in range(1, 11)})
        + [("A", "ladder_ete", "ladder", 7, DAY)]  # row 10: another instrument
        + rosenberg_rows("B", {**{q: 1 for q in range(1, 11)}, 3: 4})  # row 13: q3 = 4 out of range
        + [("C", "rosenberg", "q11", 1, DAY)]  # row 21: unknown item
        + rosenberg_rows("D", {q: 1.5 if q == 1 else 1 for q in range(1, 11)})  # row 22: not whole
        + rosenberg_rows("E", {q: 1 for q in range(1, 11)})
        + [("E", "rosenberg", "q1", 2, DAY)]  # dup q1
    )
    s = score(frame(rows), "rosenberg")
    probs = s.problems.set_index("row")["rule"].to_dict()
    assert probs == {
        13: "out_of_range",
        21: "unknown_item",
        22: "not_integer",
        32: "duplicate_item",
        42: "duplicate_item",
    }
    assert s.other_instrument_rows.tolist() == [10]
    by_person = s.scores.set_index("person_id")
    assert by_person.loc["A", "score"] == 15.0  # 5 x 2 + 5 x (3 - 2)
    for p in "BCDE":
        assert not by_person.loc[p, "scorable"] and np.isnan(by_person.loc[p, "score"])
    assert "q3 = 4" in by_person.loc["B", "reason"] and "range 0-3" in by_person.loc["B", "reason"]
    assert "q11" in by_person.loc["C", "reason"]
    assert s.counts == {
        "occasions": 5,
        "scorable": 1,
        "prorated": 0,
        "not_scorable": 4,
        "problem_rows": 5,
        "other_instrument_rows": 1,
    }
    assert "row 14" in s.summary()  # data rows counted from 1 in messages


def test_single_and_items_instruments():
    rows = [
        ("A", "accommodation_status", "status", 2, DAY),
        ("A", "family_contact", "contact_frequency", 3, DAY),
        ("A", "family_contact", "living_with_family", 1, DAY),
        ("B", "family_contact", "living_with_family", 2, DAY),  # out of range 0-1
    ]
    acc = score(frame(rows), "accommodation_status").scores
    assert acc["score"].tolist() == [2.0] and acc["person_id"].tolist() == ["A"]
    fc = score(frame(rows), "family_contact")
    a = fc.scores.set_index("person_id").loc["A"]
    assert (a["contact_frequency"], a["living_with_family"], a["scorable"]) == (3.0, 1.0, True)
    assert np.isnan(a["score"])  # an 'items' instrument has no total
    assert fc.problems["rule"].tolist() == ["out_of_range"]


def test_missing_columns_and_bad_dates_raise_schema_errors():
    with pytest.raises(SchemaError, match="missing the column assessed_on"):
        score(frame([]).drop(columns="assessed_on"), "rosenberg")
    bad = frame(rosenberg_rows("A", {1: 1})).astype({"assessed_on": object})
    bad.loc[0, "assessed_on"] = "not a date"
    with pytest.raises(SchemaError, match="assessed_on: not a valid date .*: row 1 \\(not a date\\)"):
        score(bad, "rosenberg")


def test_user_instrument_from_toml(tmp_path):
    path = tmp_path / "hope.toml"
    path.write_text(
        'name = "hope"\ntitle = "Hope scale"\nscoring = "mean"\nitems = ["a", "b", "c"]\n'
        'item_min = 1\nitem_max = 5\nreversed = ["c"]\nmax_missing = 1\n'
        'direction = "higher_is_better"\nsource = "made up for the test"\n'
    )
    hope = load_instrument(path)
    assert hope.score_range == (1.0, 5.0)
    a = pd.DataFrame(
        {
            "person_id": ["A"] * 3 + ["B"] * 2,
            "item": ["a", "b", "c", "a", "c"],
            "score": [5, 4, 1, 2, 2],
            "assessed_on": [DAY] * 5,
        }
    )
    s = score(a, hope).scores.set_index("person_id")["score"]
    # A: 5, 4, reversed 1 -> 5: mean 14/3. B: 2, reversed 2 -> 4: mean 3 (b missing, prorated).
    assert s["A"] == pytest.approx(14 / 3) and s["B"] == pytest.approx(3.0)


@pytest.mark.parametrize(
    "text, key",
    [
        ('scoring = "median"', "scoring"),
        ('reversed = ["z"]', "reversed"),
        ("reliability = 1.5\nreliability_source = 'x'", "reliability"),
        ("max_missing = 3", "max_missing"),
    ],
)
def test_bad_instrument_files_name_the_key(tmp_path, text, key):
    base = {
        "name": '"x"',
        "title": '"X"',
        "scoring": '"sum"',
        "items": '["a", "b", "c"]',
        "item_min": "0",
        "item_max": "3",
        "direction": '"higher_is_better"',
        "source": '"s"',
    }
    override = text.split(" = ")[0]
    body = "\n".join(f"{k} = {v}" for k, v in base.items() if k != override) + "\n" + text + "\n"
    path = tmp_path / "x.toml"
    path.write_text(body)
    with pytest.raises(SpecError) as err:
        load_instrument(path)
    assert err.value.key == key and f"'{key}'" in str(err.value)


def test_unknown_instrument_names_the_choices():
    with pytest.raises(SpecError, match="rosenberg.*Got 'rosenbreg'"):
        get_instrument("rosenbreg")


def test_instruments_round_trip_through_their_toml_layout():
    from outcomes.instruments import instrument_from_dict

    for inst in builtin_instruments().values():
        assert instrument_from_dict(inst.to_dict()) == inst, inst.name
