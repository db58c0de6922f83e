"""A settlement's custody bed nights counted on DuckDB and Spark give pandas' settlement: the ledger byte for byte.

The custody file is read, checked and counted by the engine (pricing.settlement_engine.CustodyOnEngine); pandas
then prices the counts as it prices its own. The cases: stays worked out by hand, night by night, measured at a
tranche's interim and final dates (each person's nights the same on pandas and DuckDB, and as worked out here),
the Youth Justice Custody Pathfinder's scheme settled from CSV and Parquet, and bad custody files refused in
pandas' words.
"""

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from ground.errors import SchemaError
from outcomes.custody import WINDOW_OPEN
from outcomes.engines import DuckDB, Spark
from pricing import Contract, scheme
from pricing.settlement import _cohort, _known_by, _outcomes
from pricing.settlement_data import settlement_data
from pricing.settlement_engine import CountedCustody, custody_on_engine, held_back
from tests.pricing.test_scheme_replays import young_people
from tests.pricing.test_settlement_engines import assert_same, settled

#: Thirty nights of sentenced custody from the index date, against 5 a person; settled at the interim date.
HAND = {
    "metric": {"name": "Bed nights worked by hand"},
    "tranches": {"t": {"start": date(2024, 1, 1), "end": date(2024, 1, 31), "interim": date(2024, 2, 5),
                       "final": date(2024, 4, 1)}},
    "custody": {"follow_up_days": 30, "kinds": ["sentenced"]},
    "counterfactual": {"baseline": {"rate": 5.0, "period": "2023", "measure": "bed_nights", "version": "hand"}},
    "rules": {"nights": {"type": "tranche", "measure": "bed_nights", "against": "baseline", "scale": "relative",
                         "at_least": 0.0, "settle": "interim", "price_per_event": 100}},
}  # fmt: skip
AS_OF = "2024-04-01"
INTERIM, FINAL = date(2024, 2, 5), date(2024, 4, 1)

# person, index date, stays (start, end, kind): the window is the 30 nights from the index date
PEOPLE = {
    # 5 nights (5th-9th), 5 more (10th-14th), none more (inside the first two), 2 apart (20th, 21st): 12
    "overlap": (
        "2024-01-01",
        [
            ("2024-01-05", "2024-01-10", "sentenced"),
            ("2024-01-08", "2024-01-15", "Sentenced"),
            ("2024-01-09", "2024-01-11", "sentenced"),
            ("2024-01-20", "2024-01-22", "sentenced"),
        ],
    ),
    "same_day": ("2024-01-01", [("2024-01-10", "2024-01-10", "sentenced")]),  # received and released: none
    "open": ("2024-01-01", [("2024-01-25", None, "sentenced")]),  # still held: to the window's close, 6 (25th-30th)
    "from_before": ("2024-01-01", [("2023-12-20", "2024-01-04", "sentenced")]),  # 1st-3rd: 3
    "past_the_end": ("2024-01-01", [("2024-01-28", "2024-02-10", "sentenced")]),  # 28th-30th: 3
    # released after the interim date: open then (to the window's close, 26th-31st: 6), as it was in the end
    "released_later": ("2024-01-02", [("2024-01-26", "2024-03-01", "sentenced")]),
    "remand": ("2024-01-01", [("2024-01-02", "2024-01-12", "remand"), ("2024-01-20", "2024-01-21", "sentenced")]),
    # window open at the interim date (to 18 February): not observable then; at the final, 1st-2nd February: 2
    "late": ("2024-01-20", [("2024-02-01", "2024-02-03 09:30", "sentenced")]),
    # begun after the settlement date, and at 10:00 on its day: left out and counted
    "begun_later": ("2024-01-03", [("2024-04-05", None, "sentenced"), ("2024-04-01 10:00", None, "sentenced")]),
}
NIGHTS = {
    INTERIM: {"overlap": 12, "same_day": 0, "open": 6, "from_before": 3, "past_the_end": 3, "released_later": 6,
              "remand": 1, "late": None, "begun_later": 0},
    FINAL: {"overlap": 12, "same_day": 0, "open": 6, "from_before": 3, "past_the_end": 3, "released_later": 6,
            "remand": 1, "late": 2, "begun_later": 0},
}  # fmt: skip


