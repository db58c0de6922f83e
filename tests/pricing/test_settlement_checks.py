"""settle() checks what ``desist settle`` checks, through the same code (issue 23).

Each case runs twice: in Python (``settle`` with DataFrames or paths) and at the
terminal (``desist settle``, in-process). The message the user reads must be the
same, naming the file, the column or key, the rule and the rows counted in the
user's file.
"""

from __future__ import annotations

import json
import warnings
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from ground.errors import DesistError, ParameterError, SchemaError, SpecError
from ground.reading import EncodingWarning
from outcomes import proven_reoffending
from outcomes.reoffending import MEASURE_KEY
from pricing import Contract, settle
from pricing.settlement_data import UnrecordedMeasureWarning
from tests.running import ROOT, desist, one_message

DATA = ROOT / "examples" / "data"
DONCASTER = ROOT / "examples" / "specs" / "doncaster.toml"
PETERBOROUGH = ROOT / "examples" / "specs" / "peterborough.toml"
AS_OF = "2025-09-30"


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """300 people of the example and their offences: a settlement in a fraction of a second."""
    folder = tmp_path_factory.mktemp("settle_checks")
    people = pd.read_csv(DATA / "people.csv", dtype=str).head(300)
    offences = pd.read_csv(DATA / "offences.csv", dtype=str)
    offences = offences[offences["person_id"].isin(people["person_id"])]
    people.to_csv(folder / "people.csv", index=False)
    offences.to_csv(folder / "offences.csv", index=False)
    return folder


def both(folder: Path, people: pd.DataFrame | None = None, offences: pd.DataFrame | None = None, **extra):
    """The same settlement from Python (DataFrames) and from the terminal (files): (error or result, run)."""
    people = pd.read_csv(folder / "people.csv", dtype=str) if people is None else people
    offences = pd.read_csv(folder / "offences.csv", dtype=str) if offences is None else offences
    people.to_csv(folder / "p.csv", index=False)
    offences.to_csv(folder / "o.csv", index=False)
    as_of = extra.get("as_of", AS_OF)
    try:
        api: object = settle(Contract.from_toml(DONCASTER), {"people": people, "offences": offences}, as_of=as_of)
    except DesistError as exc:
        api = exc
    run = desist("settle", DONCASTER, "--data", f"people={folder / 'p.csv'}", "--data",
                 f"offences={folder / 'o.csv'}", "--as-of", as_of, "--json")  # fmt: skip
    return api, run


def cli(contract: Path, *tables: str, as_of: str = AS_OF, before: tuple[str, ...] = ()):
    """``desist [BEFORE] settle CONTRACT --data NAME=FILE ... --as-of AS_OF``, in-process."""
    return desist(*before, "settle", contract, *[a for t in tables for a in ("--data", t)], "--as-of", as_of)


def files_refused(contract: Path, people: Path, offences: Path, words: str) -> None:
    """The files refused with ``words``, at the terminal and by settle() given the same paths."""
    one_message(cli(contract, f"people={people}", f"offences={offences}").stderr, words)
    with pytest.raises(SchemaError) as info:
        settle(Contract.from_toml(contract), {"people": people, "offences": offences}, as_of=AS_OF)
    assert words in str(info.value)


def same_message(api: object, run, *parts: str) -> None:
    """The API raised, the CLI said the same in one message (the CLI names the file in front)."""
    assert isinstance(api, DesistError), api
    assert run.returncode == 1
    one_message(run.stderr, *parts)
    body = str(api).split("\n", 1)[-1] if "\n" in str(api) else str(api).split(": ", 1)[-1]
    assert body in run.stderr, (str(api), run.stderr)
    for part in parts:
        assert part in str(api) or part.startswith(str(Path(part).parent)), (part, str(api))


def test_an_age_of_minus_30_is_refused_not_counted_as_not_eligible(small):
    people = pd.read_csv(small / "people.csv", dtype=str)
    people.loc[4, "age"] = "-30"  # data row 5
    api, run = both(small, people)
    same_message(api, run, "age: outside 10 to 110: 1 row: row 5 (-30)")
    assert "p.csv: table 'people'" in run.stderr


@pytest.mark.parametrize(
    ("value", "shown"), [("01/09/2023", "row 3 (01/09/2023)"), ("", "row 3 (missing)")], ids=["dd_mm", "missing"]
)
def test_a_start_date_that_is_not_iso_or_missing_is_refused(small, value, shown):
    people = pd.read_csv(small / "people.csv", dtype=str)
    people.loc[2, "start_date"] = value or None
    api, run = both(small, people)
    rule = "not a valid date (expected YYYY-MM-DD" if value else "missing value"
    same_message(api, run, f"start_date: {rule}", shown)


