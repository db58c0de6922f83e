"""Score assessments: one row per person per occasion (person_id + assessed_on).

Problems are reported, never guessed: a row with an unknown item, a value
outside the item's range, a non-integer or missing value, or an item given
twice on one occasion is listed in ``Scores.problems`` with its row number,
and its occasion is marked not scorable with the reason. Values are never
clipped. Rows for other instruments are set aside and counted
(``Scores.other_instrument_rows``), since an assessments table normally
holds several instruments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ground.checks import require_columns
from ground.tables import validate
from outcomes.instruments import Instrument, get_instrument

KEYS = ["person_id", "assessed_on"]
PROBLEM_COLUMNS = ["row", "person_id", "assessed_on", "item", "value", "rule", "message"]


@dataclass(frozen=True)
class Scores:
    """Scores of one instrument, per person per occasion.

    Attributes
    ----------
    instrument : Instrument
    scores : pandas.DataFrame
        person_id, assessed_on, score (NaN when not scorable, or for an
        ``items`` instrument), n_answered, prorated, scorable, reason (empty
        when scorable), then one column per item holding the raw response.
    problems : pandas.DataFrame
        row (0-based position in the input; messages count from 1), person_id, assessed_on, item,
        value, rule (unknown_item, out_of_range, not_integer, missing_value,
        missing_key, duplicate_item), message.
    other_instrument_rows : numpy.ndarray
        Positions of the input rows that belong to other instruments.
    """

    instrument: Instrument
    scores: pd.DataFrame
    problems: pd.DataFrame
    other_instrument_rows: np.ndarray

    @property
    def counts(self) -> dict[str, int]:
        s = self.scores
        return {
            "occasions": len(s),
            "scorable": int(s["scorable"].sum()),
            "prorated": int(s["prorated"].sum()),
            "not_scorable": int((~s["scorable"]).sum()),
            "problem_rows": len(self.problems),
            "other_instrument_rows": int(self.other_instrument_rows.size),
        }

    def to_frame(self) -> pd.DataFrame:
        return self.scores

    def to_dict(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument.name,
            "counts": self.counts,
            "problems": self.problems.astype({"assessed_on": str}).to_dict(orient="records"),
        }

    def summary(self) -> str:
        c = self.counts
        lines = [
            f"{self.instrument.title} [{self.instrument.name}]: {c['occasions']} occasions, "
            f"{c['scorable']} scorable ({c['prorated']} prorated), {c['not_scorable']} not scorable.",
        ]
        if c["problem_rows"]:
            by_rule = self.problems["rule"].value_counts()
            lines.append(
                f"{c['problem_rows']} problem rows: " + ", ".join(f"{r} {n}" for r, n in by_rule.items()) + "."
            )
            lines.append("  (data rows counted from 1)")
            shown = self.problems.head(10)
            lines += [f"  row {int(row) + 1}: {message}" for row, message in zip(shown["row"], shown["message"])]
        if c["other_instrument_rows"]:
            lines.append(f"{c['other_instrument_rows']} rows for other instruments set aside.")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _problem_rows(rows: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """One row per problem among this instrument's rows (vectorised checks)."""
    # Each distinct item is looked up once; mapping text row by row cost most of a demo's scoring.
    codes, items = pd.factorize(rows["item"])
    bounds = {i.name: (i.min, i.max) for i in instrument.items}
    # A last row of NaN: code -1 (a missing item) reads it.
    table = np.array([bounds.get(item, (np.nan, np.nan)) for item in items] + [(np.nan, np.nan)], dtype=float)
    item_lo = pd.Series(table[codes, 0], index=rows.index)
    item_hi = pd.Series(table[codes, 1], index=rows.index)
    value = rows["value"]
    checks = [
        ("missing_key", rows["person_id"].isna() | rows["assessed_on"].isna(), "person_id or assessed_on is missing"),
        ("unknown_item", item_lo.isna(), f"item is not one of {', '.join(instrument.item_names)}"),
        ("missing_value", item_lo.notna() & value.isna(), "score is missing or not a number"),
        ("not_integer", value.notna() & (value != np.round(value)), "score must be a whole number"),
        (
            "out_of_range",
            value.notna() & item_lo.notna() & ((value < item_lo) | (value > item_hi)),
            "score is outside the item's range",
        ),
        (
            "duplicate_item",
            rows.duplicated(["person_id", "assessed_on", "item"], keep=False) & item_lo.notna(),
            "item given more than once on this occasion",
        ),
    ]
    found = []
    for rule, mask, text in checks:
        hit = rows.loc[mask.to_numpy()]
        if len(hit):
            ranges = (
                " " + item_lo[mask].astype(int).astype(str) + "-" + item_hi[mask].astype(int).astype(str)
                if rule == "out_of_range"
                else ""
            )
            found.append(
                hit.assign(
                    rule=rule,
                    message=f"{rule}: item "
                    + hit["item"].astype(str)
                    + " = "
                    + hit["raw"].astype(str)
                    + f" ({text}"
                    + ranges
                    + ")",
                )
            )
    if not found:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in PROBLEM_COLUMNS})
    out = pd.concat(found).rename(columns={"raw": "value_raw"})
    return (
        out.assign(value=out["value_raw"])[PROBLEM_COLUMNS]
        .sort_values(["row", "rule"], kind="stable")
        .reset_index(drop=True)
    )


