"""How fast the boundary checks are on national-scale tables, and how fast the command line starts.

Run: python bench/boundary.py [--rows 1000000] [--startup-runs 5]

Times, on a synthetic people table of ``--rows`` rows:

- ``validate(people, "people")``: the whole schema, lazily (every rule, every row);
- ``validate(people, "people", columns=[...])``: the columns one function reads;
- ``check_known_columns``: what ``assign``, ``fit_difficulty`` and ``equality``
  run on the columns they read (gaps allowed);
- ``check_links``: offences (3 per person) linked to the people by id;

and prints rows, seconds, rows per second and the process's peak resident
memory. Then it starts ``python -m desist.cli`` ``--startup-runs`` times for
``--help``, ``--version`` and a ``power`` calculation and prints the median
wall time of each and what ``-X importtime`` says the heaviest imports are.
Targets (issue 18): ``--help`` and ``--version`` within 0.5 s, ``power`` within 1.5 s.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ground.tables import check_known_columns, check_links, validate

ROOT = Path(__file__).resolve().parents[1]
POWER = ["power", "--measure", "binary", "--base-rate", "0.45", "--n", "500", "--ratio", "3"]


def people(rows: int, seed: int) -> pd.DataFrame:
    """People as a file gives them: ids and dates as text, categories and flags as words."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, rows), unit="D")
    return pd.DataFrame(
        {
            "person_id": [f"P{i:08d}" for i in range(rows)],
            "start_date": start.strftime("%Y-%m-%d"),
            "sex": rng.choice(["female", "male", "Female"], rows),
            "ethnicity": rng.choice(["white", "black", "asian", "mixed", "other", "unknown"], rows),
            "age": rng.integers(18, 80, rows).astype(str),
            "provider_id": rng.choice(["PRV01", "PRV02", None], rows),
            "in_programme": rng.choice(["True", "False"], rows),
            "prior_offences": rng.poisson(4, rows),
            "need_substance": rng.choice(["1", "0"], rows),
            "ogrs_score": rng.uniform(0, 100, rows).round(1),
        }
    )


def timed(label: str, rows: int, function) -> None:
    start = time.perf_counter()
    function()
    seconds = time.perf_counter() - start
    print(f"{label:<48} {rows:>12,} rows {seconds:8.2f} s {rows / seconds:>14,.0f} rows/s")


def startup(args: list[str], runs: int) -> tuple[float, list[str]]:
    """Median wall time of ``python -m desist.cli ARGS`` and its five heaviest imports (cumulative)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "desist.cli", *args], capture_output=True, check=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    trace = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "desist.cli", *args], capture_output=True, text=True, cwd=ROOT
    ).stderr
    rows = [line.split("|") for line in trace.splitlines() if line.startswith("import time:")]
    top = sorted(((int(r[1]), r[2].strip()) for r in rows if r[1].strip().isdigit()), reverse=True)
    # Only top-level packages: their cumulative time includes what they import.
    heaviest = [f"{name} {us / 1e6:.2f} s" for us, name in top if "." not in name.strip()][:5]
    return statistics.median(times), heaviest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--startup-runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    table = people(args.rows, args.seed)
    rng = np.random.default_rng(args.seed + 1)
    offences = pd.DataFrame({"person_id": table["person_id"].to_numpy()[rng.integers(0, args.rows, 3 * args.rows)]})
    timed("validate(people) whole schema", args.rows, lambda: validate(table, "people", as_of="2025-12-31"))
    read = ["sex", "age", "need_substance", "ogrs_score"]
    timed("validate(people, columns=4)", args.rows, lambda: validate(table, "people", columns=read))
    timed("check_known_columns(4 of 10 columns)", args.rows, lambda: check_known_columns(table, "people", read))
    timed(
        "check_links(offences -> people)",
        len(offences),
        lambda: check_links(offences, table, table="offences", to_table="people"),
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak resident memory {peak:,.0f} MiB")
    for label, command in (("--help", ["--help"]), ("--version", ["--version"]), ("power", POWER)):
        seconds, heaviest = startup(command, args.startup_runs)
        runs = f"over {args.startup_runs} runs"
        print(f"desist {label:<10} median {seconds:5.2f} s {runs}; heaviest: {', '.join(heaviest)}")


if __name__ == "__main__":
    main()
