"""Linkage without a shared ID (``cohorts.linkage``, ``desist link``).

On generated data with the errors of a list typed by hand (names mistyped, day and month swapped, digits
of a date mistyped, a quarter of the PNC numbers missing, twins who share a surname and date of birth):
precision and recall against the truth, printed (``pytest -s``) and recorded as properties, above stated
floors. The consequences for the reoffending rate are checked by hand on a small case; a bad file gives
the same message through the API and the command line.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from cohorts.linkage import BELOW, NO_CANDIDATE, TIED, link, linkage_bias
from cohorts.synthetic import LINKAGE_ERRORS, make_linkage_data
from ground.errors import ParameterError, SchemaError
from tests.running import desist, one_message

#: Floors on the linkage's accuracy at the default threshold (0.9) on this data; seen: 0.997 and 0.990.
FLOORS = {"precision": 0.98, "recall": 0.95}
#: Floor on the recall of the rows given each kind of error (seen: 0.95 and above for each).
ERROR_RECALL_FLOOR = 0.85
#: Fewer pairs for the u probabilities than the default 10 million: a second, not a minute.
PAIRS = 200_000


@pytest.fixture(scope="module")
def data():
    # day and month swapped more often than by default (where the day could be a month: about a third of dates)
    return make_linkage_data(seed=7, n_people=20_000, n_cohort=1_000, errors={"day_month_swapped": 0.3})


@pytest.fixture(scope="module")
def linked(data):
    return link(data.cohort, data.people, outcome="reoffended", sample_pairs=PAIRS)


def _accuracy(links: pd.DataFrame, truth: pd.Series, rows: np.ndarray | None = None) -> dict[str, float]:
    """Precision (links to the right person of all links) and recall (right links of all people who are there)."""
    rows = np.ones(len(links), dtype=bool) if rows is None else rows
    true = truth.fillna("").to_numpy(dtype=object)[rows]
    found = links["person_id"].fillna("").to_numpy(dtype=object)[rows]
    made = links["linked"].to_numpy()[rows]
    right = made & (found == true)
    return {
        "rows": int(rows.sum()),
        "links": int(made.sum()),
        "precision": right.sum() / made.sum() if made.any() else math.nan,
        "recall": right.sum() / (true != "").sum() if (true != "").any() else math.nan,
    }


def test_precision_and_recall_against_the_truth(linked, data, record_property):
    overall = _accuracy(linked.links, data.truth)
    by_error = {kind: _accuracy(linked.links, data.truth, data.errors[kind].to_numpy()) for kind in LINKAGE_ERRORS}
    table = pd.DataFrame({"all rows": overall, **by_error}).T.astype({"rows": int, "links": int})
    print(f"\nLinkage of 1,000 cohort rows to 20,000 people at threshold {linked.threshold}:\n{table.to_string()}")
    # plain floats: pytest-xdist sends properties between processes and cannot send numpy numbers
    record_property("precision", round(float(overall["precision"]), 4))
    record_property("recall", round(float(overall["recall"]), 4))
    assert overall["precision"] >= FLOORS["precision"]
    assert overall["recall"] >= FLOORS["recall"]
    # each kind of error is linked through, missing values included (a missing date of birth is not)
    hard = ["date_of_birth_missing", "new_surname", "other_first_name"]
    low = {k: r["recall"] for k, r in by_error.items() if k not in hard and r["recall"] < ERROR_RECALL_FLOOR}
    assert low == {}, low
    assert by_error["day_month_swapped"]["rows"] >= 80 and by_error["pnc_id_missing"]["rows"] >= 200


def test_every_cohort_row_is_linked_or_counted_with_its_reason(linked, data):
    links, counts = linked.links, linked.counts
    assert len(links) == len(data.cohort) and list(links.columns[:5]) == list(data.cohort.columns)
    assert counts["cohort rows"] == counts["linked"] + sum(v for k, v in counts.items() if k.startswith("not linked"))
    made = links["linked"]
    assert (links.loc[made, "match_probability"] >= 0.9).all()
    assert (links.loc[made, "person_id"] == links.loc[made, "best_candidate"]).all()
    assert links.loc[~made, "person_id"].isna().all() and (links.loc[made, "reason"] == "").all()
    assert set(links.loc[~made, "reason"]) <= {NO_CANDIDATE, TIED, BELOW}
    below = links["reason"] == BELOW
    assert (links.loc[below, "match_probability"] < 0.9).all() and links.loc[below, "best_candidate"].notna().all()
    assert links.loc[links["reason"] == NO_CANDIDATE, "match_probability"].isna().all()
    # the linked share is reported with its interval and n
    share = linked.to_dict()["linked"]
    assert (
        share["k"] == counts["linked"]
        and share["n"] == 1_000
        and share["ci_low"] < share["estimate"] < share["ci_high"]
    )
    assert "the user's threshold" in linked.summary() and "0.9" in linked.summary()


def test_the_bound_holds_the_rate_free_of_linkage_error(linked, data):
    """On this data, the rate with every person found (the unlinked in truth counted as not reoffending)
    lies inside the bound, which the rate found through the links does not always equal."""
    reoffended = data.people.set_index("person_id")["reoffended"]
    true_rate = reoffended.reindex(data.truth.dropna()).sum() / len(data.cohort)
    row = linked.chosen
    print(
        f"\nrate {row['rate']:.4f}, free of linkage error {true_rate:.4f}, bound [{row['bound_low']:.4f}, "
        f"{row['bound_high']:.4f}]; expected false matches {row['expected_false_matches']:.1f}, missed "
        f"{row['expected_missed_matches']:.1f}"
    )
    assert row["bound_low"] <= true_rate <= row["bound_high"]
    assert row["bound_low"] <= row["rate"] <= row["bound_high"]
    low, high = linked.threshold_range
    assert low <= row["rate"] <= high and list(linked.consequences["threshold"]) == [0.5, 0.8, 0.9, 0.95, 0.99]


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval from its formula (Wilson 1927), written out here."""
    centre, half = (k + z**2 / 2) / (n + z**2), z / (n + z**2) * math.sqrt(k * (n - k) / n + z**2 / 4)
    return centre - half, centre + half


