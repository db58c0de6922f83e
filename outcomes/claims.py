"""Outcome claims judged against a rate card's rules: who may claim what, when, and how often.

A provider claims an outcome for a person with the evidence that it was
achieved (the ``claims`` table: ``person_id``, ``outcome``, ``achieved_on``,
``evidence``, optionally ``provider_id``). Some outcomes are not claimed but
fall due from spells, such as a sustainment payment for every four weeks in
work (the ``spells`` table; :mod:`outcomes.spells`). :func:`judge` puts every
claim and every payment due in one defined order and gives each the first rule
it breaks, in this order:

1. not eligible: the person is not in the contract's cohort, or fails the
   outcome's own eligibility rule (a missing value fails it too);
2. before start: achieved before the person's start date;
3. past the time limit: achieved more than ``within_days`` after it;
4. prerequisite missing: an outcome named in ``after`` was not achieved (by a
   claim that passes rules 1 to 4 itself) on or before that day;
5. duplicate: the person already has ``times`` claims of the outcome that
   pass rules 1 to 4, earlier in the claim order (``times`` may differ by
   the person's payment segment).

What a claim that passes them is paid (its price, ladders, the person's
maximum, volume caps and the contract cap) is :mod:`pricing.ratecard`'s.

**The claim order** is by ``achieved_on``, then ``person_id`` (as text), then
outcome name, then ``evidence`` (as text), then ``provider_id`` (as text, a
missing one first). Claims identical in all five are interchangeable. The
order of rows in the files never matters: the same claims in any order give
the same judgement.

Claims achieved after the settlement date are not yet known on that date:
they are left out and counted. Everything is computed on whole arrays, ids and
outcome names factorised once; the only loop is over the rate card's outcomes.

Examples
--------
>>> import pandas as pd
>>> cohort = pd.DataFrame({"person_id": ["a", "b"], "start_date": pd.to_datetime(["2024-01-01", "2024-01-01"])})
>>> claims = pd.DataFrame({"person_id": ["a", "a", "b"], "outcome": ["job", "job", "job"],
...                        "achieved_on": pd.to_datetime(["2024-03-01", "2024-04-01", "2023-12-01"]),
...                        "evidence": ["letter 1", "letter 2", "letter 3"]})
>>> judged, left_out = judge(claims, cohort, [ClaimRule("job")], index="start_date", as_of="2024-12-31")
>>> [REASONS[r] for r in judged.reason]
['before start', 'accepted', 'duplicate']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ground.checks import rows_text
from ground.dates import DateLike, parse_date, parse_dates
from ground.errors import SchemaError, SpecError
from ground.expressions import parse
from ground.factorise import ranked
from ground.tables import schema_error, validate
from outcomes.spells import NEVER, merged, payments_due

__all__ = ["REASONS", "ClaimRule", "JudgedClaims", "judge", "prerequisite_order"]

#: Why a claim is not paid, by code (0: accepted so far). Codes 1-5 are judged here, in this order;
#: the rest by pricing.ratecard, in this order, after them.
REASONS = (
    "accepted",
    "not eligible",
    "before start",
    "past the time limit",
    "prerequisite missing",
    "duplicate",
    "no price for the person's segment",
    "not above a rung already achieved",
    "over a volume cap",
    "over the person's maximum",
    "over the contract cap",
)
ACCEPTED, NOT_ELIGIBLE, BEFORE_START, PAST_TIME_LIMIT, PREREQUISITE_MISSING, DUPLICATE = range(6)


@dataclass(frozen=True)
class ClaimRule:
    """What makes a claim of one outcome valid.

    Attributes
    ----------
    name : str
        The outcome, as the claims file names it.
    label : str
        The outcome in words.
    times : int or mapping of segment -> int
        Most claims of it paid per person (for an outcome due from spells: most
        payments); a table by payment segment has a ``default`` for the rest.
    after : tuple of str
        Outcomes the person must have achieved on or before the day (a
        26-week job only after the 13-week one). For an outcome due from
        spells, its payments are counted from the day they were all achieved.
    within_days : int or None
        Time limit: achieved at most this many days after the person's start date.
    eligible : str or None
        Who may claim it, a rule over people columns (``ground.expressions``).
    spells : str or None
        Due from spells of this kind, not claimed.
    every_weeks : int or None
        With ``spells``: weeks of continuous spell per payment.
    """

    name: str
    label: str = ""
    times: int | Mapping[str, int] = 1
    after: tuple[str, ...] = ()
    within_days: int | None = None
    eligible: str | None = None
    spells: str | None = None
    every_weeks: int | None = None


@dataclass(frozen=True)
class JudgedClaims:
    """Every claim, and every payment due from spells, in the claim order, with the first rule it breaks.

    All arrays have one entry per claim. ``people`` holds the ids a ``person``
    code points to: the cohort's first (in the cohort's row order), then the
    ids of claims of no one in the cohort.

    Attributes
    ----------
    person : numpy.ndarray
        Position in ``people``; below ``n_cohort`` for someone in the cohort.
    outcome : numpy.ndarray
        Position in ``outcomes`` (outcome names in text order).
    day : numpy.ndarray
        The day achieved (or due), in days since 1970-01-01.
    reason : numpy.ndarray
        Index into :data:`REASONS`; 0 while accepted.
    row : numpy.ndarray
        Row of the claims table (0-based), or -1 for a payment due from spells.
    number : numpy.ndarray
        For a payment due from spells: its number for the person (1, 2, ...); 0 for a claim.
    began : numpy.ndarray
        For a payment due from spells: the day its spell's count began; 0 for a claim.
    """

    person: np.ndarray
    outcome: np.ndarray
    day: np.ndarray
    reason: np.ndarray
    row: np.ndarray
    number: np.ndarray
    began: np.ndarray
    outcomes: tuple[str, ...]
    people: pd.Index
    n_cohort: int

    def __len__(self) -> int:
        return int(self.person.size)


def prerequisite_order(rules: Sequence[ClaimRule], *, key: str = "claims.outcomes") -> list[ClaimRule]:
    """The rules in an order where each comes after its prerequisites (names in text order otherwise).

    Parameters
    ----------
    rules : sequence of ClaimRule
    key : str
        The contract key the rules are under, named in errors.

    Raises
    ------
    SpecError
        A prerequisite that is no outcome of the rules, or a cycle of them.

    Examples
    --------
    >>> [r.name for r in prerequisite_order([ClaimRule("job_26", after=("job_13",)), ClaimRule("job_13")])]
    ['job_13', 'job_26']
    """
    by_name = {r.name: r for r in rules}
    for r in rules:
        unknown = [a for a in r.after if a not in by_name]
        if unknown:
            raise SpecError(
                f"The '{key}.{r.name}.after' key must name outcomes of the rate card ({', '.join(sorted(by_name))}). "
                f"Got {unknown[0]!r}.",
                key=f"{key}.{r.name}.after",
            )
    done: list[ClaimRule] = []
    waiting = sorted(by_name)
    while waiting:
        ready = [n for n in waiting if all(a in {d.name for d in done} for a in by_name[n].after)]
        if not ready:
            raise SpecError(
                f"The '{key}.NAME.after' keys form a cycle among {', '.join(waiting)}: each waits for another, so "
                "none can ever be achieved.",
                key=f"{key}.{waiting[0]}.after",
            )
        done += [by_name[n] for n in ready]
        waiting = [n for n in waiting if n not in ready]
    return done


def judge(
    claims: pd.DataFrame,
    cohort: pd.DataFrame,
    rules: Sequence[ClaimRule],
    *,
    index: str,
    as_of: DateLike,
    spells: pd.DataFrame | None = None,
    segment: pd.Series | None = None,
    source: str | None = None,
) -> tuple[JudgedClaims, list[tuple[str, str, int]]]:
    """Judge every claim (and every payment due from spells) against its outcome's rule.

    Parameters
    ----------
    claims : pandas.DataFrame
        ``person_id``, ``outcome``, ``achieved_on``, ``evidence``, optionally
        ``provider_id``: checked against the ``claims`` schema
        (:func:`ground.tables.validate`) unless its dates are dates already.
    cohort : pandas.DataFrame
        The contract's cohort: ``person_id`` (unique) and the start date
        column ``index``, plus any columns the eligibility rules read.
    rules : sequence of ClaimRule
        One per outcome of the rate card.
    index : str
        The cohort's start date column.
    as_of : DateLike
        The settlement date, YYYY-MM-DD (:mod:`ground.dates`): later claims are
        left out and counted; payments due from spells are made up to it.
    spells : pandas.DataFrame, optional
        ``person_id``, ``kind``, ``start``, ``end`` (checked as ``claims``
        is); needed when a rule is due from spells.
    segment : pandas.Series, optional
        Each cohort member's payment segment (aligned with ``cohort``), for
        ``times`` by segment.
    source : str, optional
        The claims file, named in errors.

    Returns
    -------
    JudgedClaims, list of (step, reason, n)
        The judgement, and what was left out with its count.

    Raises
    ------
    SchemaError
        A claim of an outcome the rate card does not have, or of one due
        from spells (rows counted from 1).

    Examples
    --------
    >>> cohort = pd.DataFrame({"person_id": ["a"], "start_date": pd.to_datetime(["2024-01-01"])})
    >>> claims = pd.DataFrame({"person_id": ["a", "a"], "outcome": ["job_26", "job_13"],
    ...                        "achieved_on": pd.to_datetime(["2024-07-01", "2024-04-01"]), "evidence": ["e2", "e1"]})
    >>> rules = [ClaimRule("job_13"), ClaimRule("job_26", after=("job_13",), within_days=90)]
    >>> judged, _ = judge(claims, cohort, rules, index="start_date", as_of="2024-12-31")
    >>> [(judged.outcomes[o], REASONS[r]) for o, r in zip(judged.outcome, judged.reason)]
    [('job_13', 'accepted'), ('job_26', 'past the time limit')]
    """
    rules = prerequisite_order(rules)
    names = tuple(sorted(r.name for r in rules))
    cut = parse_date(as_of, "The 'as_of' parameter of judge").to_datetime64().astype("datetime64[D]").astype(np.int64)
    claims = _as_dates(claims, "claims", ("achieved_on",), source)
    spells = None if spells is None else _as_dates(spells, "spells", ("start", "end"), None)
    claimed = _claimed(claims, cohort["person_id"], rules, names, cut, source)
    people, n_cohort, rank = claimed.people, claimed.n_cohort, claimed.rank
    start = np.zeros(len(people), dtype=np.int64)
    start[:n_cohort] = _days(_start_dates(cohort[index], index))
    reason = np.zeros(len(claimed.person), dtype=np.int8)
    due, left_out = [], list(claimed.left_out)
    first: dict[str, np.ndarray] = {}
    for rule in rules:
        code, times = names.index(rule.name), _times(rule, segment, n_cohort, len(people))
        if rule.spells is None:
            block = claimed.block(code)
        else:
            anchor = np.max([first[a] for a in rule.after], axis=0) if rule.after else None
            block, outside = _due(rule, spells, code, people, n_cohort, start, anchor, cut, rank, times)
            left_out += outside
            due.append(block)
        block["reason"] = _validity(rule, block, _eligible(rule, cohort, len(people)), start, first)
        valid = block["reason"] == ACCEPTED
        first[rule.name] = np.full(len(people), NEVER, dtype=np.int64)
        np.minimum.at(first[rule.name], block["person"][valid], block["day"][valid])
        block["reason"][valid & _beyond(block, times)] = DUPLICATE
        if rule.spells is None:
            reason[block["at"]] = block["reason"]
    return _assembled(claimed, reason, due, names), left_out


# ------------------------------------------------------------------ claims as arrays
@dataclass(frozen=True)
class _Claimed:
    """The claims known by the settlement date as arrays in the claim order, and where each outcome's claims are."""

    person: np.ndarray
    outcome: np.ndarray
    day: np.ndarray
    row: np.ndarray
    tie: np.ndarray
    people: pd.Index
    n_cohort: int
    rank: np.ndarray
    left_out: list[tuple[str, str, int]]
    #: Positions of the claims by outcome, each outcome's in the claim order; where each outcome's begin.
    by_outcome: np.ndarray
    starts: np.ndarray

    def block(self, code: int) -> dict[str, np.ndarray]:
        """The claims of one outcome, in the claim order, with their positions among all claims (``at``)."""
        at = self.by_outcome[self.starts[code] : self.starts[code + 1]]
        return {"person": self.person[at], "day": self.day[at], "at": at}


