"""Issue 26's sensitivity fixes: exact Rosenbaum bounds for the signed-rank test below EXACT_PAIRS
pairs (against full enumeration, scipy's exact Wilcoxon test and Rosenbaum's lead example), and the
risk-difference E-value as EValue's evalues.RD (against its published example and a from-the-paper
grid search as R does it). Reference numbers: tests/results/sensitivity_exact.py."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from metrics import Effect, e_value, match, rosenbaum_bounds
from metrics import sensitivity as sens
from metrics.sensitivity import EXACT_PAIRS, risk_difference_bias_factors
from tests.results import sensitivity_exact as ref


def _tail_by_enumeration(ranks, statistic, p):
    total = 0.0
    for signs in itertools.product([0, 1], repeat=len(ranks)):
        s = np.array(signs)
        if ranks @ s >= statistic - 1e-9:
            total += np.prod(np.where(s == 1, p, 1 - p))
    return total


@pytest.mark.parametrize("p", [0.5, 2 / 3, 0.8])
def test_exact_bound_equals_enumeration_with_tied_ranks(p):
    diff = np.array([3.0, -1.0, 2.0, 2.0, 5.0, -4.0, 7.0, 1.0, 6.0, -2.0, 8.0])  # ties: half ranks
    bound = sens._wilcoxon(diff)
    assert bound.ranks.tolist().count(1.5) == 2 and bound.ranks.tolist().count(4.0) == 3  # average ranks
    assert bound.p_value(p) == pytest.approx(_tail_by_enumeration(bound.ranks, bound.statistic, p), rel=1e-12)


def test_exact_bound_at_gamma_1_is_scipys_exact_wilcoxon():
    rng = np.random.default_rng(4)
    diff = rng.normal(0.4, 1, 30)
    bound = sens._wilcoxon(diff)
    expected = stats.wilcoxon(diff, alternative="greater", method="exact").pvalue
    assert bound.p_value(0.5) == pytest.approx(expected, rel=1e-12)


def test_lead_example_critical_gamma_is_exact_below_the_threshold():
    diff = np.array(ref.TREATED, dtype=float) - np.array(ref.CONTROL, dtype=float)
    bound = sens._wilcoxon(diff)
    assert bound.informative == 32 < EXACT_PAIRS
    assert sens._critical_gamma(bound, 0.05) == pytest.approx(ref.CRITICAL_GAMMA_EXACT, abs=0.005)
    normal = sens._Bound(bound.statistic, EXACT_PAIRS, bound.ranks)  # as many pairs as the threshold: normal
    assert sens._critical_gamma(normal, 0.05) == pytest.approx(ref.CRITICAL_GAMMA_NORMAL, abs=0.005)


def test_rosenbaum_bounds_say_which_distribution():
    rng = np.random.default_rng(8)
    df = pd.DataFrame({"x": rng.normal(size=120)})
    df["t"] = (rng.random(120) < 0.25).astype(int)
    df["y"] = df["x"] + 1.0 * df["t"] + rng.normal(size=120)
    rb = rosenbaum_bounds(match(df, "t", "x"), "y")
    assert rb.n_informative < EXACT_PAIRS and rb.test == "Wilcoxon signed-rank (exact)"
    assert "exact" in rb.statement()


def _evalues_rd_grid(n11, n10, n01, n00, alpha=0.05, grid=1e-4):
    """EValue::evalues.RD as its R code does it (Ding and VanderWeele 2016, p. 376): the first bias
    factor on a grid of step 1e-4 at which the lower limit of the corrected difference reaches 0."""
    n1, n0 = n11 + n10, n01 + n00
    n, f, p1, p0 = n1 + n0, n1 / (n1 + n0), n11 / n1, n01 / n0
    s2f, s2p1, s2p0 = f * (1 - f) / n, p1 * (1 - p1) / n1, p0 * (1 - p0) / n0
    diff = p0 * (1 - f) - p1 * f
    bf = (math.sqrt(diff**2 + 4 * p1 * p0 * f * (1 - f)) - diff) / (2 * p0 * f)
    z = stats.norm.ppf(1 - alpha / 2)
    b = np.arange(1, bf, grid)
    rd, share = p1 - p0 * b, f + (1 - f) / b
    low = rd * share - z * np.sqrt((s2p1 + s2p0 * b**2) * share**2 + rd**2 * (1 - 1 / b) ** 2 * s2f)
    first = b[np.argmax(low <= 0)]
    return bf + math.sqrt(bf * (bf - 1)), first + math.sqrt(first * (first - 1))


def test_risk_difference_e_value_is_evalues_rd():
    n11, n10, n01, n00 = ref.SMOKING_COUNTS
    point, lower = _evalues_rd_grid(n11, n10, n01, n00)
    assert lower == pytest.approx(ref.EVALUE_RD_LOWER, abs=5e-4)
    p1, p0 = n11 / (n11 + n10), n01 / (n01 + n00)
    effect = Effect(p1 - p0, 1e-4, 0.004, 0.005, 1e-9, n11 + n10, n01 + n00, "", "binary", "lung cancer",
                    "difference", p1, p0)  # fmt: skip
    ev = e_value(effect)
    assert ev.e_value == pytest.approx(point, rel=1e-12)
    assert ev.e_value_ci == pytest.approx(ref.EVALUE_RD_LOWER, abs=5e-4)
    assert ev.e_value_ci == pytest.approx(lower, abs=3e-4)  # R stops on a grid of step 1e-4 in the bias factor
    assert abs(ev.e_value_ci - ref.EVALUE_RR_LOWER_OLD) > 0.4
    assert "evalues.RD" in ev.method and "evalues.RD" in ev.statement()
    protective = Effect(p0 - p1, 1e-4, -0.005, -0.004, 1e-9, n01 + n00, n11 + n10, "", "binary", "lung cancer",
                        "difference", p0, p1)  # fmt: skip
    assert e_value(protective).e_value_ci == pytest.approx(ev.e_value_ci, rel=1e-12)  # relabelled, as R asks


def test_risk_difference_interval_containing_zero_gives_1():
    b, b_ci = risk_difference_bias_factors(0.32, 0.30, 100, 100, 0.05)
    assert b > 1 and b_ci == 1.0


@pytest.mark.parametrize(
    "scale, words",
    [("risk ratio", "evalues.RR"), ("odds ratio", "evalues.OR, rare = FALSE"), ("hazard ratio", "evalues.HR")],
)
def test_each_e_value_names_its_method(scale, words):
    ev = e_value(Effect(0.7, 0.1, 0.5, 0.9, 0.01, 100, 100, "", "binary", "y", scale, 0.3, 0.3))
    assert words in ev.method and words in ev.to_dict()["statement"]
