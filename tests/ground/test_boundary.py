"""One boundary: the Python functions check a table as the command line does, and files never crash a reader.

The command line reads a file through ``ground.tables.validate``; a script hands
a DataFrame straight to a function. These tests give the functions what a file
would hold (words for flags, "Female", text ids, timezone-aware dates) and what
a hand-made file might (an [item] that is not a table), and expect the same
reading or one readable error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ground.errors import ParameterError, SchemaError, SpecError
from ground.tables import check_known_columns, check_links, validate
from outcomes.instruments import instrument_from_dict
from outcomes.tables import as_dates, unique_people

GOOD = {
    "name": "hope",
    "title": "Hope scale",
    "scoring": "sum",
    "items": ["a", "b"],
    "item_min": 0,
    "item_max": 3,
    "direction": "higher_is_better",
    "source": "made up for the test",
}


@pytest.mark.parametrize(
    "change, key",
    [
        ({"item": 3}, "item"),
        ({"item": {"a": 3}}, "item"),
        ({"item": {"a": {"states": "settled"}}}, "item.a.states"),
        ({"reversed": "a"}, "reversed"),
        ({"item": {"a": {"min": True, "max": 3}}}, "item.a"),
        ({"max_missing": True}, "max_missing"),
        ({"reliability": "high"}, "reliability"),
        ({"items": "ab"}, "items"),
    ],
)
def test_an_instrument_of_the_wrong_shape_is_a_spec_error_naming_the_key(change, key):
    with pytest.raises(SpecError) as info:
        instrument_from_dict({**GOOD, **change})
    assert info.value.key == key


def test_dates_are_read_as_the_schemas_read_them():
    aware = pd.Series(pd.to_datetime(["2024-01-05 23:30"]).tz_localize("Europe/London"))
    assert as_dates(aware, "offences", "offence_date").tolist() == [pd.Timestamp("2024-01-05 23:30")]
    assert as_dates(pd.Series(["2024-01-05", None]), "people", "start_date").isna().tolist() == [False, True]
    with pytest.raises(SchemaError, match=r"'offence_date' column of the 'offences' table must hold dates.*row 2"):
        as_dates(pd.Series(["2024-01-05", "05/01/2024"]), "offences", "offence_date")
    with pytest.raises(SchemaError, match=r"row 1 \(20240105\)"):
        as_dates(pd.Series([20240105]), "offences", "offence_date")  # a number is never a date


def test_ids_are_compared_as_text():
    with pytest.raises(SchemaError, match=r"share an id: row 1 \(7\), row 2 \('7'\)"):
        unique_people(pd.DataFrame({"person_id": [7, "7"]}))
    offences = pd.DataFrame({"person_id": ["1.0", "2.0"]})
    with pytest.raises(SchemaError, match=r"0 of 2 offences match a person_id in people.*'1\.0'.*'1'"):
        check_links(offences, pd.DataFrame({"person_id": [1, 2]}), table="offences", to_table="people")
    with pytest.raises(SchemaError, match=r"table 'people' is missing the column person_id"):
        check_links(offences, pd.DataFrame({"id": [1]}), table="offences", to_table="people")


def test_known_columns_are_typed_and_checked_with_gaps_allowed():
    frame = pd.DataFrame(
        {"sex": ["Female", None, " male"], "need_substance": ["1", None, "false"], "score": ["x", "y", "z"]}
    )
    typed = check_known_columns(frame, "people", ["sex", "need_substance", "score"])
    assert typed["sex"].tolist()[::2] == ["female", "male"] and pd.isna(typed["sex"].iloc[1])
    assert typed["need_substance"].tolist()[::2] == [1.0, 0.0] and np.isnan(typed["need_substance"].iloc[1])
    assert typed["score"].tolist() == ["x", "y", "z"]  # not a schema column: left alone
    with pytest.raises(SchemaError, match=r"(?s)table 'history' \(read as the people schema\).*row 2 \(maybe\)"):
        check_known_columns(
            frame.assign(need_substance=["1", "maybe", None]), "people", ["need_substance"], name="history"
        )
    with pytest.raises(SchemaError, match=r"need_substance: missing value"):
        validate(frame, "people", columns=["need_substance"])  # without missing=True a gap is an error
    with pytest.raises(ParameterError, match=r"'missing' parameter of validate must be False unless 'columns'"):
        validate(frame, "people", missing=True)


def test_validate_reads_timezone_aware_as_of_dates():
    people = pd.DataFrame({"person_id": ["1"], "start_date": ["2025-01-01"]})
    as_of = pd.Timestamp("2025-06-30", tz="UTC")
    assert len(validate(people, "people", columns=["person_id", "start_date"], as_of=as_of)) == 1