def _claimed(claims: pd.DataFrame, cohort_ids: pd.Series, rules, names: tuple[str, ...], cut: int, source) -> _Claimed:
    """Outcome names, ids and days factorised once; unknown outcomes refused with their rows; later claims counted.

    The claims are sorted once, into the claim order; each outcome's are found among them by one stable sort of
    the outcomes' few codes, which keeps the claim order within each.
    """
    claimed = {r.name for r in rules if r.spells is None}
    codes, uniques = pd.factorize(claims["outcome"])
    found = [str(name) for name in uniques]
    known = np.array([name in claimed for name in found], dtype=bool)
    bad = (codes < 0) | ~np.append(known, False)[codes]
    if bad.any():
        _refuse(claims, bad, claimed, set(names) - claimed, source)
    outcome = np.array([names.index(n) for n in found], dtype=np.int16)[codes] if len(found) else codes
    day = _days(claims["achieved_on"])
    later = day > cut
    row = np.flatnonzero(~later)
    left_out = [("claims", "achieved after the settlement date", int(later.sum()))] if later.any() else []
    # The column's own take: iloc would take (and then drop) the rows' index labels as well.
    people, person, n_cohort = _people(cohort_ids, pd.Series(claims["person_id"].array.take(row)))
    rank = ranked(people)
    outcome, day = outcome[row], day[row]
    order = _order(day, rank[person], outcome)
    outcome, day, person, row = outcome[order], day[order], person[order], row[order]
    at, moved, tie = _ties_broken(claims, row, person, day, outcome)
    for column in (outcome, day, person, row):  # only tied claims move, within their runs
        column[at] = column[moved]
    by_outcome = np.argsort(outcome, kind="stable")  # a few small codes: a radix sort
    starts = np.searchsorted(outcome[by_outcome], np.arange(len(names) + 1))
    return _Claimed(person, outcome, day, row, tie, people, n_cohort, rank, left_out, by_outcome, starts)


