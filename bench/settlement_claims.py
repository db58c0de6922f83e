"""Benchmark: a rate card settled at national size, against a plain integer-pence computation of the same totals.

Generates 1,000,000 people and 3,000,000 claims (the issue's size) as Parquet files, then, each in a fresh
process, times

- **desist**: ``pricing.settle`` on the contract below (read the files, settle, the ledger of every claim and
  the audit record with the ledger's SHA-256), and
- **plain**: the same rules written for this benchmark in plain numpy on integer pence, giving the total only
  (the floor of the computation: ids and outcome names factorised, one sort, running sums),

and prints seconds (whole process and in-process after reading the inputs), the peak resident memory above the
inputs (sampled from /proc every 0.05 s), the CPU seconds of each process's settlement (steadier than wall clock on
a shared machine), the totals (which must agree to the penny) and the machine's cores, memory and load. The
contract: engagement within 56 days, a 13-week job (priced by segment) after it, a 26-week job after that, a
three-rung qualification ladder paying the highest rung with its top rung capped at 15% of the cohort, at most
£4,000 a person and £2,500,000,000 in all.

Goals (issue 28): whole settlement at most 30 s on 2 cores, at most 4 GiB above the inputs; desist's in-process
time against the plain computation's (ratio, issue 28 asks at most 2).

    python bench/settlement_claims.py                  # 1,000,000 people, 3,000,000 claims
    python bench/settlement_claims.py --people 100000 --claims 300000
    python bench/settlement_claims.py --dir /tmp/claims_data --reuse   # the files generated there before
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from measure import machine  # bench/measure.py

CONTRACT = """
[metric]
name = "Benchmark rate card"

[tranches.year_1]
start = 2022-01-01
end = 2022-12-31
final = 2025-06-30

[segments.young]
where = "age <= 24"

[payment]
outcome_cap = 2500000000

[claims]
periods = "quarterly"
max_per_person = 4000

[claims.outcomes.engaged]
price = 250
within_days = 56

[claims.outcomes.job_13]
price = { default = 1500, young = 1800 }
after = ["engaged"]

[claims.outcomes.job_26]
price = 1000
after = ["job_13"]

[claims.outcomes.entry_level]
price = 300

[claims.outcomes.level_1]
price = 700

[claims.outcomes.level_2]
price = 1500
cap_share = 0.15

[claims.ladders.qualifications]
rungs = ["entry_level", "level_1", "level_2"]
pays = "highest"
"""
AS_OF = "2024-12-31"
OUTCOMES = ["engaged", "entry_level", "job_13", "job_26", "level_1", "level_2"]


def generate(n_people: int, n_claims: int, folder: Path, seed: int = 25) -> None:
    """people.parquet (person_id, start_date, age) and claims.parquet; 1% of claims name no one in people."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ids = np.char.add("P", np.char.zfill(np.arange(n_people).astype(str), 8))
    start = np.datetime64("2022-01-01") + rng.integers(0, 365, n_people).astype("timedelta64[D]")
    pq.write_table(
        pa.table(
            {"person_id": ids, "start_date": start.astype("datetime64[ms]"), "age": rng.integers(18, 60, n_people)}
        ),
        folder / "people.parquet",
    )
    who = rng.integers(0, n_people, n_claims)
    stranger = rng.random(n_claims) < 0.01
    person = np.where(stranger, np.char.add("Q", np.char.zfill(who.astype(str), 8)), ids[who])
    day = start[who] + rng.integers(-10, 800, n_claims).astype("timedelta64[D]")
    claims = {
        "person_id": person,
        "outcome": pa.array(np.array(OUTCOMES)[rng.integers(0, len(OUTCOMES), n_claims)]).dictionary_encode(),
        "achieved_on": day.astype("datetime64[ms]"),
        "evidence": np.char.add("EV", rng.integers(0, 10**9, n_claims).astype(str)),
    }
    pq.write_table(pa.table(claims), folder / "claims.parquet")
    (folder / "contract.toml").write_text(CONTRACT)


