"""metrics: compared with whom. Propensity, matching, balance, effects, power and
payment thresholds."""

from metrics.balance import balance_table, balance_variables, plot_balance
from metrics.effects import Effect, compare, kaplan_meier
from metrics.matching import MatchedComparison, match, nearest_neighbours

# ``metrics.power`` stays the module; its ``power()`` is imported from there.
from metrics.power import (
    Design,
    PowerCurve,
    PowerResult,
    SimulatedPower,
    minimum_detectable_effect,
    negative_binomial_shape,
    power_curve,
    required_n,
    simulated_power,
)
from metrics.propensity import PropensityModel, fit_propensity
from metrics.thresholds import (
    Comparison,
    PaymentRule,
    PeterboroughResult,
    RuleComparison,
    ThresholdResult,
    compare_rules,
    confident_reduction_rule,
    doncaster,
    doncaster_rule,
    peterborough,
    peterborough_rule,
    point_estimate_rule,
)

__all__ = [
    "Comparison",
    "Design",
    "Effect",
    "MatchedComparison",
    "PaymentRule",
    "PeterboroughResult",
    "PowerCurve",
    "PowerResult",
    "PropensityModel",
    "RuleComparison",
    "SimulatedPower",
    "ThresholdResult",
    "balance_table",
    "balance_variables",
    "compare",
    "compare_rules",
    "confident_reduction_rule",
    "doncaster",
    "doncaster_rule",
    "fit_propensity",
    "kaplan_meier",
    "match",
    "minimum_detectable_effect",
    "nearest_neighbours",
    "negative_binomial_shape",
    "peterborough",
    "peterborough_rule",
    "plot_balance",
    "point_estimate_rule",
    "power_curve",
    "required_n",
    "simulated_power",
]

#: Names that moved out of ``metrics``, and where to find them now.
_MOVED = {
    "payment_probability": "studies.payment_simulation",
    "simulate_matched_effects": "studies.payment_simulation",
    "PaymentProbability": "studies.payment_simulation",
}


def __getattr__(name: str) -> object:
    # Not an import: a clear message for scripts written against the old place.
    if name in _MOVED:
        raise AttributeError(
            f"metrics.{name} moved to {_MOVED[name]}: it simulates whole evaluations on the "
            f"synthetic world, a study rather than a statistic of your data. "
            f"Use 'from {_MOVED[name]} import {name}'."
        )
    raise AttributeError(f"module 'metrics' has no attribute {name!r}")
