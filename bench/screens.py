"""Calibration of the creaming and parking screens on synthetic worlds.

Run: python bench/screens.py [--replications 500] [--null-replications 2000] [--n-eligible 2000]
     [--full-worlds 100]

Prints, for creaming = parking = s in (0, 0.25, 0.5, 0.75, 1, 1.5), the share of
worlds each screen flags at alpha = 0.05 (its power; at s = 0 its size), with
Monte Carlo SEs; the size again on more null worlds; and the same flag rates on
complete ``make_world`` worlds (slower) as a check on the fast simulation.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from cohorts.synthetic import make_world
from studies.screen_calibration import screen_flag_rates
from validation.gaming import creaming_screen, parking_screen

STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)


def full_world_rates(strength: float, n_eligible: int, worlds: int, seed: int) -> tuple[float, float]:
    """Flag rates of both screens on complete worlds with creaming = parking = ``strength``."""
    flags = np.zeros((2, worlds), dtype=bool)
    for i in range(worlds):
        w = make_world(seed=seed + i, n_eligible=n_eligible, n_pool=0, creaming=strength, parking=strength)
        eligible = w.eligible.merge(w.truth.people[["person_id", "difficulty"]], on="person_id")
        flags[0, i] = creaming_screen(eligible).flagged
        hours = w.services.groupby("person_id")["hours"].sum()
        enrolled = eligible[eligible["enrolled"]]
        flags[1, i] = parking_screen(enrolled.assign(hours=enrolled["person_id"].map(hours).fillna(0.0))).flagged
    return tuple(flags.mean(axis=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--replications", type=int, default=500)
    parser.add_argument("--null-replications", type=int, default=2000)
    parser.add_argument("--n-eligible", type=int, default=2000)
    parser.add_argument("--full-worlds", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    start = time.perf_counter()
    curve = screen_flag_rates(STRENGTHS, n_eligible=args.n_eligible, replications=args.replications, seed=args.seed)
    print(
        f"Power curve: {args.replications} worlds of {args.n_eligible:,} eligible per strength "
        f"({time.perf_counter() - start:.1f} s)"
    )
    print(curve.to_string(index=False, float_format=lambda v: f"{v:.3f}"))

    start = time.perf_counter()
    null = screen_flag_rates(
        [0.0], n_eligible=args.n_eligible, replications=args.null_replications, seed=args.seed + 1
    ).iloc[0]
    print(
        f"\nSize at alpha = 0.05 on {args.null_replications} null worlds ({time.perf_counter() - start:.1f} s): "
        f"creaming {null['creaming']:.3f} (SE {null['creaming_se']:.3f}), "
        f"parking {null['parking']:.3f} (SE {null['parking_se']:.3f})"
    )

    if args.full_worlds:
        start = time.perf_counter()
        rows = [
            (s, *full_world_rates(s, args.n_eligible, args.full_worlds, seed=1000 * (k + 1)))
            for k, s in enumerate((0.0, 0.5, 1.0))
        ]
        print(f"\nComplete make_world worlds, {args.full_worlds} per strength ({time.perf_counter() - start:.1f} s):")
        print(
            pd.DataFrame(rows, columns=["strength", "creaming", "parking"]).to_string(
                index=False, float_format=lambda v: f"{v:.3f}"
            )
        )


if __name__ == "__main__":
    main()
