"""Assessments as SQL: their checks, and each instrument's occasions scored, for DuckDB and Spark alike.

Written in DuckDB's dialect (the Spark runner transpiles it), over the table as an engine read it (``_row``
its 0-based position), as :mod:`outcomes.engines.sql` reads offences:

1. **Checks** (:func:`assessment_rules`): one flag per rule of :mod:`ground.tables`' ``assessments`` schema
   that a row breaks on its own (a score that is not a finite number, a date not written YYYY-MM-DD, a missing
   value, a date after the as-of date), in the order :func:`ground.tables.validate` finds them, with its words.
   Records given twice (the same person, instrument, item and date, the ids read as text) are sought apart
   (:func:`record_keys_sql`, :func:`with_repeats`): a sort of their keys' hashes, not a row-by-row rule.
2. **Occasions** (:func:`occasions_sql`): one instrument's rows of the people measured (``person_row``, their
   row in a table of ids), on record by a date, grouped by person and date and scored as
   :func:`outcomes.scoring.score` scores them: a row whose item is not the instrument's, or whose score is
   missing, not a whole number or outside its item's range is a problem that leaves its occasion not scorable;
   items are reversed where marked and added (or averaged), prorated when up to ``max_missing`` are missing.
   Scores are whole numbers, so their sums are exact in any order; a prorated total is divided and multiplied
   as numpy does it (one IEEE operation at a time), so every engine gives pandas' scores to the bit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from ground.dates import DATE_RULE, DateLike, parse_date
from outcomes.engines.sql import MISSING_RULE, RawColumn, as_text, id_text, literal, quoted, timestamp
from outcomes.instruments import Instrument, Item

#: The columns of an assessments table, in the schema's order.
ASSESSMENT_COLUMNS = ("person_id", "instrument", "item", "score", "assessed_on")
#: ground.tables' words for a score that does not read as a number, and for a record given twice.
NOT_FINITE_RULE = "not a finite number"
REPEATED_RULE = f"duplicate record (same {', '.join(('person_id', 'instrument', 'item', 'assessed_on'))})"


def score_value(column: RawColumn) -> str:
    """The score as a DOUBLE: NULL where missing, not a number, or not finite.

    Parameters
    ----------
    column : RawColumn
        The score column as the engine typed it (numbers, or text read as numbers).

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> scores = pd.DataFrame({"score": ["3", " 2.0 ", "inf", "x", None]})
    >>> con.execute(f"SELECT {score_value(RawColumn('score', 'text'))} FROM scores").fetchall()
    [(3.0,), (2.0,), (None,), (None,), (None,)]
    """
    name = quoted(column.name)
    if column.kind in ("integer", "float"):
        value = f"CAST({name} AS DOUBLE)"
    elif column.kind == "text":
        value = f"TRY_CAST({name} AS DOUBLE)"
    else:  # flags, dates: not numbers (ground.tables reads none of them as a score)
        return "CAST(NULL AS DOUBLE)"
    # x - x is 0 for every finite number, and NaN for infinities and NaN
    return f"CASE WHEN {value} - {value} = 0 THEN {value} END"


def assessment_rules(columns: Mapping[str, RawColumn], as_of: DateLike) -> list[tuple[str, str, str]]:
    """(column, rule, SQL flag) for the rules an assessment row breaks on its own, in ground.tables' order.

    Parameters
    ----------
    columns : mapping of str -> RawColumn
        The five columns of :data:`ASSESSMENT_COLUMNS` as the engine typed them.
    as_of : DateLike
        No assessment may be dated after it (today: what happened cannot be in the future).

    Examples
    --------
    >>> rules = assessment_rules({c: RawColumn(c, "text") for c in ASSESSMENT_COLUMNS}, "2025-01-01")
    >>> [(column, rule) for column, rule, _ in rules][:2]
    [('score', 'not a finite number'), ('assessed_on', 'not a valid date (expected YYYY-MM-DD, years 1678-2261)')]
    >>> rules[-1][1]
    'after the as-of date 2025-01-01'
    """
    day = parse_date(as_of, "The 'as_of' parameter of assessment_rules")
    given = {name: quoted(columns[name].name) for name in ASSESSMENT_COLUMNS}
    score, when = columns["score"], timestamp(columns["assessed_on"])
    # NaN in a column of numbers is a missing score to pandas; NaN written as text is a score that is no number
    nan = f" OR ISNAN({given['score']})" if score.kind == "float" else ""
    missing = {name: f"{given[name]} IS NULL" for name in ASSESSMENT_COLUMNS} | {
        "score": f"{given['score']} IS NULL{nan}"
    }
    unparsed = [
        ("score", NOT_FINITE_RULE, f"NOT ({missing['score']}) AND ({score_value(score)}) IS NULL"),
        ("assessed_on", DATE_RULE, f"{given['assessed_on']} IS NOT NULL AND ({when}) IS NULL"),
    ]
    absent = [(name, MISSING_RULE, missing[name]) for name in ASSESSMENT_COLUMNS]
    later = [("assessed_on", f"after the as-of date {day:%Y-%m-%d}", f"({when}) > {_at(day)}")]
    return unparsed + absent + later


def checks_sql(raw: str, columns: Mapping[str, RawColumn], rules: Sequence[tuple[str, str, str]], settled: DateLike):
    """Rows (``n``), those assessed after the settlement date (``later``) and those failing any rule
    (``n_rows``): one pass over the table.

    Parameters
    ----------
    raw : str
        The view of the assessments as read.
    columns : mapping of str -> RawColumn
        Its columns as the engine typed them.
    rules : sequence of (column, rule, SQL flag)
        From :func:`assessment_rules`.
    settled : DateLike
        The settlement date: an assessment dated after its midnight is not yet on record.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> raw = pd.DataFrame({"person_id": ["a", "b", None], "instrument": "x", "item": "q", "score": [1.0, 2.0, 3.0],
    ...                     "assessed_on": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-01-01"])})
    >>> columns = {"person_id": RawColumn("person_id", "text"), "instrument": RawColumn("instrument", "text"),
    ...            "item": RawColumn("item", "text"), "score": RawColumn("score", "float"),
    ...            "assessed_on": RawColumn("assessed_on", "timestamp")}
    >>> rules = assessment_rules(columns, "2025-01-01")
    >>> con.execute(checks_sql("raw", columns, rules, "2024-02-01")).fetchall()
    [(3, 1, 1)]
    """
    when = timestamp(columns["assessed_on"])
    day = parse_date(settled, "The 'settled' parameter of checks_sql")
    failing = " OR ".join(f"COALESCE({flag}, FALSE)" for _, _, flag in rules) or "FALSE"
    return (
        f"SELECT COUNT(*) AS n, COUNT(CASE WHEN ({when}) > {_at(day)} THEN 1 END) AS later, "
        f"COUNT(CASE WHEN {failing} THEN 1 END) AS n_rows FROM {raw}"
    )


def record_keys_sql(raw: str, columns: Mapping[str, RawColumn]) -> str:
    """Each row's record as ground.tables compares records: id, instrument and item as text, and the date.

    Parameters
    ----------
    raw : str
        The view of the assessments as read.
    columns : mapping of str -> RawColumn
        Its columns as the engine typed them.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> raw = pd.DataFrame({"person_id": [7.0], "instrument": ["x"], "item": ["q"], "assessed_on": ["2024-01-01"]})
    >>> columns = {c: RawColumn(c, "text") for c in ("instrument", "item", "assessed_on")}
    >>> columns["person_id"] = RawColumn("person_id", "float", whole=True)
    >>> con.execute(record_keys_sql("raw", columns)).fetchall()
    [('7', 'x', 'q', datetime.datetime(2024, 1, 1, 0, 0))]
    """
    return f"SELECT {_keys(columns)} FROM {raw}"


def _keys(columns: Mapping[str, RawColumn]) -> str:
    """The record's four keys, ``k0`` to ``k3``."""
    return (
        f"{id_text(columns['person_id'])} AS k0, {as_text(columns['instrument'])} AS k1, "
        f"{as_text(columns['item'])} AS k2, {timestamp(columns['assessed_on'])} AS k3"
    )


def repeated_sql(keys: str) -> str:
    """One row when two rows of the query ``keys`` (columns ``k0`` to ``k3``) are the same, else none.

    Parameters
    ----------
    keys : str
        A query of records (:func:`record_keys_sql`).

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> keys = pd.DataFrame({"k0": ["a", "a"], "k1": "x", "k2": "q", "k3": [1, 1]})
    >>> len(con.execute(repeated_sql("SELECT * FROM keys")).fetchall())
    1
    """
    return f"SELECT 1 AS repeated FROM ({keys}) AS k GROUP BY k0, k1, k2, k3 HAVING COUNT(*) > 1 LIMIT 1"


def with_repeats(raw: str, columns: Mapping[str, RawColumn]) -> str:
    """The assessments as read, with ``_duplicate``: whether another row gives the same record.

    Parameters
    ----------
    raw : str
        The view of the assessments as read.
    columns : mapping of str -> RawColumn
        Its columns as the engine typed them.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> raw = pd.DataFrame({"_row": [0, 1, 2], "person_id": ["7", "7.0", "8"], "instrument": "x", "item": "q",
    ...                     "assessed_on": ["2024-01-01"] * 3})
    >>> columns = {c: RawColumn(c, "text") for c in raw if c != "_row"}
    >>> con.execute(f"SELECT _row, _duplicate FROM {with_repeats('raw', columns)} ORDER BY _row").fetchall()
    [(0, True), (1, True), (2, False)]
    """
    twice = (
        f"SELECT k0, k1, k2, k3 FROM ({record_keys_sql(raw, columns)}) AS k GROUP BY k0, k1, k2, k3 HAVING COUNT(*) > 1"
    )
    keyed = f"SELECT *, {_keys(columns)} FROM {raw}"
    return (
        f"(SELECT r.*, d.k0 IS NOT NULL AS _duplicate FROM ({keyed}) AS r LEFT JOIN ({twice}) AS d "
        "ON r.k0 = d.k0 AND r.k1 = d.k1 AND r.k2 = d.k2 AND r.k3 = d.k3) AS assessments_read"
    )


def occasions_sql(
    raw: str,
    columns: Mapping[str, RawColumn],
    people: str,
    instrument: Instrument,
    items: Sequence[str],
    settled: DateLike,
) -> str:
    """One instrument's occasions of the people measured, on record by ``settled``, scored: ``person_row``,
    ``assessed_on``, ``score``, ``n_answered``, ``prorated``, ``scorable`` and each item of ``items`` (its raw
    value, as :func:`outcomes.scoring.score` gives it), by person then date.

    Parameters
    ----------
    raw : str
        The view of the assessments as read (checked).
    columns : mapping of str -> RawColumn
        Its columns as the engine typed them.
    people : str
        The people measured: ``person_id`` (text, unique) and ``person_row``.
    instrument : Instrument
        The instrument scored: its rows are those whose ``instrument`` names it.
    items : sequence of str
        The items whose values are measured on their own (an ``items`` instrument's measures).
    settled : DateLike
        Occasions dated after its midnight are not yet on record.

    Examples
    --------
    Rosenberg's ten items (five reversed), one missing: prorated; an item out of range: not scorable.

    >>> import duckdb
    >>> from outcomes.instruments import get_instrument
    >>> con = duckdb.connect()
    >>> rosenberg = get_instrument("rosenberg")
    >>> raw = pd.DataFrame({"person_id": "a", "instrument": "rosenberg", "item": [f"q{i}" for i in range(1, 10)] * 2,
    ...                     "score": [2.0] * 9 + [2.0] * 8 + [7.0],
    ...                     "assessed_on": pd.to_datetime(["2024-01-01"] * 9 + ["2024-06-01"] * 9)})
    >>> columns = {c: RawColumn(c, "text") for c in ("person_id", "instrument", "item")}
    >>> columns |= {"score": RawColumn("score", "float"), "assessed_on": RawColumn("assessed_on", "timestamp")}
    >>> people = pd.DataFrame({"person_id": ["a"], "person_row": [0]})
    >>> query = occasions_sql("raw", columns, "people", rosenberg, [], "2024-12-31")
    >>> [row[2:] for row in con.execute(query).fetchall()]
    [(14.444444444444445, 9, True, True), (None, 8, False, False)]
    """
    day = parse_date(settled, "The 'settled' parameter of occasions_sql")
    position = {name: j for j, name in enumerate(instrument.item_names)}
    item, value = as_text(columns["item"]), score_value(columns["score"])
    when = timestamp(columns["assessed_on"])
    which = " ".join(f"WHEN {item} = {literal(name)} THEN {j}" for name, j in position.items())
    mine = (
        f"SELECT {id_text(columns['person_id'])} AS _id, {when} AS assessed_on, CASE {which} END AS j, "
        f"{value} AS value FROM {raw} "
        f"WHERE {as_text(columns['instrument'])} = {literal(instrument.name)} AND ({when}) <= {_at(day)}"
    )
    given = (
        f"SELECT p.person_row, a.assessed_on, a.j, a.value FROM ({mine}) AS a JOIN {people} AS p ON a._id = p.person_id"
    )
    # unknown item, missing score, not a whole number, outside its item's range: each a problem, and the row's
    # value (reversed where marked) NULL; items sharing a range are tested together, most instruments at once
    in_range = _per_item(instrument, lambda i: f"value >= {float(i.min)!r} AND value <= {float(i.max)!r}", "NULL")
    flipped = _per_item(instrument, lambda i: f"{float(i.min + i.max)!r} - value" if i.reversed else None, "value")
    good = f"j IS NOT NULL AND value IS NOT NULL AND value = FLOOR(value) AND {in_range}"
    judged = f"SELECT *, CASE WHEN {good} THEN {flipped} END AS answer FROM ({given}) AS g"
    measured = [*items, *([instrument.item_names[0]] if instrument.scoring == "single" else [])]
    kept = "".join(
        f", MAX(CASE WHEN j = {position[name]} AND answer IS NOT NULL THEN value END) AS {quoted(name)}"
        for name in dict.fromkeys(measured)
    )
    occasions = (
        "SELECT person_row, assessed_on, CAST(COUNT(answer) AS INTEGER) AS n_answered, SUM(answer) AS total, "
        f"COUNT(*) > COUNT(answer) AS has_problem{kept} FROM ({judged}) AS j GROUP BY person_row, assessed_on"
    )
    k = len(instrument.items)
    if instrument.scoring in ("sum", "mean"):
        scorable = f"{k} - n_answered <= {instrument.max_missing} AND NOT has_problem"
        mean = "total / CAST(n_answered AS DOUBLE)"
        whole = f"CASE WHEN n_answered < {k} THEN {mean} * {k} ELSE total END" if instrument.scoring == "sum" else mean
        score, prorated = f"CASE WHEN {scorable} THEN {whole} END", f"({scorable}) AND n_answered < {k}"
    else:
        scorable = "n_answered >= 1 AND NOT has_problem"
        first = quoted(instrument.item_names[0])
        score = f"CASE WHEN {scorable} THEN {first} END" if instrument.scoring == "single" else "CAST(NULL AS DOUBLE)"
        prorated = "FALSE"
    shown = "".join(f", {quoted(name)}" for name in dict.fromkeys(items))
    return (
        f"SELECT person_row, assessed_on, {score} AS score, n_answered, {prorated} AS prorated, "
        f"{scorable} AS scorable{shown} FROM ({occasions}) AS o ORDER BY person_row, assessed_on"
    )


def _per_item(instrument: Instrument, sql_of: Callable[[Item], str | None], otherwise: str) -> str:
    """SQL for the item ``j`` holds: ``sql_of`` it (``otherwise`` where None), the items given the same SQL in one
    branch, and no CASE at all when every item is (a row whose ``j`` is NULL is a problem already)."""
    shared: dict[str | None, list[int]] = {}
    for j, item in enumerate(instrument.items):
        shared.setdefault(sql_of(item), []).append(j)
    if len(shared) == 1:
        only = next(iter(shared))
        return otherwise if only is None else only
    branches = " ".join(f"WHEN j IN ({', '.join(map(str, js))}) THEN {sql}" for sql, js in shared.items() if sql)
    return f"CASE {branches} ELSE {otherwise} END"


def _at(day: pd.Timestamp) -> str:
    """A date as a TIMESTAMP literal (its midnight)."""
    return f"TIMESTAMP '{day:%Y-%m-%d %H:%M:%S.%f}'"