def score(assessments: pd.DataFrame, instrument: str | Instrument) -> Scores:
    """Score one instrument per person per occasion.

    Parameters
    ----------
    assessments : DataFrame
        person_id, item, score, assessed_on, and usually instrument (rows of
        other instruments are set aside). Without an ``instrument`` column
        every row is taken to belong to ``instrument``.
    instrument : str or Instrument
        A built-in name (e.g. ``"rosenberg"``) or an Instrument from
        :func:`~outcomes.load_instrument`.

    Returns
    -------
    Scores
        ``.scores`` (one row per occasion), ``.problems`` (with row numbers)
        and ``.other_instrument_rows``. Nothing raises for bad values: an
        occasion with a problem row is not scorable and says why.

    Notes
    -----
    ``sum``: items are reversed where marked (min + max - raw) and added;
    with up to ``max_missing`` items missing the total is the mean of the
    answered items times the number of items (Rosenberg: one missing item
    prorated, two or more not scorable). ``mean``: mean of answered items
    under the same rule. ``single``: the item is the score. ``items``: each
    item is a measure of its own (no total).

    Examples
    --------
    >>> s = score(w.assessments, "rosenberg")  # doctest: +SKIP
    >>> s.scores[["person_id", "assessed_on", "score"]].head()  # doctest: +SKIP
    """
    return score_checked(checked_assessments(assessments), instrument)


def checked_assessments(assessments: pd.DataFrame) -> pd.DataFrame:
    """The assessments with their keys read as the schema reads them (ids as text, ISO dates).

    Bad scores and items are :func:`score`'s problems to report, row by row, not
    errors. Checking once serves every instrument scored from the same table.

    Parameters
    ----------
    assessments : pandas.DataFrame
        One row per item answered: ``person_id``, ``item``, ``score``, ``assessed_on`` (and ``instrument``).

    Examples
    --------
    >>> a = pd.DataFrame({"person_id": [1, 1], "instrument": "ladder_family", "item": "ladder", "score": [3, 4],
    ...                   "assessed_on": ["2024-01-05", "2024-06-01"]})
    >>> checked = checked_assessments(a)
    >>> checked["person_id"].tolist(), str(checked["assessed_on"].dtype)
    (['1', '1'], 'datetime64[ns]')
    """
    require_columns(assessments, ["person_id", "item", "score", "assessed_on"], table="assessments")
    return validate(assessments, "assessments", columns=["person_id", "assessed_on"])