def _order(*keys: np.ndarray) -> np.ndarray:
    """The stable order of rows by ``keys`` (the first most significant).

    The keys and each row's position (last, so equal keys keep their rows' order) are packed into one integer when
    they fit: sorting the integers, no sort of positions by them, gives the order in their lowest bits.
    """
    n = keys[0].size
    places = max(n - 1, 0).bit_length()
    packed, bits = np.arange(n, dtype=np.int64), places
    for key in reversed(keys):
        low = int(key.min()) if key.size else 0
        width = (int(key.max()) - low + 1).bit_length() if key.size else 0
        if bits + width > 63:
            return np.lexsort(keys[::-1])
        packed |= (key.astype(np.int64) - low) << bits
        bits += width
    order: np.ndarray = np.sort(packed) & ((1 << places) - 1)
    return order


def _refuse(claims: pd.DataFrame, bad: np.ndarray, claimed: set[str], from_spells: set[str], source) -> None:
    values = claims["outcome"].astype("str").to_numpy()[bad]
    rule = f"not an outcome claimed under the rate card (claimed: {', '.join(sorted(claimed)) or 'none'}"
    rule += f"; due from spells, not claimed: {', '.join(sorted(from_spells))})" if from_spells else ")"
    failures = pd.DataFrame(
        {"column": "outcome", "rule": rule, "row": pd.array(np.flatnonzero(bad), dtype="Int64"), "value": values}
    )
    raise schema_error(failures, "claims", list(claims.columns), source=source)