def test_nat_in_a_datetime_start_date_is_refused_in_python():
    people = pd.DataFrame({"person_id": ["a", "b"], "start_date": pd.to_datetime(["2023-02-01", None])})
    offences = pd.read_csv(DATA / "offences.csv").iloc[:0]
    with pytest.raises(SchemaError, match=r"start_date: missing value: 1 row: row 2"):
        settle(Contract.from_toml(DONCASTER), {"people": people, "offences": offences}, as_of=AS_OF)


def test_a_disposal_before_its_offence_is_refused(small):
    offences = pd.read_csv(small / "offences.csv", dtype=str)
    offences.loc[0, "disposal_date"] = "2000-01-01"
    api, run = both(small, offences=offences)
    same_message(api, run, "disposal_date: before offence_date: 1 row: row 1 (2000-01-01)")


def test_ids_10_and_10_point_0_link_the_same_in_settle_and_proven_reoffending():
    starts = ["2023-02-01", "2023-03-01", "2023-04-01", "2023-08-01", "2023-09-01", "2023-10-01"]
    people = pd.DataFrame({"person_id": [10, 11, 12, 13, 14, 15], "start_date": starts})
    offences = pd.DataFrame(
        {
            "person_id": [10.0, 12.0, 13.0],  # read with a missing value somewhere, ids become floats
            "offence_date": ["2023-05-01", "2023-06-01", "2023-11-01"],
            "disposal_date": ["2023-07-01", "2023-08-01", "2023-12-01"],
            "disposal": ["conviction"] * 3,
        }
    )
    measured = proven_reoffending(people, offences, as_of=AS_OF, disposals=["conviction"])
    assert measured.offence_counts["linked"] == 3
    s = settle(Contract.from_toml(DONCASTER), {"people": people, "offences": offences}, as_of=AS_OF)
    assert "person_id matches no one in people" not in set(s.exclusions["reason"])
    estimates = s.tranches.set_index("tranche")["estimate"]
    assert estimates["h1_2023"] == pytest.approx(0.43 - 2 / 3) and estimates["h2_2023"] == pytest.approx(0.43 - 1 / 3)
    # Written as text by a spreadsheet, "10.0" is the whole number "10" too: on every engine and in settle.
    as_text = offences.assign(person_id=["10.0", "12.0", "13.0"])
    assert proven_reoffending(people, as_text, as_of=AS_OF).offence_counts["linked"] == 3
    s_text = settle(Contract.from_toml(DONCASTER), {"people": people, "offences": as_text}, as_of=AS_OF)
    assert s_text.figures() == s.figures()


def test_ids_written_with_a_decimal_point_link_on_the_sql_engines_too(tmp_path):
    pd.DataFrame({"person_id": ["10", "11", "E7"], "start_date": ["2023-02-01"] * 3}).to_csv(
        tmp_path / "p.csv", index=False
    )
    offences = {"person_id": ["10.0", "11.00", "E7"], "offence_date": ["2023-05-01"] * 3,
                "disposal_date": ["2023-07-01"] * 3, "disposal": ["conviction"] * 3}  # fmt: skip
    pd.DataFrame(offences).to_csv(tmp_path / "o.csv", index=False)
    for engine in ("pandas", "duckdb"):
        measured = proven_reoffending(tmp_path / "p.csv", tmp_path / "o.csv", as_of=AS_OF, engine=engine)
        assert measured.offence_counts["linked"] == 3, engine
        assert measured.per_person["person_id"].tolist() == ["10", "11", "E7"]


def test_an_interim_settle_leaves_out_and_counts_later_events_and_later_starters_alike(small):
    people = pd.read_csv(small / "people.csv", dtype=str)
    api, run = both(small, people, as_of="2024-03-31")
    assert run.returncode == 0, run.stderr
    from_cli = pd.DataFrame(json.loads(run.stdout)["results"]["exclusions"])
    pd.testing.assert_frame_equal(api.exclusions.reset_index(drop=True), from_cli, check_dtype=False)
    reasons = dict(zip(api.exclusions["reason"], api.exclusions["n"]))
    later_offences = pd.read_csv(small / "offences.csv", parse_dates=["offence_date", "disposal_date"])
    expected = int(
        ((later_offences["offence_date"] > "2024-03-31") | (later_offences["disposal_date"] > "2024-03-31")).sum()
    )
    assert reasons["offence or disposal dated after the settlement date"] == expected > 0
    started = int((pd.to_datetime(people["start_date"]) > "2024-03-31").sum())
    assert started > 0 and reasons["start_date after the settlement date"] == started


def test_a_header_only_people_file_is_called_empty(small):
    (small / "header.csv").write_text((small / "people.csv").read_text().splitlines()[0] + "\n")
    words = "header.csv: the people table has no data rows (columns: person_id, start_date"
    files_refused(DONCASTER, small / "header.csv", small / "offences.csv", words)