def test_linkage_bias_by_hand():
    # Seven cohort rows: best candidates' probabilities and outcomes. Row 4 has no candidate; row 5 links to
    # someone whose outcome is not known (left out of the rate); row 6's two best candidates tie.
    p = [0.999, 0.95, 0.85, 0.6, math.nan, 0.97, 0.99]
    y = [1, 0, 1, 1, math.nan, math.nan, 1]
    tied = [False] * 6 + [True]
    table = linkage_bias(p, y, thresholds=[0.8, 0.9], tied=tied).set_index("threshold")
    # At 0.8: rows 0, 1, 2, 5 linked. F = 0.001 + 0.05 + 0.15 + 0.03; M = 0.6 (row 3) + 0.99 (row 6);
    # n = 7 - 1 (row 5); k = 2 (rows 0 and 2).
    at = table.loc[0.8]
    assert (at["linked"], at["n"], at["reoffended"]) == (4, 6, 2)
    expected = {
        "expected_false_matches": 0.231,
        "expected_missed_matches": 1.59,
        "rate": 2 / 6,
        "bound_low": (2 - 0.231) / 6,
        "bound_high": (2 + 0.231 + 1.59) / 6,
        "estimated_precision": 1 - 0.231 / 4,
        "estimated_recall": (4 - 0.231) / (4 - 0.231 + 1.59),
        "share_linked": 4 / 7,
    }
    assert at[list(expected)].to_numpy(dtype=float) == pytest.approx(list(expected.values()), rel=1e-12)
    assert (at["ci_low"], at["ci_high"]) == pytest.approx(_wilson(2, 6), rel=1e-9)
    # At 0.9: rows 0, 1, 5 linked; row 2 (0.85) joins the missed.
    at = table.loc[0.9]
    assert (at["linked"], at["n"], at["reoffended"]) == (3, 6, 1)
    assert at[["expected_false_matches", "expected_missed_matches"]].tolist() == pytest.approx([0.081, 2.44])
    assert (at["bound_low"], at["bound_high"]) == pytest.approx(((1 - 0.081) / 6, (1 + 0.081 + 2.44) / 6))


def test_linkage_bias_without_an_outcome_gives_the_largest_shifts():
    table = linkage_bias([0.999, 0.95, 0.85, 0.6, math.nan], thresholds=[0.9])
    row = table.iloc[0]
    # every row counts: F = 0.051 over 5 rows down, F + M = 0.051 + 1.45 up
    assert (row["n"], row["linked"]) == (5, 2)
    assert (row["shift_down"], row["shift_up"]) == pytest.approx((0.051 / 5, 1.501 / 5))
    assert np.isnan(row[["rate", "ci_low", "bound_low", "bound_high", "reoffended"]].to_numpy(dtype=float)).all()
    # a bound near the ends is clipped to [0, 1]
    ends = linkage_bias([0.6, 0.6], [1, 1], thresholds=[0.5]).iloc[0]
    assert (ends["bound_low"], ends["bound_high"]) == (pytest.approx(0.6), 1.0)


