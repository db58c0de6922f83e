"""A settlement's offences and assessments on DuckDB and Spark give pandas' settlement: the ledger byte for byte.

Each case settles the same contract on the same data on pandas and on an engine, the offences read by the engine
from the CSV file as given and from a Parquet copy, and compares ``Settlement.to_dict()`` (tranches, parties,
exclusions, figures with the ledger's SHA-256, audit) and ``ledger_csv()`` exactly. The cases: the reference
settlements' contracts that read offences (tests/results/make_settlement_reference.py: a baseline rule, a matched
rule settled at interim and final with court appearances counted, a rule cap, a price per person with no proven
reoffence), Transforming Rehabilitation's scheme on a small world of quarterly cohorts (a binary rate adjusted for
case mix and reoffences per reoffender behind a binary hurdle, against baselines), and hand-built tables whose
counts are worked out here: a disposal at 10:00 on the day a tranche settles is not yet on record.

The assessments are scored on the engine too: the reference contracts that price outcomes, the example's
assessments spoiled with every problem scoring reports (items the instrument lacks, scores out of range or not
whole, rows of no one, rows dated after the settlement date or later on its day, items left out), and bad files
refused in pandas' words.
"""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ground.errors import ParameterError, SchemaError
from outcomes.engines import DuckDB, Spark
from pricing import Contract, scheme, settle
from tests.results.make_settlement_reference import cases

#: The reference cases that read offences, each a different use of them (see the module notes).
OFFENCE_CASES = ["doncaster", "peterborough", "stacked_multiplicative_40000"]
#: The reference cases that price outcomes from assessments: six instruments' outcomes priced by segment, the
#: sector's ask (outcomes of other instruments), and a tariff beside reoffending rules with stacked uplifts.
ASSESSMENT_CASES = ["intermediate", "sector_ask", "stacked_multiplicative_40000"]


