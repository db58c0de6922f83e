"""Custody stays on a SQL engine: a file read and checked there, and bed nights counted there.

:func:`stage_custody_table` reads a Parquet or CSV custody file into the engine and stages it
(:func:`outcomes.engines.custody_sql.stage_custody`) with a flag per rule of :mod:`ground.tables`' ``custody``
schema, checked against today as every settlement table is; the stage that reads it first counts the rows failing
any (:func:`outcomes.engines.sql.on_record_sql`), and only when some do is the file read again to name them
(:func:`outcomes.engines.boundary.check_rows`). :func:`nights_on_engine` then counts the bed nights per person and
date measured (:func:`outcomes.engines.custody_sql.nights_sql`): only those counts come back into Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ground.dates import DateLike
from ground.reading import TableSource
from ground.tables import CUSTODY_KINDS
from outcomes.engines import custody_sql
from outcomes.engines.boundary import load_file
from outcomes.engines.sql import levels_sql

#: The view an engine reads the custody file as, and the staged stays.
RAW, STAGE = "custody_raw", "custody_stage"


def stage_custody_table(
    runner: Any, engine: Any, source: str | Path | TableSource, *, today: DateLike, kinds: Sequence[str], caller: str
) -> list[tuple[str, str, str]]:
    """Read a custody file into the engine and stage it as the view ``custody_stage``; return the checks its rows
    carry as flags (:func:`outcomes.engines.custody_sql.custody_rules`).

    Parameters
    ----------
    runner : Runner
        Where the file is read.
    engine : DuckDB or Spark
        Named in an error, with ``caller``.
    source : str or Path
        A Parquet or CSV file.
    today : DateLike
        No start or end may be after it.
    kinds : sequence of str
        The kinds of custody counted.
    caller : str
        The function named in an error.

    Examples
    --------
    A remand still held (``end`` empty), its kind written with a capital:

    >>> import tempfile
    >>> from outcomes.engines import DuckDB
    >>> stays = pd.DataFrame({"person_id": ["a"], "start": ["2024-01-01"], "end": [None], "kind": ["Remand"]})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     stays.to_csv(Path(folder) / "custody.csv", index=False)
    ...     runner = DuckDB(threads=1).runner()
    ...     rules = stage_custody_table(runner, DuckDB(), Path(folder) / "custody.csv", today="2025-01-01",
    ...                                 kinds=["remand"], caller="settle")
    ...     staged = runner.fetch("SELECT start_day, end_day IS NULL AS held, counted FROM custody_stage")
    ...     runner.close()
    >>> staged.values.tolist()
    [[19723, True, True]]
    """
    columns = load_file(runner, engine, "custody", source, custody_sql.CUSTODY_COLUMNS, caller)
    levels = runner.fetch(levels_sql(RAW, columns["kind"], CUSTODY_KINDS))
    unknown = levels.loc[levels["level"].isna(), "written"].tolist()
    counted = levels.loc[levels["level"].isin(list(kinds)), "written"].tolist()
    rules = custody_sql.custody_rules(columns, today, unknown)
    runner.view(STAGE, custody_sql.stage_custody(RAW, columns, counted, rules))
    return rules


def nights_on_engine(runner: Any, measured: str, *, follow_up_days: int, index: str, open_reason: str) -> pd.DataFrame:
    """Per person and date measured (the view ``measured``: ``_row, person_id, index_day, cut_day``), in its
    order: ``_row``, ``observable``, ``reason`` and ``bed_nights`` (NA when not observable), from the stays
    :func:`stage_custody_table` staged.

    Parameters
    ----------
    runner : Runner
        The engine's runner, holding ``custody_stage``.
    measured : str
        The view of the people measured, each once per date.
    follow_up_days : int
        Nights in the window.
    index : str
        The people column holding the index date (a person without one is not observable, ``no <index>``).
    open_reason : str
        The reason of a person whose window has not closed by the date measured.

    Examples
    --------
    >>> from outcomes.engines import DuckDB
    >>> runner = DuckDB(threads=1).runner()
    >>> runner.load("custody_stage", pd.DataFrame({"person_id": ["a"], "start_day": [5], "end_day": [9],
    ...     "known_day": [5], "end_known_day": [9], "counted": [True]}))
    >>> runner.load("measured", pd.DataFrame({"person_id": ["a", "b"], "index_day": [0, None], "cut_day": 40}))
    >>> nights = nights_on_engine(runner, "measured", follow_up_days=30, index="start_date", open_reason="open")
    >>> nights["bed_nights"].tolist(), nights["reason"].tolist()
    ([4, <NA>], ['', 'no start_date'])
    >>> runner.close()
    """
    query = custody_sql.nights_sql(STAGE, measured, follow_up_days=follow_up_days, no_index_reason=f"no {index}",
                                   open_reason=open_reason)  # fmt: skip
    nights = runner.fetch(query).sort_values("_row", kind="stable").reset_index(drop=True)
    return nights.assign(bed_nights=pd.array(nights["bed_nights"], dtype="Int64"))
