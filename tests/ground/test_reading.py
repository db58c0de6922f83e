"""Readers: CSV, Parquet and Excel round trips, and errors that name the file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ground.errors import ParameterError, SchemaError
from ground.reading import read_frame, read_table, write_table
from ground.tables import SEX_LEVELS, validate

FORMATS = ["csv", "parquet", "xlsx"]


@pytest.fixture
def people() -> pd.DataFrame:
    return validate(
        pd.DataFrame(
            {
                "person_id": ["007", "0100", "E3", "42"],
                "start_date": pd.to_datetime(["2024-01-15", "2024-02-29", "2023-12-31", "2024-06-01"]),
                "sex": ["female", "male", "other", "male"],
                "ethnicity": ["white", "mixed", "unknown", "black"],
                "age": [19, 34, 52, 88],
                "provider_id": ["PRV01", None, "PRV02", "PRV01"],
                "in_programme": [True, True, False, True],
                "prior_offences": [0, 3, 12, 1],
                "need_family": [False, True, True, False],
                "ogrs_score": [12.25, 50.0, 99.5, 7.0],
                "caseworker": ["Ann", "Bo", None, "Di"],
            }
        ),
        "people",
    )


@pytest.mark.parametrize("suffix", FORMATS)
def test_round_trip_keeps_ids_dates_categories_and_flags(people, tmp_path, suffix):
    path = write_table(people, tmp_path / f"people.{suffix}")
    back = read_table(path, "people", as_of="2024-12-31")
    pd.testing.assert_frame_equal(back, people, check_dtype=False, check_categorical=False)
    assert back["person_id"].tolist() == ["007", "0100", "E3", "42"]
    assert back["start_date"].dtype == "datetime64[ns]"
    assert back["start_date"].iloc[1] == pd.Timestamp("2024-02-29")
    assert list(back["sex"].cat.categories) == list(SEX_LEVELS)
    assert back["in_programme"].dtype == bool and back["age"].dtype == "int64"
    assert pd.isna(back["provider_id"].iloc[1])


@pytest.mark.parametrize("suffix", FORMATS)
def test_bad_file_error_names_the_file_table_column_rule_and_row(people, tmp_path, suffix):
    bad = people.assign(start_date=people["start_date"].dt.strftime("%Y-%m-%d"))
    bad.loc[2, "start_date"] = "2024-02-30"  # text that is not a date
    bad.loc[3, "age"] = 140
    path = write_table(bad, tmp_path / f"cohort.{suffix}")
    with pytest.raises(SchemaError) as info:
        read_table(path, "people")
    message = str(info.value)
    assert message.startswith(f"{path}: table 'people' fails 2 rules")
    assert "start_date: not a valid date (expected YYYY-MM-DD, years 1678-2261): 1 row: row 3 (2024-02-30)" in message
    assert "age: outside 10 to 110: 1 row: row 4" in message
    assert info.value.source == str(path)
    assert info.value.failures[["column", "row"]].values.tolist() == [["start_date", 2], ["age", 3]]


def test_csv_cells_are_parsed_by_the_schema_not_guessed(tmp_path):
    path = tmp_path / "offences.csv"
    path.write_text(
        "person_id,offence_date,disposal_date,disposal,court\n"
        "007,2024-01-05,2024-03-01,caution,Leeds\n"
        "008,05/01/2024,2024-03-01,conviction,York\n"
        "009,2024-01-07,,conviction,Hull\n"
    )
    with pytest.raises(SchemaError, match=r"offences\.csv: table 'offences'") as info:
        read_table(path, "offences")
    assert info.value.failures[["column", "rule", "row"]].values.tolist() == [
        ["offence_date", "not a valid date (expected YYYY-MM-DD, years 1678-2261)", 1],
        ["disposal_date", "missing value", 2],
    ]


def test_offences_before_birth_checked_against_people(people, tmp_path):
    offences = pd.DataFrame(
        {
            "person_id": ["007", "42"],
            "offence_date": pd.to_datetime(["2000-01-01", "1990-01-01"]),
            "disposal_date": pd.to_datetime(["2000-02-01", "1990-02-01"]),
            "disposal": pd.Categorical(["conviction", "caution"]),
        }
    )
    path = write_table(offences, tmp_path / "offences.parquet")
    # 007 was 19 on 2024-01-15, so born after 2004-01-15; 42 was 88, so 1990 is fine.
    with pytest.raises(SchemaError, match=r"offence_date: before birth .*: 1 row: row 1 \(2000-01-01\)"):
        read_table(path, "offences", people=people)


def test_excel_sheet_by_name(people, tmp_path):
    path = write_table(people, tmp_path / "cohort.xlsx", sheet="cohort")
    assert read_table(path, "people", sheet="cohort")["person_id"].tolist() == people["person_id"].tolist()
    with pytest.raises(SchemaError, match=r"cohort\.xlsx: cannot read as Excel: .*missing"):
        read_table(path, "people", sheet="missing")


def test_sheet_ignored_for_csv_with_a_warning(people, tmp_path):
    path = write_table(people, tmp_path / "people.csv")
    with pytest.warns(UserWarning, match=r"'sheet' argument is not used for CSV files"):
        read_table(path, "people", sheet="data")


def test_unknown_suffix_missing_file_and_unknown_table(people, tmp_path):
    unknown = r"people\.json: unknown file type '\.json' \(the people table\); desist reads \.csv, \.parquet"
    with pytest.raises(SchemaError, match=unknown):
        read_table(tmp_path / "people.json", "people")
    with pytest.raises(SchemaError, match=r"people\.json: unknown file type"):
        write_table(people, tmp_path / "people.json")
    with pytest.raises(SchemaError, match=r"absent\.csv: no such file \(the people table\)"):
        read_table(tmp_path / "absent.csv", "people")
    path = write_table(people, tmp_path / "people.csv")
    with pytest.raises(ParameterError, match=r"'table' parameter of table_schema must be one of .*Got 'persons'"):
        read_table(path, "persons")


def test_corrupt_parquet_names_the_file(tmp_path):
    path = tmp_path / "pool.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(SchemaError, match=r"pool\.parquet: cannot read as Parquet"):
        read_table(path, "pool")


def test_services_round_trip_with_open_service_types(tmp_path):
    services = pd.DataFrame(
        {
            "person_id": ["1", "1", "2"],
            "date": pd.to_datetime(["2024-01-02", "2024-01-09", "2024-02-01"]),
            "hours": [1.0, 0.5, np.float64(2.25)],
            "service": ["keyworker", "peer_support", "housing"],
        }
    )
    for suffix in FORMATS:
        back = read_table(write_table(services, tmp_path / f"services.{suffix}"), "services")
        assert back["hours"].tolist() == [1.0, 0.5, 2.25]
        assert set(back["service"].cat.categories) == {"keyworker", "peer_support", "housing"}


@pytest.mark.parametrize("suffix", FORMATS)
def test_world_people_round_trip(tmp_path, suffix):
    from cohorts.synthetic import make_world

    world = make_world(seed=1, n_eligible=200, n_pool=100)
    expected = validate(world.people, "people")
    back = read_table(write_table(world.people, tmp_path / f"people.{suffix}"), "people", as_of=world.as_of)
    pd.testing.assert_frame_equal(back, expected, check_dtype=False, check_categorical=False)
    assert back["start_date"].dtype == "datetime64[ns]" and isinstance(back["sex"].dtype, pd.CategoricalDtype)


@pytest.mark.parametrize("suffix", FORMATS)
def test_read_frame_reads_any_table_without_a_schema(tmp_path, suffix):
    units = pd.DataFrame({"unit": ["a", "b"], "treated": [1, 0], "y": [2.5, 3.0]})
    back = read_frame(write_table(units, tmp_path / f"units.{suffix}"))
    pd.testing.assert_frame_equal(back, units, check_dtype=False)
    with pytest.raises(SchemaError, match=r"units\.txt: unknown file type"):
        read_frame(tmp_path / "units.txt", table="units")


# ----------------------------------------------------------------- what a file from elsewhere looks like


def test_a_column_name_given_twice_is_an_error_not_age_1(people, tmp_path):
    """pandas renames the second 'age' to 'age.1' and reads the first; which one did the user mean?"""
    path = tmp_path / "people.csv"
    people.to_csv(path, index=False)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0] + ",age"] + [line + ",99" for line in lines[1:]]) + "\n")
    for read in (lambda: read_table(path, "people"), lambda: read_frame(path)):
        with pytest.raises(SchemaError, match=r"people\.csv: .*column name 'age' \(columns 5, 12\) more than once"):
            read()
    excel = tmp_path / "people.xlsx"
    pd.read_csv(path, dtype=str).set_axis([*people.columns, "age"], axis=1).to_excel(excel, index=False)
    with pytest.raises(SchemaError, match=r"people\.xlsx: .*column name 'age' \(columns 5, 12\)"):
        read_frame(excel)


def test_empty_files_and_files_without_rows(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(SchemaError, match=r"empty\.csv: the file is empty \(not even a header row\)"):
        read_frame(empty)
    header = tmp_path / "header.csv"
    header.write_text("person_id,offence_date,disposal_date,disposal\n")
    assert read_table(header, "offences").empty  # no offences is a valid table; commands decide


def test_encodings_utf8_with_a_byte_order_mark_utf16_and_windows_1252(people, tmp_path):
    text = people.assign(caseworker=["Zo\u00eb", "Bo", None, "Ren\u00e9e"]).to_csv(index=False)
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert read_table(bom, "people")["person_id"].tolist() == ["007", "0100", "E3", "42"]  # not "\ufeffperson_id"
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(text.encode("utf-16"))
    assert read_frame(utf16)["caseworker"].iloc[0] == "Zo\u00eb"
    windows = tmp_path / "windows.csv"
    windows.write_bytes(text.encode("cp1252"))
    with pytest.warns(UserWarning, match=r"windows\.csv is not UTF-8 text; it was read as Windows-1252"):
        assert read_frame(windows)["caseworker"].iloc[3] == "Ren\u00e9e"
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"person_id\n\x81\x8d\x8f\x90\x9d\n")
    with pytest.raises(SchemaError, match=r"garbage\.csv: cannot read as CSV: the text is neither UTF-8 nor Windows"):
        read_frame(garbage)


# ----------------------------------------------------------------- the one reader's rules (issue 23)


def test_a_folder_given_as_a_file_is_named_a_folder(tmp_path):
    (tmp_path / "people.csv").mkdir()
    for read in (lambda: read_table(tmp_path / "people.csv", "people"), lambda: read_frame(tmp_path / "people.csv")):
        with pytest.raises(SchemaError, match=r"people\.csv: a folder, not a file"):
            read()
    with pytest.raises(SchemaError, match=r"a folder, not a file \(given as --people for the people table\)"):
        read_table(tmp_path / "people.csv", "people", option="--people")


def test_chosen_columns_must_be_there_naming_the_argument_that_chose_them(people, tmp_path):
    path = write_table(people, tmp_path / "people.csv")
    back = read_frame(path, table="people", columns={"index": "start_date"}, text=["person_id"])
    assert list(back.columns) == ["start_date"]
    with pytest.raises(SchemaError, match=r"people\.csv: table 'people' is missing the column release \(the 'index'"):
        read_frame(path, table="people", columns={"person_id": "person_id", "index": "release"})


def test_text_columns_keep_what_was_written(tmp_path):
    (tmp_path / "ids.csv").write_text("person_id,n\n007,1\n10.0,2\n")
    assert read_frame(tmp_path / "ids.csv", text=["person_id"])["person_id"].tolist() == ["007", "10.0"]
    assert read_frame(tmp_path / "ids.csv")["person_id"].tolist() == [7.0, 10.0]


def test_a_parquet_file_with_a_column_twice_is_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table([pa.array([1]), pa.array([30]), pa.array([31])], names=["person_id", "age", "age"]),
                   tmp_path / "twice.parquet")  # fmt: skip
    with pytest.raises(SchemaError, match=r"twice\.parquet: table 'data' has the column name 'age' \(columns 2, 3\)"):
        read_frame(tmp_path / "twice.parquet")
