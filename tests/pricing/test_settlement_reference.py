"""The vectorised settlement gives the row-by-row code's settlements: ledger byte for byte, audit, tranches.

The reference (tests/results/settlement_reference.json) was made by the per-row code before it was replaced;
tests/results/make_settlement_reference.py says how. Each case is settled on the example files as given and
with every table's rows shuffled (the settlement must not depend on their order).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.closeness import differences
from tests.results.make_settlement_reference import OUT, cases, settled

REFERENCE = json.loads(OUT.read_text())


def same(got: object, want: object) -> list[str]:
    """Where ``got`` differs from ``want``: money, counts, text and the ledger's hash exactly; a statistic (a float:
    an estimate or its interval) to 1e-9 of itself or 1e-12 of the unit scale of rates and ratios, whichever is
    wider, as another platform's arithmetic may move its last digits (an interval's end near 0, a difference of
    numbers near 1, moved 2e-15 under OpenBLAS's Prescott kernel). Keys the reference lacks are figures added since
    it was made (a running account's), not compared."""
    return differences(got, want, rel=1e-9, abs=1e-12, new_keys=True)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("settlement_reference")


def test_every_reference_case_is_settled(folder):
    assert sorted(cases(folder)) == sorted(REFERENCE)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_the_same_settlement_as_the_row_by_row_code(folder, name):
    contract, data, as_of = cases(folder)[name]
    assert same(settled(contract, data, as_of), REFERENCE[name]) == []


@pytest.mark.parametrize("name", ["intermediate", "stacked_multiplicative_40000", "peterborough_capped", "ratecard"])
def test_the_same_settlement_from_shuffled_rows(folder, name):
    contract, data, as_of = cases(folder)[name]
    rng = np.random.default_rng(28)
    shuffled = {}
    for table, path in data.items():
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        shuffled[table] = str(folder / f"{name}_{table}.csv")
        frame.iloc[rng.permutation(len(frame))].to_csv(shuffled[table], index=False)
    assert same(settled(contract, shuffled, as_of), REFERENCE[name]) == []
