"""Creaming and parking screens: hand-checked statistics, the world's mechanism,
and calibration on synthetic worlds (size and power)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats
from scipy.special import expit, logit

from cohorts.synthetic import MEAN_HOURS, make_world
from ground.errors import ModelError, ParameterError, SchemaError
from studies.screen_calibration import SCENARIOS, flag_rates
from validation import creaming_screen, parking_screen
from validation.screens import common_trend, separate_trends


def _eligible(n=3000, c=0.0, seed=0, providers=6):
    """Eligible people whose enrolment odds fall by 2**-c from easiest to hardest decile."""
    rng = np.random.default_rng(seed)
    d = rng.beta(2, 4, n)
    slope = (pd.Series(d).rank(pct=True).to_numpy() - 0.05) / 0.9
    enrolled = rng.random(n) < expit(logit(0.6) - c * np.log(2) * slope)
    return pd.DataFrame(
        {
            "difficulty": d,
            "enrolled": enrolled,
            "provider_id": rng.choice([f"PRV{i:02d}" for i in range(1, providers + 1)], n),
        }
    )


def _enrolled(n=1500, p=0.0, seed=0):
    rng = np.random.default_rng(seed)
    d = rng.beta(2, 4, n)
    slope = (pd.Series(d).rank(pct=True).to_numpy() - 0.05) / 0.9
    expected = 1 - d
    return pd.DataFrame(
        {
            "difficulty": d,
            "hours": rng.gamma(2.0, 20.0, n) * 2.0 ** (-p * slope),
            "expected": expected,
            "attained": rng.random(n) < expected,
            "provider_id": rng.choice(["A", "B", "C"], n),
        }
    )


def test_creaming_statistics_match_hand_computation():
    df = _eligible(c=1.0)
    s = creaming_screen(df)
    row = s.table.iloc[0]
    d, y = df["difficulty"].to_numpy(), df["enrolled"].to_numpy()
    # SMD: enrolled mean minus all-eligible mean over the all-eligible SD.
    assert_allclose(row["smd"], (d[y].mean() - d.mean()) / d.std(ddof=1), rtol=1e-12)
    # KS distance to all eligible, computed directly on the overlapping samples.
    assert_allclose(row["ks_d"], stats.ks_2samp(d[y], d).statistic, rtol=1e-9)
    assert_allclose(row["ks_p"], stats.ks_2samp(d[y], d[~y]).pvalue, rtol=1e-12)
    # Logistic slope on the mid-rank percentile, one-sided p.
    pct = (stats.rankdata(d) - 0.5) / len(d)
    import statsmodels.api as sm

    fit = sm.Logit(y.astype(float), sm.add_constant(pct)).fit(disp=0)
    assert_allclose(row["slope"], fit.params[1], rtol=1e-8)
    assert_allclose(row["p_trend"], stats.norm.cdf(fit.tvalues[1]), rtol=1e-8)
    assert_allclose(row["ratio"], np.exp(0.9 * fit.params[1]), rtol=1e-8)
    # Decile table: enrolment rate per decile of difficulty.
    dec = pd.qcut(d, 10, labels=False) + 1
    by_hand = pd.Series(y).groupby(dec).mean().to_numpy()
    assert_allclose(s.deciles["rate"].to_numpy(), by_hand, rtol=1e-12)
    assert s.deciles["n"].sum() == len(df)


def test_creaming_flags_true_creaming_and_recovers_the_odds_ratio():
    s = creaming_screen(_eligible(n=6000, c=1.0, seed=3))
    assert s.flagged and s.p_value < 1e-4
    row = s.table.iloc[0]
    # The true hardest-vs-easiest odds ratio is 0.5.
    assert row["ratio_ci_low"] < 0.5 < row["ratio_ci_high"]
    assert row["smd"] < 0 and row["smd_ci_high"] < 0


def test_creaming_rising_trend_is_not_flagged():
    df = _eligible(n=4000, c=-1.5, seed=5)
    s = creaming_screen(df)
    assert s.table.iloc[0]["slope"] > 0 and not s.flagged


def test_by_provider_applies_holm_over_overall_and_providers():
    df = _eligible(n=3000, c=0.5, seed=1)
    s = creaming_screen(df, by="provider_id")
    assert list(s.table["unit"]) == ["all"] + sorted(df["provider_id"].unique())
    p = s.table["p_trend"].to_numpy()
    order = np.argsort(p)
    m = len(p)
    holm = np.maximum.accumulate(np.minimum(1, (m - np.arange(m)) * p[order]))
    expected = np.empty(m)
    expected[order] = holm
    assert_allclose(s.table["p_adjusted"], expected, rtol=1e-12)
    assert s.p_value == pytest.approx(expected.min())
    assert "Holm" in s.correction and "7 tests" in s.correction
    assert s.flagged_units == s.table.loc[expected < 0.05, "unit"].tolist()


def test_provider_without_variation_is_left_out_and_said_so():
    df = _eligible(n=2000, seed=2)
    df.loc[df["provider_id"] == "PRV01", "enrolled"] = True
    s = creaming_screen(df, by="provider_id")
    row = s.table.set_index("unit").loc["PRV01"]
    assert np.isnan(row["p_trend"]) and not row["flagged"]
    assert any("PRV01" in note for note in s.notes)
    assert "6 tests" in s.correction


def _hc3_terms(y, x):
    """The slope's HC3 influence terms u_i (its SE is sqrt(sum u_i^2))."""
    import statsmodels.api as sm

    X = np.column_stack([np.ones_like(x), x])
    mu = sm.GLM(y, X, family=sm.families.Poisson()).fit().fittedvalues
    bread = np.linalg.inv(X.T @ (X * mu[:, None]))
    h = mu * np.einsum("ij,jk,ik->i", X, bread, X)
    return (X @ bread[:, 1]) * (y - mu) / (1 - h)


