"""Benchmark: matched comparison at national scale, from Parquet.

A synthetic pool with 10 covariates (6 continuous, 4 binary): 10,000 treated
against 1,000,000 controls (``--big``: 100,000 against 10,000,000). Times each
phase of the whole job (read, propensity fit, 1:1 nearest-neighbour matching
without replacement with a 0.2 SD caliper on the logit, balance table before
and after, ATT with its CI), then 1:3 matching with replacement, and prints the
total and the peak memory: the process peak RSS from ``getrusage`` (the data
are generated in a child process, so that peak is the job's own, interpreter
and libraries included) and the tracemalloc peak from a second, traced run (numpy
arrays and Python objects allocated during the job; Arrow's buffers are not
traced).

    python bench/matching.py [--big] [--treated N --controls N] [--path FILE]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

CONTINUOUS = ["age", "age_first_conviction", "prior_offences", "ogrs_score", "months_custody", "years_since_first"]
BINARY = ["female", "need_accommodation", "need_substance", "need_employment"]
TRUE_EFFECT = -0.05  # on the reoffending probability of the treated


def make_pool(n_treated: int, n_controls: int, seed: int = 1) -> pd.DataFrame:
    """Synthetic pool: treated units are younger, with more needs and higher risk."""
    rng = np.random.default_rng(seed)
    n = n_treated + n_controls
    treated = np.zeros(n, dtype=np.int8)
    treated[:n_treated] = 1
    rng.shuffle(treated)
    shift = treated.astype(float)
    age = rng.normal(34 - 3 * shift, 9)
    df = pd.DataFrame(
        {
            "treated": treated,
            "age": age,
            "age_first_conviction": np.maximum(10, age - rng.gamma(3, 4, n)),
            "prior_offences": rng.poisson(4 + 2 * shift).astype(float),
            "ogrs_score": 100 / (1 + np.exp(-rng.normal(-0.4 + 0.4 * shift, 1))),
            "months_custody": rng.exponential(6 + 2 * shift),
            "years_since_first": rng.gamma(4, 3, n),
            "female": (rng.random(n) < 0.15 + 0.05 * shift).astype(np.int8),
            "need_accommodation": (rng.random(n) < 0.3 + 0.15 * shift).astype(np.int8),
            "need_substance": (rng.random(n) < 0.35 + 0.1 * shift).astype(np.int8),
            "need_employment": (rng.random(n) < 0.5 + 0.1 * shift).astype(np.int8),
        }
    )
    risk = 1 / (
        1 + np.exp(-(-1.2 + 0.03 * (df["ogrs_score"] - 40) + 0.1 * df["prior_offences"] + 0.3 * df["need_substance"]))
    )
    df["reoffended"] = (rng.random(n) < np.clip(risk + TRUE_EFFECT * shift, 0, 1)).astype(np.int8)
    return df


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(path: Path, ratio: int, replace: bool, trace: bool = False) -> dict:
    from metrics import fit_propensity, match

    if trace:
        tracemalloc.start()
    times = {}
    t0 = time.perf_counter()
    df = pd.read_parquet(path)
    times["read parquet"] = time.perf_counter() - t0
    covariates = CONTINUOUS + BINARY

    t = time.perf_counter()
    ps = fit_propensity(df, "treated", covariates)
    df["ps_logit"] = ps.linear_predictor
    times["propensity fit"] = time.perf_counter() - t

    t = time.perf_counter()
    m = match(df, "treated", covariates, distance="ps_logit", ratio=ratio, replace=replace, caliper=0.2)
    _ = m.weight_array
    times[f"1:{ratio} nearest {'with' if replace else 'without'} replacement, 0.2 SD caliper"] = time.perf_counter() - t

    t = time.perf_counter()
    bal = m.balance()
    times["balance before and after"] = time.perf_counter() - t

    t = time.perf_counter()
    eff = m.effect("reoffended", kind="binary")
    times["ATT and CI"] = time.perf_counter() - t
    total = time.perf_counter() - t0
    traced_peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    return {
        "times": times,
        "total": total,
        "peak_mib": _peak_mib(),
        "traced_mib": traced_peak,
        "counts": m.counts,
        "max_abs_smd_after": float(bal[("after", "smd")].abs().max()),
        "effect": eff,
        "rows": len(df),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big", action="store_true", help="100,000 treated x 10,000,000 controls")
    ap.add_argument("--treated", type=int, default=None)
    ap.add_argument("--controls", type=int, default=None)
    ap.add_argument("--path", type=Path, default=None, help="Parquet file (made if absent)")
    ap.add_argument("--ratio", type=int, default=None, help="run only this ratio (internal)")
    ap.add_argument("--replace", action="store_true", help="(internal, with --ratio)")
    ap.add_argument("--trace", action="store_true", help="(internal) tracemalloc peak only")
    ap.add_argument("--generate-only", action="store_true", help="(internal)")
    args = ap.parse_args(argv)
    n_t = args.treated or (100_000 if args.big else 10_000)
    n_c = args.controls or (10_000_000 if args.big else 1_000_000)
    path = args.path or Path(tempfile.gettempdir()) / f"desist_bench_{n_t}x{n_c}.parquet"

    if args.generate_only:
        make_pool(n_t, n_c).to_parquet(path, index=False)
        return
    if args.ratio is not None and args.trace:
        r = run(path, args.ratio, args.replace, trace=True)
        print(
            f"  tracemalloc peak (numpy arrays and Python objects; separate run, as tracing "
            f"slows the job): {r['traced_mib']:,.0f} MiB"
        )
        return
    if args.ratio is not None:
        r = run(path, args.ratio, args.replace)
        print(f"rows: {r['rows']:,} ({n_t:,} treated, {n_c:,} controls)")
        for k, v in r["times"].items():
            print(f"  {k:<58s} {v:7.3f} s")
        print(f"  {'total':<58s} {r['total']:7.3f} s")
        print(f"  peak memory (process max RSS): {r['peak_mib']:,.0f} MiB")
        print("  counts:\n" + "\n".join("    " + s for s in r["counts"].to_string().splitlines()))
        print(f"  max |SMD| after matching: {r['max_abs_smd_after']:.3f}")
        print(f"  {r['effect'].statement()}")
        return
    if not path.exists():
        print(f"generating {path} ...", flush=True)
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--generate-only",
                "--treated",
                str(n_t),
                "--controls",
                str(n_c),
                "--path",
                str(path),
            ],
            check=True,
        )
    # each job in a fresh process, so each peak-memory figure is that job's own
    for ratio, replace in ((1, False), (3, True)):
        print(f"\n== 1:{ratio} {'with' if replace else 'without'} replacement ==", flush=True)
        cmd = [
            sys.executable,
            __file__,
            "--ratio",
            str(ratio),
            "--treated",
            str(n_t),
            "--controls",
            str(n_c),
            "--path",
            str(path),
        ] + (["--replace"] if replace else [])
        subprocess.run(cmd, check=True)
        subprocess.run(cmd + ["--trace"], check=True)


if __name__ == "__main__":
    main()
