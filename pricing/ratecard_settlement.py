"""A contract's rate card in its settlement: the claims paid after the tariff and rules, under the contract cap.

:func:`pricing.settle` calls :func:`settle_contract_claims` with the contract's cohort once the tariff and the
rules are paid, and adds one ``claims`` row per tranche to its tranche table; the rules of the rate card itself
are :mod:`pricing.ratecard`'s (and :mod:`outcomes.claims`').
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from cohorts.segments import assign, segments_from_mapping
from ground.dates import DateLike
from ground.errors import SpecError
from pricing.contract import Contract
from pricing.ratecard import ClaimsSettlement, settle_claims, to_pence

__all__ = ["contract_cap_pence", "settle_contract_claims"]


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
