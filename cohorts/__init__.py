"""cohorts: who is measured. Eligibility, segments, difficulty, weights and the
synthetic world."""

from cohorts.difficulty import DifficultyModel, auc_delong, fit_difficulty, hosmer_lemeshow
from cohorts.segments import Segment, SegmentAssignment, assign, default_segments, segments_from_toml
from cohorts.synthetic import World, make_world
from cohorts.weights import (
    WeightingResult,
    design_effect,
    kish_ess,
    margins_from_toml,
    odds_weights,
    post_stratify,
    rake,
    trim,
)

__all__ = [
    "DifficultyModel",
    "Segment",
    "SegmentAssignment",
    "WeightingResult",
    "World",
    "assign",
    "auc_delong",
    "default_segments",
    "design_effect",
    "fit_difficulty",
    "hosmer_lemeshow",
    "kish_ess",
    "make_world",
    "margins_from_toml",
    "odds_weights",
    "post_stratify",
    "rake",
    "segments_from_toml",
    "trim",
]
