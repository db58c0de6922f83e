"""Coverage of the matched comparison's 95% CIs, by design, outcome and standard error.

Part 1 (issue 26): matching on an **estimated** propensity score. Each replication draws 200
treated units and 2,000 controls (covariates x1-x3 normal, shifted for the treated; x4
binary; the outcomes of :data:`studies.payment_simulation.COVERAGE_OUTCOMES`, of which the
continuous homoskedastic and the binary one are used), fits the logistic propensity model and
matches 1:1 without replacement (default SE: clustered on the pair) and 1:1 with replacement
(default SE: Abadie-Imbens), each with and without Abadie and Imbens' (2016) adjustment for the
estimated score, and on the true score as a reference (the true log-odds, known here because
the groups are drawn from known distributions). A CI covers when it contains the population
effect on the treated.

Part 2 (``--all``): :func:`studies.payment_simulation.coverage_study`, every design and
standard error (1:1 without replacement and 1:3 with replacement, each with and without a 0.2
SD caliper on the logit; four outcomes).

    python bench/coverage.py                  # part 1, 2,000 replications per design (a few minutes)
    python bench/coverage.py --all            # and part 2 (about 20 minutes more)
    python bench/coverage.py --draws 200      # a quick look
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from metrics import match
from studies.payment_simulation import (
    _SHIFT,
    COVERAGE_OUTCOMES,
    _coverage_sample,
    _coverage_truths,
    coverage_study,
)

COVARIATES = ["x1", "x2", "x3", "x4"]
OUTCOMES = {"continuous": "homoskedastic", "binary": "binary"}
DESIGNS = {"1:1 without replacement": {"replace": False}, "1:1 with replacement": {"replace": True}}


def true_logit(sample: pd.DataFrame) -> np.ndarray:
    """The true log-odds of being treated, up to a constant: the log density ratio of the
    treated and control covariate distributions (normal shifts, and x4's Bernoulli 0.45 vs 0.3)."""
    x = sample[["x1", "x2", "x3"]].to_numpy()
    return x @ _SHIFT + sample["x4"].to_numpy() * np.log(0.45 * 0.7 / (0.3 * 0.55))


def estimated_score_records(sample: pd.DataFrame, truths: dict) -> list[dict]:
    """One record per design, outcome and version of the standard error."""
    sample = sample.assign(true_score=true_logit(sample))
    out = []
    for design, options in DESIGNS.items():
        versions = {
            "estimated score, adjusted (default)": (match(sample, "t", COVARIATES, **options), True),
            "estimated score, not adjusted": (None, False),
            "true score": (match(sample, "t", COVARIATES, distance="true_score", **options), False),
        }
        for version, (m, adjust) in versions.items():
            m = m if m is not None else versions["estimated score, adjusted (default)"][0]
            for label, outcome in OUTCOMES.items():
                kind = COVERAGE_OUTCOMES[outcome][0]
                e = m.effect(outcome, kind, score_adjustment=adjust)
                truth = truths[outcome]
                out.append(
                    {
                        "design": design, "outcome": label, "version": version, "se_method": e.method.split("SE ")[1],
                        "estimate": e.estimate, "se": e.se, "covered": e.ci_low <= truth <= e.ci_high, "truth": truth,
                    }
                )  # fmt: skip
    return out


def estimated_score_table(draws: int, seed: int) -> pd.DataFrame:
    truths = _coverage_truths()
    rng = np.random.default_rng(seed)
    records = []
    for _ in range(draws):
        records += estimated_score_records(_coverage_sample(rng, 200, 2_000), truths)
    r = pd.DataFrame(records)
    g = r.groupby(["design", "outcome", "version"], sort=False)
    table = g.agg(
        coverage=("covered", "mean"), se_mean=("se", "mean"), sd=("estimate", "std"), replications=("covered", "size")
    ).reset_index()
    table["mc_se"] = np.sqrt(table["coverage"] * (1 - table["coverage"]) / table["replications"])
    table["se_ratio"] = table["se_mean"] / table["sd"]
    return table[["design", "outcome", "version", "coverage", "mc_se", "se_ratio", "replications"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draws", type=int, default=2_000, help="replications per design")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--all", action="store_true", help="also every design and SE of the matching study")
    args = parser.parse_args()
    pd.set_option("display.width", 220)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # near-separation warnings are not the point here
        table = estimated_score_table(args.draws, args.seed)
    print(
        f"Part 1. Matching on an estimated propensity score: coverage of 95% CIs ({args.draws:,} replications per "
        f"design; {time.perf_counter() - start:,.0f} s; target 0.93 to 0.97)"
    )
    print("  se_ratio: mean estimated SE over the SD of the estimates across replications")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if not args.all:
        return
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = coverage_study(draws=args.draws, seed=args.seed)
    seconds = time.perf_counter() - start
    print(f"\nPart 2. Coverage of 95% CIs ({args.draws:,} replications per design; {seconds:,.0f} s)")
    for name, (kind, words) in COVERAGE_OUTCOMES.items():
        print(f"  {name} ({kind}): {words}")
    print()
    print(study.summary())
    defaults = study.table[study.table["default"]]
    print(
        f"\nDefault standard errors: coverage {defaults['coverage'].min():.4f} to {defaults['coverage'].max():.4f} "
        f"(target 0.93 to 0.97; Monte Carlo SE about {defaults['mc_se'].max():.4f})"
    )


if __name__ == "__main__":
    main()
