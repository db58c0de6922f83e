"""Planning an evaluation: what it can detect, the cohort it needs, and how often the usual rule pays by chance.

:func:`power_report` answers what a commissioner asks before a contract
starts, in one call: the minimum detectable effect at a cohort size, the
cohort needed for an effect, the power at both (:mod:`metrics.power`), and the
chance that the scheme's usual payment rule (Peterborough's 10% fall in the
frequency of proven reoffences, Doncaster's 5-point fall in the rate;
:mod:`metrics.thresholds`) pays when nothing changed and, at a stated effect,
when it did. ``desist power`` prints it.

Examples
--------
>>> r = power_report(Design("binary", 0.45, ratio=3), 500, None)
>>> round(r.mde.effect, 3), r.required_n is None, round(r.payment.false_payment, 3)
(-0.071, True, 0.026)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ground.checks import parameter_error
from metrics.power import Design, Measure, PowerResult, minimum_detectable_effect, power, required_n
from metrics.thresholds import Contrast, PaymentRule, doncaster_rule, peterborough_rule

__all__ = ["PowerReport", "RulePayment", "power_report", "usual_rule"]


@dataclass(frozen=True)
class RulePayment:
    """How often a payment rule pays at a cohort size: when nothing changed, and at a true effect.

    Attributes
    ----------
    rule : str
        The rule in words (``PaymentRule.description``).
    n_treated : float
        People in the programme group.
    false_payment : float
        Chance the rule pays when the programme changed nothing.
    true_effect : float or None
        The effect judged (a difference for the rate, a rate ratio for the frequency).
    payment_probability : float or None
        Chance the rule pays at ``true_effect``.
    """

    rule: str
    n_treated: float
    false_payment: float
    true_effect: float | None
    payment_probability: float | None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class PowerReport:
    """The power figures that apply, and the usual payment rule's chances.

    Attributes
    ----------
    mde : PowerResult or None
        The minimum detectable effect (given ``n_treated``).
    required_n : PowerResult or None
        The cohort needed (given ``effect``).
    power : PowerResult or None
        The power (given both).
    payment : RulePayment
        The usual rule at the cohort size given, or else the size required.
    """

    mde: PowerResult | None
    required_n: PowerResult | None
    power: PowerResult | None
    payment: RulePayment

    def results(self) -> dict[str, PowerResult]:
        """The power results that apply, by what they solved: ``mde``, ``required_n``, ``power``."""
        found = {"mde": self.mde, "required_n": self.required_n, "power": self.power}
        return {k: v for k, v in found.items() if v is not None}

    def to_dict(self) -> dict[str, object]:
        """Each result's ``to_dict()`` under its key (only those that apply), and ``payment``."""
        return {**{k: v.to_dict() for k, v in self.results().items()}, "payment": self.payment.to_dict()}


def usual_rule(measure: Measure) -> PaymentRule:
    """The scheme's usual rule for a measure: Peterborough's for the frequency, Doncaster's for the rate.

    Parameters
    ----------
    measure : {"binary", "frequency"}
        The proven reoffending rate (Doncaster's 5-point fall) or the frequency of proven reoffences
        (Peterborough's 10% fall).

    Examples
    --------
    >>> usual_rule("frequency").name
    'Peterborough cohort'
    """
    return peterborough_rule() if measure == "frequency" else doncaster_rule()


def power_report(
    design: Design, n_treated: float | None, effect: float | None, *, target_power: float = 0.8
) -> PowerReport:
    """The minimum detectable effect, required cohort and power that apply, and the usual rule's chances.

    Parameters
    ----------
    design : Design
        The measure, the comparison group's rate (a proportion) or mean count, and the test.
    n_treated : float, optional
        The programme group's size: gives the minimum detectable effect.
    effect : float, optional
        The true effect (a difference in rates, or a rate ratio): gives the cohort needed.
        With both, the power too.
    target_power : float
        Power wanted for the minimum detectable effect and the cohort needed.

    Returns
    -------
    PowerReport
        ``payment`` is the usual rule (:func:`usual_rule`) at ``n_treated``, or
        else at the cohort needed: its chance of paying when nothing changed,
        and at ``effect``.

    Examples
    --------
    A rate of 45% in the comparison group, 500 people a side, and a true fall of 10 points:

    >>> r = power_report(Design("binary", 0.45), 500, -0.10)
    >>> round(r.mde.effect, 3), round(r.power.power, 3), r.required_n.n_treated_required
    (-0.087, 0.901, 373)
    >>> round(r.payment.false_payment, 3), round(r.payment.payment_probability, 3)
    (0.056, 0.948)

    The power by hand (a Wald test of 35% against 45%), and Doncaster's rule (pays when the rate falls
    by 5 points or more) by the normal approximation when nothing changed:

    >>> from scipy.stats import norm
    >>> se, se_null = (0.35 * 0.65 / 500 + 0.45 * 0.55 / 500) ** 0.5, (2 * 0.45 * 0.55 / 500) ** 0.5
    >>> round(float(norm.cdf(0.10 / se - norm.ppf(0.975))), 3), round(float(norm.cdf(-0.05 / se_null)), 3)
    (0.901, 0.056)
    """
    mde = needed = at_both = None
    if n_treated is not None:
        mde = minimum_detectable_effect(design, n_treated, power=target_power)
    if effect is not None:
        needed = required_n(design, effect, power=target_power)
    if n_treated is not None and effect is not None:
        at_both = power(design, n_treated, effect)
    n = n_treated if needed is None or n_treated is not None else needed.n_treated_required
    if n is None:
        raise parameter_error(
            "n_treated", "power_report", "given, or 'effect' given, or both: n_treated gives the minimum detectable "
            "effect, effect the cohort needed, both the power", n_treated,
        )  # fmt: skip
    rule = usual_rule(design.measure)
    base = design.base_rate
    null = Contrast.from_rates(
        design.measure,
        base,
        n,
        base,
        n * design.ratio,
        dispersion=design.dispersion,
        design_effect=design.design_effect,
    )
    payment = RulePayment(
        rule=rule.description,
        n_treated=float(n),
        false_payment=rule.chance(null),
        true_effect=effect,
        payment_probability=None if effect is None else rule.chance(null, effect),
    )
    return PowerReport(mde=mde, required_n=needed, power=at_both, payment=payment)
