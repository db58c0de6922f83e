"""Benchmark: a matched comparison at national scale, from Parquet, against its physical floor.

A synthetic pool with 10 covariates (6 continuous, 4 binary) and a binary outcome:
10,000 treated against 1,000,000 controls, and (``--big``) against 10,000,000.
The job, each run in a fresh process: read the Parquet file, fit the propensity
model, 1:1 nearest-neighbour matching without replacement with a 0.2 SD caliper on
the logit, the balance table before and after, and the ATT with its CI.

The floor is measured in the same run, the same way (a fresh process): Python
start-up with numpy and pyarrow, the Parquet read, three passes of a logistic
Newton step over the design (X'WX), one argsort of the score, and one sort per
continuous covariate (what the eCDF statistics need). Both are timed as whole
processes (wall clock, median of 3), and desist's in-process time (after its
imports) at 1M and 10M controls gives the growth slope: log(t_10M / t_1M) / log 10.

Goals (issue 16): whole process within 2x the floor at 10k x 1M; in-process slope at
most 1.05 from 1M to 10M; peak memory at 10k x 10M under 3 GB.

    python bench/matching.py            # 10k x 1M (about a minute)
    python bench/matching.py --big      # also 10k x 10M and the slope (a few minutes; 8 GB of disk-free memory)
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONTINUOUS = ["age", "age_first_conviction", "prior_offences", "ogrs_score", "months_custody", "years_since_first"]
BINARY = ["female", "need_accommodation", "need_substance", "need_employment"]
TRUE_EFFECT = -0.05  # on the reoffending probability of the treated


def make_pool(n_treated: int, n_controls: int, seed: int = 1):
    """Synthetic pool: treated units are younger, with more needs and higher risk."""
    import numpy as np
    import pandas as pd

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
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def job(path: Path) -> dict:
    """The matched comparison, timed by phase (run in a fresh process)."""
    start = time.perf_counter()
    import pandas as pd
    import pyarrow as pa

    from metrics import match

    imported = time.perf_counter()
    times = {"imports": imported - start}
    df = pd.read_parquet(path)
    # Arrow keeps its freed buffers for reuse; the table is in pandas now, so hand them back.
    pa.default_memory_pool().release_unused()
    times["read parquet"] = time.perf_counter() - imported
    t = time.perf_counter()
    m = match(df, "treated", CONTINUOUS + BINARY, caliper=0.2, link="linear_logit")
    _ = m.weight_array
    times["propensity fit and 1:1 matching, 0.2 SD caliper"] = time.perf_counter() - t
    t = time.perf_counter()
    balance = m.balance()
    times["balance before and after"] = time.perf_counter() - t
    t = time.perf_counter()
    effect = m.effect("reoffended", kind="binary")
    times["ATT and CI"] = time.perf_counter() - t
    return {
        "times": times,
        "in_process": time.perf_counter() - imported,
        "peak_mib": _peak_mib(),
        "rows": len(df),
        "matched": int(m.counts.loc["matched", "treated"]),
        "max_abs_smd_after": float(balance[("after", "smd")].abs().max()),
        "statement": effect.statement(),
    }


def floor(path: Path) -> dict:
    """The physical floor of the same job (run in a fresh process)."""
    start = time.perf_counter()
    import numpy as np
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    cols = {name: table.column(name).to_numpy() for name in ["treated", *CONTINUOUS, *BINARY]}
    X = np.column_stack([np.ones(len(cols["treated"]))] + [cols[c].astype(float) for c in CONTINUOUS + BINARY])
    y = cols["treated"].astype(float)
    beta = np.zeros(X.shape[1])
    for _ in range(3):
        p = 1 / (1 + np.exp(-(X @ beta)))
        beta += np.linalg.solve((X.T * (p * (1 - p))) @ X, X.T @ (y - p))
    np.argsort(X @ beta)
    for c in CONTINUOUS:
        np.sort(cols[c])
    return {"seconds": time.perf_counter() - start, "peak_mib": _peak_mib()}


def fit_timings(path: Path, repeats: int) -> list[dict]:
    """The propensity fit's fast path against statsmodels' ``Logit.fit`` (Newton, its defaults),
    in process, median of ``repeats``: the issue's rare-treatment data and the bench pool."""
    import warnings

    import numpy as np
    import pandas as pd
    import statsmodels.api as sm

    from metrics.propensity import design_matrix, fit_propensity

    rng = np.random.default_rng(0)
    n = 16_000
    age = rng.normal(35, 10, n).clip(18, 80)
    income = rng.lognormal(np.log(30_000) - 0.32, 0.8, n)
    logit = -4.6 - 0.06 * (age - 35) + 0.0008 * (age - 35) ** 2 + 0.4 * np.log(income / 30_000)
    rare = pd.DataFrame({"age": age, "age2": age**2, "income": income, "income2": income**2})
    rare["t"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    pool = pd.read_parquet(path)
    rows = []
    for name, df, treat, covs in (
        ("rare treatment (16,000 rows, 1% treated)", rare, "t", ["age", "age2", "income", "income2"]),
        (f"bench pool ({len(pool):,} rows)", pool, "treated", CONTINUOUS + BINARY),
    ):
        X, _, _ = design_matrix(df, covs)
        y = df[treat].to_numpy(float)
        ours, theirs = [], []
        for _ in range(repeats):
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = fit_propensity(df, treat, covs)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = sm.Logit(y, X).fit(disp=0)
            theirs.append(time.perf_counter() - t)
        gap = float(np.max(np.abs(fit.coefficients / np.asarray(ref.params) - 1)))
        rows.append({"data": name, "desist": statistics.median(ours), "statsmodels": statistics.median(theirs),
                     "converged": bool(ref.mle_retvals["converged"]), "max_rel_gap": gap})  # fmt: skip
    return rows


def _child(mode: str, path: Path) -> tuple[float, dict]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, f"--{mode}", "--path", str(path)], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if out.returncode:
        raise RuntimeError(out.stderr)
    return wall, json.loads(out.stdout.strip().splitlines()[-1])


