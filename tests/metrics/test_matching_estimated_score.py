"""Abadie and Imbens' (2016) adjustment for matching on an estimated logistic propensity score: the
formulas (Econometrica 84(2), Theorem 2 and section 4), written out unit by unit here, against
metrics.variance.estimated_score_adjustment; and how effect() applies it. bench/coverage.py measures
what it does to coverage (2,000 replications per design)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from metrics import fit_propensity, match
from metrics.variance import COVARIANCE_NEIGHBOURS, estimated_score_adjustment


def _by_definition(y, X, q, V, focal, focal_rows, match_rows, effect, ratio):
    n_focal = len(np.unique(focal_rows))
    f = q * (1 - q)
    c = np.zeros(X.shape[1])
    for i in range(len(y)):
        for group, weight in ((focal, 1.0), (~focal, q[i] / (1 - q[i]))):
            members = np.flatnonzero(group)
            near = members[np.argsort(np.abs(q[members] - q[i]))[:COVARIANCE_NEIGHBOURS]]
            cov = ((X[near] - X[near].mean(axis=0)) * (y[near] - y[near].mean())[:, None]).sum(axis=0)
            c += f[i] * weight * cov / (len(near) - 1)
    c /= n_focal
    d = np.zeros(X.shape[1])
    focal_units = np.flatnonzero(focal)
    for i in range(len(y)):
        if focal[i]:
            if i not in focal_rows:
                continue
            own, other = y[i], y[match_rows[focal_rows == i]].mean()
        else:
            own = y[focal_units[np.argsort(np.abs(q[focal_units] - q[i]))[:ratio]]].mean()
            other = y[i]
        d += X[i] * f[i] * (own - other - effect)
    d /= n_focal
    return -c @ V @ c + d @ V @ d


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(11)
    n = 700
    x = rng.normal(size=(n, 2))
    t = rng.random(n) < expit(-1 + 0.8 * x[:, 0] - 0.5 * x[:, 1])
    y = 1 + x[:, 0] + 2 * x[:, 1] + (1 + 0.5 * x[:, 0]) * t + rng.normal(size=n)
    return pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "t": t.astype(int), "y": y})


@pytest.mark.parametrize("ratio", [1, 2])
def test_adjustment_equals_the_formulas_written_out(world, ratio):
    model = fit_propensity(world, "t", ["x1", "x2"])
    m = match(world, "t", ["x1", "x2"], replace=True, ratio=ratio)
    y, X, q = world["y"].to_numpy(), model.design.full(), model.probability
    focal = world["t"].to_numpy() == 1
    effect = m.effect("y", se="abadie_imbens", score_adjustment=False).estimate
    got = estimated_score_adjustment(y, X, q, model.covariance, focal, m.focal_rows, m.match_rows, effect, ratio)
    want = _by_definition(y, X, q, model.covariance, focal, m.focal_rows, m.match_rows, effect, ratio)
    assert got == pytest.approx(want, rel=1e-10)


def test_effect_adds_the_adjustment_where_it_applies(world):
    m = match(world, "t", ["x1", "x2"])
    adjusted, plain = m.effect("y"), m.effect("y", score_adjustment=False)
    assert "adjusted for the estimated propensity score (Abadie and Imbens 2016)" in adjusted.method
    assert adjusted.estimate == plain.estimate and adjusted.se != plain.se
    model = m.propensity
    focal = world["t"].to_numpy() == 1
    extra = estimated_score_adjustment(
        world["y"].to_numpy(), model.design.full(), model.probability, model.covariance, focal, m.focal_rows,
        m.match_rows, plain.estimate, 1,
    )  # fmt: skip
    assert adjusted.se**2 == pytest.approx(plain.se**2 + extra, rel=1e-10)
    # not for a ready-made score, nor for a regression-adjusted or ratio effect
    ready = match(world.assign(ps=model.probability), "t", ["x1", "x2"], distance="ps")
    assert "Abadie and Imbens 2016" not in ready.effect("y").method
    assert "Abadie and Imbens 2016" not in m.effect("y", covariates=["x1"]).method


def test_local_covariances_are_the_same_floats_whatever_the_block(world):
    """The covariances are worked out unit by unit, so the block a unit falls in changes the time, not the floats."""
    from metrics.variance import ScoreNeighbours, _local_covariance

    model = fit_propensity(world, "t", ["x1", "x2"])
    y, X = world["y"].to_numpy(), model.design.full()
    near = ScoreNeighbours(model.probability, world["t"].to_numpy() == 1, 1)
    for rows in near.within:
        whole = _local_covariance(y, X, rows, block=len(y))
        for block in (1, 7, 256):
            assert np.array_equal(_local_covariance(y, X, rows, block=block), whole)
