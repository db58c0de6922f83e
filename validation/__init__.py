"""validation: does it hold. Schemas, design checks, creaming and parking screens, measurement
screens, funnels and the provider comparison table, gaming payoff, equality.

The error classes and table schemas live on the ground floor (:mod:`ground`);
they are re-exported here so ``from validation import SchemaError, validate``
keeps working.
"""

from ground.errors import (
    ConvergenceError,
    DesistError,
    MatchingError,
    ModelError,
    ParameterError,
    SchemaError,
    SpecError,
)
from ground.findings import Finding
from ground.tables import TABLES, table_schema, validate
from validation.design import check_design
from validation.equality_impact import EqualityTable, equality
from validation.funnels import Funnel, funnel
from validation.gaming import Screen, creaming_screen, parking_screen
from validation.measurement import MeasurementScreens, counting_findings, measurement_screens
from validation.payoff import GamingPayoff, gaming_payoff
from validation.providers import ProviderComparison, compare_providers

__all__ = [
    "TABLES",
    "ConvergenceError",
    "DesistError",
    "EqualityTable",
    "Finding",
    "Funnel",
    "GamingPayoff",
    "MatchingError",
    "MeasurementScreens",
    "ModelError",
    "ParameterError",
    "ProviderComparison",
    "SchemaError",
    "Screen",
    "SpecError",
    "check_design",
    "compare_providers",
    "counting_findings",
    "creaming_screen",
    "equality",
    "funnel",
    "gaming_payoff",
    "measurement_screens",
    "parking_screen",
    "table_schema",
    "validate",
]
