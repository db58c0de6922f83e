"""The tariff's ledger rows and the caps, as columns: no Python over people or ledger rows.

A tariff row's amount is its price times the person's stacked uplift, rounded half up to the penny. People share
few prices and few combinations of segments, so each distinct (price, uplift) pair is priced once, exactly, in
decimal arithmetic (:func:`pence`), and every person's amount is gathered from that small table by integer codes:
the same pence as pricing each person alone, whatever the number of people. Text (ids, dates, prices, uplifts) is
written once per distinct value and placed by its code, as categorical columns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd

from ground.errors import SpecError
from pricing.contract import Contract

__all__ = ["LEDGER_COLUMNS", "Uplifts", "capped", "pence", "pence_text", "tariff_rows", "uplifts"]

LEDGER_COLUMNS = (
    "tranche",
    "kind",
    "item",
    "person_id",
    "evidence",
    "evidence_date",
    "base_price",
    "uplift",
    "amount_pence",
    "note",
)


def pence(amount: float | Decimal) -> int:
    """Pounds (float, int or Decimal) to whole pence, rounded half up.

    A float is read by its shortest decimal form (``repr``), so 0.125 is exactly an eighth and 99.995 pounds is
    999,950 tenths of a penny: rounded half up, 10,000 pence.

    Parameters
    ----------
    amount : float, int or Decimal
        Pounds.

    Examples
    --------
    >>> pence(99.995), pence(Decimal("1.005") * Decimal("1.125")), pence(-0.005)
    (10000, 113, -1)
    """
    value = amount if isinstance(amount, Decimal) else Decimal(repr(float(amount)))
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def pence_text(amount: int) -> str:
    """``123456`` -> ``"1234.56"``; ``-5`` -> ``"-0.05"``.

    Parameters
    ----------
    amount : int
        Whole pence.

    Examples
    --------
    >>> pence_text(123456), pence_text(-5)
    ('1234.56', '-0.05')
    """
    sign = "-" if amount < 0 else ""
    whole, part = divmod(abs(int(amount)), 100)
    return f"{sign}{whole}.{part:02d}"


@dataclass(frozen=True)
class Uplifts:
    """Each person's stacked uplift and primary segment, as codes into short lists.

    Attributes
    ----------
    combination : numpy.ndarray
        Per person, the index of their uplift in ``factors``.
    factors : list of Decimal
        The stacked factor of each combination of uplifted segments met.
    segment : numpy.ndarray
        Per person, the index of their primary segment in ``segments``.
    segments : list of str
    """

    combination: np.ndarray
    factors: list[Decimal]
    segment: np.ndarray
    segments: list[str]


def uplifts(contract: Contract, cohort: pd.DataFrame) -> Uplifts:
    """The cohort's uplifts, stacked as ``[payment] stacking`` says over every segment a person is in.

    Parameters
    ----------
    contract : Contract
        Its segments, ``[payment.uplifts]`` and ``stacking``.
    cohort : pandas.DataFrame
        The people, with the columns the segments' rules read.

    Examples
    --------
    >>> from pricing import scheme
    >>> people = pd.DataFrame({"sex": ["female", "male"], "need_accommodation": [True, True],
    ...                        "need_substance": [True, False], "need_mental_health": [False, False]})
    >>> u = uplifts(scheme("sector_ask"), people)
    >>> [str(u.factors[c]) for c in u.combination], [u.segments[s] for s in u.segment]
    (['1.80', '1'], ['women', 'none'])
    """
    n = len(cohort)
    segments = contract.spec.segments
    if not segments:
        return Uplifts(np.zeros(n, dtype=np.int64), [Decimal(1)], np.zeros(n, dtype=np.int64), ["default"])
    from cohorts.segments import assign, segments_from_mapping

    assignment = assign(cohort, segments_from_mapping({k: s.to_dict() for k, s in segments.items()}))
    flags = assignment.flags.fillna(False).astype(bool)
    given = {k: Decimal(repr(float(v))) for k, v in contract.spec.payment.get("uplifts", {}).items()}
    uplifted = [s for s in flags.columns if s in given]
    # One bit per uplifted segment: each distinct set of segments met is stacked once, in the columns' order.
    bits = np.zeros(n, dtype=np.int64)
    for j, s in enumerate(uplifted):
        bits |= flags[s].to_numpy().astype(np.int64) << j
    sets, combination = np.unique(bits, return_inverse=True)
    additive = contract.spec.payment.get("stacking", "multiplicative") == "additive"
    factors = []
    for b in sets.tolist():
        member = [given[s] for j, s in enumerate(uplifted) if b >> j & 1]
        factors.append(
            Decimal(1) + sum(member, Decimal(0)) if additive else math.prod((1 + u for u in member), start=Decimal(1))
        )
    segment, names = pd.factorize(assignment.primary.astype(str))
    return Uplifts(combination.astype(np.int64), factors, segment.astype(np.int64), [str(s) for s in names])


def tariff_rows(
    item: str,
    price: tuple[str, float | Mapping[str, float]],
    paid: np.ndarray,
    cohort: pd.DataFrame,
    lifted: Uplifts,
    evidence: str,
    when: np.ndarray,
) -> pd.DataFrame:
    """Ledger rows of ``item`` for the people ``paid`` (a mask over the cohort, in its order).

    ``price`` is the price's key and the price: in pounds, or a table by segment (with ``default``); ``when``
    is each cohort person's evidence date (datetime64). A primary segment with neither a price nor a default
    is refused only when someone in it is paid.

    Parameters
    ----------
    item : str
        The ledger's item (the outcome).
    price : tuple of (str, float or mapping)
        The price's key and the price.
    paid : numpy.ndarray
        Boolean, one per cohort person.
    cohort : pandas.DataFrame
        ``tranche`` and ``person_id``, one row per person.
    lifted : Uplifts
        The cohort's uplifts (:func:`uplifts`).
    evidence : str
        The evidence column's text.
    when : numpy.ndarray
        datetime64, one per cohort person.

    Examples
    --------
    >>> cohort = pd.DataFrame({"tranche": ["t1", "t1"], "person_id": ["a", "b"]})
    >>> lifted = Uplifts(np.array([0, 1]), [Decimal(1), Decimal("1.5")], np.array([0, 0]), ["default"])
    >>> rows = tariff_rows("ete", ("ete", 99.995), np.array([True, True]), cohort, lifted, "ladder",
    ...                    np.array(["2024-05-01", "2024-06-01"], dtype="datetime64[D]"))
    >>> rows[["person_id", "evidence_date", "base_price", "uplift", "amount_pence"]].to_numpy().tolist()
    [['a', '2024-05-01', '100.00', '1', 10000], ['b', '2024-06-01', '100.00', '1.5', 14999]]
    """
    rows = np.flatnonzero(paid)
    segment, combination = lifted.segment[rows], lifted.combination[rows]
    used = np.unique(segment)
    base = np.zeros(len(lifted.segments))
    base[used] = [_base_price(price[1], lifted.segments[s], f"payment.prices.{price[0]}") for s in used.tolist()]
    # Each distinct (segment, uplift) pair priced once, exactly; people gather their amount by its code.
    pair = segment * len(lifted.factors) + combination
    pairs, which = np.unique(pair, return_inverse=True)
    amounts = np.array(
        [
            pence(Decimal(repr(float(base[p // len(lifted.factors)]))) * lifted.factors[p % len(lifted.factors)])
            for p in pairs.tolist()
        ],
        dtype=np.int64,
    )
    n = rows.size
    return pd.DataFrame(
        {
            "tranche": _text(cohort["tranche"].to_numpy()[rows]),
            "kind": pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=pd.Index(["tariff"])),
            "item": pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=pd.Index([item])),
            "person_id": _text(cohort["person_id"].to_numpy()[rows]),
            "evidence": pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=pd.Index([evidence])),
            "evidence_date": _days(when[rows]),
            "base_price": _labelled(segment, [f"{b:.2f}" for b in base.tolist()]),
            "uplift": _labelled(combination, [str(f) for f in lifted.factors]),
            "amount_pence": amounts[which.reshape(-1)] if n else np.zeros(0, dtype=np.int64),
            "note": pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=pd.Index([""])),
        }
    )


def _labelled(codes: np.ndarray, labels: list[str]) -> pd.Categorical:
    """Codes into ``labels`` as text (two codes may share a label: two segments at one price)."""
    which, distinct = pd.factorize(pd.Index(labels, dtype=object))
    return pd.Categorical.from_codes(which[codes], categories=distinct)


def _text(values: np.ndarray) -> pd.Categorical:
    """Values as text (``str`` of each), each distinct value written once."""
    codes, uniques = pd.factorize(values)
    return pd.Categorical.from_codes(codes, categories=pd.Index([str(u) for u in uniques], dtype=object))


def _days(when: np.ndarray) -> pd.Categorical:
    """Dates as ``YYYY-MM-DD`` (the day of each timestamp), each distinct day written once."""
    codes, days = pd.factorize(np.asarray(when).astype("datetime64[D]"))
    return pd.Categorical.from_codes(codes, categories=pd.Index(np.datetime_as_string(days, unit="D"), dtype=object))


def _base_price(price: Any, segment: str, key: str) -> float:
    if not isinstance(price, Mapping):
        return float(price)
    if segment in price:
        return float(price[segment])
    if "default" in price:
        return float(price["default"])
    raise SpecError(f"The '{key}' table has no price for segment {segment!r} and no default.", key=key)


def capped(ledger: pd.DataFrame, rule_caps: Mapping[str, int], overall: int | None) -> pd.DataFrame:
    """Each rule's cap, then the contract's cap on all payments, applied in ledger order.

    A payment is cut to what its rule's cap has left, then to what the contract's cap has left after every
    earlier payment; clawbacks and zeros pass untouched. Once the contract's cap is reached every later
    payment is cut to nothing, so the payments before a row are the running sum of the rule-capped amounts,
    up to the cap, and one cumulative sum applies it. A cut row's note says what it was.

    Parameters
    ----------
    ledger : pandas.DataFrame
        ``kind``, ``item``, ``amount_pence`` and ``note``, in ledger order.
    rule_caps : mapping of str -> int
        Each capped rule's cap in pence.
    overall : int or None
        The contract's cap in pence (None: no cap).

    Examples
    --------
    >>> ledger = pd.DataFrame({"kind": ["rule", "rule", "tariff", "tariff"], "item": ["r", "r", "x", "x"],
    ...                        "amount_pence": [600, 600, 300, -50], "note": ""})
    >>> capped(ledger, {"r": 1000}, 1200)[["amount_pence", "note"]].to_numpy().tolist()
    [[600, ''], [400, 'capped from 6.00'], [200, 'capped from 3.00'], [-50, '']]
    """
    ledger = ledger.astype({"amount_pence": "int64"}).reset_index(drop=True)
    amounts = ledger["amount_pence"].to_numpy()
    allowed = amounts.copy()
    if rule_caps:
        # Rule rows are a few per tranche: their caps are walked in ledger order.
        kind, item = ledger["kind"].to_numpy(dtype=object), ledger["item"].to_numpy(dtype=object)
        used: dict[str, int] = {}
        for i in np.flatnonzero((kind == "rule") & np.isin(item, list(rule_caps)) & (amounts > 0)).tolist():
            allowed[i] = max(min(allowed[i], rule_caps[item[i]] - used.get(item[i], 0)), 0)
            used[item[i]] = used.get(item[i], 0) + int(allowed[i])
    paying = amounts > 0
    if overall is not None:
        positive = np.where(paying, allowed, 0)
        before = np.cumsum(positive) - positive
        allowed = np.where(paying, np.clip(overall - before, 0, allowed), allowed)
    cut = np.flatnonzero(paying & (allowed < amounts))
    if not cut.size:
        return ledger.assign(amount_pence=allowed)
    notes = ledger["note"].to_numpy(dtype=object).copy()
    codes, was = pd.factorize(amounts[cut])
    notes[cut] = np.array([f"capped from {pence_text(a)}" for a in was.tolist()], dtype=object)[codes]
    return ledger.assign(amount_pence=allowed, note=notes)
