"""Clear errors from matching and propensity fitting, and the `desist evaluate` command."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ground.errors import MatchingError, ModelError, ParameterError, SchemaError
from metrics import compare, fit_propensity, match
from tests.results import matchit_lalonde as ref
from tests.running import desist

DATA = Path(__file__).resolve().parents[1] / "data"
COVARIATES = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]


@pytest.fixture(scope="module")
def lalonde():
    return pd.read_csv(DATA / "lalonde.csv")


def test_no_treated_units(lalonde):
    with pytest.raises(MatchingError, match=r"'treat' has 0 treated \(1\) and 429 control"):
        match(lalonde[lalonde["treat"] == 0], "treat", COVARIATES)


def test_treatment_not_zero_one(lalonde):
    bad = lalonde.assign(treat=lalonde["treat"].where(lalonde.index != 3, 2))
    with pytest.raises(SchemaError, match=r"'treat' must hold only 0/1.*e\.g\. 2: row 4") as info:
        match(bad, "treat", COVARIATES)
    assert info.value.failures["row"].tolist() == [3]


def test_missing_covariates_named_with_counts_and_rows(lalonde):
    bad = lalonde.copy()
    bad.loc[[4, 17, 90], "age"] = np.nan
    bad.loc[[5], "re74"] = np.nan
    with pytest.raises(
        SchemaError,
        match=r"3 missing values in age: row 5, row 18, row 91; 1 missing value in re74: "
        r"row 6",
    ) as info:
        match(bad, "treat", COVARIATES)
    assert len(info.value.failures) == 4


def test_unknown_covariate(lalonde):
    with pytest.raises(SchemaError, match=r"is missing the column wage"):
        match(lalonde, "treat", ["age", "wage"])


def test_nobody_within_caliper():
    df = pd.DataFrame({"t": [1, 1, 0, 0], "score": [0.9, 0.8, 0.1, 0.2]})
    with pytest.raises(MatchingError, match=r"No treated unit has a control within the caliper"):
        match(df, "t", distance="score", caliper=0.05, std_caliper=False)


def test_no_exact_stratum_in_common():
    df = pd.DataFrame(
        {"t": [1, 1, 0, 0], "score": [0.9, 0.8, 0.1, 0.2], "region": ["north", "north", "south", "south"]}
    )
    with pytest.raises(
        MatchingError,
        match=r"No treated unit has a control in its exact stratum "
        r"\(\['region'\]\); 2 treated units, 2 controls",
    ):
        match(df, "t", distance="score", exact="region")


@pytest.mark.parametrize(
    "kw, pattern",
    [
        (dict(ratio=0), r"The 'ratio' parameter of match must be an int in the range \[1, inf\). Got 0 instead"),
        (
            dict(order="closest"),
            r"The 'order' parameter of match must be None, 'largest', 'smallest', 'random', 'data'. Got 'closest'",
        ),
        (dict(link="probit"), r"The 'link' parameter of match must be one of 'logit', 'linear_logit'"),
        (dict(caliper=-1), r"The 'caliper' parameter of match must be None or a number in the range \(0, inf\)"),
        (dict(estimand="ATE"), r"The 'estimand' parameter of match must be 'ATT' or 'ATC' with method='nearest'"),
        (dict(method="full"), r"The 'method' parameter of match must be one of 'nearest', 'optimal', 'subclass'"),
        (dict(discard="hull"), r"The 'discard' parameter of match must be one of 'none', 'both'"),
    ],
)
def test_bad_options(lalonde, kw, pattern):
    with pytest.raises(ParameterError, match=pattern):
        match(lalonde, "treat", COVARIATES, **kw)


def test_perfect_separation_names_the_covariate(lalonde):
    d = lalonde.assign(programme_site=np.where(lalonde["treat"] == 1, "north", "south"))
    d.loc[d.index[-1], "programme_site"] = "north"
    with pytest.raises(
        ModelError,
        match=r"'programme_site' level 'south': all \d+ units with it "
        r"are controls",
    ):
        fit_propensity(d, "treat", ["age", "programme_site"])
    d2 = lalonde.assign(score=np.where(lalonde["treat"] == 1, 10.0, 0.0) + lalonde["age"] / 100)
    with pytest.raises(ModelError, match=r"'score': treated values .* do not overlap"):
        fit_propensity(d2, "treat", ["age", "score"])


def test_separation_message_says_when_ranges_only_touch(lalonde):
    # Issue 26: "[-3.8, -0]" and "do not overlap" where the ranges meet at 0.
    t = lalonde["treat"].to_numpy()
    rng = np.random.default_rng(1)
    touch = np.where(t == 1, -rng.uniform(0, 3.8, len(t)), rng.uniform(0, 2, len(t)))
    touch[np.flatnonzero(t == 1)[0]] = -0.0
    touch[np.flatnonzero(t == 0)[0]] = 0.0
    with pytest.raises(ModelError) as info:
        fit_propensity(lalonde.assign(touch=touch), "treat", ["age", "touch"])
    message = str(info.value)
    assert re.search(r"'touch': treated values \[-3\.\d+, 0\] and control values \[0, 1\.\d+\] meet only at 0", message)
    assert "-0]" not in message and "do not overlap" not in message


def test_collinear_covariates(lalonde):
    d = lalonde.assign(age2=lalonde["age"] * 2)
    with pytest.raises(ModelError, match=r"collinear"):
        fit_propensity(d, "treat", ["age", "age2", "educ"])


def test_time_effect_needs_event(lalonde):
    with pytest.raises(ParameterError, match=r"The 'event' parameter of compare must be the 0/1 column"):
        compare(lalonde, "treat", "age", kind="time")
    with pytest.raises(ParameterError, match=r"The 'kind' parameter of compare must be one of"):
        compare(lalonde, "treat", "re78", kind="median")


def _desist(*args):
    return desist(*args)  # in-process (tests/running.py): the same entry point, without a new interpreter


def test_cli_evaluate_json_reproduces_matchit():
    proc = _desist(
        "evaluate",
        "--data",
        str(DATA / "lalonde.csv"),
        "--treatment",
        "treat",
        "--covariates",
        ",".join(COVARIATES),
        "--outcome",
        "re78",
        "--caliper",
        "0.2",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)["results"]
    m2 = ref.MODELS["m2"]
    assert out["counts"] == m2["counts"]
    assert out["effect"]["estimate"] == pytest.approx(m2["att"], rel=1e-6)
    # The CLI reports the library's default SE: MatchIt's pair-clustered SE (checked against R in
    # test_matching_lalonde.py) plus Abadie and Imbens' (2016) term for the estimated score.
    library = match(pd.read_csv(DATA / "lalonde.csv"), "treat", COVARIATES, caliper=0.2).effect("re78")
    assert out["effect"]["se"] == pytest.approx(library.se, rel=1e-9)
    assert out["effect"]["se"] < m2["se_cluster_hc1"] and "Abadie and Imbens 2016" in out["effect"]["method"]
    assert out["balance"]["re74"]["after_smd"] == pytest.approx(m2["balance_after"]["re74"][2], rel=1e-6)


def test_cli_evaluate_text_and_outputs(tmp_path):
    proc = _desist(
        "evaluate",
        "--data",
        str(DATA / "lalonde.csv"),
        "--treatment",
        "treat",
        "--covariates",
        ",".join(COVARIATES),
        "--outcome",
        "re78",
        "--out",
        str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    assert "Sample sizes" in proc.stdout and "Effect on the programme group (ATT)" in proc.stdout
    # The ATT with its scale in words and its CI in the same cell.
    assert "Difference in mean re78" in proc.stdout and " 894 (" in proc.stdout
    for name in ("balance.csv", "pairs.csv", "weights.csv", "effect.json", "love_plot.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert len(pd.read_csv(tmp_path / "pairs.csv")) == 185


def test_cli_evaluate_checks_kind_and_event_first():
    proc = _desist(
        "evaluate",
        "--data",
        str(DATA / "rossi.csv"),
        "--treatment",
        "fin",
        "--covariates",
        "age,prio",
        "--outcome",
        "week",
        "--kind",
        "time",
    )
    assert proc.returncode == 1 and "The 'event' parameter of desist evaluate must be the 0/1 column" in proc.stderr
    proc = _desist(
        "evaluate",
        "--data",
        str(DATA / "rossi.csv"),
        "--treatment",
        "fin",
        "--covariates",
        "age,prio",
        "--outcome",
        "week",
        "--kind",
        "median",
    )
    assert (
        proc.returncode == 1
        and "The 'kind' parameter of desist evaluate must be one of 'mean', 'binary', 'count', 'time'" in proc.stderr
    )


def test_cli_evaluate_bad_column_exits_1():
    proc = _desist(
        "evaluate",
        "--data",
        str(DATA / "lalonde.csv"),
        "--treatment",
        "treat",
        "--covariates",
        "age,wage",
        "--outcome",
        "re78",
    )
    assert proc.returncode == 1
    assert "error:" in proc.stderr and "column wage" in proc.stderr and "Traceback" not in proc.stderr


def test_a_text_outcome_is_a_model_error_naming_the_column():
    import pandas as pd

    from ground.errors import ModelError
    from metrics import compare

    data = pd.DataFrame({"t": [1, 1, 0, 0], "y": ["yes", "no", "no", "no"]})
    with pytest.raises(ModelError, match=r"outcome 'y' must hold numbers.*row 1 \('yes'\), row 2 \('no'\)"):
        compare(data, "t", "y", kind="binary")
