"""Proven reoffending on hand-built event tables (every edge) and on the Rossi trial, on every engine.

Each test runs on pandas, DuckDB and Spark (the ``engine`` fixture) and checks
that the per-person table is identical to pandas' (:func:`measure`). The Spark
session is made once for the whole run (``spark`` fixture, tiny data); tests
marked ``spark`` are skipped where Java or pyspark is missing
(``pytest -m "not spark"`` leaves them out), but CI runs them.
"""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ground.errors import ParameterError, SchemaError
from ground.tables import UnmatchedRowsWarning
from outcomes import proven_reoffending
from outcomes.engines import DuckDB, Spark
from tests.results.outcomes_rates import ROSSI_FIN0, ROSSI_FIN0_PER100, ROSSI_FIN1

ENGINES = ["pandas", "duckdb", pytest.param("spark", marks=pytest.mark.spark)]


@pytest.fixture(params=ENGINES)
def engine(request):
    """The engine under test: "pandas", a DuckDB engine, or Spark on the test session."""
    if request.param == "spark":
        return Spark(session=request.getfixturevalue("spark_session"))
    return DuckDB(threads=1) if request.param == "duckdb" else "pandas"


def measure(engine, people, offences, **options):
    """proven_reoffending on ``engine``, checked against pandas: the same per-person table, the same links."""
    result = proven_reoffending(people, offences, engine=engine, **options)
    if engine != "pandas":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnmatchedRowsWarning)
            expected = proven_reoffending(people, offences, **options)
        pd.testing.assert_frame_equal(result.per_person, expected.per_person)
        assert result.links == expected.links
    return result


D = pd.Timestamp
INDEX = D("2024-01-01")  # follow-up: offences on 2024-01-02 .. 2024-12-31 (365 days, leap year);
# proven by 2024-12-31 + 182 days = 2025-07-01.
AS_OF = D("2025-12-31")

PEOPLE = pd.DataFrame(
    {
        "person_id": list("ABCDEFGH"),
        "start_date": [INDEX] * 4 + [D("2025-01-01")] + [INDEX] * 3,
    }
)
OFFENCES = pd.DataFrame(
    [
        ("A", "2024-01-01", "2024-02-01", "conviction"),  # on the index date: does not count
        ("B", "2024-06-01", "2025-07-02", "conviction"),  # proven one day after the waiting period
        ("C", "2023-12-01", "2023-12-20", "conviction"),  # history, before the index date
        ("C", "2024-03-01", "2024-04-01", "caution"),  # a caution: counts unless convictions only
        ("D", "2024-02-01", "2024-02-10", "no_further_action"),
        ("D", "2024-03-01", "2024-09-01", "acquittal"),
        ("E", "2025-02-01", "2025-03-01", "conviction"),  # E started 2025-01-01: not observable by AS_OF
        ("F", "2024-05-05", "2024-07-01", "conviction"),  # three offences on one day, one court appearance
        ("F", "2024-05-05", "2024-07-01", "conviction"),
        ("F", "2024-05-05", "2024-07-01", "conviction"),
        ("F", "2024-08-01", "2024-09-15", "conviction"),  # a second appearance
        ("G", "2024-12-31", "2025-07-01", "conviction"),  # last follow-up day, proven on the last day
        ("G", "2025-01-01", "2025-02-01", "conviction"),  # day 366: outside the follow-up
        ("Z", "2024-05-01", "2024-06-01", "conviction"),  # not in the cohort: ignored
    ],
    columns=["person_id", "offence_date", "disposal_date", "disposal"],
).astype({"offence_date": "datetime64[ns]", "disposal_date": "datetime64[ns]", "disposal": "category"})


def by_person(result, column):
    return result.per_person.set_index("person_id")[column].to_dict()


