"""metrics.effects: Cox on the Rossi trial against R survival, and closed forms for the
count and binary estimators; the Effect result object; plots."""

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from metrics import Effect, compare, match
from tests.results import matching_effects as poisson_ref
from tests.results import rossi_coxph as ref

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def rossi():
    return pd.read_csv(DATA / "rossi.csv")


@pytest.fixture(scope="module")
def lalonde_m1():
    d = pd.read_csv(DATA / "lalonde.csv")
    return match(d, "treat", ["age", "educ", "race", "married", "nodegree", "re74", "re75"])


def test_cox_hazard_ratio_matches_r_coxph(rossi):
    e = compare(rossi, "fin", "week", kind="time", event="arrest", covariates=ref.COVARIATES[1:])
    assert_allclose(e.estimate, ref.HR_FIN, rtol=1e-6)
    assert_allclose(e.details["covariate_params"], ref.COEF, rtol=1e-6)
    assert_allclose(e.details["se_model"], ref.SE_MODEL[0], rtol=1e-6)
    # robust SE from Efron score residuals, as coxph(robust = TRUE); statsmodels'
    # own robust option (Breslow-type residuals) would be 0.4% off here
    assert_allclose(e.se, ref.SE_ROBUST[0], rtol=1e-6)
    assert e.scale == "hazard ratio" and e.ci_low < e.estimate < e.ci_high
    assert (e.n_treated, e.n_control) == (216, 216)


def test_weighted_cox_matches_r_coxph_weights(rossi):
    """Unequal weights (as after 1:k matching) go through metrics.survival.cox_fit."""
    w = np.where(rossi["race"] == 1, 2.0, 0.5) * (1 + rossi["prio"] / 10)
    e = compare(rossi, "fin", "week", kind="time", event="arrest", covariates=ref.COVARIATES[1:], weights=w.to_numpy())
    # paro's coefficient is near 0: R stops its Newton steps at a 1e-9 change
    assert_allclose(e.details["covariate_params"], ref.WEIGHTED_COEF, rtol=1e-6, atol=1e-8)
    assert_allclose(e.se, ref.WEIGHTED_SE_ROBUST[0], rtol=1e-6)
    assert "case weights" in e.method


def test_unadjusted_cox_and_kaplan_meier(rossi):
    e = compare(rossi, "fin", "week", kind="time", event="arrest")
    assert_allclose(np.log(e.estimate), ref.UNADJUSTED_COEF, rtol=1e-6)
    assert_allclose(e.se, ref.UNADJUSTED_SE_ROBUST, rtol=1e-6)
    km = e.details["kaplan_meier"]
    for group, expected in (("treated", ref.KM_FIN1), ("comparison", ref.KM_FIN0)):
        k = km[km["group"] == group]
        at = [k["survival"][k["time"] <= t].iloc[-1] for t in ref.KM_TIMES]
        assert_allclose(at, expected, rtol=1e-12)


def test_count_rate_ratio_closed_form(rossi):
    e = compare(rossi, "fin", "prio", kind="count")
    t = rossi["fin"] == 1
    y1, y0 = rossi.loc[t, "prio"], rossi.loc[~t, "prio"]
    assert_allclose(e.estimate, y1.mean() / y0.mean(), rtol=1e-10)
    # HC0 sandwich for a Poisson model with one 0/1 regressor
    v = ((y1 - y1.mean()) ** 2).sum() / y1.sum() ** 2 + ((y0 - y0.mean()) ** 2).sum() / y0.sum() ** 2
    assert_allclose(e.se, np.sqrt(v), rtol=1e-8)
    diff = e.details["difference"]
    assert_allclose(diff.estimate, y1.mean() - y0.mean(), rtol=1e-10)
    assert "rate of prio" in e.statement()


