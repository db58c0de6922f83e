"""Proven reoffending on national-size event tables: pandas, DuckDB and Spark.

Generates a people table and an offence-event table as Parquet files (in
chunks, so generating never holds the whole table), then times
``proven_reoffending`` on each engine in a fresh process and prints seconds and
the peak resident memory of that process and its children (the Spark JVM
included), sampled from /proc every 0.1 s. The engine ``measure`` is the command
``desist measure --engine duckdb --json`` (the totals it prints; no ``--out``),
run in that process; beside DuckDB and it, a plain DuckDB query of the same
totals (:data:`PLAIN`) is timed, and each is given as a multiple of it.

Usage::

    python bench/events.py generate --people 1000000 --events 10000000 --dir /tmp/events-1m
    python bench/events.py run --dir /tmp/events-1m --engine pandas --engine duckdb --engine spark
    python bench/events.py run --dir /tmp/events-10m --engine measure --memory-limit 4GB

The issue's table (1M x 10M on pandas, DuckDB and Spark local; 10M x 100M on
DuckDB with a 4 GiB memory limit) is ``python bench/events.py all``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from measure import machine, run_child, spark_session  # bench/measure.py

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


#: The same totals as ``proven_reoffending`` (365 days' follow-up, 182 days' waiting, convictions and
#: cautions, offences counted), written as one would by hand: one DuckDB query, no checks.
PLAIN = """
WITH people AS (
    SELECT person_id, CAST(start_date AS DATE) AS start, CAST(start_date AS DATE) + 547 <= DATE '{as_of}' AS observable
    FROM read_parquet('{folder}/people.parquet')
), tally AS (
    SELECT o.person_id, COUNT(*) AS offences,
        COUNT(*) FILTER (WHERE o.disposal IN ('conviction', 'caution')
            AND CAST(o.offence_date AS DATE) > p.start AND CAST(o.offence_date AS DATE) <= p.start + 365
            AND CAST(o.disposal_date AS DATE) <= p.start + 547) AS events
    FROM read_parquet('{folder}/offences.parquet') AS o JOIN people AS p USING (person_id)
    GROUP BY o.person_id
)
SELECT COUNT(*) AS people, COUNT(*) FILTER (WHERE observable) AS observable,
    COUNT(*) FILTER (WHERE observable AND t.events > 0) AS reoffended,
    SUM(t.events) FILTER (WHERE observable) AS reoffences, SUM(t.offences) AS offences_linked,
    (SELECT COUNT(*) FROM read_parquet('{folder}/offences.parquet')) AS offences