@pytest.fixture(scope="module")
def hand(tmp_path_factory) -> tuple[Contract, dict[str, str]]:
    folder = tmp_path_factory.mktemp("custody_engines")
    people = pd.DataFrame({"person_id": list(PEOPLE), "start_date": [start for start, _ in PEOPLE.values()]})
    rows = [(who, *stay) for who, (_, held) in PEOPLE.items() for stay in held]
    stays = pd.DataFrame(rows, columns=["person_id", "start", "end", "kind"])
    stays = pd.concat([stays, pd.DataFrame([("x9", "2024-01-05", "2024-01-09", "sentenced")], columns=stays.columns)])
    paths = {"people": folder / "people.csv", "custody": folder / "custody.csv"}
    people.to_csv(paths["people"], index=False)
    stays.to_csv(paths["custody"], index=False)
    return Contract.from_mapping(HAND), {name: str(path) for name, path in paths.items()}


def nights_per_person(contract: Contract, data: dict, engine) -> dict[date, pd.DataFrame]:
    """Each person's bed nights at the interim and final dates, as settle measures them on ``engine``."""
    as_of = date(2024, 4, 1)
    source, files = held_back(contract, data, engine)
    given = settlement_data(contract, source)
    cohort, _ = _cohort(contract, given.tables["people"], as_of)
    on = custody_on_engine(engine, given, files)
    tables, _ = _known_by(given.tables, as_of)
    if on is not None:
        tables["custody"] = counted = on.count(contract, cohort, given.tables["people"], as_of)
        assert isinstance(counted, CountedCustody) and (counted.rows, counted.later, counted.unmatched) == (15, 2, 1)
    return {when: _outcomes(contract, cohort, tables, "bed_nights", when) for when in (INTERIM, FINAL)}


def test_each_persons_nights_are_those_worked_by_hand_on_pandas_and_duckdb(hand):
    contract, data = hand
    want = nights_per_person(contract, data, "pandas")
    got = nights_per_person(contract, data, DuckDB(threads=1))
    for when, nights in NIGHTS.items():
        per_person = want[when].set_index("person_id")
        assert per_person["bed_nights"].astype(object).where(per_person["observable"], None).to_dict() == nights
        assert per_person.loc["late", "reason"] == ("" if when == FINAL else WINDOW_OPEN)
        pd.testing.assert_frame_equal(got[when], want[when])


def test_a_bed_nights_settlement_is_the_same_on_duckdb_with_its_exclusions(hand):
    contract, data = hand
    want = settled(contract, data, AS_OF)
    custody = want.exclusions.loc[want.exclusions["step"] == "custody"]
    assert dict(zip(custody["reason"], custody["n"])) == {
        "stay in custody begun after the settlement date": 2,
        "person_id matches no one in people": 1,
    }
    assert want.tranches.iloc[0]["n_treated"] == 8  # everyone but the one whose window was open at the interim
    assert_same(settled(contract, data, AS_OF, DuckDB(threads=1)), want)
    # custody given as a table is counted by pandas on every engine
    tables = {**data, "custody": pd.read_csv(data["custody"])}
    assert_same(settled(contract, tables, AS_OF, "duckdb"), want)


def pathfinder(folder: Path) -> tuple[dict, dict]:
    """The Custody Pathfinder's young people with their stays (the scheme replay's), as CSV and as Parquet."""
    data = young_people(2_000, 429)
    data["custody"].loc[3, "end"] = pd.NaT  # one still held
    paths = {name: folder / f"pathfinder_{name}" for name in ("people", "custody")}
    data["people"].to_csv(f"{paths['people']}.csv", index=False)
    data["custody"].to_csv(f"{paths['custody']}.csv", index=False)
    stays = data["custody"].assign(**{c: data["custody"][c].astype("datetime64[us]") for c in ("start", "end")})
    stays.to_parquet(f"{paths['custody']}.parquet", index=False)
    csv = {name: f"{path}.csv" for name, path in paths.items()}
    return csv, {**csv, "custody": f"{paths['custody']}.parquet"}


