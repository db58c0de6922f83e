"""pricing.inputs.rules_simulation: a contract's rules over simulated evaluations, set up from a history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ground.errors import ParameterError
from metrics.power import negative_binomial_shape
from pricing import scheme
from pricing.chances import DEFAULT_EFFECT, rule_chances
from pricing.inputs import rules_simulation

rng = np.random.default_rng(3)
COHORT = pd.DataFrame({"person_id": [f"P{i}" for i in range(301)]})
PAST = pd.DataFrame(
    {"reoffended": rng.random(400) < 0.42, "reoffences": rng.negative_binomial(2.0, 2.0 / 3.2, size=400)}
)


def test_a_binary_rule_takes_the_historys_rate_and_splits_the_cohort_over_the_tranches():
    contract = scheme("doncaster")
    got = rules_simulation(contract, COHORT, PAST, None, 300, 7)
    base = float(PAST["reoffended"].mean())
    assert got.assumptions["base_rate"] == base and got.assumptions["n_per_tranche"] == 301 // 2
    want = rule_chances(
        contract, n_per_tranche=150, base_rate=base, true_effect=DEFAULT_EFFECT["binary"], draws=300, seed=7
    )
    pd.testing.assert_frame_equal(got.to_frame(), want.to_frame())


def test_a_frequency_rule_takes_the_historys_rate_and_negative_binomial_shape():
    contract = scheme("peterborough")
    got = rules_simulation(contract, COHORT, PAST, 0.85, 300, 7)
    counts = PAST["reoffences"].astype(float).to_numpy()
    assert got.assumptions["base_rate"] == pytest.approx(counts.mean(), rel=1e-12)
    assert got.assumptions["dispersion"] == pytest.approx(negative_binomial_shape(counts), rel=1e-12)
    assert got.assumptions["true_effect"] == 0.85


def test_without_a_history_a_baseline_gives_the_rate_and_a_tiny_cohort_still_has_two_per_tranche():
    got = rules_simulation(scheme("doncaster"), COHORT.head(3), None, None, 100, 1)
    assert got.assumptions["base_rate"] == scheme("doncaster").baseline.of("binary").rate
    assert got.assumptions["n_per_tranche"] == 2


def test_without_a_history_or_a_baseline_the_error_names_the_column_needed():
    with pytest.raises(
        ParameterError, match="'past' parameter of rules_simulation must be a history with a 'reoffences' column"
    ):
        rules_simulation(scheme("peterborough"), COHORT, PAST.drop(columns="reoffences"), None, 100, 1)


def test_a_history_from_outcomes_already_judged_is_the_history_judged_here():
    from cohorts.synthetic import make_world
    from outcomes import MetricSpec
    from pricing.inputs import achievement_history

    w = make_world(seed=2, n_eligible=300, n_pool=10, as_of="2025-06-30")
    spec = MetricSpec.from_toml("examples/specs/intermediate.toml")
    judged = spec.achievement(w.people, w.assessments, as_of="2025-01-01")
    here, counts_here = achievement_history(spec, w.people, w.assessments, as_of="2025-01-01")
    given, counts_given = achievement_history(spec, w.people, w.assessments, as_of="2025-01-01", judged=judged)
    pd.testing.assert_frame_equal(given, here)
    assert counts_given == counts_here and counts_here["excluded: window not closed"] > 0
    # the judged results are used, not judged again: outcomes judged on another date give that date's history
    later = spec.achievement(w.people, w.assessments, as_of=w.as_of)
    other, counts_other = achievement_history(spec, w.people, w.assessments, as_of="2025-01-01", judged=later)
    assert counts_other["excluded: window not closed"] == 0 < counts_here["excluded: window not closed"]