def test_a_column_given_twice_is_refused_never_read_as_age_1(small):
    lines = (small / "people.csv").read_text().splitlines()
    header = lines[0].split(",")
    at = header.index("age")
    (small / "twice.csv").write_text(
        "\n".join([lines[0] + ",age"] + [line + "," + line.split(",")[at] for line in lines[1:]]) + "\n"
    )
    words = f"table 'people' has the column name 'age' (columns {at + 1}, {len(header) + 1}) more than once"
    files_refused(DONCASTER, small / "twice.csv", small / "offences.csv", f"twice.csv: {words}")


def test_a_windows_1252_file_is_read_with_the_warning_every_command_gives(small):
    lines = (small / "people.csv").read_text().splitlines()
    lines[1] = "Ren\u00e9e" + lines[1][lines[1].index(",") :]  # an accented id, saved by Excel as "CSV"
    (small / "cp1252.csv").write_bytes(("\n".join(lines) + "\n").encode("cp1252"))
    run = cli(DONCASTER, f"people={small / 'cp1252.csv'}", f"offences={small / 'offences.csv'}")
    assert run.returncode == 0, run.stderr
    assert "warning:" in run.stderr and "is not UTF-8 text; it was read as Windows-1252" in run.stderr
    assert "codec can't decode" not in run.stderr
    with pytest.warns(EncodingWarning, match="read as Windows-1252"):
        settle(Contract.from_toml(DONCASTER), {"people": small / "cp1252.csv", "offences": small / "offences.csv"},
               as_of=AS_OF)  # fmt: skip


def test_a_folder_given_as_a_file_is_named_a_folder(small):
    (small / "people_folder.csv").mkdir(exist_ok=True)
    words = "people_folder.csv: a folder, not a file (the people table)"
    files_refused(DONCASTER, small / "people_folder.csv", small / "offences.csv", words)


def test_a_wrong_index_column_names_the_file_and_the_key(small, tmp_path):
    contract = tmp_path / "contract.toml"
    contract.write_text(DONCASTER.read_text().replace('index = "start_date"', 'index = "release_date"'))
    words = "people.csv: table 'people' is missing the column release_date (the 'cohort.index' column)"
    files_refused(contract, small / "people.csv", small / "offences.csv", words)


def test_a_table_named_twice_is_refused(small):
    run = cli(
        DONCASTER, f"people={small / 'people.csv'}", f"people={DATA / 'people.csv'}", f"offences={small / 'o.csv'}"
    )
    assert run.returncode == 1
    one_message(run.stderr, "The '--data' option must be NAME=FILE with each table given once", "also given as people=")


def test_overlapping_tranches_are_refused(tmp_path):
    text = DONCASTER.read_text().replace("start = 2023-07-01", "start = 2023-06-01")
    (tmp_path / "overlap.toml").write_text(text)
    with pytest.raises(SpecError, match=r"'tranches.h2_2023.start' date \(2023-06-01\) falls inside tranche 'h1_2023'"):
        Contract.from_toml(tmp_path / "overlap.toml")
    run = desist("check", tmp_path / "overlap.toml")
    one_message(run.stderr, "overlap.toml", "tranches must not overlap")


def test_a_tranche_too_small_to_measure_names_the_file_the_tranche_and_the_rule(small):
    people = pd.read_csv(small / "people.csv", dtype=str)
    few = people[people["start_date"].between("2023-01-01", "2023-06-30")].head(4)
    offences = pd.read_csv(small / "offences.csv", dtype=str)
    api, run = both(small, pd.concat([few, people[people["start_date"] >= "2023-07-01"]]), offences)
    assert isinstance(api, SchemaError)
    for text in (str(api), run.stderr):
        assert "tranche 'h1_2023' has 4 observable people" in text.lower() and "reoffending cannot be compared" in text
        assert "se_difference" not in text
    one_message(run.stderr, "p.csv: tranche 'h1_2023'")


def test_a_pool_measured_another_way_is_refused_and_an_unrecorded_one_warned(tmp_path):
    people = pd.read_csv(DATA / "people.csv", dtype=str).head(200)
    offences = pd.read_csv(DATA / "offences.csv", dtype=str)
    pool = pd.read_csv(DATA / "pool.csv").head(3000)
    pool.attrs[MEASURE_KEY] = {"follow_up_days": 365, "waiting_days": 182, "disposals": ["caution", "conviction"],
                               "counting": "offences"}  # fmt: skip
    pool.to_parquet(tmp_path / "pool.parquet")
    data = {"people": people, "offences": offences, "pool": tmp_path / "pool.parquet"}
    with pytest.raises(SchemaError, match=r"pool\.parquet: its reoffending was measured as offences within 365 days"):
        settle(Contract.from_toml(PETERBOROUGH), data, as_of=AS_OF)
    pool_file = f"pool={tmp_path / 'pool.parquet'}"
    run = cli(PETERBOROUGH, f"people={DATA / 'people.csv'}", f"offences={DATA / 'offences.csv'}", pool_file)
    one_message(run.stderr, "pool.parquet: its reoffending was measured as", "(disposals, counting differ)")
    unrecorded = pd.read_csv(DATA / "pool.csv").head(3000)
    with pytest.warns(UnrecordedMeasureWarning, match="does not record how its reoffending was measured"):
        try:
            settle(Contract.from_toml(PETERBOROUGH), {**data, "pool": unrecorded}, as_of=AS_OF)
        except DesistError:
            pass  # the warning comes first, whatever 200 people can settle


