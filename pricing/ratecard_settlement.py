"""A contract's rate card in its settlement: the claims paid after the tariff and rules, and in the tranche table.

:func:`pricing.settle` calls :func:`settle_contract_claims` with the contract's cohort once the tariff and the
rules are paid, and adds :func:`claims_tranche_rows` to its tranche table; the rules of the rate card itself are
:mod:`pricing.ratecard`'s (and :mod:`outcomes.claims`').
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from cohorts.segments import assign, segments_from_mapping
from ground.dates import DateLike
from ground.errors import SpecError
from pricing.contract import Contract
from pricing.ratecard import CLAIM_KINDS, ClaimsSettlement, settle_claims, to_pence

__all__ = ["claims_tranche_rows", "contract_cap_pence", "settle_contract_claims"]


def contract_cap_pence(contract: Contract) -> int | None:
    """The most the contract pays for outcomes, in pence: ``[payment].outcome_cap``, or the withheld share
    of the fee when it is earned through the tariff; None for no cap.

    Parameters
    ----------
    contract : Contract

    Examples
    --------
    >>> from pricing import scheme
    >>> contract_cap_pence(scheme("skill_mill"))
    324177600
    """
    s = contract.structure
    if s.cap is not None:
        return to_pence(s.cap)
    return to_pence(s.at_risk_share * s.service_fee) if s.at_risk_through_tariff else None


def settle_contract_claims(
    contract: Contract,
    cohort: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    *,
    as_of: DateLike,
    paid_before: int = 0,
    source: str | None = None,
    checked: bool = False,
) -> ClaimsSettlement:
    """Settle a contract's rate card on its cohort: what :func:`pricing.settle` adds to the ledger.

    Parameters
    ----------
    contract : Contract
        With a ``[claims]`` section.
    cohort : pandas.DataFrame
        Its cohort (eligible people with their ``tranche``).
    tables : mapping of name -> DataFrame
        ``people``, ``claims`` and (for outcomes due from spells) ``spells``.
    as_of : DateLike
    paid_before : int
        Pence the contract's other outcome payments (tariff, rules) took from its cap before the claims.
    source : str, optional
        The claims file, named in errors.
    checked : bool, default False
        As :func:`settle_claims`'s.

    Returns
    -------
    ClaimsSettlement

    Examples
    --------
    >>> from pricing import scheme
    >>> contract = scheme("dwp_innovation_fund_1")
    >>> cohort = pd.DataFrame({"person_id": ["a"], "start_date": pd.to_datetime(["2013-01-07"]), "tranche": "round_1"})
    >>> claims = pd.DataFrame({"person_id": ["a", "a"], "outcome": ["job_13", "job_26"],
    ...                        "achieved_on": ["2013-05-01", "2013-08-01"], "evidence": ["letter 1", "letter 2"]})
    >>> settled = settle_contract_claims(contract, cohort, {"people": cohort, "claims": claims}, as_of="2015-09-30")
    >>> settled.total_pence
    360000
    """
    if contract.ratecard is None:
        raise SpecError("The contract has no [claims] section to settle.", key="claims")
    segment = None
    if contract.spec.segments:
        named = segments_from_mapping({n: seg.to_dict() for n, seg in contract.spec.segments.items()})
        segment = assign(cohort, named).primary.reset_index(drop=True)
    cap = contract_cap_pence(contract)
    return settle_claims(
        contract.ratecard,
        cohort.reset_index(drop=True),
        tables["claims"],
        people=tables["people"],
        index=contract.index,
        as_of=as_of,
        segment=segment,
        contract_cap=None if cap is None else max(cap - paid_before, 0),
        spells=tables.get("spells"),
        source=source,
        checked=checked,
    )


def claims_tranche_rows(contract: Contract, ledger: pd.DataFrame) -> list[dict[str, object]]:
    """One row per tranche for a settlement's tranche table: the claims paid and their amount.

    Parameters
    ----------
    contract : Contract
        Its tranches name the rows.
    ledger : pandas.DataFrame
        A settlement's ledger (claims rows have kind ``claim`` or ``recurring``).

    Examples
    --------
    >>> from pricing import scheme
    >>> ledger = pd.DataFrame({"tranche": ["round_1"], "kind": ["claim"], "status": ["accepted"],
    ...                        "amount_pence": [260000]})
    >>> rows = claims_tranche_rows(scheme("dwp_innovation_fund_1"), ledger)
    >>> [(r["tranche"], r["n_treated"], r["amount_pence"]) for r in rows]
    [('round_1', 1.0, 260000)]
    """
    claims = ledger.loc[ledger["kind"].isin(CLAIM_KINDS) & (ledger["status"] == "accepted")]
    paid = claims.groupby(claims["tranche"].astype("str"))["amount_pence"].agg(["size", "sum"])
    rows = []
    for t in contract.tranches:
        n, amount = (int(paid["size"][t.name]), int(paid["sum"][t.name])) if t.name in paid.index else (0, 0)
        rows.append(
            {
                "tranche": t.name,
                "kind": "claims",
                "rule": "claims",
                "stage": "as due",
                "n_treated": float(n),
                "met": bool(n),
                "amount_pence": amount,
                "amount_at_ci_low": amount,
                "amount_at_ci_high": amount,
            }
        )
    return rows
