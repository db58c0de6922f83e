"""Rate cards: a price per outcome claimed, with ladders, maxima and caps, paid in the period it falls due.

Most UK outcomes contracts since 2012 (the DWP Innovation Fund, the Youth
Engagement Fund, the Fair Chance Fund, the Skill Mill) pay a price for each
verified outcome a provider claims. A contract says so in its ``[claims]``
section:

.. code-block:: toml

    [claims]
    periods = "quarterly"                 # payment periods: monthly | quarterly
    max_per_person = 8200                 # optional: most paid for one person (or a table by segment)

    [claims.outcomes.job_13]
    label = "Entry to employment, 13 weeks"
    price = 3500                          # £, or { default = 3500, SEGMENT = 4000 }
    times = 1                             # most claims paid per person
    after = ["attachment"]                # prerequisites, achieved on or before
    within_days = 730                     # time limit after the start date
    cap = 400                             # optional volume cap: most claims paid over the contract ...
    cap_share = 0.4                       # ... and/or as a share of the cohort
    eligible = "age >= 16"                # optional rule over people columns

    [claims.outcomes.sustainment]         # due from spells, not claimed
    spells = "employment"
    every_weeks = 4
    times = 13                            # most payments per person
    after = ["job_13"]                    # counted from the day it was achieved
    price = 170

    [claims.ladders.qualifications]
    rungs = ["level_1", "level_2", "level_3"]   # lowest first
    pays = "highest"                      # highest | increment

The contract cap is ``[payment].outcome_cap``. :func:`settle_claims` judges
every claim (:func:`outcomes.claims.judge`: eligibility, start, time limit,
prerequisites, duplicates), then, in the claim order, prices it by the
person's segment and applies, in this order: a price for the segment
(reason *no price for the person's segment*); the ladder (*not above a rung
already achieved*); the volume caps (*over a volume cap*); the person's
maximum (*over the person's maximum*); the contract cap (*over the contract
cap*). Each stage counts only the claims the stages before it passed: a volume
cap counts the outcomes it recognises, the first in the claim order; the
person's maximum and the contract cap count money, and the claim that crosses
one is paid what is left and noted. Money is in whole pence throughout.

**Ladders.** ``highest``: a person is paid, over the ladder, the price of the
highest rung achieved; a higher rung pays its price less the price of the
highest rung the person achieved before it (a top-up), and a rung no higher
than one already achieved is rejected. ``increment``: each rung pays its price less the price of
the rung below it, whether or not that rung was claimed; all rungs together
pay the top rung's price.

Everything is computed on whole arrays: caps by running sums and running
maxima within groups, in the claim order; the only loops are over the rate
card's outcomes and ladders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd

from ground.dates import DateLike
from ground.errors import SpecError
from ground.expressions import parse
from ground.tables import Links, report_links, validate
from outcomes.claims import REASONS, ClaimRule, JudgedClaims, judge, prerequisite_order
from outcomes.spec import MAX_POUNDS
from pricing.keys import choice as _choice
from pricing.keys import fail as _fail
from pricing.keys import known as _known
from pricing.keys import number as _number
from pricing.keys import table as _table
from pricing.keys import text as _text

__all__ = [
    "CLAIM_KINDS",
    "ClaimsSettlement",
    "Ladder",
    "RateCard",
    "cash_flow",
    "payment_periods",
    "ratecard_from_mapping",
    "settle_claims",
    "to_pence",
]

PERIODS = ("monthly", "quarterly")
LADDER_PAYS = ("highest", "increment")
CLAIMS_KEYS = ("periods", "max_per_person", "outcomes", "ladders")
OUTCOME_KEYS = (
    "label",
    "price",
    "times",
    "after",
    "within_days",
    "eligible",
    "cap",
    "cap_share",
    "spells",
    "every_weeks",
)
#: The ledger's kinds of claim row: claimed with evidence, or due from spells.
CLAIM_KINDS = ("claim", "recurring")
UNPRICED, BELOW_RUNG, OVER_VOLUME_CAP, OVER_PERSON_MAX, OVER_CONTRACT_CAP = range(6, 11)
Price = float | Mapping[str, float]


def to_pence(pounds: float) -> int:
    """Pounds as written in a contract to whole pence, rounded half up (from the decimal the number was written as).

    Parameters
    ----------
    pounds : float

    Examples
    --------
    >>> to_pence(192.305), to_pence(0.1 + 0.2)
    (19231, 30)
    """
    return int((Decimal(repr(float(pounds))) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# ------------------------------------------------------------------ the rate card
@dataclass(frozen=True)
class Ladder:
    """Outcomes that are rungs of one ladder (lowest first), paid at the highest rung or by increments."""

    name: str
    rungs: tuple[str, ...]
    pays: str = "highest"


@dataclass(frozen=True)
class RateCard:
    """A contract's ``[claims]`` section: what each outcome claimed is worth, and the limits on paying it.

    Attributes
    ----------
    rules : tuple of outcomes.claims.ClaimRule
        When a claim of each outcome is valid.
    prices : dict of outcome -> price
        £ per claim (per payment), one number or a table by segment (``default`` for the rest).
    caps : dict of outcome -> int
        Volume caps: most claims of the outcome paid over the contract.
    cap_shares : dict of outcome -> float
        Volume caps as a share of the cohort.
    ladders : tuple of Ladder
    max_per_person : price or None
        Most paid for one person over the contract.
    periods : str
        ``"monthly"`` or ``"quarterly"``: the payment periods of the cash flow.

    Examples
    --------
    >>> card = ratecard_from_mapping({"outcomes": {"job": {"price": 400}}}, segments=())
    >>> card.prices, card.periods
    ({'job': 400.0}, 'monthly')
    """

    rules: tuple[ClaimRule, ...]
    prices: dict[str, Price]
    caps: dict[str, int]
    cap_shares: dict[str, float]
    ladders: tuple[Ladder, ...] = ()
    max_per_person: Price | None = None
    periods: str = "monthly"

    def prices_per_person(self) -> dict[str, Price]:
        """The most each outcome pays one person (its price times ``times``), by segment where priced so.

        The tariff a contract simulation (:func:`pricing.simulate_contract`) draws outcomes against.

        Examples
        --------
        >>> from pricing import scheme
        >>> scheme("dwp_work_programme").ratecard.prices_per_person()["sustainment"]["jsa_18_24"]
        2210.0
        """
        out: dict[str, Price] = {}
        for rule in self.rules:
            price, times = self.prices[rule.name], rule.times
            named = {*(price if isinstance(price, Mapping) else ()), *(times if isinstance(times, Mapping) else ())}
            if not named:
                out[rule.name] = float(Decimal(repr(price)) * _times_of(times, "default"))
                continue
            by_segment = {seg: _segment_price(price, seg) for seg in sorted(named)}
            out[rule.name] = {
                seg: float(Decimal(repr(value)) * _times_of(times, seg))
                for seg, value in by_segment.items()
                if value is not None
            }
        return out

    @property
    def spell_kinds(self) -> tuple[str, ...]:
        """The kinds of spell some outcome is due from."""
        return tuple(sorted({r.spells for r in self.rules if r.spells is not None}))

    def describe(self) -> str:
        """The rate card in plain words."""
        lines = []
        for r in self.rules:
            what = (
                f"every {r.every_weeks} weeks of {r.spells} spells, up to {_by_segment(r.times, '{:,}')} payments"
                if r.spells
                else f"claimed, at most {_by_segment(r.times, '{:,}')} a person"
            )
            limits = [f"after {', '.join(r.after)}"] if r.after else []
            limits += [f"within {r.within_days} days of the start"] if r.within_days is not None else []
            limits += [f"only where {parse(r.eligible).describe()}"] if r.eligible else []
            limits += [f"at most {self.caps[r.name]:,} paid"] if r.name in self.caps else []
            limits += [f"at most {self.cap_shares[r.name]:.0%} of the cohort"] if r.name in self.cap_shares else []
            price = _by_segment(self.prices[r.name], "£{:,.2f}")
            lines.append(f"Outcome {r.name}: {price}, {what}{''.join('; ' + x for x in limits)}.")
        lines += [f"Ladder {lad.name}: {' < '.join(lad.rungs)}, paying the {lad.pays}." for lad in self.ladders]
        if self.max_per_person is not None:
            lines.append(f"At most {_by_segment(self.max_per_person, '£{:,.2f}')} a person.")
        lines.append(f"Paid in {self.periods} periods.")
        return "\n".join(lines)


def _by_segment(value: Any, form: str) -> str:
    """``£400.00``, or ``£400.00 (young), £300.00 (default)`` for a table by segment."""
    if not isinstance(value, Mapping):
        return form.format(value)
    return ", ".join(f"{form.format(v)} ({segment})" for segment, v in value.items())


def ratecard_from_mapping(raw: object, *, segments: tuple[str, ...] | set[str]) -> RateCard:
    """Read and check a ``[claims]`` section; every error is a SpecError naming its key.

    Parameters
    ----------
    raw : mapping
        The section as TOML reads it.
    segments : collection of str
        The contract's segments, which prices by segment may name.

    Examples
    --------
    >>> card = ratecard_from_mapping({"max_per_person": 8200, "outcomes": {"job_13": {"price": 2600},
    ...                               "job_26": {"price": 1000, "after": ["job_13"]}}}, segments=())
    >>> [(r.name, r.after) for r in card.rules], card.max_per_person
    ([('job_13', ()), ('job_26', ('job_13',))], 8200.0)
    >>> ratecard_from_mapping({"outcomes": {"job": {"price": 1, "pays": 2}}}, segments=())
    Traceback (most recent call last):
    ...
    ground.errors.SpecError: The keys of 'claims.outcomes.job' must be among label, price, times, after, \
