"""pricing: what it is worth. Contracts, rate cards, settlement, tariffs, payment structures and contract simulation."""

from pricing.audit import Verification, settle_files, verify
from pricing.comparison import TariffSet, compare_tariffs
from pricing.contract import Baseline, Contract, ContractRule, Hurdle, MatchedPool, Tranche
from pricing.ratecard import ClaimsSettlement, Ladder, RateCard, settle_claims
from pricing.schemes import scheme, scheme_path, schemes
from pricing.settlement import Settlement, settle
from pricing.simulate import REOFFENDING_LAG_MONTHS, ContractSimulation, simulate_contract, timing_from_spec
from pricing.structure import SECTOR_ASK, Investor, PaymentStructure, Target
from pricing.tariff import Margins, Tariff, by_difficulty, flat, incentive_neutral, segment_labels

__all__ = [
    "REOFFENDING_LAG_MONTHS",
    "SECTOR_ASK",
    "Baseline",
    "ClaimsSettlement",
    "Contract",
    "ContractRule",
    "ContractSimulation",
    "Hurdle",
    "Investor",
    "Ladder",
    "Margins",
    "MatchedPool",
    "PaymentStructure",
    "RateCard",
    "Settlement",
    "Tariff",
    "Target",
    "TariffSet",
    "Tranche",
    "Verification",
    "by_difficulty",
    "compare_tariffs",
    "flat",
    "incentive_neutral",
    "scheme",
    "scheme_path",
    "schemes",
    "segment_labels",
    "settle",
    "settle_claims",
    "settle_files",
    "simulate_contract",
    "timing_from_spec",
    "verify",
]
