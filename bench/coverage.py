"""Coverage of the matched comparison's 95% CIs, by design, outcome and standard error.

Runs :func:`studies.payment_simulation.coverage_study`: each replication draws 200
treated units and 2,000 controls (covariates x1-x3 normal, shifted for the treated;
x4 binary), fits the propensity model and matches four ways (1:1 without replacement
and 1:3 with replacement, each with and without a 0.2 SD caliper on the logit); each
of four outcomes (continuous homoskedastic, heteroskedastic, with a heterogeneous
effect, and binary) gets every standard error that fits the design. A CI covers when
it contains the population effect on the treated. (The payment chances of the
Peterborough rule are simulated by ``studies.payment_simulation.payment_probability``.)

    python bench/coverage.py                  # 2,000 replications per design (about 15 minutes)
    python bench/coverage.py --draws 200      # a quick look
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd

from studies.payment_simulation import COVERAGE_OUTCOMES, coverage_study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draws", type=int, default=2_000, help="replications per design")
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # near-separation warnings are counted in the study, not printed
        study = coverage_study(draws=args.draws, seed=args.seed)
    seconds = time.perf_counter() - start
    pd.set_option("display.width", 220)
    print(f"Coverage of 95% CIs ({args.draws:,} replications per design; {seconds:,.0f} s)")
    for name, (kind, words) in COVERAGE_OUTCOMES.items():
        print(f"  {name} ({kind}): {words}")
    print()
    print(study.summary())
    table = study.table
    defaults = table[table["default"]]
    print(
        f"\nDefault standard errors: coverage {defaults['coverage'].min():.4f} to {defaults['coverage'].max():.4f} "
        f"(target 0.93 to 0.97; Monte Carlo SE about {defaults['mc_se'].max():.4f})"
    )


if __name__ == "__main__":
    main()
