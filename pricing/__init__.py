"""pricing: what it is worth. Tariffs, payment structures and contract simulation."""

from pricing.comparison import TariffComparison, compare_tariffs
from pricing.simulate import REOFFENDING_LAG_MONTHS, ContractSimulation, simulate_contract, timing_from_spec
from pricing.structure import (
    DWP_WORK_PROGRAMME_TIMING,
    SECTOR_ASK,
    Finding,
    Investor,
    PaymentStructure,
    Target,
    doncaster,
    dwp_work_programme,
    peterborough,
    sector_ask,
    youth_justice_clawback,
)
from pricing.tariff import Margins, Tariff, by_difficulty, dwp_tariff, flat, incentive_neutral, segment_labels

__all__ = [
    "DWP_WORK_PROGRAMME_TIMING",
    "REOFFENDING_LAG_MONTHS",
    "SECTOR_ASK",
    "ContractSimulation",
    "Finding",
    "Investor",
    "Margins",
    "PaymentStructure",
    "Tariff",
    "Target",
    "TariffComparison",
    "by_difficulty",
    "compare_tariffs",
    "doncaster",
    "dwp_tariff",
    "dwp_work_programme",
    "flat",
    "incentive_neutral",
    "peterborough",
    "sector_ask",
    "segment_labels",
    "simulate_contract",
    "timing_from_spec",
    "youth_justice_clawback",
]
