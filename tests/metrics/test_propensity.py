"""A propensity fit that never crashes: rare treatment with badly scaled covariates and a near-separated
model agree with statsmodels' Logit; separation is a ModelError naming the covariates; exact strata
keep their covariates out of the model; bad values are SchemaErrors naming column and rows; and (a
hypothesis test) no bare numpy, pandas or scipy error escapes match(), fit_propensity() or effect().
Also issue 14's degenerate inputs to matching and effects."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.special import expit

from ground.errors import DesistError, MatchingError, ModelError, ParameterError, SchemaError
from metrics import MatchingShortfallWarning, SeparationWarning, compare, entropy_balance, fit_propensity, match
from metrics.propensity import design_matrix

RARE_COVARIATES = ["age", "age2", "income", "income2"]


def rare_treatment(seed: int, n: int = 16_000, share: float = 0.01) -> pd.DataFrame:
    """The issue's data: age and its square, a lognormal income (mean about 30,000) and its square."""
    rng = np.random.default_rng(seed)
    age = rng.normal(35, 10, n).clip(18, 80)
    income = rng.lognormal(np.log(30_000) - 0.32, 0.8, n)
    logit = np.log(share / (1 - share)) - 0.06 * (age - 35) + 0.0008 * (age - 35) ** 2 + 0.4 * np.log(income / 30_000)
    t = (rng.random(n) < expit(logit)).astype(int)
    return pd.DataFrame({"t": t, "age": age, "age2": age**2, "income": income, "income2": income**2})


def _statsmodels(df: pd.DataFrame, covariates: list[str]) -> np.ndarray:
    X, _, _ = design_matrix(df, covariates)
    return np.asarray(sm.Logit(df["t"].to_numpy(float), X).fit(method="newton", tol=1e-12, maxiter=100, disp=0).params)


@pytest.mark.parametrize("share", [0.01, 0.03])
def test_rare_treatment_agrees_with_statsmodels_on_20_seeds(share):
    for seed in range(20):
        df = rare_treatment(seed, share=share)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SeparationWarning)
            ps = fit_propensity(df, "t", RARE_COVARIATES)
        assert_allclose(ps.coefficients, _statsmodels(df, RARE_COVARIATES), rtol=1e-6, err_msg=f"seed {seed}")


def test_near_separated_model_is_fitted_with_a_warning():
    rng = np.random.default_rng(0)
    z = rng.normal(size=16_000)
    df = pd.DataFrame({"z": z, "t": (rng.random(16_000) < expit(-14 + 7 * z)).astype(int)})
    with pytest.warns(SeparationWarning, match="numerically 0 or 1"):
        ps = fit_propensity(df, "t", "z")
    assert_allclose(ps.coefficients, _statsmodels(df, ["z"]), rtol=1e-6)
    assert ps.coefficients[1] > 6 and ps.notes


def test_separation_is_judged_by_diverging_coefficients():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"a": rng.normal(size=2_000), "b": rng.normal(size=2_000)})
    df["t"] = (df["a"] + df["b"] > 1.5).astype(int)  # no single covariate separates; the two together do
    with pytest.raises(ModelError, match=r"no finite estimate \(separation\).*'a', 'b'"):
        fit_propensity(df, "t", ["a", "b"])


def test_exact_strata_keep_their_covariate_out_of_the_model():
    rng = np.random.default_rng(2)
    n = 3_000
    df = pd.DataFrame({"sex": rng.choice(["male", "female"], n), "age": rng.normal(35, 10, n)})
    df["t"] = 0
    men = np.flatnonzero(df["sex"] == "male")
    df.loc[rng.choice(men, 200, replace=False), "t"] = 1  # all 200 treated are men
    with pytest.raises(ModelError, match="every treated unit has it|all .* units with it are controls"):
        match(df, "t", ["sex", "age"])
    m = match(df, "t", ["sex", "age"], exact="sex")
    assert m.propensity.columns == ["Intercept", "age"] and "sexmale" in m.propensity.notes[0]
    assert {"sexfemale", "sexmale"} <= set(m.balance().index)
    assert m.counts.loc["discarded", "control"] == (df["sex"] == "female").sum()


@pytest.mark.parametrize("value", [np.inf, -np.inf, 1e300])
def test_non_finite_covariates_are_schema_errors_naming_rows(value):
    df = rare_treatment(0, n=500, share=0.2)
    df.loc[[3, 41], "income"] = value
    with pytest.raises(SchemaError, match=r"income: row 4 \(.*\), row 42") as info:
        match(df, "t", RARE_COVARIATES)
    assert info.value.failures["row"].tolist() == [3, 41]


