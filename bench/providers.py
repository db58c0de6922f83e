"""Calibration of the provider comparison (validation.compare_providers) by simulation (issue 26).

Worlds: 12 providers of 60 to 800 people (sizes evenly spaced on the log scale); each person's
expected probability of the outcome (the case mix, known exactly) is expit(N(m_p, 0.8)), the
providers' mean log-odds m_p running from logit(0.3) to logit(0.6) in an order unrelated to size.
A provider's true shift u_p of the log-odds is 0 for all (the null world), or drawn afresh each
replication from N(0, spread^2) with spread 0.1 or 0.3. A provider's true O/E is
sum expit(logit(e_i) + u_p) / sum e_i.

Printed per world: how often a provider's 95% interval excludes 1 (shrunken, and the raw exact
Poisson one beside it) and how often a replication has any such provider; how often some rank
interval lies wholly in the top or bottom three; how often the test says providers differ; the
coverage of the true O/E by the 95% intervals and of the true ranks (by u_p) by the rank
intervals; with Monte Carlo SEs. Targets (issue 26): under the null at most 5% of intervals
exclude 1 and at most 5% of replications flag any provider; coverage 93-97% at spreads 0.1 and 0.3.

    python bench/providers.py                 # 1,000 replications per world
    python bench/providers.py --draws 100     # a quick look
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from validation.providers import compare_providers

SIZES = np.round(np.geomspace(60, 800, 12)).astype(int)
#: Mean log-odds of each provider's case mix, in an order unrelated to its size.
CASE_MIX = logit(np.linspace(0.3, 0.6, 12))[[5, 0, 9, 3, 11, 7, 1, 10, 4, 8, 2, 6]]
SPREADS = {"null (no differences)": 0.0, "spread 0.1": 0.1, "spread 0.3": 0.3}


def world(rng: np.random.Generator, spread: float) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """One replication: the people, each provider's true shift and true O/E."""
    unit = np.repeat(np.arange(12), SIZES)
    offset = CASE_MIX[unit] + 0.8 * rng.standard_normal(len(unit))
    shift = spread * rng.standard_normal(12)
    y = rng.random(len(unit)) < expit(offset + shift[unit])
    expected = expit(offset)
    truth = np.bincount(unit, weights=expit(offset + shift[unit])) / np.bincount(unit, weights=expected)
    names = np.array([f"P{k:02d}" for k in range(12)])
    return pd.DataFrame({"provider_id": names[unit], "reoffended": y, "expected": expected}), shift, truth


def replicate(rng: np.random.Generator, spread: float) -> dict:
    data, shift, truth = world(rng, spread)
    c = compare_providers(data, expected="expected")
    t = c.table.set_index("unit").loc[[f"P{k:02d}" for k in range(12)]]
    lo, hi = t["shrunken_ci_low"].to_numpy(), t["shrunken_ci_high"].to_numpy()
    excludes = (lo > 1) | (hi < 1)
    true_rank = shift.argsort().argsort() + 1
    ranks_low, ranks_high = t["rank_low"].to_numpy(), t["rank_high"].to_numpy()
    return {
        "interval_excludes_1": excludes.mean(),
        "raw_interval_excludes_1": ((t["oe_ci_low"] > 1) | (t["oe_ci_high"] < 1)).mean(),
        "any_provider_flagged": excludes.any(),
        "rank_interval_in_top_or_bottom_3": bool(((ranks_high <= 3) | (ranks_low >= 10)).any()),
        "test_says_providers_differ": c.differ,
        "coverage": ((lo <= truth) & (truth <= hi)).mean(),
        "rank_coverage": ((ranks_low <= true_rank) & (true_rank <= ranks_high)).mean(),
    }


def study(draws: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for name, spread in SPREADS.items():
        r = pd.DataFrame([replicate(rng, spread) for _ in range(draws)])
        per = {"interval_excludes_1": 12 * draws, "raw_interval_excludes_1": 12 * draws, "coverage": 12 * draws}
        per["rank_coverage"] = 12 * draws
        for measure in r.columns:
            if spread == 0 and measure == "rank_coverage":
                continue  # all true ranks are tied under the null
            value = float(r[measure].mean())
            n = per.get(measure, draws)
            rows.append({"world": name, "measure": measure, "value": value, "mc_se": np.sqrt(value * (1 - value) / n)})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draws", type=int, default=1_000, help="replications per world")
    parser.add_argument("--seed", type=int, default=20261203)
    args = parser.parse_args()
    start = time.perf_counter()
    table = study(args.draws, args.seed)
    print(
        f"Provider comparison calibration: 12 providers of {SIZES.min()}-{SIZES.max()} people, case mix known; "
        f"{args.draws:,} replications per world ({time.perf_counter() - start:,.0f} s)"
    )
    print("(Monte Carlo SE per provider-interval where the measure is per provider, else per replication)")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
