"""The checks every engine applies to proven reoffending's two tables, with the same words.

People: ``person_id`` (present, unique) and the index date (a date when given;
a person without one is left out and counted). Offences: ``person_id``,
``offence_date``, ``disposal_date`` (not before the offence) and ``disposal`` (a
known level, however capitalised), none missing, no date after the as-of date.
Then the links: offences whose ``person_id`` is no one in people are left out
and counted (a warning); none matching is an error.

Tables given as DataFrames are checked by :func:`ground.tables.validate`
whatever the engine (they are in memory already); tables given as files are
checked by the engine that reads them, with the same rules and messages
(failing rows are listed up to five per rule, as pandas lists them, and
counted): the people as they are staged (:func:`check_staged_people`), the
offences as the event stage reads them (:func:`links_of` reads its totals).
Only when some row fails is a table read again, to name the rows
(:func:`check_view`, :func:`raise_failures`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ground.checks import parameter_error, require_columns
from ground.dates import declared_format
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


def read_columns(runner: Any, table: str, settings: Settings, source: str | Path | TableSource) -> dict[str, RawColumn]:
    """The columns of a table an engine read from a file, as it typed them; those the measure reads must be there.

    Parameters
    ----------
    runner : Runner
        The engine's runner, holding the table read as the view ``<table>_raw``.
    table : {"people", "offences"}
        The table.
    settings : Settings
        What the measure counts (its index column).
    source : Path or str
        The file, named in an error.

    Examples
    --------
    >>> from outcomes.engines import DuckDB
    >>> settings = Settings(index="start_date", follow_up_days=365, waiting_days=182, as_of=pd.Timestamp("2025-12-31"),
    ...                     disposals=("conviction", "caution"), counting="offences")
    >>> runner = DuckDB(threads=1).runner()
    >>> runner.load("people_raw", pd.DataFrame({"person_id": [7.0, 8.0], "start_date": ["2024-01-01", None]}))
    >>> read_columns(runner, "people", settings, "people.csv")["person_id"]
    RawColumn(name='person_id', kind='float', zone=None, whole=True)
    >>> runner.close()
    """
    raw = f"{table}_raw"
    columns = runner.columns(raw)
    needed = ["person_id", settings.index] if table == "people" else list(OFFENCE_COLUMNS)
    require_columns(pd.DataFrame(columns=list(columns)), needed, table=table, source=str(source))
    return _ids_read(runner, raw, columns)


def load_file(
    runner: Any, engine: Any, table: str, source: str | Path | TableSource, needed: Sequence[str], caller: str
) -> dict[str, RawColumn]:
    """Read a file into the engine (the view ``<table>_raw``); its columns as the engine typed them, the ``needed``
    ones required (in :func:`ground.tables.validate`'s words), float ids read as whole numbers where they are.

    Parameters
    ----------
    runner : Runner
        Where the view is made.
    engine : DuckDB or Spark
        Named in an error, with ``caller``.
    table : str
        The table the file holds.
    source : str or Path
        A Parquet or CSV file.
    needed : sequence of str
        The columns the schema requires, in its order.
    caller : str
        The function named in an error.

    Examples
    --------
    Ids written as numbers with a decimal point, each whole:

    >>> import tempfile
    >>> from outcomes.engines import DuckDB
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "custody.parquet"
    ...     pd.DataFrame({"person_id": [7.0, 8.0], "start": ["2024-01-01", None]}).to_parquet(path)
    ...     runner = DuckDB(threads=1).runner()
    ...     found = load_file(runner, DuckDB(), "custody", path, ["person_id", "start"], "settle")
    ...     runner.close()
    >>> found["person_id"]
    RawColumn(name='person_id', kind='float', zone=None, whole=True)
    """
    refuse_declared_format(engine, source, caller)
    raw = f"{table}_raw"
    runner.load(raw, located(source))
    columns = runner.columns(raw)
    absent = [name for name in needed if name not in columns]
    if absent:
        failures = pd.DataFrame({"column": absent, "rule": "required column missing",
                                 "row": pd.array([None] * len(absent), dtype="Int64"), "value": None})  # fmt: skip
        raise schema_error(failures, table, list(columns), source=source_name(source))
    return _ids_read(runner, raw, columns)


def _ids_read(runner: Any, raw: str, columns: dict[str, RawColumn]) -> dict[str, RawColumn]:
    """``columns`` with float ids marked whole when every one is (then they are read as whole numbers' text)."""
    if columns["person_id"].kind == "float":
        columns["person_id"] = RawColumn("person_id", "float", whole=runner.whole(raw, "person_id"))
    return columns


def check_rows(
    runner: Any, table: str, rules: list[tuple[str, str, str]], failing: Any, source: Any, known: Sequence[str]
) -> None:
    """Raise what :func:`ground.tables.validate` would when ``failing`` (rows failing any check, as a stage counted
    them) is not 0: which rules fail, and the first rows of each, read in one more pass.

    Parameters
    ----------
    runner : Runner
        The engine's runner, holding ``<table>_raw``.
    table : str
        The table (offences, custody).
    rules : list of (column, rule, SQL flag)
        The checks its stage carries.
    failing : int or None
        Rows failing any check (None: no rows).
    source : DataFrame, str or Path
        The table as given, named in the error.
    known : sequence of str
        The schema's columns (the error lists them in the table's order).

    Examples
    --------
    >>> check_rows(None, "offences", [], 0, "offences.parquet", ["person_id"])
    """
    if pd.isna(failing) or not failing:
        return
    raw = f"{table}_raw"
    found = runner.fetch(sql.rule_counts_sql(raw, rules)).iloc[0]
    order = [c for c in runner.columns(raw) if c in known]
    raise_failures(runner, raw, rules, found, table, order, source_name(source))


def check_view(runner: Any, settings: Settings, source: Any) -> dict[str, RawColumn]:
    """Check a people table an engine read from a file (one pass); return its columns as the engine typed them.

    Parameters
    ----------
    runner : Runner
        The engine's runner, holding the table read as the view ``people_raw``.
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
    >>> check_view(runner, settings, path)
    Traceback (most recent call last):
    ...
    ground.errors.SchemaError: ...people.csv: table 'people' fails 1 rule in 1 row ... row 2 (2024-13-01)...
    >>> runner.close()
    >>> folder.cleanup()
    """
    columns = read_columns(runner, "people", settings, source)
    read = sql.with_duplicates("people_raw", columns["person_id"])
    rules = sql.people_rules(columns["person_id"], columns[settings.index], settings.checked_as_of)
    found = runner.fetch(sql.rule_counts_sql(read, rules)).iloc[0]
    order = list(people_columns(list(columns), settings.index).values())
    raise_failures(runner, read, rules, found, "people", order, str(source))
    return columns


def check_staged_people(runner: Any, settings: Settings, n_rules: int, source: Any) -> None:
    """Check the people of a file as staged (``people_stage`` with ``n_rules`` flags, no more reading); when any
    fails, :func:`check_view` reads them again for the rows to name, and raises.

    Parameters
    ----------
    runner : Runner
        The engine's runner, holding ``people_raw`` and ``people_stage``.
    settings : Settings
        What the measure counts (its index column and as-of date).
    n_rules : int
        The flags ``people_stage`` carries (:func:`outcomes.engines.sql.people_row_rules`).
    source : Path or str
        The file, named in an error.

    Examples
    --------
    >>> from outcomes.engines import DuckDB
    >>> settings = Settings(index="start_date", follow_up_days=365, waiting_days=182, as_of=pd.Timestamp("2025-12-31"),
    ...                     disposals=("conviction", "caution"), counting="offences")
    >>> runner = DuckDB(threads=1).runner()
    >>> runner.load("people_raw", pd.DataFrame({"person_id": ["a", "a"], "start_date": ["2024-01-01", "2024-01-02"]}))
    >>> runner.view("people_stage", "SELECT _row, person_id, FALSE AS f0 FROM people_raw")
    >>> check_staged_people(runner, settings, 1, "people.csv")
    Traceback (most recent call last):
    ...
    ground.errors.SchemaError: people.csv: table 'people' fails 1 rule in 2 rows ... duplicate id ...
    >>> runner.close()
    """
    found = runner.fetch(sql.people_problems_sql("people_stage", n_rules)).iloc[0]
    if whole_count(found["n_rows"]) or whole_count(found["shared"]):
        check_view(runner, settings, source)


def raise_failures(
    runner: Any, read: str, rules: list, found: pd.Series, table: str, order, source: str | None
) -> None:
    """Raise the SchemaError ``validate`` would give when any rule has failing rows (``found``: ``n<i>``, ``n_rows``).

    Parameters
    ----------
    runner : Runner
        The engine's runner.
    read : str
        The table as the rules read it (a view, or a query in brackets with an alias).
    rules : list of (column, rule, SQL flag)
        From :func:`outcomes.engines.sql.people_rules` or :func:`outcomes.engines.sql.offences_rules`.
    found : pandas.Series
        Rows failing each rule (``n0``, ``n1``, ...) and any (``n_rows``).
    table : {"people", "offences"}
        The table, named in the error.
    order : sequence of str
        The table's columns in its own order (the error lists them so).
    source : str
        The file, named in the error.

    Examples
    --------
    >>> raise_failures(None, "people_raw", [], pd.Series({"n_rows": 0}), "people", [], "people.csv")
    """
    counted = {i: whole_count(found[f"n{i}"]) for i in range(len(rules))}
    failing = [i for i, n in counted.items() if n]
    if not failing:
        return
    rows = []
    for i in failing:
        first = runner.fetch(sql.first_failures_sql(read, rules, i, ROWS_SHOWN))
        values = [pd.Timestamp(v) if hasattr(v, "year") else v for v in first["value"]]
        rows.append(pd.DataFrame({"column": rules[i][0], "rule": rules[i][1], "row": first["_row"], "value": values}))
    failures = pd.concat(rows, ignore_index=True).astype({"row": "Int64"})
    counts = {(rules[i][0], rules[i][1]): counted[i] for i in failing}
    raise schema_error(failures, table, order, source=source, counts=counts, n_rows=whole_count(found["n_rows"]))


def refuse_declared_format(engine: Any, source: Any, caller: str) -> None:
    """Refuse a file for a SQL engine when a date format other than YYYY-MM-DD was declared (pandas reads it).

    Parameters
    ----------
    engine : DuckDB or Spark
        The engine asked to read the file.
    source : str or Path
        The file.
    caller : str
        Named in the error.

    Examples
    --------
    >>> refuse_declared_format(None, "offences.parquet", "proven_reoffending")  # no format declared
    """
    if declared_format() is not None:
        raise parameter_error(
            "engine", caller, "the pandas engine for a file whose dates are not written YYYY-MM-DD "
            f"(the date format {declared_format()} was declared)", got=f"the {type(engine).__name__} engine for "
            f"{source}", advice="Measure it with the pandas engine, or write its dates YYYY-MM-DD.",
        )  # fmt: skip


def whole_count(value: Any) -> int:
    """A count from an engine: a sum over no rows is NULL, read as 0.

    Parameters
    ----------
    value : int, float or None
        The count as the engine gave it.

    Examples
    --------
    >>> whole_count(None), whole_count(3.0)
    (0, 3)
    """
    return int(0 if pd.isna(value) else value)


def links_of(runner: Any, totals: pd.Series, source: Any) -> Links:
    """Offences whose person_id is no one in people: counted, a warning; none matching, an error
    (:func:`ground.tables.check_links`' words), from the event stage's totals.

    Parameters
    ----------
    runner : Runner
        The engine's runner, holding the views ``people_stage`` and ``offence_tallies``
        (:func:`outcomes.engines.sql.tallies_sql`).
    totals : pandas.Series
        Offences (``n``) and those of someone in people (``matched``): :func:`outcomes.engines.sql.totals_sql`.
    source : DataFrame, str, Path or None
        Where the offences came from, named in the warning or error.

    Examples
    --------
    >>> links_of(None, pd.Series({"n": 2, "matched": 2}), None)
    Links(n=2, matched=2, unmatched=0)
    """
    n, matched = whole_count(totals["n"]), whole_count(totals["matched"])
    links = Links(n=n, matched=matched, unmatched=n - matched)
    if not links.unmatched:
        return links
    unmatched = sql.first_ids_sql("offence_tallies", "first_row", "person_row IS NULL", column="unmatched_id")
    return report_links(
        links,
        table="offences",
        to_table="people",
        source=source_name(source),
        unmatched_ids=list(runner.fetch(unmatched)["person_id"]),
        known_ids=list(runner.fetch(sql.first_ids_sql("people_stage", "_row"))["person_id"]),
    )
