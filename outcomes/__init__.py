"""outcomes: what counts as progress. Instruments, scoring, achievement rules,
proven reoffending (on pandas, DuckDB or Spark), custody bed nights and metric specs."""

from outcomes.achievement import (
    Achievement,
    Improvement,
    ReliableChange,
    Rule,
    Sustained,
    Threshold,
    Transition,
    achievement,
    reliable_change_index,
    rule_from_dict,
)
from outcomes.custody import CustodyNights, custody_nights
from outcomes.engines import DuckDB, Spark
from outcomes.instruments import Instrument, Item, builtin_instruments, get_instrument, load_instrument
from outcomes.rates import Frequency, Proportion
from outcomes.reoffending import ProvenReoffending, proven_reoffending
from outcomes.scoring import Scores, score
from outcomes.spec import MetricSpec, OutcomeSpec, ReoffendingSpec, SegmentSpec

__all__ = [
    "Achievement",
    "CustodyNights",
    "DuckDB",
    "Frequency",
    "Improvement",
    "Instrument",
    "Item",
    "MetricSpec",
    "OutcomeSpec",
    "Proportion",
    "ProvenReoffending",
    "ReliableChange",
    "ReoffendingSpec",
    "Rule",
    "Scores",
    "SegmentSpec",
    "Spark",
    "Sustained",
    "Threshold",
    "Transition",
    "achievement",
    "builtin_instruments",
    "custody_nights",
    "get_instrument",
    "load_instrument",
    "proven_reoffending",
    "reliable_change_index",
    "rule_from_dict",
    "score",
]