within_days, eligible, cap, cap_share, spells, every_weeks. Got unknown key 'pays'.
    """
    if not isinstance(raw, Mapping):
        raise _fail("claims", "a table", raw)
    _known(raw, CLAIMS_KEYS, "claims")
    outcomes = _table(raw, "outcomes", "claims", required=True)
    if not outcomes:
        raise SpecError(
            "The 'claims.outcomes' table must name at least one outcome. It is empty.", key="claims.outcomes"
        )
    read = {name: _outcome(name, table, set(segments)) for name, table in outcomes.items()}
    rules = tuple(r for r, _ in read.values())
    prerequisite_order(rules)
    terms = {name: t for name, (_, t) in read.items()}
    ladders = tuple(_ladder(n, t, read) for n, t in _table(raw, "ladders", "claims").items())
    _one_ladder_each(ladders)
    most = _price(raw, "max_per_person", "claims", set(segments), required=False)
    return RateCard(
        rules=rules,
        prices={n: t["price"] for n, t in terms.items()},
        caps={n: t["cap"] for n, t in terms.items() if t["cap"] is not None},
        cap_shares={n: t["cap_share"] for n, t in terms.items() if t["cap_share"] is not None},
        ladders=ladders,
        max_per_person=most,
        periods=_choice(raw, "periods", "claims", PERIODS, "monthly"),
    )


def _whole(raw: Mapping, name: str, key: str, default: Any, low: int) -> Any:
    value = _number(raw, name, key, default, low=low)
    if value is None or value is default:
        return value
    if not float(value).is_integer():
        raise _fail(f"{key}.{name}", f"a whole number >= {low}", raw[name])
    return int(value)


def _times(raw: Mapping, key: str, segments: set[str]) -> int | dict[str, int]:
    """A whole number >= 1, or a table of them by segment with a ``default``."""
    if not isinstance(raw.get("times"), Mapping):
        return _whole(raw, "times", key, 1, 1)
    table = dict(raw["times"])
    _known(table, tuple(sorted(segments)) + ("default",), f"{key}.times")
    if "default" not in table:
        raise SpecError(f"The '{key}.times' table needs a default for the segments it does not name.",
                        key=f"{key}.times.default")  # fmt: skip
    return {seg: _whole(table, seg, f"{key}.times", None, 1) for seg in table}


def _price(raw: Mapping, name: str, key: str, segments: set[str], required: bool = True) -> Price | None:
    """An amount in £, or a table of amounts by segment (and ``default``)."""
    if name not in raw:
        if required:
            raise SpecError(f"The '{key}.{name}' key is required (£, or a table by segment). It is missing.",
                            key=f"{key}.{name}")  # fmt: skip
        return None
    if not isinstance(raw[name], Mapping):
        return _number(raw, name, key, high=MAX_POUNDS)
    table = dict(raw[name])
    _known(table, tuple(sorted(segments)) + ("default",), f"{key}.{name}")
    return {seg: _number(table, seg, f"{key}.{name}", high=MAX_POUNDS) for seg in table}


def _outcome(name: str, raw: Any, segments: set[str]) -> tuple[ClaimRule, dict[str, Any]]:
    key = f"claims.outcomes.{name}"
    if not isinstance(raw, Mapping):
        raise _fail(key, "a table", raw)
    _known(raw, OUTCOME_KEYS, key)
    after = raw.get("after", [])
    if not isinstance(after, list) or not all(isinstance(a, str) for a in after) or name in after:
        raise _fail(f"{key}.after", "a list of other outcomes of the rate card", after)
    eligible = _text(raw, "eligible", key, None)
    if eligible is not None:
        parse(eligible, key=f"{key}.eligible")
    spells = _text(raw, "spells", key, None)
    every = _whole(raw, "every_weeks", key, None, 1)
    if (spells is None) != (every is None):
        missing = "every_weeks" if every is None else "spells"
        raise SpecError(
            f"The '{key}.{missing}' key is required with '{key}.{'spells' if every is None else 'every_weeks'}': an "
            "outcome due from spells says which kind and how many weeks of it each payment needs.",
            key=f"{key}.{missing}",
        )
    rule = ClaimRule(
        name=name,
        label=_text(raw, "label", key, ""),
        times=_times(raw, key, segments),
        after=tuple(after),
        within_days=_whole(raw, "within_days", key, None, 0),
        eligible=eligible,
        spells=spells,
        every_weeks=every,
    )
    terms = {
        "price": _price(raw, "price", key, segments),
        "cap": _whole(raw, "cap", key, None, 0),
        "cap_share": _number(raw, "cap_share", key, None, high=1),
    }
    return rule, terms


def _ladder(name: str, raw: Any, read: Mapping[str, tuple[ClaimRule, dict]]) -> Ladder:
    key = f"claims.ladders.{name}"
    if not isinstance(raw, Mapping):
        raise _fail(key, "a table with rungs and pays", raw)
    _known(raw, ("rungs", "pays"), key)
    rungs = raw.get("rungs")
    if not (
        isinstance(rungs, list)
        and len(rungs) >= 2
        and len(set(rungs)) == len(rungs)
        and all(isinstance(r, str) and r in read for r in rungs)
    ):
        raise _fail(f"{key}.rungs", f"a list of two or more outcomes of the rate card ({', '.join(read)})", rungs)
    for rung in rungs:
        rule = read[rung][0]
        if rule.spells is not None or rule.times != 1:  # a table of times is not 1 either
            raise SpecError(
                f"The '{key}.rungs' key names {rung!r}, which is "
                f"{'due from spells' if rule.spells else f'paid up to {rule.times} times'}: a rung is claimed once.",
                key=f"{key}.rungs",
            )
    prices = [read[r][1]["price"] for r in rungs]
    for seg in sorted({s for p in prices if isinstance(p, Mapping) for s in p} | {"default"}):
        values = [_segment_price(p, seg) for p in prices]
        known = [v for v in values if v is not None]
        if any(b < a for a, b in zip(known, known[1:])):
            raise SpecError(
                f"The rungs of '{key}' must cost more the higher they are (lowest first). For {seg}: "
                f"{', '.join(f'{r} £{v:,.2f}' for r, v in zip(rungs, values) if v is not None)}.",
                key=f"{key}.rungs",
            )
    return Ladder(name, tuple(rungs), _choice(raw, "pays", key, LADDER_PAYS, "highest"))


def _one_ladder_each(ladders: tuple[Ladder, ...]) -> None:
    seen: dict[str, str] = {}
    for ladder in ladders:
        for rung in ladder.rungs:
            if rung in seen:
                raise SpecError(
                    f"The 'claims.ladders.{ladder.name}.rungs' key names {rung!r}, already a rung of ladder "
                    f"{seen[rung]!r}: a rung belongs to one ladder.",
                    key=f"claims.ladders.{ladder.name}.rungs",
                )
            seen[rung] = ladder.name


def _times_of(times: int | Mapping[str, int], segment: str) -> int:
    return times.get(segment, times["default"]) if isinstance(times, Mapping) else times


def _segment_price(price: Price | None, segment: str) -> float | None:
    """The price for a segment: its own, else the default, else None (unpriced)."""
    if price is None or not isinstance(price, Mapping):
        return price
    return price.get(segment, price.get("default"))


# ------------------------------------------------------------------ settling claims
@dataclass(frozen=True)
class ClaimsSettlement:
    """Every claim, and every payment due from spells, with what it is paid and why.

    Attributes
    ----------
    ledger : pandas.DataFrame
        One row per claim or payment due, in the claim order, with the
        settlement ledger's columns (``tranche``, ``kind``, ``item``,
        ``person_id``, ``evidence``, ``evidence_date``: the day achieved,
        ``base_price``, ``uplift``, ``amount_pence``, ``note``: a cut to a
        maximum or cap, or a ladder's top-up), then ``period``: the payment
        period it falls in, ``status``: accepted or rejected, ``reason``: the
        rule broken, and ``provider_id`` when the claims have one.
    left_out : list of (step, reason, n)
        Claims and spells left out (achieved after the settlement date, spells
        of no one in the cohort), then the claims rejected, by reason.
    """

    ledger: pd.DataFrame
    left_out: list[tuple[str, str, int]]

    @property
    def total_pence(self) -> int:
        return int(self.ledger["amount_pence"].sum())


def settle_claims(
    card: RateCard,
    cohort: pd.DataFrame,
    claims: pd.DataFrame,
    *,
    people: pd.DataFrame,
    index: str,
    as_of: DateLike,
    segment: pd.Series | None = None,
    contract_cap: int | None = None,
    spells: pd.DataFrame | None = None,
    source: str | None = None,
    checked: bool = False,
) -> ClaimsSettlement:
    """Judge, price and cap every claim as of a date.

    Parameters
    ----------
    card : RateCard
    cohort : pandas.DataFrame
        The contract's cohort (eligible, in a tranche): ``person_id``, the
        start date column ``index``, ``tranche`` and any column an outcome's
        eligibility rule reads.
    claims : pandas.DataFrame
        The ``claims`` table (checked here against its schema).
    people : pandas.DataFrame
        The whole people table, to tell ids written differently (none
        matching) from claims of people outside the cohort.
    index : str
        The start date column.
    as_of : DateLike
        The settlement date, YYYY-MM-DD (:mod:`ground.dates`): what falls due by it is paid.
    segment : pandas.Series, optional
        Each cohort member's payment segment (aligned with ``cohort``); prices
        by segment look it up. Default: everyone pays the ``default`` price.
    contract_cap : int, optional
        Most paid for claims over the contract, in pence.
    spells : pandas.DataFrame, optional
        The ``spells`` table, for outcomes due from spells.
    source : str, optional
        The claims file, named in errors.
    checked : bool, default False
        The claims and spells were checked against their schemas already
        (:func:`pricing.settle` checks every table it reads): not again.

    Returns
    -------
    ClaimsSettlement

    Examples
    --------
    >>> card = ratecard_from_mapping({"outcomes": {"job": {"price": 400}}}, segments=())
    >>> cohort = pd.DataFrame({"person_id": ["a"], "start_date": pd.to_datetime(["2024-01-01"]), "tranche": ["t"]})
    >>> claims = pd.DataFrame({"person_id": ["a", "a"], "outcome": ["job", "job"],
    ...                        "achieved_on": ["2024-03-01", "2024-04-01"], "evidence": ["letter 1", "letter 2"]})
    >>> s = settle_claims(card, cohort, claims, people=cohort, index="start_date", as_of="2024-12-31")
    >>> s.ledger[["item", "amount_pence", "status", "reason"]].values.tolist()
    [['job', 40000, 'accepted', ''], ['job', 0, 'rejected', 'duplicate']]
    """
    if not checked:
        claims = validate(claims, "claims", source=source)
        spells = None if spells is None else validate(spells, "spells")
    segments = segment if segment is not None else pd.Series(pd.Categorical(["default"] * len(cohort)))
    segments = segments.astype("category").reset_index(drop=True)
    judged, left_out = judge(
        claims, cohort, card.rules, index=index, as_of=as_of, spells=spells, segment=segments, source=source
    )
    _linked(judged, people, source)
    seg = np.zeros(len(judged.people), dtype=np.int64)
    seg[: judged.n_cohort] = segments.cat.codes.to_numpy()
    money = _money(card, judged, seg, list(segments.cat.categories), contract_cap)
    tranche = cohort["tranche"].astype("category") if "tranche" in cohort else None
    rejected = np.bincount(money.reason, minlength=len(REASONS))
    left_out += [("claims", f"rejected: {REASONS[r]}", int(n)) for r, n in enumerate(rejected) if r and n]
    return ClaimsSettlement(_ledger(card, judged, claims, tranche, money), left_out)


def _linked(j: JudgedClaims, people: pd.DataFrame, source: str | None) -> None:
    """Refuse claims none of which names anyone in the people table: their ids are written another way.

    Claims of people outside the cohort are rejected in the ledger as not eligible; this only finds
    ids that cannot be anyone's (``"1.0"`` for ``"1"``), as :func:`ground.tables.check_links` does.
    """
    claims = j.row >= 0
    if j.n_cohort and (j.person[claims] < j.n_cohort).any():
        return
    others = j.people[j.n_cohort :]
    known = pd.Index(people["person_id"].astype("str"))
    found = known.get_indexer(others) >= 0
    stranger = np.append(np.zeros(j.n_cohort, dtype=bool), ~found)[j.person[claims]]
    links = Links(n=int(claims.sum()), matched=int((~stranger).sum()), unmatched=int(stranger.sum()))
    if links.n and not links.matched:
        report_links(links, table="claims", to_table="people", source=source, unmatched_ids=others[:3].tolist(),
                     known_ids=known[:3].tolist())  # fmt: skip


@dataclass
class _Money:
    """Per claim, in the claim order: the rate card's price, what is paid, the reason and a note's code."""

    base: np.ndarray
    paid: np.ndarray
    reason: np.ndarray
    note: np.ndarray
    before: np.ndarray


_TOP_UP, _INCREMENT, _CUT_PERSON, _CUT_CONTRACT = 1, 2, 4, 8


def _money(card: RateCard, j: JudgedClaims, seg: np.ndarray, segments: list[str], cap: int | None) -> _Money:
    """The pricing stages, in order: price, ladder, volume caps, the person's maximum, the contract cap."""
    table = _price_table(card, j.outcomes, segments)
    base = table[j.outcome, seg[j.person]]
    reason = j.reason.copy()
    reason[(reason == 0) & (base < 0)] = UNPRICED
    m = _Money(
        base, np.where(base > 0, base, 0), reason, np.zeros(base.size, dtype=np.int8), np.zeros(base.size, np.int64)
    )
    for ladder in card.ladders:
        _laddered(ladder, j, seg, table, m)
    _volume_capped(card, j, m)
    most = np.array([to_pence(v) if v is not None else -1 for v in (_segment_price(card.max_per_person, s)
                                                                 for s in segments)], dtype=np.int64)  # fmt: skip
    limit = most[seg[j.person]] if card.max_per_person is not None else None
    _capped(m, limit, j.person, OVER_PERSON_MAX, _CUT_PERSON)
    if cap is not None:
        _capped(m, np.full(base.size, cap, dtype=np.int64), None, OVER_CONTRACT_CAP, _CUT_CONTRACT)
    m.paid[m.reason != 0] = 0
    return m


