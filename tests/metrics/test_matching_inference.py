"""Issue 16's inference against R: SEs with replacement (two-way clustering as sandwich, Abadie-Imbens
as Matching), regression-adjusted and ratio effects, Rosenbaum bounds (wilcox.test, binom.test and the
exact moments of the bounding distribution), E-values (VanderWeele & Ding's closed forms).

Reference numbers: tests/results/matching_inference.py, made by tests/results/make_matching_inference.R.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from ground.errors import MatchingError, ParameterError
from metrics import Effect, e_value, fit_propensity, match, rosenbaum_bounds
from metrics.variance import abadie_imbens_variance, within_group_variance
from tests.results import matching_inference as ref

DATA = Path(__file__).resolve().parents[1] / "data"
COVARIATES = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]


@pytest.fixture(scope="module")
def lalonde():
    d = pd.read_csv(DATA / "lalonde.csv")
    return d.assign(employed=(d["re78"] > 0).astype(int), shifted=d["re78"] + 2000 * d["treat"])


@pytest.fixture(scope="module")
def m1(lalonde):
    return match(lalonde, "treat", COVARIATES)


@pytest.fixture(scope="module")
def nn3(lalonde):
    # lalonde has controls with identical covariates; R's reference breaks ties with a tiny ramp
    ps = fit_propensity(lalonde, "treat", COVARIATES).probability
    data = lalonde.assign(ps2=ps + 1e-6 * np.arange(1, len(lalonde) + 1))
    return match(data, "treat", COVARIATES, distance="ps2", ratio=3, replace=True)


def test_with_replacement_matches_are_the_three_nearest(nn3):
    first = [nn3.c_rows[nn3.t_rows == t] + 1 for t in range(3)]
    assert sorted(np.concatenate(first).tolist()) == sorted(ref.NN3_FIRST)


def test_two_way_clustered_se_equals_sandwich_vcovcl(nn3):
    e = nn3.effect("re78", se="two_way")
    assert_allclose(e.estimate, ref.ATT_NN3, rtol=1e-9)
    assert_allclose(e.se, ref.SE_TWO_WAY_NN3, rtol=1e-9)
    assert "two-way" in e.method and e.n_treated == 185
    assert_allclose(nn3.effect("re78", se="hc3").se, ref.SE_HC3_NN3, rtol=1e-9)


@pytest.mark.parametrize("var_calc", [0, 2])
def test_abadie_imbens_equals_r_matching_on_its_own_matches(lalonde, var_calc):
    """The variance formula and the same-group outcome variances, given R Matching's matched sets."""
    sets = pd.read_csv(DATA / "lalonde_matching_ai.csv")
    y = lalonde["re78"].to_numpy()
    t = lalonde["treat"].to_numpy() == 1
    sigma2 = None
    if var_calc:
        ps = fit_propensity(lalonde, "treat", COVARIATES).probability + 1e-6 * np.arange(1, len(y) + 1)
        # Matching scales X to unit SD; the reference ran with distance.tolerance = 0 (no near-ties)
        sigma2 = within_group_variance(y, ps / ps.std(ddof=1), t, var_calc, tolerance=0.0)
    est, var = abadie_imbens_variance(y, sets["treated"].to_numpy() - 1, sets["control"].to_numpy() - 1, True, sigma2)
    expected = getattr(ref, f"MATCHING_AI_VARCALC{var_calc}")
    assert_allclose([est, np.sqrt(var)], expected, rtol=1e-7)


def test_abadie_imbens_is_the_default_with_replacement(nn3):
    e = nn3.effect("re78")
    assert "Abadie-Imbens" in e.method and "normal CI" in e.method
    assert_allclose(e.estimate, ref.ATT_NN3, rtol=1e-9)
    assert nn3.effect("re78", covariates=["age"]).method.count("two-way") == 1
    with pytest.raises(ParameterError, match="'two_way', 'abadie_imbens' or 'hc3' after matching with replacement"):
        nn3.effect("re78", se="cluster")


def test_regression_adjusted_att_equals_lm_with_interactions(m1):
    e = m1.effect("re78", covariates=COVARIATES)
    assert_allclose([e.estimate, e.se], ref.ADJUSTED_ATT, rtol=1e-7)
    assert "g-computation" in e.method


@pytest.mark.parametrize("scale, expected", [("risk ratio", ref.LOG_RISK_RATIO), ("odds ratio", ref.LOG_ODDS_RATIO)])
def test_binary_ratios_equal_r_glm_with_vcovcl(m1, lalonde, scale, expected):
    m = match(lalonde, "treat", COVARIATES)
    e = m.effect("employed", "binary", scale=scale)
    assert_allclose([np.log(e.estimate), e.se], expected, rtol=1e-7)
    assert e.ci_low < e.estimate < e.ci_high and e.scale == scale
    assert (
        f"{scale} of employed"
        in e.statement().replace("the risk of", "risk ratio of").replace("the odds of", "odds ratio of")
        or scale.split()[0] in e.statement()
    )


def test_adjusted_risk_ratio_equals_delta_method_in_r(lalonde):
    m = match(lalonde, "treat", COVARIATES)
    e = m.effect("employed", "binary", scale="risk_ratio", covariates=["age", "educ", "re74", "re75"])
    assert_allclose([np.log(e.estimate), e.se], ref.ADJUSTED_LOG_RISK_RATIO, rtol=1e-7)


