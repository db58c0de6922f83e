"""Tariffs: hand-computed prices and margins, the builders' invariants, and errors."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats

from ground.errors import ModelError, ParameterError, SpecError
from pricing import Tariff, by_difficulty, flat, incentive_neutral, scheme, segment_labels

# Two people per segment: easy achieve with 0.8, hard with 0.4.
SEGMENTS = ["easy", "easy", "hard", "hard"]
PROBS = pd.DataFrame({"x": [0.8, 0.8, 0.4, 0.4]})
COSTS = {"easy": 100.0, "hard": 300.0}


def test_incentive_neutral_hand_computed():
    # total cost 2*100 + 2*300 = 800; common margin (1000 - 800) / 4 = 50;
    # income per person 150 (easy), 350 (hard); price 150/0.8 = 187.5, 350/0.4 = 875.
    t = incentive_neutral(COSTS, PROBS, 1000.0, segments=SEGMENTS)
    assert_allclose(t.prices.loc["x", ["easy", "hard"]], [187.5, 875.0], rtol=1e-12)
    m = t.margins(COSTS, SEGMENTS, PROBS)
    assert_allclose(m.table["margin_per_person"], [50.0, 50.0], rtol=1e-12)
    assert_allclose(m.table["expected_income"].sum(), 1000.0, rtol=1e-12)
    assert m.gap == pytest.approx(0.0, abs=1e-9)
    assert t.details["margin_per_person"] == pytest.approx(50.0)


def test_flat_hand_computed_margins_and_gap_ci():
    # expected achievements 2*0.8 + 2*0.4 = 2.4, so the price is 1000 / 2.4.
    t = flat(1000.0, PROBS, segments=SEGMENTS)
    price = 1000.0 / 2.4
    assert_allclose(t.prices.loc["x"], [price, price], rtol=1e-12)
    m = t.margins(COSTS, SEGMENTS, PROBS)
    assert (m.easiest, m.hardest) == ("easy", "hard")
    assert_allclose(m.table.loc["easy", "margin_per_person"], 0.8 * price - 100, rtol=1e-12)
    assert_allclose(m.table.loc["hard", "margin_per_person"], 0.4 * price - 300, rtol=1e-12)
    assert_allclose(m.gap, 0.4 * price + 200, rtol=1e-12)
    # Bernoulli variance of each segment's total, divided by n = 2 for per-person SEs.
    se_easy = np.sqrt(2 * 0.8 * 0.2) * price / 2
    se_hard = np.sqrt(2 * 0.4 * 0.6) * price / 2
    assert_allclose(m.table.loc["easy", "income_se"], se_easy, rtol=1e-12)
    z = stats.norm.ppf(0.975)
    assert_allclose(
        [m.gap_ci_low, m.gap_ci_high], m.gap + np.array([-1, 1]) * z * np.hypot(se_easy, se_hard), rtol=1e-12
    )


def test_by_difficulty_hand_computed_and_strength_zero_is_flat():
    # relative prices 100/0.8 = 125 and 300/0.4 = 750; expected relative total 2*0.8*125 + 2*0.4*750
    # = 800, so the scale is 1000/800.
    t = by_difficulty(1000.0, PROBS, segments=SEGMENTS, costs=COSTS, strength=1.0)
    assert_allclose(t.prices.loc["x", ["easy", "hard"]], [156.25, 937.5], rtol=1e-12)
    half = by_difficulty(1000.0, PROBS, segments=SEGMENTS, costs=COSTS, strength=0.5)
    ratio = half.prices.at["x", "hard"] / half.prices.at["x", "easy"]
    assert_allclose(ratio, np.sqrt(750 / 125), rtol=1e-12)
    zero = by_difficulty(1000.0, PROBS, segments=SEGMENTS, costs=COSTS, strength=0.0)
    assert_allclose(zero.prices, flat(1000.0, PROBS, segments=SEGMENTS).prices, rtol=1e-12)


def test_incentive_neutral_with_several_outcomes_and_shares():
    rng = np.random.default_rng(3)
    n = 600
    seg = rng.choice(["a", "b", "c", "d"], n)
    probs = pd.DataFrame({"attachment": 1.0, "job": rng.uniform(0.05, 0.6, n), "sustain": rng.uniform(0.02, 0.4, n)})
    costs = {"a": 900.0, "b": 1200.0, "c": 1500.0, "d": 2500.0}
    budget = 1.3 * sum(costs[s] for s in seg)
    shares = {"attachment": 0.1, "job": 0.3, "sustain": 0.6}
    t = incentive_neutral(costs, probs, budget, segments=seg, shares=shares)
    m = t.margins(costs, seg, probs)
    margins = m.table["margin_per_person"].to_numpy()
    assert np.ptp(margins) < 1e-9
    assert_allclose(m.table["expected_income"].sum(), budget, rtol=1e-12)
    # Within each segment the income splits across outcomes in the stated shares.
    pb = probs.groupby(seg).mean()
    split = (t.prices.T * pb).div((t.prices.T * pb).sum(axis=1), axis=0)
    assert_allclose(split.to_numpy(), np.tile([0.1, 0.3, 0.6], (4, 1)), rtol=1e-12)


def test_incentive_neutral_infeasible_cases_are_errors():
    with pytest.raises(ModelError, match=r"\[\('hard', 'x'\)\] have zero expected achievement"):
        incentive_neutral(COSTS, pd.DataFrame({"x": [0.8, 0.8, 0.0, 0.0]}), 1000.0, segments=SEGMENTS)
    # Lowest feasible budget: 800 - 4 * 100 = 400 (easy segment priced at zero).
    with pytest.raises(ParameterError, match=r"at least £400\.00 .*negative prices in segments \['easy'\]"):
        incentive_neutral(COSTS, PROBS, 399.0, segments=SEGMENTS)
    edge = incentive_neutral(COSTS, PROBS, 400.0, segments=SEGMENTS)
    assert edge.prices.at["x", "easy"] == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ParameterError, match="'budget' parameter of the tariff must be a finite amount > 0"):
        incentive_neutral(COSTS, PROBS, -5.0, segments=SEGMENTS)
    with pytest.raises(
        ParameterError,
        match=r"'costs' parameter of the tariff must be a value for every segment.*Got none for \['hard'\]",
    ):
        incentive_neutral({"easy": 1.0}, PROBS, 1000.0, segments=SEGMENTS)
    with pytest.raises(ParameterError, match="non-negative and summing to 1"):
        incentive_neutral(COSTS, PROBS, 1000.0, segments=SEGMENTS, shares={"x": 0.5})


def test_incentive_neutral_fixed_price_hand_computed():
    # Fixed £50 for 'a' (achieved by all): income per person 150 (easy) and 350 (hard) as before,
    # so 'x' must bring 100 and 300: prices 100/0.8 = 125 and 300/0.4 = 750.
    probs = PROBS.assign(a=1.0)
    t = incentive_neutral(COSTS, probs, 1000.0, segments=SEGMENTS, fixed={"a": 50.0})
    assert_allclose(t.prices.loc["x", ["easy", "hard"]], [125.0, 750.0], rtol=1e-12)
    assert_allclose(t.prices.loc["a"], 50.0)
    # A fixed £200 already overpays the easy segment at a £1,000 budget: its rest would be -50.
    # Minimum budget 800 - 4 * min(100 - 200, 300 - 200) = 1200.
    with pytest.raises(ParameterError, match=r"at least £1,200\.00 .*negative prices in segments \['easy'\]"):
        incentive_neutral(COSTS, probs, 1000.0, segments=SEGMENTS, fixed={"a": 200.0})
    with pytest.raises(ParameterError, match="some, not all, of the outcomes"):
        incentive_neutral(COSTS, probs, 1000.0, segments=SEGMENTS, fixed={"a": 1.0, "x": 1.0})


@settings(max_examples=60, deadline=None)
@given(
    n_segments=st.integers(1, 6),
    seed=st.integers(0, 2**31),
    headroom=st.floats(0.0, 2.0),
)
def test_incentive_neutral_property(n_segments, seed, headroom):
    rng = np.random.default_rng(seed)
    n = 40
    seg = np.array([f"s{i}" for i in range(n_segments)])[np.arange(n) % n_segments]
    probs = pd.DataFrame({"x": rng.uniform(0.01, 1.0, n), "y": rng.uniform(0.01, 1.0, n)})
    costs = {f"s{i}": float(c) for i, c in enumerate(rng.uniform(10, 1000, n_segments))}
    total = sum(costs[s] for s in seg)
    budget = total * (1 + headroom) + 1.0
    m = incentive_neutral(costs, probs, budget, segments=seg).margins(costs, seg, probs)
    assert np.ptp(m.table["margin_per_person"]) <= 1e-9 * max(1.0, budget / n)
    assert m.table["expected_income"].sum() == pytest.approx(budget, rel=1e-12)
    assert m.table["margin_per_person"].iloc[0] == pytest.approx((budget - total) / n, rel=1e-9, abs=1e-9)


def test_bad_probabilities_and_segments_are_named():
    with pytest.raises(ParameterError, match=r"row 1 column 'x'"):
        flat(100.0, pd.DataFrame({"x": [0.5, 1.5]}), segments=["a", "a"])
    flags = pd.DataFrame({"a": [True, True, False], "b": [False, True, False]})
    with pytest.raises(ParameterError, match=r"exactly one payment segment.*\[2, 0\] segments for rows \[1, 2\]"):
        segment_labels(flags)
    assert segment_labels(pd.DataFrame({"a": [True, False], "b": [False, True]})).tolist() == ["a", "b"]
    with pytest.raises(ParameterError, match="one entry per person"):
        flat(100.0, pd.DataFrame({"x": [0.5, 0.5]}), segments=["a"])
    with pytest.raises(ModelError, match="by difficulty.*zero expected achievement"):
        by_difficulty(100.0, pd.DataFrame({"x": [0.5, 0.0]}), segments=["a", "b"], costs=1.0)


def test_tariff_from_toml_and_dict(tmp_path):
    path = tmp_path / "tariff.toml"
    path.write_text(
        '[tariff]\nsegments = ["JSA 18-24", "JSA 25+"]\nbudget = 5000\nattachment = 400\n'
        'sustainment = {"JSA 18-24" = 2210, "JSA 25+" = 2795}\n'
    )
    t = Tariff.from_toml(path)
    assert t.segments == ["JSA 18-24", "JSA 25+"]
    assert t.price("sustainment", "JSA 25+") == 2795.0
    assert t.price("attachment", "JSA 18-24") == 400.0
    assert t.budget == 5000
    path.write_text('[tariff]\nx = {"a" = 1}\ny = {"b" = 2}\n')
    with pytest.raises(SpecError, match=r"outcome 'x' must cover every segment \['a', 'b'\]"):
        Tariff.from_toml(path)
    path.write_text("[other]\n")
    with pytest.raises(SpecError, match=r"must have a \[tariff\] table"):
        Tariff.from_toml(path)
    with pytest.raises(ParameterError, match="finite prices >= 0"):
        Tariff.from_dict({"x": -1.0}, segments=["a"])
    path.write_text('[tariff]\nsegments = ["a"]\nx = -1.0\n')
    with pytest.raises(SpecError, match=r"^\S+tariff\.toml: \[tariff\]: The 'prices' parameter .* finite prices >= 0"):
        Tariff.from_toml(path)
    with pytest.raises(ParameterError, match=r"must be segments the tariff prices"):
        t.expected_income(["JSA 18-24", "other"], pd.DataFrame({"attachment": [1.0, 1.0]}))


def test_dwp_scheme_prices_match_domain_table():
    # Work and Pensions Committee HC 162 (2013), Table 3 totals; groups 6-9 are unpriced.
    totals = Tariff.from_dict(scheme("dwp_work_programme").ratecard.prices_per_person()).prices.sum(axis=0)
    assert totals.to_dict() == {
        "esa_volunteers": 3700.0,
        "jsa_18_24": 3810.0,
        "jsa_25_plus": 4395.0,
        "jsa_early_access": 6600.0,
        "jsa_ex_ib": 6600.0,
    }


def _synthetic_cohort():
    """Enrolled people of the synthetic world in three risk bands, with costs rising with needs."""
    from cohorts.synthetic import make_world

    w = make_world(seed=0, n_eligible=4_000, n_pool=500)
    people = w.people.merge(w.truth.people, on="person_id")
    band = pd.qcut(people["ogrs_score"], 3, labels=["low risk", "medium risk", "high risk"]).astype(str)
    needs = people[[c for c in people.columns if c.startswith("need_")]].sum(axis=1)
    cost_per_person = 600.0 + 350.0 * needs  # keyworker time rises with the number of needs
    costs = cost_per_person.groupby(band.to_numpy()).mean()
    # Attachment fee (everyone) plus a payment for no proven reoffending, with the programme.
    probs = pd.DataFrame({"attachment": 1.0, "no_reoffence": 1.0 - people["p_reoffend_1"].to_numpy()})
    return band.to_numpy(), probs, costs


def test_dwp_like_flat_tariff_creams_and_incentive_neutral_closes_the_gap():
    segments, probs, costs = _synthetic_cohort()
    n = len(segments)
    budget = 1.05 * float(sum(costs[s] for s in segments))
    # DWP-like: one attachment fee (£400 a person) and one outcome price for everyone.
    shares = {"attachment": 400.0 * n / budget, "no_reoffence": 1 - 400.0 * n / budget}
    flat_t = flat(budget, probs, segments=segments, shares=shares)
    assert_allclose(flat_t.prices.loc["attachment"], 400.0, rtol=1e-12)
    fm = flat_t.margins(costs, segments, probs)
    assert (fm.easiest, fm.hardest) == ("low risk", "high risk")
    assert fm.gap > 0 and fm.gap_ci_low > 0  # the incentive to cream, beyond chance
    assert fm.table.loc["high risk", "ci_high"] < 0  # hard cases lose money
    assert fm.table.loc["low risk", "ci_low"] > 0
    neutral = incentive_neutral(costs, probs, budget, segments=segments, shares=shares)
    nm = neutral.margins(costs, segments, probs)
    assert abs(nm.gap) < 1e-9
    assert np.ptp(nm.table["margin_per_person"]) < 1e-9
    assert_allclose(nm.table["expected_income"].sum(), budget, rtol=1e-12)
    assert nm.table["margin_per_person"].iloc[0] == pytest.approx(0.05 * budget / 1.05 / n, rel=1e-9)
    # Holding the attachment fee at £400 for everyone, outcome prices alone close the gap.
    fixed = incentive_neutral(costs, probs, budget, segments=segments, fixed={"attachment": 400.0})
    assert_allclose(fixed.prices.loc["attachment"], 400.0)
    fm2 = fixed.margins(costs, segments, probs)
    assert np.ptp(fm2.table["margin_per_person"]) < 1e-9
    assert_allclose(fm2.table["expected_income"].sum(), budget, rtol=1e-12)
    assert fixed.prices.at["no_reoffence", "high risk"] > fixed.prices.at["no_reoffence", "low risk"]
    # Pricing by difficulty sits between the two.
    mid = by_difficulty(budget, probs, segments=segments, costs=costs, strength=0.5).margins(costs, segments, probs)
    assert 0 < abs(mid.gap) < fm.gap


def test_results_render(tmp_path):
    t = flat(1000.0, PROBS, segments=SEGMENTS)
    m = t.margins(COSTS, SEGMENTS, PROBS)
    assert "Gap easy (easiest) - hard (hardest)" in m.summary()
    assert m.to_dict()["segments"][0]["segment"] == "easy"
    assert t.to_dict()["prices"]["x"]["hard"] == pytest.approx(1000 / 2.4)
    ax = m.plot()
    assert len(ax.patches) == 2
    ax = t.plot()
    assert ax.get_ylabel().startswith("price")


def test_analytic_income_se_matches_brute_force_simulation():
    # Independent check of the Bernoulli variance: draw 20,000 cohorts directly and compare.
    rng = np.random.default_rng(5)
    n = 300
    seg = rng.choice(["a", "b", "c"], n)
    probs = pd.DataFrame({"x": rng.uniform(0.05, 0.95, n), "y": rng.uniform(0.05, 0.95, n)})
    t = Tariff.from_dict({"x": {"a": 100.0, "b": 250.0, "c": 400.0}, "y": 75.0})
    income = t.expected_income(seg, probs)
    prices = t.person_prices(seg, ["x", "y"]).to_numpy()
    draws = rng.random((20_000, n, 2)) < probs.to_numpy()
    per_person = (draws * prices).sum(axis=2)
    for s in ["a", "b", "c"]:
        totals = per_person[:, seg == s].sum(axis=1)
        assert totals.mean() == pytest.approx(income.at[s, "expected_income"], rel=0.002)
        assert totals.std() == pytest.approx(income.at[s, "se"], rel=0.03)