def _price_table(card: RateCard, outcomes: tuple[str, ...], segments: list[str]) -> np.ndarray:
    """Pence by outcome and segment; -1 where the segment has no price and there is no default."""
    table = np.full((len(outcomes), len(segments)), -1, dtype=np.int64)
    for i, name in enumerate(outcomes):
        for k, segment in enumerate(segments):
            value = _segment_price(card.prices[name], segment)
            table[i, k] = -1 if value is None else to_pence(value)
    return table


def _laddered(ladder: Ladder, j: JudgedClaims, seg: np.ndarray, table: np.ndarray, m: _Money) -> None:
    """A ladder's rungs pay the highest rung reached (top-ups) or each rung's increment over the one below."""
    codes = np.array([j.outcomes.index(r) for r in ladder.rungs])
    rung = np.full(len(j.outcomes), -1)
    rung[codes] = np.arange(codes.size)
    on = (m.reason == 0) & (rung[j.outcome] >= 0)
    if ladder.pays == "increment":
        below = np.where(rung[j.outcome] > 0, codes[np.maximum(rung[j.outcome] - 1, 0)], -1)
        lower = np.where(below >= 0, table[np.maximum(below, 0), seg[j.person]], 0)
        steps = on & (below >= 0)
        m.paid[steps] = np.maximum(m.base[steps] - np.maximum(lower[steps], 0), 0)
        m.note[steps] |= _INCREMENT
        return
    at = np.flatnonzero(on)
    value = pd.Series(m.base[at])
    reached = value.groupby(j.person[at]).cummax().groupby(j.person[at]).shift(1, fill_value=-1).to_numpy()
    below_rung = value.to_numpy() <= reached
    m.reason[at[below_rung]] = BELOW_RUNG
    topped = at[~below_rung & (reached > 0)]
    m.paid[topped] = m.base[topped] - reached[~below_rung & (reached > 0)]
    m.note[topped] |= _TOP_UP


