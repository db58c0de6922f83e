"""How often a contract's rules pay: when nothing changed, and at a stated true effect.

:func:`rule_chances` judges a contract as written: its own rules (per
tranche and pooled, point estimate or confidence bound, hurdles, caps,
clawback) against its own comparison (a matched pool at the contract's
ratio, or a fixed or sampled baseline), over many simulated evaluations.
Each tranche's estimate is drawn from its sampling distribution (the log
rate ratio or the difference in rates, normal with the model SE at the true
effect: binomial rates, negative binomial counts of shape ``dispersion``),
as in :mod:`metrics.thresholds`, vectorised over draws. Draws for different
measures are independent (an approximation where a hurdle and a payment
measure share people).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import stats

from ground.checks import Interval, Options, check_parameter
from ground.errors import SpecError
from ground.tolerance import at_least
from metrics.power import Measure
from metrics.thresholds import Contrast
from pricing.contract import Contract, ContractRule

__all__ = ["DEFAULT_EFFECT", "RuleChances", "rule_chances", "tranche_power"]

#: True effects judged when none is stated: Doncaster's 5-point fall (binary) and Peterborough's
#: 10% fall in frequency (DOMAIN.md sections 3-4).
DEFAULT_EFFECT = {"binary": -0.05, "frequency": 0.90}


@dataclass(frozen=True)
class RuleChances:
    """Chances and expected amounts of a contract's rules, with nothing changed and at a true effect.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per rule and scenario (``none``, ``effect``): chance it pays,
        chance it claws back, mean amount (£) and its Monte Carlo SE.
    totals : dict of str -> ndarray
        Per scenario, the net outcome-contingent total of each draw (£).
    assumptions : dict
        Cohort size per tranche, comparison rate, dispersion, true effect, draws, seed.
    """

    table: pd.DataFrame
    totals: dict[str, np.ndarray] = field(repr=False)
    assumptions: dict[str, Any] = field(default_factory=dict)

    def chance_of_paying(self, scenario: str = "none") -> float:
        """Chance that anything is paid (net total above zero) in ``scenario``."""
        return float((self.totals[scenario] > 0.005).mean())

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, object]:
        return {
            "assumptions": self.assumptions,
            "rules": self.table.to_dict(orient="records"),
            "chance_of_paying": {s: self.chance_of_paying(s) for s in self.totals},
            "mean_total": {s: float(t.mean()) for s, t in self.totals.items()},
        }

    def summary(self) -> str:
        a = self.assumptions
        lines = [
            f"Rule chances over {a['draws']:,} simulated evaluations ({a['n_per_tranche']:,} people per tranche, "
            f"comparison rate {a['base_rate']:g}, true effect {a['true_effect']:g}):"
        ]
        for r in self.table.itertuples():
            lines.append(
                f"  {r.rule} [{r.scenario}]: pays {r.p_pays:.1%}, claws back {r.p_clawback:.1%}, mean £{r.mean:,.0f}"
            )
        lines.append(
            f"  anything paid: {self.chance_of_paying('none'):.1%} when nothing changed, "
            f"{self.chance_of_paying('effect'):.1%} at the true effect"
        )
        return "\n".join(lines)


def rule_chances(
    contract: Contract,
    *,
    n_per_tranche: int,
    base_rate: float,
    true_effect: float,
    dispersion: float | None = None,
    draws: int = 4_000,
    seed: int = 0,
) -> RuleChances:
    """Simulate a contract's rule payments when nothing changed and at ``true_effect``.

    Parameters
    ----------
    contract : Contract
    n_per_tranche : int
        Observable people per tranche.
    base_rate : float
        The comparison's rate (binary) or mean count (frequency) for a matched
        comparison; a baseline rule uses the contract's baseline rate.
    true_effect : float
        A difference in rates (binary, -0.05 = 5 points fewer) or a rate ratio
        (frequency, 0.9 = 10% fewer), as in :mod:`metrics.power`.
    dispersion : float, optional
        Negative binomial shape of the counts (None: Poisson).
    draws, seed : int

    Examples
    --------
    >>> from pricing import scheme
    >>> r = rule_chances(scheme("doncaster"), n_per_tranche=1_000, base_rate=0.58, true_effect=-0.05, draws=2_000)
    >>> # At a true 5-point fall each cohort's point estimate misses half the time: one of two misses 75%.
    >>> round(float(r.table.set_index(["rule", "scenario"]).loc[("target", "effect"), "p_clawback"]), 2)
    0.75
    """
    check_parameter(n_per_tranche, "n_per_tranche", "rule_chances", Interval(int, 2, None))
    check_parameter(base_rate, "base_rate", "rule_chances", Interval(float, 0, None, closed="neither"))
    check_parameter(draws, "draws", "rule_chances", Interval(int, 1, None))
    check_parameter(dispersion, "dispersion", "rule_chances", Options(None), Interval(float, 0, None, closed="neither"))
    rng = np.random.default_rng(seed)
    rows, totals = [], {}
    for scenario, effect in (("none", None), ("effect", true_effect)):
        paid: dict[str, np.ndarray] = {}
        for rule in contract.rules:
            paid[rule.name] = _rule_draws(
                contract, rule, paid, n_per_tranche, base_rate, dispersion, effect, draws, rng
            )
        total = _capped_total(contract, paid)
        totals[scenario] = total
        for name, amounts in paid.items():
            net = amounts.sum(axis=1)
            rows.append(
                {
                    "rule": name,
                    "scenario": scenario,
                    "p_pays": float((amounts > 0).any(axis=1).mean()),
                    "p_clawback": float((amounts < 0).any(axis=1).mean()),
                    "mean": float(net.mean()),
                    "mc_se": float(net.std() / math.sqrt(draws)),
                }
            )
    assumptions = {
        "n_per_tranche": n_per_tranche,
        "base_rate": base_rate,
        "dispersion": dispersion,
        "true_effect": true_effect,
        "draws": draws,
        "seed": seed,
        "tranches": len(contract.tranches),
    }
    return RuleChances(pd.DataFrame(rows), totals, assumptions)


def tranche_power(
    contract: Contract,
    rule: ContractRule,
    *,
    n_per_tranche: int,
    base_rate: float,
    true_effect: float,
    dispersion: float | None = None,
) -> float:
    """The chance one tranche meets ``rule`` at ``true_effect``: the power of the contract's own test.

    The rule's threshold, scale and decision (estimate or confidence bound) are
    applied to a tranche of ``n_per_tranche`` against the rule's comparison (the
    baseline, or a matched comparison at the contract's ratio), as
    :meth:`metrics.thresholds.PaymentRule.chance` computes it.

    Parameters
    ----------
    contract : Contract
        The contract whose test is applied.
    rule : ContractRule
        One of its rules.
    n_per_tranche : int
        People in a tranche.
    base_rate : float
        The comparison's rate (a proportion) or mean count.
    true_effect : float
        The effect the power is computed at: a difference in rates, or a rate ratio.
    dispersion : float, optional
        Negative binomial shape ``k`` of the counts (frequency measures).

    Examples
    --------
    >>> from pricing import scheme
    >>> c = scheme("doncaster")
    >>> round(tranche_power(c, c.rules[0], n_per_tranche=1_000, base_rate=0.58, true_effect=-0.05), 2)
    0.5
    """
    check_parameter(n_per_tranche, "n_per_tranche", "tranche_power", Interval(int, 2, None))
    null = _comparison(contract, rule.measure, rule.against, n_per_tranche, base_rate, dispersion, None)
    return rule.payment_rule().chance(null, true_effect)


def _comparison(contract: Contract, rule_measure: str, against: str, n: int, base: float, k, effect) -> Contrast:
    """A tranche's comparison at the true effect (None: nothing changed)."""
    baseline, matched = contract.baseline, contract.matched
    if against == "baseline" and baseline is not None:
        control, n_control = baseline.rate, math.inf if baseline.n is None else baseline.n
    elif matched is not None:
        control, n_control = base, n * matched.ratio
    else:  # pricing.contract refuses a rule against a comparison the contract does not define
        raise SpecError(f"The contract has no [counterfactual] for a rule against {against!r}.", key="counterfactual")
    treated = control if effect is None else (control + effect if rule_measure == "binary" else control * effect)
    shape = k if rule_measure == "frequency" else None
    return Contrast.from_rates(cast(Measure, rule_measure), treated, n, control, n_control, dispersion=shape)


