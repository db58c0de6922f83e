"""Whole-pipeline simulations: the fast path equals the public one, CIs cover, false payment is honest."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from cohorts.synthetic import DISPERSION, draw_covariates, expected_reoffences
from ground.errors import ParameterError
from metrics import fit_propensity, match
from metrics.propensity import design_matrix
from metrics.thresholds import Contrast, peterborough, peterborough_rule, point_estimate_rule
from studies.payment_simulation import (
    MATCHING_COVARIATES,
    OutcomeModel,
    batched_logit,
    matched_effects,
    payment_probability,
    simulate_matched_effects,
)


def synthetic_evaluation(rng, n_t=200, n_pool=2_000, rate_ratio=1.0):
    df = pd.concat([draw_covariates(n_t, rng, "eligible"), draw_covariates(n_pool, rng, "pool")], ignore_index=True)
    df["treated"] = np.r_[np.ones(n_t, bool), np.zeros(n_pool, bool)]
    mu = expected_reoffences(df) * np.where(df["treated"], rate_ratio, 1.0)
    df["reoffences"] = rng.poisson(mu * rng.gamma(DISPERSION, 1 / DISPERSION, len(df)))
    df["reoffended"] = (df["reoffences"] > 0).astype(int)
    return df


@pytest.mark.parametrize("ratio", [1, 3])
def test_fast_path_equals_public_matching_and_effects(ratio):
    df = synthetic_evaluation(np.random.default_rng(ratio), rate_ratio=0.85)
    X, _, _ = design_matrix(df, MATCHING_COVARIATES)
    probability = batched_logit(np.stack([X, X]), df["treated"].to_numpy())
    public = fit_propensity(df, "treated", MATCHING_COVARIATES).probability
    np.testing.assert_allclose(probability[1], public, rtol=0, atol=1e-9)
    m = match(df, "treated", MATCHING_COVARIATES, ratio=ratio)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels: cluster covariance "not fully supported with var_weights"
        # the fast path is the pair-clustered SE; the default adds the estimated-score term (issue 26)
        binary = m.effect("reoffended", kind="binary", score_adjustment=False)
        count = m.effect("reoffences", kind="count", score_adjustment=False)
    fast = matched_effects(df["reoffences"].to_numpy(), df["treated"].to_numpy(), m.weight_array, m.subclass_array)
    assert fast["difference"] == pytest.approx(binary.estimate, abs=1e-12)
    assert fast["difference_se"] == pytest.approx(binary.se, rel=1e-10)
    assert (fast["difference_ci_low"], fast["difference_ci_high"]) == pytest.approx(
        (binary.ci_low, binary.ci_high), rel=1e-10
    )
    assert math.exp(fast["log_ratio"]) == pytest.approx(count.estimate, rel=1e-12)
    assert fast["log_ratio_se"] == pytest.approx(count.se, rel=1e-10)
    assert (fast["ratio_ci_low"], fast["ratio_ci_high"]) == pytest.approx((count.ci_low, count.ci_high), rel=1e-10)
    assert fast["difference_count_se"] == pytest.approx(count.details["difference"].se, rel=1e-10)
    assert (fast["n_treated"], fast["n_control"]) == (binary.n_treated, binary.n_control)


def test_world_hits_the_base_rate_and_true_effect():
    w = OutcomeModel.build("binary", -0.05, base_rate=0.40)
    assert w.base_rate == pytest.approx(0.40, abs=1e-10)
    assert w.true_effect == -0.05 and 0 < w.rate_ratio < 1
    f = OutcomeModel.build("frequency", 0.9, base_rate=1.5)
    assert f.base_rate == pytest.approx(1.5) and f.rate_ratio == 0.9
    with pytest.raises(ParameterError, match="'base_rate' parameter"):
        OutcomeModel.build("binary", -0.05, base_rate=1.5)


def test_matched_ci_coverage_1000_replications():
    # Coverage study of the issue: 1,000 seeded evaluations (200 treated, pool 2,000, 1:1
    # without replacement); true rate ratio 0.85 on proven reoffences. Binary target: the
    # average effect on the treated population (the clustered SE treats the cohort as a sample).
    sim = simulate_matched_effects(
        0.85, "frequency", n_treated=200, ratio=1, pool_size=2_000, draws=1_000, seed=20261125
    )
    table = sim.coverage().set_index(["measure", "target"])
    print(table.to_string())
    assert 0.93 <= table.loc[("binary", "population ATT"), "coverage"] <= 0.97
    assert 0.93 <= table.loc[("frequency", "rate ratio"), "coverage"] <= 0.97
    # Matching removes the selection: the estimates centre on the truth (4 Monte Carlo SEs).
    f = sim.frame
    assert abs(f["difference"].mean() - sim.world_binary.true_effect) < 4 * f["difference"].std() / math.sqrt(len(f))
    assert abs(f["log_ratio"].mean() - math.log(0.85)) < 4 * f["log_ratio"].std() / math.sqrt(len(f))


def test_peterborough_false_payment_on_a_null_world_matches_its_simulated_frequency():
    # One null evaluation through the public path: what the test reports ...
    df = synthetic_evaluation(np.random.default_rng(42), rate_ratio=1.0)
    m = match(df, "treated", MATCHING_COVARIATES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reported = peterborough(Contrast.from_effect(m.effect("reoffences", kind="count"))).false_payment
    # ... against how often the test pays in 800 simulated null evaluations of the same design.
    sim = payment_probability(
        1.0, peterborough_rule(), n_treated=200, ratio=1, pool_size=2_000, draws=800, seed=20261126
    )
    print(sim.summary(), f"single report {reported:.3f}")
    assert abs(sim.analytic - sim.probability) < 3 * sim.mc_se
    assert abs(reported - sim.probability) < 3 * sim.mc_se + 2 * sim.analytic_sd
    assert 0.1 < sim.probability < 0.4  # a 200-person cohort pays by chance often: the point of the check


def test_payment_probability_at_a_real_effect_and_pooled_cohorts():
    sim = payment_probability(
        0.8, "peterborough", n_treated=200, ratio=1, pool_size=1_000, cohorts=2, pooled=0.075, draws=150, seed=5
    )
    assert sim.cohorts == 2 and sim.true_effect == 0.8
    assert abs(sim.analytic - sim.probability) < 3.5 * sim.mc_se + 0.01
    assert sim.probability > 0.6
    with pytest.raises(ParameterError, match="'pool_size' parameter"):
        simulate_matched_effects(0.9, n_treated=100, ratio=2, pool_size=150)


def test_payment_probability_of_a_binary_points_rule():
    # A 15-point true fall in the binary rate: a point-estimate rule on any fall nearly always pays.
    rule = point_estimate_rule(0.0, "binary", scale="points")
    sim = payment_probability(-0.15, rule, n_treated=150, ratio=1, pool_size=1_500, draws=60, seed=3)
    assert sim.measure == "binary" and sim.true_effect == -0.15
    assert sim.probability > 0.9 and sim.analytic > 0.9