def test_bootstrap_resamples_matched_sets(m1):
    a = m1.effect("re78", se="bootstrap", draws=199, seed=5)
    b = m1.effect("re78", se="bootstrap", draws=199, seed=5)
    assert a.se == b.se and len(a.details["bootstrap"]) == 199
    cluster = m1.effect("re78")
    assert 0.7 < a.se / cluster.se < 1.3
    assert a.ci_low < a.estimate < a.ci_high and "bootstrap" in a.method


def test_wilcoxon_bounds_equal_wilcox_test_and_psens(lalonde):
    m = match(lalonde, "treat", COVARIATES)
    rb = rosenbaum_bounds(m, "shifted", gammas=[1, 1.1, 1.2, 1.3])
    assert rb.test == "Wilcoxon signed-rank (normal approximation)" and rb.direction == "higher"
    assert_allclose(rb.table["p_upper"].iloc[0], ref.WILCOXON_P_GAMMA1, rtol=1e-9)
    assert_allclose(rb.table["p_upper"], ref.WILCOXON_UPPER, rtol=1e-9)
    # R takes 1 - pnorm(z): 4e-9 relative off at p = 1e-8
    assert_allclose(rb.table["p_lower"].iloc[[1, 3]], ref.WILCOXON_LOWER, rtol=1e-7)
    assert_allclose(rb.critical_gamma, ref.WILCOXON_CRITICAL_GAMMA, rtol=1e-8)
    assert "1.50 times as likely" in rb.statement()


def test_mcnemar_bounds_equal_binom_test(m1):
    rb = rosenbaum_bounds(m1, "employed", gammas=[1, 1.2, 1.5])
    assert rb.test.startswith("McNemar")
    assert [rb.statistic, rb.n_informative] == ref.MCNEMAR_COUNTS
    assert_allclose(rb.table["p_upper"], ref.MCNEMAR_UPPER, rtol=1e-9)
    assert rb.critical_gamma == 1.0 and "not significant" in rb.statement()


def test_signed_rank_bound_moments_are_exact():
    """Under Gamma the bound is sum(rank_i B_i), B_i ~ Bernoulli(G/(1+G)) independent: check the mean
    and variance used against a full enumeration of the 2^n sign patterns."""
    ranks = np.array([1.0, 2.5, 2.5, 4.0, 5.0, 6.0, 7.0])
    p = 2.0 / 3.0
    values, probs = [], []
    for signs in itertools.product([0, 1], repeat=len(ranks)):
        s = np.array(signs)
        values.append(ranks @ s)
        probs.append(np.prod(np.where(s == 1, p, 1 - p)))
    values, probs = np.array(values), np.array(probs)
    mean = values @ probs
    assert_allclose(mean, p * ranks.sum(), rtol=1e-12)
    assert_allclose(((values - mean) ** 2) @ probs, p * (1 - p) * np.sum(ranks**2), rtol=1e-12)


def test_rosenbaum_bounds_need_pairs(nn3):
    with pytest.raises(MatchingError, match="ratio=1 and replace=False"):
        rosenbaum_bounds(nn3, "re78")
    with pytest.raises(ParameterError, match="'gammas' parameter"):
        rosenbaum_bounds(match(pd.read_csv(DATA / "lalonde.csv"), "treat", COVARIATES), "re78", gammas=[0.5])


def _effect(scale, est, lo, hi, mean_control=0.3, kind="binary", **details):
    return Effect(est, 0.1, lo, hi, 0.01, 100, 100, "", kind, "y", scale, 0.3, mean_control, details=details)


def test_e_values_match_the_published_closed_forms():
    ev = e_value(_effect("risk ratio", 3.9, 1.8, 8.7))
    assert_allclose([ev.e_value, ev.e_value_ci], ref.EVALUE_RR, rtol=1e-12)
    assert round(ev.e_value, 1) == 7.3 and "7.26" in ev.statement()
    ev = e_value(_effect("odds ratio", 0.86, 0.75, 0.99))  # common outcome (30%): sqrt(OR)
    assert_allclose([ev.e_value, ev.e_value_ci], ref.EVALUE_OR_COMMON, rtol=1e-12)
    ev = e_value(_effect("hazard ratio", 0.56, 0.46, 0.69))
    assert_allclose([ev.e_value, ev.e_value_ci], ref.EVALUE_HR_COMMON, rtol=1e-12)
    md = Effect(0.5, 0.2, 0.1, 0.9, 0.01, 100, 100, "", "mean", "y", "difference", 0, 0, details={"outcome_sd": 1.0})
    ev = e_value(md)
    assert_allclose([ev.e_value, ev.e_value_ci], ref.EVALUE_MD, rtol=1e-12)
    assert e_value(_effect("risk ratio", 1.3, 0.9, 1.8)).e_value_ci == 1.0
    assert e_value(_effect("odds ratio", 0.5, 0.3, 0.8, mean_control=0.05)).risk_ratio == 0.5  # rare: OR as RR


def test_e_value_of_a_matched_binary_difference_uses_its_risk_ratio(m1):
    e = m1.effect("employed", "binary")
    assert e.details["risk_ratio"].scale == "risk ratio"
    ev = e_value(e)
    assert_allclose(ev.risk_ratio, np.exp(ref.LOG_RISK_RATIO[0]), rtol=1e-9)
    assert ev.e_value_ci == 1.0