def test_one_treated_unit_is_a_clear_error():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"x": rng.normal(size=50), "y": rng.normal(size=50), "t": 0})
    df.loc[7, "t"] = 1
    m = match(df, "t", "x")
    with pytest.raises(ModelError, match="at least 2 units in each group"):
        m.effect("y")


@pytest.mark.parametrize("bad, pattern", [(5.0, "takes one value"), (np.inf, "row 3"), (1e300, "row 3")])
def test_constant_or_non_finite_outcome_is_refused_naming_it(bad, pattern):
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"x": rng.normal(size=200), "t": (rng.random(200) < 0.3).astype(int)})
    df["y"] = 5.0 if bad == 5.0 else rng.normal(size=200)
    if bad != 5.0:
        df.loc[2, "y"] = bad
    with pytest.raises(ModelError, match=rf"outcome 'y'.*{pattern}"):
        match(df, "t", "x").effect("y")


def test_a_ratio_the_pool_cannot_give_warns_with_counts():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"x": rng.normal(size=400), "t": np.r_[np.ones(120), np.zeros(280)].astype(int)})
    with pytest.warns(MatchingShortfallWarning, match=r"ratio=5 without replacement.*got 2"):
        m = match(df, "t", "x", ratio=5)
    assert m.counts.loc["matched", "control"] == 280


def test_text_covariate_messages_stay_short_and_a_string_is_one_column():
    rng = np.random.default_rng(6)
    n = 3_000
    df = pd.DataFrame({"age": rng.normal(35, 10, n), "t": (rng.random(n) < 0.1).astype(int)})
    df["note"] = [f"free text {i}" for i in range(n)]
    with pytest.raises(ModelError) as info:
        match(df, "t", ["age", "note"])
    assert len(str(info.value)) < 1_500 and "more" in str(info.value)
    m = match(df, "t", "age")
    assert m.covariates == ["age"]


def test_matching_rows_are_counted_from_one():
    df = pd.DataFrame({"t": [1, 0, 0, 1], "x": [1.0, np.nan, 2.0, 3.0]})
    with pytest.raises(SchemaError, match=r"1 missing value in x: row 2"):
        match(df, "t", "x")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(3, 60),
    scale=st.sampled_from([1e-12, 1.0, 1e6, 1e150, 1e300]),
    special=st.sampled_from([None, np.nan, np.inf, 0.0]),
    share=st.floats(0.02, 0.98),
    level=st.sampled_from(["a", "b", "rare"]),
    seed=st.integers(0, 10_000),
    replace=st.booleans(),
)
def test_no_bare_error_escapes(n, scale, special, share, level, seed, replace):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n) * scale,
            "g": np.where(rng.random(n) < 0.1, level, "a"),
            "t": (rng.random(n) < share).astype(int),
            "y": rng.normal(size=n),
        }
    )
    if special is not None:
        df.loc[0, "x"] = special
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit_propensity(df, "t", ["x", "g"])
            compare(df, "t", "y", covariates=["x", "g"])
            entropy_balance(df, "t", ["x", "g"])
            m = match(df, "t", ["x", "g"], replace=replace)
            m.balance(squares=True, interactions=True)
            m.effect("y")
            m.effect("y", covariates="x")
            match(df, "t", ["x"], method="subclass", subclass=3).effect("y")
            match(df, "t", ["x"], method="optimal", distance="mahalanobis").effect("y")
    except DesistError:
        pass


def test_subclassification_with_too_few_controls_is_a_clear_error():
    rng = np.random.default_rng(9)
    df = pd.DataFrame({"x": rng.normal(size=40), "t": np.r_[np.ones(37), np.zeros(3)].astype(int)})
    with pytest.raises(MatchingError, match="needs 6 control units; there are 3"):
        match(df, "t", "x", method="subclass")


def test_argument_errors_are_parameter_errors():
    df = rare_treatment(1, n=300, share=0.3)
    with pytest.raises(ParameterError, match="'covariates' parameter of match"):
        match(df, "t", [1, 2])
    with pytest.raises(ParameterError, match="'se' parameter"):
        match(df, "t", "age").effect("income", se="robust")
    with pytest.raises(MatchingError, match="No treated unit has a control within the caliper"):
        match(df.assign(score=df["t"] * 10.0), "t", distance="score", covariates="age", caliper=0.01, std_caliper=False)
