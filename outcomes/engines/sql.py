"""Proven reoffending as SQL: the one definition that DuckDB and Spark run.

Written in DuckDB's dialect; the Spark runner transpiles it with sqlglot. The
stages, each a query over the one before:

1. **Staging** (:func:`stage_people`, :func:`stage_offences`): the raw tables,
   with ``_row`` (0-based position in the input), become ids as text (``7`` and
   ``7.0`` both ``"7"``, as :func:`ground.tables.validate` reads them), dates as
   whole days since 1970-01-01 (a time of day is dropped: the measure counts
   days) and disposals as whether they prove an offence (read as their known
   levels: ``"Conviction"`` is a conviction). The people are kept as a table
   (read once); the offences are read once, by the event stage.
2. **Checks** (:func:`people_rules`, :func:`offences_rules`): one flag per
   rule of :mod:`ground.tables` for every row of a table read from a file, so
   the engine that reads it reports what pandas would (same rules, same words).
   The people's flags are counted in a pass of their own; the offences' are
   counted by the event stage as it reads them (no pass of their own).
3. **The event stage** (:func:`tallies_sql`): each offence joined to its
   person, and per person the offences proven by a listed disposal, committed
   on days 1..follow_up after the index date and proven by day follow_up +
   waiting (offences, or distinct disposal dates: court appearances), with the
   first day; offences of no one are grouped by their id, and the other
   offences of someone in one group, so the links and the checks' counts come
   from the same pass (:func:`totals_sql`) while only reoffenders get a group.
4. **Per person** (:func:`per_person_sql`): every person of the cohort, in
   input order, with the tallies and whether they are observable and why not.

A settlement (:mod:`pricing.settlement_engine`) measures each tranche at its own
date: its offences are staged with the day they are on record (:func:`known_day`),
counted once for the settlement's exclusions (:func:`on_record_sql`), then per
person and date measured (:func:`dated_tallies_sql`, the same event as step 3)
before step 4.

The disposals' levels are read from the distinct values of the column
(:func:`levels_sql`), not row by row: a row is then compared with the
few spellings that prove. Day numbers keep the arithmetic plain integers, so
the event stage reads the same in every dialect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from ground.dates import DATE_RULE, DateLike, parse_date
from ground.dates import ISO_PATTERN as DATE_PATTERN
from ground.tables import DISPOSAL_LEVELS, WHOLE_DECIMAL

# ground.tables' words for each rule, so a SQL engine's message reads as pandas'.
MISSING_RULE = "missing value"
DUPLICATE_RULE = "duplicate id (must be unique)"

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
        # The pattern is tried only on ids holding ".0": a LIKE is much cheaper than a regular expression.
        unpointed = f"CASE WHEN {whole} THEN SPLIT_PART({name}, '.', 1) ELSE {name} END"
        return f"CASE WHEN {name} LIKE '%.0%' THEN {unpointed} ELSE {name} END"
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


def known_level(column: RawColumn, levels: Sequence[str] = DISPOSAL_LEVELS) -> str:
    """The value as a known level (a disposal, or a custody kind), spelled as ground.tables reads it, else NULL.

    Parameters
    ----------
    column : RawColumn
        The column of levels.
    levels : sequence of str
        The known levels (default: the disposals').

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> disposals = pd.DataFrame({"disposal": ["Conviction", " caution ", "fine"]})
    >>> con.execute(f"SELECT {known_level(RawColumn('disposal', 'text'))} FROM disposals").fetchall()
    [('conviction',), ('caution',), (None,)]
    """
    respelled = f"LOWER(REGEXP_REPLACE(TRIM(CAST({quoted(column.name)} AS VARCHAR)), '[\\s-]+', '_', 'g'))"
    return f"CASE WHEN {one_of(respelled, levels)} THEN {respelled} END"


def stage_people(raw: str, person_id: RawColumn, index: RawColumn, rules: Sequence = ()) -> str:
    """People as ``_row, person_id, index_day``, and a flag ``f<i>`` per rule.

    Parameters
    ----------
    raw : str
        The view of the people table as read, with ``_row``.
    person_id, index : RawColumn
        Its id column and its index date column.
    rules : sequence of (column, rule, SQL flag)
        From :func:`people_row_rules`: each becomes a column ``f0``, ``f1``, ...

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> people_raw = pd.DataFrame({"_row": [0, 1], "person_id": [7.0, 8.0], "start_date": ["2024-01-01", "2024-02-01"]})
    >>> ids, dates = RawColumn("person_id", "float", whole=True), RawColumn("start_date", "text")
    >>> con.execute(stage_people("people_raw", ids, dates)).fetchall()
    [(0, '7', 19723), (1, '8', 19754)]
    """
    flags = "".join(f", ({flag}) AS f{i}" for i, (_, _, flag) in enumerate(rules))
    return (
        f"SELECT _row, {id_text(person_id)} AS person_id, {day_number(timestamp(index))} AS index_day{flags} FROM {raw}"
    )


def people_problems_sql(stage: str, n_rules: int) -> str:
    """People failing any per-row rule (``n_rows``) and ids given to more than one row (``shared``).

    Parameters
    ----------
    stage : str
        The staged people (:func:`stage_people` with ``n_rules`` flags).
    n_rules : int
        How many flags it carries.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> stage = pd.DataFrame({"person_id": ["a", "a", "b"], "f0": [False, False, True]})
    >>> con.execute(people_problems_sql("stage", 1)).fetchall()
    [(1, 1)]
    """
    failing = " OR ".join(f"COALESCE(f{i}, FALSE)" for i in range(n_rules)) or "FALSE"
    shared = f"SELECT person_id FROM {stage} GROUP BY person_id HAVING COUNT(*) > 1"
    return (
        f"SELECT (SELECT COUNT(*) FROM {stage} WHERE {failing}) AS n_rows, "
        f"(SELECT COUNT(*) FROM ({shared}) AS d) AS shared"
    )


def as_text(column: RawColumn) -> str:
    """The column's values as text (as :func:`known_level` reads them).

    Parameters
    ----------
    column : RawColumn
        Any column.

    Examples
    --------
    >>> as_text(RawColumn("disposal", "text")), as_text(RawColumn("disposal", "integer"))
    ('"disposal"', 'CAST("disposal" AS VARCHAR)')
    """
    return quoted(column.name) if column.kind == "text" else f"CAST({quoted(column.name)} AS VARCHAR)"


def one_of(expression: str, values: Sequence[str]) -> str:
    """SQL true when ``expression`` is one of ``values`` (FALSE for none; NULL stays NULL).

    Parameters
    ----------
    expression : str
        SQL giving text.
    values : sequence of str
        The values sought.

    Examples
    --------
    >>> print(one_of('"disposal"', ["conviction", "Caution"]), one_of('"disposal"', []))
    "disposal" IN ('conviction', 'Caution') FALSE
    """
    return f"{expression} IN ({', '.join(map(literal, values))})" if values else "FALSE"


def levels_sql(raw: str, column: RawColumn, levels: Sequence[str] = DISPOSAL_LEVELS) -> str:
    """Each distinct value as written (``written``) and its known level (``level``, NULL if none).

    The levels are read once per distinct spelling; rows are then compared with the spellings.

    Parameters
    ----------
    raw : str
        The view of the table as read.
    column : RawColumn
        Its column of levels (the offences' disposal, the custody's kind).
    levels : sequence of str
        The known levels (default: the disposals').

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> raw = pd.DataFrame({"disposal": ["Conviction", "conviction", " caution ", "fine"]})
    >>> sorted(con.execute(levels_sql("raw", RawColumn("disposal", "text"))).fetchall())
    [(' caution ', 'caution'), ('Conviction', 'conviction'), ('conviction', 'conviction'), ('fine', None)]
    """
    written = RawColumn("written", "text")
    return (
        f"SELECT written, {known_level(written, levels)} AS level FROM "
        f"(SELECT DISTINCT {as_text(column)} AS written FROM {raw}) AS t WHERE written IS NOT NULL"
    )


def stage_offences(
    raw: str, columns: Mapping[str, RawColumn], proving: Sequence[str], rules: Sequence = (), known: bool = False
) -> str:
    """Offences as ``_row, person_id, offence_day, disposal_day, proves`` and a flag ``f<i>`` per rule
    (and ``known_day`` with ``known``).

    Parameters
    ----------
    raw : str
        The view of the offences table as read, with ``_row``.
    columns : mapping of str -> RawColumn
        The four columns of :data:`OFFENCE_COLUMNS` as the engine typed them.
    proving : sequence of str
        The disposals, as written in the table, that prove an offence (:func:`levels_sql`).
    rules : sequence of (column, rule, SQL flag)
        From :func:`offences_rules`: each becomes a column ``f0``, ``f1``, ...
    known : bool
        Add ``known_day``: the first day on which both dates are on record (:func:`known_day`).

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> offences_raw = pd.DataFrame({"_row": [0], "person_id": ["7"], "offence_date": ["2024-03-01"],
    ...                              "disposal_date": ["2024-05-01"], "disposal": ["Conviction"]})
    >>> columns = {c: RawColumn(c, "text") for c in OFFENCE_COLUMNS}
    >>> con.execute(stage_offences("offences_raw", columns, ["Conviction"])).fetchall()
    [(0, '7', 19783, 19844, True)]
    """
    flags = "".join(f", ({flag}) AS f{i}" for i, (_, _, flag) in enumerate(rules))
    return (
        f"SELECT _row, {id_text(columns['person_id'])} AS person_id, "
        f"{day_number(timestamp(columns['offence_date']))} AS offence_day, "
        f"{day_number(timestamp(columns['disposal_date']))} AS disposal_day, "
        f"COALESCE({one_of(as_text(columns['disposal']), proving)}, FALSE) AS proves"
        f"{', ' + known_day(columns) + ' AS known_day' if known else ''}{flags} FROM {raw}"
    )


def known_day(columns: Mapping[str, RawColumn]) -> str:
    """The first day (a day number) on which an offence and its disposal are both on record: the later of the two
    dates, and the day after it when it holds a time of day (an event at 10:00 is not on record at midnight).

    An offence is on record by a date when neither of its dates is after that date's midnight, as
    ``pricing.settle`` compares them: ``known_day <= `` the date's day number.

    Parameters
    ----------
    columns : mapping of str -> RawColumn
        The offences' ``offence_date`` and ``disposal_date`` as the engine typed them.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> raw = pd.DataFrame({"offence_date": ["2024-01-01"], "disposal_date": ["2024-01-02 10:00"]})
    >>> columns = {c: RawColumn(c, "text") for c in raw}
    >>> con.execute(f"SELECT {known_day(columns)} FROM raw").fetchall()  # 2024-01-02 is day 19724
    [(19725,)]
    """
    return f"GREATEST({on_record_day(columns['offence_date'])}, {on_record_day(columns['disposal_date'])})"


def on_record_day(column: RawColumn) -> str:
    """The first day (a day number) on which a date is on record: its day, and the day after when it holds a time
    of day (an event at 10:00 is not on record at that date's midnight, as ``pricing.settle`` compares dates).

    Parameters
    ----------
    column : RawColumn
        A date column as the engine typed it.

    Examples
    --------
    A stay begun at midnight on 2 January 2024 (day 19724) is on record that day; one begun at 10:00, the next:

    >>> import duckdb
    >>> raw = pd.DataFrame({"start": ["2024-01-02", "2024-01-02 10:00"]})
    >>> duckdb.sql(f"SELECT {on_record_day(RawColumn('start', 'text'))} FROM raw").fetchall()
    [(19724,), (19725,)]
    """
    day = day_number(timestamp(column))
    if column.kind == "date":  # a date has no time of day
        return day
    at = timestamp(column)
    return f"({day} + CASE WHEN {at} > CAST(CAST({at} AS DATE) AS TIMESTAMP) THEN 1 ELSE 0 END)"


# ---------------------------------------------------------------- checks


def with_duplicates(raw: str, person_id: RawColumn) -> str:
    """The people as read, with ``_duplicate``: whether another row has the same id (read as text).

    The ids seen twice are found by grouping (a hash table of the ids), not by a window over every row.

    Parameters
    ----------
    raw : str
        The view of the people table as read.
    person_id : RawColumn
        Its id column.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> raw = pd.DataFrame({"_row": [0, 1, 2], "person_id": ["7", "7.0", "8"]})
    >>> read = with_duplicates("raw", RawColumn("person_id", "text"))
    >>> con.execute(f"SELECT _row, _duplicate FROM {read} ORDER BY _row").fetchall()
    [(0, True), (1, True), (2, False)]
    """
    ids = id_text(person_id)
    twice = f"SELECT {ids} AS _id FROM {raw} GROUP BY {ids} HAVING COUNT(*) > 1"
    return (
        f"(SELECT r.*, d._id IS NOT NULL AS _duplicate FROM {raw} AS r LEFT JOIN ({twice}) AS d ON {ids} = d._id) "
        "AS people_read"
    )


def people_row_rules(person_id: RawColumn, index: RawColumn, as_of: DateLike) -> list[tuple[str, str, str]]:
    """(column, rule, SQL flag) for the rules a people row breaks on its own (all but duplicate ids).

    Parameters
    ----------
    person_id, index : RawColumn
        The id column and the index date column.
    as_of : DateLike
        No index date may be after it.

    Examples
    --------
    >>> ids, starts = RawColumn("person_id", "text"), RawColumn("start_date", "text")
    >>> rules = people_row_rules(ids, starts, pd.Timestamp("2025-01-01"))
    >>> [rule for _, rule, _ in rules][1:]
    ['missing value', 'after the as-of date 2025-01-01']
    """
    day = parse_date(as_of, "The 'as_of' parameter of people_row_rules")
    ts, given = timestamp(index), quoted(index.name)
    return [
        (index.name, DATE_RULE, f"{given} IS NOT NULL AND ({ts}) IS NULL"),
        (person_id.name, MISSING_RULE, f"{quoted(person_id.name)} IS NULL"),
        (index.name, _after(day), f"({ts}) > {_timestamp(day)}"),
    ]


def people_rules(person_id: RawColumn, index: RawColumn, as_of: DateLike) -> list[tuple[str, str, str]]:
    """(column, rule, SQL flag) for the people columns the measure reads, in ground.tables' order.

    The flags read the people :func:`with_duplicates` gives (``_duplicate``).

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
    unparsed, missing, after = people_row_rules(person_id, index, as_of)
    return [unparsed, missing, (person_id.name, DUPLICATE_RULE, "_duplicate"), after]


def offences_rules(
    columns: Mapping[str, RawColumn], as_of: DateLike, unknown: Sequence[str] | None = None
) -> list[tuple[str, str, str]]:
    """(column, rule, SQL flag) for the offence columns, in the order ground.tables finds them.

    Parameters
    ----------
    columns : mapping of str -> RawColumn
        The four columns of :data:`OFFENCE_COLUMNS`.
    as_of : DateLike
        No offence or disposal date may be after it.
    unknown : sequence of str, optional
        Every disposal, as written, that is no known level (:func:`levels_sql` reads each distinct one):
        a row is compared with them, and with none the rule cannot fail (no row is read for it). Default: each
        row's disposal is read as a level.

    Examples
    --------
    >>> rules = offences_rules({c: RawColumn(c, "text") for c in OFFENCE_COLUMNS}, pd.Timestamp("2025-01-01"))
    >>> len(rules), rules[7][:2]
    (10, ('disposal_date', 'before offence_date'))
    """
    return event_rules(
        columns, as_of, dates=("offence_date", "disposal_date"), levels=("disposal", DISPOSAL_LEVELS, unknown),
        required=OFFENCE_COLUMNS, before=("disposal_date", "offence_date"),
    )  # fmt: skip


def event_rules(
    columns: Mapping[str, RawColumn],
    as_of: DateLike,
    *,
    dates: Sequence[str],
    levels: tuple[str, Sequence[str], Sequence[str] | None],
    required: Sequence[str],
    before: tuple[str, str],
) -> list[tuple[str, str, str]]:
    """(column, rule, SQL flag) for a table of events (offences, stays in custody), in the order ground.tables
    finds them: dates that are no date and a value that is no known level, missing values, a date before the one
    it follows, dates after the as-of date.

    Parameters
    ----------
    columns : mapping of str -> RawColumn
        The table's columns as the engine typed them.
    as_of : DateLike
        No date may be after it.
    dates : sequence of str
        The date columns, in the schema's order.
    levels : (column, known levels, unknown)
        The column of levels, its levels, and every value as written that is no known level (:func:`levels_sql`),
        or None to read each row's as a level.
    required : sequence of str
        The columns that may not be missing, in the schema's order.
    before : (column, column)
        A date, and the date it may not come before.

    Examples
    --------
    >>> columns = {c: RawColumn(c, "text") for c in ("person_id", "start", "end", "kind")}
    >>> rules = event_rules(columns, "2025-01-01", dates=("start", "end"), levels=("kind", ("remand",), None),
    ...                     required=("person_id", "start", "kind"), before=("end", "start"))
    >>> [rule[:2] for rule in rules][2:4]
    [('kind', 'unknown category (allowed: remand)'), ('person_id', 'missing value')]
    """
    day = parse_date(as_of, "The 'as_of' parameter of event_rules")
    ts = {name: timestamp(columns[name]) for name in dates}
    given = {name: quoted(columns[name].name) for name in {*required, *dates}}
    name, known, unknown = levels
    level = columns[name]
    level_unknown = f"({known_level(level, known)}) IS NULL" if unknown is None else one_of(as_text(level), unknown)
    unparsed = [(date, DATE_RULE, f"{given[date]} IS NOT NULL AND ({ts[date]}) IS NULL") for date in dates] + [
        (name, category_rule(known), f"{quoted(level.name)} IS NOT NULL AND {level_unknown}")
    ]
    missing = [(column, MISSING_RULE, f"{given[column]} IS NULL") for column in required]
    later, earlier = before
    order = [(later, f"before {earlier}", f"({ts[later]}) < ({ts[earlier]})")]
    future = [(date, _after(day), f"({ts[date]}) > {_timestamp(day)}") for date in dates]
    return unparsed + missing + order + future


def category_rule(levels: Sequence[str]) -> str:
    """ground.tables' words for a value that is no known level.

    Parameters
    ----------
    levels : sequence of str
        The known levels.

    Examples
    --------
    >>> category_rule(("remand", "sentenced"))
    'unknown category (allowed: remand, sentenced)'
    """
    return f"unknown category (allowed: {', '.join(levels)})"


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
        The view of the table as read (for people, :func:`with_duplicates` of it).
    rules : sequence of (column, rule, SQL flag)
        From :func:`people_rules` or :func:`offences_rules`.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> people_raw = pd.DataFrame({"_row": [0, 1, 2], "person_id": ["a", "a", None],
    ...                            "start_date": ["2024-01-01", "2026-01-01", "x"]})
    >>> ids = RawColumn("person_id", "text")
    >>> rules = people_rules(ids, RawColumn("start_date", "text"), pd.Timestamp("2025-01-01"))
    >>> con.execute(rule_counts_sql(with_duplicates("people_raw", ids), rules)).fetchall()
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
    >>> ids = RawColumn("person_id", "text")
    >>> rules = people_rules(ids, RawColumn("start_date", "text"), pd.Timestamp("2025-01-01"))
    >>> con.execute(first_failures_sql(with_duplicates("people_raw", ids), rules, 0, 5)).fetchall()
    [(1, 'x')]
    """
    column = rules[rule][0]
    return (
        f"SELECT _row, {quoted(column)} AS value FROM ({_with_flags(raw, rules)}) AS t "
        f"WHERE f{rule} ORDER BY _row LIMIT {shown}"
    )


# ---------------------------------------------------------------- the event stage


def tallies_sql(
    offences: str,
    people: str,
    *,
    follow_up_days: int,
    waiting_days: int,
    counting: str,
    n_rules: int = 0,
) -> str:
    """The offences read once, grouped: per person with a reoffence (``person_row``, their ``_row`` in people), the
    reoffences (``n``) and the first one's day; per id of no one (``unmatched_id``), its first row; and the
    offences of someone that are no reoffence of theirs together (``person_row`` -1, no one's row). Each group has
    its offences and the rows failing any check (``n_rows``); ``n`` and the first day are read in a person's
    group only.

    Only the reoffenders get a group of their own: most offences are no reoffence of their person, and one
    group for all of those keeps the grouping small (a group per person outgrows a memory limit at national
    size and spills to disk).

    Parameters
    ----------
    offences : str
        The staged offences (:func:`stage_offences`, with ``n_rules`` flags).
    people : str
        The staged people (:func:`stage_people`).
    follow_up_days, waiting_days : int
        Offences committed on days 1..follow_up_days after the index date count when proven by
        follow_up_days + waiting_days.
    counting : {"offences", "court_appearances"}
        Count offences, or distinct disposal dates.
    n_rules : int
        How many check flags the staged offences carry.

    Examples
    --------
    Two offences of ``a`` in the first year (days 27 and 37), proven on day 77, and one after it; one of ``z``, who is
    no one:

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> people = pd.DataFrame({"_row": [0, 1], "person_id": ["a", "b"], "index_day": [19723, 19724]})
    >>> offences = pd.DataFrame({"_row": [0, 1, 2, 3], "person_id": ["a", "a", "z", "a"], "proves": True,
    ...                          "offence_day": [19750, 19760, 19760, 20200], "disposal_day": [19800] * 3 + [20250]})
    >>> query = tallies_sql("offences", "people", follow_up_days=365, waiting_days=182, counting="offences")
    >>> con.execute(query + " ORDER BY first_row").fetchall()
    [(0, None, 2, 0, 2, 27, 0), (None, 'z', 1, 2, 1, None, 0), (-1, None, 1, 3, 1, 477, 0)]
    """
    event = _event(follow_up_days, waiting_days)
    person = f"CASE WHEN p._row IS NULL THEN NULL WHEN {event} THEN p._row ELSE -1 END"
    unmatched = "CASE WHEN p._row IS NULL THEN o.person_id END"
    # Only the rows failing any check are counted here (one column, not one per rule: which rules fail is
    # asked only when some row does). COUNT, not SUM: a whole number on every engine.
    failing = " OR ".join(f"COALESCE(o.f{i}, FALSE)" for i in range(n_rules)) or "FALSE"
    return (
        f"SELECT {person} AS person_row, {unmatched} AS unmatched_id, COUNT(*) AS offences, MIN(o._row) AS first_row, "
        f"{_tally(counting)} AS n, MIN(o.offence_day - p.index_day) AS first_day, "
        f"COUNT(CASE WHEN {failing} THEN 1 END) AS n_rows "
        f"FROM {offences} AS o LEFT JOIN {people} AS p ON o.person_id = p.person_id "
        f"GROUP BY {person}, {unmatched}"
    )


def _event(follow_up_days: int, waiting_days: int, known: bool = False) -> str:
    """When an offence ``o`` is a proven reoffence of the person ``p`` (on record by ``p.cut_day`` with ``known``)."""
    proof_by = follow_up_days + waiting_days
    return (
        f"o.proves AND o.offence_day > p.index_day AND o.offence_day <= p.index_day + {follow_up_days} "
        f"AND o.disposal_day <= p.index_day + {proof_by}"
    ) + (" AND o.known_day <= p.cut_day" if known else "")


def _tally(counting: str) -> str:
    """The reoffences among a group's offences, when every one of them is a reoffence: offences, or court
    appearances (distinct disposal dates)."""
    return "COUNT(*)" if counting == "offences" else "COUNT(DISTINCT o.disposal_day)"


def dated_tallies_sql(offences: str, people: str, *, follow_up_days: int, waiting_days: int, counting: str) -> str:
    """Per person and date measured with a reoffence (``person_row``: a row of ``people``, each with its own
    ``cut_day``): the reoffences (``n``) among the offences on record by that day, and the first one's day
    (``first_day``); a person and date with none has no row.

    What :func:`tallies_sql` counts, for a settlement that measures each tranche at its own date: only the
    reoffences of someone in ``people`` are grouped.

    Parameters
    ----------
    offences : str
        The staged offences (:func:`stage_offences` with ``known``).
    people : str
        ``_row, person_id, index_day, cut_day``: a person once per date they are measured at.
    follow_up_days, waiting_days, counting
        As :func:`tallies_sql`.

    Examples
    --------
    ``a`` offends on day 27 (proven on day 77), measured on days 100 and 50 after the start; ``b`` never:

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> people = pd.DataFrame({"_row": [0, 1, 2], "person_id": ["a", "a", "b"], "index_day": [19723, 19723, 19723],
    ...                        "cut_day": [19823, 19773, 19823]})
    >>> offences = pd.DataFrame({"person_id": ["a"], "offence_day": [19750], "disposal_day": [19800],
    ...                          "proves": [True], "known_day": [19800]})
    >>> query = dated_tallies_sql("offences", "people", follow_up_days=365, waiting_days=182, counting="offences")
    >>> con.execute(query + " ORDER BY person_row").fetchall()
    [(0, 1, 27)]
    """
    return (
        f"SELECT p._row AS person_row, {_tally(counting)} AS n, MIN(o.offence_day - p.index_day) AS first_day "
        f"FROM {offences} AS o JOIN {people} AS p ON o.person_id = p.person_id "
        f"WHERE {_event(follow_up_days, waiting_days, known=True)} GROUP BY p._row"
    )


def on_record_sql(offences: str, people: str, as_of_day: int, n_rules: int = 0) -> str:
    """Offences (``n``), those dated after the settlement date (``later``), those on record by it whose person_id
    is no one in ``people`` (``unmatched``), and the rows failing any check (``n_rows``): one pass.

    Parameters
    ----------
    offences : str
        The staged offences (:func:`stage_offences` with ``known`` and ``n_rules`` flags).
    people : str
        Every person given (``person_id``, unique).
    as_of_day : int
        The settlement date's day number.
    n_rules : int
        How many check flags the staged offences carry.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> people = pd.DataFrame({"person_id": ["a"]})
    >>> offences = pd.DataFrame({"person_id": ["a", "z", "z"], "known_day": [10, 10, 30]})
    >>> con.execute(on_record_sql("offences", "people", 20)).fetchall()
    [(3, 1, 1, 0)]
    """
    later = f"o.known_day > {as_of_day}"
    failing = " OR ".join(f"COALESCE(o.f{i}, FALSE)" for i in range(n_rules)) or "FALSE"
    return (
        f"SELECT COUNT(*) AS n, COUNT(CASE WHEN {later} THEN 1 END) AS later, "
        f"COUNT(CASE WHEN NOT ({later}) AND p.person_id IS NULL THEN 1 END) AS unmatched, "
        f"COUNT(CASE WHEN {failing} THEN 1 END) AS n_rows "
        f"FROM {offences} AS o LEFT JOIN {people} AS p ON o.person_id = p.person_id"
    )


def totals_sql(tallies: str) -> str:
    """Offences (``n``), those of someone in people (``matched``), and the rows failing any check (``n_rows``).

    Parameters
    ----------
    tallies : str
        The view of :func:`tallies_sql`.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> tallies = pd.DataFrame({"person_row": [0, None], "offences": [2, 1], "n_rows": [0, 1]})
    >>> con.execute(totals_sql("tallies")).fetchall()
    [(3, 2, 1)]
    """
    return (
        "SELECT SUM(offences) AS n, SUM(CASE WHEN person_row IS NOT NULL THEN offences ELSE 0 END) AS matched, "
        f"SUM(n_rows) AS n_rows FROM {tallies}"
    )


def first_ids_sql(table: str, order: str, where: str = "TRUE", limit: int = 3, column: str = "person_id") -> str:
    """The first ``limit`` ids of a table of distinct ids, in input order (``order``: its first row).

    Parameters
    ----------
    table : str
        A view with an id column.
    order : str
        The column holding each id's first row.
    where : str
        A SQL condition the ids must meet.
    limit : int
        Most ids returned.
    column : str
        The id column (``unmatched_id`` in :func:`tallies_sql`), returned as ``person_id``.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> ids = pd.DataFrame({"person_id": ["c", "a", "b"], "first_row": [2, 0, 1]})
    >>> con.execute(first_ids_sql("ids", "first_row", limit=2)).fetchall()
    [('a',), ('b',)]
    """
    return f"SELECT {quoted(column)} AS person_id FROM {table} WHERE {where} ORDER BY {order} LIMIT {limit}"


def per_person_sql(
    people: str,
    tallies: str,
    *,
    follow_up_days: int,
    waiting_days: int,
    as_of_day: int | str | None,
    no_index_reason: str,
    too_recent_reason: str,
) -> str:
    """One row per person of ``people`` (in input order): person_id, index_day, observable, reason,
    reoffences (NULL when not observable) and days_to_first (NULL when none or not observable).

    Parameters
    ----------
    people : str
        The staged people (:func:`stage_people`).
    tallies : str
        The event stage (:func:`tallies_sql`).
    follow_up_days, waiting_days : int
        A person is observable once follow_up_days + waiting_days have passed since their index date.
    as_of_day : int, str or None
        The as-of date as a day number, or the column of ``people`` holding each row's (``"cut_day"``): a person
        whose follow-up and waiting period end after it is not observable.
    no_index_reason, too_recent_reason : str
        The ``reason`` of a person without an index date, and of one too recent.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> people = pd.DataFrame({"_row": [0, 1], "person_id": ["a", "b"], "index_day": [19723, 19724]})
    >>> tallies = pd.DataFrame({"person_row": [0], "n": [2], "first_day": [27]})
    >>> query = per_person_sql("people", "tallies", follow_up_days=365, waiting_days=182, as_of_day=None,
    ...                        no_index_reason="", too_recent_reason="")
    >>> con.execute(query).fetchall()
    [(0, 'a', 19723, True, '', 2, 27), (1, 'b', 19724, True, '', 0, None)]
    """
    proof_by = follow_up_days + waiting_days
    cut = f"p.{quoted(as_of_day)}" if isinstance(as_of_day, str) else as_of_day
    too_recent = "FALSE" if cut is None else f"p.index_day + {proof_by} > {cut}"
    observable = f"(p.index_day IS NOT NULL AND NOT ({too_recent}))"
    return f"""
SELECT p._row, p.person_id, p.index_day,
    {observable} AS observable,
    CASE WHEN p.index_day IS NULL THEN {literal(no_index_reason)}
         WHEN {too_recent} THEN {literal(too_recent_reason)} ELSE '' END AS reason,
    CASE WHEN {observable} THEN COALESCE(t.n, 0) END AS reoffences,
    CASE WHEN {observable} THEN t.first_day END AS days_to_first
FROM {people} AS p LEFT JOIN {tallies} AS t ON t.person_row = p._row
ORDER BY p._row
"""