def _volume_capped(card: RateCard, j: JudgedClaims, m: _Money) -> None:
    """Claims of an outcome beyond its volume cap (a count, or a share of the cohort rounded down)."""
    most = np.full(len(j.outcomes), np.iinfo(np.int64).max, dtype=np.int64)
    for i, name in enumerate(j.outcomes):
        if name in card.caps:
            most[i] = card.caps[name]
        if name in card.cap_shares:
            most[i] = min(most[i], int(Decimal(repr(card.cap_shares[name])) * j.n_cohort))
    at = np.flatnonzero((m.reason == 0) & (most[j.outcome] < np.iinfo(np.int64).max))
    counted = pd.Series(np.ones(at.size, dtype=np.int64)).groupby(j.outcome[at]).cumsum().to_numpy()
    m.reason[at[counted > most[j.outcome[at]]]] = OVER_VOLUME_CAP


def _capped(m: _Money, limit: np.ndarray | None, group: np.ndarray | None, code: int, flag: int) -> None:
    """Pay each claim what is left under a running limit, in the claim order (per group, or over all)."""
    if limit is None:
        return
    at = np.flatnonzero((m.reason == 0) & (limit >= 0))
    amount = m.paid[at]
    total = np.cumsum(amount) if group is None else pd.Series(amount).groupby(group[at]).cumsum().to_numpy()
    most = limit[at]
    paid = np.minimum(most, total) - np.minimum(most, total - amount)
    cut = paid < amount
    m.reason[at[cut & (paid == 0)]] = code
    partly = at[cut & (paid > 0)]
    m.before[partly] = np.where(m.before[partly] > 0, m.before[partly], amount[cut & (paid > 0)])
    m.note[partly] |= flag
    m.paid[at] = paid


