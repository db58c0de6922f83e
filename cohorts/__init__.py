"""cohorts: who is measured. Eligibility, segments, difficulty, weights and the
synthetic world."""

from cohorts.synthetic import World, make_world

__all__ = ["World", "make_world"]
