"""Proven reoffending as SQL: the one definition that DuckDB and Spark run.

Written in DuckDB's dialect; the Spark runner transpiles it with sqlglot. Three
stages, each a query over the stage before:

1. **Staging** (:func:`stage_people`, :func:`stage_offences`): the raw tables,
   with ``_row`` (0-based position in the input), become ids as text (``7`` and
   ``7.0`` both ``"7"``, as :func:`ground.tables.validate` reads them), dates as
   whole days since 1970-01-01 (a time of day is dropped: the measure counts
   days) and disposals as their known levels (``"Conviction"`` is a conviction).
2. **Checks** (:func:`people_rules`, :func:`offences_rules`): one flag per
   rule of :mod:`ground.tables` for every row of a table read from a file, so
   the engine that reads it reports what pandas would (same rules, same words).
3. **The event stage** (:func:`per_person_sql`): offences proven by a listed
   disposal, committed on days 1..follow_up after the index date and proven by
   day follow_up + waiting, counted per person (offences, or distinct disposal
   dates: court appearances), with the first day; every person of the cohort
   kept, in input order, with whether they are observable and why not.

Day numbers keep the arithmetic plain integers, so the event stage reads the
same in every dialect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from ground.dates import DATE_RULE, DateLike, parse_date
from ground.dates import ISO_PATTERN as DATE_PATTERN
from ground.tables import DISPOSAL_LEVELS, WHOLE_DECIMAL

# ground.tables' words for each rule, so a SQL engine's message reads as pandas'.
CATEGORY_RULE = f"unknown category (allowed: {', '.join(DISPOSAL_LEVELS)})"
MISSING_RULE = "missing value"
DUPLICATE_RULE = "duplicate id (must be unique)"
BEFORE_OFFENCE_RULE = "before offence_date"

# The range of pandas' timestamps (the dates ground.dates accepts).
FIRST_TIME, LAST_TIME = "1677-09-21 00:12:43.145225", "2262-04-11 23:47:16.854775"

OFFENCE_COLUMNS = ("person_id", "offence_date", "disposal_date", "disposal")


@dataclass(frozen=True)
class RawColumn:
    """A raw column as the engine typed it: ``kind`` is text, integer, float, boolean, date,
    timestamp, timestamptz or other; ``zone`` the time zone of a timestamptz; ``whole`` whether
    every value of a float column is a whole number (ids read as 7.0 are "7")."""

    name: str
    kind: str
    zone: str | None = None
    whole: bool = False


def quoted(name: str) -> str:
    """A column name as a SQL identifier.

    Parameters
    ----------
    name : str
        The column's name as given (any characters).

    Examples
    --------
    >>> print(quoted('a "quoted" name'))
    "a ""quoted"" name"
    """
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A string as a SQL literal.

    Parameters
    ----------
    text : str
        The string.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> con.execute("SELECT " + literal("it's") + " AS x").fetchall()
    [("it's",)]
    """
    return "'" + text.replace("'", "''") + "'"


def id_text(column: RawColumn) -> str:
    """The id as text, as ``ground.tables`` reads ids (a float column of whole numbers loses its ``.0``, and so
    does a whole number written ``10.0`` in a text column).

    Parameters
    ----------
    column : RawColumn
        The id column as the engine typed it.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> ids = RawColumn("person_id", "float", whole=True)
    >>> con.execute(f"SELECT {id_text(ids)} FROM (SELECT 7.0 AS person_id)").fetchall()
    [('7',)]
    """
    name = quoted(column.name)
    if column.kind == "text":
        whole = f"REGEXP_MATCHES({name}, {literal(WHOLE_DECIMAL)})"
        return f"CASE WHEN {whole} THEN SPLIT_PART({name}, '.', 1) ELSE {name} END"
    if column.kind == "float" and column.whole:
        return f"CAST(CAST({name} AS BIGINT) AS VARCHAR)"
    if column.kind == "boolean":
        return f"CASE WHEN {name} THEN 'True' WHEN NOT {name} THEN 'False' END"
    return f"CAST({name} AS VARCHAR)"


