"""Proven reoffending from offence events (the MoJ measure and its PbR variants).

A proven reoffence is an offence committed within the follow-up period after
the index date (strictly after it: offences on the index date itself do not
count, and up to ``follow_up_days`` after it) that is proven by a listed
disposal (court conviction, caution) dated no later than the end of the
follow-up plus the waiting period. People whose follow-up plus waiting period
has not elapsed by ``as_of`` are not observable and are counted with that
reason, never scored as non-reoffenders.

Counting: ``counting="offences"`` (default, the MoJ frequency measure) counts
each proven offence; several offences on one day are several reoffences.
``counting="court_appearances"`` counts distinct disposal dates per person:
the Peterborough "reconviction events", where a court appearance ending in
conviction counts once however many offences it covers.

Dates are days: a time of day is dropped, and a time zone is dropped keeping
the date where the event was recorded.

Engines: pandas (the default) computes in memory; DuckDB and Spark run the
same definition written in SQL (:mod:`outcomes.engines.sql`) on tables given
as DataFrames or read from Parquet or CSV files, out of core or on a cluster.
Every engine checks the tables with the same rules and messages and returns
the same per-person table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ground.checks import InstanceOf, Interval, Options, check_parameter, parameter_error
from ground.dates import DateLike, parse_date
from ground.reading import TableSource, read_frame
from ground.tables import DISPOSAL_LEVELS, Links, report_links
from outcomes.engines import as_engine
from outcomes.engines.boundary import (
    TOO_RECENT,
    Settings,
    check_offences,
    check_people,
    located,
    source_name,
)
from outcomes.engines.run import EPOCH, day, run_sql
from outcomes.engines.sql import OFFENCE_COLUMNS
from outcomes.rates import Frequency, Proportion

COUNTINGS = ("offences", "court_appearances")
#: Where a per-person table written by :meth:`ProvenReoffending.to_parquet` records how it was measured
#: (``DataFrame.attrs``, kept in the Parquet file): a settlement refuses a pool measured another way.
MEASURE_KEY = "desist_reoffending"


@dataclass(frozen=True)
class ProvenReoffending:
    """Proven reoffending per person, with exclusions counted.

    Attributes
    ----------
    per_person : DataFrame
        One row per person in ``people`` (same order): person_id, index_date
        (the date, without a time of day), observable (bool), reason (""
        when observable), reoffended (boolean, NA when not observable),
        reoffences (Int64, in ``counting`` units, NA when not observable),
        days_to_first (float, NaN when none). The same on every engine.
    follow_up_days, waiting_days, disposals, counting, as_of : the settings.
    links : ground.tables.Links
        How the offences linked to people: ``n`` offences, ``matched``,
        ``unmatched`` (left out and counted in :attr:`offence_counts`).
    engine : str
        The engine that computed it: pandas, duckdb or spark.
    """

    per_person: pd.DataFrame
    follow_up_days: int
    waiting_days: int
    disposals: tuple[str, ...]
    counting: str
    as_of: pd.Timestamp | None
    links: Links = Links(0, 0, 0)
    engine: str = "pandas"

    @property
    def counts(self) -> dict[str, int]:
        """all, observable, and each exclusion reason (they reconcile)."""
        pp = self.per_person
        out = {"all": len(pp), "observable": int(pp["observable"].sum())}
        out.update({f"excluded: {r}": int(n) for r, n in pp.loc[~pp["observable"], "reason"].value_counts().items()})
        return out

    @property
    def offence_counts(self) -> dict[str, int]:
        """Offence rows: all, linked to a person in people, and those left out (they reconcile)."""
        return {
            "all": self.links.n,
            "linked": self.links.matched,
            "excluded: person_id matches no one in people": self.links.unmatched,
        }

    def _observed(self) -> pd.DataFrame:
        return self.per_person.loc[self.per_person["observable"]]

    def rate(self, alpha: float = 0.05) -> Proportion:
        """Binary rate: share of observable people with a proven reoffence (Wilson CI)."""
        obs = self._observed()
        return Proportion.of(int(obs["reoffended"].sum()), len(obs), alpha)

    def frequency(self, alpha: float = 0.05) -> Frequency:
        """Proven reoffences (in ``counting`` units) per 100 observable people."""
        return Frequency.of(self._observed()["reoffences"].to_numpy(dtype=float), alpha)

    def per_reoffender(self) -> float:
        """Mean reoffences among those who reoffended (NaN if none)."""
        obs = self._observed()
        return (
            float(obs.loc[obs["reoffended"].astype(bool), "reoffences"].mean())
            if obs["reoffended"].any()
            else float("nan")
        )

    def to_frame(self) -> pd.DataFrame:
        return self.per_person

    def table(self, people: pd.DataFrame | str | Path | None = None, observable_only: bool = False) -> pd.DataFrame:
        """The per-person table, after ``people``'s own columns when given (the table it was measured on,
        a DataFrame or its file): a cohort or pool with its outcome columns, as matching reads them.

        ``observable_only`` keeps the observable people (the others are counted in :attr:`counts`).
        """
        check_parameter(observable_only, "observable_only", "table", Options(True, False))
        out = self.per_person
        if people is not None:
            given = read_people(people) if not isinstance(people, pd.DataFrame) else people
            if len(given) != len(out):
                raise parameter_error("people", "table", f"the {len(out):,} people measured", f"{len(given):,} rows")
            kept = given.drop(columns=[c for c in out.columns if c in given.columns]).reset_index(drop=True)
            out = pd.concat([out[["person_id"]], kept, out.drop(columns="person_id")], axis=1)
        return out.loc[out["observable"]].reset_index(drop=True) if observable_only else out

    def to_parquet(self, path: str | Path, people: Any = None, observable_only: bool = False) -> Path:
        """Write :meth:`table` as Parquet, recording :attr:`definition` in it; returns the path."""
        path = Path(path)
        table = self.table(people, observable_only)
        table.attrs[MEASURE_KEY] = self.definition
        table.to_parquet(path, index=False)
        return path

    @property
    def definition(self) -> dict[str, Any]:
        """What was measured: follow-up and waiting days, the disposals that prove and the counting."""
        return {
            "follow_up_days": self.follow_up_days,
            "waiting_days": self.waiting_days,
            "disposals": list(self.disposals),
            "counting": self.counting,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.definition,
            "as_of": None if self.as_of is None else str(self.as_of.date()),
            "engine": self.engine,
            "counts": self.counts,
            "offence_counts": self.offence_counts,
            "rate": self.rate().to_dict(),
            "frequency": self.frequency().to_dict(),
        }

    def summary(self) -> str:
        c = self.counts
        unit = (
            "reconviction events (court appearances)" if self.counting == "court_appearances" else "proven reoffences"
        )
        as_of = (
            f"as of {self.as_of.date()}"
            if self.as_of is not None
            else "as_of not given: every follow-up and waiting period assumed to have elapsed"
        )
        lines = [
            f"Proven reoffending: offences within {self.follow_up_days} days after the index date, proven by "
            f"{' or '.join(self.disposals)} within a further {self.waiting_days} days; {as_of}.",
            f"{c['all']} people, {c['observable']} observable"
            + "".join(f"; {k} {v}" for k, v in c.items() if k.startswith("excluded"))
            + ".",
            f"{self.links.n:,} offence rows, {self.links.matched:,} linked to these people"
            + (f"; {self.links.unmatched:,} match no one in people, left out" if self.links.unmatched else "")
            + ".",
            f"Reoffended: {self.rate()}.",
            f"Frequency: {self.frequency()} {unit}.",
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def proven_reoffending(
    people: pd.DataFrame | str | Path,
    offences: pd.DataFrame | str | Path,
    index: str = "start_date",
    follow_up_days: int = 365,
    waiting_days: int = 182,
    as_of: DateLike | None = None,
    disposals: tuple[str, ...] | list[str] = ("conviction", "caution"),
    counting: str = "offences",
    engine: Any = "pandas",
) -> ProvenReoffending:
    """Proven reoffending per person: binary, frequency, days to first.

    Parameters
    ----------
    people : DataFrame, path or TableSource
        person_id (unique) and the index date column; or a Parquet or CSV
        file holding them, or a data mapping's table (:mod:`ground.mapping`).
    offences : DataFrame, path or TableSource
        person_id, offence_date, disposal_date, disposal; or a Parquet or CSV
        file, or a data mapping's table. Rows of people not in ``people`` are left out and counted (an
        :class:`~ground.tables.UnmatchedRowsWarning`); none matching is an error.
    index : str
        Column of ``people`` holding the index date (start of follow-up).
        People without one are left out and counted.
    follow_up_days, waiting_days : int
        Offences on days 1..follow_up_days after the index date count when
        proven by day follow_up_days + waiting_days. Dates are days: a time
        of day is dropped, and a time zone is dropped keeping the local date.
    as_of : date-like, optional
        The data's as-of date: people whose index + follow-up + waiting is
        after it are not observable, and no date may be after it. Default
        None assumes every period has elapsed (the summary says so) and
        checks that no date is after today.
    disposals : sequence of str
        Disposals that prove an offence (PbR pilots used convictions only),
        from conviction, caution, acquittal, no_further_action, other.
    counting : {"offences", "court_appearances"}
        Unit of the frequency measure (see the module notes).
    engine : {"pandas", "duckdb", "spark"} or an engine
        Where to compute: ``"pandas"`` in memory; ``"duckdb"`` (or
        :class:`outcomes.engines.DuckDB` with a memory limit) out of core,
        reading files straight from disk; ``"spark"`` (or
        :class:`outcomes.engines.Spark` with a session on a cluster). Every
        engine applies the same checks and gives the same per-person table.

    Raises
    ------
    ParameterError
        A bad argument.
    SchemaError
        A table misses a column, has a bad date, an unknown disposal, a
        disposal before its offence, a repeated person_id, or offences whose
        ids match no one in people (rows counted from 1).

    Examples
    --------
    >>> people = pd.DataFrame({"person_id": ["a", "b"], "start_date": ["2024-01-01", "2024-01-01"]})
    >>> offences = pd.DataFrame({"person_id": ["a"], "offence_date": ["2024-03-01"],
    ...                          "disposal_date": ["2024-05-01"], "disposal": ["Conviction"]})
    >>> r = proven_reoffending(people, offences, as_of="2025-12-31")
    >>> r.per_person[["person_id", "reoffences", "days_to_first"]]
      person_id  reoffences  days_to_first
    0         a           1           60.0
    1         b           0            NaN
    """
    settings = _settings(index, follow_up_days, waiting_days, as_of, disposals, counting)
    for name, table in (("people", people), ("offences", offences)):
        check_parameter(
            table,
            name,
            "proven_reoffending",
            InstanceOf((pd.DataFrame, str, Path, TableSource), "a DataFrame or a path (or a data mapping's table)"),
        )
    chosen = as_engine(engine)
    if chosen != "pandas":  # a mapped table (ground.mapping) reads itself; a SQL engine then takes it as a frame
        people, offences = (read_frame(t) if isinstance(t, TableSource) else t for t in (people, offences))
    if chosen == "pandas":
        raw, links = _pandas(people, offences, settings)
        name = "pandas"
    else:
        raw, links = run_sql(chosen, people, offences, settings)
        name = type(chosen).__name__.lower()
    return ProvenReoffending(
        per_person_frame(raw),
        settings.follow_up_days,
        settings.waiting_days,
        settings.disposals,
        settings.counting,
        settings.as_of,
        links,
        name,
    )


def _settings(
    index: Any, follow_up_days: Any, waiting_days: Any, as_of: Any, disposals: Any, counting: Any
) -> Settings:
    caller = "proven_reoffending"
    check_parameter(index, "index", caller, InstanceOf(str, "a column name"))
    check_parameter(follow_up_days, "follow_up_days", caller, Interval(int, 1, None))
    check_parameter(waiting_days, "waiting_days", caller, Interval(int, 0, None))
    check_parameter(counting, "counting", caller, Options(*COUNTINGS))
    chosen = (disposals,) if isinstance(disposals, str) else tuple(disposals) if _listlike(disposals) else ()
    levels = tuple(str(d).strip().casefold().replace(" ", "_") for d in chosen if isinstance(d, str))
    if not chosen or len(levels) != len(chosen) or not set(levels) <= set(DISPOSAL_LEVELS):
        raise parameter_error("disposals", caller, f"a list of disposals from {', '.join(DISPOSAL_LEVELS)}", disposals)
    return Settings(index, int(follow_up_days), int(waiting_days), _as_of(as_of), levels, counting)


def _listlike(value: Any) -> bool:
    return isinstance(value, (list, tuple, set, frozenset))


def _as_of(as_of: Any) -> pd.Timestamp | None:
    if as_of is None:
        return None
    return parse_date(as_of, "The 'as_of' parameter of proven_reoffending")


# ---------------------------------------------------------------- pandas


def read_people(source: str | Path) -> pd.DataFrame:
    """A people file (CSV, Parquet or Excel) read by :func:`ground.reading.read_frame`, ids as text.

    Parameters
    ----------
    source : str or Path
        The file; an error names it.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "people.csv"
    >>> _ = path.write_text("person_id,start_date\\n007,2024-01-01\\n", encoding="utf-8")
    >>> read_people(path)["person_id"].tolist()
    ['007']
    >>> folder.cleanup()
    """
    return read_frame(located(source), table="people", text=["person_id"])


def _pandas(people: Any, offences: Any, settings: Settings) -> tuple[pd.DataFrame, Links]:
    """Per-person counts and links, computed in memory (the SQL stage's columns)."""
    sources = people, offences
    if not isinstance(people, pd.DataFrame):
        people = read_frame(located(people), table="people", columns=settings.people_columns, text=["person_id"])
    if not isinstance(offences, pd.DataFrame):
        offences = read_frame(
            located(offences), table="offences", columns=OFFENCE_COLUMNS, text=["person_id", "disposal"]
        )
    people = check_people(people, settings, sources[0])
    offences = check_offences(offences, settings, sources[1])
    # each offence's person as a position in people (-1: no one), so the stage joins by indexing
    person = _positions(offences["person_id"], people["person_id"])
    links = _links(person, offences, people, sources[1])
    return _event_stage(people, offences, person, settings), links


def _positions(ids: pd.Series, known: pd.Series) -> np.ndarray:
    """Each id's position in ``known`` (unique), -1 where it is not there: Arrow's hash join of the text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found = pc.index_in(pa.array(ids, pa.large_string()), value_set=pa.array(known, pa.large_string()))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _links(person: np.ndarray, offences: pd.DataFrame, people: pd.DataFrame, source: Any) -> Links:
    """:func:`ground.tables.check_links`' counts and words, from the positions already found."""
    unmatched = person < 0
    links = Links(n=len(person), matched=int((~unmatched).sum()), unmatched=int(unmatched.sum()))
    if not links.unmatched:
        return links
    return report_links(
        links,
        table="offences",
        to_table="people",
        source=source_name(source),
        unmatched_ids=pd.unique(offences["person_id"].to_numpy()[unmatched])[:3],
        known_ids=people["person_id"].to_numpy()[:3],
    )


def _days(values: pd.Series) -> np.ndarray:
    """Whole days from 1970-01-01 (float, NaN where missing)."""
    days = values.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    return np.where(np.isnat(days), np.nan, days.astype("int64").astype(float))


def _event_stage(people: pd.DataFrame, offences: pd.DataFrame, person: np.ndarray, settings: Settings) -> pd.DataFrame:
    """:func:`outcomes.engines.sql.per_person_sql` in numpy; ``person``: each offence's position in people."""
    proof_by = settings.follow_up_days + settings.waiting_days
    index_day = _days(people[settings.index])
    proving = offences["disposal"].isin(settings.disposals).to_numpy() & (person >= 0)
    who = person[proving]
    start = index_day[who]
    after = _days(offences["offence_date"])[proving] - start
    disposal_day = _days(offences["disposal_date"])[proving]
    proven = (after > 0) & (after <= settings.follow_up_days) & (disposal_day <= start + proof_by)
    who, after, disposal_day = who[proven], after[proven], disposal_day[proven]
    if settings.counting == "court_appearances":
        # one count per person and disposal date (days from 1970 shifted to be positive: dates start in 1677)
        who = np.unique(who * 1_000_000 + (disposal_day.astype(np.int64) + 500_000)) // 1_000_000
    n = np.bincount(who, minlength=len(people)).astype(float)
    first = pd.Series(after).groupby(person[proving][proven]).min().reindex(range(len(people))).to_numpy()
    no_index = np.isnan(index_day)
    too_recent = np.zeros(len(people), dtype=bool)
    if settings.as_of is not None:
        too_recent = index_day + proof_by > day(settings.as_of)
    observable = ~no_index & ~too_recent
    return pd.DataFrame(
        {
            "person_id": people["person_id"].to_numpy(),
            "index_day": index_day,
            "observable": observable,
            "reason": np.select([no_index, too_recent], [settings.no_index, TOO_RECENT], default=""),
            "reoffences": np.where(observable, n, np.nan),
            "days_to_first": np.where(observable, first, np.nan),
        }
    )


def per_person_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """The per-person table every engine returns, with one set of types, from the stage's columns.

    Parameters
    ----------
    raw : pandas.DataFrame
        An engine's per-person stage: ``person_id``, ``index_day`` (days since 1970-01-01), ``observable``,
        ``reason``, ``reoffences``, ``days_to_first``.

    Examples
    --------
    >>> raw = pd.DataFrame({"person_id": ["a", "b"], "index_day": [19723, 19724], "observable": [True, False],
    ...                     "reason": ["", "follow-up not elapsed"], "reoffences": [2, 0],
    ...                     "days_to_first": [40.0, None]})
    >>> frame = per_person_frame(raw)
    >>> frame["index_date"].dt.date.astype(str).tolist(), frame["reoffended"].tolist()
    (['2024-01-01', '2024-01-02'], [True, False])
    """
    count = pd.to_numeric(raw["reoffences"]).astype("Int64")
    index_day = pd.to_numeric(raw["index_day"]).astype(float).to_numpy()
    return pd.DataFrame(
        {
            "person_id": raw["person_id"].astype("str").array,
            "index_date": (EPOCH + pd.to_timedelta(index_day, unit="D")).astype("datetime64[ns]"),
            "observable": raw["observable"].to_numpy(dtype=bool),
            "reason": raw["reason"].astype("str").array,
            "reoffended": (count > 0).astype("boolean"),
            "reoffences": count,
            "days_to_first": pd.to_numeric(raw["days_to_first"]).astype(float).to_numpy(),
        }
    )
