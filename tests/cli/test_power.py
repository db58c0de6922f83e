"""``desist power`` in-process (tests/running.py): text, JSON and errors."""

from __future__ import annotations

import json

import pytest

from metrics.power import Design, minimum_detectable_effect, power, required_n
from tests import running


def desist(*args: str) -> running.Run:
    return running.desist("power", *args)


def test_text_output_gives_mde_required_n_power_and_false_payment():
    run = desist("--measure", "binary", "--base-rate", "0.45", "--n", "500", "--ratio", "3", "--effect", "-0.05")
    assert run.returncode == 0, run.stderr
    rows = {
        name: line.split()
        for line in run.stdout.splitlines()
        for name in ("Smallest effect detectable", "Cohort needed", "Power at this cohort")
        if name in line
    }
    assert "-7.1 points (45.0% to 37.9%)" in " ".join(rows["Smallest effect detectable"])
    n = required_n(Design("binary", 0.45, ratio=3), -0.05).n_treated_required
    assert rows["Cohort needed"][2] == f"{n:,}"
    assert rows["Power at this cohort"][-1] == f"{power(Design('binary', 0.45, ratio=3), 500, -0.05).power:.1%}"
    assert "of the time when nothing changed" in " ".join(run.stdout.split())


def test_json_output_matches_the_library():
    run = desist(
        "--measure",
        "frequency",
        "--base-rate",
        "1.2",
        "--n",
        "400",
        "--ratio",
        "2",
        "--dispersion",
        "2",
        "--one-sided",
        "--json",
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)["results"]
    expected = minimum_detectable_effect(Design("frequency", 1.2, ratio=2, alternative="one-sided", dispersion=2), 400)
    assert data["mde"]["effect"] == pytest.approx(expected.effect, rel=1e-12)
    assert data["mde"]["alternative"] == "one-sided"
    assert set(data) == {"mde", "payment"}
    assert 0 < data["payment"]["false_payment"] < 0.5


def test_bad_input_exits_1_with_the_reason():
    run = desist("--measure", "frequency", "--base-rate", "1.2")
    assert run.returncode == 1
    assert "The '--n' option must be given, or --effect given" in run.stderr and "Traceback" not in run.stderr
