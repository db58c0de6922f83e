"""Proven reoffending on national-size event tables: pandas, DuckDB and Spark.

Generates a people table and an offence-event table as Parquet files (in
chunks, so generating never holds the whole table), then times
``proven_reoffending`` on each engine in a fresh process and prints seconds and
the peak resident memory of that process and its children (the Spark JVM
included), sampled from /proc every 0.1 s.

Usage::

    python bench/events.py generate --people 1000000 --events 10000000 --dir /tmp/events-1m
    python bench/events.py run --dir /tmp/events-1m --engine pandas --engine duckdb --engine spark
    python bench/events.py run --dir /tmp/events-10m --engine duckdb --memory-limit 4GB

The issue's table (1M x 10M on pandas, DuckDB and Spark local; 10M x 100M on
DuckDB with a 4 GiB memory limit) is ``python bench/events.py all``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

AS_OF = "2025-12-31"
CHUNK = 5_000_000
DISPOSALS = np.array(["conviction", "caution", "acquittal", "no_further_action", "other"])
DISPOSAL_SHARES = [0.55, 0.2, 0.1, 0.1, 0.05]


def person_ids(numbers: np.ndarray) -> pa.Array:
    return pa.array(np.char.add("P", np.char.zfill(numbers.astype(str), 9)))


def generate(n_people: int, n_events: int, folder: Path, seed: int = 19) -> None:
    """people.parquet (person_id, start_date, age) and offences.parquet (person_id, offence_date,
    disposal_date, disposal): 1% of offences belong to people outside the cohort."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    start = np.datetime64("2015-01-01") + rng.integers(0, 9 * 365, n_people).astype("timedelta64[D]")
    people = pa.table(
        {
            "person_id": person_ids(np.arange(n_people)),
            "start_date": pa.array(start.astype("datetime64[ms]")),
            "age": pa.array(rng.integers(18, 70, n_people)),
        }
    )
    pq.write_table(people, folder / "people.parquet")
    del people, start
    schema = pa.schema(
        [
            ("person_id", pa.string()),
            ("offence_date", pa.timestamp("ms")),
            ("disposal_date", pa.timestamp("ms")),
            ("disposal", pa.string()),
        ]
    )
    with pq.ParquetWriter(folder / "offences.parquet", schema) as writer:
        for first in range(0, n_events, CHUNK):
            n = min(CHUNK, n_events - first)
            # Offences concentrate on a third of people (most people in a cohort never reoffend).
            who = rng.integers(0, max(n_people // 3, 1), n) * 3 + rng.integers(0, 3, n) * (rng.random(n) < 0.2)
            who = np.where(rng.random(n) < 0.01, n_people + who, who)
            offence = np.datetime64("2013-01-01") + rng.integers(0, 12 * 365, n).astype("timedelta64[D]")
            disposal = offence + rng.integers(0, 300, n).astype("timedelta64[D]")
            disposal = np.minimum(disposal, np.datetime64(AS_OF))
            chunk = {
                "person_id": person_ids(who),
                "offence_date": pa.array(offence.astype("datetime64[ms]")),
                "disposal_date": pa.array(disposal.astype("datetime64[ms]")),
                "disposal": pa.array(DISPOSALS[rng.choice(len(DISPOSALS), n, p=DISPOSAL_SHARES)]),
            }
            writer.write_table(pa.table(chunk, schema=schema))


def one(folder: Path, engine: str, memory_limit: str | None, temp: str | None) -> dict:
    """One timed run, in this process (called by :func:`measure` in a child process)."""
    import warnings

    from outcomes import proven_reoffending
    from outcomes.engines import DuckDB, Spark

    if engine == "duckdb":
        chosen = DuckDB(memory_limit=memory_limit, temp_directory=temp)
    elif engine == "spark":
        from pyspark.sql import SparkSession

        session = (
            SparkSession.builder.master("local[*]")
            .config("spark.driver.memory", "6g")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "16")
            .config("spark.local.dir", temp or tempfile.gettempdir())
            .getOrCreate()
        )
        chosen = Spark(session=session)
    else:
        chosen = "pandas"
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = proven_reoffending(folder / "people.parquet", folder / "offences.parquet", as_of=AS_OF, engine=chosen)
    seconds = time.perf_counter() - started
    rate = result.rate()
    return {
        "seconds": seconds,
        "people": result.counts["all"],
        "events": result.links.n,
        "reoffended": rate.k,
        "observable": rate.n,
        "offences_linked": result.links.matched,
    }


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total


def measure(folder: Path, engine: str, memory_limit: str | None, temp: str | None) -> dict:
    """Run :func:`one` in a child process; its seconds, result and peak RSS (with its children)."""
    command = [sys.executable, __file__, "_one", "--dir", str(folder), "--engine", engine]
    command += ["--memory-limit", memory_limit] if memory_limit else []
    command += ["--temp", temp] if temp else []
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    peak = 0
    while child.poll() is None:
        peak = max(peak, tree_rss(child.pid))
        time.sleep(0.1)
    out = child.stdout.read()
    if child.returncode:
        raise SystemExit(f"{engine} failed (exit {child.returncode})")
    return {**json.loads(out.strip().splitlines()[-1]), "peak_rss_gib": peak / 2**30}


def print_row(folder: Path, engine: str, memory_limit: str | None, figures: dict) -> None:
    print(
        f"{folder.name:>14} {engine:>7} {memory_limit or '-':>6} {figures['people']:>11,} {figures['events']:>12,} "
        f"{figures['seconds']:>8.1f} {figures['peak_rss_gib']:>8.2f}  "
        f"{figures['reoffended']:,}/{figures['observable']:,} reoffended",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["generate", "run", "all", "_one"])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "desist-events")
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--engine", action="append", choices=["pandas", "duckdb", "spark"])
    parser.add_argument("--memory-limit", default=None)
    parser.add_argument("--temp", default=None, help="Folder for DuckDB's and Spark's spill files.")
    args = parser.parse_args(argv)
    if args.action == "_one":
        print(json.dumps(one(args.dir, args.engine[0], args.memory_limit, args.temp)))
        return
    if args.action == "generate":
        started = time.perf_counter()
        generate(args.people, args.events, args.dir)
        size = sum(f.stat().st_size for f in args.dir.glob("*.parquet")) / 2**30
        print(f"wrote {args.dir} ({size:.2f} GiB) in {time.perf_counter() - started:.0f} s")
        return
    runs = [(args.dir, engine, args.memory_limit) for engine in args.engine or ["pandas", "duckdb"]]
    if args.action == "all":
        small, large = args.dir / "1m-x-10m", args.dir / "10m-x-100m"
        for folder, n_people, n_events in ((small, 1_000_000, 10_000_000), (large, 10_000_000, 100_000_000)):
            if not (folder / "offences.parquet").exists():
                generate(n_people, n_events, folder)
        runs = [(small, "pandas", None), (small, "duckdb", None), (small, "spark", None), (large, "duckdb", "4GB")]
    print(f"{'data':>14} {'engine':>7} {'limit':>6} {'people':>11} {'events':>12} {'seconds':>8} {'peak GiB':>8}")
    for folder, engine, limit in runs:
        print_row(folder, engine, limit, measure(folder, engine, limit, args.temp))


if __name__ == "__main__":
    main()