def _reductions(test, comparison: Contrast, effect, draws: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drawn statistics on the rule's scale: (met, reduction, SE of the reduction), each draws long."""
    true = comparison.true_statistic(test.scale, None if effect is None else effect)
    se = comparison.se_at(test.scale, true)
    stat = true + se * rng.standard_normal(draws)
    met = test.met_statistic(stat, se)
    reduction = -np.expm1(stat) if test.scale == "relative" else -stat
    se_reduction = np.exp(stat) * se if test.scale == "relative" else np.full(draws, se)
    return met, reduction, se_reduction


def _rule_draws(contract, rule: ContractRule, paid, n, base, k, effect, draws, rng) -> np.ndarray:
    """Draws x tranches amounts (£) one rule pays (a pooled rule: one column)."""
    tranches = len(contract.tranches)
    fee, structure = contract.structure.service_fee, contract.structure
    cmp = _comparison(contract, rule.measure, rule.against, n, base, k, effect)
    test = rule.payment_rule()
    parts = [_reductions(test, cmp, effect, draws, rng) for _ in range(tranches)]
    if rule.hurdle is not None:
        h_cmp = _comparison(contract, rule.hurdle.measure, rule.against, n, base, k, effect)
        hurdle = [_reductions(rule.hurdle.payment_rule(rule.name), h_cmp, effect, draws, rng)[0] for _ in parts]
    else:
        hurdle = [np.ones(draws, dtype=bool)] * tranches
    per_person = (lambda r: cmp.control_mean * r) if rule.scale == "relative" else (lambda r: r)
    if rule.type == "pooled":
        reduction = np.mean([p[1] for p in parts], axis=0)
        se = np.sqrt(np.sum([p[2] ** 2 for p in parts], axis=0)) / tranches
        z = 0.0 if rule.decide_on == "estimate" else float(stats.norm.ppf(1 - rule.alpha))
        met = at_least(reduction - z * se, rule.at_least, reduction, z * se)
        gross = rule.amount + rule.price_per_event * np.maximum(per_person(reduction), 0) * n * tranches
        earlier = sum(
            np.clip(paid[r.name], 0, None).sum(axis=1)
            for r in contract.rules
            if r.name in paid and r.measure == rule.measure
        )
        return np.where(met, np.maximum(gross - earlier, 0.0), 0.0)[:, None]
    amounts = np.zeros((draws, tranches))
    for t, ((met, reduction, _), ok) in enumerate(zip(parts, hurdle)):
        pays = rule.amount + rule.price_per_event * np.maximum(per_person(reduction), 0) * n
        pays = pays + (structure.at_risk_share * fee / tranches if rule.releases_at_risk else 0.0)
        claw = -structure.clawback_share * fee / tranches if rule.claws_back else 0.0
        amounts[:, t] = np.where(met & ok, pays, np.where(met, 0.0, claw))
    if rule.cap is not None:
        positive = np.clip(amounts, 0, None)
        capped = np.minimum(np.cumsum(positive, axis=1), rule.cap)
        amounts = np.where(amounts > 0, np.diff(capped, axis=1, prepend=0.0), amounts)
    return amounts


def _capped_total(contract: Contract, paid: dict[str, np.ndarray]) -> np.ndarray:
    positive = sum(np.clip(a, 0, None).sum(axis=1) for a in paid.values())
    negative = sum(np.clip(a, None, 0).sum(axis=1) for a in paid.values())
    if contract.structure.cap is not None:
        positive = np.minimum(positive, contract.structure.cap)
    return positive + negative
