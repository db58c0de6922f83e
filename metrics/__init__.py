"""metrics: compared with whom. Propensity, matching, weighting, balance, effects,
sensitivity to hidden bias, power and payment thresholds.
"""

from metrics.balance import balance_table, balance_variables, plot_balance
from metrics.effects import Effect, compare, kaplan_meier
from metrics.matching import MatchedComparison, MatchingShortfallWarning, match
from metrics.nearest import nearest_neighbours
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
    solve_power,
)
from metrics.propensity import PropensityModel, SeparationWarning, fit_propensity
from metrics.sensitivity import EValue, RosenbaumBounds, e_value, rosenbaum_bounds
from metrics.thresholds import (
    Contrast,
    PaymentRule,
    PeterboroughResult,
    RuleResults,
    ThresholdResult,
    case_mix_baseline,
    compare_rules,
    confident_reduction_rule,
    doncaster,
    doncaster_rule,
    peterborough,
    peterborough_rule,
    point_estimate_rule,
)
from metrics.weighting import WeightedComparison, entropy_balance

__all__ = [
    "Contrast",
    "Design",
    "EValue",
    "Effect",
    "MatchedComparison",
    "MatchingShortfallWarning",
    "PaymentRule",
    "PeterboroughResult",
    "PowerCurve",
    "PowerResult",
    "PropensityModel",
    "RosenbaumBounds",
    "RuleResults",
    "SeparationWarning",
    "SimulatedPower",
    "ThresholdResult",
    "WeightedComparison",
    "balance_table",
    "balance_variables",
    "case_mix_baseline",
    "compare",
    "compare_rules",
    "confident_reduction_rule",
    "doncaster",
    "doncaster_rule",
    "e_value",
    "entropy_balance",
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
    "rosenbaum_bounds",
    "simulated_power",
    "solve_power",
]
