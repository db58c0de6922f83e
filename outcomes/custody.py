"""Custody bed nights: the nights a person spends in custody within a follow-up window.

The measure of the youth justice custody pilots (the Youth Justice Board's
Youth Justice Reinvestment Custody Pathfinder, 2011-2013, set each site a
target in custody bed nights) and of pay-for-success projects that count bed
days. A ``custody`` table holds one row per stay (``person_id``, ``start``,
``end``, ``kind``: ``remand`` or ``sentenced``; ``end`` missing while the
person is still held). A stay covers the nights beginning on ``start`` up to
the night before ``end``: received on Monday and released on Wednesday is two
nights, received and released the same day is none.

The follow-up window is the ``follow_up_days`` nights beginning on the index
date (the night of the index date is the first). Stays are clipped to the
window, overlapping stays of one person count each night once, and a stay
still open counts up to the end of the window (or to ``as_of``, whichever is
first). People whose window has not closed by ``as_of`` are not observable and
are counted with that reason, never scored as zero nights. Stays of people not
in ``people`` are left out and counted; stays of kinds not asked for are left
out. Everything is vectorised: one sort of the stays, no loop over people.

Examples
--------
>>> people = pd.DataFrame({"person_id": ["a", "b"], "start_date": ["2024-01-01", "2024-01-01"]})
>>> custody = pd.DataFrame({"person_id": ["a", "a"], "start": ["2024-01-10", "2024-01-12"],
...                         "end": ["2024-01-15", "2024-01-20"], "kind": ["remand", "sentenced"]})
>>> custody_nights(people, custody, follow_up_days=365, as_of="2025-06-30").per_person["bed_nights"].tolist()
[10, 0]
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ground.checks import InstanceOf, Interval, check_parameter, parameter_error, require_columns
from ground.dates import DateLike, parse_date
from ground.reading import read_frame, schema_text
from ground.tables import CUSTODY_KINDS, Links, UnmatchedRowsWarning, check_links, validate
from outcomes.rates import Frequency

__all__ = ["CUSTODY_KINDS", "CustodyNights", "custody_nights", "nights_frame", "window_people"]

#: The reason a person whose window is still open is left out.
WINDOW_OPEN = "follow-up window not closed by as_of"


@dataclass(frozen=True)
class CustodyNights:
    """Custody bed nights per person, with exclusions counted.

    Attributes
    ----------
    per_person : DataFrame
        One row per person in ``people`` (same order): person_id, index_date,
        observable (bool), reason ("" when observable), bed_nights (Int64, NA
        when not observable).
    follow_up_days : int
    kinds : tuple of str
        The kinds of custody counted.
    as_of : Timestamp or None
    links : ground.tables.Links
        How the stays linked to people (``unmatched`` stays left out).
    """

    per_person: pd.DataFrame
    follow_up_days: int
    kinds: tuple[str, ...]
    as_of: pd.Timestamp | None
    links: Links = Links(0, 0, 0)

    @property
    def counts(self) -> dict[str, int]:
        """all, observable, and each exclusion reason (they reconcile)."""
        pp = self.per_person
        out = {"all": len(pp), "observable": int(pp["observable"].sum())}
        out.update({f"excluded: {r}": int(n) for r, n in pp.loc[~pp["observable"], "reason"].value_counts().items()})
        return out

    def nights(self, alpha: float = 0.05) -> Frequency:
        """Bed nights per 100 observable people, with a normal interval from the per-person SD."""
        observed = self.per_person.loc[self.per_person["observable"], "bed_nights"]
        return Frequency.of(observed.to_numpy(dtype=float), alpha)

    def to_frame(self) -> pd.DataFrame:
        return self.per_person

    def to_dict(self) -> dict[str, Any]:
        return {
            "follow_up_days": self.follow_up_days,
            "kinds": list(self.kinds),
            "as_of": None if self.as_of is None else str(self.as_of.date()),
            "counts": self.counts,
            "stays": {"all": self.links.n, "linked": self.links.matched, "unmatched": self.links.unmatched},
            "nights": self.nights().to_dict(),
        }

    def summary(self) -> str:
        c = self.counts
        left = "".join(f"; {k} {v}" for k, v in c.items() if k.startswith("excluded"))
        return "\n".join(
            [
                f"Custody bed nights ({' and '.join(self.kinds)}) in the {self.follow_up_days} nights from the index "
                f"date{'' if self.as_of is None else f', as of {self.as_of.date()}'}.",
                f"{c['all']} people, {c['observable']} observable{left}.",
                f"{self.links.n:,} stays, {self.links.matched:,} of these people"
                + (f"; {self.links.unmatched:,} of no one in people, left out" if self.links.unmatched else "")
                + ".",
                f"Bed nights: {self.nights()}.",
            ]
        )

    def __str__(self) -> str:
        return self.summary()


def custody_nights(
    people: pd.DataFrame | str | Path,
    custody: pd.DataFrame | str | Path,
    *,
    index: str = "start_date",
    follow_up_days: int = 365,
    kinds: Sequence[str] = CUSTODY_KINDS,
    as_of: DateLike | None = None,
) -> CustodyNights:
    """Nights in custody per person within the follow-up window.

    Parameters
    ----------
    people : DataFrame or path
        person_id (unique) and the index date column.
    custody : DataFrame or path
        person_id, start, end (missing: still held), kind (remand or sentenced).
    index : str
        The people column holding the index date: the window's first night.
    follow_up_days : int
        Nights in the window.
    kinds : sequence of str
        The kinds of custody counted (default both).
    as_of : date-like, optional
        The data's as-of date: people whose window ends after it are not
        observable, a stay still open counts up to it, and no date may be
        after it. Default None assumes every window has closed and checks that
        no date is after today.

    Returns
    -------
    CustodyNights

    Raises
    ------
    ParameterError
        A bad argument.
    SchemaError
        A table misses a column, has a bad date, an unknown kind, a stay
        ending before it starts, a repeated person_id, or stays whose ids
        match no one in people.

    Examples
    --------
    >>> people = pd.DataFrame({"person_id": ["a"], "start_date": ["2024-01-01"]})
    >>> custody = pd.DataFrame({"person_id": ["a"], "start": ["2023-12-20"], "end": [None], "kind": ["remand"]})
    >>> custody_nights(people, custody, follow_up_days=30, as_of="2024-01-21").per_person["reason"].tolist()
    ['follow-up window not closed by as_of']
    """
    caller = "custody_nights"
    check_parameter(index, "index", caller, InstanceOf(str, "a column name"))
    check_parameter(follow_up_days, "follow_up_days", caller, Interval(int, 1, None))
    chosen = (kinds,) if isinstance(kinds, str) else tuple(kinds) if isinstance(kinds, (list, tuple)) else ()
    if not chosen or not set(chosen) <= set(CUSTODY_KINDS):
        raise parameter_error("kinds", caller, f"a list of kinds from {', '.join(CUSTODY_KINDS)}", kinds)
    when = None if as_of is None else parse_date(as_of, f"The 'as_of' parameter of {caller}").normalize()
    custody_source = None if isinstance(custody, pd.DataFrame) else str(custody)
    people = window_people(people, index, when)
    stays = _stays(custody, when)
    with warnings.catch_warnings():
        # The unmatched stays are counted in the result's links; the warning says the same once.
        warnings.simplefilter("always", UnmatchedRowsWarning)
        links = check_links(stays, people, table="custody", to_table="people", source=custody_source)
    nights, observable, reason = _nights(people, stays, index, follow_up_days, tuple(chosen), when)
    per_person = nights_frame(
        people["person_id"].astype("str").array, people[index].to_numpy(dtype="datetime64[ns]"), observable, reason,
        nights,
    )  # fmt: skip
    return CustodyNights(per_person, int(follow_up_days), tuple(chosen), when, links)


def nights_frame(
    person_id: Any, index_date: np.ndarray, observable: np.ndarray, reason: Any, nights: Any
) -> pd.DataFrame:
    """The per-person table of :class:`CustodyNights`, from its columns (counted here or on a SQL engine).

    Parameters
    ----------
    person_id : array of str
        The people, in order.
    index_date : numpy.ndarray of datetime64[ns]
        Their index dates.
    observable : numpy.ndarray of bool
        Whether each is observable.
    reason : array of str
        Why not ("" when observable).
    nights : array of numbers
        Their bed nights (read only where observable).

    Examples
    --------
    >>> frame = nights_frame(["a", "b"], np.array(["2024-01-01", "2024-02-01"], dtype="datetime64[ns]"),
    ...                      np.array([True, False]), ["", WINDOW_OPEN], np.array([3.0, np.nan]))
    >>> frame["bed_nights"].tolist()
    [3, <NA>]
    """
    return pd.DataFrame(
        {
            "person_id": person_id,
            "index_date": index_date,
            "observable": observable,
            "reason": pd.array(reason, dtype="str"),
            "bed_nights": pd.array(np.where(observable, nights, np.nan), dtype="Int64"),
        }
    )


def window_people(people: Any, index: str, as_of: DateLike | None) -> pd.DataFrame:
    """People's ids and index dates, checked as :func:`custody_nights` checks them (a file read first).

    Parameters
    ----------
    people : DataFrame or path
        person_id (unique) and the index date column.
    index : str
        The column holding the index date (missing: the person is not observable).
    as_of : date-like, optional
        No index date may be after it (None: today).

    Raises
    ------
    SchemaError
        In :func:`ground.tables.validate`'s words.

    Examples
    --------
    >>> people = pd.DataFrame({"person_id": [7], "released_on": ["2024-01-01"]})
    >>> window_people(people, "released_on", pd.Timestamp("2024-06-30"))["person_id"].tolist()
    ['7']
    """
    when = None if as_of is None else parse_date(as_of, "The 'as_of' parameter of window_people")
    source = None if isinstance(people, pd.DataFrame) else str(people)
    if source is not None:
        people = read_frame(people, table="people", text=["person_id"])
    require_columns(people, {"person_id": "person_id", "index": index}, table="people", source=source)
    columns = {"person_id": "person_id", "start_date": index}
    return validate(people, "people", columns=columns, nullable=["start_date"], as_of=when, source=source)


def _stays(custody: Any, as_of: pd.Timestamp | None) -> pd.DataFrame:
    source = None if isinstance(custody, pd.DataFrame) else str(custody)
    if source is not None:
        custody = read_frame(custody, table="custody", text=schema_text("custody"))
    require_columns(custody, ["person_id", "start", "end", "kind"], table="custody", source=source)
    return validate(custody[["person_id", "start", "end", "kind"]], "custody", as_of=as_of, source=source)


def _day(values: Any) -> np.ndarray:
    """Whole days from 1970-01-01 as floats (NaN where missing)."""
    days = np.asarray(values, dtype="datetime64[ns]").astype("datetime64[D]")
    return np.where(np.isnat(days), np.nan, days.astype("int64").astype(float))


def _nights(people, stays, index, follow_up_days, kinds, as_of) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per person: nights in the window (each night once), observable, and the reason when not."""
    first = _day(people[index])
    last = first + follow_up_days  # the morning the window closes
    position = pd.Index(people["person_id"]).get_indexer(stays["person_id"])
    keep = (position >= 0) & stays["kind"].isin(kinds).to_numpy()
    who = position[keep]
    start = _day(stays["start"])[keep]
    end = _day(stays["end"])[keep]
    # An open stay runs to the window's close, or to as_of when that comes first.
    open_until = last[who] if as_of is None else np.minimum(last[who], _day([as_of])[0])
    end = np.where(np.isnan(end), open_until, end)
    lo, hi = np.maximum(start, first[who]), np.minimum(end, last[who])
    inside = hi > lo
    who, lo, hi = who[inside], lo[inside], hi[inside]
    # Overlapping stays: sorted by person and start, each stay adds only the nights after
    # every earlier stay of the same person has ended.
    order = np.lexsort((lo, who))
    who, lo, hi = who[order], lo[order], hi[order]
    reached = pd.Series(hi).groupby(who).cummax().groupby(who).shift(1).to_numpy()
    added = np.maximum(hi - np.fmax(lo, reached), 0.0)
    nights = np.bincount(who, weights=added, minlength=len(people)).round().astype(np.int64)
    no_index = np.isnan(first)
    open_window = np.zeros(len(people), dtype=bool) if as_of is None else last > _day([as_of])[0]
    observable = ~no_index & ~open_window
    reason = np.select([no_index, open_window], [f"no {index}", WINDOW_OPEN], default="")
    return nights, observable, reason