def settled(contract, data, as_of, engine="pandas", previous=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a pool that does not record its measure: the same warning on every engine
        return settle(contract, data, as_of=as_of, engine=engine, previous=previous)


def assert_same(got, want) -> None:
    """The same settlement: every figure, table and the audit, and the ledger as CSV byte for byte."""
    assert got.ledger_csv() == want.ledger_csv()
    assert got.to_dict() == want.to_dict()


def as_parquet(folder: Path, data: dict, name: str = "offences", frame: pd.DataFrame | None = None, suffix="") -> dict:
    """The data with one table (as given, or ``frame``) written as Parquet: dates as dates, ids and disposals as
    text, scores as numbers."""
    given = pd.read_csv(data[name], dtype={"person_id": str, "disposal": str}) if frame is None else frame.copy()
    for column in {"offence_date", "disposal_date", "assessed_on"} & set(given.columns):
        given[column] = pd.to_datetime(given[column], format="ISO8601").astype("datetime64[us]")
    path = folder / f"{name}{suffix}.parquet"
    given.to_parquet(path, index=False)
    return {**data, name: str(path)}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("settlement_engines")


@pytest.mark.parametrize(
    ("name", "table"),
    [(name, "offences") for name in OFFENCE_CASES] + [(name, "assessments") for name in ASSESSMENT_CASES],
)
def test_duckdb_settles_the_reference_cases_as_pandas_does(folder, name, table):
    """The engine reads the table from the CSV file as given, and from a Parquet copy."""
    contract, data, as_of = cases(folder)[name]
    c = Contract.from_toml(contract) if isinstance(contract, Path) else scheme(contract)
    want = settled(c, data, as_of)
    assert_same(settled(c, data, as_of, DuckDB(threads=1)), want)
    assert_same(settled(c, as_parquet(folder, data, table, suffix=f"_{name}"), as_of, "duckdb"), want)


# ---------------------------------------------------------------- Transforming Rehabilitation's scheme, small
TR_AS_OF = "2018-07-31"  # the fourth quarterly cohort's final settlement: four tranches due, the others not yet


def tr_world(folder: Path, per_cohort: int = 120, seed: int = 28) -> tuple[dict, dict]:
    """People in TR's first four quarterly cohorts with an OGRS-like predicted rate, and their offences (some after
    the settlement date, some of no one in people, some not proving), written as Parquet; and how many offences
    are dated after the settlement date and how many are of no one, counted here."""
    rng = np.random.default_rng(seed)
    n = 4 * per_cohort
    start = pd.Timestamp("2015-10-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    risk = rng.uniform(0.15, 0.85, n)
    people = pd.DataFrame({"person_id": [f"p{i:05d}" for i in range(n)], "start_date": start,
                           "ogrs4_predicted": risk})  # fmt: skip
    events = rng.poisson(risk * 2.2)
    who = np.repeat(np.arange(n), events)
    # a third of the offences on the days either side of the follow-up's ends, and of the disposals on the days
    # either side of the proof's deadline (365 + 182 days after the start), so a count one day out shows
    after = np.where(
        rng.random(who.size) < 1 / 3, rng.choice([0, 1, 365, 366], who.size), rng.integers(1, 500, who.size)
    )
    proven = np.where(
        rng.random(who.size) < 1 / 3, rng.choice([546, 547, 548], who.size), after + rng.integers(0, 300, who.size)
    )
    offence = start[who] + pd.to_timedelta(after, unit="D")
    disposal = start[who] + pd.to_timedelta(np.maximum(proven, after), unit="D")
    offences = pd.DataFrame({
        "person_id": people["person_id"].to_numpy()[who],
        "offence_date": offence,
        "disposal_date": disposal,
        "disposal": rng.choice(["conviction", "Caution", "acquittal"], who.size, p=[0.7, 0.2, 0.1]),
    })  # fmt: skip
    stranger = offences.iloc[:5].assign(person_id=[f"x{i}" for i in range(5)])
    late = offences.iloc[:3].assign(disposal_date=pd.Timestamp("2018-09-01"))
    offences = pd.concat([offences, stranger, late], ignore_index=True)
    for frame in (people, offences):
        for column in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[column]):
                frame[column] = frame[column].astype("datetime64[us]")  # Spark reads microseconds
    paths = {"people": folder / "tr_people.parquet", "offences": folder / "tr_offences.parquet"}
    people.to_parquet(paths["people"], index=False)
    offences.to_parquet(paths["offences"], index=False)
    later = (offences["offence_date"] > TR_AS_OF) | (offences["disposal_date"] > TR_AS_OF)
    counted = {
        "offence or disposal dated after the settlement date": int(later.sum()),
        "person_id matches no one in people": int((~later & offences["person_id"].str.startswith("x")).sum()),
    }
    return {name: str(path) for name, path in paths.items()}, counted


@pytest.fixture(scope="module")
def tr(folder):
    data, counted = tr_world(folder)
    return data, counted, settled(scheme("transforming_rehabilitation"), data, TR_AS_OF)


def test_transforming_rehabilitation_on_duckdb(tr):
    data, counted, want = tr
    rules = want.tranches.loc[want.tranches["stage"] == "final"]
    # the case-mix adjusted binary rule and the frequency rule (behind its hurdle) are measured in every cohort due
    assert len(rules) == 8 and set(rules["rule"]) == {"binary", "frequency"} and rules["n_treated"].gt(20).all()
    offences = want.exclusions.loc[want.exclusions["step"] == "offences"]
    assert dict(zip(offences["reason"], offences["n"])) == counted
    assert_same(settled(scheme("transforming_rehabilitation"), data, TR_AS_OF, DuckDB(threads=1)), want)


@pytest.mark.spark
def test_transforming_rehabilitation_on_spark(tr, spark_session):
    data, _, want = tr
    assert_same(settled(scheme("transforming_rehabilitation"), data, TR_AS_OF, Spark(session=spark_session)), want)


# ---------------------------------------------------------------- counts worked out by hand
#: One tranche settled on the day its people's follow-up and waiting period end: 2023-01-10 + 365 + 182 days.
HAND = """
[metric]
name = "Settled on the last day of the waiting period"

[tranches.t1]
start = 2023-01-01
end = 2023-01-31
final = 2024-07-10

[reoffending]
measure = "binary"
disposals = ["conviction"]

[counterfactual.baseline]
rate = 0.9
period = "2022"
measure = "binary"
disposals = ["conviction"]
version = "hand"

[rules.target]
type = "tranche"
measure = "binary"
against = "baseline"
scale = "points"
at_least = 0.0
price_per_event = 100
"""


@pytest.fixture(scope="module")
def hand(folder) -> tuple[Contract, dict]:
    (folder / "hand.toml").write_text(HAND)
    people = pd.DataFrame({"person_id": ["a", "b", "c", "d"], "start_date": ["2023-01-10"] * 4})
    offences = pd.DataFrame({
        "person_id": ["a", "b", "c", "d"],
        "offence_date": ["2023-06-01"] * 4,
        # a: proven at midnight on the settlement day, on record; b: at 10:00 that day, not yet; c: the day before;
        # d: after the waiting period
        "disposal_date": ["2024-07-10", "2024-07-10 10:00", "2024-07-09", "2024-07-11"],
        "disposal": "conviction",
    })  # fmt: skip
    paths = {"people": folder / "hand_people.csv", "offences": folder / "hand_offences.csv"}
    people.to_csv(paths["people"], index=False)
    offences.to_csv(paths["offences"], index=False)
    return Contract.from_toml(folder / "hand.toml"), {k: str(v) for k, v in paths.items()}


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_a_disposal_later_on_the_settlement_day_is_not_on_record(hand, engine):
    contract, data = hand
    s = settled(contract, data, "2024-12-31", engine)
    row = s.tranches.iloc[0]
    assert (row["n_treated"], row["treated_mean"]) == (4, 0.5)  # a and c reoffended; b not yet proven, d too late
    assert row["estimate"] == pytest.approx(0.9 - 0.5)


def test_bad_offences_are_refused_in_pandas_words(hand, folder):
    contract, data = hand
    bad = pd.read_csv(data["offences"]).assign(disposal_date=["2023-05-01", "2024-07-10", "2024-07-09", "soon"])
    path = folder / "bad_offences.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(SchemaError) as pandas_error:
        settled(contract, {**data, "offences": str(path)}, "2024-12-31")
    with pytest.raises(SchemaError) as duckdb_error:
        settled(contract, {**data, "offences": str(path)}, "2024-12-31", "duckdb")
    assert "before offence_date" in str(pandas_error.value) and "row 4" in str(pandas_error.value)
    assert str(duckdb_error.value) == str(pandas_error.value)


def test_offences_of_no_one_are_refused_in_pandas_words(hand, folder):
    contract, data = hand
    path = folder / "strangers.csv"
    pd.read_csv(data["offences"]).assign(person_id=["x", "y", "z", "w"]).to_csv(path, index=False)
    with pytest.raises(SchemaError) as pandas_error:
        settled(contract, {**data, "offences": str(path)}, "2024-12-31")
    with pytest.raises(SchemaError) as duckdb_error:
        settled(contract, {**data, "offences": str(path)}, "2024-12-31", "duckdb")
    assert str(duckdb_error.value) == str(pandas_error.value).replace(f"{path}: ", "")


def test_offences_given_as_a_table_are_checked_by_pandas_and_counted_on_the_engine(hand):
    contract, data = hand
    tables = {name: pd.read_csv(path) for name, path in data.items()}
    assert_same(settled(contract, tables, "2024-12-31", "duckdb"), settled(contract, data, "2024-12-31"))


def test_a_running_account_nets_the_same_on_every_engine(folder):
    contract, data, as_of = cases(folder)["peterborough"]
    c = Contract.from_toml(contract)
    earlier = {engine: settled(c, data, "2025-03-31", engine) for engine in ("pandas", "duckdb")}
    later = {engine: settled(c, data, as_of, engine, previous=earlier[engine]) for engine in ("pandas", "duckdb")}
    assert later["pandas"].audit["previous"]["paid_pence"] != 0
    assert_same(later["duckdb"], later["pandas"])


def test_an_unknown_engine_is_refused(hand):
    contract, data = hand
    with pytest.raises(ParameterError, match="'engine' parameter of settle must be one of 'pandas', 'duckdb'"):
        settle(contract, data, as_of="2024-12-31", engine="sqlite")


# ---------------------------------------------------------------- assessments scored on the engine


def troubled(data: dict) -> pd.DataFrame:
    """The example's assessments with the problems scoring reports, each on occasions that count: an item the
    instrument lacks, scores out of range and not whole, rows of no one in people, rows after the settlement
    date, one at 10:00 on the settlement day, and a Rosenberg item left out (prorated) or two (not scorable)."""
    a = pd.read_csv(data["assessments"], dtype={"person_id": str})
    rng = np.random.default_rng(28)
    ladders = np.flatnonzero(a["instrument"].str.startswith("ladder_").to_numpy())
    rosenberg = np.flatnonzero((a["instrument"] == "rosenberg").to_numpy())
    a.loc[rng.choice(ladders, 300, replace=False), "score"] = 11.0  # out of the ladder's 1..10
    a.loc[rng.choice(ladders, 300, replace=False), "score"] = 6.5  # not whole
    a.loc[rng.choice(rosenberg, 200, replace=False), "item"] = [f"q{11 + i}" for i in range(200)]  # no such item
    a = a.drop(index=rng.choice(rosenberg, 600, replace=False))  # items left out
    strangers = a.iloc[:40].assign(person_id=[f"X{i:03d}" for i in range(40)])
    later = a.iloc[40:80].assign(assessed_on=[f"2025-10-{i % 28 + 1:02d}" for i in range(40)])
    same_day = a.iloc[80:90].assign(assessed_on=[f"2025-09-30 10:{i:02d}" for i in range(10)])
    return pd.concat([a, strangers, later, same_day], ignore_index=True)


def test_duckdb_scores_assessments_with_problems_as_pandas_does(folder):
    contract, data, as_of = cases(folder)["intermediate"]
    c = Contract.from_toml(contract)
    frame = troubled(data)
    csv = folder / "troubled_assessments.csv"
    frame.to_csv(csv, index=False)
    want = settled(c, {**data, "assessments": str(csv)}, as_of)
    # the problems change what is paid, and the rows dated later are counted
    assert want.ledger_csv() != settled(c, data, as_of).ledger_csv()
    later = want.exclusions.loc[want.exclusions["step"] == "assessments", "n"].tolist()
    assert later == [int((pd.to_datetime(frame["assessed_on"], format="ISO8601") > as_of).sum())] and later[0] > 0
    assert_same(settled(c, {**data, "assessments": str(csv)}, as_of, DuckDB(threads=1)), want)
    assert_same(settled(c, as_parquet(folder, data, "assessments", frame, "_troubled"), as_of, "duckdb"), want)


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda a: pd.concat([a, a.iloc[[5, 9]]]), id="given twice"),
        pytest.param(lambda a: a.assign(person_id=a["person_id"].where(a.index % 997 != 3)), id="no person"),
        pytest.param(lambda a: a.assign(score=a["score"].astype(str).where(a.index != 7, "high")), id="not a number"),
        pytest.param(
            lambda a: a.assign(assessed_on=a["assessed_on"].where(a.index % 500 != 1, "13/01/2024")), id="not a date"
        ),  # fmt: skip
        pytest.param(
            lambda a: a.assign(assessed_on=a["assessed_on"].where(a.index != 2, "2999-01-01")), id="in the future"
        ),  # fmt: skip
    ],
)
def test_bad_assessments_are_refused_in_pandas_words(folder, spoil, request):
    contract, data, as_of = cases(folder)["intermediate"]
    c = Contract.from_toml(contract)
    path = folder / f"bad_assessments_{request.node.callspec.id.replace(' ', '_')}.csv"
    spoil(pd.read_csv(data["assessments"], dtype=str)).to_csv(path, index=False)
    with pytest.raises(SchemaError) as pandas_error:
        settled(c, {**data, "assessments": str(path)}, as_of)
    with pytest.raises(SchemaError) as duckdb_error:
        settled(c, {**data, "assessments": str(path)}, as_of, "duckdb")
    assert str(duckdb_error.value) == str(pandas_error.value)