def _hc3_se(y, x, dummies=None):
    """The slope's HC3 sandwich SE in a Poisson GLM, written out: (X'WX)^-1 X' diag(r^2 / (1 - h)^2) X (X'WX)^-1,
    h the diagonal of W^(1/2) X (X'WX)^-1 X' W^(1/2). statsmodels' GLM offers only HC0 (its "HC3" is HC0)."""
    import statsmodels.api as sm

    X = np.column_stack([np.ones_like(x), x]) if dummies is None else np.column_stack([dummies, x])
    fit = sm.GLM(y, X, family=sm.families.Poisson()).fit()
    mu = fit.fittedvalues
    bread = np.linalg.inv(X.T @ (X * mu[:, None]))
    h = mu * np.einsum("ij,jk,ik->i", X, bread, X)
    meat = X.T @ (X * ((y - mu) ** 2 / (1 - h) ** 2)[:, None])
    return float(np.sqrt((bread @ meat @ bread)[-1, -1]))


def _strata(n=2400, levels=8, seed=0):
    rng = np.random.default_rng(seed)
    code = rng.integers(0, levels, n)
    x = rng.random(n)
    shift = rng.normal(0, 0.5, levels)
    return rng, code, x, shift


def test_fast_trends_agree_with_statsmodels_per_stratum_and_with_fixed_effects():
    """The bincount Newton fits against statsmodels: one logistic (Wald SE) or Poisson
    quasi-likelihood (HC3 sandwich, written out) model per stratum, and the
    fixed-effects model with one intercept per stratum and a common slope."""
    import statsmodels.api as sm

    rng, code, x, shift = _strata()
    y_logit = (rng.random(len(x)) < expit(0.3 + shift[code] - 0.8 * x)).astype(float)
    y_hours = rng.gamma(2.0, 20.0, len(x)) * np.exp(shift[code] - 0.5 * x)
    for y, family, sm_family in (
        (y_logit, "logit", sm.families.Binomial()),
        (y_hours, "poisson", sm.families.Poisson()),
    ):
        each = separate_trends(y, x, code, 8, family)
        for j in range(8):
            m = code == j
            fit = sm.GLM(y[m], sm.add_constant(x[m]), family=sm_family).fit()
            # Both are iterative (statsmodels stops at its own tolerance), hence 1e-6.
            assert_allclose(each.slope[j], fit.params[1], rtol=1e-6)
            se = fit.bse[1] if family == "logit" else _hc3_se(y[m], x[m])
            assert_allclose(each.se[j], se, rtol=1e-6)
        dummies = pd.get_dummies(code).to_numpy(dtype=float)
        fe = sm.GLM(y, np.column_stack([dummies, x]), family=sm_family).fit()
        pooled = common_trend(y, x, code, 8, family)
        assert_allclose(pooled.slope[0], fe.params[-1], rtol=1e-6)
        se = fe.bse[-1] if family == "logit" else _hc3_se(y, x, dummies)
        assert_allclose(pooled.se[0], se, rtol=1e-6)