def test_edge_cases_hand_worked(engine):
    with pytest.warns(UnmatchedRowsWarning, match=r"1 of 14 offences match no person_id in people \(e.g. 'Z'\)"):
        r = measure(engine, PEOPLE, OFFENCES, as_of=AS_OF)
    assert by_person(r, "observable") == {**dict.fromkeys("ABCDFGH", True), "E": False}
    pp = r.per_person.set_index("person_id")
    assert pp.loc["E", ["reoffended", "reoffences"]].isna().all()
    observed = pp.drop(index="E")
    assert observed["reoffended"].to_dict() == {
        "A": False,
        "B": False,
        "C": True,
        "D": False,
        "F": True,
        "G": True,
        "H": False,
    }
    assert observed["reoffences"].to_dict() == {"A": 0, "B": 0, "C": 1, "D": 0, "F": 4, "G": 1, "H": 0}
    days = r.per_person.set_index("person_id")["days_to_first"]
    # C: 2024-03-01 is day 60 (Jan 31 + Feb 29); F: 2024-05-05 is day 125; G: day 365.
    assert days[["C", "F", "G"]].tolist() == [60.0, 125.0, 365.0]
    assert days[["A", "B", "D", "E", "H"]].isna().all()
    assert r.per_person.set_index("person_id").loc["E", "reason"] == "follow-up and waiting period not elapsed by as_of"
    assert r.counts == {"all": 8, "observable": 7, "excluded: follow-up and waiting period not elapsed by as_of": 1}
    # Z's offence is left out and counted
    assert r.offence_counts == {"all": 14, "linked": 13, "excluded: person_id matches no one in people": 1}
    assert (r.rate().k, r.rate().n) == (3, 7)
    assert r.frequency().events == 6 and r.frequency().per_100 == pytest.approx(600 / 7)
    assert r.per_reoffender() == pytest.approx(2.0)
    assert r.engine == ("pandas" if engine == "pandas" else type(engine).__name__.lower())


IN_COHORT = OFFENCES.loc[OFFENCES["person_id"] != "Z"]


def test_convictions_only_and_court_appearances(engine):
    r = measure(engine, PEOPLE, IN_COHORT, as_of=AS_OF, disposals=("conviction",), counting="court_appearances")
    counts = by_person(r, "reoffences")
    assert counts["C"] == 0  # the caution no longer proves
    assert counts["F"] == 2  # three offences sentenced together count once
    assert counts["G"] == 1
    assert (r.rate().k, r.frequency().events) == (2, 3)


def test_as_of_boundary_and_default(engine):
    # index + 365 + 182 = 2025-07-01: observable on that day, not the day before.
    a_only = OFFENCES.loc[OFFENCES["person_id"] == "A"]
    assert measure(engine, PEOPLE.iloc[:1], a_only, as_of="2025-07-01").counts["observable"] == 1
    assert measure(engine, PEOPLE.iloc[:1], a_only, as_of="2025-06-30").counts["observable"] == 0
    r = measure(engine, PEOPLE, IN_COHORT)
    assert r.counts["observable"] == 8
    assert "as_of not given" in r.summary()


def test_shorter_waiting_period_drops_late_disposals(engine):
    # waiting 0: proof by 2024-12-31, so G's offence (proven 2025-07-01) no longer counts.
    r = measure(engine, PEOPLE, IN_COHORT, waiting_days=0, as_of=AS_OF)
    assert not by_person(r, "reoffended")["G"]
    assert by_person(r, "reoffences")["F"] == 4


def test_index_column_and_missing_index(engine):
    people = PEOPLE.assign(release_date=PEOPLE["start_date"] - pd.Timedelta(days=60))
    people.loc[people["person_id"] == "H", "release_date"] = pd.NaT
    r = measure(engine, people, IN_COHORT, index="release_date", as_of=AS_OF)
    # From 2023-11-02, A's 2024-01-01 offence is inside the follow-up and C's 2023-12-01 history now counts.
    counts = by_person(r, "reoffences")
    assert counts["A"] == 1 and counts["C"] == 2
    assert r.counts["excluded: no release_date"] == 1
    assert r.per_person["index_date"].isna().sum() == 1


