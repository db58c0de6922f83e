"""cohorts.weights: raking against R survey::rake, post-stratification, odds weights, trimming."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from cohorts.weights import (
    WeightingResult,
    design_effect,
    kish_ess,
    margins_from_toml,
    odds_weights,
    post_stratify,
    rake,
    trim,
)
from ground.errors import ConvergenceError, ParameterError, SchemaError, SpecError
from tests.results import survey_rake as ref

DATA = Path(__file__).resolve().parents[1] / "data" / "survey_rake_sample.csv"


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return pd.read_csv(DATA)


@pytest.fixture
def small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sex": ["female", "female", "male", "male", "male", "male"],
            "age": ["young", "old", "young", "old", "old", "young"],
        },
        index=[10, 11, 12, 13, 14, 15],
    )


# ----------------------------------------------------------------- agreement with R


def test_rake_agrees_with_survey_run_to_convergence(sample):
    # survey::rake(..., control = list(maxit = 1000, epsilon = 1e-12)); same settings here.
    result = rake(sample, ref.margins, weights=sample["base_weight"], tol=1e-12, max_iter=1000)
    assert result.converged
    assert_allclose(result.weights.to_numpy(), ref.weights_converged, rtol=0, atol=1e-8)
    assert np.max(np.abs(result.weights.to_numpy() - ref.weights_converged)) < 1e-9


def test_rake_defaults_agree_with_survey_converged(sample):
    result = rake(sample, ref.margins, weights=sample["base_weight"])
    assert result.converged and result.iterations < 100
    # The default tolerance stops a little earlier than epsilon = 1e-12: the
    # largest weight here is ~5,600, so 1e-10 relative is ~6e-7 absolute.
    assert_allclose(result.weights.to_numpy(), ref.weights_converged, rtol=1e-10)
    assert_allclose(result.margins["after"], result.margins["target"], rtol=1e-10)


def test_survey_defaults_stop_short_where_ours_converge(sample):
    # survey's defaults (maxit = 10, epsilon = 1) warn and leave the sex margin off by ~38.
    assert ref.defaults_warning.startswith("Raking did not converge after 10 iterations")
    assert abs(ref.defaults_sex_totals["female"] - 250_000) > 10
    with pytest.raises(ConvergenceError, match=r"after 10 passes .*margin 'sex', level 'female'"):
        rake(sample, ref.margins, weights=sample["base_weight"], tol=1, max_iter=10)
    ours = rake(sample, ref.margins, weights=sample["base_weight"])
    female = ours.margins.query("margin == 'sex' and level == 'female'")["after"].item()
    assert female == pytest.approx(250_000, rel=1e-10)


def test_rake_matches_a_row_level_ipf(sample):
    # Independent check: rake the rows directly, one margin at a time, as survey does.
    w = sample["base_weight"].to_numpy(dtype=float).copy()
    for _ in range(200):
        for col, levels in ref.margins.items():
            totals = pd.Series(w).groupby(sample[col].to_numpy()).sum()
            w *= sample[col].map({k: levels[k] / totals[k] for k in levels}).to_numpy()
    result = rake(sample, ref.margins, weights=sample["base_weight"], tol=1e-13)
    assert_allclose(result.weights.to_numpy(), w, rtol=1e-11)


# ----------------------------------------------------------------- rake behaviour


def test_rake_shares_are_scaled_to_total_and_index_kept(small):
    shares = {"sex": {"female": 0.5, "male": 0.5}, "age": {"young": 0.4, "old": 0.6}}
    result = rake(small, shares, total=1000)
    assert list(result.weights.index) == list(small.index)
    assert result.weights.sum() == pytest.approx(1000)
    by_sex = result.weights.groupby(small["sex"]).sum()
    assert by_sex["female"] == pytest.approx(500) and by_sex["male"] == pytest.approx(500)
    assert result.weights.groupby(small["age"]).sum()["old"] == pytest.approx(600)
    # Without a total, shares scale to the sum of the base weights.
    assert rake(small, shares).weights.sum() == pytest.approx(len(small))
    base = pd.Series([1, 2, 3, 4, 5, 6], index=small.index, dtype=float)
    assert rake(small, shares, weights=base).weights.sum() == pytest.approx(21)


def test_rake_mixes_counts_and_shares(small):
    margins = {"sex": {"female": 30, "male": 70}, "age": {"young": 0.5, "old": 0.5}}
    result = rake(small, margins)
    assert result.weights.groupby(small["age"]).sum()["young"] == pytest.approx(50)


def test_rake_aligns_base_weights_by_index(small):
    margins = {"sex": {"female": 0.5, "male": 0.5}}
    base = pd.Series([1.0, 3.0, 1.0, 1.0, 1.0, 1.0], index=small.index)
    shuffled = base.iloc[::-1]
    assert_allclose(rake(small, margins, weights=shuffled).weights, rake(small, margins, weights=base).weights)
    assert rake(small, margins, weights=base).weights.loc[11] == pytest.approx(3.0)


def test_rake_result_reports_ess_max_weight_and_margins(sample):
    result = rake(sample, ref.margins, weights=sample["base_weight"])
    w = result.weights.to_numpy()
    assert result.ess == pytest.approx(w.sum() ** 2 / (w**2).sum())
    assert result.max_weight == pytest.approx(w.max())
    table = result.to_frame()
    assert list(table.columns[:5]) == ["margin", "level", "target", "before", "after"]
    assert len(table) == sum(len(v) for v in ref.margins.values())
    female = table.query("margin == 'sex' and level == 'female'")
    assert female["before"].item() == pytest.approx(sample.loc[sample["sex"] == "female", "base_weight"].sum())
    assert female["n"].item() == (sample["sex"] == "female").sum()
    text = result.summary()
    assert "effective sample size" in text and "largest weight" in text and "ethnicity" in text
    json.dumps(result.to_dict())
    ax = result.plot()
    assert len(ax.get_yticks()) == len(table)


def test_rake_integer_levels_match_string_targets():
    data = pd.DataFrame({"band": [1, 1, 2, 3, 3, 3]})
    result = rake(data, {"band": {"1": 10, "2": 10, "3": 10}})
    assert_allclose(result.weights.to_numpy(), [5, 5, 10, 10 / 3, 10 / 3, 10 / 3])


# ----------------------------------------------------------------- rake errors


def test_rake_target_level_absent_from_data(small):
    with pytest.raises(
        ParameterError,
        match=r"levels of 'age' found in the data.*Got target level\(s\) \['middle'\] absent from the data",
    ):
        rake(small, {"age": {"young": 0.3, "middle": 0.3, "old": 0.4}})


def test_rake_data_level_without_target(small):
    with pytest.raises(
        ParameterError, match=r"a target for every level of 'sex' found in the data\. Got none for \['male'\]"
    ):
        rake(small, {"sex": {"female": 1.0}, "age": {"young": 0.5, "old": 0.5}})


def test_rake_margins_disagree_on_total(small):
    with pytest.raises(ParameterError, match=r"totals that disagree \('sex' sums to 100, 'age' sums to 120\)"):
        rake(small, {"sex": {"female": 50, "male": 50}, "age": {"young": 60, "old": 60}})
    with pytest.raises(ParameterError, match=r"total=90; 'sex' sums to 100"):
        rake(small, {"sex": {"female": 50, "male": 50}}, total=90)


def test_rake_non_convergence_names_the_margin():
    # Women are all young, so 60% women cannot coexist with 30% young: no solution.
    data = pd.DataFrame({"sex": ["female", "female", "male", "male"], "age": ["young", "young", "old", "old"]})
    margins = {"sex": {"female": 0.6, "male": 0.4}, "age": {"young": 0.3, "old": 0.7}}
    # Each pass repeats the last exactly, so survey's criterion alone would call this converged.
    with pytest.raises(ConvergenceError, match=r"cannot meet every margin.*margin 'sex', level 'female'"):
        rake(data, margins, max_iter=50)
    # A margin that approaches its target only slowly: too few passes.
    slow = pd.DataFrame({"sex": ["female"] * 2 + ["male"] * 98, "age": ["young", "old"] + ["old"] * 97 + ["young"]})
    with pytest.raises(ConvergenceError, match=r"did not converge after 3 passes .*margin '(sex|age)'"):
        rake(slow, {"sex": {"female": 0.5, "male": 0.5}, "age": {"young": 0.5, "old": 0.5}}, max_iter=3)


def test_rake_bad_inputs(small):
    with pytest.raises(SchemaError, match=r"table 'data' is missing the column region"):
        rake(small, {"region": {"north": 1.0}})
    gappy = small.assign(age=[None, "old", "young", "old", "old", "young"])
    with pytest.raises(SchemaError, match=r"margin column 'age' has 1 missing value\(s\) .*: row 1\."):
        rake(gappy, {"age": {"young": 0.5, "old": 0.5}})
    with pytest.raises(ParameterError, match=r"'weights' parameter of rake must be positive.*: row 3 \(0\)"):
        rake(small, {"sex": {"female": 0.5, "male": 0.5}}, weights=[1, 1, 0, 1, 1, 1])
    with pytest.raises(ParameterError, match=r"positive numbers as targets.*male=-1"):
        rake(small, {"sex": {"female": 2, "male": -1}})
    with pytest.raises(ParameterError, match=r"positive numbers as targets.*female='15%'"):
        rake(small, {"sex": {"female": "15%", "male": 0.85}})
    with pytest.raises(ParameterError, match=r"'margins' parameter of rake must be a non-empty mapping"):
        rake(small, {})
    with pytest.raises(ParameterError, match=r"'max_iter' parameter of rake must be an int in the range \[1, inf\)"):
        rake(small, {"sex": {"female": 0.5, "male": 0.5}}, max_iter=0)


# ----------------------------------------------------------------- post-stratification


def test_post_stratify_one_column(small):
    result = post_stratify(small, "sex", {"female": 40, "male": 60})
    assert_allclose(result.weights.to_numpy(), [20, 20, 15, 15, 15, 15])
    assert result.margins["after"].tolist() == [40, 60]


def test_post_stratify_two_columns_with_base_weights(small):
    pop = {("female", "young"): 10, ("female", "old"): 20, ("male", "young"): 30, ("male", "old"): 40}
    base = [1.0, 1.0, 1.0, 1.0, 3.0, 2.0]
    result = post_stratify(small, ["sex", "age"], pop, weights=base)
    # Cell male-old holds base weights 1 and 3: scaled by 40 / 4.
    assert_allclose(result.weights.to_numpy(), [10, 20, 10, 10, 30, 20])
    as_series = pd.Series(list(pop.values()), index=pd.MultiIndex.from_tuples(list(pop)))
    assert_allclose(post_stratify(small, ["sex", "age"], as_series, weights=base).weights, result.weights)


def test_post_stratify_errors(small):
    with pytest.raises(ParameterError, match=r"target level\(s\) \['other'\] absent from the data"):
        post_stratify(small, "sex", {"female": 1, "male": 1, "other": 1})
    with pytest.raises(ParameterError, match=r"tuples of 2 levels"):
        post_stratify(small, ["sex", "age"], {"female": 1, "male": 1})


# ----------------------------------------------------------------- odds weights, trim, ESS


def test_odds_weights_att():
    p = pd.Series([0.5, 0.2, 0.75, 0.5], index=list("abcd"))
    result = odds_weights(p, [True, False, False, False])
    assert_allclose(result.weights.to_numpy(), [1.0, 0.25, 3.0, 1.0])
    assert list(result.weights.index) == list("abcd")
    assert result.details["n_control"] == 3
    normalised = odds_weights(p, [1, 0, 0, 0], normalize=True)
    assert normalised.weights.iloc[1:].sum() == pytest.approx(1.0)
    with pytest.raises(ParameterError, match=r"strictly between 0 and 1\. Got 1 values that are not: row 3 \(1.0\)"):
        odds_weights([0.5, 0.2, 1.0], [True, False, False])
    with pytest.raises(ParameterError, match=r"both treated and control rows"):
        odds_weights([0.5, 0.2], [True, True])


def test_trim_by_maximum_redistributes_and_reports_share_moved():
    w = pd.Series([1.0, 1.0, 1.0, 5.0])
    result = trim(w, maximum=3.0)
    assert_allclose(result.weights.to_numpy(), [5 / 3, 5 / 3, 5 / 3, 3.0])
    assert result.details["share_moved"] == pytest.approx(0.25)
    assert result.details["n_trimmed"] == 1
    kept = trim(w, maximum=3.0, redistribute=False)
    assert kept.weights.tolist() == [1.0, 1.0, 1.0, 3.0]


def test_trim_cascade_keeps_cap_and_total():
    # Redistributing the excess pushes the 2.9 over the cap, which must then be capped too.
    w = np.array([10.0, 2.9, 1.0, 1.0, 1.0, 1.0])
    result = trim(w, maximum=3.0)
    assert result.weights.max() <= 3.0 + 1e-12
    assert result.weights.sum() == pytest.approx(w.sum())
    assert result.weights.iloc[1] == pytest.approx(3.0)
    assert_allclose(result.weights.iloc[2:], (w.sum() - 6.0) / 4)


def test_trim_by_quantile_on_a_rake_result(sample):
    raked = rake(sample, ref.margins, weights=sample["base_weight"])
    result = trim(raked, quantile=0.99)
    cap = np.quantile(raked.weights, 0.99)
    assert result.details["cap"] == pytest.approx(cap)
    assert result.max_weight <= cap * (1 + 1e-12)
    assert result.weights.sum() == pytest.approx(raked.weights.sum())
    assert result.ess > raked.ess
    excess = (raked.weights - cap).clip(lower=0).sum() / raked.weights.sum()
    assert result.details["share_moved"] == pytest.approx(excess)
    # Margins before (raked) and after (trimmed): trimming pulls some off target.
    assert_allclose(result.margins["before"], raked.margins["after"])
    after = result.weights.groupby(sample["sex"]).sum()
    assert result.margins.set_index("level").loc["female", "after"] == pytest.approx(after["female"])
    assert (result.margins["after"] - result.margins["target"]).abs().max() > 1.0
    with pytest.raises(ParameterError, match=r"exactly one of 'quantile' and 'maximum'"):
        trim(raked, quantile=0.9, maximum=3)
    with pytest.raises(ParameterError, match=r"cannot keep the total"):
        trim([1.0, 5.0], maximum=2.0)


def test_kish_ess_and_design_effect():
    assert kish_ess([1.0, 1.0, 2.0]) == pytest.approx(16 / 6)
    assert kish_ess(np.full(7, 3.3)) == pytest.approx(7)
    w = np.random.default_rng(1).gamma(2.0, size=500)
    assert design_effect(w) == pytest.approx(len(w) / kish_ess(w))
    assert design_effect(w) == pytest.approx(1 + (np.std(w) / np.mean(w)) ** 2)
    assert isinstance(odds_weights([0.5, 0.2], [True, False]), WeightingResult)
    with pytest.raises(ParameterError, match=r"finite, non-negative.*: row 2 \(nan\)"):
        kish_ess([1.0, np.nan])


def test_margins_from_toml(tmp_path, small):
    path = tmp_path / "margins.toml"
    path.write_text(
        "total = 200\n[margins.sex]\nfemale = 0.5\nmale = 0.5\n[margins.age]\nyoung = 0.25\nold = 0.75\n",
        encoding="utf-8",
    )
    spec = margins_from_toml(path)
    assert spec == {
        "margins": {"sex": {"female": 0.5, "male": 0.5}, "age": {"young": 0.25, "old": 0.75}},
        "total": 200,
        "weights": None,
    }
    result = rake(small, spec["margins"], total=spec["total"])
    assert result.weights.groupby(small["age"]).sum()["young"] == pytest.approx(50)
    path.write_text("totl = 3\n[margins.sex]\nfemale = 1.0\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"unknown top-level key\(s\) \['totl'\]"):
        margins_from_toml(path)
    path.write_text("[other]\nx = 1\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"has no \[margins.<name>\] tables"):
        margins_from_toml(path)
    with pytest.raises(SpecError, match=r"Margins file not found"):
        margins_from_toml(tmp_path / "absent.toml")
    path.write_text('[margins.sex]\nfemale = "15%"\nmale = 0.85\n', encoding="utf-8")
    with pytest.raises(
        SpecError, match=r"margins\.toml: margins\.sex\.female: a target must be a positive number.*'15%'"
    ):
        margins_from_toml(path)
    path.write_bytes(b"[margins.sex]\nf\xe9male = 0.5\n")
    with pytest.raises(SpecError, match=r"margins\.toml: cannot read the margins file: not UTF-8 text"):
        margins_from_toml(path)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, 300), k1=st.integers(2, 4), k2=st.integers(2, 5))
def test_rake_meets_every_margin_on_random_samples(seed, n, k1, k2):
    rng = np.random.default_rng(seed)
    # Every level occurs (the first k rows cycle through them), the rest are drawn at random.
    a = np.concatenate([np.arange(k1), rng.integers(0, k1, n - k1)])
    b = np.concatenate([np.arange(k2), rng.integers(0, k2, n - k2)])
    data = pd.DataFrame({"a": a, "b": b})
    margins = {
        "a": dict(enumerate(rng.dirichlet(np.ones(k1)) + 0.05)),
        "b": dict(enumerate(rng.dirichlet(np.ones(k2)) + 0.05)),
    }
    total_b = sum(margins["b"].values())
    margins["a"] = {k: v * total_b / sum(margins["a"].values()) for k, v in margins["a"].items()}
    base = rng.uniform(0.5, 2.0, n)
    try:
        result = rake(data, margins, weights=base, max_iter=5_000)
    except ConvergenceError:
        # With every cell of the a x b table occupied a solution exists and raking
        # converges, so an error is only allowed when some cell is empty.
        assert (pd.crosstab(data["a"], data["b"]) == 0).any().any()
        return
    # The stopping rule (survey's) bounds the change per pass at tol * sum(base); where
    # convergence is slow (empty cells) a margin can still be off by tens of that bound.
    slack = 100 * 1e-10 * base.sum()
    for col, levels in margins.items():
        totals = result.weights.groupby(data[col]).sum()
        assert_allclose([totals[k] for k in levels], list(levels.values()), rtol=0, atol=slack)
    # Raking multiplies base weights by one factor per level of each margin, so the
    # ratio to the base weight is constant within each cell.
    ratio = result.weights / base
    assert_allclose(ratio.groupby([data["a"], data["b"]]).std(ddof=0).fillna(0), 0, atol=1e-9 * ratio.max())
