"""The SQL engines check a people file as they stage it, and the offences as the event stage reads them."""

import pandas as pd
import pytest

from ground.errors import SchemaError
from outcomes import proven_reoffending
from outcomes.engines import DuckDB

OFFENCES = pd.DataFrame(
    {
        "person_id": ["a", "b", "z"],
        "offence_date": ["2024-03-01", "2024-04-01", "2024-04-01"],
        "disposal_date": ["2024-05-01", "2024-05-01", "2024-05-01"],
        "disposal": ["Conviction", "caution", "conviction"],
    }
)


def files(tmp_path, people, offences=OFFENCES, kind="csv"):
    paths = tmp_path / f"people.{kind}", tmp_path / f"offences.{kind}"
    for frame, path in zip((people, offences), paths):
        frame.to_csv(path, index=False) if kind == "csv" else frame.to_parquet(path)
    return paths


def errors(people, offences):
    """The messages DuckDB and pandas give for the same files (each must refuse them)."""
    out = []
    for engine in (DuckDB(threads=1), "pandas"):
        with pytest.raises(SchemaError) as raised:
            proven_reoffending(people, offences, as_of="2025-12-31", engine=engine)
        out.append(str(raised.value))
    return out


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_an_id_given_twice_in_a_people_file_is_refused_as_pandas_refuses_it(tmp_path, kind):
    people = pd.DataFrame({"person_id": ["a", "b", "7", "7.0"], "start_date": ["2024-01-01"] * 4})
    on_duckdb, on_pandas = errors(*files(tmp_path, people, kind=kind))
    assert on_duckdb == on_pandas
    assert "person_id: duplicate id (must be unique): 2 rows: row 3 (7), row 4 (7.0)" in on_duckdb


def test_offences_of_no_one_are_counted_by_the_event_stage(tmp_path):
    people = pd.DataFrame({"person_id": ["a", "b"], "start_date": ["2024-01-01", "2024-01-02"]})
    with pytest.warns(UserWarning, match="1 of 3 offences match no person_id in people \\(e.g. 'z'\\)"):
        r = proven_reoffending(*files(tmp_path, people), as_of="2025-12-31", engine=DuckDB(threads=1))
    assert (r.links.n, r.links.matched) == (3, 2)
    assert r.per_person["reoffences"].tolist() == [1, 1]


def test_a_bad_offence_row_is_found_by_the_event_stage_and_named(tmp_path):
    people = pd.DataFrame({"person_id": ["a", "b"], "start_date": ["2024-01-01", "2024-01-02"]})
    offences = OFFENCES.assign(disposal=["Conviction", "fined", "conviction"])
    on_duckdb, on_pandas = errors(*files(tmp_path, people, offences))
    assert on_duckdb == on_pandas and "row 2 (fined)" in on_duckdb