def test_bad_arguments():
    with pytest.raises(ParameterError, match="'counting' parameter .* 'offences', 'court_appearances'. Got 'events'"):
        proven_reoffending(PEOPLE, OFFENCES, counting="events")
    with pytest.raises(ParameterError, match="'follow_up_days' parameter .* Got 0 instead"):
        proven_reoffending(PEOPLE, OFFENCES, follow_up_days=0)
    with pytest.raises(ParameterError, match="'waiting_days' parameter"):
        proven_reoffending(PEOPLE, OFFENCES, waiting_days=1.5)
    with pytest.raises(ParameterError, match="'disposals' parameter .* conviction, caution, .* Got \\(\\) instead"):
        proven_reoffending(PEOPLE, OFFENCES, disposals=())
    with pytest.raises(ParameterError, match="'disposals' parameter .* Got \\['fine'\\]"):
        proven_reoffending(PEOPLE, OFFENCES, disposals=["fine"])
    with pytest.raises(ParameterError, match="'as_of' parameter .* Got 'yesterday'"):
        proven_reoffending(PEOPLE, OFFENCES, as_of="yesterday")
    with pytest.raises(ParameterError, match="'engine' parameter .* 'pandas', 'duckdb', 'spark' or a DuckDB"):
        proven_reoffending(PEOPLE, OFFENCES, engine="polars")
    with pytest.raises(ParameterError, match="'people' parameter .* a DataFrame or a path"):
        proven_reoffending(PEOPLE.to_dict(), OFFENCES)
    # a disposal spelled as the data may spell it is the same level
    r = proven_reoffending(PEOPLE, IN_COHORT, disposals=["Conviction", "No further action"])
    assert r.disposals == ("conviction", "no_further_action")


def test_bad_tables(engine, tmp_path):
    with pytest.raises(SchemaError, match="table 'offences' is missing the column disposal_date"):
        measure(engine, PEOPLE, OFFENCES.drop(columns="disposal_date"))
    twice = pd.concat([PEOPLE, PEOPLE.iloc[:1]])
    with pytest.raises(
        SchemaError, match=r"person_id: duplicate id \(must be unique\): 2 rows: row 1 \(A\), row 9 \(A\)"
    ):
        measure(engine, twice, IN_COHORT)
    path = tmp_path / "people.parquet"
    twice.to_parquet(path, coerce_timestamps="us")
    with pytest.raises(SchemaError) as from_file:
        measure(engine, path, IN_COHORT)
    with pytest.raises(SchemaError) as in_pandas:
        proven_reoffending(path, IN_COHORT)
    assert str(from_file.value) == str(in_pandas.value)
    assert str(path) in str(from_file.value)
    (tmp_path / "people.txt").write_text("person_id,start_date\n1,2024-01-01\n")
    with pytest.raises(SchemaError, match=r"people.txt: unknown file type '.txt' \(the people table\)"):
        measure(engine, tmp_path / "people.txt", IN_COHORT)
    with pytest.raises(SchemaError, match="nope.parquet: no such file \\(the people table\\)"):
        measure(engine, tmp_path / "nope.parquet", IN_COHORT)
    (tmp_path / "people.csv").write_text("id,start_date\n1,2024-01-01\n")
    with pytest.raises(SchemaError, match="people.csv: table 'people' is missing the column person_id"):
        measure(engine, tmp_path / "people.csv", IN_COHORT)


def rossi_events():
    """Rossi, Berk & Lenihan (1980): 432 men, first arrest week within 52 weeks of release.

    Each man starts on 2020-01-01; an arrest in week w becomes an offence on day 7w - 3 (mid-week),
    convicted 30 days later. Follow-up 364 days = 52 weeks.
    """
    rossi = pd.read_csv(Path(__file__).resolve().parents[1] / "data" / "rossi.csv")
    rossi["person_id"] = [f"R{i:03d}" for i in range(len(rossi))]
    start = D("2020-01-01")
    people = rossi.assign(start_date=start)
    arrested = rossi.loc[rossi["arrest"] == 1]
    offence = start + pd.to_timedelta(7 * arrested["week"] - 3, unit="D")
    offences = pd.DataFrame(
        {
            "person_id": arrested["person_id"],
            "offence_date": offence,
            "disposal_date": offence + pd.Timedelta(days=30),
            "disposal": "conviction",
        }
    )
    return people, offences


