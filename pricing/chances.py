"""How often a contract pays over its whole life: when nothing changed, and at a stated true effect.

:func:`rule_chances` judges a contract as written, by simulating its whole
life many times: every tranche, measured at its interim date (the people
observable by then) and at its final date (the same people and those observable
since), against the contract's own comparison, decided and paid by the
contract's own rules through :mod:`pricing.payouts`, the code that settles it:
tranche rules (point estimate or confidence bound, hurdles, payments per event
and per point, sliding clawbacks, deductions for a rise, each rule's cap),
pooled rules at the end (events avoided over every tranche, net of what the
tranche rules paid) and the contract's cap.

The simulation
--------------
Per draw and tranche, each measure's totals are drawn for the people
observable at the interim date and for the rest observable at the final date
(nested: the final measurement contains the interim one). A tranche's index
dates are taken as spread evenly over its dates, so the share observable on a
date is the share whose follow-up (and waiting period) has passed. Totals are
binomial (binary) or negative binomial of shape ``dispersion`` (counts:
reoffences, reoffences per reoffender, bed nights; Poisson without one); the
number of reoffenders of a tranche, for reoffences per reoffender, is its size
times the binary rate. Each draw's statistic and its SE are those a settlement
computes from such data: the log rate ratio or the difference in rates, with
the model variance at the drawn rates.

Comparisons: a matched comparison of ``ratio`` people per person, drawn like
the tranche; a baseline whose true rate is its stated rate, its published value
drawn once per contract life (from its ``n``; a fixed target without one) and
shared by every tranche, as one baseline is, tested two-sample or against its
own interval as the contract says. A case-mix adjustment is taken as none (the
cohort's risk as the baseline's). Measures are drawn independently of each
other (an approximation where a binary hurdle and a frequency payment are
measured on the same people); every rule and hurdle of one measure reads the
same draw.

Every chance is given with its Monte Carlo SE, ``sqrt(p (1 - p) / draws)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from ground.checks import Interval, Options, check_parameter, parameter_error
from ground.tolerance import at_least
from metrics.thresholds import Contrast, model_variances
from pricing.contract import Contract, ContractRule, Tranche, comparison_measure
from pricing.payouts import events_avoided, tranche_money

__all__ = ["DEFAULT_EFFECT", "RuleChances", "rule_chances", "tranche_power"]

#: True effects judged when none is stated: Doncaster's 5-point fall (binary; Russell Webster, "Last of the automatic
#: pilots") and Peterborough's 10% fall in frequency (Anders and Dorsett 2017), for every count measure.
DEFAULT_EFFECT = {"binary": -0.05, "frequency": 0.90, "per_reoffender": 0.90, "bed_nights": 0.90}
STAGES = ("interim", "final")
_Z95 = 1.959963984540054


@dataclass(frozen=True)
class RuleChances:
    """Chances and expected amounts of a contract's rules over its whole life, with nothing changed and at a true
    effect.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per rule and scenario (``none``, ``effect``): chance it pays
        anything over the contract (``p_pays``, with its Monte Carlo SE
        ``p_pays_se``), claws back (``p_clawback``), deducts (``p_deduction``),
        and its mean net amount (£, ``mean``, with ``mc_se``).
    per_tranche : pandas.DataFrame
        The chance each tranche rule pays, by tranche and scenario.
    totals : dict of str -> ndarray
        Per scenario, the net outcome-contingent total of each draw (£).
    paid : dict of str -> ndarray of bool
        Per scenario, whether anything was paid in each draw.
    assumptions : dict
        Cohort size per tranche; the first measure's comparison rate (``base_rate``; NaN for a baseline) and true
        effect (``true_effect``), and every measure's (``base_rates``, ``true_effects``); dispersion, draws, seed,
        tranches.
    """

    table: pd.DataFrame
    per_tranche: pd.DataFrame
    totals: dict[str, np.ndarray] = field(repr=False)
    paid: dict[str, np.ndarray] = field(repr=False)
    assumptions: dict[str, Any] = field(default_factory=dict)

    def chance_of_paying(self, scenario: str = "none") -> float:
        """Chance that anything is paid over the contract's life in ``scenario`` (``none`` or ``effect``)."""
        return float(self.paid[scenario].mean())

    def chance_se(self, scenario: str = "none") -> float:
        """Monte Carlo SE of :meth:`chance_of_paying`."""
        p = self.chance_of_paying(scenario)
        return math.sqrt(p * (1 - p) / len(self.paid[scenario]))

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, object]:
        return {
            "assumptions": self.assumptions,
            "rules": self.table.to_dict(orient="records"),
            "per_tranche": self.per_tranche.to_dict(orient="records"),
            "chance_of_paying": {s: self.chance_of_paying(s) for s in self.paid},
            "chance_of_paying_se": {s: self.chance_se(s) for s in self.paid},
            "mean_total": {s: float(t.mean()) for s, t in self.totals.items()},
        }

    def summary(self) -> str:
        a = self.assumptions
        lines = [
            f"Over the contract's life ({len(a['tranches'])} tranche{'' if len(a['tranches']) == 1 else 's'}, interim "
            "and final, pooled rules at the end), "
            f"{a['draws']:,} simulated lives, {a['n_per_tranche']:,} people per tranche:"
        ]
        for r in self.table.itertuples():
            lines.append(
                f"  {r.rule} [{r.scenario}]: pays {r.p_pays:.1%} (MC SE {r.p_pays_se:.2%}), claws back "
                f"{r.p_clawback:.1%}, deducts {r.p_deduction:.1%}, mean £{r.mean:,.0f}"
            )
        lines.append(
            f"  anything paid: {self.chance_of_paying('none'):.1%} (MC SE {self.chance_se('none'):.2%}) when nothing "
            f"changed, {self.chance_of_paying('effect'):.1%} (MC SE {self.chance_se('effect'):.2%}) at the true effect"
        )
        return "\n".join(lines)


