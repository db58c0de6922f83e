"""How long a contract simulation takes and how much memory it needs.

Target: 10,000 draws x 2,000 people x 36 months under 5 s and 2 GiB.
Three paid outcomes (settled accommodation and family ties paid within months
3-9, no proven reoffending at month 18), a service fee with 70% up front and
10% at risk against a target, a cap, and a prime passing 85% down to two
subcontractors who bear the delivery costs.

Run: python bench/contract_simulation.py [--draws 10000] [--people 2000] [--months 36]
Prints the problem size, wall-clock and CPU seconds (the CPU figure is steadier on a
shared machine) and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

# Run as a script, this file's folder comes first on sys.path and its name would
# hide the ``pricing`` package; drop the folder so the import finds the package.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from pricing import PaymentStructure, Target, Tariff, simulate_contract  # noqa: E402


def make_cohort(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "segment": rng.choice(["low risk", "medium risk", "high risk"], n, p=[0.4, 0.35, 0.25]),
            "p_settled": rng.uniform(0.2, 0.8, n),
            "p_family": rng.uniform(0.2, 0.7, n),
            "p_no_reoffence": rng.uniform(0.3, 0.85, n),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--people", type=int, default=2_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cohort = make_cohort(args.people, args.seed)
    tariff = Tariff.from_dict(
        {
            "settled": 400.0,
            "family": 250.0,
            "no_reoffence": {"low risk": 700.0, "medium risk": 1_100.0, "high risk": 1_800.0},
        }
    )
    structure = PaymentStructure(
        name="bench",
        service_fee=1_000.0 * args.people,
        up_front_share=0.7,
        at_risk_share=0.1,
        target=Target("no_reoffence", 0.57),
        cap=2_500.0 * args.people,
        management_fee=0.15,
        subcontractors={"charity_a": 0.6, "charity_b": 0.4},
    )
    costs = {"low risk": 1_200.0, "medium risk": 1_500.0, "high risk": 2_100.0}
    timing = {"settled": (3, 9), "family": (3, 9), "no_reoffence": 18}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start, cpu_start = time.perf_counter(), time.process_time()
    sim = simulate_contract(
        None,
        cohort,
        tariff,
        structure,
        months=args.months,
        draws=args.draws,
        seed=args.seed,
        costs=costs,
        timing=timing,
    )
    table = sim.party_table()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(table[["net_mean", "p_loss", "peak_working_capital_q95"]].round(3).to_string())
    print(
        f"simulate_contract: {args.draws:,} draws x {args.people:,} people x {args.months} months "
        f"({args.draws * args.people * args.months:,} person-months, 3 outcomes): {seconds:.2f} s "
        f"({cpu:.2f} s CPU), "
        f"peak resident memory {peak:,.0f} MiB (interpreter and imports before: {before:,.0f} MiB)"
    )


if __name__ == "__main__":
    main()
