"""Abadie-Imbens inference as R's Matching computes it: Sekhon's (2011) published lalonde example
(every tied control kept, one outcome variance for everyone), and the variance neighbours found in
the whole sample with ties kept (Var.calc = J), against a from-the-definition loop.

Reference numbers: tests/results/matching_jss.py (the R call and its printed output are there).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ground.errors import ParameterError
from metrics import match
from metrics.variance import within_group_variance
from tests.results import matching_jss as ref

DATA = Path(__file__).resolve().parents[1] / "data"
COVARIATES = ["age", "educ", "black", "hisp", "married", "nodegr", "re74", "re75"]


@pytest.fixture(scope="module")
def nsw():
    return pd.read_csv(DATA / "nsw_dw.csv")


@pytest.fixture(scope="module")
def all_ties(nsw):
    return match(nsw, "treat", COVARIATES, replace=True, ties="all")


def test_sekhon_2011_example_is_reproduced(nsw, all_ties):
    # R: rr1 <- Match(Y = re78, Tr = treat, X = glm1$fitted); summary(rr1)
    e = all_ties.effect("re78", se="abadie_imbens", variance_matches=0, score_adjustment=False)
    assert len(nsw) == ref.N_OBSERVATIONS and e.n_treated == ref.N_TREATED
    assert len(all_ties.focal_rows) == ref.N_PAIRS
    assert e.estimate == pytest.approx(ref.ESTIMATE, abs=0.05)  # printed 2624.3
    assert e.se == pytest.approx(ref.AI_SE, abs=0.005)  # printed 802.19
    assert e.estimate / e.se == pytest.approx(ref.T_STAT, abs=5e-5)
    assert e.p_value == pytest.approx(ref.P_VALUE, rel=1e-4)
    assert "Var.calc = 0" in e.method and "Abadie-Imbens" in e.method


def test_breaking_ties_as_matchit_gives_another_estimate(nsw):
    # The 2576.4: one control per treated unit, MatchIt's rule for equal scores.
    e = match(nsw, "treat", COVARIATES, replace=True).effect("re78", se="abadie_imbens", score_adjustment=False)
    assert abs(e.estimate - ref.ESTIMATE) > 20


def test_ties_all_splits_each_weight_among_tied_controls(all_ties):
    per_focal = np.bincount(all_ties.focal_rows)[np.unique(all_ties.focal_rows)]
    assert per_focal.max() > 1 and per_focal.sum() == ref.N_PAIRS
    w = all_ties.weight_array
    assert w[all_ties.treated].sum() == ref.N_TREATED
    assert all_ties.pairs["match"].max() == per_focal.max()


def test_ties_all_needs_replacement_on_a_score(nsw):
    with pytest.raises(ParameterError, match="'all' is for nearest-neighbour matching with replacement"):
        match(nsw, "treat", COVARIATES, ties="all")
    with pytest.raises(ParameterError, match="'ties' parameter"):
        match(nsw, "treat", COVARIATES, replace=True, ties="some")


def _neighbour_variance_by_definition(y, x, group, j, tolerance):
    """Matching's VarCalcMatchC written out: for each unit, the same-group units (not itself) whose
    squared distance is at most the J-th smallest plus the tolerance, then the n - 1 variance of
    their outcomes and its own."""
    out = np.full(len(y), np.nan)
    for i in range(len(y)):
        same = np.flatnonzero((group == group[i]) & (np.arange(len(y)) != i))
        d2 = np.sum((x[same] - x[i]).reshape(len(same), -1) ** 2, axis=1)
        cut = np.sort(d2)[j - 1] + tolerance
        out[i] = np.var(np.r_[y[i], y[same[d2 <= cut]]], ddof=1)
    return out


@pytest.mark.parametrize("j", [1, 2, 3])
def test_variance_neighbours_keep_ties_in_the_whole_sample(j):
    rng = np.random.default_rng(j)
    x = np.round(rng.normal(size=300), 1)  # many exact ties
    group = rng.random(300) < 0.3
    y = x + rng.normal(size=300)
    got = within_group_variance(y, x, group, j)
    np.testing.assert_allclose(got, _neighbour_variance_by_definition(y, x, group, j, 1e-5), rtol=1e-12)
    near = np.round(x + 1e-3 * rng.random(300), 6)  # ties within the tolerance only
    np.testing.assert_allclose(
        within_group_variance(y, near, group, j, rows=np.arange(50)),
        np.r_[_neighbour_variance_by_definition(y, near, group, j, 1e-5)[:50], np.full(250, np.nan)],
        rtol=1e-12,
    )
    plane = np.column_stack([x, np.round(rng.normal(size=300), 1)])  # two dimensions: by blocks
    np.testing.assert_allclose(
        within_group_variance(y, plane, group, j),
        _neighbour_variance_by_definition(y, plane, group, j, 1e-5),
        rtol=1e-12,
    )


def test_default_variance_neighbours_are_m_from_the_whole_sample(nsw, all_ties):
    e = all_ties.effect("re78", se="abadie_imbens", score_adjustment=False)
    assert "Var.calc = 1" in e.method and "whole sample" in e.method
    m3 = match(nsw, "treat", COVARIATES, replace=True, ratio=3)
    assert "Var.calc = 3" in m3.effect("re78", se="abadie_imbens").method
    assert "normal CI" in e.method