def timestamp(column: RawColumn) -> str:
    """The column as a TIMESTAMP, NULL where missing or not a date (numbers never are).

    Parameters
    ----------
    column : RawColumn
        The date column as the engine typed it; text must be an ISO date (``YYYY-MM-DD``, a time allowed).

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> dates = pd.DataFrame({"d": ["2024-01-05", "05/01/2024", None]})
    >>> con.execute(f"SELECT {timestamp(RawColumn('d', 'text'))} FROM dates").fetchall()
    [(datetime.datetime(2024, 1, 5, 0, 0),), (None,), (None,)]
    """
    name = quoted(column.name)
    if column.kind == "text":
        text = f"TRIM({name})"
        parsed = f"TRY_CAST({text} AS TIMESTAMP)"
        return (
            f"CASE WHEN REGEXP_MATCHES({text}, {literal(DATE_PATTERN)}) "
            f"AND {parsed} BETWEEN TIMESTAMP '{FIRST_TIME}' AND TIMESTAMP '{LAST_TIME}' THEN {parsed} END"
        )
    if column.kind == "date":
        return f"CAST({name} AS TIMESTAMP)"
    if column.kind == "timestamp":
        return f"CAST({name} AS TIMESTAMP)"
    if column.kind == "timestamptz":
        # the wall-clock time where it was recorded, as pandas' tz_localize(None) keeps it
        return f"TIMEZONE({literal(column.zone or 'UTC')}, {name})"
    return "CAST(NULL AS TIMESTAMP)"


def day_number(expression: str) -> str:
    """Whole days from 1970-01-01 to the date of a TIMESTAMP expression.

    Parameters
    ----------
    expression : str
        SQL giving a TIMESTAMP (a time of day is dropped).

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> con.execute("SELECT " + day_number("TIMESTAMP '2024-01-01 10:30:00'")).fetchall()
    [(19723,)]
    """
    return f"DATE_DIFF('day', DATE '1970-01-01', CAST({expression} AS DATE))"


def disposal_level(column: RawColumn) -> str:
    """The disposal as a known level, spelled as ground.tables reads it, else NULL.

    Parameters
    ----------
    column : RawColumn
        The disposal column.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> disposals = pd.DataFrame({"disposal": ["Conviction", " caution ", "fine"]})
    >>> con.execute(f"SELECT {disposal_level(RawColumn('disposal', 'text'))} FROM disposals").fetchall()
    [('conviction',), ('caution',), (None,)]
    """
    respelled = f"LOWER(REGEXP_REPLACE(TRIM(CAST({quoted(column.name)} AS VARCHAR)), '[\\s-]+', '_', 'g'))"
    levels = ", ".join(map(literal, DISPOSAL_LEVELS))
    return f"CASE WHEN {respelled} IN ({levels}) THEN {respelled} END"


def stage_people(raw: str, person_id: RawColumn, index: RawColumn) -> str:
    """People as ``_row, person_id, index_day``.

    Parameters
    ----------
    raw : str
        The view of the people table as read, with ``_row``.
    person_id, index : RawColumn
        Its id column and its index date column.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> people_raw = pd.DataFrame({"_row": [0, 1], "person_id": [7.0, 8.0], "start_date": ["2024-01-01", "2024-02-01"]})
    >>> ids, dates = RawColumn("person_id", "float", whole=True), RawColumn("start_date", "text")
    >>> con.execute(stage_people("people_raw", ids, dates)).fetchall()
    [(0, '7', 19723), (1, '8', 19754)]
    """
    return f"SELECT _row, {id_text(person_id)} AS person_id, {day_number(timestamp(index))} AS index_day FROM {raw}"


def stage_offences(raw: str, columns: Mapping[str, RawColumn]) -> str:
    """Offences as ``_row, person_id, offence_day, disposal_day, disposal``.

    Parameters
    ----------
    raw : str
        The view of the offences table as read, with ``_row``.
    columns : mapping of str -> RawColumn
        The four columns of :data:`OFFENCE_COLUMNS` as the engine typed them.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> offences_raw = pd.DataFrame({"_row": [0], "person_id": ["7"], "offence_date": ["2024-03-01"],
    ...                              "disposal_date": ["2024-05-01"], "disposal": ["Conviction"]})
    >>> con.execute(stage_offences("offences_raw", {c: RawColumn(c, "text") for c in OFFENCE_COLUMNS})).fetchall()
    [(0, '7', 19783, 19844, 'conviction')]
    """
    return (
        f"SELECT _row, {id_text(columns['person_id'])} AS person_id, "
        f"{day_number(timestamp(columns['offence_date']))} AS offence_day, "
        f"{day_number(timestamp(columns['disposal_date']))} AS disposal_day, "
        f"{disposal_level(columns['disposal'])} AS disposal FROM {raw}"
    )


