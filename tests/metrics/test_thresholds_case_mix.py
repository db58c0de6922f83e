"""Case-mix-adjusted baselines and the tests against a baseline, by hand and against statsmodels."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats import proportion

from ground.errors import ParameterError, SchemaError
from metrics.thresholds import Contrast, PaymentRule, case_mix_baseline
from pricing import Contract, settle
from tests.pricing.test_settlement import events


def test_the_adjusted_baseline_by_difference_and_by_ratio():
    # Baseline 47.5% with its cohort predicted at 46%; this cohort predicted at 50%.
    assert case_mix_baseline(0.475, 0.46, 0.50) == pytest.approx(0.515, abs=1e-15)
    assert case_mix_baseline(0.475, 0.46, 0.50, "ratio") == pytest.approx(0.475 * 0.50 / 0.46, abs=1e-15)
    # Counts: 4.2 reoffences per reoffender, predicted 4.0 then, 4.4 now.
    assert case_mix_baseline(4.2, 4.0, 4.4, "ratio", "frequency") == pytest.approx(4.62, abs=1e-12)


@pytest.mark.parametrize(
    "args, parameter",
    [
        ((0.475, 0.46, 46.0), "cohort_predicted"),  # a percentage where a share belongs: 47.5% + 45.54 points
        ((0.10, 0.40, 0.20), "cohort_predicted"),  # the difference below 0
        ((0.475, 0.0, 0.5), "baseline_predicted"),
    ],
)
def test_an_impossible_adjusted_baseline_is_refused(args, parameter):
    with pytest.raises(ParameterError) as caught:
        case_mix_baseline(*args)
    assert caught.value.parameter == parameter


def test_the_two_sample_test_is_statsmodels_wald_test_of_two_proportions():
    # 456 of 1,000 against a baseline of 475 of 1,200.
    c = Contrast.against_baseline("binary", 0.456, 1_000, 475 / 1_200, 1_200)
    z = c.difference / c.se_difference
    reference = proportion.test_proportions_2indep(
        456, 1_000, 475, 1_200, method="wald", compare="diff", correction=False
    )
    assert z == pytest.approx(reference.statistic, rel=1e-12)


def test_the_baseline_interval_test_uses_the_baseline_n_alone():
    c = Contrast.against_baseline("binary", 0.456, 1_000, 0.475, 27_000, test="baseline_interval")
    se = math.sqrt(0.475 * 0.525 / 27_000)
    assert c.se_difference == pytest.approx(se, rel=1e-15) and c.se_log_ratio == pytest.approx(se / 0.475, rel=1e-15)
    rule = PaymentRule("significant", 0.0, "points", 0.05, "binary")
    r = rule.evaluate(c)
    assert r.decision_value == pytest.approx(0.019 - 1.6448536269514722 * se, rel=1e-12) and r.met
    with pytest.raises(ParameterError):
        Contrast.against_baseline("binary", 0.456, 1_000, 0.475, None, test="baseline_interval")


def test_the_decided_reduction_and_rise_are_the_one_sided_bounds():
    rule = PaymentRule("r", 0.0, "relative", 0.05)
    stat, se = math.log(0.9), 0.04
    assert float(rule.decided(stat, se)) == pytest.approx(1 - 0.9 * math.exp(1.6448536269514722 * 0.04), rel=1e-12)
    assert float(rule.decided_rise(-stat, se)) == pytest.approx(math.exp(-stat - 1.6448536269514722 * 0.04) - 1)
    estimate = PaymentRule("r", 0.0, "points")
    assert (
        float(estimate.decided(-0.03, 0.01)) == pytest.approx(0.03) and float(estimate.decided_rise(0.03, 0.01)) == 0.03
    )


def contract(adjust: str, test: str = "two_sample") -> Contract:
    raw = {
        "metric": {"name": "case mix"},
        "tranches": {"q": {"start": date(2015, 10, 1), "end": date(2015, 12, 31), "final": date(2017, 10, 27)}},
        "reoffending": {"measure": "binary"},
        "counterfactual": {"baseline": {"rate": 0.475, "n": 5_000, "predicted": 0.46, "risk": "ogrs", "period": "2011",
                                        "measure": "binary", "version": "v", "adjust": adjust, "test": test}},
        "rules": {"binary": {"type": "tranche", "measure": "binary", "against": "baseline", "scale": "points",
                             "at_least": 0.0, "decide_on": "lower_bound", "price_per_event": 100}},
    }  # fmt: skip
    return Contract.from_mapping(raw)


def cohort(risk: np.ndarray, reoffended: int) -> dict:
    n = len(risk)
    days = pd.Series(pd.date_range("2015-10-01", "2015-12-31", periods=n).normalize())
    people = pd.DataFrame({"person_id": [f"p{i:05d}" for i in range(n)], "start_date": days, "ogrs": risk})
    flags = np.r_[np.ones(reoffended, int), np.zeros(n - reoffended, int)]
    return {"people": people, "offences": events(people["person_id"].to_numpy(), days, flags)}


@pytest.mark.parametrize("adjust, baseline", [("difference", 0.475 + 0.04), ("ratio", 0.475 * 0.50 / 0.46)])
def test_a_settlement_adjusts_the_baseline_by_the_cohorts_mean_predicted_rate(adjust, baseline):
    # 2,000 people, half predicted at 40% and half at 60% (mean 50%, 4 points above the baseline cohort's 46%);
    # 900 reoffend (45%).
    risk = np.r_[np.full(1_000, 0.40), np.full(1_000, 0.60)]
    s = settle(contract(adjust), cohort(risk, 900), as_of="2017-10-27")
    row = s.tranches.iloc[0]
    assert row["comparison_mean"] == pytest.approx(baseline, rel=1e-12)
    assert row["estimate"] == pytest.approx(baseline - 0.45, rel=1e-12)
    se = math.sqrt(0.45 * 0.55 / 2_000 + baseline * (1 - baseline) / 5_000)
    assert row["decision_value"] == pytest.approx(baseline - 0.45 - 1.6448536269514722 * se, rel=1e-9)
    assert s.total_pence == round((baseline - 0.45) * 2_000 * 100 * 100)


def test_a_risk_score_written_as_a_percentage_is_refused_naming_the_column_and_rows():
    risk = np.r_[np.full(5, 45.0), np.full(5, 0.5)]
    with pytest.raises(SchemaError) as caught:
        settle(contract("difference"), cohort(risk, 4), as_of="2017-10-27")
    text = str(caught.value)
    assert "ogrs must be a predicted rate strictly between 0 and 1" in text and "rows" in text and "45" in text