FROM people AS p LEFT JOIN tally AS t USING (person_id)
"""


def plain(folder: Path, memory_limit: str | None, temp: str | None) -> dict:
    """:data:`PLAIN` on DuckDB with the same settings as the engine: the floor for ``proven_reoffending``."""
    import duckdb

    config = {"memory_limit": memory_limit, "temp_directory": temp, "preserve_insertion_order": False}
    connection = duckdb.connect(config={k: v for k, v in config.items() if v is not None})
    started = time.perf_counter()
    people, observable, reoffended, reoffences, linked, offences = connection.execute(
        PLAIN.format(folder=folder, as_of=AS_OF)
    ).fetchone()
    return {
        "seconds": time.perf_counter() - started,
        "people": people,
        "events": offences,
        "reoffences": int(reoffences),
        "reoffended": reoffended,
        "observable": observable,
        "offences_linked": int(linked),
    }


def one(folder: Path, engine: str, memory_limit: str | None, temp: str | None) -> dict:
    """One timed run, in this process (called by :func:`measure` in a child process)."""
    import warnings

    from outcomes import proven_reoffending
    from outcomes.engines import DuckDB, Spark

    if engine == "plain":
        cpu = time.process_time()
        return {**plain(folder, memory_limit, temp), "cpu": time.process_time() - cpu}

    if engine == "measure":
        return desist_measure(folder, memory_limit)
    if engine == "duckdb":
        chosen = DuckDB(memory_limit=memory_limit, temp_directory=temp)
    elif engine == "spark":
        session = spark_session("6g", 16, temp)
        chosen = Spark(session=session)
    else:
        chosen = "pandas"
    started, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = proven_reoffending(folder / "people.parquet", folder / "offences.parquet", as_of=AS_OF, engine=chosen)
    seconds = time.perf_counter() - started
    rate = result.rate()
    return {
        "seconds": seconds,
        # This process's CPU (DuckDB's threads included; Spark's JVM is another process, not counted).
        "cpu": time.process_time() - cpu,
        "people": result.counts["all"],
        "events": result.links.n,
        "reoffences": int(result.frequency().events),
        "reoffended": rate.k,
        "observable": rate.n,
        "offences_linked": result.links.matched,
    }


def desist_measure(folder: Path, memory_limit: str | None) -> dict:
    """``desist measure`` on DuckDB, as a user runs it (its JSON: the totals it prints), timed in this process once
    its modules are loaded (as the plain query is timed once DuckDB is)."""
    import contextlib
    import io

    import desist.commands.measure  # noqa: F401  (loaded before the clock starts: the command loads it lazily)
    from desist.cli import main

    argv = ["measure", "--people", str(folder / "people.parquet"), "--offences", str(folder / "offences.parquet")]
    argv += ["--engine", "duckdb", "--as-of", AS_OF, "--json"]
    argv += ["--memory-limit", memory_limit] if memory_limit else []
    printed = io.StringIO()
    started, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(printed), contextlib.suppress(SystemExit):
        main(argv)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    results = json.loads(printed.getvalue())["results"]
    return {
        "seconds": seconds,
        "cpu": cpu,
        "people": results["counts"]["all"],
        "events": results["offence_counts"]["all"],
        "reoffences": results["frequency"]["events"],
        "reoffended": results["rate"]["k"],
        "observable": results["rate"]["n"],
        "offences_linked": results["offence_counts"]["linked"],
    }


def measure(folder: Path, engine: str, memory_limit: str | None, temp: str | None) -> dict:
    """Run :func:`one` in a child process; its seconds, result and peak RSS (with its children)."""
    command = [sys.executable, __file__, "_one", "--dir", str(folder), "--engine", engine]
    command += ["--memory-limit", memory_limit] if memory_limit else []
    command += ["--temp", temp] if temp else []
    figures = run_child(command)
    if "stopped" in figures:
        raise SystemExit(f"{engine} {figures['stopped']}")
    return figures


def print_row(folder: Path, engine: str, memory_limit: str | None, figures: dict, floor: dict | None = None) -> None:
    ratio = f"{figures['seconds'] / floor['seconds']:.2f}x ({figures['cpu'] / floor['cpu']:.2f}x)" if floor else ""
    keys = ("people", "events", "reoffences", "reoffended", "observable", "offences_linked")
    same = [figures[k] == floor[k] for k in keys] if floor else []
    print(
        f"{folder.name:>14} {engine:>7} {memory_limit or '-':>6} {figures['people']:>11,} {figures['events']:>12,} "
        f"{figures['seconds']:>8.1f} {figures['cpu']:>8.1f} {figures['peak_gib']:>8.2f} {ratio:>15}  "
        f"{figures['reoffended']:,}/{figures['observable']:,} reoffended, {figures['reoffences']:,} reoffences, "
        f"{figures['offences_linked']:,} offences linked"
        f"{'' if not floor or all(same) else '  TOTALS DIFFER FROM THE PLAIN QUERY'}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["generate", "run", "all", "_one"])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "desist-events")
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--engine", action="append", choices=["pandas", "duckdb", "measure", "spark", "plain"])
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
        runs = [(small, "pandas", None), (small, "duckdb", None), (small, "measure", None), (small, "spark", None)]
        runs += [(large, "duckdb", "4GB"), (large, "measure", "4GB")]
    print(f"machine: {machine()}")
    print(
        f"{'data':>14} {'engine':>7} {'limit':>6} {'people':>11} {'events':>12} {'seconds':>8} {'CPU s':>8} "
        f"{'peak GiB':>8} {'vs plain (CPU)':>15}"
    )
    floors: dict = {}
    for folder, engine, limit in runs:
        if engine in ("duckdb", "measure") and (folder, limit) not in floors:
            floors[folder, limit] = measure(folder, "plain", limit, args.temp)
            print_row(folder, "plain", limit, floors[folder, limit])
        print_row(folder, engine, limit, measure(folder, engine, limit, args.temp), floors.get((folder, limit)))


if __name__ == "__main__":
    main()