@pytest.fixture(scope="module")
def small():
    return make_linkage_data(seed=3, n_people=2_000, n_cohort=100)


#: The cohort row whose person the small files' people table holds twice, under two IDs.
TWICE = 0


def _hard_to_find(cohort: pd.DataFrame, truth: pd.Series) -> int:
    """A row of someone in the table whose date of birth can be swapped, to be given day and month swapped and
    the surname's first letter wrong: found only by comparing the swapped date with the dates of birth."""
    day, month = cohort["date_of_birth"].dt.day, cohort["date_of_birth"].dt.month
    can = truth.notna() & (day <= 12) & (day != month) & cohort["pnc_id"].notna() & (cohort.index != TWICE)
    return int(np.flatnonzero(can.to_numpy())[0])


@pytest.fixture(scope="module")
def files(small, tmp_path_factory):
    """The small cohort as CSV, one row made hard to find, and its people table as Parquet with one person
    recorded twice."""
    folder = tmp_path_factory.mktemp("linkage")
    row = small.people.loc[small.people["person_id"] == small.truth[TWICE]]
    people = pd.concat([small.people, row.assign(person_id="P9999999")], ignore_index=True)
    cohort, hard = small.cohort.copy(), _hard_to_find(small.cohort, small.truth)
    born = cohort.loc[hard, "date_of_birth"]
    cohort.loc[hard, "date_of_birth"] = pd.Timestamp(year=born.year, month=born.day, day=born.month)
    cohort.loc[hard, "surname"] = "Q" + cohort.loc[hard, "surname"][1:]
    cohort.loc[hard, "pnc_id"] = pd.NA
    cohort.to_csv(folder / "cohort.csv", index=False)
    people.to_parquet(folder / "people.parquet", index=False)
    return folder


@pytest.fixture(scope="module")
def small_linked(files):
    return link(files / "cohort.csv", files / "people.parquet", outcome="reoffended", sample_pairs=PAIRS)


def test_two_people_matching_equally_well_are_not_linked(small_linked, small):
    assert pd.notna(small.truth[TWICE])
    links = small_linked.links
    assert links.loc[TWICE, "reason"] == TIED and not links.loc[TWICE, "linked"]
    assert links.loc[TWICE, "match_probability"] == links.loc[TWICE, "second_probability"] > 0.99
    assert small_linked.counts[f"not linked: {TIED}"] == 1


def test_day_and_month_swapped_is_found_when_nothing_else_is_exact(small_linked, small):
    hard = _hard_to_find(small.cohort, small.truth)
    assert small_linked.links.loc[hard, "person_id"] == small.truth[hard]


def test_the_link_command_writes_what_the_api_gives(files, small_linked, tmp_path):
    args = ["link", files / "cohort.csv", "--people", files / "people.parquet", "--outcome", "reoffended"]
    run = desist(*args, "--sample-pairs", PAIRS, "--threshold", "0.9", "--out", tmp_path / "out", "--json")
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["inputs"]["threshold"] == 0.9 and document["results"] == json.loads(
        (tmp_path / "out" / "linkage.json").read_text()
    )
    results = document["results"]
    assert results["counts"] == small_linked.counts and results["rate"] == small_linked.rate.to_dict()
    assert results["bound"]["low"] <= results["rate"]["estimate"] <= results["bound"]["high"]
    table = pd.read_csv(tmp_path / "out" / "linked.csv", dtype=str)
    assert len(table) == 100 and list(table.columns[-6:]) == [
        "person_id",
        "best_candidate",
        "match_probability",
        "second_probability",
        "linked",
        "reason",
    ]
    assert table["person_id"].fillna("").tolist() == small_linked.links["person_id"].fillna("").tolist()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "linkage.json",
        "linked.csv",
        "manifest.json",
        "model.json",
    ]


def test_the_link_command_text_is_for_people(small_linked, capsys):
    from desist.commands.link import show_linkage

    show_linkage(small_linked)
    text = capsys.readouterr().out
    words = " ".join(text.split())
    for phrase in (
        "at least 0.9: your threshold",
        "Expected false matches",
        "0.9 (yours)",
        "Free of linkage error",
        "two or more people match equally well",
        "(the unlinked counted as not reoffending)",
    ):
        assert phrase in words, phrase
    assert "nan" not in text.lower() and "e-0" not in text and all(len(line) <= 100 for line in text.splitlines())


