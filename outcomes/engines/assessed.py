"""Assessments on a SQL engine: a file read and checked there, and each instrument's occasions scored there.

An assessments table holds some seventy rows a person (ten items of a scale, a few occasions, several
instruments): at a national cohort's size it is the largest table a settlement reads, and held in memory as
text it takes gigabytes. On an engine it never comes into Python: :func:`check_assessments` reads the file
in one pass, with the rules and words of :mod:`ground.tables` (:mod:`outcomes.engines.assessment_sql`), and
counts its rows and those dated after the settlement date; the records given twice are found by sorting a
hash of each row's record (:meth:`outcomes.engines.Runner.repeats`). When a row breaks a rule the file is
read again to name the first rows of each, and the error is :func:`ground.tables.validate`'s.
:func:`scores_on_engine` then brings back, for one instrument, only the scored occasions of the people
measured, in :class:`outcomes.scoring.Scores`' shape: what :func:`outcomes.achievement.achievement` reads.
The problems of single rows (an item the instrument lacks, a score out of range or not whole) leave their
occasion not scorable, as on pandas; they are not listed row by row (``Scores.problems`` is empty).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ground.dates import DateLike
from ground.reading import TableSource
from outcomes.engines import assessment_sql as stage
from outcomes.engines import sql
from outcomes.engines.boundary import load_file, raise_failures, source_name, whole_count
from outcomes.engines.sql import RawColumn
from outcomes.instruments import Instrument
from outcomes.scoring import PROBLEM_COLUMNS, Scores

#: The view an engine reads the assessments file as.
RAW = "assessments_raw"


@dataclass(frozen=True)
class AssessmentTotals:
    """What an engine counted of an assessments file: its rows, and those dated after the settlement date."""

    rows: int
    later: int


def load_assessments(runner: Any, engine: Any, source: str | Path | TableSource, caller: str) -> dict[str, RawColumn]:
    """Read an assessments file into the engine (the view ``assessments_raw``); its columns as the engine typed
    them, the five the schema names required (in :func:`ground.tables.validate`'s words).

    Parameters
    ----------
    runner : Runner
        The engine's runner.
    engine : DuckDB or Spark
        The engine (named in an error).
    source : str or Path
        A Parquet or CSV file.
    caller : str
        Named in an error.

    Examples
    --------
    >>> import tempfile
    >>> from outcomes.engines import DuckDB
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "assessments.csv"
    >>> _ = path.write_text("person_id,item,score\\na,q1,3\\n", encoding="utf-8")
    >>> runner = DuckDB(threads=1).runner()
    >>> load_assessments(runner, DuckDB(), path, "settle")
    Traceback (most recent call last):
    ...
    ground.errors.SchemaError: ...assessments.csv: table 'assessments' fails 2 rules:
      - instrument: required column missing
      - assessed_on: required column missing
      Columns present: person_id, item, score
    >>> runner.close()
    >>> folder.cleanup()
    """
    return load_file(runner, engine, "assessments", source, stage.ASSESSMENT_COLUMNS, caller)


def check_assessments(
    runner: Any, columns: dict[str, RawColumn], source: Any, *, today: DateLike, settled: DateLike
) -> AssessmentTotals:
    """Check the assessments an engine read (:func:`load_assessments`) as :func:`ground.tables.validate` checks
    them, and count them (see the module notes).

    Parameters
    ----------
    runner : Runner
        The engine's runner, holding ``assessments_raw``.
    columns : dict of str -> RawColumn
        Its columns as the engine typed them.
    source : str or Path
        The file, named in an error.
    today : DateLike
        No assessment may be dated after it.
    settled : DateLike
        The settlement date: assessments dated after it are counted (``later``).

    Raises
    ------
    SchemaError
        In validate's words: the rules broken, how many rows break each, and the first of them.

    Examples
    --------
    >>> from outcomes.engines import DuckDB
    >>> runner = DuckDB(threads=1).runner()
    >>> runner.load(RAW, pd.DataFrame({"person_id": ["a", "a"], "instrument": "ladder_family", "item": "ladder",
    ...                                "score": [3.0, 4.0], "assessed_on": pd.to_datetime(["2024-01-01"] * 2)}))
    >>> check_assessments(runner, runner.columns(RAW), "assessments.parquet", today="2025-01-01",
    ...                   settled="2024-06-30")
    Traceback (most recent call last):
    ...
    ground.errors.SchemaError: assessments.parquet: table 'assessments' fails 1 rule in 2 rows ...
      - person_id: duplicate record (same person_id, instrument, item, assessed_on): 2 rows: row 1 (a), row 2 (a)
    >>> runner.close()
    """
    rules = stage.assessment_rules(columns, today)
    found = runner.fetch(stage.checks_sql(RAW, columns, rules, settled)).iloc[0]
    n = whole_count(found["n"])
    repeated = n > 1 and runner.repeats(stage.record_keys_sql(RAW, columns), n)
    if whole_count(found["n_rows"]) or repeated:
        # the records given twice are joined back to name their rows only when there are some
        read = stage.with_repeats(RAW, columns) if repeated else RAW
        every = [*rules[:-1], ("person_id", stage.REPEATED_RULE, "_duplicate"), rules[-1]] if repeated else rules
        counted = runner.fetch(sql.rule_counts_sql(read, every)).iloc[0]  # in validate's order
        order = [c for c in runner.columns(RAW) if c in stage.ASSESSMENT_COLUMNS]
        raise_failures(runner, read, every, counted, "assessments", order, source_name(source))
    return AssessmentTotals(n, whole_count(found["later"]))


def scores_on_engine(
    runner: Any, columns: dict[str, RawColumn], people: str, ids: pd.Index, instrument: Instrument, items, settled
) -> Scores:
    """One instrument's scored occasions of the people measured, on record by ``settled``, from the assessments
    an engine read and checked: the :class:`outcomes.scoring.Scores` that
    :func:`outcomes.achievement.achievement` reads (``person_id`` categorical over ``ids``).

    Parameters
    ----------
    runner : Runner
        The engine's runner, holding ``assessments_raw`` and ``people``.
    columns : dict of str -> RawColumn
        The assessments' columns as the engine typed them.
    people : str
        The view of the people measured: ``person_id`` (``ids``) and ``person_row`` (its position in ``ids``).
    ids : pandas.Index
        The ids of the people measured, as text.
    instrument : Instrument
        The instrument scored.
    items : sequence of str
        Items measured on their own (an ``items`` instrument's outcomes).
    settled : DateLike
        The settlement date.

    Examples
    --------
    >>> from outcomes.engines import DuckDB
    >>> from outcomes.instruments import get_instrument
    >>> runner = DuckDB(threads=1).runner()
    >>> runner.load(RAW, pd.DataFrame({"person_id": ["b", "a", "z"], "instrument": "ladder_family", "item": "ladder",
    ...                                "score": [3.0, 11.0, 4.0], "assessed_on": pd.to_datetime(["2024-01-01"] * 3)}))
    >>> ids = pd.Index(["a", "b"])
    >>> runner.load("people", pd.DataFrame({"person_id": ids, "person_row": [0, 1]}))
    >>> scores = scores_on_engine(runner, runner.columns(RAW), "people", ids, get_instrument("ladder_family"), [],
    ...                           "2024-06-30").scores
    >>> scores["person_id"].tolist(), scores["score"].tolist(), scores["scorable"].tolist()
    (['a', 'b'], [nan, 3.0], [False, True])
    >>> runner.close()
    """
    query = stage.occasions_sql(RAW, columns, people, instrument, items, settled)
    frame = runner.fetch(query)
    who = pd.Categorical.from_codes(frame["person_row"].to_numpy(dtype=np.int32), dtype=pd.CategoricalDtype(ids))
    scores = frame.drop(columns="person_row").assign(
        assessed_on=frame["assessed_on"].to_numpy(dtype="datetime64[ns]"),  # the schema's dates, as pandas reads them
        score=frame["score"].to_numpy(dtype=float, na_value=np.nan),
        **{name: frame[name].to_numpy(dtype=float, na_value=np.nan) for name in items},
    )
    scores.insert(0, "person_id", who)
    problems = pd.DataFrame({c: pd.Series(dtype=object) for c in PROBLEM_COLUMNS})
    return Scores(instrument, scores, problems)
