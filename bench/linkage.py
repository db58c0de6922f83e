"""Linkage without a shared ID at national size: 10,000 people linked to a table of 1,000,000.

Generates a Justice Data Lab style request with ``cohorts.synthetic.make_linkage_data`` (a cohort CSV with
names mistyped, day and month swapped, a quarter of the PNC numbers missing, twins; the people table as
Parquet), then runs ``cohorts.linkage.link`` on the files in a fresh process and prints its seconds, the
peak resident memory of that process and its children (a Spark JVM included, sampled from /proc every
0.1 s), and the precision and recall of the links against the truth, with the machine's cores and memory.

Usage::

    python bench/linkage.py                                  # 10,000 x 1,000,000 on DuckDB
    python bench/linkage.py --engine duckdb --engine spark --people 100000 --cohort 1000
    python bench/linkage.py --sample-pairs 1000000           # fewer pairs for the u probabilities
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from measure import machine, run_child  # bench/measure.py


def generate(folder: Path, n_people: int, n_cohort: int, seed: int) -> float:
    """cohort.csv, people.parquet and truth.csv in ``folder``; returns the seconds it took."""
    from cohorts.synthetic import make_linkage_data

    started = time.perf_counter()
    data = make_linkage_data(seed=seed, n_people=n_people, n_cohort=n_cohort)
    folder.mkdir(parents=True, exist_ok=True)
    data.cohort.to_csv(folder / "cohort.csv", index=False)
    data.people.to_parquet(folder / "people.parquet", index=False)
    data.truth.to_frame().to_csv(folder / "truth.csv", index=False)
    return time.perf_counter() - started


def one(folder: Path, engine: str, sample_pairs: int, memory_limit: str | None) -> dict:
    """One timed linkage of the files, in this process (called by :func:`measure` in a child process)."""
    import pandas as pd

    from cohorts.linkage import link
    from outcomes.engines import DuckDB, Spark

    # Spark: the local session desist makes itself (desist link --engine spark), on every core.
    chosen = Spark(master="local[*]") if engine == "spark" else DuckDB(memory_limit=memory_limit)
    started = time.perf_counter()
    result = link(
        folder / "cohort.csv", folder / "people.parquet", outcome="reoffended", engine=chosen, sample_pairs=sample_pairs
    )
    seconds = time.perf_counter() - started
    truth = pd.read_csv(folder / "truth.csv", dtype=str)["person_id"].fillna("").to_numpy(dtype=object)
    found = result.links["person_id"].fillna("").to_numpy(dtype=object)
    linked = result.links["linked"].to_numpy()
    right = linked & (found == truth)
    row = result.chosen
    return {
        "seconds": seconds,
        "cohort": len(result.links),
        "people": result.n_people,
        "pairs": result.pairs,
        "linked": int(linked.sum()),
        "precision": float(right.sum() / linked.sum()),
        "recall": float(right.sum() / (truth != "").sum()),
        "false_matches": int(linked.sum() - right.sum()),
        "missed_matches": int((truth != "").sum() - right.sum()),
        "expected_false": float(row["expected_false_matches"]),
        "expected_missed": float(row["expected_missed_matches"]),
        "rate": float(row["rate"]),
        "bound": [float(row["bound_low"]), float(row["bound_high"])],
    }


def measure(folder: Path, engine: str, sample_pairs: int, memory_limit: str | None) -> dict:
    """Run :func:`one` in a child process; its figures and peak resident memory (with its children)."""
    command = [sys.executable, __file__, "_one", "--dir", str(folder), "--engine", engine]
    command += ["--sample-pairs", str(sample_pairs)] + (["--memory-limit", memory_limit] if memory_limit else [])
    figures = run_child(command, every=0.1)
    if "stopped" in figures:
        raise SystemExit(f"{engine} {figures['stopped']}")
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", nargs="?", default="run", choices=["run", "_one"])
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--cohort", type=int, default=10_000)
    parser.add_argument("--engine", action="append", choices=["duckdb", "spark"])
    parser.add_argument("--sample-pairs", type=int, default=10_000_000)
    parser.add_argument("--memory-limit", default=None)
    parser.add_argument("--seed", type=int, default=27)
    args = parser.parse_args(argv)
    if args.action == "_one":
        print(json.dumps(one(args.dir, args.engine[0], args.sample_pairs, args.memory_limit)))
        return
    folder = args.dir or Path(tempfile.gettempdir()) / f"desist-linkage-{args.cohort}x{args.people}-{args.seed}"
    print(f"Machine: {machine()}")
    if not (folder / "truth.csv").exists():
        print(f"generated {folder} in {generate(folder, args.people, args.cohort, args.seed):.1f} s", flush=True)
    print(f"u probabilities from {args.sample_pairs:,} random pairs; threshold 0.9")
    print(f"{'engine':>7} {'cohort':>8} {'people':>11} {'pairs':>10} {'seconds':>8} {'peak GiB':>8} {'linked':>7} "
          f"{'precision':>9} {'recall':>7}  errors (false, missed: true and expected)")  # fmt: skip
    for engine in args.engine or ["duckdb"]:
        f = measure(folder, engine, args.sample_pairs, args.memory_limit)
        print(
            f"{engine:>7} {f['cohort']:>8,} {f['people']:>11,} {f['pairs']:>10,} {f['seconds']:>8.1f} "
            f"{f['peak_gib']:>8.2f} {f['linked']:>7,} {f['precision']:>9.4f} {f['recall']:>7.4f}  "
            f"false {f['false_matches']} (expected {f['expected_false']:.1f}), missed {f['missed_matches']} "
            f"(expected {f['expected_missed']:.1f}); rate {f['rate']:.1%}, bound {f['bound'][0]:.1%} to "
            f"{f['bound'][1]:.1%}",
            flush=True,
        )


if __name__ == "__main__":
    main()