def test_rossi_binary_rate_per_arm(engine):
    people, offences = rossi_events()
    # fin = 1 is the financial-aid arm (48 of 216 arrested); fin = 0 got no aid (66 of 216).
    for fin, ref in ((1, ROSSI_FIN1), (0, ROSSI_FIN0)):
        arm = people.loc[people["fin"] == fin]
        r = measure(engine, arm, offences.loc[offences["person_id"].isin(arm["person_id"])], follow_up_days=364)
        rate = r.rate()
        assert (rate.k, rate.n) == (ref["k"], ref["n"])
        np.testing.assert_allclose((rate.ci_low, rate.ci_high), ref["ci"], rtol=1e-8)
        arrested = people.loc[(people["fin"] == fin) & (people["arrest"] == 1)]
        got = r.per_person.set_index("person_id").loc[arrested["person_id"], "days_to_first"]
        np.testing.assert_array_equal(got.to_numpy(), 7 * arrested["week"].to_numpy() - 3)
        if fin == 0:
            f = r.frequency()
            np.testing.assert_allclose(
                (f.per_100, f.ci_low, f.ci_high), (ROSSI_FIN0_PER100["per_100"], *ROSSI_FIN0_PER100["ci"]), rtol=1e-8
            )


def test_rossi_shorter_follow_up_loses_late_arrests(engine):
    people, offences = rossi_events()
    r = measure(engine, people, offences, follow_up_days=7 * 26)
    # Arrests in weeks 1..26 (offence day 7w - 3 <= 182).
    expected = int(((people["arrest"] == 1) & (people["week"] <= 26)).sum())
    assert r.rate().k == expected and 0 < expected < 114


# ---------------------------------------------------------------- the boundary (issue 14), on every engine
#
# Each case runs from DataFrames and from the same tables written to Parquet: a DataFrame is checked by
# pandas whatever the engine, a file by the engine that reads it, and both must say the same.

FOUR = pd.DataFrame({"person_id": ["1", "2", "3", "4"], "start_date": ["2024-01-01"] * 4})
THREE = pd.DataFrame(
    {
        "person_id": ["1", "2", "3"],
        "offence_date": ["2024-02-01", "2024-03-01", "2024-04-01"],
        "disposal_date": ["2024-03-01", "2024-04-01", "2024-05-01"],
        "disposal": ["conviction", "caution", "conviction"],
    }
)


def given(form, tmp_path, people, offences):
    """The tables as the test passes them: DataFrames, or Parquet/CSV files written from them."""
    if form == "frame":
        return people, offences
    paths = tmp_path / f"people.{form}", tmp_path / f"offences.{form}"
    for frame, path in zip((people, offences), paths):
        if form == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
    return paths


def same_error(engine, people, offences, **options):
    """The SchemaError ``engine`` raises, checked to read exactly as pandas' on the same input."""
    with pytest.raises(SchemaError) as on_engine:
        proven_reoffending(people, offences, engine=engine, **options)
    with pytest.raises(SchemaError) as on_pandas:
        proven_reoffending(people, offences, **options)
    assert str(on_engine.value) == str(on_pandas.value)
    return str(on_engine.value)


FORMS = ["frame", "parquet"]


@pytest.mark.parametrize("form", FORMS)
def test_a_missing_disposal_date_is_an_error_not_an_uncounted_offence(engine, form, tmp_path):
    offences = THREE.assign(disposal_date=["2024-03-01", None, "2024-05-01"])
    message = same_error(engine, *given(form, tmp_path, FOUR, offences), as_of=AS_OF)
    assert "table 'offences' fails 1 rule in 1 row" in message
    assert "- disposal_date: missing value: 1 row: row 2 (missing)" in message


@pytest.mark.parametrize("form", FORMS)
def test_disposals_spelled_otherwise_are_counted(engine, form, tmp_path):
    offences = THREE.assign(disposal=["Conviction", " CAUTION", "conviction"])
    r = measure(engine, *given(form, tmp_path, FOUR, offences), as_of=AS_OF)
    assert by_person(r, "reoffences") == {"1": 1, "2": 1, "3": 1, "4": 0}


@pytest.mark.parametrize("form", FORMS)
def test_a_disposal_before_its_offence_is_an_error(engine, form, tmp_path):
    offences = THREE.assign(disposal_date=["2024-01-15", "2024-04-01", "2024-05-01"])
    message = same_error(engine, *given(form, tmp_path, FOUR, offences), as_of=AS_OF)
    assert "- disposal_date: before offence_date: 1 row: row 1 (2024-01-15)" in message


