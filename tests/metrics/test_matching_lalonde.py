"""metrics.match against R MatchIt 4.7.2 on the lalonde data (tests/results/matchit_lalonde.py).

m1: 1:1 nearest neighbour without replacement, largest propensity score first.
m2: the same with a 0.2 SD caliper. Weights and subclasses of all 614 units must be
identical; the ATT, its pair-clustered SE and every balance statistic agree to 1e-6.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from metrics import fit_propensity, match
from tests.results import matchit_lalonde as ref

DATA = Path(__file__).resolve().parents[1] / "data"
COVARIATES = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]
FORMULA = "treat ~ age + educ + race + married + nodegree + re74 + re75"


@pytest.fixture(scope="module")
def lalonde():
    return pd.read_csv(DATA / "lalonde.csv")


@pytest.fixture(scope="module", params=["m1", "m2"])
def case(request, lalonde):
    name = request.param
    m = match(lalonde, "treat", COVARIATES, caliper=ref.MODELS[name]["caliper"])
    expected = pd.read_csv(DATA / f"lalonde_match_{name}.csv")
    return name, m, expected


def test_propensity_coefficients_match_glm(lalonde):
    ps = fit_propensity(lalonde, "treat", COVARIATES)
    expected = pd.Series(ref.PROPENSITY_COEFFICIENTS).rename({"(Intercept)": "Intercept"})
    assert list(ps.params.index) == list(expected.index)
    assert_allclose(ps.params.to_numpy(), expected.to_numpy(), rtol=1e-6)


def test_propensity_results_are_statsmodels_logit(lalonde):
    import statsmodels.api as sm

    from metrics.propensity import design_matrix

    ps = fit_propensity(lalonde, "treat", COVARIATES)
    X, names, _ = design_matrix(lalonde, COVARIATES)
    direct = sm.Logit(lalonde["treat"].to_numpy(float), X).fit(disp=False, tol=1e-12)
    assert names == ps.columns
    assert_allclose(ps.bse, direct.bse, rtol=1e-6)
    assert_allclose(ps.log_likelihood, direct.llf, rtol=1e-12)
    # statsmodels fits the null model iteratively; ours is the closed form
    assert_allclose(ps.null_log_likelihood, direct.llnull, rtol=1e-9)
    assert "racehispan" in ps.summary()
    assert list(ps.to_frame().columns) == ["coef", "se", "z", "p_value", "ci_low", "ci_high"]


def test_formula_gives_the_same_scores(lalonde):
    a = fit_propensity(lalonde, "treat", COVARIATES)
    b = fit_propensity(lalonde, "treat", formula=FORMULA)
    assert_allclose(b.probability, a.probability, rtol=1e-10)


def test_match_with_a_formula_gives_m1(lalonde):
    m = match(lalonde, "treat", formula=FORMULA)
    expected = pd.read_csv(DATA / "lalonde_match_m1.csv")
    assert_array_equal(m.weights.to_numpy(), expected["weight"].to_numpy())
    assert m.covariates == COVARIATES


def test_weights_identical_for_all_units(case):
    _, m, expected = case
    assert (m.weights.index == expected.index).all()
    assert_array_equal(m.weights.to_numpy(), expected["weight"].to_numpy())


def test_subclasses_identical(case):
    _, m, expected = case
    ours = pd.Series(m.subclass_array, dtype=float).replace(-1, np.nan)
    assert_array_equal(ours.to_numpy(), expected["subclass"].to_numpy(dtype=float))


def test_counts_and_caliper(case):
    name, m, _ = case
    r = ref.MODELS[name]
    assert m.counts.to_dict() == r["counts"]
    if r["caliper_raw_distance_units"] is not None:
        assert m.options["caliper_width"] == pytest.approx(r["caliper_raw_distance_units"], rel=1e-6)
    assert m.pairs["distance"].max() == pytest.approx(r["max_abs_pair_distance"], rel=1e-6)
    ex = m.exclusions
    assert ex["n"].sum() == m.counts.loc["unmatched"].sum() + m.counts.loc["discarded"].sum()


def test_att_and_pair_clustered_se(case):
    name, m, _ = case
    r = ref.MODELS[name]
    e = m.effect("re78", score_adjustment=False)  # MatchIt treats the score as known
    assert_allclose(e.estimate, r["att"], rtol=1e-6)
    assert_allclose(e.se, r["se_cluster_hc1"], rtol=1e-6)
    assert_allclose(e.p_value, r["p_t_df_resid"], rtol=1e-6)
    assert e.n_treated == e.n_control == r["counts"]["treated"]["matched"]
    assert e.ci_low < e.estimate < e.ci_high


def test_hc3_se_on_matched_sample(case):
    """HC3 (used with replacement) computed on the same matched sample equals
    sandwich::vcovHC(lm(re78 ~ treat, md, weights = weights), type = "HC3")."""
    name, m, _ = case
    e = m.effect("re78", se="hc3")
    assert_allclose(e.se, ref.MODELS[name]["se_hc3"], rtol=1e-6)
    assert "HC3" in e.method


@pytest.mark.parametrize("sample", ["before", "after"])
def test_every_balance_statistic(case, sample):
    name, m, _ = case
    table = m.balance()
    expected = ref.MODELS[name][f"balance_{sample}"]
    assert list(table.index) == list(expected)
    got = table[sample][ref.STATISTICS].to_numpy()
    want = np.array([[np.nan if v is None else v for v in row] for row in expected.values()])
    assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    assert_allclose(got[ok], want[ok], rtol=1e-6, atol=1e-12)


def test_summary_text(case):
    _, m, _ = case
    text = m.summary()
    assert "before matching" in text and "after matching" in text
    assert "racehispan" in text
