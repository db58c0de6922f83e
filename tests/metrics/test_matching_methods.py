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
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from ground.errors import ConvergenceError, ParameterError
from metrics import MatchingShortfallWarning, distances, entropy_balance, match
from metrics.distances import covariate_points, nearest_on_points, optimal_pairs
from tests.results import matching_inference as ref

DATA = Path(__file__).resolve().parents[1] / "data"
COVARIATES = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]


@pytest.fixture(scope="module")
def lalonde():
    return pd.read_csv(DATA / "lalonde.csv")


@pytest.fixture(params=["as given", "covariance nudged", "numbers scaled"])
def nudged(request, lalonde, monkeypatch):
    """lalonde with the rounding noise another machine could add: the covariance that the distances
    invert perturbed by 1e-12 of its scale (a symmetric random matrix), or every number scaled by
    1 + 1e-13. No distance, pair or effect may move."""
    if request.param == "covariance nudged":
        inverse_root, rng = distances._inverse_root, np.random.default_rng(0)

        def nudged_root(var):
            noise = rng.standard_normal(var.shape) * 1e-12 * np.abs(var).max()
            return inverse_root(var + (noise + noise.T) / 2)

        monkeypatch.setattr(distances, "_inverse_root", nudged_root)
    if request.param == "numbers scaled":
        numbers = ["age", "educ", "re74", "re75", "re78"]
        return lalonde.assign(**{c: lalonde[c] * (1 + 1e-13) for c in numbers})
    return lalonde


@pytest.fixture(scope="module")
def subclass_ref():
    return pd.read_csv(DATA / "lalonde_subclass.csv")


@pytest.mark.parametrize("kind", ["mahalanobis", "robust_mahalanobis"])
def test_mahalanobis_distances_equal_matchit(nudged, kind):
    t = nudged["treat"].to_numpy() == 1
    P = covariate_points(nudged, COVARIATES, t, kind=kind)
    tr, co = np.flatnonzero(t), np.flatnonzero(~t)
    D = np.sqrt(((P[tr][:, None, :] - P[co][None, :, :]) ** 2).sum(axis=2))
    expected = getattr(ref, kind.upper())
    assert_allclose(D[:3, :4].ravel(), expected[:12], rtol=1e-9)
    assert_allclose(D.sum(), expected[12], rtol=1e-10)


@pytest.mark.parametrize("kind", ["mahalanobis", "robust_mahalanobis"])
def test_greedy_mahalanobis_pairs_equal_brute_force_in_r(nudged, kind):
    m = match(nudged, "treat", COVARIATES, distance=kind)
    assert m.options["order"] == "data" and m.distance is None
    r_pairs = np.asarray(getattr(ref, f"{kind.upper()}_PAIRS")) - 1
    assert_array_equal(m.c_rows, r_pairs)
    table = m.balance()
    assert "distance" not in table.index and len(table) == 9
    # the effect on R's pairs, computed here without desist's distances
    y, t = nudged["re78"].to_numpy(), nudged["treat"].to_numpy() == 1
    assert_allclose(m.effect("re78").estimate, y[t].mean() - y[r_pairs].mean(), rtol=1e-12)


def test_greedy_mahalanobis_ties_go_to_the_unit_first_in_the_data():
    # two controls equally far from the focal unit but for 1e-13 of rounding, in either order
    for eps in (1e-13, -1e-13):
        points = np.array([[0.0, 0.0], [1.0 + eps, 0.0], [0.0, 1.0], [5.0, 5.0]])
        f, m = nearest_on_points(points, np.array([0]), np.array([1, 2, 3]))
        assert_array_equal(m, [1])
        f, m = nearest_on_points(points, np.array([0]), np.array([1, 2, 3]), ratio=2, replace=True)
        assert_array_equal(m, [1, 2])
    # a real difference is not a tie
    points = np.array([[0.0, 0.0], [1.001, 0.0], [0.0, 1.0]])
    assert_array_equal(nearest_on_points(points, np.array([0]), np.array([1, 2]))[1], [2])


def test_mahalanobis_within_a_propensity_caliper(nudged):
    m = match(nudged, "treat", COVARIATES, mahvars=["age", "educ", "re74", "re75"], caliper=0.1)
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


def test_optimal_pairs_on_lalonde_equal_an_assignment_solver(nudged):
    lalonde = nudged
    m = match(lalonde, "treat", COVARIATES, method="optimal")
    d = m.distance
    t = lalonde["treat"].to_numpy() == 1
    cost = np.abs(d[t][:, None] - d[~t][None, :])
    r, c = optimize.linear_sum_assignment(cost)
    assert_allclose(_total(d, (m.t_rows, m.c_rows)), cost[r, c].sum(), rtol=1e-10)
    greedy = match(lalonde, "treat", COVARIATES)
    assert _total(d, (m.t_rows, m.c_rows)) <= _total(d, (greedy.t_rows, greedy.c_rows)) * (1 + 1e-12)
    with pytest.warns(MatchingShortfallWarning, match=r"\(30 got 2, 86 got 1\)"):
        ratio2 = match(lalonde, "treat", COVARIATES, method="optimal", ratio=2, caliper=0.25)
    width = ratio2.options["caliper_width"]
    assert np.all(np.abs(d[ratio2.t_rows] - d[ratio2.c_rows]) <= width * (1 + 1e-12))
    # independent: the most treated units that can be matched at all, then the most controls (scipy's
    # maximum bipartite matching on the pairs the caliper allows), whatever rounding does to near-ties
    allowed = cost <= width
    most = [
        (maximum_bipartite_matching(csr_matrix(a), perm_type="column") >= 0).sum()
        for a in (allowed, allowed.repeat(2, axis=0))
    ]
    assert [len(set(ratio2.t_rows)), len(ratio2.t_rows)] == most == [116, 146]


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


def test_entropy_balancing_says_when_targets_cannot_be_met_together():
    # Issue 26: each target lies within its covariate's range, but the controls all have x2 = x1^2, so no
    # weighting gives mean x1 0.5 with mean x2 0.1 (a weighted mean of x1^2 is at least 0.25).
    rng = np.random.default_rng(2)
    x1 = np.r_[rng.uniform(0.4, 0.6, 50), rng.uniform(0, 1, 300)]
    x2 = np.r_[rng.uniform(0.05, 0.15, 50), x1[50:] ** 2]
    df = pd.DataFrame({"t": np.r_[np.ones(50), np.zeros(300)], "x1": x1, "x2": x2})
    with pytest.raises(ConvergenceError) as info:
        entropy_balance(df, "t", ["x1", "x2"], max_iter=60)
    message = str(info.value)
    assert "each target lies within its covariate's range" in message and "outside the range" not in message
    df.loc[:49, "x1"] += 2  # now x1's target is outside the controls' range, and the message names it
    with pytest.raises(ConvergenceError, match=r"outside the range of the group being weighted: x1 \(target 2\.5"):
        entropy_balance(df, "t", ["x1", "x2"], max_iter=60)


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
