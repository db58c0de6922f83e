"""metrics: compared with whom. Propensity, matching, weighting, balance, effects,
sensitivity to hidden bias, power and payment thresholds.

Names are loaded from their modules on first use, so ``from metrics import match``
does not import the power and threshold modules (and scipy.stats) that a
matched comparison never needs: a national-pool job starts faster.
"""

from __future__ import annotations

import importlib

#: Public name -> the module that defines it.
_HOME = {
    "balance_table": "metrics.balance",
    "balance_variables": "metrics.balance",
    "plot_balance": "metrics.balance",
    "Effect": "metrics.effects",
    "compare": "metrics.effects",
    "kaplan_meier": "metrics.effects",
    "MatchedComparison": "metrics.matching",
    "MatchingShortfallWarning": "metrics.matching",
    "match": "metrics.matching",
    "nearest_neighbours": "metrics.nearest",
    "WeightedComparison": "metrics.weighting",
    "entropy_balance": "metrics.weighting",
    "PropensityModel": "metrics.propensity",
    "SeparationWarning": "metrics.propensity",
    "fit_propensity": "metrics.propensity",
    "RosenbaumBounds": "metrics.sensitivity",
    "EValue": "metrics.sensitivity",
    "rosenbaum_bounds": "metrics.sensitivity",
    "e_value": "metrics.sensitivity",
    "Design": "metrics.power",
    "PowerCurve": "metrics.power",
    "PowerResult": "metrics.power",
    "SimulatedPower": "metrics.power",
    "minimum_detectable_effect": "metrics.power",
    "negative_binomial_shape": "metrics.power",
    "power_curve": "metrics.power",
    "required_n": "metrics.power",
    "simulated_power": "metrics.power",
    "Comparison": "metrics.thresholds",
    "PaymentRule": "metrics.thresholds",
    "PeterboroughResult": "metrics.thresholds",
    "RuleComparison": "metrics.thresholds",
    "ThresholdResult": "metrics.thresholds",
    "case_mix_baseline": "metrics.thresholds",
    "compare_rules": "metrics.thresholds",
    "confident_reduction_rule": "metrics.thresholds",
    "doncaster": "metrics.thresholds",
    "doncaster_rule": "metrics.thresholds",
    "peterborough": "metrics.thresholds",
    "peterborough_rule": "metrics.thresholds",
    "point_estimate_rule": "metrics.thresholds",
}

__all__ = sorted(_HOME)

#: Names that moved out of ``metrics``, and where to find them now.
_MOVED = {
    "payment_probability": "studies.payment_simulation",
    "simulate_matched_effects": "studies.payment_simulation",
    "PaymentProbability": "studies.payment_simulation",
}


_SUBMODULES = {
    "balance", "distances", "effects", "matching", "nearest", "power", "propensity", "sensitivity", "subclass",
    "survival", "thresholds", "variance", "weighting",
}  # fmt: skip


def __getattr__(name: str) -> object:
    if name in _SUBMODULES:
        return importlib.import_module(f"metrics.{name}")
    if name in _HOME:
        value = getattr(importlib.import_module(_HOME[name]), name)
        globals()[name] = value
        return value
    # Not an import: a clear message for scripts written against the old place.
    if name in _MOVED:
        raise AttributeError(
            f"metrics.{name} moved to {_MOVED[name]}: it simulates whole evaluations on the "
            f"synthetic world, a study rather than a statistic of your data. "
            f"Use 'from {_MOVED[name]} import {name}'."
        )
    raise AttributeError(f"module 'metrics' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
