"""Coverage of the matched-comparison CIs and honesty of payment chances, at more replications.

The test suite runs 1,000 replications of one design; this runs more and
several designs, and the payment probability of the Peterborough rule at no
effect and at a real effect, each against the rule's own analytic figure.

Usage::

    python bench/coverage.py                 # 4,000 replications per design
    python bench/coverage.py --draws 10000 --seed 7
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import pandas as pd

from metrics.thresholds import peterborough_rule
from studies.payment_simulation import payment_probability, simulate_matched_effects

DESIGNS = [  # (treated, matched controls per treated, pool)
    (200, 1, 2_000),
    (500, 1, 5_000),
    (300, 3, 9_000),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draws", type=int, default=4_000, help="replications per design")
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()
    tracemalloc.start()
    rows = []
    for n, ratio, pool in DESIGNS:
        start = time.perf_counter()
        sim = simulate_matched_effects(
            0.85, "frequency", n_treated=n, ratio=ratio, pool_size=pool, draws=args.draws, seed=args.seed
        )
        seconds = time.perf_counter() - start
        table = sim.coverage()
        table.insert(0, "design", f"{n} treated, 1:{ratio}, pool {pool:,}")
        table["seconds"] = round(seconds, 1)
        rows.append(table)
    coverage = pd.concat(rows, ignore_index=True)
    pd.set_option("display.width", 200)
    print(f"Coverage of 95% CIs, true rate ratio 0.85 ({args.draws:,} replications per design)")
    print(coverage.to_string(index=False, float_format=lambda v: f"{v:.4f}"))

    print("\nPeterborough 10% rule: simulated payment frequency against the rule's own analytic chance")
    pay = []
    for true_ratio in (1.0, 0.85):
        start = time.perf_counter()
        p = payment_probability(
            true_ratio,
            peterborough_rule(),
            n_treated=200,
            ratio=1,
            pool_size=2_000,
            draws=args.draws // 2,
            seed=args.seed + 1,
        )
        pay.append(
            {
                "true_rate_ratio": true_ratio,
                "simulated": p.probability,
                "mc_se": p.mc_se,
                "analytic_mean": p.analytic,
                "analytic_sd": p.analytic_sd,
                "draws": p.draws,
                "seconds": round(time.perf_counter() - start, 1),
            }
        )
    print(pd.DataFrame(pay).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    _, peak = tracemalloc.get_traced_memory()
    print(f"\npeak traced memory {peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