# ---------------------------------------------------------------- checks


def people_rules(person_id: RawColumn, index: RawColumn, as_of: DateLike) -> list[tuple[str, str, str]]:
    """(column, rule, SQL flag) for the people columns the measure reads, in ground.tables' order.

    Parameters
    ----------
    person_id, index : RawColumn
        The id column and the index date column.
    as_of : DateLike
        No index date may be after it.

    Examples
    --------
    >>> ids, starts = RawColumn("person_id", "text"), RawColumn("start_date", "text")
    >>> rules = people_rules(ids, starts, pd.Timestamp("2025-01-01"))
    >>> [rule for _, rule, _ in rules][1:]
    ['missing value', 'duplicate id (must be unique)', 'after the as-of date 2025-01-01']
    """
    day = parse_date(as_of, "The 'as_of' parameter of people_rules")
    pid, ts = quoted(person_id.name), timestamp(index)
    given = quoted(index.name)
    return [
        (index.name, DATE_RULE, f"{given} IS NOT NULL AND ({ts}) IS NULL"),
        (person_id.name, MISSING_RULE, f"{pid} IS NULL"),
        (
            person_id.name,
            DUPLICATE_RULE,
            f"{pid} IS NOT NULL AND COUNT(*) OVER (PARTITION BY {id_text(person_id)}) > 1",
        ),
        (index.name, _after(day), f"({ts}) > {_timestamp(day)}"),
    ]


def offences_rules(columns: Mapping[str, RawColumn], as_of: DateLike) -> list[tuple[str, str, str]]:
    """(column, rule, SQL flag) for the offence columns, in the order ground.tables finds them.

    Parameters
    ----------
    columns : mapping of str -> RawColumn
        The four columns of :data:`OFFENCE_COLUMNS`.
    as_of : DateLike
        No offence or disposal date may be after it.

    Examples
    --------
    >>> rules = offences_rules({c: RawColumn(c, "text") for c in OFFENCE_COLUMNS}, pd.Timestamp("2025-01-01"))
    >>> len(rules), rules[7][:2]
    (10, ('disposal_date', 'before offence_date'))
    """
    day = parse_date(as_of, "The 'as_of' parameter of offences_rules")
    ts = {name: timestamp(columns[name]) for name in ("offence_date", "disposal_date")}
    given = {name: quoted(columns[name].name) for name in OFFENCE_COLUMNS}
    unparsed = [(name, DATE_RULE, f"{given[name]} IS NOT NULL AND ({ts[name]}) IS NULL") for name in ts] + [
        (
            "disposal",
            CATEGORY_RULE,
            f"{given['disposal']} IS NOT NULL AND ({disposal_level(columns['disposal'])}) IS NULL",
        )
    ]
    missing = [(name, MISSING_RULE, f"{given[name]} IS NULL") for name in OFFENCE_COLUMNS]
    before = [("disposal_date", BEFORE_OFFENCE_RULE, f"({ts['disposal_date']}) < ({ts['offence_date']})")]
    future = [(name, _after(day), f"({ts[name]}) > {_timestamp(day)}") for name in ts]
    return unparsed + missing + before + future


def _after(as_of: pd.Timestamp) -> str:
    return f"after the as-of date {as_of:%Y-%m-%d}"


def _timestamp(value: pd.Timestamp) -> str:
    return f"TIMESTAMP '{value:%Y-%m-%d %H:%M:%S.%f}'"


def _with_flags(raw: str, rules: Sequence[tuple[str, str, str]]) -> str:
    flags = ", ".join(f"({flag}) AS f{i}" for i, (_, _, flag) in enumerate(rules))
    return f"SELECT *, {flags} FROM {raw}"


