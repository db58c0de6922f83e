"""How fast ``cohorts.weights.rake`` is at national scale.

Run: python bench/weights.py [--rows 1000000] [--tol 1e-10]
Rakes a skewed sample with dependent margins (sex, age band, region,
ethnicity: 4 margins, 20 levels in all) to shares of a population and prints
rows, seconds, passes, the Kish effective sample size and peak memory (the
extra memory traced while raking, and the process's peak resident memory).
Target: 1,000,000 rows to 1e-10 in under 2 s.
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np
import pandas as pd

from cohorts.weights import rake

MARGINS = {
    "sex": {"female": 0.15, "male": 0.85},
    "age_band": {"18-20": 0.08, "21-24": 0.14, "25-29": 0.18, "30-39": 0.28, "40-49": 0.18, "50+": 0.14},
    "region": {
        "north_east": 0.06,
        "north_west": 0.16,
        "yorkshire": 0.12,
        "midlands": 0.2,
        "london": 0.2,
        "south": 0.18,
        "wales": 0.08,
    },
    "ethnicity": {"white": 0.72, "black": 0.12, "asian": 0.09, "mixed": 0.05, "other": 0.02},
}


def sample(rows: int, seed: int) -> pd.DataFrame:
    """A sample whose margins are off target and associated with each other."""
    rng = np.random.default_rng(seed)
    female = rng.random(rows) < 0.3
    # Age band depends on sex, region on age band, ethnicity on region.
    age = np.clip(rng.poisson(np.where(female, 1.2, 2.8)), 0, 5)
    region = np.clip(np.round(rng.normal(age * 1.1, 1.5)), 0, 6).astype(int)
    ethnicity = np.where(rng.random(rows) < 0.35 + 0.08 * region, 0, rng.integers(1, 5, rows))
    return pd.DataFrame(
        {
            "sex": pd.Categorical.from_codes(female.astype(int) ^ 1, list(MARGINS["sex"])),
            "age_band": pd.Categorical.from_codes(age, list(MARGINS["age_band"])),
            "region": pd.Categorical.from_codes(region, list(MARGINS["region"])),
            "ethnicity": pd.Categorical.from_codes(ethnicity, list(MARGINS["ethnicity"])),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tol", type=float, default=1e-10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = sample(args.rows, args.seed)
    start = time.perf_counter()
    result = rake(data, MARGINS, total=5_000_000, tol=args.tol)
    seconds = time.perf_counter() - start
    # A second, traced run for memory: tracing slows allocation, so it is not timed.
    tracemalloc.start()
    rake(data, MARGINS, total=5_000_000, tol=args.tol)
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    levels = sum(len(v) for v in MARGINS.values())
    print(
        f"rake: {args.rows:,} rows, {len(MARGINS)} margins, {levels} levels, tol={args.tol:g}: "
        f"{seconds:.2f} s, {result.iterations} passes, ESS {result.ess:,.0f}, "
        f"max weight {result.max_weight:.3g}; peak memory while raking {traced / 2**20:,.0f} MiB "
        f"(traced), process peak resident {peak:,.0f} MiB"
    )


if __name__ == "__main__":
    main()
