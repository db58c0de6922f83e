"""The ledger and audit of the example intermediate-outcome contract, pinned byte for byte before settlement was
made to scale (issue 28).

The digests were printed by main at 5288bca (the code before the national-size work) with :func:`digests` on
the example files as given, and on the example world tiled three times in memory (copy ``k`` of person
``E000003`` is ``E000003-k``, rows shuffled), as bench/settlement.py tiles it. The tiled settlement is also
three times the example's, row for row: every copy achieves what the original does. The audits' digests were
taken again from main at 7620203, whose example offences hold only the cohort's (f85b475: the audit counts the
offences table's rows); its ledgers' digests are 5288bca's.
"""

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pricing import Contract, settle

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data"
CONTRACT = ROOT / "examples" / "specs" / "intermediate.toml"
AS_OF = "2025-09-30"
TABLES = ("people", "assessments", "offences")

#: (ledger rows, total pence, ledger SHA-256, audit SHA-256) printed by main at 5288bca (audits: at 7620203).
PINNED = {
    "files": (1299, 38_705_000, "77df99816da9b713bfae81807cb72db3abe9e8f4ece9dd84bc2c6333459d5c23",
              "cce54ed1e35ffb5e4658f7ea8ee801f8226faaec535661c3dffa399ca1b40801"),
    "tiled": (3 * 1299, 3 * 38_705_000, "46c315ca491fc2e3d16e1d56969fb0cd3eac41917529511162b59289ac30a5a6",
              "3a0c907b2a3a089485ce9ea08770b5b2384364a2e693ed43317be19e01eff0f5"),
}  # fmt: skip


def digests(data: dict) -> tuple[int, int, str, str]:
    """Ledger rows, total, the ledger CSV's SHA-256 and the audit's (as sorted JSON, the contract's path left out)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = settle(Contract.from_toml(CONTRACT), data, as_of=AS_OF)
    audit = {**s.audit, "contract": {k: v for k, v in s.audit["contract"].items() if k != "source"}}
    text = json.dumps(audit, sort_keys=True, default=str)
    ledger = hashlib.sha256(s.ledger_csv().encode()).hexdigest()
    return len(s.ledger), s.total_pence, ledger, hashlib.sha256(text.encode()).hexdigest()


def tiled(copies: int) -> dict[str, pd.DataFrame]:
    """The example tables ``copies`` times, ids made unique, rows shuffled, dates read as bench/settlement.py reads."""
    rng = np.random.default_rng(28)
    out = {}
    for name in TABLES:
        frame = pd.read_csv(DATA / f"{name}.csv")
        for column in ("start_date", "assessed_on", "offence_date", "disposal_date"):
            if column in frame:
                frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d")
        parts = [frame.assign(person_id=frame["person_id"] + f"-{k:04d}") for k in range(copies)]
        whole = pd.concat(parts, ignore_index=True)
        out[name] = whole.iloc[rng.permutation(len(whole))].reset_index(drop=True)
    return out


@pytest.mark.parametrize("case", sorted(PINNED))
def test_the_ledger_and_audit_are_those_pinned_before_the_national_size_work(case):
    data = {n: str(DATA / f"{n}.csv") for n in TABLES} if case == "files" else tiled(3)
    assert digests(data) == PINNED[case]