def test_an_as_of_written_two_ways_is_one_message_in_python_and_at_the_terminal(small):
    for value, why in (("01/09/2025", "day and month could be either way round"), ("25-09-30", "two digits")):
        api, run = both(small, as_of=value)
        assert isinstance(api, ParameterError) and why in str(api)
        one_message(run.stderr, "The '--as-of' option must be a date written YYYY-MM-DD", f"Got {value!r}", why)
        assert str(api).split(" must be ")[1] == run.stderr.split(" must be ")[1].strip()


def test_a_date_column_in_a_declared_format_settles_as_the_iso_file_does(small):
    people = pd.read_csv(small / "people.csv", dtype=str)
    dmy = people.assign(start_date=pd.to_datetime(people["start_date"]).dt.strftime("%d/%m/%Y"))
    dmy.to_csv(small / "dmy.csv", index=False)
    offences = f"offences={small / 'offences.csv'}"
    iso = desist("settle", DONCASTER, "--data", f"people={small / 'people.csv'}", "--data", offences, "--as-of",
                 AS_OF, "--json")  # fmt: skip
    declared = desist("--date-format", "%d/%m/%Y", "settle", DONCASTER, "--data", f"people={small / 'dmy.csv'}",
                      "--data", offences, "--as-of", "30/09/2025", "--json")  # fmt: skip
    assert declared.returncode == 0, declared.stderr
    figures = [json.loads(r.stdout)["results"]["figures"] for r in (iso, declared)]
    assert figures[0] == figures[1]
    undeclared = cli(DONCASTER, f"people={small / 'dmy.csv'}", offences)
    one_message(undeclared.stderr, "dmy.csv: table 'people'", "start_date: not a valid date (expected YYYY-MM-DD")
    from ground.dates import date_format

    with date_format("%d/%m/%Y"), warnings.catch_warnings():
        s = settle(
            Contract.from_toml(DONCASTER), {"people": dmy, "offences": small / "offences.csv"}, as_of=date(2025, 9, 30)
        )
    assert s.figures() == figures[0]


def test_a_pool_written_by_desist_measure_carries_its_measure_to_the_settlement(tmp_path):
    """desist measure --out writes the definition into per_person.parquet; settle reads it back."""
    from pricing.settlement_data import settlement_data

    contract = Contract.from_toml(PETERBOROUGH)  # court appearances, convictions only
    args = ["measure", "--people", DATA / "people.csv", "--offences", DATA / "offences.csv", "--as-of", AS_OF,
            "--observable-only"]  # fmt: skip
    same = desist(*args, "--disposals", "conviction", "--counting", "court_appearances", "--out", tmp_path / "same")
    other = desist(*args, "--out", tmp_path / "other")
    assert same.returncode == 0 and other.returncode == 0, same.stderr + other.stderr
    pool = tmp_path / "same" / "per_person.parquet"
    assert pd.read_parquet(pool).attrs[MEASURE_KEY]["counting"] == "court_appearances"
    data = {"people": DATA / "people.csv", "offences": DATA / "offences.csv"}
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnrecordedMeasureWarning)
        settlement_data(contract, {**data, "pool": pool})
    with pytest.raises(SchemaError, match=r"other/per_person\.parquet: its reoffending was measured as offences"):
        settlement_data(contract, {**data, "pool": tmp_path / "other" / "per_person.parquet"})


def test_the_tables_a_settlement_lacks_are_named_as_settle_refuses_them():
    from pricing import scheme, settle
    from pricing.settlement_data import missing_tables

    peterborough = scheme("peterborough")  # matched rules: a comparison table or a pool to match from
    assert missing_tables(peterborough, ["people"]) == ["offences", "comparison or pool"]
    assert missing_tables(peterborough, ["people", "offences", "pool"]) == []
    with pytest.raises(ParameterError, match="'comparison' \\(matched\\) or 'pool' table for the matched rules"):
        settle(peterborough, {"people": pd.DataFrame(), "offences": pd.DataFrame()}, as_of="2014-08-07")
