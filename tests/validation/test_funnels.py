"""Funnel plot limits: exact binomial / Poisson limits by hand and from R,
the normal approximation, overdispersion and which units fall outside."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy.stats import binom, norm, poisson

from ground.errors import ParameterError, SchemaError
from tests.results import validation_funnel as ref
from validation import funnel
from validation.funnels import exact_limit, normal_limit


def _by_hand_binomial(p, n, p0):
    """Spiegelhalter (2005) A.1.1, step by step: walk r up until F(r) >= p."""
    r = 0
    while binom.cdf(r, n, p0) < p:
        r += 1
    assert r == binom.ppf(p, n, p0)
    f_r, f_below = binom.cdf(r, n, p0), binom.cdf(r - 1, n, p0)
    alpha = (f_r - p) / (f_r - f_below)
    return (r - alpha) / n


@pytest.mark.parametrize("case", list(ref.BINOMIAL))
def test_exact_binomial_limit_matches_hand_and_r(case):
    p, n, p0 = case
    got = float(exact_limit(p, n, p0))
    assert_allclose(got, _by_hand_binomial(p, n, p0), rtol=1e-12)
    assert_allclose(got, ref.BINOMIAL[case], rtol=1e-12)


@pytest.mark.parametrize("case", list(ref.POISSON))
def test_exact_poisson_limit_matches_r(case):
    p, e, target = case
    assert_allclose(float(exact_limit(p, e, target, kind="ratio")), ref.POISSON[case], rtol=1e-12)
    r = poisson.ppf(p, e)
    assert poisson.cdf(r, e) >= p > poisson.cdf(r - 1, e)


def test_literal_limits_worked_through():
    # n = 100, p0 = 0.3, upper 97.5%: F(38) = 0.96602 < 0.975 <= F(39) = 0.97901, so r = 39,
    # alpha = (0.97901 - 0.975) / (0.97901 - 0.96602) = 0.30880, limit = (39 - 0.30880) / 100.
    assert float(exact_limit(0.975, 100, 0.3)) == pytest.approx(0.3869120, abs=1e-7)
    # n = 20, p0 = 0.1, upper 99.9%: r = 7, alpha = 0.29656, limit = 0.3351718.
    assert float(exact_limit(0.999, 20, 0.1)) == pytest.approx(0.3351718, abs=1e-7)


def test_normal_limits_and_convergence():
    assert_allclose(normal_limit(0.975, 400, 0.2), 0.2 + norm.ppf(0.975) * np.sqrt(0.2 * 0.8 / 400))
    assert_allclose(normal_limit(0.001, 25.0, 1.0, kind="ratio"), 1 - 3.090232306 / 5, rtol=1e-8)
    # With large volumes the exact limits approach the normal ones.
    assert_allclose(exact_limit(0.999, 200_000, 0.3), normal_limit(0.999, 200_000, 0.3), rtol=2e-3)


def _providers(rates, sizes, seed=None):
    """One row per person; each provider's rate exactly ``rates`` (to rounding),
    or drawn at random around it when ``seed`` is given."""
    unit = np.repeat([f"PRV{i + 1:02d}" for i in range(len(sizes))], sizes)
    if seed is None:
        y = np.concatenate([np.arange(n) < round(r * n) for r, n in zip(rates, sizes)])
    else:
        y = np.random.default_rng(seed).random(len(unit)) < np.repeat(rates, sizes)
    return pd.DataFrame({"provider_id": unit, "reoffended": y, "expected": np.mean(rates)})


def test_funnel_units_limits_and_outside():
    sizes = [200, 300, 150, 400, 250, 500, 120, 350]
    rates = [0.3] * 7 + [0.55]
    f = funnel(_providers(rates, sizes), overdispersion=False)
    u = f.units.set_index("unit")
    assert u["volume"].tolist() == sizes
    assert f.target == pytest.approx(u["observed"].sum() / u["volume"].sum())
    for _, row in u.iterrows():
        assert row["high_99.8"] == pytest.approx(float(exact_limit(0.999, row["volume"], f.target)))
        assert row["low_95"] == pytest.approx(float(exact_limit(0.025, row["volume"], f.target)))
    assert f.outside(0.002) == ["PRV08"] and u.loc["PRV08", "outside_99.8"] == "above"
    assert not f.adjusted


def test_overdispersion_phi_is_winsorised_mean_square_z():
    rng = np.random.default_rng(4)
    sizes = rng.integers(100, 600, 20)
    f = funnel(_providers(rng.beta(12, 28, 20), sizes, seed=4))
    z = f.units["z"].to_numpy()
    lo, hi = np.quantile(z, [0.1, 0.9])
    assert_allclose(f.phi, np.mean(np.clip(z, lo, hi) ** 2), rtol=1e-12)
    assert f.phi > 1 and f.adjusted
    # Limits are widened about the target by sqrt(phi).
    u = f.units
    raw = exact_limit(0.975, u["volume"].to_numpy(), f.target)
    assert_allclose(u["high_95"], f.target + np.sqrt(f.phi) * (raw - f.target), rtol=1e-12)
    unadjusted = funnel(_providers(rng.beta(12, 28, 20), sizes, seed=4), overdispersion=False)
    assert len(unadjusted.outside(0.05)) >= len(f.outside(0.05))


def test_ratio_funnel_with_expected_and_clipping():
    df = _providers([0.3] * 6, [40, 60, 80, 100, 30, 10], seed=2)
    f = funnel(df, expected="expected", method="normal")
    assert f.kind == "ratio" and f.target == 1.0
    u = f.units
    assert_allclose(u["value"], u["observed"] / u["volume"])
    assert (u.filter(like="low_") >= 0).all().all()
    small = funnel(_providers([0.05] * 3, [20, 30, 25]), target=0.1, overdispersion=False)
    # The interpolated lower 99.8% limit at n = 20, p0 = 0.1 is below 0 and is clipped to 0.
    assert float(exact_limit(0.001, 20, 0.1)) < 0
    assert small.units.loc[0, "low_99.8"] == 0.0


def test_funnel_output_and_errors():
    f = funnel(_providers([0.3] * 5 + [0.6], [100, 200, 300, 150, 250, 200]))
    assert "Outside 99.8%: PRV06" in f.summary()
    assert f.to_dict()["outside"]["99.8"] == ["PRV06"]
    ax = f.plot()
    assert len(ax.lines) == 5
    with pytest.raises(ParameterError, match="The 'method' parameter of funnel must be one of 'exact', 'normal'"):
        funnel(_providers([0.3], [10]), method="wilson")
    with pytest.raises(ParameterError, match="The 'alphas' parameter of funnel must be a tuple of numbers in"):
        funnel(_providers([0.3], [10]), alphas=(0.05, 1.2))
    with pytest.raises(
        ParameterError, match=r"The 'target' parameter of funnel must be a number in the range \(0, 1\)"
    ):
        funnel(_providers([0.3], [10]), target=1.5)
    with pytest.raises(SchemaError, match="pooled rate of 'reoffended' is 0.0; a funnel needs some outcomes of each"):
        funnel(_providers([0.0, 0.0], [10, 20]))
    with pytest.raises(
        SchemaError, match=r"the .outcome. column .reoffended. must be bool or 0/1; other values at rows 0 \(2\)"
    ):
        funnel(pd.DataFrame({"provider_id": ["a", "b"], "reoffended": [2, 0]}))
