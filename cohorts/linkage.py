"""Linking a cohort to the national people table without a shared ID, as the Justice Data Lab does.

A provider sends names, dates of birth and sex, and a PNC number for some of its people; the Justice Data
Lab finds each person in the Police National Computer before it can count their proven reoffending.
:func:`link` does the same with splink (the Ministry of Justice's probabilistic linkage library, on DuckDB
by default and on Spark at scale; :mod:`cohorts.linkage_model`): each cohort row gets its best candidate
in the people table and that candidate's match probability, and is linked when the probability reaches
the user's threshold. Rows left unlinked are counted with their reason: no candidate at all, two people
matching equally well (no tie is broken by a guess), or a best match below the threshold.

What linkage errors do to the reoffending rate
----------------------------------------------
Reoffending is found through the link: a cohort person's proven reoffences are those of the person they
are linked to. A false match gives them another person's offences; a missed match leaves them unlinked
and, counted as not reoffending (as a contract paying on the whole cohort counts everyone it cannot find
reoffending), turns a reoffender into a desister. Doidge and Harron (2019) set out these mechanisms.
:func:`linkage_bias` gives two views of their size:

1. **A bias bound from the estimated error counts.** Taking splink's match probabilities as calibrated,
   the expected number of false matches among the links is ``F = sum(1 - p)`` over linked rows, and of
   missed matches ``M = sum(p)`` over unlinked rows with a candidate. A false match may have added a
   reoffence that was not the person's or hidden one that was; a missed match may have hidden one. So
   with ``k`` of ``n`` cohort people counted as reoffending, the rate free of linkage error lies in
   ``[(k - F) / n, (k + F + M) / n]``, clipped to [0, 1]: a worst-case bound in the sense of Manski
   (2003), on the expected errors. It is not a confidence interval; the rate's Wilson interval is given
   beside it.
2. **The range over plausible thresholds:** the rate, its interval and the bound at 0.5, 0.8, 0.9, 0.95
   and 0.99 (:data:`THRESHOLDS`) and at the user's threshold, as Harron et al. (2014) compare the
   results of linkage at different thresholds.

Without an outcome column, the bound's width is still given: the most the rate could move down (``F /
n``) and up (``(F + M) / n``).

References
----------
Doidge JC, Harron KL (2019). Reflections on modern methods: linkage error bias. International Journal of
Epidemiology 48(6), 2050-2060. doi:10.1093/ije/dyz203.
Harron K, Wade A, Gilbert R, Muller-Pebody B, Goldstein H (2014). Evaluating bias due to data linkage
error in electronic healthcare records. BMC Medical Research Methodology 14, 36. doi:10.1186/1471-2288-14-36.
Manski CF (2003). Partial Identification of Probability Distributions. Springer.
Fellegi IP, Sunter AB (1969). A theory for record linkage. Journal of the American Statistical
Association 64(328), 1183-1210.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from cohorts.linkage_input import Prepared, prepare, read
from cohorts.linkage_model import BLOCKING, Scored, score
from ground.checks import InstanceOf, Interval, Options, check_parameter, parameter_error
from outcomes.engines import DuckDB, Spark
from outcomes.rates import Proportion

#: Plausible thresholds on the match probability, over which the rate's range is given.
THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.99)
#: Two candidates whose match weights differ by no more than this, relative to the weight (at least 1),
#: match equally well: the row is left unlinked rather than linked to either by the order of the rows.
TIE_TOLERANCE = 1e-9
NO_CANDIDATE = f"no candidate (no one shares {BLOCKING})"
TIED = "two or more people match equally well"
BELOW = "best match below the threshold"
#: How the people left unlinked enter the rate.
UNLINKED = "the unlinked counted as not reoffending"


@dataclass(frozen=True)
class Linkage:
    """A cohort linked to the people table: each row's match, who was left unlinked and why, and what
    linkage errors would do to the reoffending rate.

    Attributes
    ----------
    links : pandas.DataFrame
        One row per cohort row, in its order: the cohort's own columns, then ``person_id`` (the people
        table's, missing when not linked), ``best_candidate`` (the best candidate's person_id, linked or
        not, for review), ``match_probability`` (the best candidate's, NaN with no candidate),
        ``second_probability`` (the runner-up's), ``linked`` and ``reason`` ("" when linked).
    threshold : float
        The match probability a link needs, the user's choice.
    consequences : pandas.DataFrame
        :func:`linkage_bias` at :data:`THRESHOLDS` and ``threshold`` (column ``chosen`` marks it).
    n_people : int
        Rows of the people table.
    ids : tuple of str
        The ID columns compared.
    outcome : str or None
        The people table's outcome column (e.g. ``reoffended``), if given.
    alpha : float
        For the Wilson intervals.
    engine : str
        ``duckdb`` or ``spark``.
    pairs : int
        Candidate pairs scored.
    model : dict
        splink's settings with the trained parameters, so the linkage can be reviewed and rerun (the ID
        columns are named ``id_1``, ``id_2``, ... in the order of :attr:`ids`).
    notes : tuple of str
        What splink warned of while training.
    """

    links: pd.DataFrame
    threshold: float
    consequences: pd.DataFrame
    n_people: int
    ids: tuple[str, ...]
    outcome: str | None
    alpha: float
    engine: str
    pairs: int
    model: dict[str, Any] = field(repr=False)
    notes: tuple[str, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        """Cohort rows, linked, and not linked by reason (they reconcile)."""
        linked = self.links["linked"]
        out = {"cohort rows": len(self.links), "linked": int(linked.sum())}
        reasons = self.links.loc[~linked, "reason"].value_counts()
        out.update({f"not linked: {r}": int(reasons.get(r, 0)) for r in (NO_CANDIDATE, TIED, BELOW)})
        return out

    @property
    def share_linked(self) -> Proportion:
        """Linked rows of all cohort rows, with a Wilson interval."""
        return Proportion.of(int(self.links["linked"].sum()), len(self.links), self.alpha)

    @property
    def chosen(self) -> pd.Series:
        """The consequences at the user's threshold."""
        return self.consequences.loc[self.consequences["chosen"]].iloc[0]

    @property
    def rate(self) -> Proportion | None:
        """The reoffending rate at the threshold, the unlinked counted as not reoffending (None without an outcome)."""
        if self.outcome is None:
            return None
        row = self.chosen
        return Proportion.of(int(row["reoffended"]), int(row["n"]), self.alpha)

    @property
    def threshold_range(self) -> tuple[float, float]:
        """The lowest and highest rate over the thresholds (NaN without an outcome)."""
        rates = self.consequences["rate"]
        return float(rates.min()), float(rates.max())

    @property
    def people_linked_twice(self) -> int:
        """People of the people table linked to more than one cohort row (a person listed twice, or an error)."""
        return int(self.links.loc[self.links["linked"], "person_id"].value_counts().gt(1).sum())

    def to_frame(self) -> pd.DataFrame:
        """The linked table (:attr:`links`)."""
        return self.links

    def to_dict(self) -> dict[str, Any]:
        """The figures as plain data (without :attr:`links` and :attr:`model`)."""
        row = self.chosen
        return {
            "threshold": self.threshold,
            "alpha": self.alpha,
            "engine": self.engine,
            "ids": list(self.ids),
            "outcome": self.outcome,
            "n_people": self.n_people,
            "pairs": self.pairs,
            "counts": self.counts,
            "linked": self.share_linked.to_dict(),
            "people_linked_twice": self.people_linked_twice,
            "expected_false_matches": float(row["expected_false_matches"]),
            "expected_missed_matches": float(row["expected_missed_matches"]),
            "estimated_precision": float(row["estimated_precision"]),
            "estimated_recall": float(row["estimated_recall"]),
            "unlinked": UNLINKED,
            "rate": None if self.rate is None else self.rate.to_dict(),
            "bound": {"low": float(row["bound_low"]), "high": float(row["bound_high"])},
            "largest_shift": {"down": float(row["shift_down"]), "up": float(row["shift_up"])},
            "threshold_range": dict(zip(("low", "high"), self.threshold_range)),
            "by_threshold": self.consequences.to_dict(orient="records"),
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """The linkage in a few lines: who was linked, the expected errors and what they do to the rate."""
        row, c = self.chosen, self.counts
        lines = [
            f"Linkage of {c['cohort rows']:,} cohort rows to {self.n_people:,} people (splink on {self.engine}; "
            f"IDs compared: {', '.join(self.ids) or 'none'}), at a match probability of at least "
            f"{self.threshold:g}, the user's threshold.",
            f"Linked: {self.share_linked}."
            + "".join(
                f" Not linked, {k[len('not linked: ') :]}: {v:,}." for k, v in c.items() if k[:4] == "not " and v
            ),
            f"Expected false matches {row['expected_false_matches']:.1f} and missed matches "
            f"{row['expected_missed_matches']:.1f}, from the match probabilities taken as calibrated.",
        ]
        if self.rate is None:
            lines.append(
                f"No outcome given: linkage errors could move a rate over the cohort down by up to "
                f"{100 * row['shift_down']:.1f} points and up by up to {100 * row['shift_up']:.1f} points."
            )
        else:
            low, high = self.threshold_range
            lines += [
                f"Reoffending rate ({UNLINKED}): {self.rate}.",
                f"Free of linkage error it would lie between {100 * row['bound_low']:.1f}% and "
                f"{100 * row['bound_high']:.1f}%; over thresholds {min(THRESHOLDS):g} to {max(THRESHOLDS):g} it runs "
                f"from {100 * low:.1f}% to {100 * high:.1f}%.",
            ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def link(
    cohort: pd.DataFrame | str | Path,
    people: pd.DataFrame | str | Path,
    *,
    threshold: float = 0.9,
    ids: Sequence[str] | None = None,
    outcome: str | None = None,
    engine: str | DuckDB | Spark = "duckdb",
    alpha: float = 0.05,
    sample_pairs: int = 10_000_000,
    seed: int = 0,
) -> Linkage:
    """Link a cohort to the national people table on names, date of birth, sex and any IDs.

    Parameters
    ----------
    cohort : pandas.DataFrame, or path of a CSV or Parquet file
        One row per person sent: ``first_name``, ``surname``, ``date_of_birth`` (ISO dates), and ``sex``
        and ID columns where known (missing values allowed). Other columns are passed through.
    people : pandas.DataFrame, or path of a CSV or Parquet file
        The national table: ``person_id`` (one per row), ``first_name``, ``surname``, ``date_of_birth``,
        ``sex``, any ID columns, and ``outcome`` if given.
    threshold : float, default 0.9
        The match probability a link needs: the user's choice, stated in the result.
    ids : list of str, optional
        ID columns both tables have, compared exactly (e.g. ``["pnc_id"]``). Default: those of
        ``pnc_id`` and ``cro_number`` that both tables have.
    outcome : str, optional
        A people column holding each person's outcome as true/false or 1/0 (missing: not known), e.g.
        ``reoffended`` from ``desist measure``'s per-person table; gives the rate and its bias bound.
    engine : {"duckdb", "spark"} or outcomes.DuckDB or outcomes.Spark, default "duckdb"
        Where splink runs: DuckDB in this process (``DuckDB(memory_limit="4GB")`` caps its memory), or
        a Spark session (``Spark(session=...)`` for a cluster's).
    alpha : float, default 0.05
        For the Wilson intervals of the share linked and the rate.
    sample_pairs : int, default 10,000,000
        Random pairs splink draws to estimate its u probabilities (more is more exact and slower).
    seed : int, default 0
        Seed of that sample: the same tables give the same links.

    Returns
    -------
    Linkage

    Raises
    ------
    SchemaError
        Every problem in either table at once, naming the file, column, rule and rows (data rows counted
        from 1): no column to link on, a date of birth that is not a date, an unknown sex, a missing or
        repeated person_id, an outcome that is not true/false.
    ParameterError
        A bad argument.

    Examples
    --------
    >>> from cohorts.synthetic import make_linkage_data
    >>> data = make_linkage_data(seed=1, n_people=2_000, n_cohort=100)
    >>> result = link(data.cohort, data.people, outcome="reoffended", sample_pairs=100_000)
    >>> result.counts["cohort rows"], result.threshold
    (100, 0.9)
    """
    check_parameter(threshold, "threshold", "link", Interval(float, 0, 1, closed="neither"))
    check_parameter(alpha, "alpha", "link", Interval(float, 0, 1, closed="neither"))
    check_parameter(sample_pairs, "sample_pairs", "link", Interval(int, 1, None))
    check_parameter(seed, "seed", "link", Interval(int, 0, None))
    check_parameter(outcome, "outcome", "link", Options(None), InstanceOf(str, "a column name"))
    runner = _engine(engine)
    (cohort_frame, cohort_source), (people_frame, people_source) = read(cohort, "cohort"), read(people, "people")
    ready = prepare(cohort_frame, people_frame, ids=ids, outcome=outcome, sources=(cohort_source, people_source))
    scored = score(ready.cohort, ready.people, len(ready.ids), runner, int(sample_pairs), int(seed))
    links, tied, outcome_of_best = _links(cohort_frame, ready, scored, threshold)
    table = linkage_bias(
        links["match_probability"].to_numpy(),
        outcome_of_best,
        thresholds=sorted({*THRESHOLDS, threshold}),
        tied=tied,
        alpha=alpha,
    )
    return Linkage(
        links=links,
        threshold=float(threshold),
        consequences=table.assign(chosen=table["threshold"] == threshold),
        n_people=len(people_frame),
        ids=ready.ids,
        outcome=outcome,
        alpha=float(alpha),
        engine="spark" if isinstance(runner, Spark) else "duckdb",
        pairs=scored.pairs,
        model=scored.model,
        notes=tuple(scored.notes),
    )


def _engine(engine: Any) -> DuckDB | Spark:
    check_parameter(
        engine, "engine", "link", Options("duckdb", "spark"), InstanceOf((DuckDB, Spark), "a DuckDB or Spark engine")
    )
    if isinstance(engine, str):
        return DuckDB() if engine == "duckdb" else Spark()
    return engine


def _links(
    cohort: pd.DataFrame, ready: Prepared, scored: Scored, threshold: float
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None]:
    """The linked table, which rows' best candidates tie, and the outcome of each row's best candidate."""
    n = len(cohort)
    weight, second, person = np.full(n, np.nan), np.full(n, np.nan), np.full(n, -1, dtype=np.int64)
    rows = scored.best["cohort_row"].to_numpy()
    weight[rows], second[rows] = scored.best["match_weight"].to_numpy(), scored.best["second_weight"].to_numpy()
    person[rows] = scored.best["people_row"].to_numpy()
    has = person >= 0
    # log2 odds -> probability, without the cancellation of 1 / (1 + 2 ** -w) in float
    probability, second_probability = expit(weight * np.log(2)), expit(second * np.log(2))
    tied = has & (np.abs(weight - second) <= TIE_TOLERANCE * np.maximum(1.0, np.abs(weight)))
    reaches = has & (probability >= threshold)
    linked = reaches & ~tied
    candidate = pd.Series(ready.person_id[np.maximum(person, 0)], dtype="string").where(has)
    links = cohort.reset_index(drop=True).assign(
        person_id=candidate.where(linked),
        best_candidate=candidate,
        match_probability=probability,
        second_probability=second_probability,
        linked=linked,
        reason=np.select([~has, ~reaches, tied], [NO_CANDIDATE, BELOW, TIED], ""),
    )
    if ready.outcome is None:
        return links, tied, None
    return links, tied, np.where(has, ready.outcome[np.maximum(person, 0)], np.nan)


def linkage_bias(
    match_probability: np.ndarray | Sequence[float],
    outcome: np.ndarray | Sequence[float] | None = None,
    *,
    thresholds: Sequence[float] = THRESHOLDS,
    tied: np.ndarray | Sequence[bool] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """What linkage errors would do to a rate found through the links, at each threshold.

    Parameters
    ----------
    match_probability : array of float
        Each cohort row's best candidate's match probability; NaN for a row with no candidate.
    outcome : array of float, optional
        The best candidate's outcome: 1 (reoffended), 0, or NaN (not known: the row is left out of the
        rate when linked). Without it the rate columns are NaN.
    thresholds : sequence of float
        Match probabilities a link needs (one table row each).
    tied : array of bool, optional
        Rows whose best candidates tie: never linked.
    alpha : float, default 0.05
        For the Wilson interval of the rate.

    Returns
    -------
    pandas.DataFrame
        One row per threshold: ``threshold``, ``linked``, ``share_linked``, ``expected_false_matches``
        (F, the sum of 1 - p over linked rows), ``expected_missed_matches`` (M, the sum of p over unlinked
        rows with a candidate), ``estimated_precision`` (1 - F / linked), ``estimated_recall`` ((linked - F)
        / (linked - F + M)), ``n`` (rows in the rate: all but the linked whose outcome is not known),
        ``reoffended`` (linked rows whose candidate reoffended, k), ``rate`` (k / n, the unlinked counted as
        not reoffending), ``ci_low``, ``ci_high`` (Wilson), ``bound_low`` ((k - F) / n) and ``bound_high``
        ((k + F + M) / n), clipped to [0, 1], and ``shift_down`` (F / n) and ``shift_up`` ((F + M) / n).
        See the module docstring for the reasoning and references.

    Examples
    --------
    Four rows: two links at 0.99 and 0.9 whose people reoffended, one at 0.6, one with no candidate.

    >>> table = linkage_bias([0.99, 0.9, 0.6, float("nan")], [1, 1, 0, float("nan")], thresholds=[0.8])
    >>> row = table.iloc[0]
    >>> int(row["linked"]), round(float(row["expected_false_matches"]), 4), float(row["rate"])
    (2, 0.11, 0.5)
    >>> round(float(row["bound_low"]), 4), round(float(row["bound_high"]), 4)
    (0.4725, 0.6775)
    """
    p = np.asarray(match_probability, dtype=float)
    y = np.full(p.shape, np.nan) if outcome is None else np.asarray(outcome, dtype=float)
    tie = np.zeros(p.shape, dtype=bool) if tied is None else np.asarray(tied, dtype=bool)
    if y.shape != p.shape or tie.shape != p.shape:
        raise parameter_error("outcome", "linkage_bias", f"an array of {p.size} values, one per row", y.shape)
    for value in thresholds:
        check_parameter(value, "thresholds", "linkage_bias", Interval(float, 0, 1, closed="neither"))
    levels = np.asarray(thresholds, dtype=float)[:, None]
    has = ~np.isnan(p)
    linked = has & ~tie & (np.nan_to_num(p, nan=-1.0) >= levels)
    false = np.where(linked, 1 - p, 0.0).sum(axis=1)
    missed = np.where(has & ~linked, p, 0.0).sum(axis=1)
    n_linked = linked.sum(axis=1)
    known = outcome is not None
    n = p.size - (linked & np.isnan(y)).sum(axis=1) if known else np.full(n_linked.shape, p.size)
    k = (linked & (y == 1)).sum(axis=1)
    share = _ratio(n_linked, np.full(n_linked.shape, p.size))
    rates = [Proportion.of(int(a), int(b), alpha) for a, b in zip(k, n)]
    table = pd.DataFrame(
        {
            "threshold": levels[:, 0],
            "linked": n_linked,
            "share_linked": share,
            "expected_false_matches": false,
            "expected_missed_matches": missed,
            "estimated_precision": _ratio(n_linked - false, n_linked),
            "estimated_recall": _ratio(n_linked - false, n_linked - false + missed),
            "n": n,
            "reoffended": k if known else np.full(share.shape, np.nan),
            "rate": [r.estimate if known else np.nan for r in rates],
            "ci_low": [r.ci_low if known else np.nan for r in rates],
            "ci_high": [r.ci_high if known else np.nan for r in rates],
        }
    )
    table["bound_low"] = np.clip(_ratio(k - false, n), 0, 1) if known else np.nan
    table["bound_high"] = np.clip(_ratio(k + false + missed, n), 0, 1) if known else np.nan
    table["shift_down"], table["shift_up"] = _ratio(false, n), _ratio(false + missed, n)
    return table


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    top, bottom = np.asarray(top, dtype=float), np.asarray(bottom, dtype=float)
    return np.divide(top, bottom, out=np.full(np.broadcast(top, bottom).shape, np.nan), where=bottom > 0)
