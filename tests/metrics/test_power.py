"""Power, MDE and required n: against statsmodels (arcsine form) and against simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.power import NormalIndPower, zt_ind_solve_power
from statsmodels.stats.proportion import proportion_effectsize

from ground.errors import ParameterError
from metrics.power import (
    Design,
    minimum_detectable_effect,
    power,
    power_curve,
    required_n,
    simulated_power,
    solve_power,
)

# (base rate, treated rate, treated n, ratio, alpha, alternative) spanning the PbR range.
CASES = [
    (0.45, 0.40, 500, 1, 0.05, "two-sided"),
    (0.45, 0.38, 300, 3, 0.05, "two-sided"),
    (0.30, 0.26, 1_000, 5, 0.10, "one-sided"),
    (0.60, 0.52, 150, 2, 0.01, "two-sided"),
    (0.12, 0.08, 800, 10, 0.05, "one-sided"),
]
SM_ALT = {"two-sided": "two-sided", "one-sided": "smaller"}


@pytest.mark.parametrize("p_c, p_t, n, k, alpha, alt", CASES)
def test_arcsine_power_agrees_with_statsmodels(p_c, p_t, n, k, alpha, alt):
    h = proportion_effectsize(p_t, p_c)
    expected = NormalIndPower().power(h, nobs1=n, alpha=alpha, ratio=k, alternative=SM_ALT[alt])
    got = power(Design("binary", p_c, ratio=k, alpha=alpha, alternative=alt, method="arcsine"), n, p_t - p_c).power
    assert got == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("p_c, p_t, n, k, alpha, alt", CASES)
def test_arcsine_required_n_and_mde_agree_with_statsmodels(p_c, p_t, n, k, alpha, alt):
    h = proportion_effectsize(p_t, p_c)
    n_sm = zt_ind_solve_power(effect_size=h, nobs1=None, alpha=alpha, power=0.8, ratio=k, alternative=SM_ALT[alt])
    n_ours = required_n(
        Design("binary", p_c, ratio=k, alpha=alpha, alternative=alt, method="arcsine"), p_t - p_c, power=0.8
    ).n_treated
    assert n_ours == pytest.approx(n_sm, rel=1e-6)

    h_sm = zt_ind_solve_power(effect_size=None, nobs1=n, alpha=alpha, power=0.8, ratio=k, alternative=SM_ALT[alt])
    mde = minimum_detectable_effect(
        Design("binary", p_c, ratio=k, alpha=alpha, alternative=alt, method="arcsine"), n, power=0.8
    )
    h_ours = proportion_effectsize(mde.treated_rate, p_c)
    assert abs(h_ours) == pytest.approx(abs(h_sm), abs=1e-6)
    assert h_ours < 0  # the MDE is a reduction
    # statsmodels' own power at our MDE is the target power (its effect-size solver stops near 1e-7).
    assert NormalIndPower().power(h_ours, nobs1=n, alpha=alpha, ratio=k, alternative=SM_ALT[alt]) == pytest.approx(
        0.8, abs=1e-10
    )


def test_wald_required_n_matches_textbook_closed_form():
    # One-sided: n = (z_a + z_b)^2 (p_t q_t + p_c q_c / k) / d^2 (Fleiss et al. 2003, 4.2 without
    # continuity correction); 0.45 -> 0.40, k = 3, alpha 0.025 one-sided, power 0.9.
    z = 1.959963984540054 + 1.2815515655446004
    expected = z**2 * (0.4 * 0.6 + 0.45 * 0.55 / 3) / 0.05**2
    got = required_n(Design("binary", 0.45, ratio=3, alpha=0.025, alternative="one-sided"), -0.05, power=0.9)
    assert got.n_treated == pytest.approx(expected, rel=1e-12)
    assert got.n_treated_required == math.ceil(expected)


@pytest.mark.parametrize(
    "measure, base, effect, kw",
    [
        ("binary", 0.45, None, {"ratio": 3}),
        ("binary", 0.2, None, {"ratio": 1, "alternative": "one-sided", "design_effect": 1.4}),
        ("frequency", 1.2, None, {"ratio": 2, "dispersion": 2.0}),
        ("frequency", 0.6, None, {"ratio": 4, "phi": 2.5, "alpha": 0.1}),
    ],
)
def test_mde_required_n_and_power_are_one_relation(measure, base, effect, kw):
    design = Design(measure, base, **kw)
    mde = minimum_detectable_effect(design, 600, power=0.85)
    assert power(design, 600, mde.effect).power == pytest.approx(0.85, abs=1e-9)
    assert required_n(design, mde.effect, power=0.85).n_treated == pytest.approx(600, rel=1e-8)
    assert solve_power(design, n_treated=600, power=0.85) == mde


def test_design_effect_is_a_variance_multiplier():
    # Doubling the variance is the same as halving both groups.
    a = power(Design("binary", 0.45, ratio=2, design_effect=2.0), 800, -0.05).power
    b = power(Design("binary", 0.45, ratio=2), 400, -0.05).power
    assert a == pytest.approx(b, abs=1e-12)
    assert required_n(Design("binary", 0.45, design_effect=1.5), -0.05).n_treated == pytest.approx(
        1.5 * required_n(Design("binary", 0.45), -0.05).n_treated, rel=1e-12
    )
    # Counts: proportional but for the small-sample bias term, which the design effect does not scale.
    assert required_n(Design("frequency", 1.0, design_effect=1.5, dispersion=2), 0.9).n_treated == pytest.approx(
        1.5 * required_n(Design("frequency", 1.0, dispersion=2), 0.9).n_treated, rel=1e-3
    )


def test_frequency_variance_by_hand():
    # mu_c = 1.2, RR 0.9, k = 2, ratio 2: v_t = 1/1.08 + 1/2, v_c = 1/1.2 + 1/2; E[log mean] is
    # log mu - v / (2 n) in each group.
    v_t, v_c = 1 / 1.08 + 0.5, 1 / 1.2 + 0.5
    var = v_t / 800 + v_c / 1600
    x = -(math.log(0.9) - v_t / 1600 + v_c / 3200) / math.sqrt(var)
    from scipy.stats import norm

    expected = norm.cdf(x - norm.isf(0.025)) + norm.cdf(-x - norm.isf(0.025))
    assert power(Design("frequency", 1.2, ratio=2, dispersion=2.0), 800, 0.9).power == pytest.approx(
        expected, abs=1e-12
    )
    # phi form: var = phi * mu; Poisson is phi = 1.
    assert power(Design("frequency", 1.2, phi=1.0), 800, 0.9).power == pytest.approx(
        power(Design("frequency", 1.2), 800, 0.9).power, abs=1e-12
    )


# Simulation: 10,000 trials each; agreement within 3.5 Monte Carlo SEs (about 1.4 points).
# Measured with 100,000 trials, the formula's own error is at most 0.0023 for these binary cases
# and at most 0.007 for counts (1.2 base, 300 treated, 1:3, k = 2) now that the count formula
# includes the small-sample bias of log(mean); without that term counts were 0.6-1.4 points
# off. Leaving out the dispersion term or the comparison group's variance moves power by 0.05
# or more.
SIM_CASES = [
    ("binary", 0.45, 300, -0.08, {"ratio": 3}),
    ("binary", 0.45, 800, -0.04, {"ratio": 1, "alternative": "one-sided"}),
    ("binary", 0.30, 400, -0.07, {"ratio": 5, "method": "arcsine"}),
    ("frequency", 1.2, 300, 0.80, {"ratio": 3, "dispersion": 2.0}),
    ("frequency", 0.8, 250, 0.75, {"ratio": 1, "dispersion": 1.0, "alternative": "one-sided"}),
    ("frequency", 1.5, 200, 0.85, {"ratio": 2}),
    ("frequency", 1.2, 300, 1.00, {"ratio": 3, "dispersion": 2.0}),  # size of the test
]


@pytest.mark.parametrize("measure, base, n, effect, kw", SIM_CASES)
def test_power_agrees_with_simulation(measure, base, n, effect, kw):
    sim = simulated_power(Design(measure, base, **kw), n, effect, draws=10_000, seed=20261125)
    assert abs(sim.power - sim.analytic.power) < 3.5 * sim.mc_se, sim.summary()


def test_power_curve_frame_and_plot():
    curve = power_curve(
        Design("frequency", 1.2, ratio=3, dispersion=2.0), n_treated=np.array([100, 200, 400, 800]), effect=0.85
    )
    frame = curve.to_frame()
    assert list(frame["n_treated"]) == [100, 200, 400, 800]
    assert frame["power"].is_monotonic_increasing
    assert frame["power"].iloc[2] == pytest.approx(
        power(Design("frequency", 1.2, ratio=3, dispersion=2.0), 400, 0.85).power
    )
    by_effect = power_curve(Design("binary", 0.45, ratio=2), n_treated=500, effect=[-0.10, -0.05, -0.02])
    assert by_effect.varying == "effect"
    assert by_effect.to_frame()["power"].is_monotonic_decreasing
    ax = by_effect.plot()
    assert len(ax.lines) == 3
    assert ax.get_ylabel() == "power"


def test_result_shapes():
    r = minimum_detectable_effect(Design("binary", 0.45, ratio=3), 500)
    d = r.to_dict()
    assert d["solved_for"] == "effect" and d["ratio"] == 3 and d["n_control"] == 1500
    assert r.to_frame().shape[0] == 1
    assert "minimum detectable effect" in r.summary()
    assert r.relative == pytest.approx(r.treated_rate / 0.45 - 1)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: power(Design("binary", 1.2), 100, -0.1), "'base_rate' parameter of Design must be a proportion"),
        (
            lambda: power(Design("rate", 0.4), 100, -0.1),
            "'measure' parameter of Design must be one of 'binary', 'frequency'. Got 'rate'",
        ),
        (lambda: power(Design("binary", 0.4), 100, -0.5), "'effect' parameter of power must be a difference"),
        (
            lambda: power(Design("frequency", 1.0, dispersion=2, phi=2), 100, 0.9),
            "'dispersion' and 'phi' parameters of Design must be given at most one",
        ),
        (
            lambda: power(Design("binary", 0.4, dispersion=2), 100, -0.1),
            "'dispersion' parameter of Design must be None for measure='binary'",
        ),
        (lambda: required_n(Design("binary", 0.4, alternative="one-sided"), 0.05), "must be a reduction"),
        (
            lambda: minimum_detectable_effect(Design("binary", 0.05), 3, power=0.99),
            "'n_treated' parameter of minimum_detectable_effect must be large enough for some reduction",
        ),
        (
            lambda: power_curve(Design("binary", 0.4), n_treated=[1, 2], effect=[-0.1, -0.2]),
            "'n_treated' parameter of power_curve must be a sequence when 'effect' is one number",
        ),
        (lambda: Design("binary", 0.4, alpha=1.5), "'alpha' parameter of Design must be"),
        (lambda: solve_power(Design("binary", 0.4), n_treated=100), "must be given all but one"),
    ],
)
def test_bad_arguments_are_named(call, match):
    with pytest.raises(ParameterError, match=match):
        call()


def test_negative_binomial_shape_recovers_k_and_treats_weights_as_frequencies():
    from metrics.power import negative_binomial_shape

    rng = np.random.default_rng(7)
    k, mu = 2.0, 0.9
    counts = rng.negative_binomial(k, k / (k + mu), 400_000)
    assert negative_binomial_shape(counts) == pytest.approx(k, rel=0.03)
    values, freq = np.unique(counts[:500], return_counts=True)
    assert negative_binomial_shape(values, freq) == pytest.approx(negative_binomial_shape(counts[:500]), rel=1e-12)
    assert (
        negative_binomial_shape(rng.poisson(1.0, 10_000)) is None
        or negative_binomial_shape(rng.poisson(1.0, 10_000)) > 50
    )


# ------------------------------------------------------------------ planning: power_report (desist power's figures)


@pytest.mark.parametrize(
    ("measure", "base", "n", "effect", "kw"),
    [
        ("binary", 0.45, 500, None, {"ratio": 3}),
        ("binary", 0.45, None, -0.05, {"ratio": 3, "method": "arcsine"}),
        ("frequency", 1.2, 400, 0.9, {"ratio": 2, "dispersion": 2.0, "alternative": "one-sided"}),
    ],
)
def test_power_report_is_the_power_functions_and_the_usual_rules_chance(measure, base, n, effect, kw):
    from metrics.planning import power_report, usual_rule
    from metrics.thresholds import Contrast

    design = Design(measure, base, **kw)
    report = power_report(design, n, effect)
    expected = {
        "mde": None if n is None else minimum_detectable_effect(design, n),
        "required_n": None if effect is None else required_n(design, effect),
        "power": None if n is None or effect is None else power(design, n, effect),
    }
    assert {k: v.to_dict() for k, v in report.results().items()} == {
        k: v.to_dict() for k, v in expected.items() if v is not None
    }
    size = n if n is not None else expected["required_n"].n_treated_required
    null = Contrast.from_rates(measure, base, size, base, size * kw["ratio"], dispersion=kw.get("dispersion"))
    rule = usual_rule(measure)
    assert report.payment.false_payment == rule.chance(null) and report.payment.n_treated == size
    assert report.payment.payment_probability == (None if effect is None else rule.chance(null, effect))
    assert list(report.to_dict()) == [*report.results(), "payment"]


def test_power_report_needs_a_cohort_size_or_an_effect():
    from metrics.planning import power_report

    with pytest.raises(
        ParameterError, match="'n_treated' parameter of power_report must be given, or 'effect' given, or both"
    ):
        power_report(Design("binary", 0.45), None, None)
