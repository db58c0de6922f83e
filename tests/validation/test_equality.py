"""Equality impact table: rates, CIs, ratios and disclosure control."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from statsmodels.stats.proportion import proportion_confint

from ground.errors import ParameterError, SchemaError
from validation import equality
from validation.equality_impact import TOTAL, age_band


def _people(n=1200, seed=0, shares=(0.73, 0.12, 0.08, 0.05, 0.02)):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "sex": rng.choice(["male", "female"], n, p=[0.85, 0.15]),
            "ethnicity": rng.choice(["white", "black", "asian", "mixed", "other"], n, p=list(shares)),
            "age": rng.integers(18, 70, n),
            "enrolled": rng.random(n) < 0.6,
        }
    )
    df["outcome"] = np.where(df["enrolled"], rng.random(n) < 0.5, np.nan)
    df["paid"] = np.where(df["enrolled"], rng.random(n) < 0.3, np.nan)
    return df


def test_rates_cis_and_ratios_by_hand():
    df = _people()
    eq = equality(df, groups=("sex",), outcome="outcome", payment="paid", min_cell=1)
    t = eq.table.set_index(["measure", "group", "level"])
    female, male = df[df["sex"] == "female"], df[df["sex"] == "male"]
    row = t.loc[("enrolment", "sex", "female")]
    x, n = female["enrolled"].sum(), len(female)
    assert (row["x"], row["n"]) == (x, n)
    lo, hi = proportion_confint(x, n, method="wilson")
    assert_allclose([row["ci_low"], row["ci_high"]], [lo, hi], rtol=1e-12)
    # Ratio to the reference (male, the larger group) with the Katz log CI.
    x0, n0 = male["enrolled"].sum(), len(male)
    rr = (x / n) / (x0 / n0)
    se = np.sqrt(1 / x - 1 / n + 1 / x0 - 1 / n0)
    assert_allclose(
        [row["ratio"], row["ratio_ci_low"], row["ratio_ci_high"]],
        [rr, rr * np.exp(-1.96 * se), rr * np.exp(1.96 * se)],
        rtol=1e-12,
    )
    assert eq.reference == {"sex": "male"}
    assert t.loc[("enrolment", "sex", "male"), "ratio"] == 1.0
    # Outcome and payment rates are among the enrolled.
    out = t.loc[("outcome", "sex", "female")]
    assert out["n"] == female["enrolled"].sum()
    assert out["x"] == female["outcome"].sum()
    assert t.loc[("payment", TOTAL, TOTAL), "n"] == df["enrolled"].sum()


def test_age_band_derived_and_reference_override():
    df = _people(n=500)
    assert list(age_band(pd.Series([18, 24, 25, 49, 50, 80])).astype(str)) == [
        "18-24",
        "18-24",
        "25-34",
        "35-49",
        "50+",
        "50+",
    ]
    eq = equality(df, groups=("age_band",), reference={"age_band": "18-24"})
    assert eq.reference["age_band"] == "18-24"
    with pytest.raises(ParameterError, match=r"'reference' parameter of equality must be a level of 'sex'"):
        equality(df, groups=("sex",), reference={"sex": "unknown"})
    with pytest.raises(
        SchemaError, match=r"table 'people' is missing the column religion \(the 'groups\[0\]' column\)"
    ):
        equality(df, groups=("religion",))
    with pytest.raises(SchemaError, match=r"columns not in the people table: 'paid_out' \(payment\)"):
        equality(df, groups=("sex",), payment="paid_out")
    with pytest.raises(SchemaError, match=r"'outcome' column 'outcome' must be bool or 0/1; other values at rows 3"):
        equality(df.assign(outcome=df["outcome"].where(df.index != 3, 2.0)), groups=("sex",), outcome="outcome")


def test_small_cells_are_suppressed_with_reasons():
    df = _people()
    eq = equality(df, outcome="outcome", payment="paid")
    t = eq.table
    hidden = t[t["suppressed"]]
    assert hidden[["n", "x", "rate", "ci_low", "ci_high", "ratio"]].isna().all().all()
    visible = t[~t["suppressed"]]
    assert (visible["x"] >= 10).all() and (visible["n"] - visible["x"] >= 10).all()
    # "other" ethnicity (2% of 1,200 = ~24 people, ~14 enrolled) is too small to show.
    assert t.set_index(["measure", "group", "level"]).loc[("outcome", "ethnicity", "other"), "suppressed"]
    assert "*" in eq.summary()


def _assert_nothing_recoverable(eq):
    t = eq.table
    for (measure, group), cells in t[t["group"] != TOTAL].groupby(["measure", "group"]):
        total = t[(t["measure"] == measure) & (t["group"] == TOTAL)]
        hidden = int(cells["suppressed"].sum()) + int(total["suppressed"].sum())
        # Exactly one hidden cell among the levels and their total could be recovered by subtraction.
        assert hidden != 1, (measure, group)
        # A ratio would reveal a hidden reference rate.
        if cells.loc[cells["reference"], "suppressed"].any():
            assert cells["ratio"].isna().all()
    # A hidden enrolment count is the denominator of the outcome and payment rates.
    enrol = t[(t["measure"] == "enrolment") & t["suppressed"]][["group", "level"]]
    linked = t[t["measure"] != "enrolment"].merge(enrol, on=["group", "level"])
    assert linked["suppressed"].all()


def test_suppressed_values_cannot_be_recovered_from_totals():
    df = _people(n=400, seed=3)
    eq = equality(df, outcome="outcome", payment="paid")
    t = eq.table
    assert (t["reason"].str.startswith("secondary")).any()
    _assert_nothing_recoverable(eq)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(20, 400),
    seed=st.integers(0, 10_000),
    minority=st.floats(0.005, 0.2),
    min_cell=st.sampled_from([5, 10]),
)
def test_suppression_property(n, seed, minority, min_cell):
    rest = 1 - minority
    df = _people(n=n, seed=seed, shares=(rest * 0.8, rest * 0.2, minority / 2, minority / 4, minority / 4))
    eq = equality(df, outcome="outcome", payment="paid", min_cell=min_cell)
    _assert_nothing_recoverable(eq)
    visible = eq.table[~eq.table["suppressed"]]
    assert (visible["x"] >= min_cell).all()
