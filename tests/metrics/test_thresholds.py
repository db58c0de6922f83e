"""Payment thresholds: decisions, CIs and analytic chances (by hand and against simulation)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from ground.errors import ParameterError
from metrics.thresholds import (
    Contrast,
    PaymentRule,
    compare_rules,
    confident_reduction_rule,
    doncaster,
    doncaster_rule,
    peterborough,
    peterborough_rule,
    point_estimate_rule,
)

K = 2.0  # negative binomial shape used throughout


def nb_comparisons(rng, draws, n_t, n_c, mu_c, ratio):
    """Vectorised trials of a frequency comparison: log ratio and its HC0 SE per trial."""
    p = K / (K + np.array([mu_c * ratio, mu_c]))
    y_t = rng.negative_binomial(K, p[0], (draws, n_t))
    y_c = rng.negative_binomial(K, p[1], (draws, n_c))
    m_t, m_c = y_t.mean(1), y_c.mean(1)
    se = np.sqrt(y_t.var(1) / (n_t * m_t**2) + y_c.var(1) / (n_c * m_c**2))
    return np.log(m_t / m_c), se


def test_peterborough_cohort_by_hand():
    # Cohort 1 of Peterborough: 142 against 155 events per 100 (an 8.4% reduction), no payment.
    c = Contrast.from_rates("frequency", 1.42, 1_000, 1.55, 10_000, dispersion=K)
    r = peterborough_rule().evaluate(c, true_effect=0.85)
    assert r.observed == pytest.approx(1 - 142 / 155)
    assert not r.met
    se = math.sqrt((1 / 1.42 + 1 / K) / 1_000 + (1 / 1.55 + 1 / K) / 10_000)
    assert c.se_log_ratio == pytest.approx(se)
    assert (r.ci_low, r.ci_high) == pytest.approx(
        (1 - (142 / 155) * math.exp(1.959964 * se), 1 - (142 / 155) * math.exp(-1.959964 * se)), rel=1e-6
    )
    # Chances use the SE at the true effect (rates 1.55 and 1.55 * RR).
    se0 = math.sqrt((1 / 1.55 + 1 / K) / 1_000 + (1 / 1.55 + 1 / K) / 10_000)
    assert r.false_payment == pytest.approx(norm.cdf(math.log(0.9) / se0), rel=1e-9)
    se1 = math.sqrt((1 / (1.55 * 0.85) + 1 / K) / 1_000 + (1 / 1.55 + 1 / K) / 10_000)
    assert r.payment_probability == pytest.approx(norm.cdf((math.log(0.9) - math.log(0.85)) / se1), rel=1e-9)
    assert "not met" in r.summary()


@pytest.mark.parametrize("true_ratio", [1.0, 0.85])
def test_peterborough_chance_matches_simulated_estimator(true_ratio):
    # 10,000 trials of NB counts (150 treated, 450 comparison), the rule applied to each.
    rng = np.random.default_rng(7)
    stat, se = nb_comparisons(rng, 10_000, 150, 450, 1.0, true_ratio)
    rule = peterborough_rule()
    share = rule.met_statistic(stat, se).mean()
    expected = Contrast.from_rates("frequency", true_ratio, 150, 1.0, 450, dispersion=K)
    chance = rule.chance(expected, true_ratio)
    assert abs(share - chance) < 3.5 * math.sqrt(chance * (1 - chance) / 10_000) + 0.005


def test_confident_rule_matches_simulated_estimator():
    rng = np.random.default_rng(8)
    stat, se = nb_comparisons(rng, 10_000, 200, 400, 1.2, 0.8)
    rule = confident_reduction_rule(0.05)
    share = rule.met_statistic(stat, se).mean()
    chance = rule.chance(Contrast.from_rates("frequency", 1.2 * 0.8, 200, 1.2, 400, dispersion=K), 0.8)
    assert abs(share - chance) < 3.5 * math.sqrt(chance * (1 - chance) / 10_000) + 0.005


def test_peterborough_pooled_and_combined_match_simulation():
    # Two cohorts of 150 (1:2): per-cohort 10% or pooled 7.5%; chances against 10,000 trials.
    rng = np.random.default_rng(9)
    draws = 10_000
    a, _ = nb_comparisons(rng, draws, 150, 300, 1.0, 1.0)
    b, _ = nb_comparisons(rng, draws, 150, 300, 1.0, 1.0)
    pooled = (2 - np.exp(a) - np.exp(b)) / 2
    any_paid = (a <= math.log(0.9)) | (b <= math.log(0.9)) | (pooled >= 0.075)
    cohorts = [Contrast.from_rates("frequency", 1.0, 150, 1.0, 300, dispersion=K, label=f"c{i}") for i in (1, 2)]
    r = peterborough(cohorts)
    mc = math.sqrt(r.false_payment * (1 - r.false_payment) / draws)
    assert abs(any_paid.mean() - r.false_payment) < 3.5 * mc + 0.005
    assert abs((pooled >= 0.075).mean() - r.pooled_false_payment) < 3.5 * mc + 0.005
    assert r.false_payment > max(r.pooled_false_payment, r.cohorts[0].false_payment)


def test_peterborough_pooled_is_size_weighted():
    big = Contrast.from_rates("frequency", 0.80, 3_000, 1.0, 9_000, dispersion=K)
    small = Contrast.from_rates("frequency", 1.00, 1_000, 1.0, 3_000, dispersion=K)
    r = peterborough([big, small], true_effect=0.9)
    assert r.weights == pytest.approx((0.75, 0.25))
    assert r.pooled == pytest.approx(0.75 * 0.2 + 0.25 * 0.0)
    assert r.met and r.pooled_met and r.cohorts[0].met and not r.cohorts[1].met
    assert [c.label for c in r.cohorts] == ["cohort 1", "cohort 2"]
    frame = r.to_frame()
    assert frame["rule"].tolist()[-1] == "Peterborough pooled"
    assert 0 < r.payment_probability < 1 and r.false_payment < r.payment_probability


def test_doncaster_by_hand():
    # Cohort 1 of Doncaster: 5.7 points below the 2009 baseline: met.
    r = doncaster((0.52, 1_178), (0.577, 1_200), true_effect=-0.05)
    assert r.met and r.observed == pytest.approx(0.057)
    se = math.sqrt(0.52 * 0.48 / 1_178 + 0.577 * 0.423 / 1_200)
    assert r.ci_low == pytest.approx(0.057 - 1.959964 * se, rel=1e-6)
    se0 = math.sqrt(0.577 * 0.423 / 1_178 + 0.577 * 0.423 / 1_200)
    assert r.false_payment == pytest.approx(norm.cdf(-0.05 / se0), rel=1e-9)
    assert r.payment_probability == pytest.approx(0.5, abs=1e-12)
    # Cohort 2: 3.3 points: not met. A fixed baseline (no n) has no sampling error.
    fixed = doncaster((0.544, 1_100), (0.577, None))
    assert not fixed.met
    assert fixed.ci_high - fixed.observed == pytest.approx(1.959964 * math.sqrt(0.544 * 0.456 / 1_100), rel=1e-6)
    # Outcomes as data give the same as their rate and n.
    y = np.r_[np.ones(52), np.zeros(48)]
    base = np.r_[np.ones(60), np.zeros(40)]
    assert doncaster(y, base).observed == pytest.approx(doncaster((0.52, 100), (0.6, 100)).observed)


def test_confident_rule_is_the_ci_bound():
    # With alpha = 0.025 the one-sided bound is the 95% CI's end.
    c = Contrast.from_rates("binary", 0.40, 500, 0.46, 1_500)
    r = confident_reduction_rule(0.0, alpha=0.025).evaluate(c)
    assert r.decision_value == pytest.approx(r.ci_low)
    assert r.met == (r.ci_low >= 0)
    assert r.false_payment == pytest.approx(0.025, abs=1e-12)
    assert point_estimate_rule().evaluate(c).false_payment == pytest.approx(0.5, abs=1e-12)


def test_compare_rules_table():
    c = Contrast.from_rates("frequency", 1.42, 1_000, 1.55, 10_000, dispersion=K)
    table = compare_rules(c, true_effect=0.9)
    frame = table.to_frame()
    assert frame["rule"].tolist() == [
        "Peterborough cohort",
        "Point estimate",
        "Significant reduction",
        "Confident 5% reduction",
    ]
    assert frame["met"].tolist() == [False, True, True, False]
    assert frame["false_payment"].iloc[1] == pytest.approx(0.5, abs=1e-12)
    assert frame["false_payment"].iloc[2] == pytest.approx(0.05, abs=1e-12)
    # Stricter rules pay less often at the same true effect.
    assert (
        frame["payment_probability"].iloc[1]
        > frame["payment_probability"].iloc[2]
        > frame["payment_probability"].iloc[3]
    )
    assert "false payment" in table.summary()
    binary = compare_rules(Contrast.from_rates("binary", 0.40, 500, 0.46, 1_500), true_effect=-0.05).to_frame()
    assert binary["rule"].iloc[0] == "Doncaster"


def test_from_outcomes_and_weights():
    treated = np.array([0, 1, 2, 0, 3, 1])
    control = np.array([1, 1, 2, 0, 3, 4, 2, 2])
    c = Contrast.from_outcomes(treated, control, measure="frequency")
    var = treated.var() / 6 + control.var() / 8
    assert c.se_difference == pytest.approx(math.sqrt(var))
    assert c.se_log_ratio == pytest.approx(
        math.sqrt(treated.var() / (6 * treated.mean() ** 2) + control.var() / (8 * control.mean() ** 2))
    )
    # Weight 2 on a control is the same mean as listing it twice.
    w = np.r_[2.0, np.ones(7)]
    cw = Contrast.from_outcomes(treated, control, measure="frequency", control_weights=w)
    assert cw.control_mean == pytest.approx(np.r_[1, control].mean())
    assert cw.n_control == pytest.approx(81 / 11)  # Kish effective size


def test_from_effect_keeps_the_users_se():
    from metrics import match

    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame({"x": rng.normal(size=n), "treated": rng.random(n) < 0.25})
    df["reoffences"] = rng.poisson(np.exp(0.2 * df["x"]))
    df["reoffended"] = (df["reoffences"] > 0).astype(int)
    m = match(df, "treated", ["x"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eb, ec = m.effect("reoffended", kind="binary"), m.effect("reoffences", kind="count")
    cb, cc = Contrast.from_effect(eb), Contrast.from_effect(ec)
    assert cb.se_difference == eb.se and cb.difference == pytest.approx(eb.estimate)
    assert cc.se_log_ratio == ec.se and math.exp(cc.log_ratio) == pytest.approx(ec.estimate)
    assert cc.se_difference == ec.details["difference"].se
    assert cb.measure == "binary" and cc.measure == "frequency"
    with pytest.raises(ParameterError, match="kind 'binary' or 'count'"):
        Contrast.from_effect(object())


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: PaymentRule("x", 1.5), "'at_least' parameter of PaymentRule"),
        (lambda: PaymentRule("x", 0.1, scale="percent"), "'scale' parameter"),
        (lambda: PaymentRule("x", 0.1, alpha=0.6), "'alpha' parameter"),
        (
            lambda: doncaster_rule().evaluate(Contrast.from_rates("frequency", 1, 10, 1, 10)),
            "a comparison of the binary measure, the one rule 'Doncaster' is defined on",
        ),
        (
            lambda: doncaster((1.2, 10), (0.5, 10)),
            "'treated' parameter of doncaster must be 0 < rate < 1 and n >= 1 when given as",
        ),
        (lambda: doncaster([0, 1, 2], (0.5, 10)), "0/1 outcomes"),
        (lambda: peterborough_rule().chance(Contrast.from_rates("frequency", 1, 10, 1, 10), -0.5), "'true_effect'"),
        (lambda: peterborough([]), "at least one Contrast"),
        (
            lambda: Contrast.from_outcomes([0, 1], [0, 1, 1], measure="binary", control_weights=[1, 1]),
            "control_weights",
        ),
    ],
)
def test_bad_input_is_named(call, match):
    with pytest.raises(ParameterError, match=match):
        call()


def test_peterborough_lone_cohort_is_not_pooled():
    # Cohort 1 of Peterborough: 142 vs 155 events per 100 (8.4%), 1,000 people against 10,000
    # comparisons (ratio assumed), negative binomial shape 2 (assumed). 8.4% is above the 7.5%
    # pooled level, but the pooled test settles cohorts together at the end: alone it pays nothing.
    c1 = Contrast.from_rates("frequency", 1.42, 1_000, 1.55, 10_000, dispersion=2.0)
    r = peterborough(c1)
    assert r.pooled == pytest.approx(1 - 142 / 155)
    assert not r.pooled_met and not r.met
    assert r.false_payment == pytest.approx(r.cohorts[0].false_payment, rel=1e-6)
    assert r.pooled_false_payment == 0.0
    assert "not applied" in r.summary()
    c2 = Contrast.from_rates("frequency", 1.38, 1_000, 1.53, 10_000, dispersion=2.0)
    assert peterborough([c1, c2]).met