def rule_chances(
    contract: Contract,
    *,
    n_per_tranche: int,
    base_rate: float | Mapping[str, float],
    true_effect: float | Mapping[str, float],
    dispersion: float | None = None,
    draws: int = 4_000,
    seed: int = 0,
) -> RuleChances:
    """Simulate a contract's whole life, when nothing changed and at ``true_effect``.

    Parameters
    ----------
    contract : Contract
    n_per_tranche : int
        People per tranche (all observable by the final date when its follow-up allows).
    base_rate : float or mapping of measure -> float
        The comparison's true rate (binary) or mean count per person: one
        number for the contract's first measure, or one per measure. A
        baseline rule uses the contract's baseline rate for its measure.
    true_effect : float or mapping of measure -> float
        A difference in rates (binary: -0.05 = 5 points fewer) or a rate ratio
        (counts: 0.9 = 10% fewer); one number for the first measure (the others
        at :data:`DEFAULT_EFFECT`), or one per measure.
    dispersion : float, optional
        Negative binomial shape of the counts (None: Poisson).
    draws, seed : int
        Simulated contract lives and the seed.

    Returns
    -------
    RuleChances

    Examples
    --------
    >>> from pricing import scheme
    >>> r = rule_chances(scheme("doncaster"), n_per_tranche=1_000, base_rate=0.58, true_effect=-0.05, draws=2_000)
    >>> # At a true 5-point fall each cohort meets the target a little over half the time (a count at exactly
    >>> # the target meets it): one of the two cohorts misses, and is clawed back, in about 74% of lives.
    >>> round(float(r.table.set_index(["rule", "scenario"]).loc[("target", "effect"), "p_clawback"]), 2)
    0.73
    """
    check_parameter(n_per_tranche, "n_per_tranche", "rule_chances", Interval(int, 2, None))
    check_parameter(draws, "draws", "rule_chances", Interval(int, 1, None))
    check_parameter(dispersion, "dispersion", "rule_chances", Options(None), Interval(float, 0, None, closed="neither"))
    rates = _per_measure(contract, base_rate, "base_rate", None)
    effects = _per_measure(contract, true_effect, "true_effect", DEFAULT_EFFECT)
    rng = np.random.default_rng(seed)
    rows, tranche_rows, totals, paid = [], [], {}, {}
    for scenario in ("none", "effect"):
        life = _Life(contract, n_per_tranche, rates, effects if scenario == "effect" else None, dispersion, draws, rng)
        money = _money(contract, life)
        totals[scenario], paid[scenario] = _contract_total(contract, money)
        rows += [_rule_row(name, scenario, m, draws) for name, m in money.items()]
        tranche_rows += _tranche_rows(contract, money, scenario)
    first = contract.measures[0]
    assumptions = {
        "n_per_tranche": n_per_tranche,
        "base_rate": rates[first],
        "base_rates": rates,
        "dispersion": dispersion,
        "true_effect": effects[first],
        "true_effects": effects,
        "draws": draws,
        "seed": seed,
        "tranches": [t.name for t in contract.tranches],
    }
    return RuleChances(pd.DataFrame(rows), pd.DataFrame(tranche_rows), totals, paid, assumptions)


