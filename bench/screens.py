"""Calibration of the seven gaming screens on complete synthetic worlds.

Run: python bench/screens.py [--worlds 1000] [--n-eligible 5000] [--scenarios equal,case_mix,unequal,moderate]

For each scenario of :mod:`studies.screen_calibration` (no gaming with equal
providers; no gaming with providers that differ in case-mix, enrolment rate and
hours; no gaming with unequal provider sizes; six providers gaming one way each
at moderate strength) it builds ``--worlds`` worlds of twelve providers, runs
the creaming, parking and five measurement screens as a user would, and prints
each screen's false-alarm rate (a flag on a provider that does not game its
way; in the no-gaming scenarios, any flag) and, with gaming, its power (the
gaming provider flagged), with Monte Carlo standard errors. The old pooled
creaming test that ignores the provider is shown for comparison. Then one
Markdown table of everything, and the seconds and peak memory taken.
"""

from __future__ import annotations

import argparse
import resource
import time

import pandas as pd

from studies.screen_calibration import SCENARIOS, flag_rates


def _percent(value: float, se: float) -> str:
    return f"{100 * value:.1f}% ({100 * se:.1f})"


def markdown(results: pd.DataFrame) -> str:
    """One row per screen: false alarms in each no-gaming scenario and power at moderate gaming."""
    rows = []
    for screen, part in results.groupby("screen", sort=False):
        by = part.set_index("scenario")
        cells = [
            _percent(by.loc[s, "false_alarm"], by.loc[s, "false_alarm_se"]) for s in ("equal", "case_mix", "unequal")
        ]
        moderate = by.loc["moderate"] if "moderate" in by.index else None
        power = (
            ""
            if moderate is None or pd.isna(moderate.get("power"))
            else _percent(moderate["power"], moderate["power_se"])
        )
        alarm = "" if moderate is None else _percent(moderate["false_alarm"], moderate["false_alarm_se"])
        rows.append(f"| {screen} | " + " | ".join(cells) + f" | {alarm} | {power} |")
    head = (
        "| screen | false alarms: equal providers | case-mix gradient | unequal sizes | "
        "false alarms with gaming elsewhere | power at moderate gaming |\n|---|---|---|---|---|---|"
    )
    return head + "\n" + "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", type=int, default=1000)
    parser.add_argument("--n-eligible", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=20_250_000)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = parser.parse_args()

    frames = []
    start_all = time.perf_counter()
    for k, scenario in enumerate(args.scenarios.split(",")):
        start = time.perf_counter()

        def progress(done: int, scenario=scenario, start=start) -> None:
            if done % 100 == 0 or done == args.worlds:
                print(f"  {scenario}: {done}/{args.worlds} worlds, {time.perf_counter() - start:.0f} s", flush=True)

        rates = flag_rates(
            scenario, args.worlds, seed=args.seed + 100_000 * k, n_eligible=args.n_eligible, progress=progress
        )
        frames.append(rates)
        print(
            f"\n{scenario}: {args.worlds} worlds of {args.n_eligible:,} eligible ({time.perf_counter() - start:.0f} s)"
        )
        print(
            rates.drop(columns=["scenario", "worlds", "n_eligible"]).to_string(
                index=False, float_format=lambda v: f"{v:.3f}"
            )
        )
        print(flush=True)
    results = pd.concat(frames, ignore_index=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"All scenarios: {time.perf_counter() - start_all:.0f} s, peak memory {peak:.0f} MiB\n")
    print("False alarms and power, % (Monte Carlo SE):\n")
    print(markdown(results))


if __name__ == "__main__":
    main()