def _ties_broken(claims: pd.DataFrame, row, person, day, outcome) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Within runs of claims alike in outcome, day and person: the order by evidence, then provider, and each rank.

    Only the tied claims' text is read and sorted; every other claim keeps its place and ranks 0. Returns the
    tied claims' places, the place each one's claim comes from, and every claim's rank in its run.
    """
    same = (person[1:] == person[:-1]) & (day[1:] == day[:-1]) & (outcome[1:] == outcome[:-1])
    rank = np.zeros(row.size, dtype=np.int64)
    if not same.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), rank
    tied = np.zeros(row.size, dtype=bool)
    tied[1:] |= same
    tied[:-1] |= same
    at = np.flatnonzero(tied)
    provider = claims["provider_id"].iloc[row[at]].astype("str").fillna("") if "provider_id" in claims else ""
    keys = pd.DataFrame(
        {
            "run": np.cumsum(np.append(True, ~same))[at],
            "evidence": claims["evidence"].iloc[row[at]].astype("str").to_numpy(),
            "provider": np.asarray(provider, dtype=object),
        }
    )
    ordered = keys.sort_values(["run", "evidence", "provider"], kind="stable")
    # Runs are contiguous, so reordering the tied places within each run leaves every other claim where it is.
    run = ordered["run"].to_numpy()
    position = np.arange(run.size)
    rank[at] = position - np.maximum.accumulate(np.where(np.append(True, run[1:] != run[:-1]), position, 0))
    return at, at[ordered.index.to_numpy()], rank


def _people(cohort_ids: pd.Series, claim_ids: pd.Series) -> tuple[pd.Index, np.ndarray, int]:
    """The ids claims point to (the cohort's, then others') and each claim's position among them.

    One factorisation of the cohort's ids followed by the claims' gives both: codes follow first
    appearance, so the cohort's unique ids are 0 to n - 1 in their order, and other ids follow.
    """
    ids = cohort_ids.astype("str").reset_index(drop=True)
    codes, found = pd.factorize(pd.concat([ids, claim_ids.astype("str").reset_index(drop=True)], ignore_index=True))
    if (codes[: len(ids)] != np.arange(len(ids))).any():
        twice = ids[ids.duplicated()].unique()[:3].tolist()
        raise SchemaError(f"The cohort's person_id must be unique. Got {twice} more than once.", table="people")
    return pd.Index(found), codes[len(ids) :].astype(np.int64), len(ids)


def _as_dates(frame: pd.DataFrame, table: str, dates: tuple[str, ...], source: str | None) -> pd.DataFrame:
    """The table as its schema reads it (ids as text, dates by the one date parser), unless its dates are dates."""
    if all(c in frame and pd.api.types.is_datetime64_any_dtype(frame[c]) for c in dates):
        return frame
    return validate(frame, table, source=source)


def _start_dates(values: pd.Series, index: str) -> pd.Series:
    """The cohort's start dates, read by the one date parser; a cell that is no date is refused with its rows."""
    if pd.api.types.is_datetime64_any_dtype(values) and not values.isna().any():
        return values
    dates, bad, rule = parse_dates(values)
    bad |= dates.isna().to_numpy()
    if bad.any():
        raise SchemaError(
            f"The cohort's {index} must be a date for everyone in it ({rule}). Got, in the rows of the cohort given "
            f"(counted from 1): {rows_text(np.flatnonzero(bad), values[bad].tolist())}.",
            table="people",
        )
    return dates