def _per_measure(contract: Contract, value: Any, name: str, default: Mapping[str, float] | None) -> dict[str, float]:
    """One figure per measure the contract reads (a number is the first measure's)."""
    measures = contract.measures
    if not measures:
        raise parameter_error(name, "rule_chances", "a contract with rules", contract.name)
    if isinstance(value, Mapping):
        given = {str(k): float(v) for k, v in value.items()}
    else:
        check_parameter(value, name, "rule_chances", Interval(float, None, None))
        given = {measures[0]: float(value)}
    out = {m: given.get(m, math.nan if default is None else default[m]) for m in measures}
    for m, v in out.items():
        if math.isnan(v) and default is None and _needs_rate(contract, m):
            raise parameter_error(name, "rule_chances", f"a mapping with a rate for the {m!r} measure", value)
        if default is None and not math.isnan(v) and not v > 0:
            raise parameter_error(name, "rule_chances", "rates > 0", value)
    return out


def _needs_rate(contract: Contract, measure: str) -> bool:
    """A measure compared with a matched comparison (or per reoffender, which needs the binary rate) needs a rate."""
    matched = any(
        r.against == "matched" and measure in (r.measure, r.hurdle.measure if r.hurdle else None)
        for r in contract.rules
    )
    baseline = contract.baseline
    return matched or (measure == "binary" and "per_reoffender" in contract.measures and not (
        baseline is not None and "binary" in baseline.measures))  # fmt: skip


# ------------------------------------------------------------------ one simulated life per draw
@dataclass
class _Stage:
    """One measure at one stage of every tranche: draws x tranches of the two means, their sizes and SEs' parts."""

    treated: np.ndarray
    control: np.ndarray
    n_treated: np.ndarray
    n_control: np.ndarray
    interval_only: bool = False