@pytest.mark.parametrize("form", FORMS)
def test_ids_that_match_no_one_are_an_error(engine, form, tmp_path):
    offences = THREE.assign(person_id=["01", "02", "03"])
    message = same_error(engine, *given(form, tmp_path, FOUR, offences), as_of=AS_OF)
    assert message.endswith(
        "0 of 3 offences match a person_id in people. Ids are compared as text: offences has e.g. "
        "'01', '02', '03', people has e.g. '1', '2', '3'."
    )


@pytest.mark.parametrize("form", FORMS)
def test_ids_saved_with_a_decimal_point_are_the_whole_numbers_on_every_engine(engine, form, tmp_path):
    """A spreadsheet writes the id 1 as "1.0": one person, in people and offences alike (issue 23)."""
    offences = THREE.assign(person_id=["1.0", "2.00", "3"])
    r = measure(engine, *given(form, tmp_path, FOUR.assign(person_id=["1", "2.0", "3", "4"]), offences), as_of=AS_OF)
    assert by_person(r, "reoffences") == {"1": 1, "2": 1, "3": 1, "4": 0}


@pytest.mark.parametrize("form", FORMS)
def test_some_unmatched_ids_are_left_out_and_counted(engine, form, tmp_path):
    offences = THREE.assign(person_id=["1", "2", "9"])
    with pytest.warns(UnmatchedRowsWarning, match=r"1 of 3 offences match no person_id in people \(e.g. '9'\)"):
        r = measure(engine, *given(form, tmp_path, FOUR, offences), as_of=AS_OF)
    assert r.offence_counts["excluded: person_id matches no one in people"] == 1
    assert "1 match no one in people, left out" in r.summary()