def test_an_assessments_file_without_a_column_is_refused_in_pandas_words(folder):
    """The engine names the missing column as pandas does, and reads no further (pandas goes on to check the rows
    by the columns present)."""
    contract, data, as_of = cases(folder)["intermediate"]
    path = folder / "assessments_without_instrument.csv"
    pd.read_csv(data["assessments"], dtype=str).drop(columns="instrument").to_csv(path, index=False)
    with pytest.raises(SchemaError) as duckdb_error:
        settled(Contract.from_toml(contract), {**data, "assessments": str(path)}, as_of, "duckdb")
    assert str(duckdb_error.value) == (
        f"{path}: table 'assessments' fails 1 rule:\n  - instrument: required column missing\n"
        "  Columns present: person_id, item, score, assessed_on"
    )


def test_assessments_given_as_a_table_are_judged_by_pandas_on_an_engine(folder):
    contract, data, as_of = cases(folder)["intermediate"]
    c = Contract.from_toml(contract)
    tables = {**data, "assessments": pd.read_csv(data["assessments"])}
    assert_same(settled(c, tables, as_of, "duckdb"), settled(c, data, as_of))


@pytest.mark.spark
def test_spark_scores_assessments_as_pandas_does(folder, spark_session):
    contract, data, as_of = cases(folder)["intermediate"]
    c = Contract.from_toml(contract)
    frame = troubled(data)
    want = settled(c, {**data, "assessments": frame}, as_of)
    spark = Spark(session=spark_session)
    assert_same(settled(c, as_parquet(folder, data, "assessments", frame, "_spark"), as_of, spark), want)
    csv = folder / "spark_assessments.csv"  # every column text, as Spark reads a CSV file
    frame.to_csv(csv, index=False)
    assert_same(settled(c, {**data, "assessments": str(csv)}, as_of, spark), want)