def _case_mix(n=6000, providers=12, seed=0, low=0.71, high=0.48):
    """Providers that differ only in case-mix: provider j's people are harder the larger j,
    and its enrolment rate falls from ``low`` to ``high`` with its mean difficulty;
    within every provider enrolment does not depend on difficulty (nobody creams)."""
    rng = np.random.default_rng(seed)
    j = rng.integers(0, providers, n)
    d = expit(rng.normal(-1 + 1.5 * j / (providers - 1), 0.6))
    rate = np.linspace(low, high, providers)[j]
    return pd.DataFrame(
        {
            "difficulty": d,
            "enrolled": rng.random(n) < rate,
            "hours": rng.gamma(2.0, 20.0 * np.linspace(1.3, 0.7, providers)[j]),
            "provider_id": [f"PRV{k + 1:02d}" for k in j],
        }
    )


def test_case_mix_alone_is_not_creaming_or_parking():
    """The issue's false alarm: the old pooled test ignored the provider and flagged
    worlds where providers merely differ in case-mix; the within-provider test does not."""
    df = _case_mix(seed=3)
    plain = creaming_screen(df)  # no provider: the steep pooled gradient is real, but it is case-mix
    assert plain.flagged and plain.table.iloc[0]["ratio"] < 0.6
    s = creaming_screen(df, by="provider_id")
    assert not s.flagged, s.summary()
    assert 0.7 < s.table.iloc[0]["ratio"] < 1.4  # within providers: no tilt
    assert "within the same 'provider_id'" in s.test
    p = parking_screen(df.loc[df["enrolled"]], by="provider_id")
    assert parking_screen(df.loc[df["enrolled"]]).flagged and not p.flagged


def test_a_flag_comes_with_its_fair_sentence():
    df = _eligible(n=6000, c=0.0, seed=7, providers=6)
    rng = np.random.default_rng(1)
    one = df["provider_id"] == "PRV03"
    slope = (df["difficulty"].rank(pct=True).to_numpy() - 0.05) / 0.9
    df.loc[one, "enrolled"] = rng.random(one.sum()) < expit(logit(0.6) - 3 * np.log(2) * slope[one])
    s = creaming_screen(df, by="provider_id")
    assert "PRV03" in s.flagged_units
    sentence = s.statements()["PRV03"]
    assert sentence.startswith("Comparing only people referred to the same provider")
    assert "at PRV03 (hardest decile 0." in sentence and "less than 1 time in 20" in sentence
    assert "Flagged: all, PRV03" in s.summary() and f"  PRV03: {sentence}" in s.summary()
    assert s.to_dict()["statements"]["PRV03"] == sentence


def test_creaming_bad_input_names_the_column_and_rows():
    df = _eligible(n=100)
    with pytest.raises(SchemaError, match=r"table 'eligible' is missing the column risk \(the 'difficulty' column\)"):
        creaming_screen(df, difficulty="risk")
    df.loc[[3, 7], "difficulty"] = np.nan
    with pytest.raises(SchemaError, match=r"2 missing values in difficulty: row 4, row 8"):
        creaming_screen(df)
    with pytest.raises(ModelError, match="all True"):
        creaming_screen(df.dropna().assign(enrolled=True))
    # Text flags are not guessed at: "False" would otherwise read as True.
    text = df.dropna().assign(enrolled=lambda d: np.where(d["enrolled"], "True", "False"))
    with pytest.raises(SchemaError, match=r"'enrolled' column 'enrolled' must be bool or 0/1; other values at rows 0"):
        creaming_screen(text)


def test_parking_statistics_and_attainment():
    df = _enrolled(p=1.0, seed=4)
    s = parking_screen(df, attained="attained", expected="expected")
    row = s.table.iloc[0]
    import statsmodels.api as sm

    pct = (stats.rankdata(df["difficulty"]) - 0.5) / len(df)
    fit = sm.GLM(df["hours"].to_numpy(), sm.add_constant(pct), family=sm.families.Poisson()).fit()
    assert_allclose(row["slope"], fit.params[1], rtol=1e-7)
    assert_allclose(row["se"], _hc3_se(df["hours"].to_numpy(), pct), rtol=1e-6)
    # The t reference's degrees of freedom: Welch-Satterthwaite on the HC3 terms (validation.screens).
    u = _hc3_terms(df["hours"].to_numpy(), pct)
    dof = 2 * (u**2).sum() ** 2 / ((u**4).sum() - (u**2).sum() ** 2 / len(df))
    assert_allclose(row["p_trend"], stats.t(dof).cdf(row["slope"] / row["se"]), rtol=1e-6)
    assert row["ratio_ci_low"] < 0.5 < row["ratio_ci_high"]
    assert s.flagged
    # Outcomes drawn at exactly the expected rate: O/E near 1, no attainment trend flagged.
    assert row["oe_ratio"] == pytest.approx(df["attained"].sum() / df["expected"].sum())
    assert row["p_attainment"] > 0.01
    dec = s.deciles
    assert_allclose(
        dec["mean_hours"], df.groupby(pd.qcut(df["difficulty"], 10, labels=False))["hours"].mean(), rtol=1e-12
    )
    assert {"observed", "expected", "oe_ratio"} <= set(dec.columns)


