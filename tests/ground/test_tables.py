"""Schema rules: every rule has a bad-input example whose error names the column and the rule."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from ground.errors import ParameterError, SchemaError
from ground.tables import DISPOSAL_LEVELS, ETHNICITY_LEVELS, SEX_LEVELS, TABLES, validate

AS_OF = "2024-12-31"


def people_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": ["007", "E2", "E3"],
            "start_date": ["2024-01-15", "2024-02-01", "2024-03-10"],
            "sex": ["female", "male", "male"],
            "ethnicity": ["white", "black", "asian"],
            "age": [19, 34, 52],
            "provider_id": ["PRV01", None, "PRV02"],
            "in_programme": [True, True, True],
            "age_first_conviction": [15, 20, 52],
            "prior_offences": [1, 0, 7],
            "need_accommodation": [True, False, False],
            "ogrs_score": [35.0, 12.5, 80.0],
            "keyworker": ["Ann", "Bo", "Cy"],  # not in the schema: passed through
        }
    )


def tables() -> dict[str, pd.DataFrame]:
    people = people_table()
    eligible = people.drop(columns=["start_date", "in_programme"]).assign(
        referral_date=["2024-01-02", "2024-01-20", "2024-03-01"], enrolled=[True, False, True]
    )
    pool = people.assign(
        person_id=["P1", "P2", "P3"],
        provider_id=None,
        in_programme=False,
        reoffended=[True, False, False],
        reoffences=[2, 0, 0],
        days_to_first=[40.0, np.nan, np.nan],
    )
    return {
        "people": people,
        "eligible": eligible,
        "pool": pool,
        "claims": pd.DataFrame(
            {
                "person_id": ["007", "E2", "E2"],
                "outcome": ["job_13", "engaged", "engaged"],
                "achieved_on": ["2024-04-15", "2024-02-20", "2024-02-20"],
                "evidence": ["EMP-1", "REG-2", "REG-2 again"],
                "provider_id": ["PRV01", None, "PRV02"],
            }
        ),
        "spells": pd.DataFrame(
            {
                "person_id": ["007", "E3"],
                "kind": ["employment", "employment"],
                "start": ["2024-01-20", "2024-04-01"],
                "end": ["2024-06-30", None],
            }
        ),
        "offences": pd.DataFrame(
            {
                "person_id": ["007", "007", "E3"],
                "offence_date": ["2020-05-01", "2024-06-01", "2024-04-01"],
                "disposal_date": ["2020-09-01", "2024-06-01", "2024-10-01"],
                "disposal": ["conviction", "caution", "no_further_action"],
            }
        ),
        "services": pd.DataFrame(
            {
                "person_id": ["007", "007", "E3"],
                "date": ["2024-01-20", "2024-02-03", "2024-03-15"],
                "hours": [1.5, 0.0, 2.0],
                "service": ["keyworker", "housing", "peer_support"],
            }
        ),
        "assessments": pd.DataFrame(
            {
                "person_id": ["007", "007", "007"],
                "instrument": ["rosenberg", "rosenberg", "ladder_family"],
                "item": ["q1", "q2", "ladder"],
                "score": [3.0, 1.0, 6.0],
                "assessed_on": ["2024-01-20", "2024-01-20", "2024-01-20"],
            }
        ),
        "custody": pd.DataFrame(
            {
                "person_id": ["007", "E3"],
                "start": ["2024-01-20", "2024-04-01"],
                "end": ["2024-02-03", None],
                "kind": ["remand", "sentenced"],
            }
        ),
    }


def raises(table: str, df: pd.DataFrame, pattern: str, **kwargs) -> SchemaError:
    with pytest.raises(SchemaError, match=pattern) as info:
        validate(df, table, **kwargs)
    return info.value


def with_cell(df: pd.DataFrame, column: str, row: int, value) -> pd.DataFrame:
    out = df.astype({column: object}) if column in df else df.copy()
    out.loc[row, column] = value
    return out


# ---------------------------------------------------------------- good tables


@pytest.mark.parametrize("table", list(TABLES))
def test_good_table_validates_and_comes_back_typed(table):
    df = tables()[table]
    out = validate(df, table, as_of=AS_OF)
    schema = TABLES[table].to_schema()
    for name, column in schema.columns.items():
        if name not in out:
            continue
        dtype = str(column.dtype)
        if dtype.startswith("datetime64"):
            assert out[name].dtype == "datetime64[ns]", name
        elif dtype == "category":
            assert isinstance(out[name].dtype, pd.CategoricalDtype), name
        elif dtype.startswith(("str", "string")):
            assert pd.api.types.is_string_dtype(out[name]) and out[name].dropna().map(type).eq(str).all(), name
        else:
            assert str(out[name].dtype) == dtype, name
    assert list(out.columns) == list(df.columns)
    assert len(out) == len(df)


def test_categories_carry_all_known_levels_and_ids_stay_strings():
    out = validate(tables()["people"], "people")
    assert list(out["sex"].cat.categories) == list(SEX_LEVELS)
    assert list(out["ethnicity"].cat.categories) == list(ETHNICITY_LEVELS)
    assert out["person_id"].tolist() == ["007", "E2", "E3"]
    assert out["start_date"].iloc[0] == pd.Timestamp("2024-01-15")
    assert out["keyworker"].tolist() == ["Ann", "Bo", "Cy"]
    offences = validate(tables()["offences"], "offences")
    assert list(offences["disposal"].cat.categories) == list(DISPOSAL_LEVELS)


def test_numeric_ids_become_strings_without_decimal_point():
    df = tables()["offences"].assign(person_id=[7.0, 7.0, np.nan])
    out = raises("offences", df, r"person_id: missing value: 1 row: row 3")
    ok = validate(tables()["offences"].assign(person_id=[7, 7, 12]), "offences")
    assert ok["person_id"].tolist() == ["7", "7", "12"]
    assert out.failures["row"].tolist() == [2]


def test_index_is_kept_and_rows_are_positions():
    df = tables()["people"].set_axis([10, 20, 30])
    assert validate(df, "people").index.tolist() == [10, 20, 30]
    err = raises("people", with_cell(df.reset_index(drop=True), "age", 2, 111).set_axis([10, 20, 30]), r"row 3 \(111\)")
    assert err.failures["row"].tolist() == [2]  # 0-based position, whatever the index


def test_service_types_and_provider_ids_are_open():
    out = validate(tables()["services"], "services")
    assert set(out["service"].cat.categories) == {"keyworker", "housing", "peer_support"}


def test_days_to_first_may_be_missing_for_people_who_did_not_reoffend():
    out = validate(tables()["pool"], "pool")
    assert out["days_to_first"].isna().tolist() == [False, True, True]


# ---------------------------------------------------------------- one bad input per rule


@pytest.mark.parametrize("table", ["people", "eligible", "pool"])
def test_duplicate_person_id(table):
    df = tables()[table]
    df = with_cell(df, "person_id", 2, df.loc[0, "person_id"])
    err = raises(table, df, r"person_id: duplicate id \(must be unique\): 2 rows: row 1 .*row 3")
    assert err.failures["row"].tolist() == [0, 2]


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("people", "start_date"),
        ("eligible", "referral_date"),
        ("pool", "start_date"),
        ("offences", "offence_date"),
        ("offences", "disposal_date"),
        ("assessments", "assessed_on"),
        ("services", "date"),
    ],
)
def test_date_after_as_of(table, column):
    df = with_cell(tables()[table], column, 1, "2025-01-01")
    if column == "offence_date":
        df = with_cell(df, "disposal_date", 1, "2025-02-01")
    err = raises(table, df, rf"{column}: after the as-of date 2024-12-31: 1 row: row 2 \(2025-01-01\)", as_of=AS_OF)
    assert err.table == table
    validate(df, table, as_of="2026-01-01")  # the same table is fine with a later as-of date


def test_disposal_before_offence():
    df = with_cell(tables()["offences"], "disposal_date", 2, "2024-03-31")
    err = raises("offences", df, r"disposal_date: before offence_date: 1 row: row 3 \(2024-03-31\)")
    assert err.failures[["column", "row"]].values.tolist() == [["disposal_date", 2]]


@pytest.mark.parametrize("people_table_name", ["people", "eligible"])
def test_offence_before_birth(people_table_name):
    people = validate(tables()[people_table_name], people_table_name)
    start = people.set_index("person_id").iloc[0]
    start_date = start.get("start_date", start.get("referral_date"))
    # Aged 19 at the start date: born after start - 20 years, so an offence a day before that is impossible.
    earliest = start_date - pd.DateOffset(years=20)
    df = tables()["offences"]
    df = with_cell(df, "offence_date", 0, f"{earliest - pd.Timedelta(days=1):%Y-%m-%d}")
    err = raises("offences", df, r"offence_date: before birth .*1 row: row 1", people=people)
    assert err.failures["row"].tolist() == [0]
    validate(with_cell(df, "offence_date", 0, f"{earliest:%Y-%m-%d}"), "offences", people=people)


def test_offence_before_birth_needs_ages():
    with pytest.raises(SchemaError, match=r"'people' parameter .* Missing: age"):
        validate(tables()["offences"], "offences", people=tables()["people"].drop(columns="age"))


@pytest.mark.parametrize(("column", "value"), [("hours", -0.5), ("cost", -10.0)])
def test_negative_hours_or_cost(column, value):
    df = tables()["services"].assign(cost=[10.0, 0.0, 5.0])
    raises(
        "services",
        with_cell(df, column, 0, value),
        rf"{column}: below 0 \(must be at least 0\): 1 row: row 1 \({value}\)",
    )


def test_services_need_hours_or_cost():
    raises(
        "services",
        tables()["services"].drop(columns="hours"),
        r"hours: required column missing \(services need hours or cost\)",
    )
    validate(tables()["services"].drop(columns="hours").assign(cost=[1.0, 2.0, 3.0]), "services")


@pytest.mark.parametrize("table", ["people", "eligible", "pool"])
@pytest.mark.parametrize("age", [9, 111])
def test_age_outside_10_to_110(table, age):
    raises(table, with_cell(tables()[table], "age", 1, age), rf"age: outside 10 to 110: 1 row: row 2 \({age}\)")


@pytest.mark.parametrize(
    ("column", "value", "rule"),
    [
        ("age_first_conviction", 60, r"greater than age"),
        ("age_first_conviction", 8, r"outside 10 to 110"),
        ("prior_offences", -1, r"below 0 \(must be at least 0\)"),
        ("ogrs_score", 100.5, r"outside 0 to 100"),
    ],
)
def test_covariate_rules(column, value, rule):
    raises("people", with_cell(tables()["people"], column, 0, value), rf"{column}: {rule}: 1 row: row 1")


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("people", "sex", "F"),
        ("eligible", "sex", "man"),
        ("pool", "ethnicity", "irish"),
        ("offences", "disposal", "fine"),
    ],
)
def test_unknown_category(table, column, value):
    err = raises(
        table,
        with_cell(tables()[table], column, 1, value),
        rf"{column}: unknown category \(allowed: .+\): 1 row: row 2 \({value}\)",
    )
    assert err.failures["value"].tolist() == [value]


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("people", "person_id"),
        ("people", "start_date"),
        ("people", "sex"),
        ("people", "in_programme"),
        ("eligible", "enrolled"),
        ("offences", "disposal_date"),
        ("assessments", "score"),
        ("services", "hours"),
        ("pool", "reoffences"),
    ],
)
def test_missing_value(table, column):
    raises(table, with_cell(tables()[table], column, 0, None), rf"{column}: missing value: 1 row: row 1 \(missing\)")


@pytest.mark.parametrize(
    ("table", "column", "value", "rule"),
    [
        ("people", "age", "thirty", "not a whole number"),
        ("people", "age", 30.5, "not a whole number"),
        ("people", "start_date", "2024-13-01", r"not a valid date \(expected YYYY-MM-DD"),
        ("people", "start_date", "01/02/2024", "not a valid date"),
        ("people", "start_date", "2024", "not a valid date"),
        ("people", "in_programme", "maybe", r"not true/false"),
        ("assessments", "score", "high", "not a finite number"),
        ("services", "hours", "inf", "not a finite number"),
        ("offences", "offence_date", "1500-01-01", "not a valid date"),
    ],
)
def test_wrong_type_is_a_failure_not_a_silent_missing_value(table, column, value, rule):
    err = raises(
        table,
        with_cell(tables()[table], column, 1, value),
        rf"{column}: {rule}.*: 1 row: row 2 \({re.escape(str(value))}\)",
    )
    # The cell is reported once, as unparseable, not again as a missing value.
    assert err.failures["rule"].str.contains("missing").sum() == 0
    assert len(err.failures) == 1


def test_dates_given_as_numbers_are_rejected():
    df = tables()["services"].assign(date=[45000, 45001, 45002])
    raises("services", df, r"date: not a valid date .*: 3 rows: row 1 \(45000\)")


def test_required_column_missing_lists_the_columns_present():
    err = raises("offences", tables()["offences"].drop(columns="disposal"), r"disposal: required column missing")
    assert "Columns present: person_id, offence_date, disposal_date" in str(err)
    assert err.failures["row"].isna().all()


def test_duplicate_assessment_record():
    df = pd.concat([tables()["assessments"], tables()["assessments"].iloc[[0]]], ignore_index=True)
    raises(
        "assessments",
        df,
        r"person_id: duplicate record \(same person_id, instrument, item, assessed_on\): 2 rows: row 1 .*row 4",
    )


def test_pool_outcomes_agree():
    df = with_cell(tables()["pool"], "reoffences", 1, 3)
    raises("pool", df, r"reoffended: disagrees with reoffences .*: 1 row: row 2 \(False\)")
    df = with_cell(tables()["pool"], "days_to_first", 2, 10.0)
    raises("pool", df, r"days_to_first: must be given exactly when reoffended is true: 1 row: row 3 \(10.0\)")
    raises("pool", with_cell(tables()["pool"], "days_to_first", 0, -1.0), r"days_to_first: below 0")


def test_unknown_table_lists_the_tables():
    with pytest.raises(
        ParameterError,
        match=r"'table' parameter of table_schema must be one of people, eligible, .*Got 'persons' instead",
    ):
        validate(tables()["people"], "persons")


# ---------------------------------------------------------------- the report


def test_every_problem_is_reported_in_one_error():
    df = tables()["people"]
    df = with_cell(df, "person_id", 1, "007")
    df = with_cell(df, "start_date", 0, "2024-02-30")
    df = with_cell(df, "sex", 2, "M")
    df = with_cell(df, "age", 1, 140)
    df = with_cell(df, "in_programme", 2, None)
    df = df.drop(columns="ethnicity")
    err = raises("people", df, r"table 'people' fails 7 rules in 3 rows", as_of="2024-01-31", source="cohort.csv")
    message = str(err)
    assert message.startswith("cohort.csv: table 'people'")
    expected = [
        ("ethnicity", "required column missing", None),
        ("person_id", "duplicate id (must be unique)", 0),
        ("person_id", "duplicate id (must be unique)", 1),
        ("start_date", "not a valid date (expected YYYY-MM-DD, years 1678-2261)", 0),
        ("start_date", "after the as-of date 2024-01-31", 1),
        ("start_date", "after the as-of date 2024-01-31", 2),
        ("sex", "unknown category (allowed: female, male, other, unknown)", 2),
        ("age", "outside 10 to 110", 1),
        ("in_programme", "missing value", 2),
    ]
    got = sorted(
        (c, r, None if pd.isna(row) else int(row))
        for c, r, row in err.failures[["column", "rule", "row"]].itertuples(index=False)
    )
    assert got == sorted(expected, key=lambda t: (t[0], t[1], -1 if t[2] is None else t[2]))
    for column, rule, _ in expected:
        assert f"- {column}: {rule}" in message
    assert err.source == "cohort.csv" and err.table == "people"
    # pandera's own JSON report must not leak into the message
    assert "{" not in message and "failure_case" not in message and "SchemaErrors" not in message


def test_message_shows_five_rows_per_rule_and_counts_the_rest():
    df = pd.concat([tables()["services"]] * 4, ignore_index=True).assign(hours=-1.0)
    err = raises(
        "services",
        df,
        r"hours: below 0 \(must be at least 0\): 12 rows: row 1 \(-1.0\), row 2 .*row 5 \(-1.0\), and 7 more$",
    )
    assert "row 6" not in str(err)
    assert len(err.failures) == 12


# ---------------------------------------------------------------- the synthetic world


@pytest.fixture(scope="module")
def world():
    from cohorts.synthetic import make_world

    return make_world(seed=1, n_eligible=500, n_pool=2000)


@pytest.mark.parametrize("table", ["people", "eligible", "assessments", "services", "pool"])
def test_every_world_table_meets_its_schema(world, table):
    df = getattr(world, table)
    out = validate(df, table, as_of=world.as_of)
    assert len(out) == len(df) > 0
    assert out["person_id"].tolist() == df["person_id"].astype(str).tolist()


@pytest.mark.parametrize("people", ["eligible", "people"])
def test_world_offences_meet_their_schema_and_follow_birth(world, people):
    out = validate(world.offences, "offences", as_of=world.as_of, people=getattr(world, people))
    assert len(out) == len(world.offences) > 0
    # The check has teeth on the world's own data: an offence 200 years back fails.
    early = world.offences.assign(offence_date=world.offences["offence_date"] - pd.DateOffset(years=200))
    with pytest.raises(SchemaError, match=r"offence_date: before birth"):
        validate(early, "offences", people=world.eligible)


def test_arguments_that_cannot_be_used():
    with pytest.raises(ParameterError, match=r"'as_of' parameter of validate must be a date .*Got 'last week' instead"):
        validate(tables()["people"], "people", as_of="last week")
    with pytest.raises(
        ParameterError, match=r"'columns' parameter of validate must be columns of the 'people' schema .*Got colour"
    ):
        validate(tables()["people"], "people", columns=["age", "colour"])
    with pytest.raises(SchemaError, match=r"table 'people' has the column name age more than once"):
        validate(pd.concat([tables()["people"], tables()["people"][["age"]]], axis=1), "people")
    with pytest.raises(SchemaError, match=r"table 'people' must be a pandas DataFrame. Got list instead"):
        validate([1, 2], "people")
    with pytest.warns(UserWarning, match=r"'people' argument is only used for table 'offences' and will be ignored"):
        validate(tables()["services"], "services", people=tables()["people"])
    # Without offence dates the birth rule has nothing to check; the missing column is the error.
    err = raises(
        "offences",
        tables()["offences"].drop(columns="offence_date"),
        r"offence_date: required column missing",
        people=tables()["people"],
    )
    assert len(err.failures) == 1


def test_stray_spaces_are_shown_in_quotes_and_failures_follow_the_message():
    df = with_cell(with_cell(tables()["people"], "sex", 1, " man"), "age", 0, 200)
    err = raises("people", df, r"sex: unknown category \(allowed: .+\): 1 row: row 2 \(' man'\)")
    assert err.failures["column"].tolist() == ["sex", "age"]  # the input's column order, as in the message
    assert str(err).index("- sex:") < str(err).index("- age:")


def test_without_an_as_of_date_nothing_may_be_dated_after_today():
    tomorrow = (pd.Timestamp.today().normalize() + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    services = pd.DataFrame({"person_id": ["a", "b"], "date": ["2024-01-01", tomorrow], "hours": [1.0, 2.0]})
    with pytest.raises(SchemaError, match=rf"date: after the as-of date .*row 2 \({tomorrow}\)"):
        validate(services, "services")


def test_columns_checks_only_what_a_function_needs():
    people = pd.DataFrame({"person_id": [1, 2], "start_date": ["2024-01-01", "2024-13-01"], "age": ["x", 40]})
    with pytest.raises(SchemaError) as info:
        validate(people, "people", columns=["person_id", "start_date"], as_of="2025-01-01")
    # the bad date is reported; the age column was not asked for, so its "x" is not
    assert "start_date: not a valid date" in str(info.value) and "row 2 (2024-13-01)" in str(info.value)
    assert "age" not in set(info.value.failures["column"])
    with pytest.raises(SchemaError, match="required column missing"):
        validate(people.drop(columns="start_date"), "people", columns=["person_id", "start_date"])
    with pytest.raises(ParameterError, match="'columns' parameter of validate must be columns of the"):
        validate(people, "people", columns=["shoe_size"])


def test_known_levels_spelled_otherwise_are_read_as_those_levels():
    offences = pd.DataFrame(
        {
            "person_id": ["1", "2", "3"],
            "offence_date": ["2024-01-01"] * 3,
            "disposal_date": ["2024-02-01"] * 3,
            "disposal": ["Conviction", " No further action", "Convicted"],
        }
    )
    with pytest.raises(SchemaError) as info:
        validate(offences, "offences", as_of="2025-01-01")
    assert list(info.value.failures["value"]) == ["Convicted"]
    clean = validate(offences.iloc[:2], "offences", as_of="2025-01-01")
    assert list(clean["disposal"]) == ["conviction", "no_further_action"]


def test_links_between_tables_are_counted_and_none_is_an_error():
    from ground.tables import UnmatchedRowsWarning, check_links

    people = pd.DataFrame({"person_id": ["1", "2"]})
    with pytest.raises(SchemaError, match=r"0 of 3 offences match a person_id in people"):
        check_links(pd.DataFrame({"person_id": ["1.0", "2.0", "2.0"]}), people, table="offences", to_table="people")
    with pytest.warns(UnmatchedRowsWarning, match=r"1 of 3 offences match no person_id in people"):
        links = check_links(pd.DataFrame({"person_id": ["1", "2", "9"]}), people, table="offences", to_table="people")
    assert (links.n, links.matched, links.unmatched) == (3, 2, 1)


def test_checking_a_table_leaves_no_pyspark_warning_and_no_filter_behind():
    """pyspark.pandas warns on import under pandas 3, and pandera imports it (with desist[spark] installed) as it
    loads, builds a schema and validates: ground.tables silences that warning around those calls only, so a user's
    process sees neither the warning nor a filter left installed for the rest of its life."""
    import subprocess
    import sys

    code = (
        "import warnings, pandas as pd\n"
        "from ground.tables import validate\n"
        "validate(pd.DataFrame({'person_id': ['1'], 'start_date': ['2024-01-01']}), 'people', "
        "columns=['person_id', 'start_date'])\n"
        "assert not [f for f in warnings.filters if f[1] is not None and 'PySpark' in f[1].pattern], warnings.filters\n"
    )
    proc = subprocess.run([sys.executable, "-W", "error::FutureWarning", "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_coded_ids_are_categories_of_their_text_read_once():
    a = tables()["assessments"]
    ids = a["person_id"].astype(object)
    ids.iloc[1] = 7.0  # saved with a decimal point: the same person as 7
    coded = validate(a.assign(person_id=ids.where(ids.index != 0, 7)), "assessments", coded=["person_id"])
    assert isinstance(coded["person_id"].dtype, pd.CategoricalDtype)
    plain = validate(a.assign(person_id=ids.where(ids.index != 0, 7)), "assessments")
    assert coded["person_id"].astype(str).tolist() == plain["person_id"].tolist()
    assert coded["person_id"].iloc[0] == coded["person_id"].iloc[1] == "7"
    with pytest.raises(ParameterError, match="coded"):
        validate(a, "assessments", coded=["score"])


def test_coded_ids_still_name_the_rows_that_break_the_schema():
    bad = with_cell(tables()["assessments"], "person_id", 2, None)
    plain = raises("assessments", bad, r"person_id: missing value: 1 row: row 3")
    assert str(raises("assessments", bad, r"person_id: missing value", coded=["person_id"])) == str(plain)