BAD = {
    "a date of birth that is not a date, an unknown sex": (
        lambda c, p: (c.assign(date_of_birth=c["date_of_birth"].astype(str).where(c.index != 2, "30/09/1985"),
                               sex=c["sex"].where(c.index != 1, "F")), p),
        ["cohort.csv", "table 'cohort'", "date_of_birth: not a date (expected YYYY-MM-DD): 1 row: row 3 (30/09/1985)",
         "sex: not one of female, male, other, unknown: 1 row: row 2 (F)"],
    ),
    "no column to link on": (
        lambda c, p: (c.rename(columns={"first_name": "forename", "surname": "family", "date_of_birth": "born"}), p),
        ["cohort.csv", "first_name, surname, date_of_birth: required column missing: nothing to link on",
         "Columns present: forename, family, born, sex, pnc_id"],
    ),
    "a person_id twice and an outcome that is not yes or no": (
        lambda c, p: (c, p.assign(person_id=p["person_id"].where(p.index != 4, p["person_id"][0]),
                                  reoffended=p["reoffended"].astype(str).where(p.index != 6, "maybe"))),
        ["people.csv", "table 'people'", "person_id: the same person_id on more than one row: 2 rows: row 1", "row 5",
         "reoffended: not true/false or 1/0: 1 row: row 7 (maybe)"],
    ),
    "a cohort file with a header and no rows": (
        lambda c, p: (c.iloc[:0], p),
        ["cohort.csv: table 'cohort' fails 1 rule:", "data rows: none (a header and no data)"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_file_gives_the_same_message_from_the_api_and_the_command_line(case, small, tmp_path):
    change, parts = BAD[case]
    cohort, people = change(small.cohort, small.people)
    cohort.to_csv(tmp_path / "cohort.csv", index=False)
    people.to_csv(tmp_path / "people.csv", index=False)
    with pytest.raises(SchemaError) as raised:
        link(tmp_path / "cohort.csv", tmp_path / "people.csv", outcome="reoffended")
    run = desist("link", tmp_path / "cohort.csv", "--people", tmp_path / "people.csv", "--outcome", "reoffended")
    assert run.returncode == 1
    one_message(run.stderr, *parts)
    assert run.stderr == f"error: {raised.value}\n"


def test_both_files_bad_are_reported_at_once_and_a_missing_file_is_named(small, tmp_path):
    small.cohort.assign(sex="X").to_csv(tmp_path / "cohort.csv", index=False)
    small.people.assign(sex="Y").to_csv(tmp_path / "people.csv", index=False)
    with pytest.raises(SchemaError, match=r"(?s)cohort\.csv: table 'cohort'.*row 1 \(X\).*people\.csv: table 'people'"):
        link(tmp_path / "cohort.csv", tmp_path / "people.csv")
    run = desist("link", tmp_path / "nowhere.csv", "--people", tmp_path / "people.csv")
    assert run.returncode == 1
    one_message(run.stderr, "nowhere.csv: no such file (the cohort table)")


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("threshold", 1.0, "The 'threshold' parameter of link must be a number in the range (0, 1). Got 1.0"),
        ("engine", "pandas", "The 'engine' parameter of link must be one of 'duckdb', 'spark' or a DuckDB or Spark"),
        ("sample_pairs", 0, "The 'sample_pairs' parameter of link must be an int in the range [1, inf). Got 0"),
        ("ids", ["nhs_number"], "nhs_number: required column missing (an ID to compare)"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(argument, value, message, small):
    with pytest.raises((ParameterError, SchemaError)) as raised:
        link(small.cohort, small.people, **{argument: value})
    assert message in str(raised.value)


def test_linkage_data_is_reproducible_and_carries_its_errors():
    a, b = (
        make_linkage_data(seed=5, n_people=3_000, n_cohort=400),
        make_linkage_data(seed=5, n_people=3_000, n_cohort=400),
    )
    pd.testing.assert_frame_equal(a.cohort, b.cohort)
    pd.testing.assert_frame_equal(a.people, b.people)
    assert a.people["person_id"].is_unique and a.people["pnc_id"].is_unique
    assert a.truth.notna().sum() == 360 and a.truth.dropna().isin(a.people["person_id"]).all()
    found = a.people.set_index("person_id").loc[a.truth.dropna()]
    given = a.cohort.loc[a.truth.notna()]
    swapped = a.errors.loc[a.truth.notna(), "day_month_swapped"].to_numpy()
    born, recorded = given["date_of_birth"].to_numpy()[swapped], found["date_of_birth"].to_numpy()[swapped]
    assert swapped.sum() > 0 and (pd.DatetimeIndex(born).day == pd.DatetimeIndex(recorded).month).all()
    missing = a.errors["pnc_id_missing"].to_numpy()
    assert a.cohort.loc[missing, "pnc_id"].isna().all() and 0.15 < missing.mean() < 0.35