def _dataset(n_t: int, n_c: int) -> Path:
    path = Path(tempfile.gettempdir()) / f"desist_bench_{n_t}x{n_c}.parquet"
    if not path.exists():
        print(f"generating {path} ...", flush=True)
        make_pool(n_t, n_c).to_parquet(path, index=False)
    return path


def measure(n_t: int, n_c: int, repeats: int) -> dict:
    path = _dataset(n_t, n_c)
    jobs = [_child("job", path) for _ in range(repeats)]
    floors = [_child("floor", path) for _ in range(repeats)]
    middle = sorted(jobs, key=lambda r: r[0])[len(jobs) // 2]
    return {
        "n_t": n_t,
        "n_c": n_c,
        "job_wall": statistics.median(w for w, _ in jobs),
        "floor_wall": statistics.median(w for w, _ in floors),
        "in_process": statistics.median(r["in_process"] for _, r in jobs),
        "job": middle[1],
        "floor_peak": max(r["peak_mib"] for _, r in floors),
    }


def report(r: dict) -> None:
    print(f"\n== {r['n_t']:,} treated x {r['n_c']:,} controls ({r['job']['rows']:,} rows) ==")
    for k, v in r["job"]["times"].items():
        print(f"  {k:<52s} {v:7.3f} s")
    print(f"  {'desist in-process (after imports)':<52s} {r['in_process']:7.3f} s")
    print(f"  {'desist whole process (wall, median of 3)':<52s} {r['job_wall']:7.3f} s")
    print(f"  {'floor whole process (wall, median of 3)':<52s} {r['floor_wall']:7.3f} s")
    print(f"  {'ratio to the floor':<52s} {r['job_wall'] / r['floor_wall']:7.2f}x")
    print(f"  peak memory (max RSS): desist {r['job']['peak_mib']:,.0f} MiB, floor {r['floor_peak']:,.0f} MiB")
    print(f"  matched treated {r['job']['matched']:,}; max |SMD| after {r['job']['max_abs_smd_after']:.3f}")
    print(f"  {r['job']['statement']}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big", action="store_true", help="also 10,000 x 10,000,000, and the growth slope")
    ap.add_argument("--treated", type=int, default=10_000)
    ap.add_argument("--controls", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--job", action="store_true", help="(internal) run the job once and print JSON")
    ap.add_argument("--floor", action="store_true", help="(internal) run the floor once and print JSON")
    ap.add_argument("--path", type=Path, default=None, help="(internal) Parquet file")
    args = ap.parse_args(argv)
    if args.job or args.floor:
        print(json.dumps(job(args.path) if args.job else floor(args.path)))
        return
    print("Machine shared with other sessions: figures vary from run to run.")
    small = measure(args.treated, args.controls, args.repeats)
    report(small)
    print("\nPropensity fit: desist's fast path against statsmodels Logit.fit (in process, median)")
    for r in fit_timings(_dataset(args.treated, args.controls), args.repeats):
        print(
            f"  {r['data']:<42s} desist {r['desist']:6.3f} s   statsmodels {r['statsmodels']:6.3f} s "
            f"(converged: {r['converged']}; largest relative coefficient gap {r['max_rel_gap']:.1e})"
        )
    if args.big:
        big = measure(args.treated, 10 * args.controls, args.repeats)
        report(big)
        slope = math.log(big["in_process"] / small["in_process"]) / math.log(10)
        print(f"\nin-process growth from {args.controls:,} to {10 * args.controls:,} controls: slope {slope:.3f}")
        print(f"peak memory at {args.treated:,} x {10 * args.controls:,}: {big['job']['peak_mib'] / 1024:.2f} GiB")


if __name__ == "__main__":
    main()
