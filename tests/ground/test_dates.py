"""One date parser for every date a user gives (issue 23): ISO 8601 unless a format is declared.

``01/09/2025`` is 1 September in Britain and 9 January in the United States;
``25-09-30`` is 30 September 2025 or 25 September 2030. pandas guessed (9 January,
2030) and settled on the guess. Every form is refused with one message naming the
value and the form, the same from Python and from the terminal, for as-of dates,
contract dates and date columns.
"""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest

from ground.dates import DATE_RULE, date_format, declared_format, parse_date, parse_dates
from ground.errors import ParameterError, SchemaError, SpecError
from outcomes import proven_reoffending
from pricing import Contract
from tests.running import ROOT, desist, one_message

DATA = ROOT / "examples" / "data"
WHAT = "The 'as_of' parameter of settle"


@pytest.mark.parametrize(
    "value",
    [
        "2025-09-30",
        " 2025-09-30 ",
        datetime.date(2025, 9, 30),
        datetime.datetime(2025, 9, 30),
        pd.Timestamp("2025-09-30"),
        np.datetime64("2025-09-30"),
        pd.Timestamp("2025-09-30", tz="Europe/London"),
    ],
    ids=["iso", "spaces", "date", "datetime", "timestamp", "datetime64", "zoned"],
)
def test_every_date_like_value_is_the_same_day(value):
    assert parse_date(value, WHAT) == pd.Timestamp("2025-09-30")


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("01/09/2025", "day and month could be either way round (1 September or 9 January 2025)"),
        ("09/01/2025", "day and month could be either way round (9 January or 1 September 2025)"),
        ("25-09-30", "its year has two digits"),
        ("30/09/25", "its year has two digits"),
        ("30/09/2025", "day, month and year are not in the YYYY-MM-DD order"),
        ("2025-02-30", "no such day"),
        ("1500-01-01", "outside the years 1678-2261"),
        ("yesterday", ""),
        ("2025/09/30", ""),
        ("20250930", ""),
        (20250930, ""),
        (None, ""),
        (pd.NaT, "a missing date"),
    ],
)
def test_every_other_form_is_refused_naming_the_value_and_the_form(value, why):
    with pytest.raises(ParameterError) as info:
        parse_date(value, WHAT)
    message = str(info.value)
    assert message.startswith(f"{WHAT} must be a date written YYYY-MM-DD, e.g. 2025-09-30. Got {value!r} instead")
    assert why in message


def test_a_time_of_day_is_refused_where_a_date_has_none():
    assert parse_date("2025-09-30 14:05", WHAT) == pd.Timestamp("2025-09-30 14:05")
    with pytest.raises(SpecError, match="a date has no time of day here"):
        parse_date("2025-09-30 14:05", "The 'tranches.a.start' key", error=SpecError, time=False)


def test_a_declared_format_reads_its_dates_and_iso_ones_for_the_block_only():
    with date_format("%d/%m/%Y"):
        assert declared_format() == "%d/%m/%Y"
        assert parse_date("01/09/2025", WHAT) == pd.Timestamp("2025-09-01")
        assert parse_date("2025-09-01", WHAT) == pd.Timestamp("2025-09-01")
        with pytest.raises(ParameterError, match=r"or as declared \(%d/%m/%Y, e.g. 30/09/2025\)"):
            parse_date("09-01-2025", WHAT)
        dates, bad, rule = parse_dates(pd.Series(["01/09/2025", "2025-09-02", "1/9/25", None]))
        assert dates.dt.strftime("%Y-%m-%d").tolist()[:2] == ["2025-09-01", "2025-09-02"]
        assert bad.tolist() == [False, False, True, False] and "YYYY-MM-DD or %d/%m/%Y" in rule
    assert declared_format() is None
    with pytest.raises(ParameterError):
        parse_date("01/09/2025", WHAT)


@pytest.mark.parametrize("fmt", ["%d/%m/%y", "%m/%Y", "%Y-%m", "dd/mm/yyyy", 3])
def test_a_declared_format_must_have_a_four_digit_year_a_month_and_a_day(fmt):
    with pytest.raises(ParameterError, match="a four-digit year"):
        with date_format(fmt):
            pass


