"""The answers each reader came for, as numbers: the first screen of every report.

- :func:`verdict`: the evaluator's. The Justice Data Lab's three forms (a
  significant reduction, a significant increase, or more people needed to
  tell) and its "for every 100 people like these" comparison, from a matched
  effect on the reoffending rate or on the frequency of reoffences.
- :func:`spend`: the commissioner's. What the contract would cost against its
  budget and how widely that varies, not the chance of paying above the
  expected payment (one half by construction).
- :func:`sensitivity`: how strong hidden bias would have to be to explain
  the evaluator's verdict away (Rosenbaum's Gamma and the E-value), in one
  sentence per measure.
- :func:`outlook`: the provider's. Expected income, margin after delivery
  costs, the chance of a loss and the working capital it needs.

Each returns a frozen dataclass with ``to_dict()``; the report words them,
the workbook and ``--json`` carry the same numbers.

Examples
--------
>>> from metrics.effects import Effect
>>> e = Effect(-0.039, 0.024, -0.086, 0.008, 0.11, 777, 777, "wls", "binary", "reoffended", "difference",
...            0.423, 0.462)
>>> v = verdict(e)
>>> v.form, v.sentence()
('inconclusive', 'More people are needed to tell whether the programme changed the proven reoffending rate.')
>>> print(v.per_100())  # doctest: +NORMALIZE_WHITESPACE
For every 100 people like these, 42 reoffended within a year, against 46 in the comparison group
(the difference is between 9 fewer and 1 more).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ground.words import percent, pounds
from metrics.effects import Effect
from metrics.sensitivity import EValue, RosenbaumBounds
from pricing.simulate import ContractSimulation

__all__ = [
    "OVERSPEND",
    "Outlook",
    "Sensitivity",
    "SensitivityRow",
    "Spend",
    "Verdict",
    "outlook",
    "outlooks",
    "sensitivity",
    "spend",
    "verdict",
]

#: Overspend against the budget that a commissioner would call a problem.
OVERSPEND = 0.05
FORMS = ("reduction", "increase", "inconclusive")


def _whole(v: float) -> str:
    """A count per 100 people: whole, unless that would round a non-zero difference to 0."""
    return f"{abs(v):.0f}" if round(abs(v)) >= 1 or v == 0 else f"{abs(v):.1f}"


def _change(v: float) -> str:
    return f"{_whole(v)} {'fewer' if v < 0 else 'more'}"


@dataclass(frozen=True)
class Verdict:
    """A matched comparison's answer in the Justice Data Lab's words.

    Attributes
    ----------
    measure : {"binary", "frequency"}
        The proven reoffending rate, or the number of proven reoffences.
    form : {"reduction", "increase", "inconclusive"}
        A significant reduction, a significant increase, or more people needed.
    treated, control : float
        Per 100 people: how many reoffended (binary) or how many proven
        reoffences (frequency), in the programme and the comparison groups.
    low, high : float
        The 95% CI of the difference per 100 people (treated minus comparison).
    p_value : float
    n_treated, n_control : int
    follow_up_days : int
    """

    measure: str
    form: str
    treated: float
    control: float
    low: float
    high: float
    p_value: float
    n_treated: int
    n_control: int
    follow_up_days: int = 365

    @property
    def period(self) -> str:
        return "within a year" if self.follow_up_days == 365 else f"within {self.follow_up_days} days"

    def sentence(self) -> str:
        """The verdict in one sentence."""
        what = "the proven reoffending rate" if self.measure == "binary" else "how often people reoffended"
        if self.form == "inconclusive":
            return f"More people are needed to tell whether the programme changed {what}."
        change = "reduced" if self.form == "reduction" else "increased"
        return f"The programme significantly {change} {what}."

    def per_100(self) -> str:
        """ "For every 100 people like these, X reoffended, against Y in the comparison group (...)"."""
        did = "reoffended" if self.measure == "binary" else "proven reoffences were recorded"
        return (
            f"For every 100 people like these, {self.treated:.0f} {did} {self.period}, "
            f"against {self.control:.0f} in the comparison group "
            f"(the difference is between {_change(self.low)} and {_change(self.high)})."
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sentence": self.sentence(), "per_100": self.per_100()}


def verdict(effect: Effect, follow_up_days: int = 365) -> Verdict:
    """The verdict of a matched effect on the reoffending rate (``kind="binary"``) or frequency (``"count"``).

    A binary effect is a difference in proportions: per 100 people it is the
    difference in people who reoffended. A count effect is a rate ratio: the
    comparison group's reoffences per 100 times the ratio and its CI, so the
    verdict and the interval come from the same test.

    Parameters
    ----------
    effect : metrics.Effect
        A matched effect of kind ``"binary"`` (a difference in proportions) or ``"count"`` (a rate ratio).
    follow_up_days : int
        The follow-up period, for the words ("within a year" for 365 days).

    Returns
    -------
    Verdict

    Examples
    --------
    A rate ratio of 0.80 (95% CI 0.70 to 0.92) on 120 reoffences per 100 in the comparison group:

    >>> from metrics.effects import Effect
    >>> e = Effect(0.80, 0.07, 0.70, 0.92, 0.002, 900, 900, "", "count", "reoffences", "rate ratio", 0.96, 1.20)
    >>> v = verdict(e)
    >>> v.form, round(v.treated), round(v.low), round(v.high)
    ('reduction', 96, -36, -10)
    >>> v.sentence()
    'The programme significantly reduced how often people reoffended.'
    """
    if effect.kind == "binary":
        treated, control = 100 * effect.mean_treated, 100 * effect.mean_control
        low, high, null = 100 * effect.ci_low, 100 * effect.ci_high, 0.0
        bounds = (effect.ci_low, effect.ci_high)
        measure = "binary"
    else:
        control = 100 * effect.mean_control
        treated = control * effect.estimate
        low, high, null = control * (effect.ci_low - 1), control * (effect.ci_high - 1), 1.0
        bounds = (effect.ci_low, effect.ci_high)
        measure = "frequency"
    form = "reduction" if bounds[1] < null else "increase" if bounds[0] > null else "inconclusive"
    return Verdict(
        measure=measure,
        form=form,
        treated=float(treated),
        control=float(control),
        low=float(low),
        high=float(high),
        p_value=float(effect.p_value),
        n_treated=int(effect.n_treated),
        n_control=int(effect.n_control),
        follow_up_days=int(follow_up_days),
    )


@dataclass(frozen=True)
class Spend:
    """What the commissioner would spend against the budget, over simulated contracts (£).

    Attributes
    ----------
    budget : float
        The contract's value: service fee plus the expected outcome payments.
    mean, q05, q95 : float
        Spend: mean, and the range holding 90% of simulated contracts.
    mc_se : float
        Monte Carlo standard error of the mean.
    overspend_chance : float
        Share of simulated contracts spending more than the budget plus
        :data:`OVERSPEND` (5%).
    draws : int
    """

    budget: float
    mean: float
    q05: float
    q95: float
    mc_se: float
    overspend_chance: float
    draws: int

    def sentence(self) -> str:
        """Spend against budget in words."""
        share = (lambda v: percent(v / self.budget, 0)) if self.budget > 0 else (lambda v: "–")
        return (
            f"The contract would cost {pounds(self.mean)} on average against a budget of {pounds(self.budget)}; "
            f"in 90% of simulated contracts between {pounds(self.q05)} and {pounds(self.q95)} "
            f"({share(self.q05)} to {share(self.q95)} of the budget)."
        )

    def risk(self) -> str:
        """The overspend a commissioner should plan for."""
        over = max(self.q95 - self.budget, 0.0)
        limit = percent(OVERSPEND, 0)
        chance = (
            f"none of the {self.draws:,} simulated contracts overspends by more than {limit}"
            if self.overspend_chance == 0
            else f"the chance of overspending by more than {limit} is {percent(self.overspend_chance)}"
        )
        return f"In 1 contract in 20 it would cost more than {pounds(self.q95)}, {pounds(over)} over budget; {chance}."

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sentence": self.sentence(), "risk": self.risk()}


def spend(simulation: ContractSimulation) -> Spend:
    """The commissioner's spend against the budget from a ``pricing.ContractSimulation``.

    Parameters
    ----------
    simulation : pricing.ContractSimulation
        Its ``total_paid`` per draw, and ``contract_value`` as the budget.

    Returns
    -------
    Spend

    Examples
    --------
    A £50,000 fee and £1,000 for each of 100 people who finds a job (30% do): a budget of £80,000.

    >>> import pandas as pd
    >>> from pricing import PaymentStructure, Tariff, simulate_contract
    >>> cohort = pd.DataFrame({"segment": ["a"] * 100, "p_job": 0.3})
    >>> structure = PaymentStructure(service_fee=50_000.0, up_front_share=1.0)
    >>> sim = simulate_contract(
    ...     None, cohort, Tariff.from_dict({"job": {"a": 1000.0}}), structure, draws=1_000, seed=1, timing={"job": 6},
    ...     costs=300.0,
    ... )
    >>> s = spend(sim)
    >>> s.budget, s.draws, bool(abs(s.mean - 80_000) < 4 * s.mc_se)
    (80000.0, 1000, True)
    """
    paid = np.asarray(simulation.total_paid, dtype=float)
    budget = float(simulation.contract_value)
    return Spend(
        budget=budget,
        mean=float(paid.mean()),
        q05=float(np.quantile(paid, 0.05)),
        q95=float(np.quantile(paid, 0.95)),
        mc_se=float(paid.std() / np.sqrt(len(paid))),
        overspend_chance=float((paid > budget * (1 + OVERSPEND)).mean()),
        draws=len(paid),
    )


@dataclass(frozen=True)
class Outlook:
    """A provider's outlook under the contract (£ over the whole contract).

    Attributes
    ----------
    party : str
    income : float or None
        Expected income (fees and outcome payments); None when delivery costs
        are unknown and so income cannot be told from margin.
    cost : float or None
        Delivery costs borne.
    margin, margin_q05, margin_q95 : float
        Net cash (income minus delivery costs): mean and the 90% range.
    loss_chance, loss_chance_se : float
        Share of simulated contracts ending below zero, with its Monte Carlo SE.
    working_capital, working_capital_q95 : float
        The most the provider is out of pocket at any month end: mean and 1 in 20.
    costs_included : bool
    """

    party: str
    income: float | None
    cost: float | None
    margin: float
    margin_q05: float
    margin_q95: float
    loss_chance: float
    loss_chance_se: float
    working_capital: float
    working_capital_q95: float
    costs_included: bool
    draws: int = 0

    def sentence(self) -> str:
        """Income, margin and the chance of a loss in words."""
        spread = f"90% of contracts between {pounds(self.margin_q05)} and {pounds(self.margin_q95)}"
        if not self.costs_included:
            return (
                f"The {self.party} can expect {pounds(self.margin)} of income ({spread}); delivery costs were not "
                "given, so the margin and the chance of a loss cannot be told."
            )
        loss = (
            f"none of the {self.draws:,} simulated contracts ends in a loss"
            if self.loss_chance == 0
            else f"the chance of a loss is {percent(self.loss_chance)}"
        )
        return (
            f"The {self.party} can expect {pounds(self.income)} of income and a margin of {pounds(self.margin)} "
            f"after delivery costs ({spread}); {loss}."
        )

    def capital(self) -> str:
        """The working capital the provider needs, in words."""
        if self.working_capital_q95 == 0:
            return f"The {self.party} is never out of pocket: payments arrive before its costs."
        return (
            f"At its lowest point the {self.party} is {pounds(self.working_capital)} out of pocket on average, and "
            f"{pounds(self.working_capital_q95)} in 1 contract in 20: the working capital it needs."
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sentence": self.sentence(), "capital": self.capital()}


def outlook(simulation: ContractSimulation, party: str, delivery_cost: float | None = None) -> Outlook:
    """A provider party's outlook from a ``pricing.ContractSimulation``.

    Parameters
    ----------
    simulation : pricing.ContractSimulation
        The simulated contract.
    party : str
        A provider party of the simulation (``simulation.providers``): ``"prime"`` or a subcontractor.
    delivery_cost : float, optional
        The party's own delivery cost (£); with it (and the simulation's costs), income is the
        margin plus that cost.

    Returns
    -------
    Outlook

    Examples
    --------
    A prime paid a £50,000 fee up front and £1,000 a job (30 of 100 people expected), at £300 a person:

    >>> import pandas as pd
    >>> from pricing import PaymentStructure, Tariff, simulate_contract
    >>> cohort = pd.DataFrame({"segment": ["a"] * 100, "p_job": 0.3})
    >>> structure = PaymentStructure(service_fee=50_000.0, up_front_share=1.0)
    >>> sim = simulate_contract(
    ...     None, cohort, Tariff.from_dict({"job": {"a": 1000.0}}), structure, draws=1_000, seed=1, timing={"job": 6},
    ...     costs=300.0,
    ... )
    >>> o = outlook(sim, "prime", 30_000.0)
    >>> o.income - o.cost == o.margin, o.loss_chance
    (True, 0.0)
    >>> o.capital()
    'The prime is never out of pocket: payments arrive before its costs.'
    """
    row = simulation.party_table().loc[party].astype(float).to_dict()
    costs = bool(simulation.costs_included)
    income = row["net_mean"] + delivery_cost if costs and delivery_cost is not None else None
    return Outlook(
        party=party,
        income=income,
        cost=delivery_cost if costs else None,
        margin=row["net_mean"],
        margin_q05=row["net_q05"],
        margin_q95=row["net_q95"],
        loss_chance=row["p_loss"],
        loss_chance_se=row["p_loss_se"],
        working_capital=row["peak_working_capital_mean"],
        working_capital_q95=row["peak_working_capital_q95"],
        costs_included=costs,
        draws=int(simulation.draws),
    )


def outlooks(simulation: ContractSimulation, delivery_cost: float | None = None) -> dict[str, Outlook]:
    """Each provider party's outlook (:func:`outlook`).

    Parameters
    ----------
    simulation : pricing.ContractSimulation
        The simulated contract.
    delivery_cost : float, optional
        The cohort's delivery cost (£): it is the prime's when the prime works
        alone; shared between several providers it is not split, so their
        outlooks are income only.

    Returns
    -------
    dict of str -> Outlook
        By party, in the order of ``simulation.providers``.

    Examples
    --------
    The prime alone, then with two subcontractors sharing the delivery:

    >>> import pandas as pd
    >>> from pricing import PaymentStructure, Tariff, simulate_contract
    >>> cohort = pd.DataFrame({"segment": ["a"] * 100, "p_job": 0.3})
    >>> structure = PaymentStructure(service_fee=50_000.0, up_front_share=1.0)
    >>> sim = simulate_contract(
    ...     None, cohort, Tariff.from_dict({"job": {"a": 1000.0}}), structure, draws=1_000, seed=1, timing={"job": 6},
    ...     costs=300.0,
    ... )
    >>> outlooks(sim, 30_000.0)["prime"].cost
    30000.0
    >>> shared = PaymentStructure(service_fee=50_000.0, up_front_share=1.0, subcontractors={"a": 0.5, "b": 0.5})
    >>> sim = simulate_contract(None, cohort, None, shared, draws=100, seed=1, costs=300.0)
    >>> {party: o.cost for party, o in outlooks(sim, 30_000.0).items()}
    {'a': None, 'b': None}
    """
    providers = simulation.providers
    cost = delivery_cost if len(providers) == 1 else None
    return {p: outlook(simulation, p, cost) for p in providers}


_MEASURE_WORDS = {"binary": "the proven reoffending rate", "frequency": "how often people reoffended"}


@dataclass(frozen=True)
class SensitivityRow:
    """How strong hidden bias would have to be to explain one measure's verdict away.

    Attributes
    ----------
    measure : {"binary", "frequency"}
    form : {"reduction", "increase", "inconclusive"}
        The verdict (:class:`Verdict`) this row tests.
    gamma : float
        Rosenbaum's critical Gamma: within a matched pair, the odds of joining
        the programme an unmeasured trait would need to multiply before the
        effect stopped being significant (1 when it is not significant even
        with no hidden bias; inf when no Gamma studied removes it).
    test : str
        The matched-pairs test (McNemar or Wilcoxon signed-rank).
    pairs, informative : int
        Matched pairs, and those that inform the test (discordant, or unequal).
    e_value, e_value_ci : float
        VanderWeele and Ding's E-value of the estimate and of the confidence
        limit nearer no effect (1 when the interval includes no effect).
    """

    measure: str
    form: str
    gamma: float
    test: str
    pairs: int
    informative: int
    e_value: float
    e_value_ci: float

    def sentence(self) -> str:
        """The sensitivity in one plain sentence."""
        what = _MEASURE_WORDS[self.measure]
        strength = (
            f"an unmeasured confounder would need to raise both the chance of joining and the chance of the outcome "
            f"{self.e_value:.2f}-fold, over and above everything matched on, to explain the estimate away "
            f"(E-value)"
        )
        if self.form == "inconclusive":
            return (
                f"With no significant change in {what}, there is no finding for hidden bias to explain away; "
                f"{strength}."
            )
        change = "fall" if self.form == "reduction" else "rise"
        if math.isinf(self.gamma):
            survives = "would stay significant under any hidden bias studied"
        else:
            survives = (
                f"would stop being significant only if an unmeasured trait made one person of a matched pair "
                f"{self.gamma:.2f} times as likely (in odds) as the other to join the programme (Rosenbaum's Gamma)"
            )
        return f"The {change} in {what} {survives}; {strength}, and {self.e_value_ci:.2f}-fold to make it uncertain."

    def to_dict(self) -> dict[str, Any]:
        gamma = None if math.isinf(self.gamma) else self.gamma
        return {**asdict(self), "gamma": gamma, "sentence": self.sentence()}


@dataclass(frozen=True)
class Sensitivity:
    """Sensitivity to hidden bias of the evaluator's verdicts, by measure."""

    rows: dict[str, SensitivityRow]

    def sentences(self) -> list[str]:
        """One sentence per measure, the significant verdicts first."""
        ranked = sorted(self.rows.values(), key=lambda r: r.form == "inconclusive")
        return [r.sentence() for r in ranked]

    def summary(self) -> str:
        return "\n".join(self.sentences())

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(r) for r in self.rows.values()])

    def to_dict(self) -> dict[str, Any]:
        return {k: r.to_dict() for k, r in self.rows.items()}


