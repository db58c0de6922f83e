"""validation: does it hold. Design checks, creaming and parking screens, measurement screens, funnels and
the provider comparison table, gaming payoff, equality.

The error classes, findings and table schemas are ground's (:mod:`ground.errors`, :mod:`ground.findings`,
:mod:`ground.tables`).
"""

from validation.design import check_design
from validation.equality_impact import EqualityTable, equality
from validation.funnels import Funnel, funnel
from validation.gaming import Screen, creaming_screen, parking_screen
from validation.measurement import MeasurementScreens, counting_findings, measurement_screens
from validation.payoff import GamingPayoff, gaming_payoff
from validation.providers import ProviderEstimates, compare_providers

__all__ = [
    "EqualityTable",
    "Funnel",
    "GamingPayoff",
    "MeasurementScreens",
    "ProviderEstimates",
    "Screen",
    "check_design",
    "compare_providers",
    "counting_findings",
    "creaming_screen",
    "equality",
    "funnel",
    "gaming_payoff",
    "measurement_screens",
    "parking_screen",
]