def test_a_column_is_read_as_every_table_reads_dates():
    values = pd.Series(["2024-01-05", "05/01/2024", "2024-01-05T10:30", None, "2024-13-01"])
    dates, bad, rule = parse_dates(values)
    assert bad.tolist() == [False, True, False, False, True] and rule == DATE_RULE
    assert parse_dates(pd.Series([20240105, 1]))[1].tolist() == [True, True]  # numbers are never dates
    zoned = pd.Series(pd.to_datetime(["2024-01-05 23:30"]).tz_localize("America/New_York"))
    assert parse_dates(zoned)[0].iloc[0] == pd.Timestamp("2024-01-05 23:30")


def test_proven_reoffending_and_measure_refuse_the_same_as_of():
    people, offences = DATA / "people.csv", DATA / "offences.csv"
    with pytest.raises(ParameterError) as api:
        proven_reoffending(people, offences, as_of="25-09-30")
    run = desist("measure", "--people", people, "--offences", offences, "--as-of", "25-09-30")
    one_message(run.stderr, "The '--as-of' option must be a date written YYYY-MM-DD", "its year has two digits")
    assert str(api.value).split(" must be ")[1] == run.stderr.split(" must be ")[1].strip()


def test_a_contract_date_written_as_text_is_read_by_the_same_parser(tmp_path):
    text = (ROOT / "examples" / "specs" / "doncaster.toml").read_text()
    (tmp_path / "text.toml").write_text(text.replace("start = 2023-01-01", 'start = "2023-01-01"'))
    assert Contract.from_toml(tmp_path / "text.toml").tranches[0].start == datetime.date(2023, 1, 1)
    (tmp_path / "dmy.toml").write_text(text.replace("start = 2023-01-01", 'start = "01/01/2023"'))
    words = "The 'tranches.h1_2023.start' key must be a date written YYYY-MM-DD, e.g. 2025-09-30. Got '01/01/2023'"
    with pytest.raises(SpecError, match=words):
        Contract.from_toml(tmp_path / "dmy.toml")
    one_message(desist("check", tmp_path / "dmy.toml").stderr, "dmy.toml", words)
    (tmp_path / "time.toml").write_text(text.replace("start = 2023-01-01", "start = 2023-01-01T09:00:00"))
    with pytest.raises(SpecError, match="a date has no time of day here"):
        Contract.from_toml(tmp_path / "time.toml")


def test_achievement_reads_its_as_of_with_the_same_parser():
    from outcomes import MetricSpec

    spec = MetricSpec.from_toml(ROOT / "examples" / "specs" / "intermediate.toml")
    people = pd.read_csv(DATA / "people.csv").head(5)
    with pytest.raises(ParameterError, match="The 'as_of' parameter of achievement must be a date written YYYY-MM-DD"):
        spec.achievement(people, pd.read_csv(DATA / "assessments.csv").head(50), as_of="31/12/2024")


def test_a_date_column_in_a_file_names_the_rule_the_rows_and_the_declaration(tmp_path):
    people = pd.read_csv(DATA / "people.csv", dtype=str).head(50)
    people.loc[2, "start_date"] = "03/02/2024"
    people.to_csv(tmp_path / "people.csv", index=False)
    run = desist("measure", "--people", tmp_path / "people.csv", "--offences", DATA / "offences.csv")
    one_message(run.stderr, "people.csv", f"start_date: {DATE_RULE}: 1 row: row 3 (03/02/2024)")
    with pytest.raises(SchemaError, match=r"row 3 \(03/02/2024\)"):
        proven_reoffending(tmp_path / "people.csv", DATA / "offences.csv")


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_a_column_of_dates_already_read_keeps_what_nanoseconds_hold_and_fails_the_rest(unit):
    # The ends of pandas' nanosecond range, written out (1677-09-21 00:12:43.145224193 to 2262-04-11
    # 23:47:16.854775807): a moment outside it cannot be held, fails as "not a date" and is read as missing.
    inside = ["1677-09-21T00:12:44", "1677-09-22", "2024-01-05", "2262-04-11T23:47:16"]
    outside = [] if unit == "ns" else ["1600-01-01", "1677-09-21T00:12:43", "2262-04-11T23:47:17", "2500-01-01"]
    given = pd.Series(
        np.array([*inside, "NaT", *outside], dtype=f"datetime64[{unit}]"), index=range(5, 10 + len(outside))
    )
    dates, bad, rule = parse_dates(given)
    assert str(dates.dtype) == "datetime64[ns]" and rule == DATE_RULE and dates.index.equals(given.index)
    assert dates.iloc[: len(inside)].tolist() == [pd.Timestamp(d) for d in inside]
    assert dates.iloc[len(inside) :].isna().all()
    assert bad.tolist() == [False] * (len(inside) + 1) + [True] * len(outside)