class _Life:
    """Every measure's tranches at interim and final, against each comparison it is read against, per draw."""

    def __init__(self, contract, n, rates, effects, k, draws, rng) -> None:
        self.contract, self.k, self.draws, self.rng = contract, k, draws, rng
        self.stages: dict[tuple[str, str, str], _Stage] = {}
        for measure in contract.measures:
            for against in dict.fromkeys(_against(contract, measure)):
                self._draw(measure, against, _people(contract, measure, n, rates), rates, effects)

    def stage(self, measure: str, against: str, stage: str) -> _Stage:
        return self.stages[(measure, against, stage)]

    def _draw(self, measure: str, against: str, people: float, rates, effects) -> None:
        contract = self.contract
        truth, n_base = _comparison_truth(contract, measure, against, rates)
        shares = np.array([[_observable(contract, t, measure, s) for t in contract.tranches] for s in STAGES])
        sizes = np.round(shares * people)  # stages x tranches, nested: interim people are among the final ones
        true_t = truth if effects is None else _treated_truth(measure, truth, effects[measure])
        treated = self._nested(measure, true_t, sizes)
        ratio = contract.matched.ratio if against == "matched" else 0
        control = self._nested(measure, truth, sizes * ratio) if ratio else None
        # One baseline, published once: drawn once per life from its n and shared by every tranche.
        published = truth if n_base is None else self._totals(measure, truth, np.array([n_base])) / n_base
        interval = against == "baseline" and contract.baseline.test == "baseline_interval"
        for i, s in enumerate(STAGES):
            n_t = np.maximum(sizes[i], 1.0)
            # A tranche with no event at all cannot be compared: half an event keeps the ratio finite.
            mean_t = np.maximum(treated[s], 0.5) / n_t
            if control is not None:
                n_c = np.maximum(sizes[i] * ratio, 1.0)
                mean_c = np.maximum(control[s], 0.5) / n_c
            else:
                n_c = np.full(len(contract.tranches), math.inf if n_base is None else float(n_base))
                mean_c = np.broadcast_to(published, mean_t.shape).astype(float)
            self.stages[(measure, against, s)] = _Stage(mean_t, mean_c, n_t, n_c, interval)

    def _nested(self, measure: str, mean: float, sizes: np.ndarray) -> dict[str, np.ndarray]:
        """Totals at interim, and at final (the interim people plus those observable only by then)."""
        first = self._totals(measure, mean, sizes[0])
        return {"interim": first, "final": first + self._totals(measure, mean, sizes[1] - sizes[0])}

    def _totals(self, measure: str, mean: float, sizes: np.ndarray) -> np.ndarray:
        """Draws x len(sizes) totals of ``sizes`` people with per-person mean ``mean``."""
        sizes = np.asarray(sizes, dtype=float)
        shape = (self.draws, sizes.size)
        if measure == "binary":
            return self.rng.binomial(sizes.astype(np.int64), mean, size=shape).astype(float)
        if self.k is None:
            return self.rng.poisson(mean * sizes, size=shape).astype(float)
        # A sum of m negative binomials of shape k and mean mu is negative binomial of shape m k.
        total_shape = np.maximum(sizes * self.k, 1e-12)
        drawn = self.rng.negative_binomial(total_shape, self.k / (self.k + mean), size=shape).astype(float)
        return np.where(sizes > 0, drawn, 0.0)


def _people(contract: Contract, measure: str, n: int, rates: Mapping[str, float]) -> float:
    """People a measure is computed on per tranche: everyone, or the reoffenders for reoffences per reoffender."""
    if measure != "per_reoffender":
        return float(n)
    b = contract.baseline
    rate = b.of("binary").rate if b is not None and "binary" in b.measures else rates.get("binary", math.nan)
    return n * rate


def _against(contract: Contract, measure: str) -> list[str]:
    """The comparisons a measure is read against (a rule's, and its hurdle's, which is the rule's)."""
    return [r.against for r in contract.rules if measure in (r.measure, r.hurdle.measure if r.hurdle else None)]


def _comparison_truth(contract, measure, against, rates) -> tuple[float, int | None]:
    """The comparison's true rate, and the baseline's n (None: a matched comparison or a fixed target)."""
    if against == "matched":
        return rates[measure], None
    b = contract.baseline.of(measure)
    return b.rate, b.n


def _treated_truth(measure: str, truth: float, effect: float) -> float:
    value = truth + effect if measure == "binary" else truth * effect
    if value <= 0 or (measure == "binary" and value >= 1):
        raise parameter_error(
            "true_effect", "rule_chances", f"an effect that keeps the {measure} rate possible (from {truth:g})", effect
        )
    return value


