"""Transforming Rehabilitation's size: 21 providers' quarterly cohorts settled from Parquet on DuckDB and on Spark.

The facts of the scheme used, with their sources:

- 21 Community Rehabilitation Companies (CRCs) replaced 35 probation trusts in June 2014 (Public Accounts Committee,
  "Transforming rehabilitation: progress review", HC 1747, 2019);
- their payment by results was on **quarterly cohorts**, on a **binary and a frequency measure with a binary
  "hurdle"** (Justice Committee, HC 1004, 2014, chapter 3): the binary rate (the share who reoffend) adjusted for
  case mix with OGRS 4/G3 before it is compared with the 2011 baseline, and the frequency rate (reoffences per
  reoffender), after a year's follow-up and six months' wait (Ministry of Justice, final proven reoffending
  statistics for CRCs, 2017-2022);
- the first year's cohorts held about 108,000 people, 45.4% of whom reoffended, 4.7 reoffences per reoffender
  (getthedata.co.uk and russellwebster.com on the MoJ bulletin of 27 October 2017).

The world: 21 providers x 4 quarterly cohorts (October 2015 to September 2016, the scheme's first four tranches) x
``--per-cohort`` people (12,500: 1,050,000 people, about ten times TR's first year, the size the issue asks for),
each with a provider, a start date in the quarter and an OGRS-like predicted rate, and their offences: a person
reoffends with their predicted rate less 2 points (the first cohort's 45.6% against 47.5%), then commits
1 + Poisson(3.7) offences (4.7 per reoffender) in the year after the start, most proven by conviction or caution
within months; Poisson(0.3) more a person fall before the start or after the year. Written as Parquet (dates as
dates). The contract is desist's
Transforming Rehabilitation scheme (``pricing/schemes/transforming_rehabilitation.toml``: all 21 CRCs together,
the binary rule against the 2011 baseline of 47.5% adjusted for case mix, the frequency rule against 4.2 reoffences
per reoffender behind the binary hurdle; as in TR, only the binary baseline is adjusted for case mix), settled as
of 2018-07-31, when the fourth cohort's final results are due.

Each engine settles in a fresh process (``pricing.settle(..., engine=...)``: people read and checked in pandas,
the offences read, checked and counted by the engine). Printed per engine: the whole process's wall seconds
(imports, reading, checking, settling, the ledger's SHA-256), the settlement alone, the CPU seconds of the process
and its children (DuckDB's threads; Spark's JVM), the peak resident memory of the process tree
(:func:`measure.run_child`), and whether the ledger (its SHA-256), every tranche's figures and the exclusions are
identical to the first engine's.

Usage::

    python bench/transforming.py                          # 12,500 a cohort, DuckDB then Spark
    python bench/transforming.py --per-cohort 1250 --engine duckdb --engine pandas
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import machine, run_child, spark_session, tree_cpu  # noqa: E402  (bench/measure.py)

PROVIDERS = 21
QUARTERS = ("2015-10-01", "2016-01-01", "2016-04-01", "2016-07-01", "2016-10-01")
AS_OF = "2018-07-31"
SEED = 2015


def write_world(per_cohort: int, folder: Path) -> dict[str, int]:
    """people.parquet and offences.parquet: 21 providers x 4 quarterly cohorts x ``per_cohort`` people."""
    rng = np.random.default_rng(SEED)
    n = PROVIDERS * 4 * per_cohort
    provider = np.repeat(np.arange(PROVIDERS), 4 * per_cohort)
    quarter = np.tile(np.repeat(np.arange(4), per_cohort), PROVIDERS)
    bounds = np.array(QUARTERS, dtype="datetime64[D]")
    start = bounds[quarter] + (rng.random(n) * (bounds[quarter + 1] - bounds[quarter]).astype(int)).astype(int)
    # OGRS-like predictions around the 2011 baseline's 47.5%, a little better on average in later quarters
    risk = np.clip(rng.beta(4.5, 5.0, n) - 0.01 * quarter, 0.02, 0.98)
    people = pa.table({
        "person_id": pa.array(np.char.add("P", np.char.zfill(np.arange(n).astype(str), 8))),
        "crc": pa.array(np.char.add("CRC", np.char.zfill((provider + 1).astype(str), 2))).dictionary_encode(),
        "start_date": pa.array(start),
        "ogrs4_predicted": pa.array(risk),
    })  # fmt: skip
    # a reoffender's offences fall in the year after the start, proven within months; a few offences fall outside
    # it (before the start, after the year, proven too late) and some people offend only outside it
    reoffends = rng.random(n) < risk - 0.02
    events = np.where(reoffends, 1 + rng.poisson(3.7, n), 0)
    outside = rng.poisson(0.3, n)
    who = np.concatenate([np.repeat(np.arange(n), events), np.repeat(np.arange(n), outside)])
    inside = np.arange(who.size) < events.sum()
    before_or_after = np.where(
        rng.random(who.size) < 0.5, rng.integers(-200, 1, who.size), rng.integers(366, 700, who.size)
    )
    offence = start[who] + np.where(inside, rng.integers(1, 366, who.size), before_or_after)
    disposal = offence + rng.integers(0, 182, who.size)
    kinds = np.array(["conviction", "caution", "acquittal", "no_further_action"])
    offences = pa.table({
        "person_id": people["person_id"].take(pa.array(who)),
        "offence_date": pa.array(offence),
        "disposal_date": pa.array(disposal),
        "disposal": pa.array(kinds[rng.choice(4, who.size, p=[0.72, 0.16, 0.07, 0.05])]),
    })  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(people, folder / "people.parquet")
    pq.write_table(offences, folder / "offences.parquet")
    return {"people": n, "offences": offences.num_rows}


def settle_here(folder: Path, engine: str) -> dict:
    """One settlement in this process (the child): its seconds, CPU and figures."""
    started, cpu = time.perf_counter(), time.process_time()
    import warnings

    from outcomes.engines import DuckDB, Spark
    from pricing import scheme, settle

    chosen: object = engine
    if engine == "duckdb":
        chosen = DuckDB(memory_limit="2GB")
    elif engine == "spark":
        session = spark_session("3g", 8)
        chosen = Spark(session=session)
    data = {"people": str(folder / "people.parquet"), "offences": str(folder / "offences.parquet")}
    settling = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = settle(scheme("transforming_rehabilitation"), data, as_of=AS_OF, engine=chosen)
    figures = s.figures()
    settled = time.perf_counter() - settling
    tranches = s.tranches.astype(object).where(s.tranches.notna(), None).to_dict(orient="records")
    return {
        "seconds": time.perf_counter() - started,
        "settle_seconds": settled,
        # this process's CPU (DuckDB's threads) and its children's (Spark's JVM), still running
        "cpu": time.process_time() - cpu + tree_cpu(os.getpid(), children_only=True),
        "figures": figures,
        "tranches_sha256": hashlib.sha256(json.dumps(tranches, default=str).encode()).hexdigest(),
        "exclusions": s.exclusions.to_dict(orient="records"),
        "due": [
            (r["tranche"], r["rule"], r["n_treated"], r["estimate"], r["met"], r["amount_pence"])
            for r in tranches
            if r["stage"] == "final"
        ],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-cohort", type=int, default=12_500, help="People in each provider's quarterly cohort.")
    parser.add_argument("--engine", action="append", choices=["duckdb", "spark", "pandas"])
    parser.add_argument("--dir", type=Path, default=None, help="Folder for the Parquet files (default: a new one).")
    parser.add_argument("--memory-cap", type=float, default=12.0, help="Stop a run past this many GiB.")
    parser.add_argument("--child", choices=["duckdb", "spark", "pandas"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(settle_here(args.dir, args.child)))
        return
    folder = args.dir or Path(tempfile.mkdtemp(prefix="desist-transforming-"))
    print(f"machine: {machine()}")
    started = time.perf_counter()
    sizes = write_world(args.per_cohort, folder)
    print(
        f"world: {PROVIDERS} providers x 4 quarterly cohorts x {args.per_cohort:,} = {sizes['people']:,} people, "
        f"{sizes['offences']:,} offences, written as Parquet in {time.perf_counter() - started:.1f} s ({folder})"
    )
    first: dict | None = None
    for engine in args.engine or ["duckdb", "spark"]:
        command = [sys.executable, __file__, "--child", engine, "--dir", str(folder)]
        run = run_child(command, cap_gib=args.memory_cap)
        if "stopped" in run:
            print(f"{engine}: {run['stopped']}", flush=True)
            continue
        same = "" if first is None else ("identical" if _same(run, first) else "DIFFERENT from the first engine")
        print(
            f"{engine:>7}: whole process {run['seconds']:.1f} s wall, {run['cpu']:.1f} s CPU, peak "
            f"{run['peak_gib']:.2f} GiB; settle() {run['settle_seconds']:.1f} s; total "
            f"£{run['figures']['total_pence'] / 100:,.2f}, ledger {run['figures']['ledger_sha256'][:16]} {same}",
            flush=True,
        )
        if first is None:
            first = run
            for tranche, rule, n, estimate, met, pence in run["due"]:
                print(f"{tranche:>21} {rule}: n = {n:,.0f}, reduction {estimate:.4f}, met {met}, £{pence / 100:,.2f}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


def _same(run: dict, first: dict) -> bool:
    """The same settlement: figures (the ledger's SHA-256 among them), every tranche's figures, the exclusions."""
    return all(run[k] == first[k] for k in ("figures", "tranches_sha256", "exclusions"))


if __name__ == "__main__":
    main()
