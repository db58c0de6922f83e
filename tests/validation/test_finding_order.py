"""The design checks' findings come in a stated order, the same under every PYTHONHASHSEED.

``desist report`` writes the findings to story.json in the order ``check_design`` returns them. The deadweight
findings once came in the order of a set of instrument names, which changes with Python's string hashing, so two
runs on the same data wrote two different files. They now follow the order the spec lists its outcomes; this runs
the check in fresh interpreters under two hash seeds (each seed gives a set of these four names another order) and
in this one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from outcomes.spec import MetricSpec
from validation import check_design

ROOT = Path(__file__).resolve().parents[2]
#: Outcomes on four instruments, listed against the alphabet (so neither sorting nor a set could pass for spec order).
INSTRUMENTS = ("ladder_finance", "ladder_ete", "ladder_drugs_alcohol", "ladder_accommodation")
#: Hash seeds under which a set of INSTRUMENTS iterates in two different orders, neither the spec's (checked on the
#: old code: 0 puts ladder_drugs_alcohol second, 1 puts it first).
HASH_SEEDS = ("0", "1")


def _spec() -> MetricSpec:
    outcomes = "".join(
        f'[outcomes.{name}]\ninstrument = "{name}"\nmeasure = "score"\nwindow = [91, 273]\n'
        f'[outcomes.{name}.rule]\ntype = "threshold"\nat_least = 6\n'
        for name in INSTRUMENTS
    )
    return MetricSpec.from_string(f'[metric]\nname = "order"\n{outcomes}')


def deadweight_order() -> list[str]:
    """The outcomes of the deadweight findings, in the order check_design gives them."""
    n = 100
    people = pd.DataFrame({"person_id": [f"p{i}" for i in range(n)], "start_date": pd.Timestamp("2024-01-01")})
    # 80 of 100 meet every outcome at baseline and again in the window: deadweight on each.
    score = np.where(np.arange(n) < 80, 8.0, 2.0)
    assessments = pd.concat(
        [
            pd.DataFrame(
                {"person_id": people["person_id"], "instrument": name, "item": "ladder", "score": score}
            ).assign(assessed_on=day)
            for name in INSTRUMENTS
            for day in (pd.Timestamp("2024-01-05"), pd.Timestamp("2024-06-01"))
        ],
        ignore_index=True,
    )
    data = {"people": people, "assessments": assessments, "as_of": pd.Timestamp("2025-06-01")}
    return [f.evidence["outcome"] for f in check_design(_spec(), data) if f.code == "deadweight"]


def test_deadweight_findings_follow_the_spec():
    assert deadweight_order() == list(_spec().outcomes) == list(INSTRUMENTS)


def test_deadweight_order_is_the_same_under_every_hash_seed():
    code = (
        "import json; from tests.validation.test_finding_order import deadweight_order; "
        "print(json.dumps(deadweight_order()))"
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-W", "ignore", "-c", code],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in HASH_SEEDS
    ]
    orders = {}
    for seed, run in zip(HASH_SEEDS, runs):
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
        orders[seed] = json.loads(out.splitlines()[-1])
    assert orders == {seed: list(INSTRUMENTS) for seed in HASH_SEEDS}