@pytest.mark.parametrize("counting", ["offences", "court_appearances"])
def test_many_people_with_many_offences_each_count_as_on_pandas(engine, counting, tmp_path):
    """Reoffenders, people whose offences are all outside their follow-up, people with none, and ids of no one,
    drawn at random: the event stage groups only the reoffenders, and every person's counts are pandas'."""
    rng = np.random.default_rng(28)
    people = pd.DataFrame({"person_id": [f"P{i}" for i in range(300)], "start_date": D("2022-01-01")})
    people["start_date"] += pd.to_timedelta(rng.integers(0, 900, len(people)), unit="D")
    n = 4000
    offence_date = D("2021-01-01") + pd.to_timedelta(rng.integers(0, 1700, n), unit="D")
    offences = pd.DataFrame(
        {
            "person_id": [f"P{i}" for i in rng.integers(0, 330, n)],  # P300..P329 are no one
            "offence_date": offence_date,
            "disposal_date": offence_date + pd.to_timedelta(rng.integers(0, 90, n) // 30 * 30, unit="D"),
            "disposal": rng.choice(["conviction", "caution", "acquittal"], n),
        }
    )
    with pytest.warns(UnmatchedRowsWarning):
        r = measure(engine, *given("parquet", tmp_path, people, offences), as_of="2025-12-31", counting=counting)
    counted = r.per_person["reoffences"]
    assert (counted > 0).sum() > 50 and (counted == 0).sum() > 50 and r.links.unmatched > 100


@pytest.mark.parametrize("form", FORMS)
def test_ids_typed_differently_are_compared_as_text(engine, form, tmp_path):
    # people's ids read as integers, or as floats with gaps (1.0), still match offences' "1"
    as_int = FOUR.assign(person_id=[1, 2, 3, 4])
    as_float = pd.DataFrame({"person_id": [1.0, 2.0, None, 4.0], "start_date": ["2024-01-01"] * 4})
    r = measure(engine, *given(form, tmp_path, as_int, THREE), as_of=AS_OF)
    assert by_person(r, "reoffences") == {"1": 1, "2": 1, "3": 1, "4": 0}
    message = same_error(engine, *given(form, tmp_path, as_float, THREE), as_of=AS_OF)
    assert "- person_id: missing value: 1 row: row 3 (missing)" in message


def test_times_with_a_zone_keep_their_local_date(engine, tmp_path):
    # 00:30 on 1 July in London is 23:30 on 30 June in UTC: the local date is the one recorded
    london = pd.to_datetime(["2024-02-01 10:00", "2024-07-01 00:30", "2024-04-01 00:00"]).tz_localize("Europe/London")
    offences = THREE.assign(offence_date=london, disposal_date=london + pd.Timedelta(days=10))
    people = FOUR.assign(start_date=pd.Timestamp("2023-07-02"))
    r = measure(engine, people, offences, as_of=AS_OF)
    naive = THREE.assign(offence_date=["2024-02-01", "2024-07-01", "2024-04-01"], disposal_date="2024-12-01")
    pd.testing.assert_frame_equal(r.per_person, proven_reoffending(people, naive, as_of=AS_OF).per_person)
    assert by_person(r, "days_to_first")["2"] == 365.0  # 2023-07-02 to 2024-07-01 (in UTC it would be 364)
    people_file, offences_file = given("parquet", tmp_path, people, offences)
    if isinstance(engine, Spark):
        with pytest.raises(SchemaError, match="offence_date, disposal_date hold times with a time zone"):
            proven_reoffending(people_file, offences_file, as_of=AS_OF, engine=engine)
    else:
        assert measure(engine, people_file, offences_file, as_of=AS_OF).per_person.equals(r.per_person)


@pytest.mark.parametrize("form", ["frame", "parquet", "csv"])
def test_every_failure_at_once_counted_as_pandas_counts_them(engine, form, tmp_path):
    if form == "csv" and isinstance(engine, Spark):
        pytest.skip("CSV on Spark is covered by test_csv_on_spark")
    offences = pd.concat([THREE] * 4, ignore_index=True)
    offences.loc[[0, 2, 3, 5, 7, 8, 11], "disposal"] = "Convicted"
    offences.loc[1, "offence_date"] = "2024-13-01"
    offences.loc[4, "disposal_date"] = "2026-02-01"
    message = same_error(engine, *given(form, tmp_path, FOUR, offences), as_of=AS_OF)
    assert "table 'offences' fails 3 rules in 9 rows" in message
    assert (
        "- disposal: unknown category (allowed: conviction, caution, acquittal, no_further_action, other): "
        "7 rows: row 1 (Convicted), row 3 (Convicted), row 4 (Convicted), row 6 (Convicted), row 8 (Convicted), "
        "and 2 more"
    ) in message
    assert (
        "- offence_date: not a valid date (expected YYYY-MM-DD, years 1678-2261): 1 row: row 2 (2024-13-01)" in message
    )
    assert "- disposal_date: after the as-of date 2025-12-31: 1 row: row 5 (2026-02-01)" in message


@pytest.mark.spark
def test_csv_on_spark(spark_session, tmp_path):
    engine = Spark(session=spark_session)
    offences = THREE.assign(disposal=["Conviction", "caution", "Convicted"])
    message = same_error(engine, *given("csv", tmp_path, FOUR, offences), as_of=AS_OF)
    assert "- disposal: unknown category (allowed: " in message and "row 3 (Convicted)" in message
    r = measure(engine, *given("csv", tmp_path, FOUR, THREE), as_of=AS_OF)
    assert r.rate().k == 3


@pytest.mark.spark
def test_csv_on_spark_in_many_partitions_names_the_files_rows(spark_session, tmp_path):
    """A CSV Spark reads in many partitions: an error names the rows as counted in the file (each partition's rows
    placed after those of the partitions before it)."""
    n = 3_000
    offences = pd.DataFrame({"person_id": [str(1 + i % 4) for i in range(n)], "offence_date": "2024-02-01",
                             "disposal_date": "2024-03-01", "disposal": "conviction"})  # fmt: skip
    offences.loc[[3, 2_321], "offence_date"] = "2024-13-01"
    before = spark_session.conf.get("spark.sql.files.maxPartitionBytes")
    spark_session.conf.set("spark.sql.files.maxPartitionBytes", "16384")  # the file is about 135 KB
    try:
        engine = Spark(session=spark_session)
        message = same_error(engine, *given("csv", tmp_path, FOUR, offences), as_of=AS_OF)
        assert spark_session.read.option("header", True).csv(str(tmp_path / "offences.csv")).rdd.getNumPartitions() >= 5
    finally:
        spark_session.conf.set("spark.sql.files.maxPartitionBytes", before)
    assert "2 rows: row 4 (2024-13-01), row 2322 (2024-13-01)" in message


@pytest.mark.parametrize("form", FORMS)
def test_the_index_column_is_checked_under_its_own_name(engine, form, tmp_path):
    people = FOUR.rename(columns={"start_date": "release_date"}).assign(
        release_date=["2024-01-01", "2024-13-01", None, "2026-03-01"]
    )
    message = same_error(engine, *given(form, tmp_path, people, THREE), index="release_date", as_of=AS_OF)
    assert "table 'people' fails 2 rules in 2 rows" in message
    assert (
        "- release_date: not a valid date (expected YYYY-MM-DD, years 1678-2261): 1 row: row 2 (2024-13-01)" in message
    )
    assert "- release_date: after the as-of date 2025-12-31: 1 row: row 4 (2026-03-01)" in message
    # a person without an index date is left out and counted, not an error
    r = measure(engine, *given(form, tmp_path, people.iloc[[0, 2]], THREE.iloc[[0, 2]]), index="release_date")
    assert r.counts == {"all": 2, "observable": 1, "excluded: no release_date": 1}


def test_the_per_person_table_after_the_people_columns(tmp_path):
    people = PEOPLE.assign(age=range(30, 38))
    r = proven_reoffending(people, IN_COHORT, as_of=AS_OF)
    table = r.table(people)
    assert list(table.columns) == ["person_id", "start_date", "age", *r.per_person.columns.drop("person_id")]
    assert table["age"].tolist() == list(range(30, 38)) and table["reoffences"].equals(r.per_person["reoffences"])
    observed = r.table(people, observable_only=True)
    assert len(observed) == r.counts["observable"] and observed["observable"].all()
    path = r.to_parquet(tmp_path / "pool.parquet", people=people, observable_only=True)
    pd.testing.assert_frame_equal(pd.read_parquet(path), observed)
    with pytest.raises(ParameterError, match="'people' parameter of table must be the 8 people measured"):
        r.table(people.iloc[:3])
    assert r.to_dict()["offence_counts"]["linked"] == len(IN_COHORT) and r.to_dict()["engine"] == "pandas"


def test_a_file_that_is_not_what_it_says_is_a_schema_error(engine, tmp_path):
    path = tmp_path / "people.parquet"
    path.write_text("person_id,start_date\n1,2024-01-01\n")
    with pytest.raises(SchemaError, match="people.parquet: cannot read"):
        proven_reoffending(path, THREE, engine=engine)
    with pytest.raises(ParameterError, match="'engine' parameter of proven_reoffending must be a DuckDB engine"):
        proven_reoffending(FOUR, THREE, engine=DuckDB(memory_limit="lots"))


@pytest.mark.spark
@pytest.mark.filterwarnings("ignore::ground.tables.UnmatchedRowsWarning")
def test_the_measure_command_on_spark_writes_what_pandas_writes(spark_session, tmp_path):
    # Here rather than in test_measure_cli.py so that one Spark session (one JVM) serves every Spark test.
    from typer.testing import CliRunner

    from desist.cli import app

    def measure(*args):
        command = ["measure", "--people", "examples/data/people.csv", "--offences", "examples/data/offences.csv"]
        return CliRunner().invoke(app, [*command, "--as-of", "2026-06-30", *args])

    result = measure("--engine", "spark", "--json", "--out", str(tmp_path / "spark"))
    assert result.exit_code == 0, result.output
    assert measure("--engine", "pandas", "--out", str(tmp_path / "pandas")).exit_code == 0
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "spark" / "per_person.parquet"),
        pd.read_parquet(tmp_path / "pandas" / "per_person.parquet"),
    )


def test_a_frequency_interval_never_reaches_below_zero():
    # Four people, three offences: mean 0.75, sd 0.96, so mean - 1.96 se is -0.19 (found by hand on a small file).
    from outcomes.rates import Frequency

    f = Frequency.of(np.array([2, 0, 0, 1]))
    assert f.per_100 == pytest.approx(75.0) and f.ci_low == 0.0
    assert f.ci_high == pytest.approx(100 * (0.75 + 1.959963984540054 * np.std([2, 0, 0, 1], ddof=1) / 2))
