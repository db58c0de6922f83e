"""Provider comparison table: the random-intercept fit against R's lme4, shrinkage, the
Justice Data Lab's minimum, and rank intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy.special import expit, logit

from tests.results import validation_providers as ref
from validation import ModelError, ParameterError
from validation.providers import _modes, compare_providers, fit_random_intercepts

DATA = Path(__file__).resolve().parent / "data" / "providers.csv"


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(DATA)


@pytest.mark.parametrize("case", ["adjusted", "raw"])
def test_random_intercept_fit_matches_lme4(data, case):
    """lme4::glmer with nAGQ = 25 (tests/results/make_validation_providers.R)."""
    code, levels = pd.factorize(data["provider_id"], sort=True)
    y = data["reoffended"].to_numpy(dtype=float)
    offset = logit(data["expected"].to_numpy()) if case == "adjusted" else np.zeros(len(y))
    fit = fit_random_intercepts(y, offset, code, len(levels))
    assert_allclose(fit.mu, ref.FITS[case]["mu"], rtol=1e-5)
    assert_allclose(fit.tau, ref.FITS[case]["tau"], rtol=1e-5)
    assert_allclose(fit.loglik, ref.FITS[case]["loglik"], rtol=1e-9)
    # Conditional modes (lme4's ranef) and their curvature SDs (condVar), at lme4's own mu and tau.
    modes, sd = _modes(ref.FITS[case]["mu"], ref.FITS[case]["tau"], y, offset, code, len(levels))
    assert_allclose(modes, [ref.MODES[case][u] for u in levels], atol=1e-8)
    assert_allclose(sd, [ref.SD[case][u] for u in levels], rtol=1e-6)
    assert_allclose(fit.mode, [ref.MODES[case][u] for u in levels], atol=2e-5)


def test_shrunken_estimates_pull_small_providers_toward_the_overall_ratio(data):
    c = compare_providers(data, expected="expected")
    t = c.table.set_index("unit")
    shown = t[t["shown"]]
    # Each shrunken O/E lies between the raw O/E and the model's overall ratio, and closer to the
    # overall the fewer the people.
    overall = {}
    for unit in shown.index:
        rows = data[data["provider_id"] == unit]
        overall[unit] = expit(logit(rows["expected"]) + c.mu).sum() / rows["expected"].sum()
    pull = {
        u: abs(shown.loc[u, "shrunken_oe"] - shown.loc[u, "oe"]) / abs(overall[u] - shown.loc[u, "oe"])
        for u in shown.index
    }
    for u in shown.index:
        low, high = sorted([shown.loc[u, "oe"], overall[u]])
        assert low - 0.01 <= shown.loc[u, "shrunken_oe"] <= high + 0.01, u
    assert pull["PRV04"] > pull["PRV14"]  # 60 people against 650
    # At lme4's conditional mode the ratio is computed by hand; the posterior mean is close to it.
    rows = data[data["provider_id"] == "PRV14"]
    at_mode = expit(logit(rows["expected"]) + ref.FITS["adjusted"]["mu"] + ref.MODES["adjusted"]["PRV14"]).sum()
    assert shown.loc["PRV14", "shrunken_oe"] == pytest.approx(at_mode / rows["expected"].sum(), rel=5e-3)
    assert (shown["shrunken_ci_low"] < shown["shrunken_oe"]).all() and (
        shown["shrunken_oe"] < shown["shrunken_ci_high"]
    ).all()
    assert_allclose(shown["adjusted_rate"], shown["shrunken_oe"] * c.overall_rate)


def test_minimum_n_and_rank_intervals(data):
    c = compare_providers(data, expected="expected", seed=1)
    t = c.table
    small = t[t["n"] < 60]
    assert set(small["unit"]) == {"PRV01", "PRV02", "PRV03"} and not small["shown"].any()
    assert small.drop(columns=["unit", "n", "shown"]).isna().all().all()
    shown = t[t["shown"]]
    assert list(t["shown"]) == sorted(t["shown"], reverse=True)  # shown rows first, best first
    assert shown["shrunken_oe"].is_monotonic_increasing
    assert (shown["rank_low"] >= 1).all() and (shown["rank_high"] <= len(shown)).all()
    point_rank = np.arange(1, len(shown) + 1)
    assert ((shown["rank_low"] <= point_rank) & (point_rank <= shown["rank_high"])).all()
    # Never a bare ranking: the three close providers in the middle share wide rank intervals.
    assert (shown["rank_high"] - shown["rank_low"]).max() >= 4
    assert "Rank intervals show how little a ranking can say" in c.summary()
    assert "Fewer than 60 people (no estimate, no rank): PRV01, PRV02, PRV03." in c.summary()
    higher = compare_providers(data, expected="expected", lower_is_better=False, seed=1).table
    assert higher.loc[higher["shown"], "unit"].tolist() == shown["unit"].tolist()[::-1]
    d = c.to_dict()
    assert d["case_mix_adjusted"] and len(d["providers"]) == 14 and d["providers"][-1]["rank_low"] is None
    assert len(c.plot().get_yticklabels()) == len(shown)


def test_identical_providers_are_shrunk_almost_together():
    rng = np.random.default_rng(5)
    unit = np.repeat([f"P{i}" for i in range(10)], 200)
    df = pd.DataFrame({"provider_id": unit, "reoffended": rng.random(len(unit)) < 0.4})
    c = compare_providers(df)
    assert c.tau < 0.15
    shown = c.table
    assert (shown["shrunken_oe"].max() - shown["shrunken_oe"].min()) < (shown["oe"].max() - shown["oe"].min()) / 2
    assert not c.case_mix


def test_providers_all_below_the_minimum_are_counted_not_ranked():
    # Found by the CLI fuzz test: a report on a small cohort had no provider of 60 and crashed.
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"provider_id": np.repeat(["A", "B", "C"], 20), "reoffended": rng.random(60) < 0.4})
    t = compare_providers(df).table
    assert len(t) == 3 and not t["shown"].any() and t["rank_low"].isna().all() and t["rank_high"].isna().all()


def test_arguments_are_checked(data):
    with pytest.raises(ParameterError, match="The 'min_n' parameter of compare_providers"):
        compare_providers(data, min_n=0)
    with pytest.raises(ModelError, match="no variation"):
        compare_providers(data.assign(reoffended=1))
    with pytest.raises(Exception, match="missing the column risk"):
        compare_providers(data, expected="risk")
