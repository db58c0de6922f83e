"""cohorts.difficulty: baseline model, deciles, calibration, Hosmer-Lemeshow, AUC (vs R pROC)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from cohorts.difficulty import auc_delong, fit_difficulty, hosmer_lemeshow
from ground.errors import ModelError, ParameterError, SchemaError
from ground.tables import BASELINE_COVARIATES
from tests.results import cohorts_difficulty as ref


@pytest.fixture(scope="module")
def world():
    from cohorts.synthetic import make_world

    return make_world(seed=0, n_eligible=3_000, n_pool=60_000)


@pytest.fixture(scope="module")
def held_out():
    from cohorts.synthetic import make_world

    return make_world(seed=1, n_eligible=200, n_pool=40_000).pool


@pytest.fixture(scope="module")
def model(world):
    return fit_difficulty(world.pool, "reoffended", BASELINE_COVARIATES)


# ----------------------------------------------------------------- AUC and Hosmer-Lemeshow


def test_auc_delong_matches_proc():
    r = auc_delong(ref.outcome, ref.score)
    assert r.auc == pytest.approx(ref.auc, rel=1e-12)
    assert r.se**2 == pytest.approx(ref.auc_var_delong, rel=1e-10)
    assert (r.ci_low, r.ci_high) == pytest.approx(ref.auc_ci_delong, rel=1e-10)


def test_auc_point_estimate_is_mann_whitney():
    rng = np.random.default_rng(5)
    y = rng.random(400) < 0.3
    s = np.round(rng.normal(y * 0.8, 1.0), 1)  # rounded: ties
    u = stats.mannwhitneyu(s[y], s[~y]).statistic
    assert auc_delong(y, s).auc == pytest.approx(u / (y.sum() * (~y).sum()), rel=1e-12)
    with pytest.raises(ModelError, match=r"Got 0 with and 400 without"):
        auc_delong(np.zeros(400), s)


def test_hosmer_lemeshow_by_hand():
    # Groups {0.1, 0.2}, {0.3, 0.4}, {0.6, 0.8} with 0, 1, 2 events:
    # 0.3**2 / (0.3 * 0.85) + 0.3**2 / (0.7 * 0.65) + 0.6**2 / (1.4 * 0.3)
    hl = hosmer_lemeshow([0, 0, 1, 0, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.6, 0.8], groups=3)
    expected = 0.09 / 0.255 + 0.09 / 0.455 + 0.36 / 0.42
    assert hl.statistic == pytest.approx(expected, rel=1e-12)
    assert hl.df == 1 and hl.pvalue == pytest.approx(stats.chi2.sf(expected, 1))
    statistic, pvalue = hl
    assert pvalue == hl.pvalue
    with pytest.raises(
        ParameterError, match=r"'groups' parameter of hosmer_lemeshow must be an int in the range \[3, inf\)"
    ):
        hosmer_lemeshow([0, 1], [0.2, 0.8], groups=2)


def test_hosmer_lemeshow_matches_a_direct_loop():
    rng = np.random.default_rng(11)
    p = rng.uniform(0.05, 0.9, 1_000)
    y = (rng.random(1_000) < np.clip(p * 1.1, 0, 1)).astype(float)
    order = np.argsort(p, kind="stable")
    statistic = 0.0
    for chunk in np.array_split(order, 10):  # 1,000 rows: ten groups of exactly 100
        o, e, n = y[chunk].sum(), p[chunk].sum(), len(chunk)
        statistic += (o - e) ** 2 / (e * (1 - e / n))
    hl = hosmer_lemeshow(y, p)
    assert hl.statistic == pytest.approx(statistic, rel=1e-12)
    assert hl.pvalue == pytest.approx(stats.chi2.sf(statistic, 8), rel=1e-12)


# ----------------------------------------------------------------- model against closed forms


def test_logit_with_one_binary_covariate_is_the_log_odds_ratio():
    h = pd.DataFrame({"need": [True] * 40 + [False] * 60, "y": [1] * 30 + [0] * 10 + [1] * 15 + [0] * 45})
    m = fit_difficulty(h, "y", ["need"])
    coef = m.coefficients()["coef"]
    assert coef["Intercept"] == pytest.approx(np.log(15 / 45), abs=1e-6)
    assert coef["need[T.True]"] == pytest.approx(np.log((30 / 10) / (15 / 45)), abs=1e-6)
    scores = m.predict(pd.DataFrame({"need": [False, True]}))
    assert_allclose(scores.expected, [0.25, 0.75], atol=1e-8)
    assert_allclose(scores.difficulty, [0.25, 0.75], atol=1e-8)
    achieved = fit_difficulty(h, "y", ["need"], success=True).predict(pd.DataFrame({"need": [False, True]}))
    assert_allclose(achieved.difficulty, [0.75, 0.25], atol=1e-8)


def test_poisson_with_one_categorical_is_the_group_means():
    h = pd.DataFrame({"band": pd.Categorical(list("aaabbbbccc")), "n": [0, 1, 2, 1, 1, 3, 3, 5, 4, 6]})
    m = fit_difficulty(h, "n", ["band"], kind="count")
    pred = m.predict(pd.DataFrame({"band": ["a", "b", "c"]})).expected
    assert_allclose(pred, [1.0, 2.0, 5.0], rtol=1e-8)
    assert "Poisson GLM" in m.summary()


@pytest.mark.parametrize("kind", ["binary", "count"])
def test_in_sample_calibration_is_the_calibration_on_the_history(world, kind):
    """Without data, calibration reads the fitted values: the same numbers as predicting the history again."""
    history = world.pool.head(20_000).copy()
    history.loc[history.index[:5], "ogrs_score"] = np.nan  # excluded alike
    outcome = "reoffended" if kind == "binary" else "reoffences"
    m = fit_difficulty(history, outcome, BASELINE_COVARIATES, kind=kind)
    fitted, again = m.calibration(), m.calibration(history)
    pd.testing.assert_frame_equal(fitted.table, again.table, check_exact=True)
    assert (fitted.auc, fitted.hosmer_lemeshow, fitted.n) == (again.auc, again.hosmer_lemeshow, again.n)
    for formula in (False, True):
        f = fit_difficulty(history, outcome, formula="C(sex) + ogrs_score", kind=kind) if formula else m
        pd.testing.assert_frame_equal(f.calibration().table, f.calibration(history).table, check_exact=True)


def test_formula_is_accepted(world):
    m = fit_difficulty(world.pool.head(5_000), "reoffended", formula="C(sex) + np.log1p(prior_offences) + ogrs_score")
    assert set(m.covariates) == {"sex", "prior_offences", "ogrs_score"}
    assert "np.log1p(prior_offences)" in m.coefficients().index
    assert m.calibration().n == m.n == 5_000


# ----------------------------------------------------------------- the synthetic world


def test_recovers_true_ordering_and_is_calibrated(world, held_out, model):
    scores = model.predict(world.eligible)
    truth = world.truth.people.set_index("person_id").loc[world.eligible["person_id"], "difficulty"]
    rho = stats.spearmanr(scores.difficulty, truth.to_numpy()).statistic
    assert rho > 0.99
    # Deciles: equal tenths, hardest last.
    assert scores.decile.value_counts().tolist() == [300] * 10
    by_decile = (
        pd.DataFrame(
            {"pred": scores.difficulty.to_numpy(), "true": truth.to_numpy(), "decile": scores.decile.to_numpy()}
        )
        .groupby("decile")
        .mean()
    )
    assert by_decile["true"].is_monotonic_increasing
    assert (by_decile["pred"] - by_decile["true"]).abs().max() < 0.03
    # Observed against expected on a held-out pool (a different seed).
    cal = model.calibration(held_out)
    assert cal.n == len(held_out)
    assert cal.max_abs_error < 0.03 and cal.covered >= 7
    assert cal.hosmer_lemeshow.pvalue > 0.001
    assert 0.65 < cal.auc.auc < 0.75 and cal.auc.ci_low < cal.auc.auc < cal.auc.ci_high
    table = cal.to_frame()
    assert (table["ci_low"] <= table["observed"]).all() and (table["observed"] <= table["ci_high"]).all()
    first = held_out.assign(e=model.predict(held_out).expected).nsmallest(len(held_out) // 10, "e")
    assert table.loc[1, "observed"] == pytest.approx(first["reoffended"].mean(), abs=2e-3)
    assert "Hosmer-Lemeshow" in cal.summary() and "AUC" in cal.summary()
    json.dumps(cal.to_dict())
    cal.plot()


def test_count_model_on_the_world(world, held_out):
    m = fit_difficulty(world.pool, "reoffences", BASELINE_COVARIATES, kind="count")
    truth = world.truth.people.set_index("person_id").loc[world.eligible["person_id"], "mu_0"]
    assert stats.spearmanr(m.predict(world.eligible).difficulty, truth.to_numpy()).statistic > 0.99
    cal = m.calibration(held_out)
    assert cal.hosmer_lemeshow is None
    assert (cal.table["ratio"] - 1).abs().max() < 0.1


# ----------------------------------------------------------------- exclusions and errors


def test_missing_values_are_counted_not_dropped_silently(world):
    h = world.pool.head(4_000).copy()
    h.loc[h.index[:7], "age"] = np.nan
    h.loc[h.index[5:9], "ogrs_score"] = np.nan
    m = fit_difficulty(h, "reoffended", ["age", "ogrs_score"])
    assert m.n == 4_000 - 9
    reasons = dict(zip(m.excluded["reason"], m.excluded["n"]))
    assert reasons == {"missing age": 7, "missing ogrs_score": 4, "rows with any missing (total)": 9}
    scores = m.predict(h)
    assert scores.expected.isna().sum() == 9 and scores.decile.isna().sum() == 9
    assert "Not scored" in scores.summary()


def test_errors(world):
    h = world.pool.head(3_000)
    with pytest.raises(SchemaError, match=r"table 'history' is missing the column risk"):
        fit_difficulty(h, "reoffended", ["risk"])
    with pytest.raises(ParameterError, match=r"'kind' parameter of fit_difficulty must be one of 'binary', 'count'"):
        fit_difficulty(h, "reoffended", ["age"], kind="ordinal")
    with pytest.raises(
        SchemaError, match=r"outcome column 'reoffences' must hold True/False or 0/1.*: row \d+ \(\d+\)"
    ):
        fit_difficulty(h, "reoffences", ["age"])
    with pytest.raises(ParameterError, match=r"'covariates' parameter of fit_difficulty must be given exactly when"):
        fit_difficulty(h, "reoffended")
    with pytest.raises(ParameterError, match=r"names \['risk'\], which are not columns"):
        fit_difficulty(h, "reoffended", formula="age + risk")
    m = fit_difficulty(h, "reoffended", ["sex", "age"])
    with pytest.raises(SchemaError, match=r"column 'sex' has level\(s\) unknown that the difficulty model never saw"):
        m.predict(pd.DataFrame({"sex": ["unknown", "male"], "age": [30, 40]}))
    separated = pd.DataFrame({"x": [1, 2, 3, 4, 5, 6, 7, 8], "y": [0, 0, 0, 0, 1, 1, 1, 1]})
    with pytest.raises(ModelError, match=r"perfect separation"):
        fit_difficulty(separated, "y", ["x"])
    constant = pd.DataFrame({"x": [1.0] * 6 + [2.0] * 6, "c": ["a"] * 12, "y": [0, 1] * 6})
    with pytest.raises(ModelError, match=r"\['c'\] take a single value"):
        fit_difficulty(constant, "y", ["x", "c"])


def test_a_single_covariate_name_is_one_column_not_letters(world):
    h = world.pool.head(2_000)
    assert fit_difficulty(h, "reoffended", "ogrs_score").covariates == ("ogrs_score",)


def test_infinite_covariates_are_refused_with_their_rows(world):
    h = world.pool.head(2_000).copy()
    h["risk"] = h["ogrs_score"].astype(float)
    h.loc[h.index[[3, 10]], "risk"] = [np.inf, 1e400]
    with pytest.raises(SchemaError, match=r"table 'history': .*finite numbers.*risk: row 4 \(inf\), row 11 \(inf\)"):
        fit_difficulty(h, "reoffended", ["age", "risk"])
    # a column the people schema knows is checked by its rules, as the command line checks it
    h["ogrs_score"] = h["risk"]
    with pytest.raises(
        SchemaError, match=r"(?s)table 'history' \(read as the people schema\).*ogrs_score: not a finite"
    ):
        fit_difficulty(h, "reoffended", ["age", "ogrs_score"])


def test_column_names_are_never_run_as_code(tmp_path):
    """A column named like Python (from a file's header, or a spec's price key) is looked up, never evaluated.

    statsmodels' formula engines evaluate formula terms as Python, so names must
    never be pasted into formula text; this fit used to create the canary file.
    """
    canary = tmp_path / "canary"
    rng = np.random.default_rng(0)
    outcome = f"__import__('pathlib').Path({str(canary)!r}).touch()"
    covariate = f"open({str(canary)!r}, 'w')"
    h = pd.DataFrame({covariate: rng.uniform(0, 1, 400), "band": rng.choice(["a", "b"], 400)})
    h[outcome] = (rng.random(400) < h[covariate]).astype(int)
    m = fit_difficulty(h, outcome, [covariate, "band"])
    scores = m.predict(h.head(5))
    assert scores.expected.notna().all() and m.calibration().n == 400
    assert covariate in m.coefficients().index and "band[T.b]" in m.coefficients().index
    assert not canary.exists()
