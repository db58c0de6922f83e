"""What a rule pays, claws back or deducts: written once, for one settled tranche or many simulated ones.

:func:`pricing.settle` calls these for one tranche (at its estimate and at the
ends of its confidence interval); :func:`pricing.chances.rule_chances` calls
them for thousands of simulated tranches at once. So the money a contract is
judged by before signing is the money it settles.

Reductions are on the rule's scale (a share for ``relative``; a proportion of
people for ``points``); a *point* is 0.01 of it. Events avoided per person are
``control_mean * reduction`` on the relative scale (the comparison's rate less
the cohort's) and the reduction itself on the points scale (people). Pounds
are floats here; the settlement rounds each amount to whole pence.

Tranche rules (:func:`tranche_money`)
    Met (the decided reduction at least ``at_least``; the hurdle met too), a
    rule pays ``amount`` + ``price_per_event`` x events avoided +
    ``price_per_point`` x points beyond ``excess_beyond`` (default
    ``at_least``) up to ``excess_up_to`` + the withheld fee's share of the
    tranche (``releases_at_risk``). Missed, it claws back the clawback share of
    the fee's share of the tranche (``claws_back``): all of it, or on a sliding
    scale from none at ``at_least`` to all at ``clawback_full_at``. A rise of at
    least ``increase_at_least`` (decided as the rule decides: a significant
    increase when 0 with ``decide_on = "lower_bound"``) deducts ``deduction`` +
    ``deduction_per_event`` x events added.

Pooled rules (:func:`events_avoided`)
    Met at final settlement (the size-weighted mean reduction at least
    ``at_least``), a pooled rule pays ``amount`` + ``price_per_event`` x the
    events avoided over every tranche, ``sum_t (comparison_t - cohort_t) x
    n_t``, net of what the tranche rules of its measure paid before (never
    below 0); a tranche that did worse than its comparison counts against the
    others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ground.tolerance import at_least
from pricing.contract import ContractRule
from pricing.structure import PaymentStructure

__all__ = ["TrancheMoney", "events_avoided", "tranche_money"]


@dataclass(frozen=True)
class TrancheMoney:
    """A tranche rule's pounds, one value per tranche or draw.

    Attributes
    ----------
    met, risen : ndarray of bool
        The rule is met; the rise deducts.
    payment : ndarray
        Paid to the provider (>= 0).
    clawback, deduction : ndarray
        Repaid by the provider (<= 0).
    """

    met: np.ndarray
    risen: np.ndarray
    payment: np.ndarray
    clawback: np.ndarray
    deduction: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return self.payment + self.clawback + self.deduction


def per_person(rule: ContractRule, reduction: np.ndarray, control_mean: np.ndarray | float) -> np.ndarray:
    """Events avoided per person (negative: added) at ``reduction`` on the rule's scale.

    Parameters
    ----------
    rule : ContractRule
        Its scale: relative (a share of the comparison's rate) or points (people).
    reduction : ndarray
        Reductions on that scale.
    control_mean : ndarray or float
        The comparison's rate.

    Examples
    --------
    >>> from pricing import scheme
    >>> per_person(scheme("peterborough").rules[0], np.array([0.1]), 1.5).round(9).tolist()
    [0.15]
    """
    return np.asarray(control_mean) * reduction if rule.scale == "relative" else np.asarray(reduction)


def tranche_money(
    rule: ContractRule,
    structure: PaymentStructure,
    tranches: int,
    *,
    reduction: np.ndarray,
    decided: np.ndarray,
    decided_rise: np.ndarray,
    control_mean: np.ndarray | float,
    n_treated: np.ndarray | float,
    hurdle_met: np.ndarray | bool = True,
) -> TrancheMoney:
    """Pounds a tranche rule pays, claws back and deducts, vectorised.

    Parameters
    ----------
    rule : ContractRule
        A tranche rule.
    structure : PaymentStructure
        The contract's fee, clawback and at-risk shares.
    tranches : int
        Tranches the fee is shared over.
    reduction : ndarray
        The estimated reduction (the amounts per event and per point read it).
    decided, decided_rise : ndarray
        The reduction and the rise the rule decides on (estimate or one-sided bound).
    control_mean, n_treated : ndarray or float
        The comparison's rate and the tranche's size.
    hurdle_met : ndarray or bool
        The hurdle is met (a payment needs it; a clawback does not).

    Examples
    --------
    >>> from pricing import scheme
    >>> c = scheme("doncaster")
    >>> m = tranche_money(c.rules[0], c.structure, 2, reduction=np.array([0.057, 0.033]),
    ...                   decided=np.array([0.057, 0.033]), decided_rise=np.array([-0.057, -0.033]),
    ...                   control_mean=0.58, n_treated=1_178)
    >>> m.met.tolist(), m.clawback.round(2).tolist()
    ([True, False], [0.0, -1666666.67])
    """
    reduction, decided, decided_rise = (np.asarray(x, dtype=float) for x in (reduction, decided, decided_rise))
    met = np.asarray(at_least(decided, rule.at_least, decided), dtype=bool)
    avoided = per_person(rule, reduction, control_mean) * n_treated
    fee_share = structure.service_fee / tranches
    pays = rule.amount + rule.price_per_event * np.maximum(avoided, 0.0) + _excess(rule, reduction)
    if rule.releases_at_risk:
        pays = pays + structure.at_risk_share * fee_share
    payment = np.where(met & np.asarray(hurdle_met, dtype=bool), pays, 0.0)
    clawback = np.zeros_like(reduction)
    if rule.claws_back:
        full = structure.clawback_share * fee_share
        share = np.ones_like(decided)
        if rule.clawback_full_at is not None:
            share = np.clip((rule.at_least - decided) / (rule.at_least - rule.clawback_full_at), 0.0, 1.0)
        clawback = np.where(met, 0.0, -full * share)
    risen = np.zeros_like(met)
    deduction = np.zeros_like(reduction)
    if rule.increase_at_least is not None:
        risen = np.asarray(at_least(decided_rise, rule.increase_at_least, decided_rise), dtype=bool)
        deduct = rule.deduction + rule.deduction_per_event * np.maximum(-avoided, 0.0)
        deduction = np.where(risen, -deduct, 0.0)
    return TrancheMoney(met, risen, payment + 0.0, clawback + 0.0, deduction + 0.0)


def _excess(rule: ContractRule, reduction: np.ndarray) -> np.ndarray:
    """``price_per_point`` x points of reduction beyond ``excess_beyond``, up to ``excess_up_to``."""
    if not rule.price_per_point:
        return np.zeros_like(reduction)
    beyond = rule.at_least if rule.excess_beyond is None else rule.excess_beyond
    top = np.inf if rule.excess_up_to is None else rule.excess_up_to
    points = np.clip(np.minimum(reduction, top) - beyond, 0.0, None) * 100
    return rule.price_per_point * points


def events_avoided(
    rule: ContractRule, reductions: np.ndarray, control_means: np.ndarray, n_treated: np.ndarray
) -> np.ndarray:
    """Events avoided over every tranche, ``sum_t per_person_t x n_t`` (tranches on the last axis).

    Parameters
    ----------
    rule : ContractRule
        A pooled rule (its scale says what a reduction is).
    reductions, control_means : ndarray
        Each tranche's reduction and comparison rate (draws x tranches, or tranches).
    n_treated : ndarray
        Each tranche's size.

    Examples
    --------
    >>> from pricing import scheme
    >>> pooled = scheme("peterborough").rules[1]
    >>> # 100 people at 1.25 events each, 9.6% fewer; 100 at 1.00, 7.0% fewer: 12 + 7 events avoided.
    >>> float(events_avoided(pooled, np.array([0.096, 0.07]), np.array([1.25, 1.0]), np.array([100, 100])).round(9))
    19.0
    """
    return (per_person(rule, np.asarray(reductions, dtype=float), control_means) * n_treated).sum(axis=-1)
