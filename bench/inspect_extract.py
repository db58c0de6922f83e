"""Profiling and a mapped read of a national-size PNC-style extract: 10,000,000 offence rows.

Generates an offences extract as a PNC-style system writes it (``PNC_ID``, ``Offence Date`` and ``Disposal
Date`` written 30/09/2025, disposals coded ``CONV``/``Convicted``, ``CAUT``, ``ACQ``, ``NFA``/``nfa``,
``OTH``) as four quarterly CSV files (in chunks, so generating never holds the whole table) with its data
mapping file, then in a fresh process each:

- ``inspect``: :func:`ground.profile.profile` on the four files read as one table (``desist inspect
  --table offences``), and its draft mapping;
- ``read``: the mapped read (:meth:`ground.mapping.TableMap.read`): the files stacked, columns renamed,
  codes mapped (unmapped values refused), dates read in the declared format, the schema's columns checked;

and prints seconds and the peak resident memory of the process (sampled from /proc every 0.1 s), with the
machine's cores and memory.

Usage::

    python bench/inspect_extract.py                       # 10,000,000 rows in /tmp/desist-inspect-10m
    python bench/inspect_extract.py --rows 1000000 --dir /tmp/desist-inspect-1m
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named as the standard library's inspect module: its folder goes to the end of the path, so
# that numpy and pandas find the standard library's and this script still finds bench/events.py.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.csv as pacsv  # noqa: E402
from measure import machine, run_child  # noqa: E402  (bench/measure.py)

CHUNK = 2_500_000
CODES = np.array(["CONV", "Convicted", "CAUT", "ACQ", "NFA", "nfa", "OTH"])
CODE_SHARES = [0.45, 0.1, 0.2, 0.1, 0.07, 0.03, 0.05]
MAPPING = """[offences]
source = "pnc_offences_Q*.csv"
date_format = "%d/%m/%Y"
[offences.columns]
person_id = "PNC_ID"
offence_date = "Offence Date"
disposal_date = "Disposal Date"
disposal = "Outcome"
[offences.codes.disposal]
conviction = ["CONV", "Convicted"]
caution = ["CAUT"]
acquittal = ["ACQ"]
no_further_action = ["NFA", "nfa"]
other = ["OTH"]
"""


def generate(folder: Path, rows: int, seed: int) -> float:
    """Four quarterly CSV files of ``rows`` offences in all, and data.toml; returns the seconds it took."""
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    people = max(rows // 8, 1)
    writers = {q: None for q in (1, 2, 3, 4)}
    try:
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            day = np.datetime64("2019-01-01") + rng.integers(0, 6 * 365, n).astype("timedelta64[D]")
            later = day + rng.integers(0, 200, n).astype("timedelta64[D]")
            table = pa.table(
                {
                    "PNC_ID": pc.binary_join_element_wise("P", pa.array(rng.integers(0, people, n).astype(str)), ""),
                    "Offence Date": pc.strftime(pa.array(day), format="%d/%m/%Y"),
                    "Disposal Date": pc.strftime(pa.array(later), format="%d/%m/%Y"),
                    "Outcome": pa.array(rng.choice(CODES, n, p=CODE_SHARES)),
                }
            )
            quarter = (day.astype("datetime64[M]").astype(int) % 12) // 3 + 1
            for q in writers:
                part = table.filter(pa.array(quarter == q))
                if writers[q] is None:
                    writers[q] = pacsv.CSVWriter(folder / f"pnc_offences_Q{q}.csv", table.schema)
                writers[q].write_table(part)
    finally:
        for writer in writers.values():
            if writer is not None:
                writer.close()
    (folder / "data.toml").write_text(MAPPING, encoding="utf-8")
    return time.perf_counter() - started


def one(folder: Path, step: str) -> dict:
    """One timed step, in this process (called by :func:`measure` in a child process)."""
    from ground.mapping import read_data_map
    from ground.profile import profile

    started = time.perf_counter()
    if step == "inspect":
        found = profile(sorted(folder.glob("pnc_offences_Q*.csv")), table="offences")
        found.draft(folder)
        table = found.tables[0]
        figures = {
            "rows": table.rows,
            "codes": table.column("disposal").codes,
            "formats": table.column("offence_date").formats,
        }
    else:
        frame = read_data_map(folder / "data.toml")["offences"].read()
        figures = {"rows": len(frame), "disposals": frame["disposal"].value_counts().to_dict()}
    return {"seconds": time.perf_counter() - started, **figures}


def measure(folder: Path, step: str) -> dict:
    """Run :func:`one` in a child process; its figures and peak resident memory."""
    figures = run_child([sys.executable, __file__, "_one", "--dir", str(folder), "--step", step], every=0.1)
    if "stopped" in figures:
        raise SystemExit(f"{step} {figures['stopped']}")
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", nargs="?", default="run", choices=["run", "_one"])
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--step", choices=["inspect", "read"], default="read")
    parser.add_argument("--seed", type=int, default=27)
    args = parser.parse_args(argv)
    folder = args.dir or Path(f"/tmp/desist-inspect-{args.rows // 1_000_000}m")
    if args.action == "_one":
        print(json.dumps(one(folder, args.step), default=str))
        return
    if not (folder / "data.toml").exists():
        print(f"generating {args.rows:,} offence rows in {folder} ... {generate(folder, args.rows, args.seed):.0f} s")
    size = sum(p.stat().st_size for p in folder.glob("*.csv")) / 2**20
    print(f"{machine()}; four CSV files, {size:,.0f} MiB")
    for step in ("inspect", "read"):
        result = measure(folder, step)
        print(f"{step:<8} {result['rows']:>12,} rows  {result['seconds']:8.1f} s  peak {result['peak_gib']:.2f} GiB")
        print(f"         {json.dumps({k: v for k, v in result.items() if k not in ('rows', 'seconds', 'peak_gib')})}")


if __name__ == "__main__":
    main()
