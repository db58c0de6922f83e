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

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ground.checks import require_columns
from ground.errors import SchemaError
from ground.rowkeys import row_keys
from ground.tables import validate
from outcomes.codes import codes_of, sorted_categorical, text_column, where_text
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
        Positions of the input rows that belong to other instruments (a property).
    """

    instrument: Instrument
    scores: pd.DataFrame
    problems: pd.DataFrame
    # The input's instrument codes (shared, not copied) and which codes name this instrument: rows set
    # aside are found from them when asked, not held as positions (millions of them in a national table).
    _instrument_codes: np.ndarray | None = field(default=None, repr=False, compare=False)
    _named: np.ndarray = field(default_factory=lambda: np.ones(1, dtype=bool), repr=False, compare=False)

    @property
    def other_instrument_rows(self) -> np.ndarray:
        """Positions of the input rows that belong to other instruments."""
        if self._instrument_codes is None:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(~self._named[self._instrument_codes])

    @property
    def counts(self) -> dict[str, int]:
        s = self.scores
        set_aside = 0 if self._instrument_codes is None else int((~self._named[self._instrument_codes]).sum())
        return {
            "occasions": len(s),
            "scorable": int(s["scorable"].sum()),
            "prorated": int(s["prorated"].sum()),
            "not_scorable": int((~s["scorable"]).sum()),
            "problem_rows": len(self.problems),
            "other_instrument_rows": set_aside,
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
    """The assessments with their keys read as the schema reads them (ids as text, ISO dates), and coded.

    Bad scores and items are :func:`score`'s problems to report, row by row, not
    errors. Checking once serves every instrument scored from the same table:
    ``person_id``, ``instrument`` and ``item`` come back categorical (the ids'
    categories sorted), so each instrument is scored on integer codes.
    Each distinct id and date is read once, however many rows repeat it.

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
    codes, ids = codes_of(assessments["person_id"])
    dates = assessments["assessed_on"]
    # Dates already read as the schema reads them are not coded: the earliest and the latest stand for them all
    # (a date rule, in range and not after today, holds for every date when it holds for both).
    days: pd.Series | pd.Index
    if dates.dtype == np.dtype("datetime64[ns]"):
        day_codes, days, no_day = None, pd.Series([dates.min(), dates.max()]).dropna(), dates.isna().any()
    else:
        day_codes, days = codes_of(dates)
        no_day = (day_codes < 0).any()
    if (codes < 0).any() or no_day:
        # A missing key fails the schema: the whole table is checked, so the error names the rows.
        return validate(assessments, "assessments", columns=KEYS)
    try:
        distinct = {name: validate(pd.DataFrame({name: values}), "assessments", columns=[name])[name]
                    for name, values in (("person_id", ids), ("assessed_on", days))}  # fmt: skip
    except SchemaError:
        # Some distinct value breaks the schema: checked again row by row, so the error names the user's rows.
        return validate(assessments, "assessments", columns=KEYS)
    out: dict[str, Any] = {}
    read = pd.Index(distinct["person_id"])
    coded = isinstance(assessments["person_id"].dtype, pd.CategoricalDtype) and read.dtype == ids.dtype
    if not (coded and read.equals(ids) and read.is_monotonic_increasing and read.is_unique):  # else checked before
        # Ids read as text can meet (10 and 10.0 are one person): factorised again after reading.
        sorted_ids = sorted_categorical(distinct["person_id"])
        out["person_id"] = pd.Categorical.from_codes(sorted_ids.codes[codes], categories=sorted_ids.categories)
    if day_codes is not None:
        out["assessed_on"] = distinct["assessed_on"].to_numpy()[day_codes]
    for name in ("instrument", "item"):
        if name in assessments.columns:
            out[name] = assessments[name].astype("category")
    return assessments.assign(**out)


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
    codes, named = _instrument_codes(assessments, instrument)
    rows = _rows(assessments, _positions(len(assessments), None if codes is None else named[codes]), instrument)
    of_row, occasions = _occasions(rows)
    problems = _problems(rows, of_row, occasions.n, assessments, instrument)
    items = _item_matrix(rows, of_row, problems.mine, occasions.n, len(instrument.items))
    people, problem_occasion = rows.people, of_row[problems.mine]
    # The rows are let go before the occasions are scored: nationally the rows of one instrument are tens of
    # millions, its occasions a tenth as many.
    del rows, of_row
    frame = _scored(items, occasions, people, problem_occasion, problems, instrument)
    return Scores(instrument, frame, problems.frame, _instrument_codes=codes, _named=named)