def score_checked(assessments: pd.DataFrame, instrument: str | Instrument) -> Scores:
    """:func:`score` on assessments already through :func:`checked_assessments`.

    Parameters
    ----------
    assessments : pandas.DataFrame
        As :func:`checked_assessments` returns them.
    instrument : str or Instrument
        The instrument to score (its rows are those whose ``instrument`` column names it).

    Examples
    --------
    >>> a = pd.DataFrame({"person_id": [1, 1], "instrument": "ladder_family", "item": "ladder", "score": [3, 4],
    ...                   "assessed_on": ["2024-01-05", "2024-06-01"]})
    >>> score_checked(checked_assessments(a), "ladder_family").scores["score"].tolist()
    [3.0, 4.0]
    """
    instrument = get_instrument(instrument)
    positions = np.arange(len(assessments))
    if "instrument" in assessments.columns:
        mine = (assessments["instrument"].astype("string") == instrument.name).fillna(False).to_numpy()
    else:
        mine = np.ones(len(assessments), dtype=bool)
    src = assessments.loc[mine]
    rows = pd.DataFrame(
        {
            "row": positions[mine],
            "person_id": src["person_id"].to_numpy(),
            "assessed_on": src["assessed_on"].to_numpy(),
            "item": src["item"].astype("string").to_numpy(),
            "raw": src["score"].to_numpy(),
            "value": pd.to_numeric(src["score"], errors="coerce").astype(float).to_numpy(),
        }
    )
    problems = _problem_rows(rows, instrument)

    bad_rows = rows["row"].isin(problems["row"]).to_numpy()
    keyed = rows[KEYS].notna().all(axis=1).to_numpy()
    occasions = rows.loc[keyed, KEYS].drop_duplicates().sort_values(KEYS, kind="stable")
    good = rows.loc[~bad_rows]
    wide = (
        good.pivot(index=KEYS, columns="item", values="value")
        .reindex(columns=list(instrument.item_names))
        .rename_axis(columns=None)
    )
    frame = occasions.merge(wide.reset_index(), on=KEYS, how="left")
    items = frame[list(instrument.item_names)]
    n_answered = items.notna().sum(axis=1)
    frame["n_answered"] = n_answered

    problem_text = (
        problems.loc[problems["person_id"].notna() & problems["assessed_on"].notna()]
        .groupby(KEYS, sort=False)["message"]
        .agg(lambda m: "; ".join(m))
        .rename("problem_text")
        .reset_index()
    )
    frame = frame.merge(problem_text, on=KEYS, how="left")
    has_problem = frame["problem_text"].notna()
    n_missing = len(instrument.items) - n_answered

    if instrument.scoring in ("sum", "mean"):
        adjusted = items.copy()
        for item in instrument.items:
            if item.reversed:
                adjusted[item.name] = item.min + item.max - adjusted[item.name]
        total = adjusted.sum(axis=1, min_count=1)
        enough = n_missing <= instrument.max_missing
        per_item = total / n_answered
        value = per_item * len(instrument.items) if instrument.scoring == "sum" else per_item
        # Complete occasions keep the exact sum (no divide-multiply rounding).
        if instrument.scoring == "sum":
            value = value.where(n_missing > 0, total)
        scorable = enough & ~has_problem
        frame["score"] = value.where(scorable)
        frame["prorated"] = scorable & (n_missing > 0)
        missing_text = (n_missing.astype(str) + f" items missing (at most {instrument.max_missing} prorated)").where(
            ~enough, ""
        )
    else:
        scorable = (n_answered >= 1) & ~has_problem
        frame["score"] = items.iloc[:, 0].where(scorable) if instrument.scoring == "single" else np.nan
        frame["prorated"] = False
        missing_text = pd.Series("no item answered", index=frame.index).where(n_answered == 0, "")
    frame["scorable"] = scorable.astype(bool)
    frame["reason"] = (
        frame["problem_text"].fillna("").str.cat(missing_text, sep="; ").str.strip("; ").where(~frame["scorable"], "")
    )
    ordered = KEYS + ["score", "n_answered", "prorated", "scorable", "reason", *instrument.item_names]
    return Scores(
        instrument=instrument,
        scores=frame[ordered].reset_index(drop=True),
        problems=problems,
        other_instrument_rows=positions[~mine],
    )
