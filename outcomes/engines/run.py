"""Proven reoffending on a SQL engine: load, check, stage, link, count."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ground.tables import Links
from outcomes.engines import sql
from outcomes.engines.boundary import (
    TOO_RECENT,
    Settings,
    check_offences,
    check_people,
    check_rows,
    check_staged_people,
    links_of,
    located,
    read_columns,
    refuse_declared_format,
)
from outcomes.engines.sql import OFFENCE_COLUMNS

EPOCH = pd.Timestamp("1970-01-01")


def day(value: pd.Timestamp) -> int:
    """Whole days from 1970-01-01 to ``value``'s date.

    Parameters
    ----------
    value : pandas.Timestamp
        A date (a time of day is dropped).

    Examples
    --------
    >>> day(pd.Timestamp("2024-01-01 10:30"))
    19723
    """
    return int((value.normalize() - EPOCH).days)


def run_sql(engine: Any, people: Any, offences: Any, settings: Settings) -> tuple[pd.DataFrame, Links]:
    """Per-person counts (``_row, person_id, index_day, observable, reason, reoffences, days_to_first``)
    and the offences' links to people, computed by ``engine``.

    The people are read once (staged and checked); the offences once for their distinct disposals and
    once by the event stage, which also counts their links and the rows failing any check. Which rules
    fail, and the first rows of each, are sought in one more pass only when some row does.

    Parameters
    ----------
    engine : DuckDB or Spark
        The engine to run on.
    people, offences : DataFrame, str or Path
        The tables, or files for the engine to read.
    settings : Settings
        What the measure counts.

    Examples
    --------
    An offence proven by conviction 60 days after the start counts; one ending in acquittal does not:

    >>> from outcomes.engines import DuckDB
    >>> from outcomes.engines.boundary import Settings
    >>> settings = Settings(index="start_date", follow_up_days=365, waiting_days=182, as_of=pd.Timestamp("2025-12-31"),
    ...                     disposals=("conviction", "caution"), counting="offences")
    >>> people = pd.DataFrame({"person_id": ["a", "b"], "start_date": ["2024-01-01", "2024-01-02"]})
    >>> offences = pd.DataFrame({"person_id": ["a", "a"], "offence_date": ["2024-03-01", "2024-04-01"],
    ...                          "disposal_date": "2024-05-01", "disposal": ["Conviction", "acquittal"]})
    >>> per_person, links = run_sql(DuckDB(threads=1), people, offences, settings)
    >>> per_person["reoffences"].tolist(), per_person["days_to_first"].tolist()[0], links.unmatched
    ([1, 0], 60.0, 0)
    """
    runner = engine.runner()
    try:
        people_columns = _load(runner, engine, "people", people, settings)
        ids, index = people_columns["person_id"], people_columns[settings.index]
        # A file is checked as it is staged; a DataFrame was checked by pandas when loaded.
        rules = [] if isinstance(people, pd.DataFrame) else sql.people_row_rules(ids, index, settings.checked_as_of)
        runner.view("people_stage", sql.stage_people("people_raw", ids, index, rules), keep=True)
        if rules:
            check_staged_people(runner, settings, len(rules), located(people))
        rules = stage_offence_table(runner, engine, offences, settings)
        tallies = sql.tallies_sql(
            "offences_stage",
            "people_stage",
            follow_up_days=settings.follow_up_days,
            waiting_days=settings.waiting_days,
            counting=settings.counting,
            n_rules=len(rules),
        )
        runner.view("offence_tallies", tallies, keep=True)
        totals = runner.fetch(sql.totals_sql("offence_tallies")).iloc[0]
        check_rows(runner, "offences", rules, totals["n_rows"], offences, OFFENCE_COLUMNS)
        links = links_of(runner, totals, offences)
        per_person = runner.fetch(
            sql.per_person_sql(
                "people_stage",
                "offence_tallies",
                follow_up_days=settings.follow_up_days,
                waiting_days=settings.waiting_days,
                as_of_day=None if settings.as_of is None else day(settings.as_of),
                no_index_reason=settings.no_index,
                too_recent_reason=TOO_RECENT,
            )
        )
    finally:
        runner.close()
    return per_person, links


def stage_offence_table(
    runner: Any, engine: Any, offences: Any, settings: Settings, known: bool = False, caller: str = "proven_reoffending"
) -> list[tuple[str, str, str]]:
    """Load the offences into the engine as the view ``offences_stage`` (:func:`outcomes.engines.sql.stage_offences`,
    with ``known_day`` when ``known``); return the checks its rows carry as flags (none for a DataFrame, which pandas
    checked as it was loaded).

    Parameters
    ----------
    runner : Runner
        The engine's runner.
    engine : DuckDB or Spark
        The engine (named in an error).
    offences : DataFrame, str or Path
        The table, or a file for the engine to read.
    settings : Settings
        What the measure counts.
    known : bool
        Stage the day each offence is on record (a settlement measures tranches at their own dates).
    caller : str
        Named in an error.

    Examples
    --------
    >>> from outcomes.engines import DuckDB
    >>> from outcomes.engines.boundary import Settings
    >>> settings = Settings(index="start_date", follow_up_days=365, waiting_days=182, as_of=pd.Timestamp("2025-12-31"),
    ...                     disposals=("conviction",), counting="offences")
    >>> offences = pd.DataFrame({"person_id": ["a"], "offence_date": ["2024-03-01"], "disposal_date": ["2024-05-01"],
    ...                          "disposal": ["Conviction"]})
    >>> runner = DuckDB(threads=1).runner()
    >>> stage_offence_table(runner, DuckDB(), offences, settings, known=True)
    []
    >>> runner.fetch("SELECT proves, known_day FROM offences_stage").values.tolist()
    [[True, 19844]]
    >>> runner.close()
    """
    columns = _load(runner, engine, "offences", offences, settings, caller)
    levels = runner.fetch(sql.levels_sql("offences_raw", columns["disposal"]))
    unknown = levels.loc[levels["level"].isna(), "written"].tolist()
    proving = levels.loc[levels["level"].isin(settings.disposals), "written"].tolist()
    # A file is checked as the event stage reads it.
    rules = [] if isinstance(offences, pd.DataFrame) else sql.offences_rules(columns, settings.checked_as_of, unknown)
    runner.view("offences_stage", sql.stage_offences("offences_raw", columns, proving, rules, known=known))
    return rules


def _load(
    runner: Any, engine: Any, table: str, source: Any, settings: Settings, caller: str = "proven_reoffending"
) -> dict[str, sql.RawColumn]:
    """Load a table into the engine: a DataFrame checked by pandas first, a file as it is read (by the caller)."""
    raw = f"{table}_raw"
    if isinstance(source, pd.DataFrame):
        if table == "people":
            checked = check_people(source, settings)
        else:
            checked = check_offences(source, settings)
            checked = checked.assign(disposal=checked["disposal"].astype("str"))
        runner.load(raw, checked.reset_index(drop=True))
        return runner.columns(raw)
    refuse_declared_format(engine, source, caller)
    runner.load(raw, located(source))
    return read_columns(runner, table, settings, located(source))
