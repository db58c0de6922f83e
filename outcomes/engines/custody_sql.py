"""Custody bed nights as SQL: the stays' checks, and the nights per person and date measured, for DuckDB and Spark.

Written in DuckDB's dialect (the Spark runner transpiles it), over the custody table as an engine read it
(``_row`` its 0-based position), as :mod:`outcomes.engines.sql` reads offences:

1. **Staging** (:func:`stage_custody`): ids as text, ``start`` and ``end`` as day numbers with the day each is on
   record (the day after when it holds a time of day: :func:`outcomes.engines.sql.on_record_day`), whether the
   stay's kind is counted, and one flag per rule of :mod:`ground.tables`' ``custody`` schema
   (:func:`custody_rules`), so the engine reports what pandas would, in its words.
2. **Nights** (:func:`nights_sql`): per person and date measured, the stays on record by that date (begun by it;
   an end recorded after it leaves the stay open) clipped to the follow-up window, an open stay running to the
   window's close or the date measured, whichever is first; the nights of overlapping stays counted once: with
   the stays ordered by their first night, each adds the nights after the last night of every stay before it
   (gaps and islands, as :func:`outcomes.custody.custody_nights` adds them). Day numbers are whole numbers, so
   the nights are exact in any order. Then whether the person is observable: their window closed by the date
   measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ground.dates import DateLike
from ground.tables import CUSTODY_KINDS
from outcomes.engines.sql import (
    RawColumn,
    as_text,
    day_number,
    event_rules,
    id_text,
    literal,
    on_record_day,
    one_of,
    timestamp,
)

#: The columns of a custody table, in the schema's order.
CUSTODY_COLUMNS = ("person_id", "start", "end", "kind")


def custody_rules(
    columns: Mapping[str, RawColumn], as_of: DateLike, unknown: Sequence[str] | None = None
) -> list[tuple[str, str, str]]:
    """(column, rule, SQL flag) for the custody columns, in the order ground.tables finds them.

    Parameters
    ----------
    columns : mapping of str -> RawColumn
        The four columns of :data:`CUSTODY_COLUMNS`.
    as_of : DateLike
        No start or end may be after it.
    unknown : sequence of str, optional
        Every kind, as written, that is no known kind (:func:`outcomes.engines.sql.levels_sql`). Default: each
        row's kind is read as a level.

    Examples
    --------
    >>> rules = custody_rules({c: RawColumn(c, "text") for c in CUSTODY_COLUMNS}, "2025-01-01")
    >>> [(column, rule) for column, rule, _ in rules][5:7]
    [('kind', 'missing value'), ('end', 'before start')]
    """
    return event_rules(
        columns, as_of, dates=("start", "end"), levels=("kind", CUSTODY_KINDS, unknown),
        required=("person_id", "start", "kind"), before=("end", "start"),
    )  # fmt: skip


def stage_custody(raw: str, columns: Mapping[str, RawColumn], counted: Sequence[str], rules: Sequence = ()) -> str:
    """Stays as ``_row, person_id, start_day, end_day, known_day, end_known_day, counted`` and a flag ``f<i>``
    per rule: ``known_day`` is the first day the start is on record (:func:`outcomes.engines.sql.on_record_day`),
    ``end_known_day`` the end's.

    Parameters
    ----------
    raw : str
        The view of the custody table as read, with ``_row``.
    columns : mapping of str -> RawColumn
        The four columns of :data:`CUSTODY_COLUMNS` as the engine typed them.
    counted : sequence of str
        The kinds, as written in the table, that are counted (:func:`outcomes.engines.sql.levels_sql`).
    rules : sequence of (column, rule, SQL flag)
        From :func:`custody_rules`: each becomes a column ``f0``, ``f1``, ...

    Examples
    --------
    >>> import duckdb
    >>> import pandas as pd
    >>> con = duckdb.connect()
    >>> custody_raw = pd.DataFrame({"_row": [0], "person_id": ["7"], "start": ["2024-03-01 10:00"], "end": [None],
    ...                             "kind": ["Remand"]})
    >>> columns = {c: RawColumn(c, "text") for c in CUSTODY_COLUMNS}
    >>> con.execute(stage_custody("custody_raw", columns, ["Remand"])).fetchall()
    [(0, '7', 19783, None, 19784, None, True)]
    """
    flags = "".join(f", ({flag}) AS f{i}" for i, (_, _, flag) in enumerate(rules))
    start, end = columns["start"], columns["end"]
    return (
        f"SELECT _row, {id_text(columns['person_id'])} AS person_id, {day_number(timestamp(start))} AS start_day, "
        f"{day_number(timestamp(end))} AS end_day, {on_record_day(start)} AS known_day, "
        f"{on_record_day(end)} AS end_known_day, "
        f"COALESCE({one_of(as_text(columns['kind']), counted)}, FALSE) AS counted{flags} FROM {raw}"
    )


def nights_sql(stays: str, people: str, *, follow_up_days: int, no_index_reason: str, open_reason: str) -> str:
    """One row per person and date measured (a row of ``people``, in its order): ``_row``, ``observable``,
    ``reason`` ("" when observable) and ``bed_nights`` (NULL when not observable).

    Parameters
    ----------
    stays : str
        The staged stays (:func:`stage_custody`).
    people : str
        ``_row, person_id, index_day, cut_day``: a person once per date they are measured at (``cut_day``).
    follow_up_days : int
        Nights in the window, the first the night of the index date.
    no_index_reason, open_reason : str
        The ``reason`` of a person without an index date, and of one whose window has not closed.

    Examples
    --------
    ``a`` is held from day 10 to day 15 and from day 12 to day 20 of a 30-night window, measured on day 40 (18
    nights: 5, and 5 more, and 8 from an open stay to the window's close) and on day 25 (the window still open):

    >>> import duckdb
    >>> import pandas as pd
    >>> con = duckdb.connect()
    >>> people = pd.DataFrame({"_row": [0, 1, 2], "person_id": ["a", "b", "a"], "index_day": [0, 0, 0],
    ...                        "cut_day": [40, 40, 25]})
    >>> end = pd.array([15, 20, None], dtype="Int64")
    >>> stays = pd.DataFrame({"person_id": "a", "start_day": [10, 12, 22], "end_day": end, "known_day": [10, 12, 22],
    ...                       "end_known_day": end, "counted": True})
    >>> query = nights_sql("stays", "people", follow_up_days=30, no_index_reason="", open_reason="open")
    >>> con.execute(query).fetchall()
    [(0, True, '', 18), (1, True, '', 0), (2, False, 'open', None)]
    """
    last = f"p.index_day + {follow_up_days}"  # the morning the window closes
    # a stay begun by the date measured is on record; an end recorded after it leaves the stay open then
    end = (
        f"CASE WHEN s.end_day IS NULL OR s.end_known_day > p.cut_day THEN LEAST({last}, p.cut_day) "
        f"ELSE LEAST(s.end_day, {last}) END"
    )
    clipped = (
        f"SELECT p._row AS pair, GREATEST(s.start_day, p.index_day) AS lo, {end} AS hi "
        f"FROM {stays} AS s JOIN {people} AS p ON s.person_id = p.person_id "
        "WHERE s.counted AND s.known_day <= p.cut_day AND p.index_day IS NOT NULL"
    )
    # the last night reached by the stays before each (by first night): it adds only the nights after it
    reached = "MAX(hi) OVER (PARTITION BY pair ORDER BY lo, hi ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
    ordered = f"SELECT pair, lo, hi, {reached} AS reached FROM ({clipped}) AS c WHERE hi > lo"
    nights = (
        "SELECT pair, CAST(SUM(GREATEST(hi - GREATEST(lo, COALESCE(reached, lo)), 0)) AS BIGINT) AS nights "
        f"FROM ({ordered}) AS o GROUP BY pair"
    )
    window_open = f"{last} > p.cut_day"
    observable = f"(p.index_day IS NOT NULL AND NOT ({window_open}))"
    return f"""
SELECT p._row,
    {observable} AS observable,
    CASE WHEN p.index_day IS NULL THEN {literal(no_index_reason)}
         WHEN {window_open} THEN {literal(open_reason)} ELSE '' END AS reason,
    CASE WHEN {observable} THEN COALESCE(n.nights, 0) END AS bed_nights
FROM {people} AS p LEFT JOIN ({nights}) AS n ON n.pair = p._row
ORDER BY p._row
"""