def _positions(n: int, mine: np.ndarray | None) -> np.ndarray:
    """Positions of the rows ``mine`` marks (all ``n`` rows for None), as int32 where they fit (half the memory)."""
    kind = np.int32 if n < 2**31 else np.int64
    return np.arange(n, dtype=kind) if mine is None else np.flatnonzero(mine).astype(kind, copy=False)


def instrument_rows(assessments: pd.DataFrame, instruments: list[Instrument]) -> np.ndarray:
    """How many rows of ``assessments`` each instrument has (all of them, without an ``instrument`` column).

    Parameters
    ----------
    assessments : pandas.DataFrame
        Assessments, usually with an ``instrument`` column (as :func:`checked_assessments` returns them).
    instruments : list of Instrument
        The instruments whose rows are counted.

    Examples
    --------
    >>> a = pd.DataFrame({"instrument": ["rosenberg", "ladder_ete", "rosenberg"]})
    >>> instrument_rows(a, [get_instrument("ladder_ete"), get_instrument("rosenberg")]).tolist()
    [1, 2]
    """
    rows = []
    for instrument in instruments:
        codes, named = _instrument_codes(assessments, instrument)
        rows.append(len(assessments) if codes is None else np.count_nonzero(named[codes]))
    return np.array(rows, dtype=np.int64)


def _instrument_codes(assessments: pd.DataFrame, instrument: Instrument) -> tuple[np.ndarray | None, np.ndarray]:
    """The instrument column's codes and, per code, whether it names ``instrument`` (a last False for missing)."""
    if "instrument" not in assessments.columns:
        return None, np.ones(1, dtype=bool)
    codes, distinct = codes_of(assessments["instrument"])
    return codes, np.append(where_text(distinct, instrument.name), False)