def sensitivity(results: Mapping[str, tuple[RosenbaumBounds, EValue, Verdict]]) -> Sensitivity:
    """The sensitivity of each verdict from ``{measure: (RosenbaumBounds, EValue, Verdict)}``.

    Parameters
    ----------
    results : mapping of str -> (metrics.RosenbaumBounds, metrics.EValue, Verdict)
        By measure (``"binary"``, ``"frequency"``): the bounds from ``metrics.rosenbaum_bounds``
        on the matched pairs, the E-values from ``metrics.e_value`` on the same effect as the verdict.

    Returns
    -------
    Sensitivity

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from metrics import e_value, match, rosenbaum_bounds
    >>> rng = np.random.default_rng(3)
    >>> df = pd.DataFrame({"x": rng.normal(size=600)})
    >>> df["t"] = (rng.random(600) < 0.3).astype(int)
    >>> df["y"] = (rng.random(600) < 0.5 - 0.25 * df["t"]).astype(float)
    >>> m = match(df, "t", "x")
    >>> e = m.effect("y", kind="binary")
    >>> row = sensitivity({"binary": (rosenbaum_bounds(m, "y"), e_value(e), verdict(e))}).rows["binary"]
    >>> row.form, row.test, bool(row.gamma > 1)
    ('reduction', 'McNemar (discordant pairs)', True)
    """
    rows = {
        measure: SensitivityRow(
            measure=measure,
            form=verdict.form,
            gamma=float(bounds.critical_gamma),
            test=bounds.test,
            pairs=int(bounds.n_pairs),
            informative=int(bounds.n_informative),
            e_value=float(evalue.e_value),
            e_value_ci=float(evalue.e_value_ci),
        )
        for measure, (bounds, evalue, verdict) in results.items()
    }
    return Sensitivity(rows)
