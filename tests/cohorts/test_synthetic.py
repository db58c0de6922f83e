"""Properties of the synthetic world: reproducible, realistic, and creaming and
parking move what they should (and nothing moves when they are zero)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from cohorts.synthetic import (
    DISPERSION,
    FOLLOW_UP_DAYS,
    WAITING_DAYS,
    chance_of_reoffending,
    draw_covariates,
    expected_reoffences,
    make_world,
)
from ground.errors import ParameterError

SMALL = dict(n_eligible=400, n_pool=1_000)


@pytest.fixture(scope="module")
def world():
    return make_world(seed=11, n_eligible=6_000, n_pool=20_000)


def _proven(people_index: pd.Series, offences: pd.DataFrame) -> pd.Series:
    """Proven reoffences per person, written out plainly as an independent check."""
    ev = offences.merge(people_index.rename("index_date"), left_on="person_id", right_index=True)
    day = (ev["offence_date"] - ev["index_date"]).dt.days
    proven = ev["disposal"].isin(["conviction", "caution"])
    in_time = ev["disposal_date"] <= ev["index_date"] + pd.Timedelta(days=FOLLOW_UP_DAYS + WAITING_DAYS)
    counts = ev[(day > 0) & (day <= FOLLOW_UP_DAYS) & proven & in_time].groupby("person_id").size()
    return counts.reindex(people_index.index, fill_value=0)


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_same_seed_same_world(seed):
    a, b = make_world(seed=seed, **SMALL), make_world(seed=seed, **SMALL)
    for table in a.tables:
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table))
    pd.testing.assert_frame_equal(a.truth.people, b.truth.people)
    assert a.truth.effects == b.truth.effects


def test_different_seed_different_world():
    a, b = make_world(seed=1, **SMALL), make_world(seed=2, **SMALL)
    assert not a.eligible["ogrs_score"].equals(b.eligible["ogrs_score"])


def test_tables_have_the_documented_shape(world):
    el, people, pool = world.eligible, world.people, world.pool
    assert el["person_id"].is_unique and pool["person_id"].is_unique
    assert set(people["person_id"]) == set(el.loc[el["enrolled"], "person_id"])
    assert people["in_programme"].all() and not pool["in_programme"].any()
    assert pool["provider_id"].isna().all()
    assert list(el["sex"].cat.categories) == ["female", "male"]
    assert (el["age_first_conviction"] <= el["age"]).all() and (el["age"] >= 18).all()
    assert el["ogrs_score"].between(0, 100).all()
    # Nothing is recorded after the extract date.
    assert (world.offences[["offence_date", "disposal_date"]] <= world.as_of).all().all()
    assert (world.assessments["assessed_on"] <= world.as_of).all()
    assert (world.offences["disposal_date"] >= world.offences["offence_date"]).all()
    assert (world.services["hours"] > 0).all()
    # Some of the cohort has not yet completed follow-up plus waiting.
    end = people["start_date"] + pd.Timedelta(days=FOLLOW_UP_DAYS + WAITING_DAYS)
    assert 0.05 < (end > world.as_of).mean() < 0.3


def test_world_is_realistic(world):
    el, pool = world.eligible, world.pool
    # Eligible people are harder than the national pool, as referrals are.
    assert el["ogrs_score"].mean() > pool["ogrs_score"].mean() + 2
    assert 0.35 < pool["reoffended"].mean() < 0.5
    assert 0.12 < (el["sex"] == "female").mean() < 0.18
    assert 0.55 < el["enrolled"].mean() < 0.65
    # Rosenberg negative items run against the positive ones.
    wide = world.assessments[world.assessments["instrument"] == "rosenberg"].pivot_table(
        index=["person_id", "assessed_on"], columns="item", values="score"
    )
    assert wide[["q1", "q2"]].corr().iloc[0, 1] < -0.2
    assert wide[["q1", "q3"]].corr().iloc[0, 1] > 0.2
    ladders = world.assessments[world.assessments["instrument"].str.startswith("ladder_")]
    assert ladders["score"].between(1, 10).all()


def test_pool_counts_follow_the_negative_binomial():
    rng = np.random.default_rng(5)
    x = draw_covariates(5, rng, "pool")
    assert expected_reoffences(x).shape == (5,)
    w = make_world(seed=5, n_eligible=10, n_pool=200_000)
    mu = expected_reoffences(w.pool)
    expected = chance_of_reoffending(mu).mean()
    se = np.sqrt(expected * (1 - expected) / len(mu))
    assert abs(w.pool["reoffended"].mean() - expected) < 4 * se
    # Negative binomial variance mu + mu^2 / k, averaged over people.
    var = (mu + mu**2 / DISPERSION).mean() + mu.var()
    assert w.pool["reoffences"].var() == pytest.approx(var, rel=0.05)
    assert w.pool["reoffences"].mean() == pytest.approx(mu.mean(), rel=0.02)


def test_cohort_offence_events_match_the_truth(world):
    """Proven reoffending computed from the event table agrees with the world's
    true chances, for the enrolled (with the programme) and the rest (without)."""
    el = world.eligible.set_index("person_id")
    truth = world.truth.people.set_index("person_id")
    observable = el["referral_date"] + pd.Timedelta(days=FOLLOW_UP_DAYS + WAITING_DAYS) <= world.as_of
    counts = _proven(el.loc[observable, "referral_date"], world.offences)
    for group, column in ((True, "p_reoffend_1"), (False, "p_reoffend_0")):
        ids = el.index[observable & (el["enrolled"] == group)]
        observed, expected = (counts[ids] > 0).mean(), truth.loc[ids, column].mean()
        assert abs(observed - expected) < 4 * np.sqrt(expected * (1 - expected) / len(ids))


def test_no_creaming_leaves_enrolment_unrelated_to_difficulty():
    w = make_world(seed=21, n_eligible=20_000, n_pool=10, creaming=0.0)
    d = w.truth.people["difficulty"].to_numpy()
    enrolled = w.eligible["enrolled"].to_numpy()
    # Same difficulty distribution in enrolled and eligible people.
    assert stats.ks_2samp(d[enrolled], d[~enrolled]).pvalue > 0.001
    diff = d[enrolled].mean() - d.mean()
    assert abs(diff) < 4 * d.std() / np.sqrt(enrolled.sum())
    assert not w.truth.people["creamed"].any()


@pytest.mark.parametrize("strength", [1.0, 2.0])
def test_creaming_halves_the_odds_as_documented(strength):
    w = make_world(seed=22, n_eligible=20_000, n_pool=10, creaming=strength)
    pct = w.truth.people["difficulty"].rank(pct=True).to_numpy()
    slope = (pct - 0.05) / 0.9
    fit = sm.Logit(w.eligible["enrolled"].astype(float), sm.add_constant(slope)).fit(disp=0)
    # log odds ratio hardest vs easiest decile = -strength * log 2.
    low, high = np.asarray(fit.conf_int(alpha=0.001))[1]
    assert low < -strength * np.log(2) < high
    assert w.truth.people["difficulty"][w.eligible["enrolled"]].mean() < w.truth.people["difficulty"].mean()
    assert w.truth.people["creamed"].sum() > 0


def test_creaming_can_differ_by_provider():
    w = make_world(seed=23, n_eligible=8_000, n_pool=10, n_providers=2, creaming=[0.0, 3.0])
    d = w.truth.people["difficulty"]
    gap = {
        p: d[w.eligible["provider_id"] == p][w.eligible["enrolled"]].mean() - d[w.eligible["provider_id"] == p].mean()
        for p in ("PRV01", "PRV02")
    }
    assert gap["PRV02"] < gap["PRV01"] - 0.01


@pytest.mark.parametrize("strength", [0.0, 1.0])
def test_parking_cuts_hours_as_documented(strength):
    w = make_world(seed=24, n_eligible=12_000, n_pool=10, parking=strength)
    hours = w.services.groupby("person_id")["hours"].sum()
    truth = w.truth.people.set_index("person_id")
    pct = truth["difficulty"].rank(pct=True)
    slope = ((pct - 0.05) / 0.9)[hours.index]
    fit = sm.OLS(np.log(truth.loc[hours.index, "hours"]), sm.add_constant(slope.to_numpy())).fit()
    low, high = np.asarray(fit.conf_int(alpha=0.001))[1]
    assert low < -strength * np.log(2) < high
    # Recorded contacts add up to the hours given (rounding aside).
    assert np.allclose(hours, truth.loc[hours.index, "hours"], atol=0.01 * 60 + 0.05)
    assert truth["parked"].any() == (strength > 0)


def test_parking_costs_outcomes():
    fair = make_world(seed=25, n_eligible=4_000, n_pool=10)
    parked = make_world(seed=25, n_eligible=4_000, n_pool=10, parking=2.0)
    assert parked.truth.effects["reoffended_diff"] > fair.truth.effects["reoffended_diff"]


def test_no_effect_means_no_effect():
    w = make_world(seed=26, n_eligible=500, n_pool=10, effects={"reoffending_rate_ratio": 1.0})
    assert w.truth.effects["reoffended_diff"] == pytest.approx(0.0, abs=1e-12)
    assert w.truth.effects["reoffences_ratio"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"creaming": -1.0}, "'creaming' parameter"),
        ({"parking": [1.0, 2.0]}, "one per provider"),
        ({"n_eligible": 0}, "'n_eligible' parameter"),
        ({"effects": {"cure_rate": 1}}, "'effects' parameter of make_world must be a mapping with keys among"),
        ({"enrolment_rate": 1.5}, "'enrolment_rate' parameter"),
        (
            {"enrolment_rate": [0.5] * 3},
            "'enrolment_rate' parameter of make_world must be a non-negative number or one",
        ),
        ({"seed": -1}, "'seed' parameter of make_world must be an int in the range \\[0, inf\\)"),
        ({"case_mix": -1}, "'case_mix' parameter"),
        ({"provider_shares": [0.0] * 12}, "'provider_shares' parameter of make_world must be positive"),
        ({"measurement": {"fudge": 1}}, "'measurement' parameter of make_world must be a mapping with keys among"),
        (
            {"measurement": {"selective_missingness": 2}},
            "'selective_missingness' parameter of make_world must be a share",
        ),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        make_world(**{**SMALL, **kwargs})


def test_draw_covariates_rejects_unknown_population():
    with pytest.raises(ParameterError, match="'population' parameter"):
        draw_covariates(3, np.random.default_rng(0), "national")


GAMING = {
    "extra_assessments": [0, 3] + [0] * 10,
    "baseline_deflation": [0, 0, 1] + [0] * 9,
    "selective_missingness": [0, 0, 0, 0.8] + [0] * 8,
    "late_reassessment": [0] * 4 + [0.8] + [0] * 7,
}


@pytest.fixture(scope="module")
def gamed():
    """Twelve equal providers; PRV02 assesses three extra times, PRV03 deflates baselines,
    PRV04 leaves likely failures unassessed, PRV05 reassesses failures late in the window."""
    return make_world(seed=31, n_eligible=6_000, n_pool=0, provider_shares=[1] * 12, measurement=GAMING)


def test_measurement_gaming_leaves_the_rest_of_the_world_unchanged(gamed):
    plain = make_world(seed=31, n_eligible=6_000, n_pool=0, provider_shares=[1] * 12)
    for table in ("eligible", "people", "offences", "services"):
        pd.testing.assert_frame_equal(getattr(plain, table), getattr(gamed, table))
    # Every regular occasion of an honest provider is there in both worlds, rating for rating.
    honest = plain.people.loc[plain.people["provider_id"].isin(["PRV01", "PRV06"]), "person_id"]
    a = plain.assessments[plain.assessments["person_id"].isin(honest)].reset_index(drop=True)
    b = gamed.assessments[gamed.assessments["person_id"].isin(honest)].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def _per_provider_view(world, instrument="ladder_family"):
    """Per provider: in-window family-ladder occasions per person, mean baseline rating, share with no
    in-window rating, and share of in-window ratings in days 260-273."""
    from outcomes import Improvement, achievement, score

    a = achievement(world.people, score(world.assessments, instrument), Improvement(by=2), as_of="2026-06-30")
    pp = a.per_person.merge(world.people[["person_id", "provider_id"]])
    late = (
        pp["counted_on"] - world.people.set_index("person_id").loc[pp["person_id"], "start_date"].to_numpy()
    ).dt.days
    pp = pp.assign(late=late.between(260, 273))
    closed = pp["status"].isin(["achieved", "not_achieved"])
    return (
        pp.loc[closed]
        .groupby("provider_id", observed=True)
        .agg(
            occasions=("occasions", "mean"),
            baseline=("baseline_value", "mean"),
            unmeasured=("unmeasured", "mean"),
            late=("late", "mean"),
        )
    )


def test_measurement_gaming_does_what_it_says(gamed):
    view = _per_provider_view(gamed)
    others = view.drop(index=["PRV02", "PRV03", "PRV04", "PRV05"])
    # Best-of-many: three more occasions in the window per person (fewer for those who dropped out first).
    assert 2.2 < view.loc["PRV02", "occasions"] - others["occasions"].mean() < 3.0
    # Baseline deflation: a point lower at baseline (clipped at 1).
    assert others["baseline"].mean() - view.loc["PRV03", "baseline"] == pytest.approx(1, abs=0.3)
    # Selective missingness: far more people with no rating in the window.
    assert view.loc["PRV04", "unmeasured"] > others["unmeasured"].max() + 0.15
    # Late reassessment: the counted rating falls in the window's last fortnight more often.
    assert view.loc["PRV05", "late"] > others["late"].max() + 0.05
    truth = gamed.truth.people.merge(gamed.eligible[["person_id", "provider_id"]])
    by = truth.groupby("provider_id", observed=True)
    assert by["baseline_deflated"].sum().drop("PRV03").eq(0).all() and by["hidden"].sum().drop("PRV04").eq(0).all()
    assert (by["extra_assessments"].max().drop("PRV02") == 0).all() and by["extra_assessments"].max()["PRV02"] == 3
    # No two occasions of one person share a date (scoring would call them duplicates).
    scored_problems = gamed.assessments.duplicated(["person_id", "assessed_on", "instrument", "item"]).sum()
    assert scored_problems == 0


def test_case_mix_and_sizes_and_enrolment_rates_by_provider():
    w = make_world(
        seed=32,
        n_eligible=12_000,
        n_pool=0,
        case_mix=1.0,
        provider_shares=np.arange(1, 13),
        enrolment_rate=np.linspace(0.71, 0.48, 12),
    )
    el = w.eligible.merge(w.truth.people[["person_id", "difficulty"]])
    by = el.groupby("provider_id", observed=True)
    mean_difficulty = by["difficulty"].mean().to_numpy()
    assert np.all(np.diff(mean_difficulty) > -0.02) and mean_difficulty[-1] > mean_difficulty[0] + 0.1
    size = by.size().to_numpy()
    assert size[-1] > 5 * size[0]
    rate = by["enrolled"].mean().to_numpy()
    assert np.abs(rate - np.linspace(0.71, 0.48, 12)).max() < 0.08
    # Within a provider enrolment does not depend on difficulty (no creaming).
    big = el[el["provider_id"] == "PRV12"]
    assert (
        stats.ks_2samp(big.loc[big["enrolled"], "difficulty"], big.loc[~big["enrolled"], "difficulty"]).pvalue > 0.001
    )