class Peak:
    """The peak resident memory of this process while a block runs, sampled from /proc every 0.05 s."""

    def __enter__(self) -> Peak:
        self.before = self.now()
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now())

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.now())

    @staticmethod
    def now() -> float:
        """Resident memory in MiB."""
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def read(folder: Path):
    import pandas as pd
    import pyarrow as pa

    people = pd.read_parquet(folder / "people.parquet")
    claims = pd.read_parquet(folder / "claims.parquet")
    pa.default_memory_pool().release_unused()
    return people, claims


def job_desist(folder: Path) -> dict:
    start = time.perf_counter()
    from pricing import Contract, settle

    people, claims = read(folder)
    loaded, cpu = time.perf_counter(), time.process_time()
    contract = Contract.from_toml(folder / "contract.toml")
    with Peak() as memory:
        s = settle(contract, {"people": people, "claims": claims}, as_of=AS_OF)
    done, cpu = time.perf_counter(), time.process_time() - cpu
    return {
        "total_pence": s.total_pence,
        "ledger_rows": len(s.ledger),
        "accepted": int((s.ledger["status"] == "accepted").sum()),
        "read": loaded - start,
        "settle": done - loaded,
        "settle_cpu": cpu,
        "whole": done - start,
        "inputs_mib": memory.before,
        "above_inputs_mib": memory.peak - memory.before,
    }


def job_plain(folder: Path) -> dict:
    start = time.perf_counter()
    people, claims = read(folder)
    loaded, cpu = time.perf_counter(), time.process_time()
    with Peak() as memory:
        total = plain_total(people, claims)
    done, cpu = time.perf_counter(), time.process_time() - cpu
    return {
        "total_pence": total,
        "read": loaded - start,
        "settle": done - loaded,
        "settle_cpu": cpu,
        "whole": done - start,
        "inputs_mib": memory.before,
        "above_inputs_mib": memory.peak - memory.before,
    }


