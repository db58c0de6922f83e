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
from ground.reading import file_format
from ground.tables import ROWS_SHOWN, Links, report_links, schema_error, validate
from outcomes.engines import sql
from outcomes.engines.sql import OFFENCE_COLUMNS, Column

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
    """The file a table came from, for messages; None for a DataFrame."""
    return None if source is None or isinstance(source, pd.DataFrame) else str(source)


def located(source: str | Path) -> str | Path:
    """A local file as a Path; a URL (``s3://``, ``hdfs://``, ...) as given, for the engine to read."""
    return source if isinstance(source, str) and "://" in source else Path(source)


def file_kind(path: str | Path, table: str) -> str:
    """``"parquet"`` or ``"csv"``: the files a SQL engine reads (checked by :func:`ground.reading.file_format`)."""
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
    """{schema column: given column} for the people columns read, in the table's order."""
    wanted = {"person_id": "person_id", index: "start_date"}
    return {wanted[c]: c for c in columns if c in wanted}


def check_people(people: pd.DataFrame, settings: Settings, source: Any = None) -> pd.DataFrame:
    """People's person_id and index column, validated (ids as text, dates as dates)."""
    require_columns(people, settings.people_columns, table="people", source=source_name(source))
    return validate(
        people,
        "people",
        columns=people_columns(people.columns, settings.index),
        nullable=["start_date"],
        as_of=settings.checked_as_of,
        source=source_name(source),
    )


def check_offences(offences: pd.DataFrame, settings: Settings, source: Any = None) -> pd.DataFrame:
    """The four offence columns, validated (disposals as their known levels)."""
    require_columns(offences, list(OFFENCE_COLUMNS), table="offences", source=source_name(source))
    return validate(
        offences[[c for c in offences.columns if c in OFFENCE_COLUMNS]],
        "offences",
        columns=list(OFFENCE_COLUMNS),
        as_of=settings.checked_as_of,
        source=source_name(source),
    )


def check_view(runner: Any, table: str, settings: Settings, source: Path) -> dict[str, Column]:
    """Check a table an engine read from a file; return its columns as the engine typed them.

    Raises
    ------
    SchemaError
        As :func:`ground.tables.validate` would for the same table.
    """
    raw = f"{table}_raw"
    columns = runner.columns(raw)
    needed = ["person_id", settings.index] if table == "people" else list(OFFENCE_COLUMNS)
    require_columns(pd.DataFrame(columns=list(columns)), needed, table=table, source=str(source))
    if columns["person_id"].kind == "float":
        columns["person_id"] = Column("person_id", "float", whole=runner.whole(raw, "person_id"))
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
    (:func:`ground.tables.check_links`' words), for the staged views of a SQL engine."""
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
