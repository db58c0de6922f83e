"""metrics: compared with whom. Propensity, matching, balance, effects, power and
payment thresholds."""

from metrics.balance import balance_table, balance_variables, plot_balance
from metrics.effects import Effect, compare, kaplan_meier
from metrics.matching import MatchedComparison, match, nearest_neighbours
from metrics.propensity import PropensityModel, fit_propensity
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
from metrics.payment_simulation import PaymentProbability, payment_probability, simulate_matched_effects
