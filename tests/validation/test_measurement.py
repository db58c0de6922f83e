"""Measurement screens: the statistics by hand and against statsmodels, each kind finding the
provider that games that way in a synthetic world, and the design findings on counting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from scipy import stats
from statsmodels.stats.multitest import multipletests

from cohorts.synthetic import make_world
from ground.errors import ParameterError
from outcomes import Improvement, MetricSpec, Threshold, achievement, score
from validation.measurement import KINDS, counting_findings, measurement_screens
from validation.screens import fit_glm, holm, winsorised_phi

START = pd.Timestamp("2024-01-01")


def test_fit_glm_agrees_with_statsmodels():
    rng = np.random.default_rng(0)
    X = sm.add_constant(np.column_stack([rng.random(500), rng.random(500) < 0.3]).astype(float))
    eta = X @ np.array([-0.5, 1.0, -0.7])
    for family, y, sm_family in (
        ("logit", (rng.random(500) < 1 / (1 + np.exp(-eta))).astype(float), sm.families.Binomial()),
        ("poisson", rng.poisson(np.exp(eta)).astype(float), sm.families.Poisson()),
        ("gaussian", eta + rng.normal(0, 1, 500), sm.families.Gaussian()),
    ):
        assert_allclose(fit_glm(y, X, family), sm.GLM(y, X, family=sm_family).fit().fittedvalues, rtol=1e-7)


def test_holm_agrees_with_statsmodels():
    p = np.random.default_rng(1).random(13) ** 3
    assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=1e-14)
    with_gap = p.copy()
    with_gap[[2, 5]] = np.nan
    expected = np.full(13, np.nan)
    expected[np.isfinite(with_gap)] = multipletests(with_gap[np.isfinite(with_gap)], method="holm")[1]
    assert_allclose(holm(with_gap), expected, rtol=1e-14)


def test_winsorised_phi_by_hand():
    assert winsorised_phi(np.array([5.0, -5.0, 4.0])) == 1.0  # too few providers to tell
    z = np.array([-3.0, -1.0, -0.5, 0.0, 0.2, 0.5, 1.0, 1.5, 2.0, 8.0])
    lo, hi = np.quantile(z, [0.1, 0.9])
    assert winsorised_phi(z) == pytest.approx(np.mean(np.clip(z, lo, hi) ** 2))
    shifted = z - 3.0
    assert winsorised_phi(shifted, centre=True) == pytest.approx(winsorised_phi(z, centre=True))
    assert winsorised_phi(shifted) > winsorised_phi(shifted, centre=True)


def _ladder_cohort(per_provider=60, seed=0, extra=None):
    """Providers A, B, C; everyone rated on days 0, 120 and 240; provider ``extra`` adds day 180."""
    rng = np.random.default_rng(seed)
    rows, people = [], []
    for p in "ABC":
        for i in range(per_provider):
            pid = f"{p}{i:03d}"
            people.append((pid, START, p, rng.random()))
            days = [0, 120, 240] + ([180] if p == extra else [])
            rows += [(pid, "ladder", float(rng.integers(3, 8)), START + pd.Timedelta(days=d)) for d in days]
    people = pd.DataFrame(people, columns=["person_id", "start_date", "provider_id", "difficulty"])
    assess = pd.DataFrame(rows, columns=["person_id", "item", "score", "assessed_on"])
    return people, score(assess, "ladder_family")


def test_observed_expected_z_and_p_by_hand():
    people, scored = _ladder_cohort(extra="B")
    result = achievement(people, scored, Improvement(by=2), as_of="2025-06-30")
    screens = measurement_screens(people, result, overdispersion=False)
    table = screens["assessments"].table.set_index("unit")
    # Occasions in the window (days 91-273): 2 each at A and C, 3 each at B.
    assert table.loc[["A", "B", "C"], "observed"].tolist() == [2.0, 3.0, 2.0]
    # Expected from the pooled Poisson case-mix model, written out with statsmodels.
    pp = result.per_person.merge(people)
    pct = (stats.rankdata(pp["difficulty"]) - 0.5) / len(pp)
    X = np.column_stack([np.ones(len(pct)), pct] + [np.maximum(pct - k, 0) for k in (0.25, 0.5, 0.75)])
    mu = sm.GLM(pp["occasions"].to_numpy(float), X, family=sm.families.Poisson()).fit().fittedvalues
    b = (pp["provider_id"] == "B").to_numpy()
    o, e, v = pp["occasions"][b].sum(), mu[b].sum(), ((pp["occasions"] - mu)[b] ** 2).sum()
    assert table.loc["B", "expected"] == pytest.approx(e / b.sum(), rel=1e-6)
    assert table.loc["B", "z"] == pytest.approx((o - e) / np.sqrt(v), rel=1e-6)
    assert table.loc["B", "p_one_sided"] == pytest.approx(stats.norm.sf((o - e) / np.sqrt(v)), rel=1e-6)
    assert screens.flagged_units["assessments"] == ["B"]
    assert "each extra one is another chance to pay on rating noise" in screens["assessments"].statements()["B"]


GAMING = {
    "extra_assessments": [0, 2, 0, 0, 0, 0, 0, 0],
    "baseline_deflation": [0, 0, 0, 1, 0, 0, 0, 0],
    "selective_missingness": [0, 0, 0, 0, 0, 0.6, 0, 0],
}


@pytest.fixture(scope="module")
def gamed():
    w = make_world(seed=8, n_eligible=4_000, n_pool=0, n_providers=8, provider_shares=[1] * 8, measurement=GAMING)
    people = w.people.merge(w.truth.people[["person_id", "difficulty"]])
    ties = achievement(people, score(w.assessments, "ladder_family"), Improvement(by=2), as_of=w.as_of)
    return people, ties


def test_each_kind_finds_the_provider_that_games_that_way(gamed):
    people, ties = gamed
    screens = measurement_screens(people, ties, covariates=["need_family"])
    assert list(screens) == list(KINDS)
    assert screens.flagged_units == {"assessments": ["PRV02"], "baseline": ["PRV04"], "unmeasured": ["PRV06"]}
    baseline = screens["baseline"].table.set_index("unit").loc["PRV04"]
    assert -1.2 < baseline["difference"] < -0.6 and baseline["difference_ci_high"] < 0
    assert screens["deadweight"].notes == ("not tested: nobody met the rule at baseline (a rule on change)",)
    text = screens.summary()
    assert text.startswith("Measurement screens for ladder_family.score (improves on baseline by at least 2")
    assert "Flagged: assessments: PRV02; baseline: PRV04; unmeasured: PRV06" in text
    d = screens.to_dict()
    assert d["baseline"]["flagged_units"] == ["PRV04"] and d["deadweight"]["p_value"] is None
    frame = screens.to_frame()
    assert set(frame["kind"]) == set(KINDS)
    axes = screens.plot()
    assert len(axes) == 5


def test_no_gaming_no_flags_and_case_mix_is_adjusted_for():
    w = make_world(seed=9, n_eligible=4_000, n_pool=0, n_providers=8, provider_shares=[1] * 8, case_mix=1.0)
    people = w.people.merge(w.truth.people[["person_id", "difficulty"]])
    ties = achievement(people, score(w.assessments, "ladder_family"), Improvement(by=2), as_of=w.as_of)
    screens = measurement_screens(people, ties, covariates=["need_family"])
    assert screens.flagged_units == {}, screens.summary()
    # Providers with harder people have lower baselines and fewer assessments, as expected for them.
    base = screens["baseline"].table.set_index("unit")
    assert base.loc["PRV08", "observed"] < base.loc["PRV01", "observed"] - 0.5
    assert abs(base.loc["PRV08", "difference"]) < 0.3


def test_deadweight_and_bunching_on_a_threshold_rule():
    """Provider B enrols people already at the threshold; provider C reassesses its failures on
    day 270, just inside a window that closes on day 273."""
    rng = np.random.default_rng(4)
    rows, people = [], []
    for p in "ABCD":
        for i in range(80):
            pid = f"{p}{i:03d}"
            people.append((pid, START, p, rng.random()))
            base = 8 if (p == "B" and i < 50) else int(rng.integers(3, 7))
            rows.append((pid, base, 0))
            last = int(rng.integers(4, 9)) if p != "B" or i >= 50 else 8
            rows.append((pid, last, 200))
            if p == "C" and last < 7:
                rows.append((pid, int(rng.integers(5, 9)), 270))
    people = pd.DataFrame(people, columns=["person_id", "start_date", "provider_id", "difficulty"])
    assess = pd.DataFrame(
        [(pid, "ladder", float(v), START + pd.Timedelta(days=d)) for pid, v, d in rows],
        columns=["person_id", "item", "score", "assessed_on"],
    )
    result = achievement(
        people, score(assess, "ladder_ete"), Threshold(at_least=7), window=(91, 273), as_of="2025-06-30"
    )
    screens = measurement_screens(people, result)
    assert "B" in screens["deadweight"].flagged_units
    assert screens["bunching"].flagged_units == ["C"]
    assert "last 14 days of the window" in screens["bunching"].statements()["C"]


def test_arguments_are_checked(gamed):
    people, ties = gamed
    with pytest.raises(ParameterError, match="The 'result' parameter of measurement_screens must be the result of"):
        measurement_screens(people, ties.per_person)
    with pytest.raises(ParameterError, match="The 'people' parameter of measurement_screens must be a table with"):
        measurement_screens(people.iloc[5:], ties)
    with pytest.raises(ParameterError, match="'late_days' parameter"):
        measurement_screens(people, ties, late_days=0)
    with pytest.raises(Exception, match="missing the column risk"):
        measurement_screens(people, ties, difficulty="risk")


def test_counting_findings_flag_any_and_apart():
    spec = MetricSpec.from_toml("examples/specs/intermediate.toml")
    assert counting_findings(spec) == []
    text = open("examples/specs/intermediate.toml").read()
    text = text.replace('type = "improvement"\nby = 2', 'type = "improvement"\nby = 2\ncounts = "any"', 1)
    text = text.replace('type = "threshold"\nat_least = 3', 'type = "threshold"\nat_least = 3\nunmeasured = "apart"')
    found = counting_findings(MetricSpec.from_string(text, base_dir="examples/specs"))
    codes = [(f.code, f.evidence["outcome"]) for f in found]
    assert codes == [("any_assessment_counts", "family_ties"), ("unmeasured_apart", "family_contact")]
    assert found[0].severity == "warning" and "47% with eight" in found[0].message


def test_several_outcomes_share_one_holm_correction(gamed):
    people, _ = gamed
    w_spec = MetricSpec.from_toml("examples/specs/intermediate.toml")
    world = make_world(seed=8, n_eligible=4_000, n_pool=0, n_providers=8, provider_shares=[1] * 8, measurement=GAMING)
    results = w_spec.achievement(people, world.assessments, as_of=world.as_of)
    screens = measurement_screens(people, results, covariates=["need_family", "need_employment"])
    baseline = screens["baseline"]
    assert set(baseline.table["outcome"]) == set(results)
    providers = baseline.table[baseline.table["unit"] != "all"]
    tested = providers["p_one_sided"].notna().sum()
    assert f"Holm over {tested} tests" in baseline.correction and "x 6 outcomes" in baseline.correction
    assert_allclose(providers["p_adjusted"], holm(providers["p_one_sided"].to_numpy()), rtol=1e-12)
    # Every ladder deflated at PRV04 shows; the flag names the outcome.
    assert baseline.flagged_units == ["PRV04"]
    assert "PRV04 (family_ties)" in baseline.statements()
    assert baseline.statements()["PRV04 (family_ties)"].startswith("At PRV04 for family_ties, baseline ratings")
    assert screens.flagged_units["assessments"] == ["PRV02"] and screens.flagged_units["unmeasured"] == ["PRV06"]
    assert "family_ties: ladder_family.score (improves on baseline by at least 2" in screens.outcome