def payment_periods(days: np.ndarray, periods: str) -> pd.Categorical:
    """The payment period each day falls in, named by its first day (``2024-04-01``).

    Months, or quarters of the calendar year (January, April, July, October):
    the UK government's financial quarters too.

    Parameters
    ----------
    days : numpy.ndarray
        Days since 1970-01-01.
    periods : {"monthly", "quarterly"}

    Examples
    --------
    >>> d = np.array(["2024-05-17", "2024-07-01"], dtype="datetime64[D]").astype(np.int64)
    >>> list(payment_periods(d, "quarterly")), list(payment_periods(d, "monthly"))
    (['2024-04-01', '2024-07-01'], ['2024-05-01', '2024-07-01'])
    """
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    if periods == "quarterly":
        months = months - months % 3
    codes, first = pd.factorize(months, sort=True)
    names = pd.Index(first.astype("datetime64[M]").astype("datetime64[D]").astype(str))
    return pd.Categorical.from_codes(codes, categories=names)


def _ledger(card: RateCard, j: JudgedClaims, claims: pd.DataFrame, tranche, m: _Money) -> pd.DataFrame:
    """The claims ledger, one row per claim in the claim order; text columns as categories."""
    claimed = j.row >= 0
    row = np.where(claimed, j.row, 0)
    inside = j.person < j.n_cohort
    evidence = (
        pd.Series(claims["evidence"].astype("str").array.take(row))  # not iloc: no index labels taken and dropped
        if len(claims)
        else pd.Series([""] * len(j), dtype="str")
    )
    if not claimed.all():
        evidence = evidence.where(claimed, _spell_evidence(card, j, ~claimed))
    days, when = pd.factorize(j.day, sort=True)
    period = payment_periods(when, card.periods)  # named once a day found (some thousands), not once a claim
    base = np.where(m.base >= 0, m.base, -1)
    prices, price_values = pd.factorize(base, sort=True)
    ledger = pd.DataFrame(
        {
            "tranche": pd.Categorical.from_codes(
                np.where(inside, tranche.cat.codes.to_numpy()[np.where(inside, j.person, 0)], -1),
                categories=tranche.cat.categories,
            )
            if tranche is not None
            else "",
            "kind": pd.Categorical.from_codes(np.where(claimed, 0, 1), categories=pd.Index(CLAIM_KINDS)),
            "item": pd.Categorical.from_codes(j.outcome, categories=pd.Index(j.outcomes)),
            "person_id": pd.Series(j.people.take(j.person)).astype("str"),
            "evidence": evidence,
            "evidence_date": pd.Categorical.from_codes(days, categories=pd.Index(_iso(when))),
            "base_price": pd.Categorical.from_codes(prices, categories=pd.Index([_pounds(v) for v in price_values])),
            "uplift": "",
            "amount_pence": m.paid,
            "note": _notes(m),
            "period": pd.Categorical.from_codes(period.codes[days], categories=period.categories),
            "status": pd.Categorical.from_codes(
                (m.reason != 0).astype(np.int8), categories=pd.Index(["accepted", "rejected"])
            ),
            "reason": pd.Categorical.from_codes(m.reason, categories=pd.Index(["", *REASONS[1:]])),
        }
    )
    if "provider_id" in claims:
        ledger["provider_id"] = pd.Series(claims["provider_id"].astype("str").array.take(row)).where(claimed)
    return ledger


