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
from studies.screen_calibration import screen_flag_rates
from validation import ModelError, SchemaError, creaming_screen, parking_screen


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
    fit = sm.GLM(df["hours"].to_numpy(), sm.add_constant(pct), family=sm.families.Poisson()).fit(cov_type="HC1")
    assert_allclose(row["slope"], fit.params[1], rtol=1e-7)
    assert_allclose(row["se"], fit.bse[1], rtol=1e-7)
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
    with pytest.raises(SchemaError, match="given together"):
        parking_screen(df, attained="attained")
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
    """200 worlds of 2,000 eligible: no gaming -> size; odds / hours halved -> power.

    The one-sided tests have nominal size 5%; bench/screens.py estimates it on
    2,000 worlds. Here the seeded run must flag at most 5% of 200 null worlds
    and at least 80% (in fact all) of the gamed ones.
    """
    rates = screen_flag_rates([0.0, 1.0], n_eligible=2000, replications=200, seed=2026)
    null, gamed = rates.iloc[0], rates.iloc[1]
    assert null["creaming"] <= 0.05 and null["parking"] <= 0.05
    assert gamed["creaming"] >= 0.80 and gamed["parking"] >= 0.80