def _days(values: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 of a date column (a missing date becomes the smallest integer: callers replace it)."""
    return values.to_numpy().astype("datetime64[D]").astype(np.int64)


# ------------------------------------------------------------------ the rules
def _eligible(rule: ClaimRule, cohort: pd.DataFrame, n_people: int) -> np.ndarray:
    """Per person code: in the cohort, and meets the outcome's rule (a missing value does not)."""
    ok = np.zeros(n_people, dtype=bool)
    ok[: len(cohort)] = True
    if rule.eligible is not None:
        flag = parse(rule.eligible, key=f"claims.outcomes.{rule.name}.eligible").evaluate(cohort)
        ok[: len(cohort)] = flag.fillna(False).to_numpy(dtype=bool)
    return ok


def _validity(rule: ClaimRule, block: dict, eligible: np.ndarray, start: np.ndarray, first: Mapping) -> np.ndarray:
    """Reasons 1 to 4, the first broken."""
    person, day = block["person"], block["day"]
    tests = [
        (NOT_ELIGIBLE, ~eligible[person]),
        (BEFORE_START, day < start[person]),
    ]
    if rule.within_days is not None:
        tests.append((PAST_TIME_LIMIT, day > start[person] + rule.within_days))
    for after in rule.after:
        tests.append((PREREQUISITE_MISSING, day < first[after][person]))
    reason = np.zeros(person.size, dtype=np.int8)
    for code, broken in reversed(tests):
        reason[broken] = code
    return reason


def _times(rule: ClaimRule, segment: pd.Series | None, n_cohort: int, n_people: int) -> np.ndarray:
    """Per person code: the most claims (or payments) of the outcome, by the person's segment."""
    if not isinstance(rule.times, Mapping):
        return np.full(n_people, rule.times, dtype=np.int64)
    times = np.full(n_people, rule.times["default"], dtype=np.int64)
    if segment is not None:
        segment = segment.astype("category")
        by_code = [rule.times.get(str(name), rule.times["default"]) for name in segment.cat.categories]
        codes = segment.cat.codes.to_numpy()
        times[:n_cohort] = np.where(codes >= 0, np.asarray(by_code + [0], dtype=np.int64)[codes], times[:n_cohort])
    return times


def _beyond(block: dict, times: np.ndarray) -> np.ndarray:
    """Claims after a person's first ``times`` valid ones of the outcome (the block is in claim order)."""
    valid = np.flatnonzero(block["reason"] == ACCEPTED)
    person = block["person"][valid]
    order = _order(person)
    starts = np.ones(order.size, dtype=bool)
    starts[1:] = person[order][1:] != person[order][:-1]
    position = np.arange(order.size)
    count = position - np.maximum.accumulate(np.where(starts, position, 0))
    beyond = np.zeros(block["person"].size, dtype=bool)
    beyond[valid[order[count >= times[person[order]]]]] = True
    return beyond


def _due(rule: ClaimRule, spells, code: int, people, n_cohort: int, start, anchor, cut: int, rank, times):
    """The payments of a recurring outcome due by the settlement date, in the claim order."""
    if spells is None:
        raise SpecError(
            f"The outcome {rule.name!r} is due from spells of kind {rule.spells!r}: a spells table is needed.",
            key=f"claims.outcomes.{rule.name}.spells",
        )
    mine = spells.loc[spells["kind"].astype("str") == rule.spells]
    where = people[:n_cohort].get_indexer(mine["person_id"].astype("str"))
    outside = int((where < 0).sum())
    left_out = [("spells", f"{rule.spells} spells of no one in the cohort", outside)] if outside else []
    inside = np.flatnonzero(where >= 0)
    end = mine["end"].iloc[inside]
    person, begin, finish = merged(
        where[inside].astype(np.int64), _days(mine["start"].iloc[inside]), np.where(end.isna(), NEVER, _days(end))
    )
    floor = start[person] if anchor is None else np.maximum(start[person], anchor[person])
    who, day, began, number = payments_due(
        person=person,
        start=begin,
        end=finish,
        anchor=floor,
        every_days=7 * int(rule.every_weeks or 1),
        times=times[person],
        until=np.full(person.size, cut),
    )
    order = _order(day, rank[who])
    n = who.size
    block = {"person": who[order], "day": day[order], "row": np.full(n, -1, dtype=np.int64)}
    block.update(tie=np.zeros(n, dtype=np.int64), number=number[order], began=began[order])
    block["outcome"] = np.full(n, code, dtype=np.int16)
    return block, left_out


def _assembled(claimed: _Claimed, reason: np.ndarray, due: list[dict], names) -> JudgedClaims:
    """The claims with their reasons, in the claim order already, and any payments due from spells merged in by
    achieved_on, person and outcome (a payment is never of a claimed outcome, so never tied with a claim)."""
    n = len(claimed.person)
    j = {"person": claimed.person, "outcome": claimed.outcome, "day": claimed.day, "reason": reason}
    j.update(row=claimed.row, tie=claimed.tie, number=np.zeros(n, dtype=np.int64), began=np.zeros(n, dtype=np.int64))
    if due:
        joined = {k: np.concatenate([v, *(b[k] for b in due)]) for k, v in j.items()}
        order = _order(joined["day"], claimed.rank[joined["person"]], joined["outcome"], joined["tie"])
        j = {k: v[order] for k, v in joined.items()}
    return JudgedClaims(
        person=j["person"],
        outcome=j["outcome"],
        day=j["day"],
        reason=j["reason"],
        row=j["row"],
        number=j["number"],
        began=j["began"],
        outcomes=names,
        people=claimed.people,
        n_cohort=claimed.n_cohort,
    )