def _spell_evidence(card: RateCard, j: JudgedClaims, due: np.ndarray) -> pd.Series:
    """``employment spell counted from 2024-01-01: payment 3`` for each payment due from spells (no comma: the
    ledger's CSV need not quote it)."""
    kinds = np.array([next(r.spells or "" for r in card.rules if r.name == name) for name in j.outcomes], dtype=object)
    began, first = pd.factorize(j.began[due], sort=True)
    text = (
        pd.Series(kinds[j.outcome[due]])
        + " spell counted from "
        + pd.Series(_iso(first)).take(began).reset_index(drop=True)
        + ": payment "
        + pd.Series(j.number[due]).astype(str)
    )
    out = np.full(len(j), "", dtype=object)
    out[np.flatnonzero(due)] = text.to_numpy()
    return pd.Series(out, dtype="str")


def _notes(m: _Money) -> pd.Categorical:
    """Each claim's note, as categories of the notes found in text order; each note is written once, not once a
    claim (a ledger of millions of claims has a few notes)."""
    flags = np.where(m.reason == 0, m.note, 0)
    # A note's code: 0 none, 1 a top-up, 2 an increment (over a top-up), then three for each amount cut from.
    code = np.where((flags & _INCREMENT) > 0, 2, np.where((flags & _TOP_UP) > 0, 1, 0))
    cut = np.flatnonzero(flags & (_CUT_PERSON | _CUT_CONTRACT))
    amounts, before = pd.factorize(m.before[cut])
    which = (flags[cut] & (_CUT_PERSON | _CUT_CONTRACT)) // _CUT_PERSON - 1  # person's maximum, contract cap, both
    code[cut] = 3 + 3 * amounts + which
    texts = ["", "top-up over the lower rung already paid", "increment over the rung below"]
    for b in before:
        texts += [
            f"cut from {_pounds(b)} to {words}"
            for words in ("the person's maximum", "the contract cap", "the person's maximum, then to the contract cap")
        ]
    found, used = pd.factorize(code)
    notes = pd.Categorical(np.array(texts, dtype=object)[used])
    return pd.Categorical.from_codes(notes.codes[found], categories=notes.categories)


def _iso(days: np.ndarray) -> list[str]:
    return list(np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype(str))


def _pounds(pence: int) -> str:
    return "" if pence < 0 else f"{pence // 100}.{pence % 100:02d}"


def cash_flow(ledger: pd.DataFrame) -> pd.DataFrame:
    """What falls due in each payment period: ``period``, ``claims`` paid and ``amount_pence``.

    Parameters
    ----------
    ledger : pandas.DataFrame
        Claims ledger rows with ``period``, ``status`` and ``amount_pence``.

    Examples
    --------
    >>> ledger = pd.DataFrame({"period": ["2024-04-01", "2024-04-01", "2024-07-01"],
    ...                        "status": ["accepted", "rejected", "accepted"], "amount_pence": [100, 0, 250]})
    >>> cash_flow(ledger).values.tolist()
    [['2024-04-01', 1, 100], ['2024-07-01', 1, 250]]
    """
    paid = ledger.loc[ledger["status"].astype("str") == "accepted"]
    flow = paid.groupby(paid["period"].astype("str"), sort=True).agg(
        claims=("amount_pence", "size"), amount_pence=("amount_pence", "sum")
    )
    return flow.reset_index().astype({"claims": "int64", "amount_pence": "int64"})