def plain_total(people, claims) -> int:
    """The contract's total in pence, computed directly: the floor desist's settlement is compared with."""
    import numpy as np
    import pandas as pd

    n = len(people)
    codes, ids = pd.factorize(pd.concat([people["person_id"], claims["person_id"]], ignore_index=True))
    person = codes[n:]
    rank = pd.factorize(ids, sort=True)[0]
    start = np.full(len(ids), 0, dtype=np.int64)
    start[:n] = people["start_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    young = np.zeros(len(ids), dtype=bool)
    young[:n] = people["age"].to_numpy() <= 24
    outcome = pd.Categorical(claims["outcome"], categories=OUTCOMES).codes.astype(np.int64)
    day = claims["achieved_on"].to_numpy().astype("datetime64[D]").astype(np.int64)
    cut = np.datetime64(AS_OF).astype("datetime64[D]").astype(np.int64)
    first_day, last_day = (np.datetime64(d).astype(np.int64) for d in ("2022-01-01", "2022-12-31"))
    keep = day <= cut
    person, outcome, day = person[keep], outcome[keep], day[keep]
    inside = person < n
    valid = inside & (start[person] >= first_day) & (start[person] <= last_day) & (day >= start[person])
    eng, ent, j13, j26, l1, l2 = range(6)
    valid &= (outcome != eng) | (day <= start[person] + 56)
    firsts = {}
    for o, after in ((eng, None), (j13, eng), (j26, j13), (ent, None), (l1, None), (l2, None)):
        mine = outcome == o
        if after is not None:
            valid &= ~mine | (day >= firsts[after][person])
        first = np.full(len(ids), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, person[mine & valid], day[mine & valid])
        firsts[o] = first
    # Each outcome once a person: the first valid claim in (day, person) order; the rest are duplicates.
    order = np.lexsort((outcome, rank[person], day))
    person, outcome, day, valid = person[order], outcome[order], day[order], valid[order]
    pair = person.astype(np.int64) * 8 + outcome
    seen = np.zeros(valid.size, dtype=bool)
    at = np.flatnonzero(valid)
    _, first_at = np.unique(pair[at], return_index=True)
    seen[at[first_at]] = True
    valid &= seen
    price = np.array([250, 300, 1500, 1000, 700, 1500]) * 100
    gross = np.where(valid, price[outcome], 0)
    gross = np.where(valid & (outcome == j13) & young[person], 180000, gross)
    # The ladder pays the highest rung reached: a top-up over the highest rung before, never less.
    rung = (outcome == ent) | (outcome == l1) | (outcome == l2)
    at = np.flatnonzero(valid & rung)
    by = np.argsort(person[at], kind="stable")
    value = gross[at][by]
    group = np.cumsum(np.append(True, person[at][by][1:] != person[at][by][:-1])) - 1
    reached = np.maximum.accumulate(value + group * 10**9) - group * 10**9
    before = np.where(np.append(True, group[1:] != group[:-1]), -1, np.append(-1, reached[:-1]))
    top_up = np.where(value > before, value - np.maximum(before, 0), 0)
    gross[at[by]] = top_up
    valid[at[by][top_up == 0]] = False
    # Level 2 for at most 15% of the cohort, the first in the claim order.
    cohort = int(((start[:n] >= first_day) & (start[:n] <= last_day)).sum())
    level_2 = np.flatnonzero(valid & (outcome == l2))
    valid[level_2[int(cohort * 15 // 100) :]] = False
    # At most 4,000 a person, in the claim order.
    at = np.flatnonzero(valid)
    by = np.argsort(person[at], kind="stable")
    amount = gross[at][by]
    running = np.cumsum(amount)
    starts = np.append(True, person[at][by][1:] != person[at][by][:-1])
    running -= np.maximum.accumulate(np.where(starts, running - amount, 0))
    paid = np.minimum(400000, running) - np.minimum(400000, running - amount)
    return int(min(int(paid.sum()), 2_500_000_000 * 100))


def run_fresh(kind: str, folder: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "job", kind, str(folder)], capture_output=True, text=True, check=False
    )
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--claims", type=int, default=3_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="keep the generated files here")
    parser.add_argument("--reuse", action="store_true", help="settle the files generated in --dir before")
    args = parser.parse_args()
    if args.reuse and args.dir is None:
        parser.error("--reuse needs --dir, the folder the files were generated in")
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.dir or Path(scratch)
        if args.reuse:
            print(f"the files in {folder} settled; {machine()}")
        else:
            t = time.perf_counter()
            generate(args.people, args.claims, folder)
            print(
                f"{args.people:,} people, {args.claims:,} claims generated in {time.perf_counter() - t:.1f} s; "
                f"{machine()}"
            )
        plain, desist = run_fresh("plain", folder), run_fresh("desist", folder)
    same = "the same" if plain["total_pence"] == desist["total_pence"] else "DIFFERENT"
    print(f"total: desist {desist['total_pence']:,} pence, plain {plain['total_pence']:,} pence ({same})")
    print(f"ledger: {desist['ledger_rows']:,} claims, {desist['accepted']:,} accepted")
    for name, r in (("desist", desist), ("plain", plain)):
        print(
            f"{name:>6}: whole process {r['whole']:.1f} s (read {r['read']:.1f} s, settle {r['settle']:.1f} s, "
            f"{r['settle_cpu']:.1f} CPU s); "
            f"inputs {r['inputs_mib']:,.0f} MiB, peak above them {r['above_inputs_mib']:,.0f} MiB"
        )
    print(
        f"desist's settlement / the plain computation: {desist['settle'] / plain['settle']:.2f} "
        f"(in CPU seconds {desist['settle_cpu'] / plain['settle_cpu']:.2f})"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "job":
        job = job_desist if sys.argv[2] == "desist" else job_plain
        print(json.dumps(job(Path(sys.argv[3]))))
    else:
        main()