def test_count_matched_sandwich_matches_r(lalonde_m1):
    data = lalonde_m1.data.assign(jobs=lalonde_m1.data["re78"] // 5000)
    m = match(data, "treat", lalonde_m1.covariates)
    e = m.effect("jobs", kind="count")
    assert_allclose(np.log(e.estimate), poisson_ref.LOG_RATE_RATIO, rtol=1e-8)
    assert_allclose(e.se, poisson_ref.SE_CLUSTER, rtol=1e-6)
    md = data[m.weight_array > 0]
    unclustered = compare(md, "treat", "jobs", kind="count", weights=m.weight_array[m.weight_array > 0])
    assert_allclose(unclustered.se, poisson_ref.SE_HC0, rtol=1e-6)


def test_binary_difference_hc3_closed_form(rossi):
    e = compare(rossi, "fin", "arrest", kind="binary")
    t = rossi["fin"] == 1
    y1, y0 = rossi.loc[t, "arrest"], rossi.loc[~t, "arrest"]
    assert_allclose(e.estimate, y1.mean() - y0.mean(), rtol=1e-12)
    # HC3 with leverages 1/n_g: sum of squared residuals / (n_g - 1)^2 per group
    v = sum(((y - y.mean()) ** 2).sum() / (len(y) - 1) ** 2 for y in (y1, y0))
    assert_allclose(e.se, np.sqrt(v), rtol=1e-10)
    s = e.statement()
    assert "percentage points lower" in s and "216 treated" in s


def test_covariate_adjustment_and_weights(rossi):
    plain = compare(rossi, "fin", "arrest", kind="binary")
    adjusted = compare(rossi, "fin", "arrest", kind="binary", covariates=["age", "prio"])
    assert adjusted.estimate != pytest.approx(plain.estimate, rel=1e-6)
    w = np.where(rossi["race"] == 1, 2.0, 1.0)
    weighted = compare(rossi, "fin", "arrest", kind="binary", weights=w)
    t = rossi["fin"].to_numpy() == 1
    y = rossi["arrest"].to_numpy()
    expected = np.average(y[t], weights=w[t]) - np.average(y[~t], weights=w[~t])
    assert_allclose(weighted.estimate, expected, rtol=1e-10)


def test_effect_object(rossi):
    e = compare(rossi, "fin", "arrest", kind="binary")
    est, p = e
    assert (est, p) == (e.estimate, e.p_value)
    d = e.to_dict()
    assert d["n_treated"] == 216 and d["kind"] == "binary" and "statement" in d
    assert list(e.to_frame().columns)[:5] == ["estimate", "se", "ci_low", "ci_high", "p_value"]
    with pytest.raises(AttributeError):
        e.estimate = 0  # frozen
    assert isinstance(e, Effect)


def test_matched_effect_kinds(lalonde_m1):
    m = lalonde_m1
    data = m.data.assign(
        employed=(m.data["re78"] > 0).astype(int),
        jobs=(m.data["re78"] // 5000).astype(int),
        weeks=np.minimum(52, 1 + m.data["age"]),
        event=m.data["married"],
    )
    m2 = match(data, "treat", m.covariates)
    b = m2.effect("employed", kind="binary")
    md = data[m2.weight_array > 0]
    t = md["treat"] == 1
    assert_allclose(b.estimate, md.loc[t, "employed"].mean() - md.loc[~t, "employed"].mean())
    assert "clustered on matched set" in b.method
    c = m2.effect("jobs", kind="count")
    assert_allclose(c.estimate, md.loc[t, "jobs"].mean() / md.loc[~t, "jobs"].mean())
    s = m2.effect("weeks", kind="time", event="event")
    assert s.scale == "hazard ratio" and s.n_treated == 185
    assert_allclose(np.log(s.estimate), poisson_ref.COX_COEF, rtol=1e-6)
    assert_allclose(s.se, poisson_ref.COX_SE_CLUSTER, rtol=1e-6)


def test_plots(lalonde_m1):
    ax = lalonde_m1.plot_balance()
    lines = [ln.get_xdata()[0] for ln in ax.get_lines()]
    assert sorted(lines) == [0.1, 0.25]
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "distance"
    ax2 = lalonde_m1.plot_overlap()
    assert len(ax2.patches) == 3 and "matched controls" in ax2.get_legend().get_texts()[2].get_text()
    plt.close("all")