def _observable(contract: Contract, tranche: Tranche, measure: str, stage: str) -> float:
    """Share of the tranche observable at its stage date, index dates spread evenly over the tranche."""
    when: date | None = tranche.interim if stage == "interim" else tranche.final
    if when is None:
        return 0.0
    custody, r = contract.custody, contract.spec.reoffending
    # pricing.contract refuses a bed_nights rule without [custody], and a reoffending rule without [reoffending].
    if measure == "bed_nights":
        assert custody is not None
        lag = custody.follow_up_days
    else:
        assert r is not None
        lag = r.follow_up_days + r.waiting_days
    days = (tranche.end - tranche.start).days + 1
    return float(np.clip(((when - tranche.start).days - lag + 1) / days, 0.0, 1.0))


# ------------------------------------------------------------------ the contract's money on each life
def _statistics(stage: _Stage, measure: str, scale: str, k: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Draws x tranches statistics (log ratio or difference) and SEs, as a settlement computes them."""
    kind = comparison_measure(measure)
    shape = None if kind == "binary" else k
    n_t = np.inf if stage.interval_only else stage.n_treated
    var_d, var_l = model_variances(kind, stage.treated, stage.control, n_t, stage.n_control, shape)
    if scale == "relative":
        return np.log(stage.treated / stage.control), np.sqrt(var_l)
    return stage.treated - stage.control, np.sqrt(var_d)


def _money(contract: Contract, life: _Life) -> dict[str, dict[str, np.ndarray]]:
    """Per rule: draws x tranches (pooled: draws x 1) of payment, clawback and deduction (£)."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for rule in (r for r in contract.rules if r.type == "tranche"):
        out[rule.name] = _tranche_rule(contract, life, rule)
    for rule in (r for r in contract.rules if r.type == "pooled"):
        # Net of what the rules of its measure paid before, as the ledger nets them.
        same = [r.name for r in contract.rules if r.name in out and r.measure == rule.measure]
        earlier = sum((out[name]["payment"].sum(axis=1) for name in same), np.zeros(life.draws))
        out[rule.name] = _pooled_rule(life, rule, earlier)
    return out


def _tranche_rule(contract: Contract, life: _Life, rule: ContractRule) -> dict[str, np.ndarray]:
    stage = life.stage(rule.measure, rule.against, rule.settle)
    test = rule.payment_rule()
    stat, se = _statistics(stage, rule.measure, rule.scale, life.k)
    hurdle: Any = True
    if rule.hurdle is not None:
        h_stage = life.stage(rule.hurdle.measure, rule.against, rule.settle)
        h_stat, h_se = _statistics(h_stage, rule.hurdle.measure, rule.hurdle.scale, life.k)
        hurdle = rule.hurdle.payment_rule(rule.name).met_statistic(h_stat, h_se)
    reduction = -np.expm1(stat) if rule.scale == "relative" else -stat
    money = tranche_money(
        rule, contract.structure, len(contract.tranches), reduction=reduction, decided=test.decided(stat, se),
        decided_rise=test.decided_rise(stat, se), control_mean=stage.control, n_treated=stage.n_treated,
        hurdle_met=hurdle,
    )  # fmt: skip
    payment = money.payment
    if rule.cap is not None:
        # Capped in the order the ledger pays: tranche by tranche.
        payment = np.diff(np.minimum(np.cumsum(payment, axis=1), rule.cap), axis=1, prepend=0.0)
    return {"payment": payment, "clawback": money.clawback, "deduction": money.deduction}


def _pooled_rule(life: _Life, rule: ContractRule, earlier: np.ndarray) -> dict[str, np.ndarray]:
    """A pooled rule at the end: the size-weighted mean reduction decides; the events avoided pay, net of earlier."""
    stage = life.stage(rule.measure, rule.against, "final")
    stat, se = _statistics(stage, rule.measure, rule.scale, life.k)
    reduction = -np.expm1(stat) if rule.scale == "relative" else -stat
    # The SE a settlement reads off each tranche's 95% interval of the reduction.
    se_reduction = np.exp(stat) * np.sinh(_Z95 * se) / _Z95 if rule.scale == "relative" else se
    w = stage.n_treated / stage.n_treated.sum()
    pooled = reduction @ w
    z = 0.0 if rule.decide_on == "estimate" else float(ndtri(1 - rule.alpha))
    decision = pooled - z * np.sqrt((se_reduction**2) @ w**2)
    met = at_least(decision, rule.at_least, decision)
    avoided = events_avoided(rule, reduction, stage.control, stage.n_treated)
    gross = rule.amount + rule.price_per_event * np.maximum(avoided, 0.0)
    paid = np.where(met, np.maximum(gross - earlier, 0.0), 0.0)
    if rule.cap is not None:
        paid = np.minimum(paid, rule.cap)
    paid = paid[:, None]
    zero = np.zeros_like(paid)
    return {"payment": paid, "clawback": zero, "deduction": zero}


def _contract_total(contract: Contract, money) -> tuple[np.ndarray, np.ndarray]:
    """Each draw's net total (the contract's cap on payments) and whether anything was paid."""
    positive = sum(m["payment"].sum(axis=1) for m in money.values())
    negative = sum((m["clawback"] + m["deduction"]).sum(axis=1) for m in money.values())
    if contract.structure.cap is not None:
        positive = np.minimum(positive, contract.structure.cap)
    return positive + negative, positive > 0.005


def _rule_row(name: str, scenario: str, m: dict[str, np.ndarray], draws: int) -> dict[str, Any]:
    net = (m["payment"] + m["clawback"] + m["deduction"]).sum(axis=1)
    p = float((m["payment"] > 0.005).any(axis=1).mean())
    return {
        "rule": name,
        "scenario": scenario,
        "p_pays": p,
        "p_pays_se": math.sqrt(p * (1 - p) / draws),
        "p_clawback": float((m["clawback"] < -0.005).any(axis=1).mean()),
        "p_deduction": float((m["deduction"] < -0.005).any(axis=1).mean()),
        "mean": float(net.mean()),
        "mc_se": float(net.std() / math.sqrt(draws)),
    }


def _tranche_rows(contract: Contract, money, scenario: str) -> list[dict[str, Any]]:
    rows = []
    for rule in (r for r in contract.rules if r.type == "tranche"):
        paid = money[rule.name]["payment"] > 0.005
        for i, t in enumerate(contract.tranches):
            rows.append(
                {"rule": rule.name, "tranche": t.name, "scenario": scenario, "p_pays": float(paid[:, i].mean())}
            )
    return rows


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
    baseline, tested as the contract says, or a matched comparison at the
    contract's ratio), as :meth:`metrics.thresholds.PaymentRule.chance` computes it.

    Parameters
    ----------
    contract : Contract
    rule : ContractRule
        One of the contract's rules.
    n_per_tranche : int
        People in the tranche.
    base_rate : float
        The matched comparison's rate (a baseline rule uses the baseline's).
    true_effect : float
        A difference in rates (binary) or a rate ratio (counts).
    dispersion : float, optional
        Negative binomial shape of counts (None: Poisson).

    Examples
    --------
    >>> from pricing import scheme
    >>> c = scheme("doncaster")
    >>> round(tranche_power(c, c.rules[0], n_per_tranche=1_000, base_rate=0.58, true_effect=-0.05), 2)
    0.5
    """
    check_parameter(n_per_tranche, "n_per_tranche", "tranche_power", Interval(int, 2, None))
    kind = comparison_measure(rule.measure)
    shape = dispersion if kind == "frequency" else None
    # pricing.contract refuses a rule against a comparison the contract does not define.
    if rule.against == "baseline":
        assert contract.baseline is not None
        b, test = contract.baseline.of(rule.measure), contract.baseline.test
        null = Contrast.against_baseline(kind, b.rate, n_per_tranche, b.rate, b.n, test=test, dispersion=shape)
    else:
        assert contract.matched is not None
        n_c = n_per_tranche * contract.matched.ratio
        null = Contrast.from_rates(kind, base_rate, n_per_tranche, base_rate, n_c, dispersion=shape)
    return rule.payment_rule().chance(null, true_effect)
