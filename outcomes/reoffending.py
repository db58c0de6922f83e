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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ground.checks import require_columns
from ground.errors import SpecError
from outcomes.rates import Frequency, Proportion
from outcomes.tables import as_dates, unique_people

COUNTINGS = ("offences", "court_appearances")
DISPOSALS = ("conviction", "caution", "reprimand", "warning", "acquittal", "no_further_action")


@dataclass(frozen=True)
class ProvenReoffending:
    """Proven reoffending per person, with exclusions counted.

    Attributes
    ----------
    per_person : DataFrame
        One row per person in ``people`` (same order): person_id, index_date,
        observable (bool), reason ("" when observable), reoffended (boolean,
        NA when not observable), reoffences (Int64, in ``counting`` units, NA
        when not observable), days_to_first (float, NaN when none).
    follow_up_days, waiting_days, disposals, counting, as_of : the settings.
    """

    per_person: pd.DataFrame
    follow_up_days: int
    waiting_days: int
    disposals: tuple[str, ...]
    counting: str
    as_of: pd.Timestamp | None

    @property
    def counts(self) -> dict[str, int]:
        """all, observable, and each exclusion reason (they reconcile)."""
        pp = self.per_person
        out = {"all": len(pp), "observable": int(pp["observable"].sum())}
        out.update({f"excluded: {r}": int(n) for r, n in pp.loc[~pp["observable"], "reason"].value_counts().items()})
        return out

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "follow_up_days": self.follow_up_days,
            "waiting_days": self.waiting_days,
            "disposals": list(self.disposals),
            "counting": self.counting,
            "as_of": None if self.as_of is None else str(self.as_of.date()),
            "counts": self.counts,
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
            f"Reoffended: {self.rate()}.",
            f"Frequency: {self.frequency()} {unit}.",
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def proven_reoffending(
    people: pd.DataFrame,
    offences: pd.DataFrame,
    index: str = "start_date",
    follow_up_days: int = 365,
    waiting_days: int = 182,
    as_of: Any = None,
    disposals: tuple[str, ...] | list[str] = ("conviction", "caution"),
    counting: str = "offences",
) -> ProvenReoffending:
    """Proven reoffending per person: binary, frequency, days to first.

    Parameters
    ----------
    people : DataFrame
        person_id (unique) and the index date column.
    offences : DataFrame
        person_id, offence_date, disposal_date, disposal. Rows of people not
        in ``people`` are ignored (the table may cover a wider population).
    index : str
        Column of ``people`` holding the index date (start of follow-up).
    follow_up_days, waiting_days : int
        Offences on days 1..follow_up_days after the index date count when
        proven by day follow_up_days + waiting_days.
    as_of : date-like, optional
        The data's as-of date: people whose index + follow-up + waiting is
        after it are not observable. Default None assumes every period has
        elapsed (the summary says so).
    disposals : sequence of str
        Disposals that prove an offence (PbR pilots used convictions only).
    counting : {"offences", "court_appearances"}
        Unit of the frequency measure (see the module notes).

    Examples
    --------
    >>> r = proven_reoffending(w.people, w.offences, as_of=w.as_of)  # doctest: +SKIP
    >>> r.rate(), r.frequency(), r.counts  # doctest: +SKIP
    """
    for key, value, least in (("follow_up_days", follow_up_days, 1), ("waiting_days", waiting_days, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise SpecError(
                f"The '{key}' parameter of proven_reoffending must be a whole number of days, at least {least}. "
                f"Got {value!r} instead.",
                key=key,
            )
    if counting not in COUNTINGS:
        raise SpecError(
            f"The 'counting' parameter of proven_reoffending must be one of {', '.join(COUNTINGS)}. "
            f"Got {counting!r} instead.",
            key="counting",
        )
    disposals = (disposals,) if isinstance(disposals, str) else tuple(disposals)
    if not disposals or not all(isinstance(d, str) and d for d in disposals):
        raise SpecError(
            f"The 'disposals' parameter of proven_reoffending must list at least one disposal, e.g. "
            f"{', '.join(DISPOSALS[:2])}. Got {disposals!r} instead.",
            key="disposals",
        )
    require_columns(people, ["person_id", index], table="people")
    unique_people(people)
    require_columns(offences, ["person_id", "offence_date", "disposal_date", "disposal"], table="offences")
    as_of = None if as_of is None else pd.Timestamp(as_of)

    cohort = pd.DataFrame(
        {"person_id": people["person_id"].to_numpy(), "index_date": as_dates(people[index], "people", index).to_numpy()}
    )
    follow_up = pd.to_timedelta(follow_up_days, unit="D")
    proof_by = pd.to_timedelta(follow_up_days + waiting_days, unit="D")

    ev = pd.DataFrame(
        {
            "person_id": offences["person_id"].to_numpy(),
            "offence_date": as_dates(offences["offence_date"], "offences", "offence_date").to_numpy(),
            "disposal_date": as_dates(offences["disposal_date"], "offences", "disposal_date").to_numpy(),
            "proving": offences["disposal"].astype("string").isin(disposals).fillna(False).to_numpy(),
        }
    )
    ev = ev.loc[ev["proving"]].merge(cohort, on="person_id", how="inner")
    after = ev["offence_date"] - ev["index_date"]
    proven = ev.loc[
        (after > pd.Timedelta(0)) & (after <= follow_up) & (ev["disposal_date"] <= ev["index_date"] + proof_by)
    ]
    by_person = proven.groupby("person_id", sort=False)
    tally = pd.DataFrame(
        {
            "n": by_person.size() if counting == "offences" else by_person["disposal_date"].nunique(),
            "first": by_person["offence_date"].min(),
        }
    )
    cohort = cohort.merge(tally, left_on="person_id", right_index=True, how="left")

    no_index = cohort["index_date"].isna().to_numpy()
    if as_of is None:
        too_recent = np.zeros(len(cohort), dtype=bool)
    else:
        too_recent = ((cohort["index_date"] + proof_by) > as_of).to_numpy()
    observable = ~no_index & ~too_recent
    reason = np.select(
        [no_index, too_recent],
        [f"no {index}", "follow-up and waiting period not elapsed by as_of"],
        default="",
    )
    count = cohort["n"].fillna(0).astype("Int64").where(observable)
    days_to_first = (cohort["first"] - cohort["index_date"]).dt.days.astype(float)
    per_person = pd.DataFrame(
        {
            "person_id": cohort["person_id"].to_numpy(),
            "index_date": cohort["index_date"].to_numpy(),
            "observable": observable,
            "reason": reason,
            "reoffended": (count > 0).astype("boolean").array,
            "reoffences": count.array,
            "days_to_first": days_to_first.where(observable).to_numpy(),
        }
    )
    return ProvenReoffending(per_person, int(follow_up_days), int(waiting_days), disposals, counting, as_of)
