"""Settling a contract at national size: ``pricing.settle`` against a plain integer-pence computation.

The example world (``examples/data``: people, assessments of six outcomes'
instruments, offences) is tiled to ``--people`` people (copy ``k`` of person
``E000003`` is ``E000003-k``) and written as Parquet, then the example
intermediate-outcome contract (``examples/specs/intermediate.toml``: six priced
outcomes, three tranches, prices by segment) is settled as of 2025-09-30 in a
fresh process. Printed per size: ``settle``'s whole time (wall clock, and in
brackets the CPU time of the process, steadier on a shared machine) and the part
of it spent scoring and judging the outcomes (``MetricSpec.achievement``), the
peak resident memory of the process and how much of it the input tables already
held after reading; then the same totals computed by a plain vectorised pass
written here (ids factorised once, the six rules in numpy, prices by segment in
whole pence), its time and memory, the ratio of the CPU times, and whether the
two give the same total to the penny.

Usage::

    python bench/settlement.py --people 100000 --people 1000000 --memory-cap 12
    python bench/settlement.py --people 9558 --dir /tmp/desist-settlement

A run that passes ``--memory-cap`` GiB is stopped and reported as such. ``--engine duckdb`` (or ``spark``)
settles on that engine instead: the settle child passes the Parquet files, not frames, so the engine reads the
assessments itself (:mod:`pricing.settlement_engine`); its time and peak memory are those of the whole
settlement, reading included, and the ``inputs`` column is the memory before it began.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import machine, run_child, spark_session, tree_cpu, tree_rss  # noqa: E402  (bench/measure.py)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "data"
CONTRACT = ROOT / "examples" / "specs" / "intermediate.toml"
AS_OF = "2025-09-30"
TABLES = ("people", "assessments", "offences")
#: Copies of the example written at a time (a few million assessment rows).
BATCH = 40


# ------------------------------------------------------------------ the data
def tile(n_people: int, folder: Path) -> None:
    """people, assessments and offences .parquet for ``n_people``: the example world copied, ids made unique."""
    folder.mkdir(parents=True, exist_ok=True)
    people = pa.Table.from_pandas(_csv("people"), preserve_index=False)
    copies = math.ceil(n_people / people.num_rows)
    for name in TABLES:
        table = people if name == "people" else pa.Table.from_pandas(_csv(name), preserve_index=False)
        with pq.ParquetWriter(folder / f"{name}.parquet", table.schema) as writer:
            written = 0
            for first in range(0, copies, BATCH):
                ks = range(first, min(first + BATCH, copies))
                part = pa.concat_tables([_copy(table, k) for k in ks])
                if name == "people":
                    part = part.slice(0, max(min(part.num_rows, n_people - written), 0))
                    written += part.num_rows
                writer.write_table(part)
    # Assessments and offences of people cut from the last copy are kept: they link to no one, as in life.


def _csv(name: str) -> pd.DataFrame:
    frame = pd.read_csv(EXAMPLES / f"{name}.csv")
    for column in ("start_date", "assessed_on", "offence_date", "disposal_date"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d")
    return frame


def _copy(table: pa.Table, k: int) -> pa.Table:
    kind = table.schema.field("person_id").type
    ids = pc.binary_join_element_wise(table["person_id"], pa.scalar(f"{k:04d}", kind), pa.scalar("-", kind))
    return table.set_column(table.schema.get_field_index("person_id"), "person_id", ids)


# ------------------------------------------------------------------ one run, in a child process
def run_settle(folder: Path, engine: str = "pandas") -> dict:
    """Read the tables, settle, and time scoring and achievement inside it (on an engine: settle from the files)."""
    from outcomes.engines import Spark
    from outcomes.spec import MetricSpec
    from pricing import Contract, settle

    judged = {"seconds": 0.0, "cpu": 0.0}
    original = MetricSpec.achievement

    def timed(self, *args, **kwargs):
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return original(self, *args, **kwargs)
        finally:
            judged["seconds"] += time.perf_counter() - started
            judged["cpu"] += time.process_time() - cpu

    MetricSpec.achievement = timed
    started = time.perf_counter()
    files = {name: str(folder / f"{name}.parquet") for name in TABLES}
    tables = {name: pd.read_parquet(path) for name, path in files.items()} if engine == "pandas" else files
    read = time.perf_counter() - started
    inputs_rss = tree_rss(os.getpid())
    contract = Contract.from_toml(CONTRACT)
    started, cpu = time.perf_counter(), time.process_time()
    on: str | Spark = Spark(session=spark_session("2g", 8)) if engine == "spark" else engine  # room for the JVM
    settled = settle(contract, tables, as_of=AS_OF, engine=on)
    seconds = time.perf_counter() - started
    rows = settled.audit["tables"]
    return {
        "read": read,
        "seconds": seconds,
        # a Spark JVM's CPU is its own process's, beside this one's
        "cpu": time.process_time() - cpu + (tree_cpu(os.getpid(), children_only=True) if engine == "spark" else 0),
        "judging": judged["seconds"],
        "judging_cpu": judged["cpu"],
        "inputs_gib": inputs_rss / 2**30,
        "people": rows["people"]["rows"],
        "assessments": rows["assessments"]["rows"],
        "ledger": len(settled.ledger),
        "total_pence": int(settled.total_pence),
        "ledger_sha256": settled.figures()["ledger_sha256"],
    }


def run_plain(folder: Path) -> dict:
    """The same totals, computed plainly (see :func:`plain_total`)."""
    started = time.perf_counter()
    tables = {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}
    read = time.perf_counter() - started
    inputs_rss = tree_rss(os.getpid())
    started, cpu = time.perf_counter(), time.process_time()
    total, achieved = plain_total(tables["people"], tables["assessments"])
    return {
        "read": read,
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "inputs_gib": inputs_rss / 2**30,
        "total_pence": total,
        "ledger": achieved,
    }


# ------------------------------------------------------------------ the plain computation
def plain_total(people: pd.DataFrame, assessments: pd.DataFrame) -> tuple[int, int]:
    """The tariff total in pence and the number of payments, for this contract only, on clean data.

    No checks, no problems reported, no reasons: ids factorised once, each
    instrument's occasions a matrix of items, the six rules in numpy.
    """
    as_of = np.datetime64(AS_OF, "D")
    start = people["start_date"].to_numpy().astype("datetime64[D]")
    tranches = [("2023-01-01", "2023-06-30"), ("2023-07-01", "2023-12-31"), ("2024-01-01", "2024-06-30")]
    in_tranche = np.zeros(len(people), dtype=bool)
    for first, last in tranches:
        in_tranche |= (start >= np.datetime64(first)) & (start <= np.datetime64(last))
    in_tranche &= start <= as_of
    position = pd.Index(people["person_id"]).get_indexer(assessments["person_id"])
    day = assessments["assessed_on"].to_numpy().astype("datetime64[D]")
    known = (position >= 0) & (day <= as_of)
    position, day = position[known], (day[known] - start[position[known]]).astype(np.int64)
    instrument, instruments = pd.factorize(assessments["instrument"])
    item, items_seen = pd.factorize(assessments["item"])
    instrument, item, value = instrument[known], item[known], assessments["score"].to_numpy()[known]
    n = len(people)
    sex, age = people["sex"].to_numpy(), people["age"].to_numpy()
    needs = people[["need_accommodation", "need_substance", "need_mental_health"]].sum(axis=1).to_numpy()
    segment = np.where(sex == "female", 1, np.where((age >= 18) & (age <= 24), 2, np.where(needs >= 2, 3, 0)))
    prices = {  # pence by segment: none, women, young adults, complex needs
        "family_ties": [25_000] * 4,
        "family_contact": [15_000] * 4,
        "self_esteem": [20_000, 20_000, 20_000, 30_000],
        "accommodation": [50_000, 60_000, 50_000, 70_000],
        "ete": [40_000] * 4,
        "substance_misuse": [35_000, 35_000, 35_000, 50_000],
    }

    def occasions(name: str, items: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mine = instrument == instruments.get_loc(name)
        key = position[mine].astype(np.int64) * 100_000 + (day[mine] + 50_000)
        keys, occasion = np.unique(key, return_inverse=True)
        matrix = np.full((keys.size, len(items)), np.nan)
        matrix[occasion, pd.Index(items).get_indexer(items_seen)[item[mine]]] = value[mine]
        return keys // 100_000, keys % 100_000 - 50_000, matrix

    achieved = {}
    ladders = {"ladder_family": "family_ties", "ladder_ete": "ete", "ladder_drugs_alcohol": "substance_misuse"}
    for name, outcome in ladders.items():
        who, when, matrix = occasions(name, ["ladder"])
        rule = (lambda v, b: v >= 7) if outcome == "ete" else (lambda v, b: v - b >= 2)
        achieved[outcome] = judged(who, when, matrix[:, 0], rule, n, needs_baseline=outcome != "ete")
    who, when, matrix = occasions("family_contact", ["contact_frequency", "living_with_family"])
    achieved["family_contact"] = judged(who, when, matrix[:, 0], lambda v, b: v >= 3, n, needs_baseline=False)
    who, when, matrix = occasions("rosenberg", [f"q{i}" for i in range(1, 11)])
    matrix[:, [1, 4, 5, 7, 8]] = 3 - matrix[:, [1, 4, 5, 7, 8]]
    answered = np.sum(~np.isnan(matrix), axis=1)
    total = np.nansum(matrix, axis=1)
    score = np.where(answered == 10, total, np.where(answered == 9, total / answered * 10, np.nan))
    s_diff = math.sqrt(2 * (5.0 * math.sqrt(1 - 0.85)) ** 2)
    achieved["self_esteem"] = judged(who, when, score, lambda v, b: (v - b) / s_diff > 1.96, n)
    who, when, matrix = occasions("accommodation_status", ["status"])
    achieved["accommodation"] = judged(
        who, when, matrix[:, 0], lambda v, b: np.isin(b, [1, 2]) & (v == 3), n, window=(91, 365), sustained=91
    )
    total_pence, payments = 0, 0
    for outcome, flags in achieved.items():
        paid = flags & in_tranche
        total_pence += int(np.asarray(prices[outcome], dtype=np.int64)[segment[paid]].sum())
        payments += int(paid.sum())
    return total_pence, payments


def judged(who, when, value, rule, n, *, needs_baseline=True, window=(91, 273), sustained=0) -> np.ndarray:
    """Achieved per person: the last scorable occasion in the window meets ``rule`` against the first
    scorable one on days -30..30 (occasions sorted by person, then day)."""
    usable = ~np.isnan(value)
    in_base = usable & (when >= -30) & (when <= 30)
    first = np.unique(who[in_base], return_index=True)
    base = np.full(n, np.nan)
    base[first[0]] = value[in_base][first[1]]
    in_window = usable & (when >= window[0]) & (when <= window[1])
    if needs_baseline:
        in_window &= ~np.isnan(base[who])
    w_who, w_when, w_value = who[in_window], when[in_window], value[in_window]
    met = np.asarray(rule(w_value, base[w_who]), dtype=bool)
    if sustained:
        new = np.r_[True, w_who[1:] != w_who[:-1]]
        run = np.cumsum(~met | new)
        first_met = np.full(run.max() + 1 if run.size else 1, np.inf)
        np.minimum.at(first_met, run[met], w_when[met])
        met &= w_when - first_met[run] >= sustained
    last = np.r_[w_who[1:] != w_who[:-1], True] if w_who.size else np.zeros(0, dtype=bool)
    out = np.zeros(n, dtype=bool)
    out[w_who[last]] = met[last]
    return out


# ------------------------------------------------------------------ the parent
def measure(folder: Path, what: str, cap_gib: float, engine: str = "pandas") -> dict:
    """Run one child; its figures and peak resident memory, or how far it got before passing the cap."""
    command = [sys.executable, __file__, "--child", what, "--dir", str(folder), "--engine", engine]
    return run_child(command, cap_gib=cap_gib)


def report(n: int, settled: dict, plain: dict) -> None:
    """One line: sizes, then wall (CPU) seconds of settle, of its judging, of the plain pass, and memory."""
    if "stopped" in settled:
        print(f"{n:>10,}  settle {settled['stopped']}", flush=True)
        return
    share = settled["judging_cpu"] / settled["cpu"]
    ratio = settled["cpu"] / plain["cpu"] if "cpu" in plain else math.nan
    same = "same total" if plain.get("total_pence") == settled["total_pence"] else "TOTALS DIFFER"
    s, p = settled, {"seconds": math.nan, "cpu": math.nan, "peak_gib": math.nan, "ledger": 0, **plain}
    print(
        f"{n:>10,} {s['assessments']:>12,} {s['ledger']:>9,} {s['seconds']:>7.1f} ({s['cpu']:>5.1f}) "
        f"{s['judging']:>7.1f} ({s['judging_cpu']:>5.1f}, {share:>4.0%}) {s['peak_gib']:>6.2f} {s['inputs_gib']:>6.2f} "
        f"{p['seconds']:>6.2f} ({p['cpu']:>5.2f}) {p['peak_gib']:>6.2f} {ratio:>6.1f}x  "
        f"{same} (£{s['total_pence'] / 100:,.2f}; {p['ledger']:,} payments)",
        flush=True,
    )


HEADER = (
    f"{'people':>10} {'assessments':>12} {'ledger':>9} {'settle s (CPU)':>15} {'judging s (CPU, share)':>22} "
    f"{'GiB':>6} {'inputs':>6} {'plain s (CPU)':>14} {'GiB':>6} {'CPU ratio':>7}"
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, action="append")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "desist-settlement")
    parser.add_argument("--memory-cap", type=float, default=12.0, help="GiB: a run above it is stopped.")
    parser.add_argument(
        "--engine",
        choices=["pandas", "duckdb", "spark"],
        default="pandas",
        help="Where settle scores the assessments: pandas reads frames; an engine reads the files.",
    )
    parser.add_argument("--child", choices=["settle", "plain"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_settle(args.dir, args.engine) if args.child == "settle" else run_plain(args.dir)))
        return
    print(f"machine: {machine()}" + ("" if args.engine == "pandas" else f"; settle on {args.engine}"))
    print(HEADER)
    for n in args.people or [100_000, 1_000_000]:
        folder = args.dir / f"{n}"
        if not (folder / "assessments.parquet").exists():
            tile(n, folder)
        settled = measure(folder, "settle", args.memory_cap, args.engine)
        report(n, settled, measure(folder, "plain", args.memory_cap))
        if args.engine != "pandas" and "ledger_sha256" in settled:
            print(f"{'':>10}  ledger SHA-256 {settled['ledger_sha256']}", flush=True)


if __name__ == "__main__":
    main()
