"""A settlement's offences and custody counted on a SQL engine: DuckDB in this process, or Spark (local, or a
cluster's session).

``settle(..., engine="duckdb")`` reads and checks the people and every other table in pandas, as it always does
(eligibility, tranches, uplifts and the tests of each tranche need them in memory), and leaves the offences, the
table that grows with every event, to the engine:

- offences in a Parquet or CSV file are read by the engine itself and checked there with the rules and words of
  :mod:`ground.tables` (:mod:`outcomes.engines.boundary`), against today as :mod:`pricing.settlement_data` checks
  them; offences given as a DataFrame, an Excel file or a data mapping's table (a database's too) are read and
  checked by pandas as :mod:`pricing.settlement_data` reads them, then handed to the engine;
- one pass counts the offences, those dated after the settlement date and those on record by it of no one in the
  people table (:func:`outcomes.engines.sql.on_record_sql`): the settlement's exclusions;
- one pass counts, per person of the cohort and per date the settlement measures them at, the proven reoffences on
  record by that date and whether the person is observable (:func:`outcomes.engines.sql.dated_tallies_sql`,
  :func:`outcomes.engines.sql.per_person_sql`): the same SQL stage as ``proven_reoffending`` on an engine, each
  person measured once per date.

The dates are each tranche's interim and final settlement dates on or before the settlement date, for its people,
and the settlement date itself for everyone when the contract prices a person without a proven reoffence. pandas
then compares each tranche with its counterfactual on these counts exactly as on its own (the counts are whole
numbers, in the same order), so every engine gives the same ledger, byte for byte.

The assessments, the largest table (some seventy rows a person), are left to the engine too when they are a
Parquet or CSV file (:class:`AssessmentsOnEngine`, :mod:`outcomes.engines.assessed`): the engine reads and
checks them with :mod:`ground.tables`' rules and words (records given twice among them), counts them and those
dated after the settlement date, and scores each priced outcome's instrument on the occasions of the cohort on
record by the settlement date, as :mod:`outcomes.scoring` scores them (a row with an item the instrument
lacks, or a score out of its range or not whole, leaves its occasion not scorable). Only those scored occasions
come into pandas, one instrument at a time, to be judged by :func:`outcomes.achievement.achievement` as
``MetricSpec.achievement`` judges them. Assessments given as a DataFrame, an Excel file or a mapped table are
read, checked and judged by pandas on every engine.

Custody stays are left to the engine too when they are a Parquet or CSV file (:class:`CustodyOnEngine`,
:mod:`outcomes.engines.stays`): the engine reads and checks them with :mod:`ground.tables`' rules and words; one
pass counts the stays, those begun after the settlement date and those on record by it of no one in the people
table (the exclusions; none linking at all is refused); one pass counts, per person of the cohort and per date
measured (each tranche's interim and final dates), the bed nights in their window as
:func:`outcomes.custody.custody_nights` counts them on the stays on record by that date (an end recorded later
leaves a stay open; overlapping stays count each night once), and whether the window has closed. pandas checks
the people's index dates as it measures them, and prices these counts as its own. Custody given as a DataFrame,
an Excel file or a mapped table is counted by pandas on every engine.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from ground.dates import parse_dates
from ground.reading import TableSource, file_format
from ground.tables import Links, UnmatchedRowsWarning, report_links
from outcomes.achievement import Achievement, Cohort, achievement
from outcomes.custody import WINDOW_OPEN, nights_frame
from outcomes.engines import DuckDB, Spark
from outcomes.engines import sql as stage
from outcomes.engines.assessed import check_assessments, load_assessments, scores_on_engine
from outcomes.engines.assessment_sql import ASSESSMENT_COLUMNS
from outcomes.engines.boundary import TOO_RECENT, Settings, check_rows, located, whole_count
from outcomes.engines.custody_sql import CUSTODY_COLUMNS
from outcomes.engines.run import day, stage_offence_table
from outcomes.engines.stays import nights_on_engine, stage_custody_table
from outcomes.reoffending import per_person_frame
from pricing.contract import Contract
from pricing.settlement_data import SettlementData

__all__ = [
    "AssessmentsOnEngine",
    "Counted",
    "CountedCustody",
    "CountedOffences",
    "CustodyOnEngine",
    "JudgedAssessments",
    "OffencesOnEngine",
    "assessments_on_engine",
    "custody_on_engine",
    "held_back",
    "on_engine",
]

#: The data a settlement takes: tables by name (frames, files, mapped tables), or a data mapping file.
SettlementSource = Mapping[str, pd.DataFrame | str | Path | TableSource] | str | Path

#: What a settlement names in its errors.
CALLER = "settle"
#: The tables an engine reads itself when they are files, and the columns of the empty table pandas checks instead.
ON_ENGINE = {"offences": stage.OFFENCE_COLUMNS, "assessments": ASSESSMENT_COLUMNS, "custody": CUSTODY_COLUMNS}


@dataclass(frozen=True)
class Counted:
    """Events of a settlement (offences, stays in custody) counted on an engine, per person and date measured.

    Attributes
    ----------
    rows : int
        Rows given.
    later : int
        Rows dated after the settlement date (an offence or its disposal, a stay's start): left out and counted.
    unmatched : int
        Rows on record by the settlement date whose person_id is no one in the people table: left out and counted.
    per_date : dict of int -> (pandas.Index, pandas.DataFrame)
        For each date measured (its day number): the ids of the people measured at it, and their per-person table
        (:func:`outcomes.reoffending.per_person_frame`, or the per-person table of
        :class:`outcomes.custody.CustodyNights`), in the same order.
    engine : str
        The engine that counted them.
    """

    rows: int
    later: int
    unmatched: int
    per_date: dict[int, tuple[pd.Index, pd.DataFrame]] = field(repr=False)
    engine: str = "duckdb"

    def per_person(self, people: pd.DataFrame, when: date) -> pd.DataFrame:
        """``people``'s counts on the events on record by ``when``, in their order: the per-person table of
        :func:`outcomes.reoffending.proven_reoffending` (offences), or of :func:`outcomes.custody.custody_nights`.

        Parameters
        ----------
        people : pandas.DataFrame
            People of the cohort (``person_id``).
        when : datetime.date
            A date the settlement measures them at (a tranche's, or the settlement's own).

        Examples
        --------
        >>> counts = per_person_frame(pd.DataFrame({"person_id": ["a", "b"], "index_day": [19723, 19723],
        ...     "observable": True, "reason": "", "reoffences": [2, 0], "days_to_first": [40.0, None]}))
        >>> counted = CountedOffences(2, 0, 0, {20000: (pd.Index(["a", "b"]), counts)})
        >>> counted.per_person(pd.DataFrame({"person_id": ["b"]}), date(2024, 10, 4))["reoffences"].tolist()
        [0]
        """
        ids, frame = self.per_date.get(day(pd.Timestamp(when)), (pd.Index([]), pd.DataFrame()))
        found = ids.get_indexer(pd.Index(people["person_id"].astype("str")))
        if (found < 0).any():  # the dates are the settlement's own (see the module notes): a miss is desist's error
            raise RuntimeError(f"{int((found < 0).sum())} people were not counted on the engine as of {when}")
        if len(found) == len(frame) and (found == np.arange(len(found))).all():
            return frame  # a tranche's own people, as counted: measured by several rules, taken out once
        return frame.iloc[found].reset_index(drop=True)


class CountedOffences(Counted):
    """The offences of a settlement, counted on an engine: proven reoffending per person and date measured."""


class CountedCustody(Counted):
    """The custody stays of a settlement, counted on an engine: bed nights per person and date measured."""


@dataclass(frozen=True)
class OffencesOnEngine:
    """Offences a settlement leaves to an engine: a file it reads, or a table pandas read and checked."""

    engine: DuckDB | Spark
    source: pd.DataFrame | str | Path

    def count(self, contract: Contract, cohort: pd.DataFrame, people: pd.DataFrame, settled: date) -> CountedOffences:
        """Count the offences for a settlement of ``contract`` on the date ``settled`` (see the module notes).

        Parameters
        ----------
        contract : Contract
            The contract settled (its ``[reoffending]`` measure and tranches).
        cohort : pandas.DataFrame
            The eligible people with their ``tranche``.
        people : pandas.DataFrame
            Every person given (checked): offences of no one in it are counted.
        settled : datetime.date
            The settlement date (``settle``'s ``as_of``, read).

        Raises
        ------
        SchemaError
            An offences file breaks its schema (as ``validate`` words it), or none of its ids is in people.
        """
        settings = _settings(contract)
        r = contract.spec.reoffending
        # a price per person without a proven reoffence measures everyone at the settlement date
        everyone = r is not None and r.price_key in contract.prices
        pairs = _pairs(contract, cohort, settled, _index_dates(cohort, contract.index), everyone)

        def staged(runner: Any) -> list:
            return stage_offence_table(runner, self.engine, self.source, settings, known=True, caller=CALLER)

        def counted(runner: Any) -> pd.DataFrame:
            return _measured(runner, settings, pairs)

        totals, counts = _counted(self.engine, "offences", self.source, staged, counted, people, settled)
        per_date = _per_date(pairs, lambda rows, _: per_person_frame(counts.take(rows).reset_index(drop=True)))
        return CountedOffences(*totals, per_date, type(self.engine).__name__.lower())


@dataclass(frozen=True)
class CustodyOnEngine:
    """A custody file a settlement leaves to an engine to read, check and count (see the module notes)."""

    engine: DuckDB | Spark
    source: str | Path

    def count(self, contract: Contract, cohort: pd.DataFrame, people: pd.DataFrame, settled: date) -> CountedCustody:
        """Check and count the stays, and each person's bed nights at each date the contract measures them.

        Parameters
        ----------
        contract, cohort, people, settled
            As :meth:`OffencesOnEngine.count` takes them; the contract's ``[custody]`` says what is counted.

        Raises
        ------
        SchemaError
            The custody file breaks its schema (as ``validate`` words it), or none of its ids is in people.

        Examples
        --------
        A stay of ten nights in the Custody Pathfinder's two years; ``b`` is never held:

        >>> import tempfile
        >>> from pricing import scheme
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = Path(folder) / "custody.parquet"
        ...     pd.DataFrame({"person_id": ["a"], "start": pd.to_datetime(["2012-01-01"]),
        ...                   "end": pd.to_datetime(["2012-01-11"]), "kind": ["remand"]}).to_parquet(path)
        ...     cohort = pd.DataFrame({"person_id": ["a", "b"], "start_date": pd.Timestamp("2011-10-01"),
        ...                            "tranche": "pilot"})
        ...     counted = CustodyOnEngine(DuckDB(threads=1), path).count(scheme("youth_justice"), cohort, cohort,
        ...                                                              date(2014, 3, 31))
        >>> counted.per_person(cohort, date(2014, 3, 31))["bed_nights"].tolist()
        [10, 0]
        """
        c = contract.custody
        assert c is not None  # a contract that reads custody counts its bed nights (pricing.contract)
        index = _index_dates(cohort, c.index)
        pairs = _pairs(contract, cohort, settled, index, everyone=False)

        def staged(runner: Any) -> list:
            today = pd.Timestamp.today().normalize()  # checked against today, as pricing.settlement_data checks
            return stage_custody_table(runner, self.engine, self.source, today=today, kinds=c.kinds, caller=CALLER)

        def counted(runner: Any) -> pd.DataFrame:
            _load_measured(runner, pairs)
            return nights_on_engine(runner, "measured", follow_up_days=c.follow_up_days, index=c.index,
                                    open_reason=WINDOW_OPEN)  # fmt: skip

        totals, nights = _counted(self.engine, "custody", self.source, staged, counted, people, settled)

        def frame(rows: np.ndarray, ids: pd.Index) -> pd.DataFrame:
            got = nights.take(rows)
            dates = index[pairs["cohort_row"].to_numpy()[rows]]
            counts = got["bed_nights"].to_numpy(dtype=float, na_value=np.nan)
            return nights_frame(ids.array, dates, got["observable"].to_numpy(dtype=bool), got["reason"].array, counts)

        return CountedCustody(*totals, _per_date(pairs, frame), type(self.engine).__name__.lower())


def _counted(
    engine: DuckDB | Spark,
    table: str,
    source: Any,
    staged: Callable[[Any], list],
    counted: Callable[[Any], pd.DataFrame],
    people: pd.DataFrame,
    settled: date,
) -> tuple[tuple[int, int, int], pd.DataFrame]:
    """A table of events (offences, custody) on an engine: staged (``staged(runner)`` gives the checks it carries),
    checked and linked in one pass (:func:`_on_record`: rows, those dated later, those of no one), then counted per
    person and date measured (``counted(runner)``)."""
    runner = engine.runner()
    try:
        rules = staged(runner)
        totals = _on_record(runner, table, rules, source, people, settled)
        return totals, counted(runner)
    finally:
        runner.close()


def _on_record(
    runner: Any, table: str, rules: list, source: Any, people: pd.DataFrame, settled: date
) -> tuple[int, int, int]:
    """One pass over a staged table (offences, custody): its rows, those dated after the settlement date and those
    on record by it of no one in people; the file's rows checked (an error names the first failing), and the links
    reported (none linking is an error)."""
    runner.load("people_ids", people[["person_id"]].astype({"person_id": "str"}))
    on_record = runner.fetch(stage.on_record_sql(f"{table}_stage", "people_ids", day(pd.Timestamp(settled)),
                                                 len(rules))).iloc[0]  # fmt: skip
    check_rows(runner, table, rules, on_record["n_rows"], source, ON_ENGINE[table])
    n, later, unmatched = (whole_count(on_record[k]) for k in ("n", "later", "unmatched"))
    _links(runner, table, Links(n - later, n - later - unmatched, unmatched), people, settled)
    return n, later, unmatched


def _per_date(
    pairs: pd.DataFrame, frame_of: Callable[[np.ndarray, pd.Index], pd.DataFrame]
) -> dict[int, tuple[pd.Index, pd.DataFrame]]:
    """For each date measured (a few: each a tranche's or the settlement's), the ids measured at it and their
    per-person table, built by ``frame_of(rows, ids)`` from their rows of ``pairs``."""
    cut_day = pairs["cut_day"].to_numpy()
    per_date = {}
    for cut in np.unique(cut_day):
        rows = np.flatnonzero(cut_day == cut)
        frame = frame_of(rows, pd.Index(pairs["person_id"].array[rows]))
        per_date[int(cut)] = (pd.Index(frame["person_id"]), frame)
    return per_date


def _load_measured(runner: Any, pairs: pd.DataFrame) -> None:
    """The people measured, once per date (``pairs``), as the view ``measured``."""
    runner.load("measured_raw", pairs[["person_id", "index_day", "cut_day"]])
    runner.view("measured", "SELECT _row, person_id, index_day, cut_day FROM measured_raw", keep=True)


def _measured(runner: Any, settings: Settings, pairs: pd.DataFrame) -> pd.DataFrame:
    """Per person and date measured (``pairs``, in their order): the per-person stage's columns."""
    _load_measured(runner, pairs)
    r = settings
    tallies = stage.dated_tallies_sql("offences_stage", "measured", follow_up_days=r.follow_up_days,
                                      waiting_days=r.waiting_days, counting=r.counting)  # fmt: skip
    runner.view("measured_tallies", tallies)
    per_person = stage.per_person_sql("measured", "measured_tallies", follow_up_days=r.follow_up_days,
                                      waiting_days=r.waiting_days, as_of_day="cut_day", no_index_reason=r.no_index,
                                      too_recent_reason=TOO_RECENT)  # fmt: skip
    # the ids are the pairs' own: no text is brought back from the engine but the reasons
    counts = runner.fetch(f"SELECT _row, index_day, observable, reason, reoffences, days_to_first FROM ({per_person}) "
                          "AS measured_people")  # fmt: skip
    return counts.sort_values("_row", kind="stable").assign(person_id=pairs["person_id"].array)


@dataclass(frozen=True)
class JudgedAssessments:
    """The assessments of a settlement, checked, counted and judged on an engine.

    Attributes
    ----------
    rows : int
        Assessment rows given.
    later : int
        Rows dated after the settlement date (not yet on record): counted among the exclusions.
    achieved : dict of str -> Achievement
        Each priced outcome judged for the cohort, as ``MetricSpec.achievement`` judges it.
    """

    rows: int
    later: int
    achieved: dict[str, Achievement] = field(repr=False)


@dataclass(frozen=True)
class AssessmentsOnEngine:
    """An assessments file a settlement leaves to an engine to read, check and score (see the module notes)."""

    engine: DuckDB | Spark
    source: str | Path

    def judge(self, contract: Contract, cohort: pd.DataFrame, settled: date) -> JudgedAssessments:
        """Check and count the assessments, and judge the contract's priced outcomes for ``cohort``.

        Parameters
        ----------
        contract : Contract
            The contract settled (its priced outcomes).
        cohort : pandas.DataFrame
            The eligible people with their tranche (``person_id``, ``start_date``).
        settled : datetime.date
            The settlement date: assessments dated after it are not yet on record.

        Raises
        ------
        SchemaError
            The file breaks its schema, in :func:`ground.tables.validate`'s words.

        Examples
        --------
        >>> import tempfile
        >>> from pricing import Contract
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = Path(folder.name) / "assessments.parquet"
        >>> pd.DataFrame({"person_id": ["a", "a"], "instrument": "ladder_ete", "item": "ladder", "score": [4.0, 8.0],
        ...               "assessed_on": pd.to_datetime(["2024-01-05", "2024-06-01"])}).to_parquet(path)
        >>> contract = Contract.from_toml("examples/specs/intermediate.toml")
        >>> cohort = pd.DataFrame({"person_id": ["a"], "start_date": pd.to_datetime(["2024-01-02"])})
        >>> judged = AssessmentsOnEngine(DuckDB(threads=1), path).judge(contract, cohort, date(2025, 9, 30))
        >>> judged.rows, judged.later, judged.achieved["ete"].per_person["status"].tolist()
        (2, 0, ['achieved'])
        >>> folder.cleanup()
        """
        runner = self.engine.runner()
        try:
            columns = load_assessments(runner, self.engine, self.source, CALLER)
            today = pd.Timestamp.today().normalize()  # checked against today, as pricing.settlement_data checks
            totals = check_assessments(runner, columns, self.source, today=today, settled=settled)
            achieved = _achieved(runner, columns, contract, cohort, settled)
        finally:
            runner.close()
        return JudgedAssessments(totals.rows, totals.later, achieved)


def _achieved(runner: Any, columns: dict, contract: Contract, cohort: pd.DataFrame, settled: date) -> dict:
    """The priced outcomes judged for the cohort (what settle's tariff reads), each instrument scored on the
    engine in turn and let go once its outcomes are judged."""
    spec = contract.spec
    priced = {k: o for k, o in spec.outcomes.items() if (o.price_key or k) in contract.prices}
    if not priced or cohort.empty:
        return {}
    people = Cohort.of(cohort)
    runner.load("people_measured", pd.DataFrame({"person_id": people.ids, "person_row": np.arange(len(people))}))
    judged: dict[str, Achievement] = {}
    for name in dict.fromkeys(o.instrument for o in priced.values()):
        mine = {k: o for k, o in priced.items() if o.instrument == name}
        items = [o.measure for o in mine.values() if o.measure != "score"]
        scores = scores_on_engine(runner, columns, "people_measured", people.ids, spec.instrument(name), items,
                                  settled)  # fmt: skip
        judged |= {
            key: achievement(
                people, scores, o.rule, o.window, o.baseline, as_of=pd.Timestamp(settled), measure=o.measure
            )
            for key, o in mine.items()
        }
    return judged


def held_back(
    contract: Contract, data: SettlementSource, engine: str | DuckDB | Spark
) -> tuple[SettlementSource, dict[str, Path | str]]:
    """The data for :func:`pricing.settlement_data.settlement_data` to read, and the files left to ``engine`` to
    read itself: the offences and the assessments, when each is a Parquet or CSV file (none on pandas).

    pandas checks an empty table in each file's place, so the engine alone reads the file.

    Parameters
    ----------
    contract : Contract
        The contract settled.
    data : mapping, or a data mapping file
        As :func:`pricing.settle` takes it.
    engine : "pandas", DuckDB or Spark
        Where the offences are counted and the assessments scored (:func:`outcomes.engines.as_engine`'s answer).

    Examples
    --------
    >>> from pricing import scheme
    >>> import tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "offences.parquet"
    >>> pd.DataFrame({"person_id": ["a"]}).to_parquet(path)
    >>> data, files = held_back(scheme("doncaster"), {"people": "people.csv", "offences": str(path)}, DuckDB())
    >>> len(data["offences"]), files == {"offences": path}
    (0, True)
    >>> folder.cleanup()
    """
    if engine == "pandas" or not isinstance(data, Mapping):
        return data, {}
    files = {
        name: cast("Path | str", located(cast("str | Path", data[name])))  # a path (or URL) stays one
        for name in ON_ENGINE
        if name in contract.tables and name in data and _engine_reads(data[name], name)
    }
    empty = {name: pd.DataFrame({c: pd.Series(dtype="str") for c in ON_ENGINE[name]}) for name in files}
    return {**data, **empty}, files


def on_engine(
    engine: str | DuckDB | Spark, given: SettlementData, files: Mapping[str, Path | str]
) -> OffencesOnEngine | None:
    """The offences a settlement counts on ``engine``: the file it reads itself (:func:`held_back`), or the table
    pandas read and checked; taken out of ``given``'s tables. None on pandas, or for a contract without offences.

    Parameters
    ----------
    engine : "pandas", DuckDB or Spark
        Where the offences are counted.
    given : SettlementData
        The tables pandas read and checked.
    files : mapping of str -> Path or str
        The files :func:`held_back` left to the engine.

    Examples
    --------
    >>> from pricing import scheme
    >>> people = pd.DataFrame({"person_id": ["a"], "start_date": ["2011-11-01"]})
    >>> offences = pd.DataFrame(columns=["person_id", "offence_date", "disposal_date", "disposal"])
    >>> from pricing.settlement_data import settlement_data
    >>> given = settlement_data(scheme("doncaster"), {"people": people, "offences": offences})
    >>> held = on_engine(DuckDB(), given, {})
    >>> sorted(given.tables), type(held.source).__name__
    (['people'], 'DataFrame')
    """
    if not isinstance(engine, (DuckDB, Spark)) or "offences" not in given.tables:
        return None
    checked = given.tables.pop("offences")
    return OffencesOnEngine(engine, files.get("offences", checked))


def assessments_on_engine(
    engine: str | DuckDB | Spark, given: SettlementData, files: Mapping[str, Path | str]
) -> AssessmentsOnEngine | None:
    """The assessments file a settlement leaves to ``engine`` (:func:`held_back`), taken out of ``given``'s
    tables (the empty table pandas checked in its place); None when pandas reads them.

    Parameters
    ----------
    engine : "pandas", DuckDB or Spark
        Where the assessments are scored.
    given : SettlementData
        The tables pandas read and checked.
    files : mapping of str -> Path or str
        The files :func:`held_back` left to the engine.

    Examples
    --------
    >>> from pricing.settlement_data import SettlementData
    >>> given = SettlementData({"assessments": pd.DataFrame()}, set(), {}, {})
    >>> held = assessments_on_engine(DuckDB(), given, {"assessments": Path("assessments.parquet")})
    >>> held.source, sorted(given.tables)
    (PosixPath('assessments.parquet'), [])
    """
    path = _taken("assessments", engine, given, files)
    return None if path is None else AssessmentsOnEngine(cast("DuckDB | Spark", engine), path)


def custody_on_engine(
    engine: str | DuckDB | Spark, given: SettlementData, files: Mapping[str, Path | str]
) -> CustodyOnEngine | None:
    """The custody file a settlement leaves to ``engine`` (:func:`held_back`), taken out of ``given``'s tables (the
    empty table pandas checked in its place); None when pandas counts the stays (a DataFrame, an Excel file or a
    mapped table, on every engine).

    Parameters
    ----------
    engine, given, files
        As :func:`assessments_on_engine` takes them (``engine``: where the bed nights are counted).

    Examples
    --------
    >>> from pricing.settlement_data import SettlementData
    >>> given = SettlementData({"custody": pd.DataFrame()}, set(), {}, {})
    >>> custody_on_engine("pandas", given, {}) is None, sorted(given.tables)
    (True, ['custody'])
    """
    path = _taken("custody", engine, given, files)
    return None if path is None else CustodyOnEngine(cast("DuckDB | Spark", engine), path)


def _taken(
    table: str, engine: str | DuckDB | Spark, given: SettlementData, files: Mapping[str, Path | str]
) -> Path | str | None:
    """The file of ``table`` left to an engine, taken out of ``given``'s tables; None when pandas reads it."""
    if not isinstance(engine, (DuckDB, Spark)) or table not in files:
        return None
    given.tables.pop(table)
    return files[table]


def _engine_reads(source: Any, table: str) -> bool:
    """Whether a table is a file the engines read themselves (Parquet or CSV)."""
    if not isinstance(source, (str, Path)) or Path(str(source)).suffix.lower() == ".toml":
        return False
    return file_format(source, table) in ("Parquet", "CSV")


def _settings(contract: Contract) -> Settings:
    r = contract.spec.reoffending
    assert r is not None  # a contract that reads offences has a [reoffending] measure (pricing.contract)
    # disposals as their levels, as proven_reoffending reads them ("Conviction" is a conviction)
    levels = tuple(str(d).strip().casefold().replace(" ", "_") for d in r.disposals)
    # checked against today, as pricing.settlement_data checks every table; the dates measured are in the counts
    return Settings(contract.index, r.follow_up_days, r.waiting_days, None, levels, r.counting)


def _index_dates(cohort: pd.DataFrame, index: str) -> np.ndarray:
    """The cohort's index dates (``index``) as datetime64[ns], NaT where missing or not a date (pandas refuses those
    as it measures them: pricing.settlement)."""
    return parse_dates(cohort[index])[0].to_numpy(dtype="datetime64[ns]")


def _pairs(contract: Contract, cohort: pd.DataFrame, as_of: date, index: np.ndarray, everyone: bool) -> pd.DataFrame:
    """Each person of the cohort once per date they are measured at (each tranche's interim and final dates, and
    the settlement's own for ``everyone``): ``person_id``, ``index_day`` (from ``index``), ``cut_day`` and
    ``cohort_row``."""
    index_day = pd.array(index.astype("datetime64[D]").astype(np.int64), dtype="Int64")
    index_day[np.isnat(index)] = pd.NA
    parts = []
    for t in contract.tranches:
        inside = np.flatnonzero((cohort["tranche"] == t.name).to_numpy())
        for when in {d for d in (t.interim, t.final) if d is not None and d <= as_of}:
            parts.append((inside, day(pd.Timestamp(when))))
    if everyone:
        parts.append((np.arange(len(cohort)), day(pd.Timestamp(as_of))))
    rows = np.concatenate([p for p, _ in parts]) if parts else np.array([], dtype=np.int64)
    cut = np.concatenate([np.full(len(p), when) for p, when in parts]) if parts else np.array([], dtype=np.int64)
    # ids taken as the text they are (Arrow's), not made into a million Python strings
    ids = cohort["person_id"].astype("str").take(rows).array
    return pd.DataFrame({"person_id": ids, "index_day": index_day[rows], "cut_day": cut, "cohort_row": rows})


def _links(runner: Any, table: str, links: Links, people: pd.DataFrame, as_of: date) -> None:
    """No event (offence, stay) on record linking to anyone is an error, in check_links' words; some not linking
    are counted among the exclusions (pricing.settle), not warned about again."""
    unmatched: list[str] = []
    if links.n and not links.matched:
        first = (
            f"SELECT person_id FROM {table}_stage WHERE known_day <= {day(pd.Timestamp(as_of))} "
            "GROUP BY person_id ORDER BY person_id LIMIT 3"
        )
        unmatched = runner.fetch(first)["person_id"].tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmatchedRowsWarning)
        report_links(links, table=table, to_table="people", unmatched_ids=unmatched,
                     known_ids=people["person_id"].astype("str").head(3).tolist())  # fmt: skip