@dataclass(frozen=True)
class _Rows:
    """One instrument's rows as arrays: input position, person code, item index, value; and the table's dates."""

    at: np.ndarray
    person: np.ndarray
    people: pd.Index
    dates: np.ndarray  # every row's of the table, not copied: the instrument's rows' dates are read when needed
    item: np.ndarray
    value: np.ndarray

    @property
    def n(self) -> int:
        return self.at.size

    def when(self, which: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The dates of the rows ``which`` (a mask or positions among the instrument's rows)."""
        dates: np.ndarray = self.dates[self.at[which]]
        return dates


def _rows(assessments: pd.DataFrame, mine: np.ndarray, instrument: Instrument) -> _Rows:
    ids = assessments["person_id"]
    if not (isinstance(ids.dtype, pd.CategoricalDtype) and ids.cat.categories.is_monotonic_increasing):
        ids = pd.Series(sorted_categorical(ids))
    item_codes, items = codes_of(assessments["item"])
    # Each distinct item is looked up once; -1 is an item the instrument does not have (or a missing one).
    index = {name: i for i, name in enumerate(instrument.item_names)}
    # int16: an instrument has a few items, and the instrument's rows carry one each.
    lookup = np.array([index.get(name, -1) for name in items.astype("string").fillna("")] + [-1], dtype=np.int16)
    return _Rows(
        at=mine,
        person=ids.array.codes[mine],  # the categorical's own codes: .cat.codes would copy them all first
        people=ids.cat.categories,
        dates=assessments["assessed_on"].to_numpy(),
        item=lookup[item_codes[mine]],
        value=_numbers(assessments["score"], mine),
    )


def _numbers(values: pd.Series, mine: np.ndarray) -> np.ndarray:
    """The scores of rows ``mine`` as floats, NaN where missing or not a number (each distinct text read once)."""
    if isinstance(values.dtype, np.dtype) and values.dtype.kind == "f":
        return values.to_numpy()[mine].astype(float, copy=False)  # the instrument's rows, not the table, copied
    values = values.iloc[mine]
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=float, na_value=np.nan)
    codes, distinct = codes_of(values)
    numbers = pd.to_numeric(pd.Series(distinct, dtype=object), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.append(numbers, np.nan)[codes]


@dataclass(frozen=True)
class _Occasions:
    """The occasions (person and date) of one instrument's rows, in order of person then date."""

    person: np.ndarray
    when: np.ndarray

    @property
    def n(self) -> int:
        return self.person.size


def _occasions(rows: _Rows) -> tuple[np.ndarray, _Occasions]:
    """Each row's occasion (-1 for a row without a person or date), and the occasions, numbered in order of
    person, then date, by sorting integer keys, never text.

    An occasion's rows are usually side by side (a table is written person by person, date by date), so only
    the first row of each run of one person and date is keyed and sorted; rows in any other order give more
    runs to sort, and the same occasions.
    """
    when = rows.when()
    keyed = (rows.person >= 0) & ~np.isnat(when)
    every = bool(keyed.all())  # the usual case: the columns are used as they are, not copied
    person, when = (rows.person, when) if every else (rows.person[keyed], when[keyed])
    starts = np.zeros(0, dtype=np.int64)
    if person.size:
        change = person[1:] != person[:-1]
        change |= when[1:] != when[:-1]
        starts = np.flatnonzero(np.r_[True, change])
        del change
    # The runs' person codes and dates packed in one ordered int64 (ground.rowkeys: no hashing of dates, whose
    # low bits repeat).
    key = row_keys([person[starts], when[starts]], ordered=True)
    del person, when
    _, first, occasion = np.unique(key, return_index=True, return_inverse=True)
    del key
    kind = np.int32 if rows.n < 2**31 else np.int64  # rows and occasions counted in int32 where they fit
    run = np.zeros(keyed.sum(), dtype=kind)
    run[starts[1:]] = 1
    np.cumsum(run, out=run)  # each keyed row's run, in place
    occasion = occasion.reshape(-1).astype(kind)
    if every:
        of_row = occasion[run]
        at = starts[first]  # each occasion's first row
    else:
        of_row = np.full(rows.n, -1, dtype=kind)
        of_row[keyed] = occasion[run]
        at = np.flatnonzero(keyed)[starts[first]]
    return of_row, _Occasions(rows.person[at].astype(np.int64), rows.when(at))


@dataclass(frozen=True)
class _Problems:
    """The problems frame, and the instrument's row (0-based among its rows) of each of its entries."""

    frame: pd.DataFrame
    mine: np.ndarray


def _problems(rows: _Rows, of_row: np.ndarray, n: int, assessments: pd.DataFrame, instrument: Instrument) -> _Problems:
    """One entry per problem among this instrument's rows: found on codes, written out for those rows only."""
    bounds = np.array([(i.min, i.max) for i in instrument.items] + [(np.nan, np.nan)], dtype=float)
    known, value, present = rows.item >= 0, rows.value, ~np.isnan(rows.value)
    with np.errstate(invalid="ignore"):
        # Each bound is looked up, compared and let go in turn: two rows' worth of floats, not four.
        outside = value < bounds[rows.item, 0]
        outside |= value > bounds[rows.item, 1]
        checks = {
            "missing_key": of_row < 0,
            "unknown_item": ~known,
            "missing_value": known & ~present,
            "not_integer": present & (value != np.round(value)),
            "out_of_range": present & known & outside,
            "duplicate_item": known & _given_twice(rows, of_row, n, len(instrument.items)),
        }
    texts = {
        "missing_key": "person_id or assessed_on is missing",
        "unknown_item": f"item is not one of {', '.join(instrument.item_names)}",
        "missing_value": "score is missing or not a number",
        "not_integer": "score must be a whole number",
        "out_of_range": "score is outside the item's range",
        "duplicate_item": "item given more than once on this occasion",
    }
    flagged = np.flatnonzero(np.logical_or.reduce(list(checks.values()))) if rows.n else np.zeros(0, dtype=np.int64)
    if not flagged.size:
        return _Problems(pd.DataFrame({c: pd.Series(dtype=object) for c in PROBLEM_COLUMNS}), flagged)
    source = assessments.iloc[rows.at[flagged]]
    shown = pd.DataFrame(
        {
            "row": rows.at[flagged].astype(np.int64),  # positions as the input counts them, whatever held them
            "mine": flagged,
            "person_id": np.asarray(rows.people, dtype=object).take(rows.person[flagged], mode="clip"),
            "assessed_on": rows.when(flagged),
            "item": source["item"].astype("string").to_numpy(),
            "value": source["score"].to_numpy(),
        }
    )
    shown.loc[rows.person[flagged] < 0, "person_id"] = np.nan
    found = []
    for rule, mask in checks.items():
        hit = shown.loc[mask[flagged]]
        if len(hit):
            item = rows.item[hit["mine"].to_numpy()]
            ranges = (bounds[item, 0], bounds[item, 1]) if rule == "out_of_range" else None
            found.append(hit.assign(rule=rule, message=_messages(rule, hit, texts[rule], ranges)))
    out = pd.concat(found).sort_values(["row", "rule"], kind="stable").reset_index(drop=True)
    return _Problems(out[PROBLEM_COLUMNS], out["mine"].to_numpy())


def _given_twice(rows: _Rows, of_row: np.ndarray, n: int, n_items: int) -> np.ndarray:
    """Rows whose item appears more than once on their occasion (of ``n``; rows without one: among themselves)."""
    twice = np.zeros(rows.n, dtype=bool)
    if n_items <= 32 and of_row.size and of_row[0] >= 0 and bool(np.all(of_row[1:] >= of_row[:-1])):
        # The usual case, every row on an occasion and each occasion's rows side by side: an occasion repeats an
        # item when the sum of its items' bits is not their union (bits of a few bytes a row, where a key and a
        # count per occasion and item are 16); only the rows of such occasions are keyed and counted. With at most
        # 32 items the 64-bit sum cannot wrap round to the union (that takes 2**33 rows on one occasion); a wider
        # instrument's is counted item by item below.
        bit = np.append(np.left_shift(1, np.arange(n_items, dtype=np.uint64)), np.uint64(0))  # unknown (-1): none
        bits = bit.astype(np.min_scalar_type(bit.max()))[rows.item]
        first = np.flatnonzero(np.r_[True, of_row[1:] != of_row[:-1]])
        union = np.bitwise_or.reduceat(bits, first)
        again = np.add.reduceat(bits, first, dtype=np.uint64) != union
        if again.any():
            suspect = np.flatnonzero(again[of_row] & (rows.item >= 0))
            key = of_row[suspect].astype(np.int64) * n_items + rows.item[suspect]
            _, which, count = np.unique(key, return_inverse=True, return_counts=True)
            twice[suspect] = count[which.reshape(-1)] > 1
        return twice
    keyed = (of_row >= 0) & (rows.item >= 0)
    key = of_row[keyed].astype(np.int64)
    key *= n_items  # in place: an int64 a row, made once
    key += rows.item[keyed]
    twice[keyed] = (np.bincount(key, minlength=n * n_items) > 1)[key]
    loose = (of_row < 0) & (rows.item >= 0)
    if loose.any():
        # A missing person or date equals another missing one, as pandas compares rows.
        same = pd.DataFrame({"person": rows.person[loose], "when": rows.when(loose), "item": rows.item[loose]})
        twice[loose] = same.duplicated(keep=False).to_numpy()
    return twice


def _written(values: pd.Series) -> pd.Series:
    """Values as text for a message, a missing one as "missing"."""
    return values.astype(str).where(values.notna(), "missing")


def _messages(rule: str, hit: pd.DataFrame, text: str, ranges: tuple[np.ndarray, np.ndarray] | None) -> pd.Series:
    """``"out_of_range: item q3 = 4 (score is outside the item's range 0-3)"``, one per row hit."""
    bounds: str | pd.Series = ""
    if ranges is not None:
        lo, hi = (pd.Series(r, index=hit.index).astype(int).astype(str) for r in ranges)
        bounds = " " + lo + "-" + hi
    return f"{rule}: item " + _written(hit["item"]) + " = " + _written(hit["value"]) + f" ({text}" + bounds + ")"


def _item_matrix(rows: _Rows, of_row: np.ndarray, problem_rows: np.ndarray, n: int, n_items: int) -> np.ndarray:
    """Items x occasions (each item's values side by side, a column of the scores as it is): each row with an
    occasion and no problem in its place (no two such rows share one), NaN elsewhere."""
    items = np.full((n_items, n), np.nan)
    if not problem_rows.size and of_row.size and of_row.min() >= 0:
        # The usual case: the rows' columns placed as they are, not copied first.
        items[rows.item, of_row] = rows.value
    else:
        good = of_row >= 0
        good[problem_rows] = False
        items[rows.item[good], of_row[good]] = rows.value[good]
    return items


def _scored(
    items: np.ndarray,
    occasions: _Occasions,
    people: pd.Index,
    problem_occasion: np.ndarray,
    problems: _Problems,
    instrument: Instrument,
) -> pd.DataFrame:
    """The scores frame: one row per occasion, the instrument's rule applied to its items (items x occasions),
    whose rows become the item columns as they are, not copied."""
    k = len(instrument.items)
    answered = ~np.isnan(items)
    n_answered = answered.sum(axis=0, dtype=np.int64)
    n_missing = k - n_answered
    has_problem = np.bincount(problem_occasion[problem_occasion >= 0], minlength=occasions.n) > 0
    if instrument.scoring in ("sum", "mean"):
        # Item by item (no copy of the matrix), missing ones as 0 and reversed ones as min + max - raw: whole
        # numbers, so the total is exact whatever the order they are added in, as numpy's sum of a row gives it.
        terms = (
            np.where(answered[j], item.min + item.max - items[j] if item.reversed else items[j], 0.0)
            for j, item in enumerate(instrument.items)
        )
        total = np.where(n_answered > 0, functools.reduce(np.add, terms), np.nan)
        enough = n_missing <= instrument.max_missing
        with np.errstate(invalid="ignore", divide="ignore"):
            per_item = total / n_answered
        # Complete occasions keep the exact sum (no divide-multiply rounding).
        value = np.where(n_missing > 0, per_item * k, total) if instrument.scoring == "sum" else per_item
        scorable = enough & ~has_problem
        prorated = scorable & (n_missing > 0)
        # Reasons as codes: 0 for none, 1 + m for m items missing.
        words = ["", *(f"{m} items missing (at most {instrument.max_missing} prorated)" for m in range(k + 1))]
        missing_code = np.where(enough, 0, 1 + n_missing)
    else:
        scorable = (n_answered >= 1) & ~has_problem
        value = items[0] if instrument.scoring == "single" else np.full(occasions.n, np.nan)
        prorated = np.zeros(occasions.n, dtype=bool)
        words, missing_code = ["", "no item answered"], (n_answered == 0).astype(np.int64)
    del answered
    reason = _with_problem_text(np.where(scorable, 0, missing_code), words, problem_occasion, problems)
    frame = pd.DataFrame(
        {
            "person_id": pd.Categorical.from_codes(occasions.person, categories=people),
            "assessed_on": occasions.when,
            "score": np.where(scorable, value, np.nan),
            "n_answered": n_answered,
            "prorated": prorated,
            "scorable": scorable,
            "reason": text_column(*reason),
        }
    )
    return frame.join(pd.DataFrame(dict(zip(instrument.item_names, items, strict=True)), copy=False))


def _with_problem_text(
    reason: np.ndarray, words: list[str], occasion: np.ndarray, problems: _Problems
) -> tuple[np.ndarray, list[str]]:
    """Each occasion's reason (a code into ``words``), those of occasions with problems led by their messages,
    "; "-joined in row order (each such reason a word of its own)."""
    keyed = occasion >= 0
    if not keyed.any():
        return reason, words
    messages = problems.frame["message"].to_numpy()[keyed]
    joined = pd.Series(messages).groupby(occasion[keyed], sort=False).agg(lambda m: "; ".join(m))
    at = joined.index.to_numpy()
    said = pd.Series(np.asarray(words, dtype=object)[reason[at]], dtype=object)
    combined = joined.reset_index(drop=True).str.cat(said, sep="; ").str.strip("; ")
    reason[at] = len(words) + np.arange(len(at))
    return reason, words + combined.tolist()
