"""MatchIt's breadth: Mahalanobis and robust Mahalanobis distance (MatchIt's distance matrices, greedy
pairs), subclassification and discard (MatchIt 4.5.1, whose code for these does not go through its
buggy nearest-neighbour C++), ATC, optimal pair matching (brute force and an independent assignment
solver), entropy balancing (moment conditions and an independent convex solve), balance extras.

Reference numbers: tests/results/matching_inference.py and tests/data/lalonde_subclass.csv, made by
tests/results/make_matching_inference.R.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import optimize

from ground.errors import ParameterError
from metrics import MatchingShortfallWarning, entropy_balance, match
from metrics.distances import covariate_points, optimal_pairs
from tests.results import matching_inference as ref

DATA = Path(__file__).parent / "data"
COVARIATES = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]


@pytest.fixture(scope="module")
def lalonde():
    return pd.read_csv(DATA / "lalonde.csv")


@pytest.fixture(scope="module")
def subclass_ref():
    return pd.read_csv(DATA / "lalonde_subclass.csv")


@pytest.mark.parametrize("kind", ["mahalanobis", "robust_mahalanobis"])
def test_mahalanobis_distances_equal_matchit(lalonde, kind):
    t = lalonde["treat"].to_numpy() == 1
    P = covariate_points(lalonde, COVARIATES, t, kind=kind)
    tr, co = np.flatnonzero(t), np.flatnonzero(~t)
    D = np.sqrt(((P[tr][:, None, :] - P[co][None, :, :]) ** 2).sum(axis=2))
    expected = getattr(ref, kind.upper())
    assert_allclose(D[:3, :4].ravel(), expected[:12], rtol=1e-9)
    assert_allclose(D.sum(), expected[12], rtol=1e-10)


@pytest.mark.parametrize("kind", ["mahalanobis", "robust_mahalanobis"])
def test_greedy_mahalanobis_pairs_equal_brute_force_in_r(lalonde, kind):
    m = match(lalonde, "treat", COVARIATES, distance=kind)
    assert m.options["order"] == "data" and m.distance is None
    assert_array_equal(m.c_rows + 1, getattr(ref, f"{kind.upper()}_PAIRS"))
    table = m.balance()
    assert "distance" not in table.index and len(table) == 9


def test_mahalanobis_within_a_propensity_caliper(lalonde):
    m = match(lalonde, "treat", COVARIATES, mahvars=["age", "educ", "re74", "re75"], caliper=0.1)
    ps = m.distance
    assert np.all(np.abs(ps[m.t_rows] - ps[m.c_rows]) <= m.options["caliper_width"])
    assert m.counts.loc["matched", "treated"] < 185
    assert "Mahalanobis distance on age, educ, re74, re75" in m.summary()


@pytest.mark.parametrize("estimand", ["ATT", "ATE"])
def test_subclassification_equals_matchit(lalonde, subclass_ref, estimand):
    m = match(lalonde, "treat", COVARIATES, method="subclass", subclass=6, estimand=estimand)
    assert_array_equal(m.subclass_array, subclass_ref[f"subclass_{estimand}"].fillna(-1).to_numpy())
    assert_allclose(m.weight_array, subclass_ref[f"weight_{estimand}"], rtol=1e-12)
    e = m.effect("re78")
    assert "HC3" in e.method and e.estimand == estimand


def test_discard_equals_matchit(lalonde, subclass_ref):
    both = match(lalonde, "treat", COVARIATES, method="subclass", discard="both")
    assert_array_equal(both.discarded, subclass_ref["discarded_both"].to_numpy() == 1)
    assert_allclose(both.weight_array, subclass_ref["weight_discard"], rtol=1e-12)
    control = match(lalonde, "treat", COVARIATES, discard="control")
    assert_array_equal(control.discarded, subclass_ref["discarded_control"].to_numpy() == 1)
    c = control.counts
    assert c.loc["discarded", "control"] == subclass_ref["discarded_control"].sum()
    assert (c.loc["matched"] + c.loc["unmatched"] + c.loc["discarded"] == c.loc["all"]).all()
    reasons = control.exclusions.set_index(["group", "reason"])["n"]
    assert reasons[("control", "outside the common support (discard='control')")] == c.loc["discarded", "control"]


def test_atc_matches_controls_to_treated(lalonde):
    m = match(lalonde, "treat", COVARIATES, estimand="ATC", replace=True)
    assert m.options["order"] == "data" and m.estimand == "ATC"
    assert m.counts.loc["matched", "control"] == 429
    w = m.weight_array
    assert_allclose(w[lalonde["treat"] == 0], 1.0)
    assert_allclose(w[(lalonde["treat"] == 1) & (w > 0)].mean(), 1.0)
    e = m.effect("re78")
    t = lalonde["treat"].to_numpy() == 1
    expected = np.average(lalonde["re78"][t], weights=w[t]) - lalonde["re78"][~t].mean()
    assert_allclose(e.estimate, expected, rtol=1e-10)
    table = m.balance()
    sd_c = lalonde.loc[~t, "age"].std()
    age = table.loc["age", "before"]
    assert_allclose(age["smd"], (age["mean_treated"] - age["mean_control"]) / sd_c, rtol=1e-12)


def _total(d, pairs):
    return float(np.abs(d[pairs[0]] - d[pairs[1]]).sum())


def test_optimal_pairs_equal_brute_force():
    rng = np.random.default_rng(4)
    for _ in range(5):
        d = rng.random(11)
        focal, other = np.arange(4), np.arange(4, 11)
        pairs = optimal_pairs(focal, other, distance=d)
        best = min(
            sum(abs(d[f] - d[o]) for f, o in zip(focal, perm)) for perm in itertools.permutations(other, len(focal))
        )
        assert_allclose(_total(d, pairs), best, rtol=1e-12)


def test_optimal_pairs_on_lalonde_equal_an_assignment_solver(lalonde):
    m = match(lalonde, "treat", COVARIATES, method="optimal")
    d = m.distance
    t = lalonde["treat"].to_numpy() == 1
    cost = np.abs(d[t][:, None] - d[~t][None, :])
    r, c = optimize.linear_sum_assignment(cost)
    assert_allclose(_total(d, (m.t_rows, m.c_rows)), cost[r, c].sum(), rtol=1e-10)
    greedy = match(lalonde, "treat", COVARIATES)
    assert _total(d, (m.t_rows, m.c_rows)) <= _total(d, (greedy.t_rows, greedy.c_rows)) + 1e-12
    with pytest.warns(MatchingShortfallWarning, match=r"\(53 got 2, 40 got 1\)"):
        ratio2 = match(lalonde, "treat", COVARIATES, method="optimal", ratio=2, caliper=0.25)
    assert np.all(np.abs(d[ratio2.t_rows] - d[ratio2.c_rows]) <= ratio2.options["caliper_width"] + 1e-15)


def test_entropy_balancing_meets_the_moments_and_equals_a_convex_solve(lalonde):
    eb = entropy_balance(lalonde, "treat", ["age", "educ", "married", "nodegree", "re74", "re75"])
    t = lalonde["treat"].to_numpy() == 1
    X = lalonde[["age", "educ", "married", "nodegree", "re74", "re75"]].to_numpy(float)
    w = eb.weight_array
    assert_allclose(np.average(X[~t], axis=0, weights=w[~t]), X[t].mean(axis=0), rtol=1e-9)
    assert_allclose(w[t], 1.0)
    # independent: minimise the dual log-sum-exp with BFGS from scipy on standardised columns
    Z = (X[~t] - X[t].mean(axis=0)) / X[~t].std(axis=0)

    def dual(lam):
        return np.log(np.exp(Z @ lam).sum())

    lam = optimize.minimize(dual, np.zeros(Z.shape[1]), method="BFGS", options={"gtol": 1e-12}).x
    other = np.exp(Z @ lam)
    other /= other.mean()
    assert_allclose(w[~t], other, rtol=1e-5)
    assert eb.is_balanced(smd=1e-6, var_ratio=None)
    e = eb.effect("re78")
    assert e.estimand == "ATT" and "HC3" in e.method
    ate = entropy_balance(lalonde, "treat", ["age", "educ", "re74"], estimand="ATE", moments=2)
    wa = ate.weight_array
    Xa = lalonde[["age", "educ", "re74"]].to_numpy(float)
    for g in (t, ~t):
        assert_allclose(np.average(Xa[g], axis=0, weights=wa[g]), Xa.mean(axis=0), rtol=1e-9)
        assert_allclose(np.average(Xa[g] ** 2, axis=0, weights=wa[g]), (Xa**2).mean(axis=0), rtol=1e-9)


def test_balance_squares_interactions_and_thresholds(lalonde):
    m = match(lalonde, "treat", COVARIATES, caliper=0.2)
    table = m.balance(squares=True, interactions=True, thresholds={"smd": 0.1, "var_ratio": 2})
    assert "age²" in table.index and "age * educ" in table.index and "raceblack * racehispan" not in table.index
    ok = table[("after", "balanced")]
    smd, vr = table[("after", "smd")].abs(), table[("after", "var_ratio")]
    assert (ok == ((smd <= 0.1) & (vr.isna() | ((vr >= 0.5) & (vr <= 2))))).all()
    t = lalonde["treat"] == 1
    age2 = lalonde["age"] ** 2
    assert_allclose(table.loc["age²", ("before", "mean_treated")], age2[t].mean(), rtol=1e-12)
    assert "variables within |SMD| <= 0.1 after matching" in m.summary()
    assert isinstance(m.is_balanced(), bool)
    with pytest.raises(ParameterError, match="'thresholds' parameter of balance"):
        m.balance(thresholds={"ks": 0.1})
