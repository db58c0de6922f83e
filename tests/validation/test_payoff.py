"""Gaming payoff: creaming and parking gains by hand, the tariffs that remove the creaming
incentive between segments, and the payment structure's share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy.special import expit, logit

from ground.errors import ParameterError
from pricing import PaymentStructure, Tariff
from pricing.structure import Investor
from validation.payoff import gaming_payoff


def _history(n=2000, seed=0, hours_effect=0.0):
    """Two segments: 'hard' people are harder (higher difficulty) and achieve less."""
    rng = np.random.default_rng(seed)
    hard = rng.random(n) < 0.5
    d = np.where(hard, rng.uniform(0.55, 0.9, n), rng.uniform(0.1, 0.45, n))
    h = rng.gamma(2.0, 20.0, n)
    p = expit(1.0 - 3.0 * (d - 0.5) + hours_effect * (np.log1p(h) - np.log1p(40)))
    return pd.DataFrame(
        {
            "segment": np.where(hard, "hard", "easy"),
            "difficulty": d,
            "hours": h,
            "cost": 100 + 22 * h,
            "settled": rng.random(n) < p,
        }
    )


def test_creaming_gain_is_the_reweighted_margin_by_hand():
    hist = _history()
    tariff = Tariff.from_dict({"settled": {"easy": 800.0, "hard": 800.0}})
    pay = gaming_payoff(hist, tariff, hist["segment"], strengths=[2.0], alternatives=False, draws=200)
    row = pay.table.set_index(["strategy", "strength"]).loc[("creaming", 2.0)]
    # By hand: the fitted chance of settling, the creaming weights, the weighted margin.
    import statsmodels.api as sm

    X = sm.add_constant(np.column_stack([logit(hist["difficulty"]), np.log1p(hist["hours"])]))
    p = sm.GLM(hist["settled"].astype(float), X, family=sm.families.Binomial()).fit().fittedvalues
    margin = 800 * p - hist["cost"]
    pct = (hist["difficulty"].rank().to_numpy() - 0.5) / len(hist)
    w = expit(logit(0.6) - 2 * np.log(2) * (pct - 0.05) / 0.9)
    assert_allclose(row["gain"], np.average(margin, weights=w) - margin.mean(), rtol=1e-6)
    assert row["gain_ci_low"] < row["gain"] < row["gain_ci_high"] and row["gain"] > 0
    assert row["provider_gain"] == pytest.approx(row["gain"])  # no structure: everything reaches the provider


def test_parking_without_a_dose_response_is_the_cost_saved():
    hist = _history(hours_effect=0.0)
    tariff = Tariff.from_dict({"settled": {"easy": 800.0, "hard": 800.0}})
    pay = gaming_payoff(hist, tariff, hist["segment"], strengths=[1.0], alternatives=False, draws=200)
    row = pay.table.set_index(["strategy", "strength"]).loc[("parking", 1.0)]
    pct = (hist["difficulty"].rank().to_numpy() - 0.5) / len(hist)
    cut = hist["hours"] * (1 - 2.0 ** (-(pct - 0.05) / 0.9))
    assert pay.cost_per_hour == pytest.approx(22.0)
    # Outcomes do not depend on hours here (the fitted slope is noise), so parking is nearly pure saving.
    assert row["gain"] == pytest.approx(22.0 * cut.mean(), rel=0.05)
    responsive = gaming_payoff(
        _history(hours_effect=1.5),
        tariff,
        _history(hours_effect=1.5)["segment"],
        strengths=[1.0],
        alternatives=False,
        draws=200,
    )
    lost = responsive.table.set_index(["strategy", "strength"]).loc[("parking", 1.0)]
    assert lost["gain"] < row["gain"] - 20 and responsive.dose_response.loc["settled", "per_log_hours"] > 1


def test_incentive_neutral_removes_the_creaming_gain_between_segments():
    """When difficulty matters only through the segment a person is in, pricing each segment to
    the same margin leaves nothing to gain by creaming; a flat price does not."""
    rng = np.random.default_rng(3)
    n = 3000
    hard = rng.random(n) < 0.5
    d = np.where(hard, 0.7, 0.3) + rng.uniform(-0.01, 0.01, n)
    hist = pd.DataFrame(
        {
            "segment": np.where(hard, "hard", "easy"),
            "difficulty": d,
            "hours": 40.0,
            "cost": 900.0,
            "settled": rng.random(n) < np.where(hard, 0.25, 0.6),
        }
    )
    tariff = Tariff.from_dict({"settled": {"easy": 1000.0, "hard": 1000.0}})
    pay = gaming_payoff(hist, tariff, hist["segment"], hours=None, strengths=[2.0], draws=300)
    gains = pay.gains()["creaming 2"]
    assert gains["given"] > 20 and gains["flat"] == pytest.approx(gains["given"], rel=1e-6)
    assert abs(gains["incentive_neutral"]) < 5
    assert "no hours column: parking (cutting hours) cannot be priced" in pay.summary()
    assert set(pay.table["strategy"]) == {"honest", "creaming"}


def test_structure_decides_what_reaches_the_provider():
    hist = _history()
    tariff = Tariff.from_dict({"settled": {"easy": 800.0, "hard": 800.0}})
    prime = PaymentStructure(service_fee=1e5, up_front_share=0.8, management_fee=0.2, subcontractors={"charity": 1.0})
    investor = PaymentStructure(service_fee=1e5, up_front_share=1.0, investor=Investor())
    for structure, share in ((prime, 0.8), (investor, 0.0)):
        pay = gaming_payoff(hist, tariff, hist["segment"], structure=structure, alternatives=False, draws=200)
        t = pay.table.set_index(["strategy", "strength"])
        honest = t.loc[("honest", 0.0)]
        for key in (("creaming", 1.0), ("parking", 2.0)):
            row = t.loc[key]
            d_income = row["income_per_person"] - honest["income_per_person"]
            d_cost = row["cost_per_person"] - honest["cost_per_person"]
            assert row["provider_gain"] == pytest.approx(share * d_income - d_cost)
        assert pay.outcome_share == share


def test_outputs_and_arguments():
    hist = _history(n=600)
    tariff = Tariff.from_dict({"settled": {"easy": 800.0, "hard": 800.0}})
    pay = gaming_payoff(hist, tariff, hist["segment"], draws=200)
    assert list(pay.gains().index) == list(pay.tariffs) == ["given", "flat", "by_difficulty", "incentive_neutral"]
    assert pay.to_dict()["payoff"][0]["strategy"] == "honest"
    assert len(pay.plot()) == 2
    with pytest.raises(ParameterError, match="The 'strengths' parameter of gaming_payoff must be a non-empty"):
        gaming_payoff(hist, tariff, hist["segment"], strengths=[])
    with pytest.raises(ParameterError, match="The 'difficulty' parameter of gaming_payoff must be a column of"):
        gaming_payoff(hist.assign(difficulty=hist["difficulty"] * 10), tariff, hist["segment"])
    with pytest.raises(ParameterError, match="The 'tariff' parameter of gaming_payoff must be a pricing.Tariff"):
        gaming_payoff(hist, {"settled": 800}, hist["segment"])
    with pytest.raises(Exception, match="missing the column settled"):
        gaming_payoff(hist.drop(columns="settled"), tariff, hist["segment"])