def rule_counts_sql(raw: str, rules: Sequence[tuple[str, str, str]]) -> str:
    """Rows failing each rule (``n0``, ``n1``, ...) and rows failing any (``n_rows``): one pass over the table.

    Parameters
    ----------
    raw : str
        The view of the table as read.
    rules : sequence of (column, rule, SQL flag)
        From :func:`people_rules` or :func:`offences_rules`.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> people_raw = pd.DataFrame({"_row": [0, 1, 2], "person_id": ["a", "a", None],
    ...                            "start_date": ["2024-01-01", "2026-01-01", "x"]})
    >>> ids, starts = RawColumn("person_id", "text"), RawColumn("start_date", "text")
    >>> rules = people_rules(ids, starts, pd.Timestamp("2025-01-01"))
    >>> con.execute(rule_counts_sql("people_raw", rules)).fetchall()
    [(1, 1, 2, 1, 3)]
    """
    sums = ", ".join(f"SUM(CASE WHEN f{i} THEN 1 ELSE 0 END) AS n{i}" for i in range(len(rules)))
    any_flag = " OR ".join(f"COALESCE(f{i}, FALSE)" for i in range(len(rules)))
    return f"SELECT {sums}, SUM(CASE WHEN {any_flag} THEN 1 ELSE 0 END) AS n_rows FROM ({_with_flags(raw, rules)}) AS t"


def first_failures_sql(raw: str, rules: Sequence[tuple[str, str, str]], rule: int, shown: int) -> str:
    """The first ``shown`` rows failing one rule: position and the value as given.

    Parameters
    ----------
    raw : str
        The view of the table as read.
    rules : sequence of (column, rule, SQL flag)
        From :func:`people_rules` or :func:`offences_rules`.
    rule : int
        The rule's position in ``rules``.
    shown : int
        Most rows returned.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> people_raw = pd.DataFrame({"_row": [0, 1], "person_id": ["a", "b"], "start_date": ["2024-01-01", "x"]})
    >>> ids, starts = RawColumn("person_id", "text"), RawColumn("start_date", "text")
    >>> rules = people_rules(ids, starts, pd.Timestamp("2025-01-01"))
    >>> con.execute(first_failures_sql("people_raw", rules, 0, 5)).fetchall()
    [(1, 'x')]
    """
    column = rules[rule][0]
    return (
        f"SELECT _row, {quoted(column)} AS value FROM ({_with_flags(raw, rules)}) AS t "
        f"WHERE f{rule} ORDER BY _row LIMIT {shown}"
    )


# ---------------------------------------------------------------- links


def linked_ids_sql(offences: str, people: str) -> str:
    """Each offence id once, with its offences, its first row and whether it is someone in people.

    Grouping first makes the join as small as the number of ids, not of offences.

    Parameters
    ----------
    offences, people : str
        The staged views (:func:`stage_offences`, :func:`stage_people`).

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> people = pd.DataFrame({"person_id": ["a", "b"]})
    >>> offences = pd.DataFrame({"_row": [0, 1, 2], "person_id": ["a", "a", "z"]})
    >>> con.execute(linked_ids_sql("offences", "people") + " ORDER BY first_row").fetchall()
    [('a', 2, 0, True), ('z', 1, 2, False)]
    """
    return (
        f"SELECT ids.person_id, ids.n, ids.first_row, p.person_id IS NOT NULL AS matched FROM "
        f"(SELECT person_id, COUNT(*) AS n, MIN(_row) AS first_row FROM {offences} GROUP BY person_id) AS ids "
        f"LEFT JOIN {people} AS p ON ids.person_id = p.person_id"
    )


def links_sql(linked: str) -> str:
    """Offences, and those whose person_id is in people, from :func:`linked_ids_sql`.

    Parameters
    ----------
    linked : str
        The view of :func:`linked_ids_sql`.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> people = pd.DataFrame({"person_id": ["a", "b"]})
    >>> offences = pd.DataFrame({"_row": [0, 1, 2], "person_id": ["a", "a", "z"]})
    >>> _ = con.execute("CREATE VIEW linked AS " + linked_ids_sql("offences", "people"))
    >>> con.execute(links_sql("linked")).fetchall()
    [(3, 2)]
    """
    return f"SELECT SUM(n) AS n, SUM(CASE WHEN matched THEN n ELSE 0 END) AS matched FROM {linked}"