def test_the_custody_pathfinder_settles_on_duckdb_as_on_pandas(tmp_path):
    csv, parquet = pathfinder(tmp_path)
    want = settled(scheme("youth_justice"), csv, "2014-03-31")
    # the stay still held runs to the window's close: more nights than the baseline, and the grant repaid
    assert want.tranches.iloc[0]["n_treated"] == 2_000 and want.total_pence == -100_000_000
    assert_same(settled(scheme("youth_justice"), csv, "2014-03-31", DuckDB(threads=1)), want)
    assert_same(settled(scheme("youth_justice"), parquet, "2014-03-31", "duckdb"), want)


@pytest.mark.spark
def test_the_custody_pathfinder_settles_on_spark_as_on_pandas(tmp_path, spark_session):
    csv, parquet = pathfinder(tmp_path)
    want = settled(scheme("youth_justice"), csv, "2014-03-31")
    assert_same(settled(scheme("youth_justice"), parquet, "2014-03-31", Spark(session=spark_session)), want)


def refusals(contract: Contract, data: dict) -> tuple[str, str]:
    """The errors settling ``data`` gives on pandas and on DuckDB."""
    messages = []
    for engine in ("pandas", "duckdb"):
        with pytest.raises(SchemaError) as error:
            settled(contract, data, AS_OF, engine)
        messages.append(str(error.value))
    return messages[0], messages[1]


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("end", ["2024-01-01"] + [None] * 14),  # before its start
        ("start", ["soon", None] + ["2024-01-05"] * 13),  # not a date, missing
        ("kind", ["prison"] + ["sentenced"] * 14),  # no kind
        ("end", ["2999-01-01"] + [None] * 14),  # after today
    ],
)
def test_a_bad_custody_file_is_refused_in_pandas_words(hand, tmp_path, column, values):
    contract, data = hand
    bad = pd.read_csv(data["custody"], dtype=str)
    bad[column] = values
    path = tmp_path / "bad_custody.csv"
    bad.to_csv(path, index=False)
    pandas_error, duckdb_error = refusals(contract, {**data, "custody": str(path)})
    assert pandas_error.startswith(f"{path}: table 'custody' fails") and duckdb_error == pandas_error


def test_custody_of_no_one_is_refused_in_pandas_words(hand, tmp_path):
    contract, data = hand
    path = tmp_path / "strangers.csv"
    pd.read_csv(data["custody"]).assign(person_id="x").to_csv(path, index=False)
    pandas_error, duckdb_error = refusals(contract, {**data, "custody": str(path)})
    assert "0 of 13 custody match a person_id in people" in pandas_error and duckdb_error == pandas_error


#: Custody counted from a release date of the people table.
RELEASED = {**HAND, "custody": {**HAND["custody"], "index": "released_on"}}


def test_people_without_the_date_custody_is_counted_from_are_not_observable_on_every_engine(hand, tmp_path):
    contract, data = hand
    people = pd.read_csv(data["people"])
    people["released_on"] = people["start_date"].where(~people["person_id"].isin(["open", "remand"]))
    path = tmp_path / "released.csv"
    people.to_csv(path, index=False)
    want = settled(Contract.from_mapping(RELEASED), {**data, "people": str(path)}, AS_OF)
    assert want.tranches.iloc[0][["n_treated", "not_observable"]].tolist() == [6, 3]  # and "late"'s window is open
    assert_same(settled(Contract.from_mapping(RELEASED), {**data, "people": str(path)}, AS_OF, "duckdb"), want)


def test_an_index_date_after_the_date_measured_is_refused_in_pandas_words(hand, tmp_path):
    """A release date after the interim date the tranche is measured at."""
    _, data = hand
    people = pd.read_csv(data["people"]).assign(released_on="2024-01-10")
    people.loc[4, "released_on"] = "2024-03-01"
    path = tmp_path / "released.csv"
    people.to_csv(path, index=False)
    pandas_error, duckdb_error = refusals(Contract.from_mapping(RELEASED), {**data, "people": str(path)})
    assert "after the as-of date 2024-02-05" in pandas_error and duckdb_error == pandas_error
