"""The chance a contract pays over its whole life, against independent calculations written here.

pricing.chances.rule_chances simulates a contract's own rules through the code that settles it. Each check
below computes the same chance another way: exactly, from binomial distributions (Doncaster-style, and an
interim settlement that sees part of a tranche), or by a simulation written here from the contract's words
(Peterborough-style: per-person negative binomial counts against a 10:1 comparison; Transforming
Rehabilitation-style: one baseline published per contract life, significance against its own interval, 18
quarters, deductions for a significant rise). Agreement is within 4 Monte Carlo SEs of the two together.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from scipy import stats

from pricing import Contract, scheme
from pricing.chances import rule_chances

Z = 1.6448536269514722


def close(simulated: float, se: float, expected: float, other_se: float = 0.0) -> bool:
    return abs(simulated - expected) <= 4 * math.hypot(se, other_se) + 1e-12


# ------------------------------------------------------------------ Doncaster-style: exact
@pytest.mark.parametrize("effect, truth", [(None, 0.58), (-0.05, 0.53)])
def test_a_fixed_baseline_points_rule_pays_as_the_binomial_says(effect, truth):
    n = 1_000
    r = rule_chances(scheme("doncaster"), n_per_tranche=n, base_rate=0.58, true_effect=-0.05, draws=6_000, seed=4)
    scenario = "none" if effect is None else "effect"
    # Met when 0.58 - k / n >= 0.05 (a count at exactly the target meets it): k <= 530.
    met = stats.binom.cdf(530, n, truth)
    any_paid = 1 - (1 - met) ** 2  # the bonus pays beyond 5 points: met above 5 points exactly pays, at 5 nothing
    exactly = stats.binom.pmf(530, n, truth)
    paid_each = met - exactly
    expected = 1 - (1 - paid_each) ** 2
    row = r.table.set_index(["rule", "scenario"]).loc[("target", scenario)]
    assert close(row["p_pays"], row["p_pays_se"], expected)
    assert close(r.chance_of_paying(scenario), r.chance_se(scenario), expected)
    clawed = 1 - met**2
    assert close(row["p_clawback"], math.sqrt(clawed * (1 - clawed) / 6_000), clawed)
    assert any_paid >= expected  # (a reminder that "met" and "paid" differ by the tie at exactly 5 points)


def test_an_interim_rule_sees_only_the_people_observable_by_its_date():
    """A tranche of 2013 settled at interim on 31 January 2015: with 365 + 182 days to observe, only those who
    started by 1 August 2013 are measured, (interim - start - 547 + 1) / 365 of the tranche."""
    raw = {
        "metric": {"name": "interim"},
        "tranches": {"t1": {"start": date(2013, 1, 1), "end": date(2013, 12, 31), "interim": date(2015, 1, 31),
                            "final": date(2015, 12, 31)},
                     "t2": {"start": date(2014, 1, 1), "end": date(2014, 12, 31), "interim": date(2016, 1, 31),
                            "final": date(2016, 12, 31)}},
        "reoffending": {"measure": "binary"},
        "counterfactual": {"baseline": {"rate": 0.5, "period": "p", "measure": "binary", "version": "v"}},
        "rules": {"early": {"type": "tranche", "measure": "binary", "against": "baseline", "scale": "points",
                            "at_least": 0.05, "settle": "interim", "amount": 1}},
    }  # fmt: skip
    contract = Contract.from_mapping(raw)
    share = ((date(2015, 1, 31) - date(2013, 1, 1)).days - 547 + 1) / 365
    n = 800
    seen = round(share * n)
    assert 0.2 < share < 0.6  # part of the tranche only
    r = rule_chances(contract, n_per_tranche=n, base_rate=0.5, true_effect=-0.05, draws=8_000, seed=2)
    # When nothing changed (truth 50%), met when 0.5 - k / seen >= 0.05.
    met = stats.binom.cdf(math.floor(0.45 * seen + 1e-9), seen, 0.5)
    per_tranche = r.per_tranche.set_index(["tranche", "scenario"])
    for tranche in ("t1", "t2"):
        simulated = per_tranche.loc[(tranche, "none"), "p_pays"]
        assert close(simulated, math.sqrt(met * (1 - met) / 8_000), met)
    # Had every one of the 800 been seen, paying by chance would be far rarer than on the part the interim sees.
    assert stats.binom.cdf(360, n, 0.5) < met / 5


# ------------------------------------------------------------------ Peterborough-style: simulated here
def peterborough_here(n: int, ratio: int, mean: float, shape: float, rate_ratio: float, draws: int, seed: int) -> float:
    """Chance anything is paid: per-person negative binomial counts, 10% per cohort or 7.5% pooled on the mean of
    the two cohorts' reductions, the pooled payment the events avoided net of the early payments."""
    rng = np.random.default_rng(seed)
    p_t, p_c = shape / (shape + mean * rate_ratio), shape / (shape + mean)
    treated = rng.negative_binomial(shape, p_t, size=(draws, 2, n)).mean(axis=2)
    control = rng.negative_binomial(shape, p_c, size=(draws, 2, n * ratio)).mean(axis=2)
    reduction = 1 - treated / control
    early = reduction >= 0.10
    earlier = ((control - treated) * n * early).sum(axis=1)
    avoided = ((control - treated) * n).sum(axis=1)
    pooled = (reduction.mean(axis=1) >= 0.075) & (avoided > earlier)
    return float((early.any(axis=1) | pooled).mean())