def test_parking_detects_falling_attainment_relative_to_expected():
    df = _enrolled(n=3000, seed=6)
    rng = np.random.default_rng(9)
    # Harder people attain at half their expected odds.
    shrink = expit(logit(df["expected"]) - np.log(2) * df["difficulty"].rank(pct=True))
    s = parking_screen(df.assign(attained=rng.random(len(df)) < shrink), attained="attained", expected="expected")
    assert s.table.iloc[0]["p_attainment"] < 0.01


def test_parking_needs_attained_and_expected_together_and_non_negative_hours():
    df = _enrolled(n=50)
    with pytest.raises(ParameterError, match="The 'attained' parameter of parking_screen must be given together"):
        parking_screen(df, attained="attained")
    with pytest.raises(ParameterError, match="The 'alpha' parameter of parking_screen must be a number in the range"):
        parking_screen(df, alpha=5)
    df.loc[4, "hours"] = -1.0
    with pytest.raises(SchemaError, match=r"must be >= 0; negative at rows \[4\]"):
        parking_screen(df)


def test_screen_output_methods():
    s = parking_screen(_enrolled(p=0.5), by="provider_id")
    d = s.to_dict()
    assert d["kind"] == "parking" and len(d["table"]) == 4 and len(d["deciles"]) == 40
    assert "Parking screen" in s.summary() and "Holm" in s.summary()
    ax = s.plot()
    assert len(ax.lines) >= 4
    assert s.to_frame() is not s.table


def test_world_mechanism_is_the_documented_formula():
    """screen_flag_rates and make_world share the world's enrolment and hours
    functions; pin those to the formulas their docstrings state."""
    w = make_world(seed=11, n_eligible=1500, n_pool=0, creaming=0.8, parking=0.6, enrolment_rate=0.6)
    t = w.truth.people
    slope = (t["difficulty"].rank(pct=True).to_numpy() - 0.05) / 0.9
    assert_allclose(t["p_enrol"], expit(logit(0.6) - 0.8 * np.log(2) * slope), rtol=1e-12)
    assert_allclose(t["hours"] / t["hours_neutral"], 2.0 ** (-0.6 * slope), rtol=1e-12)
    assert MEAN_HOURS == 40.0
    # And the observed service hours add up to the expected hours per person.
    served = w.services.groupby("person_id")["hours"].sum()
    hours = t.set_index("person_id")["hours"].reindex(served.index)
    assert np.median(np.abs(served / hours - 1)) < 0.01


def test_screens_on_a_full_world():
    w = make_world(seed=5, n_eligible=3000, n_pool=0, creaming=1.0, parking=1.0)
    eligible = w.eligible.merge(w.truth.people[["person_id", "difficulty"]], on="person_id")
    s = creaming_screen(eligible, by="provider_id")
    assert s.flagged and "all" in s.flagged_units
    hours = w.services.groupby("person_id")["hours"].sum()
    people = eligible[eligible["enrolled"]].assign(hours=lambda d: d["person_id"].map(hours).fillna(0.0))
    assert parking_screen(people, by="provider_id").flagged


def test_calibration_on_synthetic_worlds():
    """A reduced run of bench/screens.py: 12 worlds of providers that differ only in case-mix,
    enrolment rate and hours (the old pooled test flagged every one of them), and 8 worlds with
    one provider gaming each way at moderate strength. bench/screens.py runs 1,000 per scenario."""
    null = flag_rates("case_mix", worlds=12, seed=77, n_eligible=3000).set_index("screen")
    assert null.loc["creaming_ignoring_provider", "false_alarm"] >= 0.9
    assert (null.drop(index="creaming_ignoring_provider")["false_alarm"] <= 2 / 12).all(), null
    gamed = flag_rates("moderate", worlds=8, seed=78).set_index("screen")
    for screen in ("creaming", "parking", "assessments", "baseline", "unmeasured"):
        assert gamed.loc[screen, "power"] >= 6 / 8, gamed
    assert set(SCENARIOS) == {"equal", "case_mix", "unequal", "moderate"}