def first_ids_sql(table: str, order: str, where: str = "TRUE", limit: int = 3) -> str:
    """The first ``limit`` ids of a table of distinct ids, in input order (``order``: its first row).

    Parameters
    ----------
    table : str
        A view with a ``person_id`` column.
    order : str
        The column holding each id's first row.
    where : str
        A SQL condition the ids must meet.
    limit : int
        Most ids returned.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> ids = pd.DataFrame({"person_id": ["c", "a", "b"], "first_row": [2, 0, 1]})
    >>> con.execute(first_ids_sql("ids", "first_row", limit=2)).fetchall()
    [('a',), ('b',)]
    """
    return f"SELECT person_id FROM {table} WHERE {where} ORDER BY {order} LIMIT {limit}"


# ---------------------------------------------------------------- the event stage


def per_person_sql(
    people: str,
    offences: str,
    *,
    follow_up_days: int,
    waiting_days: int,
    disposals: Sequence[str],
    counting: str,
    as_of_day: int | None,
    no_index_reason: str,
    too_recent_reason: str,
) -> str:
    """One row per person of ``people`` (in input order): person_id, index_day, observable, reason,
    reoffences (NULL when not observable) and days_to_first (NULL when none or not observable).

    Parameters
    ----------
    people, offences : str
        The staged views (:func:`stage_people`, :func:`stage_offences`).
    follow_up_days, waiting_days : int
        Offences committed on days 1..follow_up_days after the index date count when proven by
        follow_up_days + waiting_days.
    disposals : sequence of str
        The disposal levels that prove an offence.
    counting : {"offences", "court_appearances"}
        Count offences, or distinct disposal dates.
    as_of_day : int or None
        The as-of date as a day number: a person whose follow-up and waiting period end after it is not observable.
    no_index_reason, too_recent_reason : str
        The ``reason`` of a person without an index date, and of one too recent.

    Examples
    --------
    Two offences in the first year (days 27 and 37), proven on day 77; ``b`` has none:

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> people = pd.DataFrame({"_row": [0, 1], "person_id": ["a", "b"], "index_day": [19723, 19724]})
    >>> offences = pd.DataFrame({"_row": [0, 1], "person_id": ["a", "a"], "offence_day": [19750, 19760],
    ...                          "disposal_day": [19800, 19800], "disposal": ["conviction", "conviction"]})
    >>> query = per_person_sql("people", "offences", follow_up_days=365, waiting_days=182, disposals=["conviction"],
    ...                        counting="offences", as_of_day=None, no_index_reason="", too_recent_reason="")
    >>> con.execute(query).fetchall()
    [(0, 'a', 19723, True, '', 2, 27), (1, 'b', 19724, True, '', 0, None)]
    """
    proof_by = follow_up_days + waiting_days
    tally = "COUNT(*)" if counting == "offences" else "COUNT(DISTINCT e.disposal_day)"
    too_recent = "FALSE" if as_of_day is None else f"p.index_day + {proof_by} > {as_of_day}"
    observable = f"(p.index_day IS NOT NULL AND NOT ({too_recent}))"
    return f"""
WITH events AS (
    SELECT p.person_id, p.index_day, o.offence_day, o.disposal_day
    FROM {offences} AS o JOIN {people} AS p ON o.person_id = p.person_id
    WHERE o.disposal IN ({", ".join(map(literal, disposals))})
      AND o.offence_day > p.index_day
      AND o.offence_day <= p.index_day + {follow_up_days}
      AND o.disposal_day <= p.index_day + {proof_by}
), tally AS (
    SELECT e.person_id, {tally} AS n, MIN(e.offence_day - e.index_day) AS first_day
    FROM events AS e GROUP BY e.person_id
)
SELECT p._row, p.person_id, p.index_day,
    {observable} AS observable,
    CASE WHEN p.index_day IS NULL THEN {literal(no_index_reason)}
         WHEN {too_recent} THEN {literal(too_recent_reason)} ELSE '' END AS reason,
    CASE WHEN {observable} THEN COALESCE(t.n, 0) END AS reoffences,
    CASE WHEN {observable} THEN t.first_day END AS days_to_first
FROM {people} AS p LEFT JOIN tally AS t ON p.person_id = t.person_id
ORDER BY p._row
"""
