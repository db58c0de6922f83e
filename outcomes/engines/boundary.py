"""The checks every engine applies to proven reoffending's two tables, with the same words.

People: ``person_id`` (present, unique) and the index date (a date when given;
a person without one is left out and counted). Offences: ``person_id``,
``offence_date``, ``disposal_date`` (not before the offence) and ``disposal`` (a
known level, however capitalised), none missing, no date after the as-of date.
Then the links: offences whose ``person_id`` is no one in people are left out
and counted (a warning); none matching is an error.

Tables given as DataFrames are checked by :func:`ground.tables.validate`
whatever the engine (they are in memory already); tables given as files are
checked by the engine that reads them (:func:`check_view`), one pass over each,
with the same rules and messages (failing rows are listed up to five per rule,
as pandas lists them, and counted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ground.checks import require_columns
from ground.errors import SchemaError
from ground.reading import TableSource, file_format
from ground.tables import ROWS_SHOWN, Links, report_links, schema_error, validate
from outcomes.engines import sql
from outcomes.engines.sql import OFFENCE_COLUMNS, RawColumn

TOO_RECENT = "follow-up and waiting period not elapsed by as_of"


@dataclass(frozen=True)
class Settings:
    """What the measure counts (the checked arguments of proven_reoffending)."""

    index: str
    follow_up_days: int
    waiting_days: int
    as_of: pd.Timestamp | None
    disposals: tuple[str, ...]
    counting: str

    @property
    def checked_as_of(self) -> pd.Timestamp:
        """The date no date may be after: ``as_of``, else today (as ground.tables checks)."""
        return pd.Timestamp.today().normalize() if self.as_of is None else self.as_of

    @property
    def no_index(self) -> str:
        return f"no {self.index}"

    @property
    def people_columns(self) -> dict[str, str]:
        """The people columns read, by the argument that names them."""
        return {"person_id": "person_id", "index": self.index}


def source_name(source: Any) -> str | None:
    """The file a table came from, for messages; None for a DataFrame.

    Parameters
    ----------
    source : DataFrame, str, Path or None
        A table as given to proven_reoffending.

    Examples
    --------
    >>> source_name(pd.DataFrame()), source_name(Path("people.csv"))
    (None, 'people.csv')
    """
    return None if source is None or isinstance(source, pd.DataFrame) else str(source)


def located(source: str | Path | TableSource) -> str | Path | TableSource:
    """A local file as a Path; a URL (``s3://``, ``hdfs://``, ...) or a mapped table as given, for the reader.

    Parameters
    ----------
    source : str or Path
        A file name or URL.

    Examples
    --------
    >>> located("s3://bucket/people.parquet"), located("people.parquet").suffix
    ('s3://bucket/people.parquet', '.parquet')
    """
    if isinstance(source, TableSource) or (isinstance(source, str) and "://" in source):
        return source
    return Path(source)


def file_kind(path: str | Path, table: str) -> str:
    """``"parquet"`` or ``"csv"``: the files a SQL engine reads (checked by :func:`ground.reading.file_format`).

    Parameters
    ----------
    path : str or Path
        The file (a local Path must exist) or a URL.
    table : str
        The table it holds, named in the error.

    Examples
    --------
    >>> file_kind("s3://bucket/people.parquet", "people")
    'parquet'
    >>> file_kind("s3://bucket/people.xlsx", "people")
    Traceback (most recent call last):
    ...
    ground.errors.SchemaError: s3://bucket/people.xlsx: the DuckDB and Spark engines read Parquet ...
    """
    kind = file_format(path, table)
    if kind == "Excel":
        raise SchemaError(
            f"{path}: the DuckDB and Spark engines read Parquet (.parquet, .pq) or CSV (.csv) files; measure an "
            "Excel file with the pandas engine.",
            table=table,
            source=str(path),
        )
    return kind.lower()


def people_columns(columns: Sequence[str], index: str) -> dict[str, str]:
    """{schema column: given column} for the people columns read, in the table's order.

    Parameters
    ----------
    columns : sequence of str
        The people table's columns.
    index : str
        The column holding the index date (the schema's ``start_date``).

    Examples
    --------
    >>> people_columns(["person_id", "age", "referred_on"], "referred_on")
    {'person_id': 'person_id', 'start_date': 'referred_on'}
    """
    wanted = {"person_id": "person_id", index: "start_date"}
    return {wanted[c]: c for c in columns if c in wanted}


def check_people(people: pd.DataFrame, settings: Settings, source: Any = None) -> pd.DataFrame:
    """People's person_id and index column, validated (ids as text, dates as dates).

    Parameters
    ----------
    people : pandas.DataFrame
        The people table.
    settings : Settings
        What the measure counts (its index column and as-of date).
    source : DataFrame, str or Path, optional
        Where the table came from, named in an error.

    Examples
    --------
    >>> settings = Settings(index="start_date", follow_up_days=365, waiting_days=182, as_of=pd.Timestamp("2025-12-31"),
    ...                     disposals=("conviction", "caution"), counting="offences")
    >>> checked = check_people(pd.DataFrame({"person_id": [7, 8], "start_date": ["2024-01-01", None]}), settings)
    >>> checked["person_id"].tolist(), checked["start_date"].isna().tolist()
    (['7', '8'], [False, True])
    """
    require_columns(people, settings.people_columns, table="people", source=source_name(source))
    return validate(
        people,
        "people",
        columns=people_columns(list(people.columns), settings.index),
        nullable=["start_date"],
        as_of=settings.checked_as_of,
        source=source_name(source),
    )


def check_offences(offences: pd.DataFrame, settings: Settings, source: Any = None) -> pd.DataFrame:
    """The four offence columns, validated (disposals as their known levels).

    Parameters
    ----------
    offences : pandas.DataFrame
        The offences table (other columns are left out).
    settings : Settings
        What the measure counts (its as-of date).
    source : DataFrame, str or Path, optional
        Where the table came from, named in an error.

    Examples
    --------
    >>> settings = Settings(index="start_date", follow_up_days=365, waiting_days=182, as_of=pd.Timestamp("2025-12-31"),
    ...                     disposals=("conviction", "caution"), counting="offences")
    >>> offences = pd.DataFrame({"person_id": ["a"], "offence_date": ["2024-03-01"], "disposal_date": ["2024-05-01"],
    ...                          "disposal": ["Conviction"], "court": ["Leeds"]})
    >>> checked = check_offences(offences, settings)
    >>> list(checked.columns), checked["disposal"].tolist()
    (['person_id', 'offence_date', 'disposal_date', 'disposal'], ['conviction'])
    """
    require_columns(offences, list(OFFENCE_COLUMNS), table="offences", source=source_name(source))
    return validate(
        offences[[c for c in offences.columns if c in OFFENCE_COLUMNS]],
        "offences",
        columns=list(OFFENCE_COLUMNS),
        as_of=settings.checked_as_of,
        source=source_name(source),
    )


def check_view(runner: Any, table: str, settings: Settings, source: str | Path | TableSource) -> dict[str, RawColumn]:
    """Check a table an engine read from a file; return its columns as the engine typed them.

    Parameters
    ----------
    runner : Runner
        The engine's runner, holding the table read as the view ``<table>_raw``.
    table : {"people", "offences"}
        The table.
    settings : Settings
        What the measure counts (its index column and as-of date).
    source : Path or TableSource
        The file, or the mapped table it was read from, named in an error.

    Raises
    ------
    SchemaError
        As :func:`ground.tables.validate` would for the same table.

    Examples
    --------
    >>> import tempfile
    >>> from outcomes.engines import DuckDB
    >>> settings = Settings(index="start_date", follow_up_days=365, waiting_days=182, as_of=pd.Timestamp("2025-12-31"),
    ...                     disposals=("conviction", "caution"), counting="offences")
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "people.csv"
    >>> _ = path.write_text("person_id,start_date\\na,2024-01-01\\nb,2024-13-01\\n", encoding="utf-8")
    >>> runner = DuckDB(threads=1).runner()
    >>> runner.load("people_raw", path)
    >>> check_view(runner, "people", settings, path)
    Traceback (most recent call last):
    ...
    ground.errors.SchemaError: ...people.csv: table 'people' fails 1 rule in 1 row ... row 2 (2024-13-01)...
    >>> runner.close()
    >>> folder.cleanup()
    """
    raw = f"{table}_raw"
    columns = runner.columns(raw)
    needed = ["person_id", settings.index] if table == "people" else list(OFFENCE_COLUMNS)
    require_columns(pd.DataFrame(columns=list(columns)), needed, table=table, source=str(source))
    if columns["person_id"].kind == "float":
        columns["person_id"] = RawColumn("person_id", "float", whole=runner.whole(raw, "person_id"))
    as_of = settings.checked_as_of
    if table == "people":
        order = list(people_columns(list(columns), settings.index).values())
        rules = sql.people_rules(columns["person_id"], columns[settings.index], as_of)
    else:
        order = [c for c in columns if c in OFFENCE_COLUMNS]
        rules = sql.offences_rules(columns, as_of)
    found = runner.fetch(sql.rule_counts_sql(raw, rules)).iloc[0]
    failing = [i for i in range(len(rules)) if found[f"n{i}"]]
    if failing:
        raise _failures(runner, raw, rules, failing, found, table, order, str(source))
    return columns


def _failures(runner: Any, raw: str, rules: list, failing: list[int], found: pd.Series, table: str, order, source):
    rows = []
    for i in failing:
        first = runner.fetch(sql.first_failures_sql(raw, rules, i, ROWS_SHOWN))
        values = [pd.Timestamp(v) if hasattr(v, "year") else v for v in first["value"]]
        rows.append(pd.DataFrame({"column": rules[i][0], "rule": rules[i][1], "row": first["_row"], "value": values}))
    failures = pd.concat(rows, ignore_index=True).astype({"row": "Int64"})
    counts = {(rules[i][0], rules[i][1]): int(found[f"n{i}"]) for i in failing}
    return schema_error(failures, table, order, source=source, counts=counts, n_rows=int(found["n_rows"]))


def link_views(runner: Any, source: Any) -> Links:
    """Offences whose person_id is no one in people: counted, a warning; none matching, an error
    (:func:`ground.tables.check_links`' words), for the staged views of a SQL engine.

    Parameters
    ----------
    runner : Runner
        The engine's runner, holding the views ``people_stage`` and ``offences_stage``.
    source : DataFrame, str, Path or None
        Where the offences came from, named in the warning or error.

    Examples
    --------
    >>> from outcomes.engines import DuckDB
    >>> runner = DuckDB(threads=1).runner()
    >>> runner.view("people_stage", "SELECT * FROM (VALUES (0, 'a'), (1, 'b')) AS t(_row, person_id)")
    >>> runner.view("offences_stage", "SELECT * FROM (VALUES (0, 'a'), (1, 'a')) AS t(_row, person_id)")
    >>> link_views(runner, None)
    Links(n=2, matched=2, unmatched=0)
    >>> runner.close()
    """
    runner.view("offence_ids", sql.linked_ids_sql("offences_stage", "people_stage"), keep=True)
    found = runner.fetch(sql.links_sql("offence_ids")).iloc[0]
    n, matched = (
        int(0 if pd.isna(found["n"]) else found["n"]),
        int(0 if pd.isna(found["matched"]) else found["matched"]),
    )
    links = Links(n=n, matched=matched, unmatched=n - matched)
    if not links.unmatched:
        return links
    return report_links(
        links,
        table="offences",
        to_table="people",
        source=source_name(source),
        unmatched_ids=list(runner.fetch(sql.first_ids_sql("offence_ids", "first_row", "NOT matched"))["person_id"]),
        known_ids=list(runner.fetch(sql.first_ids_sql("people_stage", "_row"))["person_id"]),
    )
