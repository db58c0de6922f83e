"""How long ``make_world`` takes and how much memory it needs at national scale.

Run: python bench/world.py [--n-pool 1000000] [--n-eligible 5000]
Prints rows per table, seconds and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import time

from cohorts.synthetic import make_world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-pool", type=int, default=1_000_000)
    parser.add_argument("--n-eligible", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    world = make_world(seed=args.seed, n_eligible=args.n_eligible, n_pool=args.n_pool)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(world.counts().to_string(index=False))
    print(
        f"make_world(n_eligible={args.n_eligible:,}, n_pool={args.n_pool:,}): {seconds:.2f} s, "
        f"peak resident memory {peak:,.0f} MiB (interpreter and imports before: {before:,.0f} MiB)"
    )


if __name__ == "__main__":
    main()
