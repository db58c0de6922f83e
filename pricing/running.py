"""A running account: a settlement that nets what earlier settlements of the same contract paid.

Every settlement is cumulative: it pays everything due by its date (interim
rules, final rules, pooled rules, the tariff). Settled again later, with the
earlier one as ``previous``, it adds one ledger row per tranche and item the
earlier settlement paid, of kind ``settled before``, for minus that amount: the
total is then what is due now, and the interim and final settlements form one
ledger (a cohort clawed back at interim is not clawed back again at final; a
pooled payment already netted of the interim payments is not paid twice).

:class:`PaidBefore` is what the earlier settlement paid: read by
:func:`pricing.settle` off a :class:`~pricing.settlement.Settlement` in memory, or
from its ``audit.json`` and ``ledger.csv`` on disk
(:func:`pricing.audit.read_previous`, which checks their hashes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from ground.checks import parameter_error
from ground.dates import DateLike, parse_date

__all__ = ["SETTLED_BEFORE", "PaidBefore", "netted"]

#: The ledger kind of a row netting what an earlier settlement paid.
SETTLED_BEFORE = "settled before"


@dataclass(frozen=True)
class PaidBefore:
    """What an earlier settlement of a contract paid, by tranche and item, up to its date.

    Attributes
    ----------
    as_of : datetime.date
        The earlier settlement's date.
    contract_sha256 : str
        The SHA-256 of the contract it settled (a running account is of one contract).
    paid : pandas.DataFrame
        ``tranche``, ``item``, ``amount_pence``: everything it paid by then (its own rows netting a settlement
        before it left out, so this is the whole account to its date).
    reference : str
        What the netting rows cite: the SHA-256 of its audit.json, or "" for a settlement in memory.
    """

    as_of: date
    contract_sha256: str
    paid: pd.DataFrame
    reference: str = ""


def by_item(ledger: pd.DataFrame) -> pd.DataFrame:
    """A ledger's amounts by tranche and item, its own ``settled before`` rows left out (in pence).

    Parameters
    ----------
    ledger : pandas.DataFrame
        A settlement's ledger (``tranche``, ``kind``, ``item``, ``amount_pence``).

    Examples
    --------
    >>> ledger = pd.DataFrame({"tranche": ["t", "t"], "kind": ["rule", SETTLED_BEFORE], "item": ["r", "r"],
    ...                        "amount_pence": [900, -400]})
    >>> by_item(ledger)["amount_pence"].tolist()
    [900]
    """
    own = ledger.loc[ledger["kind"] != SETTLED_BEFORE]
    summed = own.groupby(["tranche", "item"], sort=True)["amount_pence"].sum().reset_index()
    return summed.astype({"amount_pence": "int64"})


def netted(previous: PaidBefore, *, contract_sha256: str, as_of: DateLike, columns: tuple[str, ...]) -> pd.DataFrame:
    """The ledger rows netting what ``previous`` paid: one per tranche and item it paid, for minus that amount.

    Parameters
    ----------
    previous : PaidBefore
        What the earlier settlement paid.
    contract_sha256 : str
        The contract being settled now: it must be the one ``previous`` settled.
    as_of : DateLike
        This settlement's date (:func:`ground.dates.parse_date`): ``previous`` must be earlier.
    columns : tuple of str
        The ledger's columns.

    Examples
    --------
    >>> paid = pd.DataFrame({"tranche": ["t"], "item": ["r"], "amount_pence": [900]})
    >>> rows = netted(PaidBefore(date(2014, 8, 7), "ab", paid), contract_sha256="ab", as_of=date(2015, 7, 31),
    ...               columns=("tranche", "kind", "item", "amount_pence"))
    >>> rows.values.tolist()
    [['t', 'settled before', 'r', -900]]

    Raises
    ------
    ParameterError
        ``previous`` settled another contract, or is not earlier than ``as_of``.
    """
    if previous.contract_sha256 != contract_sha256:
        raise parameter_error(
            "previous",
            "settle",
            f"an earlier settlement of this contract (SHA-256 {contract_sha256[:12]}...)",
            f"a settlement of the contract with SHA-256 {previous.contract_sha256[:12]}...",
        )
    day = parse_date(as_of, "The 'as_of' parameter of netted").date()
    if not previous.as_of < day:
        raise parameter_error("previous", "settle", f"a settlement dated before {day}", f"one as of {previous.as_of}")
    paid = previous.paid.loc[previous.paid["amount_pence"] != 0]
    cite = f" (audit.json SHA-256 {previous.reference[:12]}...)" if previous.reference else ""
    rows = pd.DataFrame(
        {
            "tranche": paid["tranche"].to_numpy(),
            "kind": SETTLED_BEFORE,
            "item": paid["item"].to_numpy(),
            "person_id": "",
            "evidence": f"paid by the settlement as of {previous.as_of.isoformat()}{cite}",
            "evidence_date": previous.as_of.isoformat(),
            "base_price": "",
            "uplift": "",
            "amount_pence": -paid["amount_pence"].to_numpy(dtype="int64"),
            "note": "",
        },
        columns=list(columns),
    )
    return rows.astype({"amount_pence": "int64"})