@pytest.mark.parametrize("scenario, rate_ratio", [("none", 1.0), ("effect", 0.88)])
def test_a_peterborough_style_contract_pays_as_a_per_person_simulation_says(scenario, rate_ratio):
    n, draws = 150, 3_000
    r = rule_chances(
        scheme("peterborough"), n_per_tranche=n, base_rate=1.5, true_effect=0.88, dispersion=2.0, draws=draws, seed=5
    )
    here = peterborough_here(n, 10, 1.5, 2.0, rate_ratio, draws, seed=17)
    assert close(r.chance_of_paying(scenario), r.chance_se(scenario), here, math.sqrt(here * (1 - here) / draws))
    assert 0.05 < here < 0.95  # a check that can fail either way


# ------------------------------------------------------------------ Transforming Rehabilitation-style
def tr_here(n: int, truth: float, draws: int, seed: int) -> tuple[float, float, float]:
    """Chances over 18 quarters of: a binary payment, a binary deduction, and anything paid (binary, or reoffences
    per reoffender behind the binary hurdle), one baseline published per life, tested against its own interval."""
    rng = np.random.default_rng(seed)
    n_b, b, n_rb, f_b = 27_000, 0.475, 12_825, 4.2
    published = rng.binomial(n_b, b, size=(draws, 1)) / n_b
    rate = rng.binomial(n, truth, size=(draws, 18)) / n
    se = np.sqrt(published * (1 - published) / n_b)
    paid = published - rate - Z * se >= 0
    deducted = rate - published - Z * se >= 0
    reoffenders = round(n * b)
    per_reoffender = rng.poisson(f_b * reoffenders, size=(draws, 18)) / reoffenders
    f_published = rng.poisson(f_b * n_rb, size=(draws, 1)) / n_rb
    se_f = np.sqrt(1 / (n_rb * f_published))
    frequency = (1 - np.exp(np.log(per_reoffender / f_published) + Z * se_f) >= 0) & (published - rate >= 0)
    return (
        float(paid.any(axis=1).mean()),
        float(deducted.any(axis=1).mean()),
        float((paid | frequency).any(axis=1).mean()),
    )


@pytest.mark.parametrize("scenario, truth", [("none", 0.475), ("effect", 0.472)])
def test_a_transforming_rehabilitation_style_contract_pays_as_a_simulation_here_says(scenario, truth):
    n, draws = 27_000, 3_000  # all CRCs' quarter, as large as the baseline cohort (assumed)
    r = rule_chances(
        scheme("transforming_rehabilitation"), n_per_tranche=n, base_rate=0.475,
        true_effect={"binary": -0.003, "per_reoffender": 1.0}, draws=draws, seed=8,
    )  # fmt: skip
    pays, deducts, anything = tr_here(n, truth, draws, seed=29)
    row = r.table.set_index(["rule", "scenario"]).loc[("binary", scenario)]
    assert close(row["p_pays"], row["p_pays_se"], pays, math.sqrt(pays * (1 - pays) / draws))
    deducted_se = math.sqrt(deducts * (1 - deducts) / draws)
    assert close(row["p_deduction"], math.sqrt(row["p_deduction"] * (1 - row["p_deduction"]) / draws), deducts,
                 deducted_se)  # fmt: skip
    anything_se = math.sqrt(anything * (1 - anything) / draws)
    assert close(r.chance_of_paying(scenario), r.chance_se(scenario), anything, anything_se)
    if scenario == "none":
        # One baseline for 18 quarters: its luck is every quarter's. Each quarter pays by chance with probability
        # Phi(-1.645 / sqrt 2) = 12%; were the quarters independent, something would be paid in 1 - 0.88^18 = 90%
        # of lives; sharing the baseline, in fewer.
        assert 0.3 < pays < 0.85


def test_the_monte_carlo_error_is_reported_and_shrinks_with_draws():
    small = rule_chances(scheme("doncaster"), n_per_tranche=500, base_rate=0.58, true_effect=-0.05, draws=400)
    large = rule_chances(scheme("doncaster"), n_per_tranche=500, base_rate=0.58, true_effect=-0.05, draws=6_400)
    p = large.chance_of_paying("effect")
    assert large.chance_se("effect") == pytest.approx(math.sqrt(p * (1 - p) / 6_400))
    assert small.chance_se("effect") > 3 * large.chance_se("effect")
    assert "MC SE" in large.summary()
